//! hoithi-upload: the tus 1.0 endpoint at `/api/v1/uploads`, streaming into S3 multipart
//! uploads, with its state in PostgreSQL so that a resume works after a restart and on any node.

mod append;
mod create;
mod digest;
mod ending;
mod finish;
mod flow;
mod http;
pub mod protocol;
mod repo;
mod rules;
pub mod sniff;
pub mod store;
mod sweep;

use axum::Router;
use axum::routing::{MethodRouter, post};
use hoithi_core::AppState;

pub use finish::finish;
pub use http::{BASE_PATH, MAX_SIZE};
pub use repo::{LEASE_SECONDS, TTL_HOURS};
pub use sweep::{SWEEP_EVERY, SweepReport, run_sweeper, sweep};

/// The tus operations of the API's OpenAPI document, from the handlers' annotations.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(http::options, create::create, http::head, http::patch, http::delete),
    components(schemas(TusVersion))
)]
struct UploadApi;

/// This crate's part of the API's OpenAPI document (the binary merges it with the web's).
pub fn openapi() -> utoipa::openapi::OpenApi {
    <UploadApi as utoipa::OpenApi>::openapi()
}

/// The `Tus-Resumable` header's one value: anything else is refused with 412.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)] // reason: a schema only, for the document
enum TusVersion {
    #[schema(rename = "1.0.0")]
    V1,
}

/// The bytes a PATCH appends, sent as `application/offset+octet-stream`.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)] // reason: a schema only, for the document
struct TusChunk(Vec<u8>);

pub fn router() -> Router<AppState> {
    let collection: MethodRouter<AppState> = post(create::create)
        .options(http::options)
        .fallback(http::method_not_allowed);
    let item: MethodRouter<AppState> = axum::routing::head(http::head)
        .patch(http::patch)
        .delete(http::delete)
        .options(http::options)
        .fallback(http::method_not_allowed);
    Router::new()
        .route(BASE_PATH, collection)
        .route(&format!("{BASE_PATH}/{{id}}"), item)
}
