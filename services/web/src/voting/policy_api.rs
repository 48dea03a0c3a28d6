//! The organizers' JSON API of a contest's voting: its policy and its fraud review.

use axum::extract::State;
use axum::routing::{get, put};
use axum::{Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use serde_json::json;

use super::forms::{PolicyBody, json_body};
use crate::access::public::ApiPublicOrganizerOf;
use crate::domain::voting::review;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contests/{slug}/vote-policy", put(api_policy))
        .route("/api/v1/contests/{slug}/vote-review", get(api_review))
}

/// Replaces the policy: fields left out take their defaults.
async fn api_policy(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { user, contest }: ApiPublicOrganizerOf,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let policy = json_body::<PolicyBody>(&body)?.policy();
    if let Err(errors) = policy.validate() {
        let (field, code) = errors[0];
        return Err(ApiError::invalid(code, format!("{field} is out of bounds")));
    }
    review::save_policy(&state.db, contest.contest_id, &policy, user.app_user_id).await?;
    Ok(Json(policy.to_json()))
}

async fn api_review(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { contest, .. }: ApiPublicOrganizerOf,
) -> Result<Json<serde_json::Value>, ApiError> {
    let r = review::review(&state.db, contest.contest_id).await?;
    Ok(Json(json!({
        "votes": r.votes,
        "valid": r.valid,
        "per_minute": r.per_minute.iter().map(|(m, t, n)| json!({"minute": m, "entry": t, "votes": n})).collect::<Vec<_>>(),
        "networks": r.networks.iter().map(|(k, n, v)| json!({"network": k, "votes": n, "voters": v})).collect::<Vec<_>>(),
        "ips": r.ips.iter().map(|(k, n, v)| json!({"ip": k, "votes": n, "voters": v})).collect::<Vec<_>>(),
        "account_age": r.ages.iter().map(|(b, n)| json!({"bucket": b, "votes": n})).collect::<Vec<_>>(),
        "new_account_percent": r.new_account_percent,
        "voters": r.voters.iter().map(|(id, e, n)| json!({"id": id, "email": e, "votes": n})).collect::<Vec<_>>(),
    })))
}
