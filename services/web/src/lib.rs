//! hoithi-web: the pages people use and the JSON API for programs. One module per feature,
//! each with its own `router()`; `router` here merges them, and `security::layers` wraps the
//! whole process's routes in sessions, CSRF and security headers.

pub mod access;
mod accounts;
mod admin;
pub mod api_doc;
pub mod api_schemas;
mod assets;
pub mod cards;
mod certificates;
pub mod contests;
pub mod domain;
mod entries;
pub mod format;
mod home;
pub mod judging;
pub mod live;
pub mod mail;
pub mod page;
mod people;
pub mod privacy;
pub mod security;
pub mod streams;
pub mod units;
pub mod voting;

use axum::Router;
use hoithi_core::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(home::router())
        .merge(accounts::router())
        .merge(units::router())
        .merge(contests::router())
        .merge(entries::router())
        .merge(admin::router())
        .merge(people::router())
        .merge(assets::router())
        .merge(voting::router())
        .merge(live::router())
        .merge(streams::router())
        .merge(judging::router())
        .merge(privacy::router())
        .merge(certificates::router())
        .fallback(page::not_found)
}

/// The web routes with their layers, as tests (and a web-only process) use them.
pub fn app(state: AppState) -> Router {
    security::layers(router().with_state(state.clone()), state)
}
