//! Contests on the web: the public contest page with its gallery, the organizer's form,
//! dashboard and contest page (early closes and reopens of phases, the change history), the
//! edit page, and the JSON API. The
//! rules live in `domain::contests`.

mod advancement;
mod api;
mod categories;
mod edit;
mod form;
mod organize;
mod refusal;
mod show;

use axum::Router;
use axum::routing::{get, post};
use hoithi_core::AppState;

/// The contest's description and its creation, where the command line (`create-contest`) and
/// the end-to-end tests have always found them.
pub use crate::domain::contests::create::create;
pub use crate::domain::contests::spec;

/// This part's operations of the JSON API, from their handlers' annotations (the OpenAPI
/// document merges every part's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(
    api::list,
    api::create,
    api::get,
    edit::api_patch,
    advancement::api_get,
    advancement::api_put,
    advancement::api_delete
))]
pub(crate) struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contests/{slug}", get(show::contest_page))
        .route("/organize", get(organize::dashboard))
        .route(
            "/organize/contests/new",
            get(form::new_form).post(form::create_from_form),
        )
        .route("/organize/contests/{slug}", get(organize::manage_page))
        .route(
            "/organize/contests/{slug}/edit",
            get(edit::edit_page).post(edit::edit_save),
        )
        .route(
            "/organize/contests/{slug}/categories",
            get(categories::page).post(categories::change),
        )
        .route(
            "/organize/contests/{slug}/advancement",
            get(advancement::page).post(advancement::save),
        )
        .route(
            "/api/v1/contests/{slug}/advancement",
            get(advancement::api_get)
                .put(advancement::api_put)
                .delete(advancement::api_delete),
        )
        .route(
            "/organize/contests/{slug}/phase",
            post(organize::change_phase),
        )
        .route("/api/v1/contests", get(api::list).post(api::create))
        .route(
            "/api/v1/contests/{slug}",
            get(api::get).patch(edit::api_patch),
        )
}
