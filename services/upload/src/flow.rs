//! A PATCH body's way in: `append` runs the body through `append::append_stream` (and
//! drains what is left of a refused body).

use std::time::Duration;

use axum::body::{Body, BodyDataStream};
use futures_util::StreamExt;
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use uuid::Uuid;

use crate::append::append_stream;
use crate::protocol::Checksum;
use crate::repo::UploadRow;

/// Appends `body` at `row.upload_offset` under the lease `token`; returns the new state.
/// A dropped connection keeps what arrived (unless a checksum was sent: then the chunk is
/// discarded, as tus requires).
pub async fn append(
    st: &AppState,
    row: UploadRow,
    token: Uuid,
    body: Body,
    checksum: Option<Checksum>,
) -> Result<UploadRow, ApiError> {
    let mut stream = body.into_data_stream();
    let _active = ActiveUpload::new();
    let result = append_stream(st, row, token, &mut stream, checksum).await;
    if result.is_err() {
        drain(&mut stream).await;
    }
    result
}

/// One PATCH in progress in `hoithi_uploads_active`; a guard, so a request dropped mid-way
/// (the client went away) is uncounted too.
struct ActiveUpload;

impl ActiveUpload {
    fn new() -> Self {
        hoithi_core::metrics::METRICS.uploads_active.inc();
        Self
    }
}

impl Drop for ActiveUpload {
    fn drop(&mut self) {
        hoithi_core::metrics::METRICS.uploads_active.dec();
    }
}

/// Bytes of a refused body read and dropped, so that the client (still sending) reads the
/// answer instead of a broken pipe; past this the connection is closed.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

pub async fn drain(stream: &mut BodyDataStream) {
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut n = 0;
        while let Some(Ok(chunk)) = stream.next().await {
            n += chunk.len();
            if n > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
}
