//! The JSON API's error: `{"error": {"code": "stable-kebab-code", "message": "…"}}` with a
//! fitting status. Internal causes go to the log once, never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} was not found"),
        )
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first (Authorization: Bearer TOKEN)",
        )
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    /// Logs `err` with its cause chain and answers 500 without details.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let err = err.into();
        tracing::error!(error = format!("{err:#}"), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "something went wrong; please try again",
        )
    }
}

/// A decided "no" of the rules, as opposed to a failure: an enum per area whose variants each
/// have a stable kebab-case `code` (the JSON API's `error.code`), an HTTP status, and a
/// sentence in both catalogs under `refusal.<code>` (Vietnamese on pages, English in the API).
/// Handlers return them with `?`: `ApiError` and the web crate's `PageError` convert.
pub trait Refusal {
    fn code(&self) -> &'static str;
    fn status(&self) -> StatusCode;

    /// The catalog's namespace for an area whose codes another area also uses with another
    /// meaning (`Some("entry")`: the sentence is `refusal.entry.<code>`); `None` for most.
    fn area(&self) -> Option<&'static str> {
        None
    }

    /// The catalog key of the sentence.
    fn key(&self) -> String {
        refusal_key(self.area(), self.code())
    }
}

/// `refusal.<code>`, or `refusal.<area>.<code>` for a namespaced area.
pub fn refusal_key(area: Option<&str>, code: &str) -> String {
    match area {
        Some(area) => format!("refusal.{area}.{code}"),
        None => format!("refusal.{code}"),
    }
}

impl<R: Refusal> From<R> for ApiError {
    fn from(refusal: R) -> Self {
        let key = refusal.key();
        let message = crate::i18n::text(crate::i18n::Lang::En, &key).to_owned();
        Self::new(refusal.status(), refusal.code(), message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(err: sqlx::Error) -> Self {
        Self::internal(err)
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": {"code": self.code, "message": self.message}})),
        )
            .into_response()
    }
}
