//! Accounts over HTTP: registration (`register`), signing in and out and the API's token
//! sign-in (`sign_in`), email verification (`email`), password reset (`reset`), and the
//! account page (`settings`). The rules and queries are in `domain::people`; refusals that
//! make a visitor wait are answered by `wait`.

mod email;
mod register;
mod reset;
mod settings;
mod sign_in;
mod wait;

use axum::Router;
use axum::routing::{get, post};
use hoithi_core::AppState;

use crate::domain::people::refusal::{AccountRefusal, UnitRefusal};

crate::page_refusals!(AccountRefusal, UnitRefusal);

/// This part's operations of the JSON API, from their handlers' annotations (the OpenAPI
/// document merges every part's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(sign_in::api_sign_in, settings::api_tokens, settings::api_revoke))]
pub(crate) struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/register",
            get(register::register_form).post(register::register),
        )
        .route("/login", get(sign_in::sign_in_form).post(sign_in::sign_in))
        .route("/logout", post(sign_in::sign_out))
        .route("/logout-everywhere", post(sign_in::sign_out_everywhere))
        .route("/verify-email/{token}", get(email::verify_email))
        .route("/verify-email", post(email::resend_verification))
        .route("/check-email", get(email::check_email))
        .route(
            "/forgot-password",
            get(reset::forgot_form).post(reset::forgot),
        )
        .route(
            "/reset-password/{token}",
            get(reset::reset_form).post(reset::reset),
        )
        .route("/api/v1/auth/login", post(sign_in::api_sign_in))
        .merge(settings::router())
}
