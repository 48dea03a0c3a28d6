//! hoithi-upload: the tus 1.0 endpoint at `/api/v1/uploads`, streaming into S3 multipart
//! uploads. The protocol itself arrives with the upload issue; the role is wired now.

use axum::Router;
use hoithi_core::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
