//! The contests' JSON API: list, read, create.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, JsonBody};
use serde_json::json;

use super::refusal::field_errors;
use crate::access::author::ApiStaff;
use crate::domain::contests::create::create as create_contest;
use crate::domain::contests::spec::ContestSpec;
use crate::domain::contests::{ContestRow, all, by_id, by_slug};

/// `GET /api/v1/contests`.
#[utoipa::path(
    get,
    path = "/api/v1/contests",
    operation_id = "list_contests",
    summary = "contests visible to the caller, with phase and dates",
    responses(
        (status = 200, description = "a list of contests"),
    ),
)]
pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = all(&state.db).await?;
    Ok(Json(
        json!({"contests": rows.iter().map(ContestRow::json).collect::<Vec<_>>()}),
    ))
}

/// `GET /api/v1/contests/{slug}`.
#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}",
    operation_id = "get_contest",
    summary = "one contest: rules, limits, criteria, phase, streams",
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "the contest"),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    Ok(Json(row.json()))
}

/// `POST /api/v1/contests`: the contest (201), or every broken rule with its field.
#[utoipa::path(
    post,
    path = "/api/v1/contests",
    operation_id = "create_contest",
    summary = "create a contest (organizer, admin)",
    security(("bearer" = [])),
    request_body = ContestSpec,
    responses(
        (status = 201, description = "the contest"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    ApiStaff(user): ApiStaff,
    JsonBody(spec): JsonBody<ContestSpec>,
) -> Result<Response, ApiError> {
    let id = match create_contest(&state.db, Some(&user), &spec).await? {
        Ok(id) => id,
        Err(errors) => return Ok(field_errors(&errors)),
    };
    let row = by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    Ok((StatusCode::CREATED, Json(row.json())).into_response())
}
