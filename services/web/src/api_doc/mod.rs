//! The OpenAPI document of the JSON API, kept by hand next to the handlers and checked by a
//! test against the routes the code declares, so neither can drift from the other.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use hoithi_core::AppState;

const DOCUMENT: &str = include_str!("openapi.json");

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/openapi.json", get(document))
}

async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::DOCUMENT;

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
                        // Route templates only: a formatted Location header is not a route.
                        // 80 bytes back, moved to a character's start (Vietnamese text
                        // may sit just before a route).
                        let mut start = i.saturating_sub(80);
                        while !text.is_char_boundary(start) {
                            start -= 1;
                        }
                        let before = &text[start..i];
                        if before.contains(".route(")
                            || before.contains("BASE_PATH")
                            || before.contains("route(\n")
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
        let doc: serde_json::Value = serde_json::from_str(DOCUMENT).expect("the document is JSON");
        assert_eq!(doc["openapi"], "3.1.0");
        let documented: BTreeSet<String> =
            doc["paths"].as_object().unwrap().keys().cloned().collect();
        let declared = declared_routes();
        assert!(
            declared.len() >= 10,
            "the scan found the routes: {declared:?}"
        );
        let mut with_tus = declared.clone();
        with_tus.insert("/api/v1/uploads/{id}".to_owned());
        let undocumented: Vec<_> = declared.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "routes missing from openapi.json: {undocumented:?}"
        );
        let stale: Vec<_> = documented.difference(&with_tus).collect();
        assert!(
            stale.is_empty(),
            "documented paths that no code serves: {stale:?}"
        );
    }
}
