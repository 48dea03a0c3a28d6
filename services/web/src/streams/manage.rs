//! The organizers' page of a contest's streams: the list, the form that adds one (refused
//! fields said in the visitor's language, what was typed kept), and delete.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
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
    Router::new()
        .route(
            "/organize/contests/{slug}/streams",
            get(streams_admin_page).post(create_from_form),
        )
        .route(
            "/organize/contests/{slug}/streams/{id}/delete",
            post(delete_from_form),
        )
}

#[derive(Template)]
#[template(path = "streams/manage.html")]
struct StreamsAdminPage {
    page: Page,
    c: ContestRow,
    streams: Vec<StreamRow>,
    form: StreamInput,
    errors: Vec<(&'static str, String)>,
    /// The stream whose deletion waits for confirmation.
    confirm_delete: Option<StreamRow>,
}

impl StreamsAdminPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

async fn streams_admin(
    state: &AppState,
    ctx: &Ctx,
    c: ContestRow,
    status: StatusCode,
    form: StreamInput,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    streams_admin_at(state, ctx, c, status, form, errors, None).await
}

/// The page, with the confirm step of deleting stream `confirm_delete` when it is given.
async fn streams_admin_at(
    state: &AppState,
    ctx: &Ctx,
    c: ContestRow,
    status: StatusCode,
    form: StreamInput,
    errors: Vec<(&'static str, String)>,
    confirm_delete: Option<i64>,
) -> Result<Response, PageError> {
    let streams = repo::for_contest(&state.db, c.contest_id).await?;
    let confirm_delete = match confirm_delete {
        Some(id) => Some(
            streams
                .iter()
                .find(|s| s.contest_stream_id == id)
                .cloned()
                .ok_or(PageError::NotFound)?,
        ),
        None => None,
    };
    let mut page = ctx.page("streams.manage.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(render(
        status,
        &StreamsAdminPage {
            page,
            c,
            streams,
            form,
            errors,
            confirm_delete,
        },
    ))
}

async fn streams_admin_page(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { contest, .. }: PublicOrganizerOf,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let form = StreamInput {
        starts_at: datetime_local(&(now + chrono::Duration::hours(1))),
        ends_at: datetime_local(&(now + chrono::Duration::hours(3))),
        ..StreamInput::default()
    };
    streams_admin(&state, &ctx, contest, StatusCode::OK, form, vec![]).await
}

async fn create_from_form(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { user, contest: c }: PublicOrganizerOf,
    Form(fields): Form<StreamFormFields>,
) -> Result<Response, PageError> {
    let input = StreamInput::from(fields);
    match input.validate(Utc::now()) {
        Ok(new) => {
            let row = repo::insert(&state.db, c.contest_id, &new, user.app_user_id).await?;
            tracing::info!(contest = %c.slug, stream = row.contest_stream_id, "stream added");
            let to = format!("/organize/contests/{}/streams?saved=stream", c.slug);
            Ok(Redirect::to(&to).into_response())
        }
        Err(errors) => {
            let errors = errors
                .into_iter()
                .map(|e| (e.field, ctx.t(&e.refusal.key()).to_owned()))
                .collect();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            streams_admin(&state, &ctx, c, status, input, errors).await
        }
    }
}

/// `confirm=1` from the confirm step's button.
#[derive(Debug, Default, serde::Deserialize)]
struct Confirm {
    #[serde(default)]
    confirm: String,
}

/// Deletes a stream once confirmed; the first press shows what deleting does.
async fn delete_from_form(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { contest: c, .. }: PublicOrganizerOf,
    Path((_, id)): Path<(String, String)>,
    Form(confirm): Form<Confirm>,
) -> Result<Response, PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    if confirm.confirm != "1" {
        let form = StreamInput::default();
        let ok = StatusCode::OK;
        return streams_admin_at(&state, &ctx, c, ok, form, vec![], Some(id)).await;
    }
    if !repo::delete(&state.db, c.contest_id, id).await? {
        return Err(PageError::NotFound);
    }
    tracing::info!(contest = %c.slug, stream = id, "stream removed");
    let to = format!("/organize/contests/{}/streams?saved=stream-deleted", c.slug);
    Ok(Redirect::to(&to).into_response())
}
