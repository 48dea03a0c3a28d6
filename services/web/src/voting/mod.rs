//! Voting over HTTP: the ballot (`POST /api/v1/entries/{id}/votes`, tallies, challenges),
//! voters' sign-in by emailed code and member numbers, the public vote page, the vote forms
//! of the entry page (code and vote on the page a shared link opens), and the
//! organizers' pages and API (policy, review, invalidations, roster, claims). The rules, the
//! queries and the vote runtime (batcher, live hub, limits) are in `domain::voting`.

mod ballot;
mod claims;
mod entry_vote;
mod forms;
mod invalidations;
mod members;
mod pages;
mod policy_api;
mod review;
mod roster;
mod voters;

use axum::Router;
use hoithi_core::AppState;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

pub use crate::domain::voting::erase::{Erased, erase_vote_ips};
pub use crate::domain::voting::members::set_member_number;
pub use crate::domain::voting::policy::Settings;
use crate::domain::voting::repo;
pub use crate::domain::voting::repo::Difference;
use crate::domain::voting::runtime;
pub use crate::domain::voting::runtime::Background;

/// This part's operations of the JSON API, from their handlers' annotations (the OpenAPI
/// document merges every part's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    ballot::tally,
    ballot::cast_vote,
    ballot::new_challenge,
    invalidations::invalidate,
    invalidations::restore,
    voters::api_send,
    voters::api_verify,
    policy_api::api_policy,
    policy_api::api_review,
    roster::api_put,
    claims::api_list,
    claims::api_decide,
    members::api_claim
))]
pub(crate) struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(ballot::router())
        .merge(entry_vote::router())
        .merge(invalidations::router())
        .merge(policy_api::router())
        .merge(voters::router())
        .merge(members::router())
        .merge(claims::router())
        .merge(pages::router())
        .merge(review::router())
        .merge(roster::router())
}

/// Starts the vote batcher and the live hub with the settings in the environment
/// (`HOITHI_VOTE_*`, `HOITHI_LIVE_*`). They stop when `shutdown` is cancelled; await
/// `Background::stopped` to know every queued vote was written.
pub fn start(state: &AppState, shutdown: CancellationToken) -> anyhow::Result<Background> {
    Ok(start_with(state, state.config.votes.clone(), shutdown))
}

/// `start` with the given settings (tests, tools).
pub fn start_with(state: &AppState, settings: Settings, shutdown: CancellationToken) -> Background {
    runtime::start(state, settings, shutdown)
}

/// Recounts valid votes against the tallies (all contests, or the one with `slug`).
/// Returns (entries checked, valid votes, differences).
pub async fn check_tallies(
    db: &PgPool,
    slug: Option<&str>,
) -> anyhow::Result<(i64, i64, Vec<Difference>)> {
    let contest_id = match slug {
        None => None,
        Some(slug) => Some(
            repo::contest_by_slug(db, slug)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no contest with the slug {slug:?}"))?
                .contest_id,
        ),
    };
    Ok(repo::check_tallies(db, contest_id).await?)
}
