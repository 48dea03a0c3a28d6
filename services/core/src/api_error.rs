//! The JSON API's error: `{"error": {"code": "stable-kebab-code", "message": "…"}}` with a
//! fitting status. Internal causes go to the log once, never to the client.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A JSON request body whose refusals are the API's errors: a body that is not JSON, lacks
/// `Content-Type: application/json` or has the wrong fields is a 422 `invalid-json` naming
/// the fault, in the same `{"error": …}` shape as every other refusal (axum's own rejection
/// is plain text with 400 or 415).
pub struct JsonBody<T>(pub T);

impl<S, T> axum::extract::FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: serde::de::DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state)
            .await
            .map_err(|e| ApiError::invalid("invalid-json", e.body_text()))?;
        if has_nul(&value) {
            return Err(nul_in_text());
        }
        serde_json::from_value(value)
            .map(Self)
            .map_err(|e| ApiError::invalid("invalid-json", e.to_string()))
    }
}

/// Whether any string (or key) in `v` holds a NUL, which PostgreSQL cannot store in text.
pub fn has_nul(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::String(s) => s.contains('\0'),
        serde_json::Value::Array(a) => a.iter().any(has_nul),
        serde_json::Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        _ => false,
    }
}

/// A JSON body read from bytes (for handlers that take the raw body): 422 `invalid-body`
/// when it is not JSON or has the wrong fields, 422 `nul-character` when a text holds a NUL.
pub fn json_from_slice<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let invalid = |e: serde_json::Error| {
        ApiError::invalid("invalid-body", format!("the JSON body is not valid: {e}"))
    };
    let value: serde_json::Value = serde_json::from_slice(body).map_err(invalid)?;
    if has_nul(&value) {
        return Err(nul_in_text());
    }
    serde_json::from_value(value).map_err(invalid)
}

fn nul_in_text() -> ApiError {
    ApiError::invalid(
        "nul-character",
        "text may not contain the NUL character (\\u0000)",
    )
}

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

/// The body of every refusal, as the OpenAPI document names it (`Error`). Some refusals add
/// fields beside `error` (a new `challenge`, the `lines` of a roster, `attempts_left`).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable and kebab-case: what a client branches on.
    pub code: String,
    /// For people; may change.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}
