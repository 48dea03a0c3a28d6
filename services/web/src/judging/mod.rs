//! Judging and results over HTTP: organizers set up rounds, invite and assign judges, preview,
//! publish, export and advance (`setup`, `setup_forms`, `results`, `export`); judges accept an
//! invitation and score their sheets (`invite`, `judge`); visitors see published results
//! (`public`); the JSON API does the same (`api`). The rules and queries are
//! `crate::domain::judging`; who may do what is `crate::access` (`OrganizerOf`, `JudgeOf`).

mod api;
mod export;
mod forms;
mod invite;
mod judge;
mod public;
mod results;
mod setup;
mod setup_forms;

use axum::Router;
use axum::routing::{get, post};
use hoithi_core::AppState;

use crate::domain::judging::JudgingRefusal;

crate::page_refusals!(JudgingRefusal);

/// This part's operations of the JSON API, from their handlers' annotations (the OpenAPI
/// document merges every part's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    api::invite,
    api::to_score,
    api::sheet,
    api::save,
    api::results,
    api::publish
))]
pub(crate) struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(organizer_routes())
        .route("/contests/{slug}/results", get(public::page))
        .route("/judging", get(judge::contests))
        .route("/judging/{slug}", get(judge::to_score))
        .route(
            "/judging/{slug}/invite/{token}",
            get(invite::page).post(invite::accept),
        )
        .route(
            "/judging/{slug}/entries/{id}",
            get(judge::sheet).post(judge::save),
        )
        .route("/api/v1/contests/{slug}/judges", post(api::invite))
        .route("/api/v1/contests/{slug}/judging/queue", get(api::to_score))
        .route(
            "/api/v1/entries/{id}/scores",
            get(api::sheet).put(api::save),
        )
        .route("/api/v1/contests/{slug}/results", get(api::results))
        .route(
            "/api/v1/contests/{slug}/results/publish",
            post(api::publish),
        )
}

/// The organizer's pages of a contest's judging and results.
fn organizer_routes() -> Router<AppState> {
    let base = "/organize/contests/{slug}";
    Router::new()
        .route(&format!("{base}/judging"), get(setup::page))
        .route(&format!("{base}/judging/judges"), post(setup_forms::invite))
        .route(
            &format!("{base}/judging/{{form}}"),
            post(setup_forms::round_form),
        )
        .route(&format!("{base}/results"), get(results::preview))
        .route(
            &format!("{base}/results/publish"),
            post(results::publish_form),
        )
        .route(
            &format!("{base}/results/advance"),
            post(results::advance_form),
        )
        .route(&format!("{base}/export/{{file}}"), get(export::download))
}
