//! The JSON API answers every refusal in its own shape. axum's extractors refuse a path or
//! query that does not parse (`/api/v1/me/tokens/abc`, `?round=x`) with plain text; on
//! `/api/` this turns such an answer into `{"error": {"code": "invalid-request", …}}` with
//! the same status, so a client never has to parse two kinds of error.

use axum::body::to_bytes;
use axum::http::{Uri, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::api_error::ApiError;

/// Plain-text refusals are short; anything longer is cut, not buffered.
const MAX_TEXT: usize = 4096;

pub async fn as_json(uri: Uri, res: Response) -> Response {
    let plain = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !uri.path().starts_with("/api/") || !res.status().is_client_error() || !plain {
        return res;
    }
    let (parts, body) = res.into_parts();
    let text = to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let mut json = ApiError::new(parts.status, "invalid-request", text).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().insert(name.clone(), value.clone());
        }
    }
    json
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    async fn body_text(res: Response) -> String {
        String::from_utf8(to_bytes(res.into_body(), 1 << 20).await.unwrap().to_vec()).unwrap()
    }

    #[tokio::test]
    async fn a_plain_text_rejection_on_the_api_becomes_the_apis_error() {
        let res = (
            StatusCode::BAD_REQUEST,
            "Invalid URL: Cannot parse `x` to a `i64`",
        )
            .into_response();
        let res = as_json(Uri::from_static("/api/v1/me/tokens/x"), res).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
        let v: serde_json::Value = serde_json::from_str(&body_text(res).await).unwrap();
        assert_eq!(v["error"]["code"], "invalid-request");
        assert!(
            v["error"]["message"]
                .as_str()
                .unwrap()
                .contains("Cannot parse")
        );
    }

    #[tokio::test]
    async fn pages_and_json_answers_are_left_alone() {
        let page = (StatusCode::BAD_REQUEST, "plain").into_response();
        let page = as_json(Uri::from_static("/contests/x"), page).await;
        assert_eq!(body_text(page).await, "plain");
        let ok = (StatusCode::OK, "fine").into_response();
        let ok = as_json(Uri::from_static("/api/v1/contests"), ok).await;
        assert_eq!(body_text(ok).await, "fine");
    }
}
