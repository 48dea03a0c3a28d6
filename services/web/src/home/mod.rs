//! The home page and the language switch.

mod show;

use axum::Router;
use axum::routing::get;
use hoithi_core::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(show::home))
        .route("/lang/{code}", get(show::switch_language))
}
