//! The hourly run of the scheduled erasures of personal data (started by the web role with
//! the voters' address erasure): account deletions past their grace period (`erase`) and each
//! contest's retention after results (`retention`).

use std::time::Duration;

use hoithi_core::storage::Storage;
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use super::{erase, retention};

/// Carries out due deletions and contests' retention (`retention::apply`) once at start and
/// then every hour until `shutdown`.
pub async fn run_periodically(
    db: PgPool,
    storage: Storage,
    grace_days: i64,
    shutdown: CancellationToken,
) {
    loop {
        match erase::delete_due(&db, &storage, grace_days, false).await {
            Ok(done) => {
                for d in done {
                    tracing::info!(
                        user = d.app_user_id,
                        "deleted an account after its grace period"
                    );
                }
            }
            Err(err) => tracing::error!(error = %err, "deleting accounts failed"),
        }
        match retention::apply(&db, &storage, false).await {
            Ok(done) => {
                for c in done {
                    tracing::info!(contest = %c.slug, entries = c.entries, voters = c.voters,
                        "applied the contest's retention after results");
                }
            }
            Err(err) => tracing::error!(error = %err, "applying retention failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
