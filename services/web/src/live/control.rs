//! The organizer's live control (a page made for a phone, and the JSON API): put an entry on
//! stage, open and close the live voting window. Every change is logged by `live_state::apply`
//! and reaches every node's event streams through the `contest_live` trigger.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, Refusal};
use serde::Deserialize;
use uuid::Uuid;

use crate::access::public::{ApiPublicOrganizerOf, PublicOrganizerOf};
use crate::domain::contests::{self, ContestRow};
use crate::domain::streams::repo::{StreamRow, for_contest};
use crate::domain::voting::live::{self as live_state, Change, LiveView};
use crate::page::{Ctx, Page, PageError, render};

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

#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/live",
    operation_id = "get_live",
    summary = "the live state: the entry on stage, whether live voting is open, the phase",
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "the live state", body = crate::api_schemas::Live),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let not_found = || ApiError::not_found("the contest");
    if slug.len() > 63 {
        return Err(not_found());
    }
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or_else(not_found)?;
    let snap = live_state::snapshot(&state.db, c.contest_id)
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

#[utoipa::path(
    post,
    path = "/api/v1/contests/{slug}/live",
    operation_id = "change_live",
    summary = "change the live state (organizer of the contest's unit), logged. While live_voting is true, votes for the entry on stage count even outside the contest's voting window. Refusals: entry-not-in-contest, nothing-on-stage (409), invalid-body (422)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = crate::api_schemas::LiveChange,
    responses(
        (status = 200, description = "the new live state", body = crate::api_schemas::Live),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_change(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { user, contest: c }: ApiPublicOrganizerOf,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let change = parse_change(&body)?;
    live_state::apply(&state.db, c.contest_id, &change, user.app_user_id).await??;
    let snap = live_state::snapshot(&state.db, c.contest_id)
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
    log: Vec<live_state::LogLine>,
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
    c: ContestRow,
    refused: Option<(StatusCode, String)>,
) -> Result<Response, PageError> {
    let (status, error) = refused.unwrap_or((StatusCode::OK, String::new()));
    let live = LiveView::load(&state.db, &c).await?;
    let entries = live_state::stage_candidates(&state.db, c.contest_id).await?;
    let streams = for_contest(&state.db, c.contest_id).await?;
    let log = live_state::log(&state.db, c.contest_id).await?;
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
    PublicOrganizerOf { contest, .. }: PublicOrganizerOf,
) -> Result<Response, PageError> {
    control(&state, &ctx, contest, None).await
}

#[derive(Debug, Deserialize)]
struct ControlForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    entry: String,
}

impl ControlForm {
    /// The change the form asks for, or the catalog key of what is wrong with it.
    fn change(&self) -> Result<Change, String> {
        Ok(match self.action.as_str() {
            "stage" => {
                let entry = Uuid::parse_str(self.entry.trim())
                    .map_err(|_| live_state::ChangeError::EntryNotInContest.key())?;
                Change {
                    stage: Some(Some(entry)),
                    window_open: None,
                }
            }
            "unstage" => Change {
                stage: Some(None),
                window_open: None,
            },
            "open" | "close" => Change {
                stage: None,
                window_open: Some(self.action == "open"),
            },
            _ => return Err("live.error.invalid-action".to_owned()),
        })
    }
}

async fn control_form(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { user, contest: c }: PublicOrganizerOf,
    Form(form): Form<ControlForm>,
) -> Result<Response, PageError> {
    let change = match form.change() {
        Ok(change) => change,
        Err(key) => {
            let refused = (StatusCode::UNPROCESSABLE_ENTITY, ctx.t(&key).to_owned());
            return control(&state, &ctx, c, Some(refused)).await;
        }
    };
    match live_state::apply(&state.db, c.contest_id, &change, user.app_user_id).await? {
        Ok(()) => {
            let to = format!("/organize/contests/{}/live", c.slug);
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let refused = (e.status(), ctx.t(&e.key()).to_owned());
            control(&state, &ctx, c, Some(refused)).await
        }
    }
}
