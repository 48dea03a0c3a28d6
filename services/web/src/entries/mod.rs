//! Entries on the web: entering a contest (a draft saved before any upload, then the upload
//! page), the public entry page with its player, share meta and QR code, the author's edits
//! and withdrawal, the organizer's review and moderation queue, media, and the JSON API. The
//! rules live in `domain::entries`; who may act on an entry is decided by the extractors of
//! `access::author`.

mod api;
mod category;
mod edit;
mod media;
mod refusal;
mod review;
mod show;
mod submit;
mod vote_panel;

use axum::Router;
use axum::routing::{get, post};
use hoithi_core::AppState;

use review::{EDIT, ENTRY};

/// This part's operations of the JSON API, from their handlers' annotations (the OpenAPI
/// document merges every part's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    api::create,
    api::get,
    api::hand_in,
    api::review_entry,
    api::review_revision
))]
pub(crate) struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/contests/{slug}/enter",
            get(submit::enter_form).post(submit::enter),
        )
        .route("/entries/{id}", get(show::entry_page))
        .route("/entries/{id}/upload", get(submit::upload_page))
        .route("/entries/{id}/series/submit", post(submit::hand_in))
        .route("/entries/{id}/series/{asset}/up", post(submit::move_up))
        .route(
            "/entries/{id}/category",
            get(category::form).post(category::change),
        )
        .route("/entries/{id}/edit", get(edit::edit_form).post(edit::edit))
        .route(
            "/entries/{id}/withdraw",
            get(edit::withdraw_form).post(edit::withdraw),
        )
        .route("/entries/{id}/restore", post(edit::restore))
        .route("/entries/{id}/review", post(review::review_form::<ENTRY>))
        .route(
            "/entries/{id}/revision/review",
            post(review::review_form::<EDIT>),
        )
        .route("/entries/{id}/qr.svg", get(show::qr))
        .route("/me/entries", get(show::my_entries))
        .route(
            "/organize/contests/{slug}/queue",
            get(review::moderation_queue),
        )
        .route("/media/{asset}/{*file}", get(media::serve))
        .route("/api/v1/contests/{slug}/entries", post(api::create))
        .route("/api/v1/entries/{id}", get(api::get))
        .route("/api/v1/entries/{id}/series/submit", post(api::hand_in))
        .route("/api/v1/entries/{id}/review", post(api::review_entry))
        .route(
            "/api/v1/entries/{id}/revision/review",
            post(api::review_revision),
        )
}
