//! The organizers' invalidations through the JSON API: invalidate a contest's votes by
//! voter, network or time window, and restore them, each audited with its reason.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;
use serde_json::json;

use super::forms::json_body;
use crate::access::public::{ApiPublicOrganizerOf, organizer_of_public};
use crate::domain::voting::invalidations::{self, InvalidationRequest};
use crate::domain::voting::refusal::VoteRefusal;
use crate::domain::voting::repo;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/contests/{slug}/vote-invalidations",
            post(invalidate),
        )
        .route("/api/v1/vote-invalidations/{id}/restore", post(restore))
}

#[utoipa::path(
    post,
    path = "/api/v1/contests/{slug}/vote-invalidations",
    operation_id = "invalidate_votes",
    summary = "invalidate votes by voter, IP network or time window, with a reason (organizer); reversible and audited",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = InvalidationRequest,
    responses(
        (status = 201, description = "the invalidation and how many votes it covers"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn invalidate(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { user, contest }: ApiPublicOrganizerOf,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let request: InvalidationRequest = json_body(&body)?;
    let (criteria, reason) = request.checked()?;
    if let Some(voter) = criteria.voter_id
        && !repo::account_exists(&state.db, voter).await?
    {
        return Err(VoteRefusal::UnknownVoter.into());
    }
    let id = contest.contest_id;
    let (id, votes) = repo::invalidate(&state.db, id, &criteria, &reason, user.app_user_id).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "votes": votes}))))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    reason: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/vote-invalidations/{id}/restore",
    operation_id = "restore_votes",
    summary = "restore the votes of an invalidation (organizer)",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, maximum = 9223372036854775807_i64),
    ),
    request_body = RestoreBody,
    responses(
        (status = 200, description = "restored"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let not_found = || ApiError::not_found("the invalidation");
    let id: i64 = id.parse().map_err(|_| not_found())?;
    let slug = invalidations::contest_slug(&state.db, id)
        .await?
        .ok_or_else(not_found)?;
    // The contest is found by the invalidation, not the path: the same rule as the extractor.
    organizer_of_public(&state, &user, &slug)
        .await?
        .ok_or_else(not_found)?;
    let body: RestoreBody = json_body(&body)?;
    let reason = invalidations::reason(&body.reason)?;
    match repo::restore(&state.db, id, &reason, user.app_user_id).await {
        Ok((_, votes)) => Ok(Json(json!({"id": id, "votes": votes}))),
        Err(repo::RestoreError::NotFound) => Err(not_found()),
        Err(repo::RestoreError::AlreadyRestored) => Err(VoteRefusal::AlreadyRestored.into()),
        Err(repo::RestoreError::Db(e)) => Err(e.into()),
    }
}
