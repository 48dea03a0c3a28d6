//! Changing a stream an organizer added: its title, address and times, from the stream list,
//! checked exactly as a new stream is (`StreamInput::validate`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use chrono::Utc;
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;

use super::forms::{StreamFormFields, StreamInput};
use crate::access::public::PublicOrganizerOf;
use crate::domain::contests::ContestRow;
use crate::domain::streams::repo::{self, StreamRow};
use crate::format::datetime_local;
use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/organize/contests/{slug}/streams/{id}/edit",
        get(edit_page).post(save),
    )
}

#[derive(Template)]
#[template(path = "streams/edit.html")]
struct StreamEditPage {
    page: Page,
    c: ContestRow,
    s: StreamRow,
    form: StreamInput,
    errors: Vec<(&'static str, String)>,
}

impl StreamEditPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

/// The stream `id` of the contest, or 404.
async fn stream(state: &AppState, c: &ContestRow, id: &str) -> Result<StreamRow, PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    repo::by_id(&state.db, c.contest_id, id)
        .await?
        .ok_or(PageError::NotFound)
}

fn page(ctx: &Ctx, c: &ContestRow) -> Page {
    let mut page = ctx.page("streams.edit.title");
    page.title = format!("{} · {}", page.title, c.title);
    page
}

async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { contest: c, .. }: PublicOrganizerOf,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let s = stream(&state, &c, &id).await?;
    let form = StreamInput {
        title: s.title.clone(),
        url: s.source_url.clone(),
        starts_at: datetime_local(&s.starts_at),
        ends_at: datetime_local(&s.ends_at),
    };
    Ok(render(
        StatusCode::OK,
        &StreamEditPage {
            page: page(&ctx, &c),
            c,
            s,
            form,
            errors: vec![],
        },
    ))
}

async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { contest: c, .. }: PublicOrganizerOf,
    Path((_, id)): Path<(String, String)>,
    Form(fields): Form<StreamFormFields>,
) -> Result<Response, PageError> {
    let s = stream(&state, &c, &id).await?;
    let input = StreamInput::from(fields);
    match input.validate(Utc::now()) {
        Ok(new) => {
            repo::update(&state.db, c.contest_id, s.contest_stream_id, &new)
                .await?
                .ok_or(PageError::NotFound)?;
            tracing::info!(contest = %c.slug, stream = s.contest_stream_id, "stream changed");
            let to = format!(
                "/organize/contests/{}/streams/{}/edit?saved=stream",
                c.slug, s.contest_stream_id
            );
            Ok(Redirect::to(&to).into_response())
        }
        Err(errors) => {
            let errors = errors
                .into_iter()
                .map(|e| (e.field, ctx.t(&e.refusal.key()).to_owned()))
                .collect();
            Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &StreamEditPage {
                    page: page(&ctx, &c),
                    c,
                    s,
                    form: input,
                    errors,
                },
            ))
        }
    }
}
