//! The answer to a request refused until a wait is over (too many sign-in tries, too much
//! mail): 429 with `Retry-After`, and a sentence saying how long.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::api_error::ApiError;

use crate::page::{Ctx, Page, render};

/// The `Retry-After` header of a wait of `wait` seconds (at least one).
pub fn retry_after(wait: i64) -> [(header::HeaderName, String); 1] {
    [(header::RETRY_AFTER, wait.max(1).to_string())]
}

/// `key`'s sentence with its `{seconds}` filled in.
pub fn wait_text(ctx: &Ctx, key: &str, wait: i64) -> String {
    ctx.t(key).replace("{seconds}", &wait.max(1).to_string())
}

#[derive(Template)]
#[template(path = "accounts/wait.html")]
struct WaitPage {
    page: Page,
    text: String,
}

/// The page of a refused request: 429, `Retry-After`, and a sentence saying how long.
pub fn wait_page(ctx: &Ctx, wait: i64) -> Response {
    let page = WaitPage {
        page: ctx.page("account.too-many.title"),
        text: wait_text(ctx, "account.error.too-many-requests", wait),
    };
    (
        retry_after(wait),
        render(StatusCode::TOO_MANY_REQUESTS, &page),
    )
        .into_response()
}

/// The API's refusal: 429, `Retry-After`, code `too-many-attempts`.
pub fn api_too_many(wait: i64) -> Response {
    (
        retry_after(wait),
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            format!("too many tries; wait {} s", wait.max(1)),
        ),
    )
        .into_response()
}
