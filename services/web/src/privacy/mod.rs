//! Personal data over HTTP: a guardian's consent page (`guardian`), and the person's own
//! requests from the account page (`account`): withdrawing consent, downloading their data,
//! deleting the account; and organizers acting on a request for someone else (`organizer`). The rules and queries
//! are in `domain::privacy`.

mod account;
mod guardian;
mod organizer;

pub use crate::domain::privacy::erase::{Due, delete_due as delete_accounts};
pub use crate::domain::privacy::retention::{Retained, apply as apply_retention};

use axum::Router;
use axum::routing::{get, post};
use hoithi_core::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/guardian/{token}",
            get(guardian::page).post(guardian::agree),
        )
        .route("/account/consent/withdraw", post(account::withdraw))
        .route("/account/data.zip", get(account::download))
        .route("/account/delete", post(account::delete))
        .route("/account/delete/cancel", post(account::cancel))
        .route("/organize/privacy", get(organizer::page))
        .route("/organize/privacy/export", post(organizer::export))
        .route("/organize/privacy/delete", post(organizer::delete))
}
