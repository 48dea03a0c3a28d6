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

#[utoipa::path(
    put,
    path = "/api/v1/contests/{slug}/roster",
    operation_id = "replace_roster",
    summary = "replace the contest's roster (organizer): CSV, one email or member number per line (first column); a member number line may give the member's email as its second column (member_number,email), and only then does a claim of that number by the account with that verified email pass at once (a bare number waits for the organizer's confirmation, see member-claims). At most 1 MiB and 50,000 lines; nothing is stored unless every line is valid (codes per line: invalid-email, invalid-member-number, member-number-repeated for one number with two emails, roster-too-long, roster-empty). Email lines admit only verified accounts",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body(content = String, content_type = "text/csv"),
    responses(
        (status = 200, description = "{people}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 413, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "invalid-roster with `lines`: [{line, code}]"),
    ),
)]
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
