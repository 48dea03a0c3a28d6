//! The OpenAPI document of the JSON API, generated from the handlers: each handler carries
//! `#[utoipa::path]` (its method, path, parameters, body type and every status it answers),
//! each part of the site lists its handlers in an `ApiDoc`, and request bodies are the very
//! types the handlers deserialize (`ToSchema` derived next to `Deserialize`), so a field the
//! code accepts or refuses is the field the document shows.
//!
//! Answers the handlers build as JSON values rather than types (an entry, the live state, a
//! stream) keep a schema by hand in `hand_schemas.json`; the handlers name them through the
//! marker types of [`crate::api_schemas`], and a test checks that every marker has its schema
//! and back.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::api_schemas;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApiBuilder, ServerBuilder};

const DESCRIPTION: &str = "The stable surface for programs (mobile and Zalo mini-app clients, \
organizers' scripts, load tests). Errors are {\"error\": {\"code\": \"stable-kebab-code\", \
\"message\": \"…\"}}. Clients authenticate with Authorization: Bearer TOKEN from \
/api/v1/auth/login; pages use cookies. A write (POST, PUT, PATCH, DELETE, tus uploads \
included) without an Authorization header is refused with 403 cross-site-request when its \
Origin (or, without one, its Referer) is not this site; with a session cookie it must also \
carry the page's CSRF token (X-CSRF-Token, from <meta name=csrf-token>) or be \
application/json from this site's origin. Bearer-token calls are unaffected.";

/// The web's operations, every part merged.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("Hội Thi JSON API")
                .version("1")
                .description(Some(DESCRIPTION))
                .build(),
        )
        .servers(Some([ServerBuilder::new().url("/").build()]))
        .build();
    for part in [
        crate::accounts::ApiDoc::openapi(),
        crate::contests::ApiDoc::openapi(),
        crate::entries::ApiDoc::openapi(),
        crate::voting::ApiDoc::openapi(),
        crate::live::ApiDoc::openapi(),
        crate::streams::ApiDoc::openapi(),
        crate::judging::ApiDoc::openapi(),
    ] {
        doc.merge(part);
    }
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    doc
}

/// The whole document as served: the web's operations, the other services' `parts` (the
/// tus uploads), and the hand-kept schemas in place of their markers.
pub fn document(parts: impl IntoIterator<Item = utoipa::openapi::OpenApi>) -> Value {
    let mut doc = openapi();
    for part in parts {
        doc.merge(part);
    }
    let mut json = serde_json::to_value(doc).expect("an OpenAPI document serializes");
    let hand: BTreeMap<String, Value> = serde_json::from_str(api_schemas::HAND_SCHEMAS)
        .expect("hand_schemas.json is a map of schemas");
    let schemas = json["components"]["schemas"]
        .as_object_mut()
        .expect("the document has schemas");
    for (name, schema) in hand {
        schemas.insert(name, schema);
    }
    json
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_hand_marker_has_its_schema_and_every_hand_schema_a_marker() {
        let hand: BTreeMap<String, Value> =
            serde_json::from_str(api_schemas::HAND_SCHEMAS).unwrap();
        let kept: BTreeSet<&str> = hand.keys().map(String::as_str).collect();
        let markers: BTreeSet<&str> = api_schemas::NAMES.iter().copied().collect();
        assert_eq!(kept, markers);
        // And each is used: a schema no operation reaches would be a stale one.
        let doc = serde_json::to_string(&document([])).unwrap();
        for name in api_schemas::NAMES {
            assert!(
                doc.contains(&format!("\"#/components/schemas/{name}\"")),
                "{name} is referenced by no operation"
            );
        }
    }

    #[test]
    fn every_operation_has_an_id_and_every_id_is_unique() {
        let doc = document([]);
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str();
                assert!(id.is_some(), "{method} {path} has no operationId");
                assert!(ids.insert(id.unwrap().to_owned()), "{id:?} twice");
            }
        }
        assert!(ids.len() >= 30, "{ids:?}");
    }
}
