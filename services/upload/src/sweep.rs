//! The periodic sweep: expired uploads are ended and their multipart uploads aborted and
//! temporary objects deleted (s3s-fs has no lifecycle rules, so the app does it).

use std::time::Duration;

use hoithi_core::AppState;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::{finish, store};

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// Active uploads that may take no more bytes (past `expires_at` or the contest's cutoff,
    /// or their entry moved on), now ended.
    pub expired: usize,
    /// Dead uploads whose storage was removed.
    pub cleaned: usize,
    /// `completing` uploads whose completion was re-driven.
    pub finished: usize,
}

/// How often the background loop sweeps.
pub const SWEEP_EVERY: Duration = Duration::from_secs(300);

pub async fn sweep(state: &AppState) -> anyhow::Result<SweepReport> {
    let mut report = SweepReport::default();
    // A leased upload is being written; it expires only once the lease lapses.
    // Past its own expiry or its contest's cutoff it is `expired`; when its entry no longer
    // waits for it (withdrawn mid-upload) it is `terminated`. Either way the entry's slot is free.
    let expired: Vec<Uuid> = sqlx::query_scalar(&format!(
        "update upload u set status = case
             when exists (select 1 from entry e where e.entry_id = u.entry_id and e.status = 'uploading')
             then 'expired'::upload_status else 'terminated'::upload_status end
         where status = 'active' and not {} and (lock_token is null or locked_until < now())
         returning upload_id",
        crate::repo::OPEN
    ))
    .fetch_all(&state.db)
    .await?;
    report.expired = expired.len();

    let completing: Vec<Uuid> = sqlx::query_scalar(
        "select upload_id from upload where status = 'completing' and updated_at < now() - interval '1 minute'",
    )
    .fetch_all(&state.db)
    .await?;
    for id in completing {
        match finish::finish(state, id).await {
            Ok(()) => report.finished += 1,
            Err(e) => tracing::warn!(code = e.code, upload_id = %id, "cannot finish an upload yet"),
        }
    }

    let dead: Vec<(Uuid, String, Option<String>)> = sqlx::query_as(
        "select upload_id, object_key, s3_upload_id from upload
         where not storage_cleaned and status in ('expired', 'terminated', 'refused')
         order by updated_at limit 1000",
    )
    .fetch_all(&state.db)
    .await?;
    for (id, key, s3_id) in dead {
        match store::discard(&state.storage, id, &key, s3_id.as_deref()).await {
            Ok(()) => {
                crate::repo::mark_cleaned(&state.db, id).await?;
                report.cleaned += 1;
            }
            Err(e) => {
                tracing::warn!(error = format!("{e:#}"), upload_id = %id, "cannot clean up an upload")
            }
        }
    }
    Ok(report)
}

/// Sweeps every `SWEEP_EVERY` until `shutdown`; spawned where the upload role runs.
pub async fn run_sweeper(state: AppState, shutdown: CancellationToken) {
    loop {
        match sweep(&state).await {
            Ok(r) if r != SweepReport::default() => tracing::info!(?r, "upload sweep"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = format!("{e:#}"), "upload sweep failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}
