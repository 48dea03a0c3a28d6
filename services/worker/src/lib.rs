//! hoithi-worker: leases media jobs from PostgreSQL and turns uploads into renditions.
//! This first version wires the role (start, shutdown) and proves the media libraries link;
//! the queue and the pipeline arrive with the worker issue.

pub mod probe;

use hoithi_core::AppState;
use tokio_util::sync::CancellationToken;

/// Runs the worker until `shutdown` is cancelled.
pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    probe::init()?;
    tracing::info!(
        concurrency = state.config.worker_concurrency,
        "media worker ready"
    );
    shutdown.cancelled().await;
    tracing::info!("media worker stopped");
    Ok(())
}
