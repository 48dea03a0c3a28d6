//! Personal data over HTTP: a guardian's consent page (`guardian`), and the person's own
//! requests from the account page (`account`): withdrawing consent. The rules and queries
//! are in `domain::privacy`.

mod account;
mod guardian;

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
}
