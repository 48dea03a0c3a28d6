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
pub async fn list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = all(&state.db).await?;
    Ok(Json(
        json!({"contests": rows.iter().map(ContestRow::json).collect::<Vec<_>>()}),
    ))
}

/// `GET /api/v1/contests/{slug}`.
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
