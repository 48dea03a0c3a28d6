//! The roster upload of the JSON API (`PUT /api/v1/contests/{slug}/roster`); the page's
//! form is in `review`, the rules in `domain::voting::roster`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use axum::{Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use serde_json::json;

use crate::access::public::ApiPublicOrganizerOf;
use crate::domain::voting::refusal::VoteRefusal;
use crate::domain::voting::roster::{MAX_BYTES, parse, replace};

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/contests/{slug}/roster", put(api_put))
}

async fn api_put(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { user, contest }: ApiPublicOrganizerOf,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, MAX_BYTES)
        .await
        .map_err(|_| VoteRefusal::RosterTooLarge)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| VoteRefusal::RosterNotUtf8)?;
    match parse(text) {
        Ok(members) => {
            replace(&state.db, contest.contest_id, &members, user.app_user_id).await?;
            Ok(Json(json!({"people": members.len()})).into_response())
        }
        Err(errors) => {
            let lines: Vec<_> = errors
                .iter()
                .take(100)
                .map(|e| json!({"line": e.line, "code": e.code}))
                .collect();
            let body = json!({
                "error": {"code": "invalid-roster", "message": format!("{} lines are not valid", errors.len())},
                "lines": lines,
            });
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response())
        }
    }
}
