//! hoithi-web: the pages people use and the JSON API for programs. One module per feature,
//! each with its own `router()`; `router` here merges them.

mod assets;
mod home;
pub mod live;
pub mod page;
pub mod voting;

use axum::Router;
use hoithi_core::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(assets::router())
        .merge(voting::router())
        .merge(live::router())
        .fallback(page::not_found)
}
