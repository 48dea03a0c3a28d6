//! The ends of an upload: `refuse` marks it refused, `cleanup` removes what a dead upload
//! stored (the sweep retries what fails here). Below both the PATCH path and finishing, which
//! both end uploads.

use hoithi_core::AppState;
use uuid::Uuid;

use crate::repo::{self, UploadRow, UploadStatus};
use crate::store;

/// Refuses an upload: marks it, then removes what was stored.
pub async fn refuse(st: &AppState, row: &UploadRow) {
    if let Err(e) = repo::set_status(&st.db, row.upload_id, UploadStatus::Refused).await {
        tracing::warn!(error = %e, upload_id = %row.upload_id, "cannot mark an upload refused");
        return;
    }
    cleanup(st, row.upload_id).await;
}

/// Removes the temporary storage of a dead upload (refused, terminated, expired).
pub async fn cleanup(st: &AppState, upload_id: Uuid) {
    let row = match repo::by_id(&st.db, upload_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, %upload_id, "cannot read an upload to clean it up");
            return;
        }
    };
    match store::discard(
        &st.storage,
        upload_id,
        &row.object_key,
        row.s3_upload_id.as_deref(),
    )
    .await
    {
        Ok(()) => {
            if let Err(e) = repo::mark_cleaned(&st.db, upload_id).await {
                tracing::warn!(error = %e, %upload_id, "cannot mark an upload cleaned");
            }
        }
        // The sweep tries again later.
        Err(e) => tracing::warn!(error = format!("{e:#}"), %upload_id, "cannot clean up an upload"),
    }
}
