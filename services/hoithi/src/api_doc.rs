//! `/api/v1/openapi.json`: the document generated from the handlers of every service (the
//! web's JSON API and the tus uploads), served where the web role runs.

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use hoithi_core::AppState;
use utoipa::OpenApi;

/// This document's own operation.
#[derive(OpenApi)]
#[openapi(paths(document))]
struct DocumentApi;

/// The whole document, built once.
pub fn document_json() -> &'static str {
    static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
        let doc = hoithi_web::api_doc::document([hoithi_upload::openapi(), DocumentApi::openapi()]);
        serde_json::to_string_pretty(&doc).expect("the document serializes")
    });
    &DOCUMENT
}

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(document))
}

#[utoipa::path(
    get,
    path = "/api/v1/openapi.json",
    operation_id = "openapi_document",
    summary = "this document",
    responses((status = 200, description = "OpenAPI 3.1")),
)]
async fn document() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        document_json(),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::document_json;

    /// Every `/api/v1/…` route string in the services' sources.
    fn declared_routes() -> BTreeSet<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut found = BTreeSet::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, _) in text.match_indices("\"/api/v1/") {
                        let rest = &text[i + 1..];
                        let end = rest.find('"').unwrap();
                        let route = &rest[..end];
                        // Route templates only: a formatted Location header, a test's URL or
                        // an annotation's `path = "…"` is not a route. 80 bytes back, moved
                        // to a character's start (Vietnamese text may sit just before a route).
                        let mut start = i.saturating_sub(80);
                        while !text.is_char_boundary(start) {
                            start -= 1;
                        }
                        let before = &text[start..i];
                        if before.contains(".route(")
                            || before.contains("BASE_PATH")
                            || before.trim_end().ends_with(".route(")
                        {
                            found.insert(route.to_owned());
                        }
                    }
                }
            }
        }
        found
    }

    #[test]
    fn every_declared_api_route_is_documented_and_every_documented_path_exists() {
        let doc: serde_json::Value = serde_json::from_str(document_json()).unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: BTreeSet<String> =
            doc["paths"].as_object().unwrap().keys().cloned().collect();
        let declared = declared_routes();
        assert!(
            declared.len() >= 10,
            "the scan found the routes: {declared:?}"
        );
        // The upload item route is built with format!("{BASE_PATH}/{{id}}").
        let mut served = declared.clone();
        served.insert("/api/v1/uploads/{id}".to_owned());
        let undocumented: Vec<_> = declared.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from the document: {undocumented:?}"
        );
        let stale: Vec<_> = documented.difference(&served).collect();
        assert!(
            stale.is_empty(),
            "documented paths that no code serves: {stale:?}"
        );
    }
}
