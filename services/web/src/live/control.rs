//! The organizer's live control (a page made for a phone, and the JSON API): put an entry on
//! stage, open and close the live voting window. Every change is logged by `state::apply`
//! and reaches every node's event streams through the `contest_live` trigger.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use hoithi_core::{AppState, api_error::ApiError, auth::CurrentUser};
use serde::Deserialize;
use uuid::Uuid;

use super::state::{self, Change, ChangeError};
use crate::domain::contests::ContestRow;
use crate::page::{Ctx, Page, PageError, render};
use crate::streams::{LiveView, StreamRow, contest_api, live_view, organizer_api, organizer_page};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/organize/contests/{slug}/live",
            get(control_page).post(control_form),
        )
        .route(
            "/api/v1/contests/{slug}/live",
            get(api_get).post(api_change),
        )
}

async fn api_get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = contest_api(&state, &slug).await?;
    let snap = state::snapshot(&state.db, c.contest_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    Ok(Json(snap.json()))
}

/// `{"stage_entry_id": "<uuid>" | null, "live_voting": true | false}`; each optional.
fn parse_change(body: &[u8]) -> Result<Change, ApiError> {
    let invalid = |m: &str| ApiError::invalid("invalid-body", m.to_owned());
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| invalid(&format!("the JSON body is not valid: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| invalid("send a JSON object"))?;
    if let Some(k) = obj
        .keys()
        .find(|k| !matches!(k.as_str(), "stage_entry_id" | "live_voting"))
    {
        return Err(invalid(&format!("unknown field {k:?}")));
    }
    let stage = match obj.get("stage_entry_id") {
        None => None,
        Some(serde_json::Value::Null) => Some(None),
        Some(serde_json::Value::String(s)) if s.len() <= 64 => Some(Some(
            Uuid::parse_str(s).map_err(|_| invalid("stage_entry_id is not an entry id"))?,
        )),
        Some(_) => return Err(invalid("stage_entry_id is an entry id or null")),
    };
    let window_open = match obj.get("live_voting") {
        None => None,
        Some(serde_json::Value::Bool(b)) => Some(*b),
        Some(_) => return Err(invalid("live_voting is true or false")),
    };
    if stage.is_none() && window_open.is_none() {
        return Err(invalid("send stage_entry_id and/or live_voting"));
    }
    Ok(Change { stage, window_open })
}

fn refused(e: ChangeError) -> ApiError {
    ApiError::new(StatusCode::CONFLICT, e.code(), e.message())
}

async fn api_change(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = organizer_api(&state, &user, &slug).await?;
    let change = parse_change(&body)?;
    state::apply(&state.db, c.contest_id, &change, user.app_user_id)
        .await?
        .map_err(refused)?;
    let snap = state::snapshot(&state.db, c.contest_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    Ok(Json(snap.json()))
}

#[derive(Template)]
#[template(path = "streams/control.html")]
struct ControlPage {
    page: Page,
    c: ContestRow,
    live: LiveView,
    entries: Vec<(Uuid, String)>,
    streams: Vec<StreamRow>,
    log: Vec<state::LogLine>,
    error: String,
}

impl ControlPage {
    fn on_stage(&self, id: &Uuid) -> bool {
        self.live.stage.as_ref().is_some_and(|s| s.id == *id)
    }
}

/// The control page, with the message of a refused change if there was one.
async fn control(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    refused: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let (status, error) = refused.unwrap_or((StatusCode::OK, String::new()));
    let (_, c) = organizer_page(state, ctx, slug).await?;
    let live = live_view(state, &c).await?;
    let entries = sqlx::query_as(
        "select entry_id, title from entry where contest_id = $1 and status = 'approved'
         order by title, entry_id limit 500",
    )
    .bind(c.contest_id)
    .fetch_all(&state.db)
    .await?;
    let streams = crate::streams::for_contest(&state.db, c.contest_id).await?;
    let log = state::log(&state.db, c.contest_id).await?;
    let mut page = ctx.page("live.control.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(render(
        status,
        &ControlPage {
            page,
            c,
            live,
            entries,
            streams,
            log,
            error,
        },
    ))
}

async fn control_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    control(&state, &ctx, &slug, None).await
}

#[derive(Debug, Deserialize)]
struct ControlForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    entry: String,
}

async fn control_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<ControlForm>,
) -> Result<Response, PageError> {
    let (user, c) = organizer_page(&state, &ctx, &slug).await?;
    let change = match form.action.as_str() {
        "stage" => match Uuid::parse_str(form.entry.trim()) {
            Ok(id) => Change {
                stage: Some(Some(id)),
                window_open: None,
            },
            Err(_) => {
                let msg = ctx.t("live.error.entry-not-in-contest").to_owned();
                return control(
                    &state,
                    &ctx,
                    &slug,
                    Some((StatusCode::UNPROCESSABLE_ENTITY, msg)),
                )
                .await;
            }
        },
        "unstage" => Change {
            stage: Some(None),
            window_open: None,
        },
        "open" | "close" => Change {
            stage: None,
            window_open: Some(form.action == "open"),
        },
        _ => {
            let msg = ctx.t("live.error.invalid-action").to_owned();
            return control(
                &state,
                &ctx,
                &slug,
                Some((StatusCode::UNPROCESSABLE_ENTITY, msg)),
            )
            .await;
        }
    };
    match state::apply(&state.db, c.contest_id, &change, user.app_user_id).await? {
        Ok(()) => Ok(Redirect::to(&format!("/organize/contests/{slug}/live")).into_response()),
        Err(e) => {
            let msg = ctx.t(&format!("live.error.{}", e.code())).to_owned();
            control(&state, &ctx, &slug, Some((StatusCode::CONFLICT, msg))).await
        }
    }
}
