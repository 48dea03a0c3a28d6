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
#[utoipa::path(
    put,
    path = "/api/v1/contests/{slug}/vote-policy",
    operation_id = "set_vote_policy",
    summary = "replace the contest's vote policy (organizer); fields left out take their defaults; audited",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = PolicyBody,
    responses(
        (status = 200, description = "the policy now in force", body = PolicyBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/vote-review",
    operation_id = "vote_review",
    summary = "fraud review figures (organizer): votes per minute per entry, concentration by IP and network, account age at voting, share of new accounts, most active voters",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "{votes, valid, per_minute, networks, ips, account_age, new_account_percent, voters}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
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
