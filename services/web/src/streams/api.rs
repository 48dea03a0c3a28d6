//! The JSON API of a contest's streams: anyone lists them; its organizers add and delete.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use chrono::Utc;
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, Refusal};
use hoithi_core::i18n::{self, Lang};
use serde_json::json;

use super::forms::StreamInput;
use crate::access::public::ApiPublicOrganizerOf;
use crate::domain::contests::{self, ContestRow};
use crate::domain::streams::refusal::FieldError;
use crate::domain::streams::repo::{self, StreamRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/contests/{slug}/streams",
            get(api_list).post(api_create),
        )
        .route("/api/v1/contests/{slug}/streams/{id}", delete(api_delete))
}

async fn contest(state: &AppState, slug: &str) -> Result<ContestRow, ApiError> {
    if slug.len() > 63 {
        return Err(ApiError::not_found("the contest"));
    }
    contests::by_slug(&state.db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))
}

fn stream_json(slug: &str, s: &StreamRow) -> serde_json::Value {
    let page = format!("/contests/{slug}/streams/{}", s.contest_stream_id);
    json!({
        "id": s.contest_stream_id,
        "title": s.title,
        "platform": s.platform,
        "url": s.source_url,
        "embed_url": s.embed_url,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "live": s.is_live(),
        "page_url": page,
        "overlay_url": format!("{page}/overlay"),
        "screen_url": format!("{page}/screen"),
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/streams",
    operation_id = "list_streams",
    summary = "the contest's livestreams, soonest first, and its .ics calendar URL",
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "{streams: [Stream], calendar_url}", body = crate::api_schemas::StreamList),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = contest(&state, &slug).await?;
    let rows = repo::for_contest(&state.db, c.contest_id).await?;
    Ok(Json(json!({
        "streams": rows.iter().map(|s| stream_json(&c.slug, s)).collect::<Vec<_>>(),
        "calendar_url": format!("/contests/{}/streams.ics", c.slug),
    })))
}

/// 422 naming every refused field; the first one is the error's code.
fn field_errors(errors: &[FieldError]) -> Response {
    let first = errors[0];
    let fields: Vec<_> = errors
        .iter()
        .map(|e| json!({"field": e.field, "code": e.code()}))
        .collect();
    let key = first.refusal.key();
    let sentence = i18n::text(Lang::En, &key);
    (
        first.refusal.status(),
        Json(json!({"error": {
            "code": first.code(),
            "message": format!("{}: {sentence}", first.field),
            "fields": fields,
        }})),
    )
        .into_response()
}

#[utoipa::path(
    post,
    path = "/api/v1/contests/{slug}/streams",
    operation_id = "create_stream",
    summary = "attach a stream (organizer of the contest's unit): a YouTube or Facebook live URL (stored as its official embed) or an https HLS playlist (.m3u8); times RFC 3339 or Vietnam local time. Refusals: stream-url-required, -too-long, -invalid, -not-https, -credentials, -port, -private-host, -youtube-id, -facebook-video, -short-link, -unsupported; stream-title-required, stream-title-too-long, stream-starts-invalid, stream-ends-invalid, stream-ends-before-starts, stream-too-long, stream-ended (with `fields`)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = StreamInput,
    responses(
        (status = 201, description = "the stream", body = crate::api_schemas::Stream),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_create(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { user, contest: c }: ApiPublicOrganizerOf,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let input: StreamInput = hoithi_core::api_error::json_from_slice(&body)?;
    let new = match input.validate(Utc::now()) {
        Ok(new) => new,
        Err(errors) => return Ok(field_errors(&errors)),
    };
    let row = repo::insert(&state.db, c.contest_id, &new, user.app_user_id).await?;
    tracing::info!(contest = %c.slug, stream = row.contest_stream_id, platform = %row.platform, "stream added");
    Ok((StatusCode::CREATED, Json(stream_json(&c.slug, &row))).into_response())
}

#[utoipa::path(
    delete,
    path = "/api/v1/contests/{slug}/streams/{id}",
    operation_id = "delete_stream",
    summary = "remove a stream (organizer of the contest's unit)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
        ("id" = i64, Path, minimum = 1, maximum = 9223372036854775807_i64),
    ),
    responses(
        (status = 204, description = "removed"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_delete(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { contest: c, .. }: ApiPublicOrganizerOf,
    Path((_, id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("the stream"))?;
    if !repo::delete(&state.db, c.contest_id, id).await? {
        return Err(ApiError::not_found("the stream"));
    }
    tracing::info!(contest = %c.slug, stream = id, "stream removed");
    Ok(StatusCode::NO_CONTENT)
}
