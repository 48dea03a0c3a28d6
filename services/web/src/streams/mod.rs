//! Livestreams of a contest over HTTP: organizers attach YouTube, Facebook or HLS streams
//! with a schedule (`manage`, `api`) and change them (`edit`); the public stream page, the OBS overlay, the QR screen
//! and the `.ics` calendar (`public`). The rules and queries are in `domain::streams`.

mod api;
pub mod csp;
mod edit;
mod forms;
pub mod ics;
mod manage;
mod public;

use axum::Router;
use hoithi_core::AppState;

/// This part's operations of the JSON API, from their handlers' annotations (the OpenAPI
/// document merges every part's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(api::api_list, api::api_create, api::api_delete))]
pub(crate) struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(public::router())
        .merge(manage::router())
        .merge(edit::router())
        .merge(api::router())
}
