//! hoithi-worker: leases media jobs from PostgreSQL and turns uploads into renditions.
//! `run` is the worker role (queue loop, heartbeats, concurrency); `child::main` is the
//! sandboxed `hoithi media-job` process that decodes untrusted files.
//!
//! Arrows between modules go one way: `child` → `sandbox` and `child` → `photo`/`video`;
//! the pipelines → `raster`, `rendition`, `protocol`; `process` (the parent) → `protocol`,
//! `queue`. `protocol` is the leaf every side shares.

pub mod child;
pub mod photo;
pub mod probe;
pub mod process;
pub mod protocol;
pub mod queue;
pub mod raster;
pub mod rendition;
pub mod sandbox;
pub mod video;

use std::sync::Arc;
use std::time::Duration;

use hoithi_core::AppState;
use hoithi_core::job::{CHANNEL, JobOutcome, KIND_PROCESS_MEDIA, ProcessMedia};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::process::{Outcome, Settings};

/// Polling interval when no notification arrives (the LISTEN connection may be down).
const POLL: Duration = Duration::from_secs(5);

/// Runs the worker until `shutdown` is cancelled.
pub async fn run(state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    probe::init()?;
    let concurrency = state.config.worker_concurrency.max(1);
    let worker_id = format!(
        "{}:{}:{}",
        state.config.jobs.hostname,
        std::process::id(),
        Uuid::new_v4().simple()
    );
    let settings = Arc::new(Settings {
        exe: std::env::current_exe()?,
        timeout: state.config.jobs.media_timeout,
    });
    // How long a lease lasts without a heartbeat; a SIGKILLed worker's job is picked up by
    // another worker after this (`HOITHI_WORKER_LEASE_SECONDS`; tests use 3 s).
    let lease = state.config.jobs.worker_lease;
    tracing::info!(concurrency, %worker_id, "media worker ready");

    let slots = Arc::new(Semaphore::new(concurrency));
    let jobs = tokio_util::task::TaskTracker::new();
    let mut listener = connect_listener(&state).await;
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => p?,
            () = shutdown.cancelled() => break,
        };
        let leased = match queue::lease(&state.db, KIND_PROCESS_MEDIA, &worker_id, lease).await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "cannot lease a job");
                None
            }
        };
        match leased {
            Some(job) => {
                let state = state.clone();
                let settings = settings.clone();
                let worker_id = worker_id.clone();
                let shutdown = shutdown.clone();
                jobs.spawn(async move {
                    handle(&state, &settings, job, &worker_id, lease, shutdown).await;
                    drop(permit);
                });
            }
            None => {
                drop(permit);
                wait_for_work(&state, &mut listener, &shutdown).await;
            }
        }
    }
    jobs.close();
    jobs.wait().await;
    tracing::info!("media worker stopped");
    Ok(())
}

async fn connect_listener(state: &AppState) -> Option<sqlx::postgres::PgListener> {
    match sqlx::postgres::PgListener::connect_with(&state.db).await {
        Ok(mut l) => match l.listen(CHANNEL).await {
            Ok(()) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "LISTEN failed; polling");
                None
            }
        },
        Err(e) => {
            tracing::warn!(error = %e, "no LISTEN connection; polling");
            None
        }
    }
}

async fn wait_for_work(
    state: &AppState,
    listener: &mut Option<sqlx::postgres::PgListener>,
    shutdown: &CancellationToken,
) {
    match listener {
        Some(l) => {
            tokio::select! {
                n = l.recv() => if let Err(e) = n {
                    tracing::warn!(error = %e, "LISTEN connection lost; polling");
                    *listener = None;
                },
                () = tokio::time::sleep(POLL) => {}
                () = shutdown.cancelled() => {}
            }
        }
        None => {
            tokio::select! {
                () = tokio::time::sleep(POLL) => {}
                () = shutdown.cancelled() => {}
            }
            *listener = connect_listener(state).await;
        }
    }
}

/// Runs one leased job with a heartbeat, and records how it ended.
async fn handle(
    state: &AppState,
    settings: &Settings,
    job: queue::Leased,
    worker_id: &str,
    lease: Duration,
    shutdown: CancellationToken,
) {
    let Some(ProcessMedia {
        media_asset_id: asset_id,
    }) = ProcessMedia::from_json(&job.payload)
    else {
        let _ = queue::bury(
            &state.db,
            job.job_id,
            worker_id,
            "bad-payload: no media_asset_id",
        )
        .await;
        return;
    };
    if job.attempts > job.max_attempts {
        // Workers died on this job again and again (leases expired): do not try once more.
        let reason = format!(
            "media-failed: Processing stopped {} times without finishing; the file is not processed.",
            job.attempts - 1
        );
        if let Err(e) =
            process::record_failure(state, asset_id, job.job_id, worker_id, &reason).await
        {
            tracing::error!(job_id = job.job_id, error = %e, "cannot record the job's end");
        }
        return;
    }
    tracing::info!(job_id = job.job_id, %asset_id, attempt = job.attempts, "media job started");
    let cancel = shutdown.child_token();
    let heartbeat = spawn_heartbeat(state, job.job_id, worker_id, lease, cancel.clone());
    let started = std::time::Instant::now();
    let outcome = process::run_job(
        state,
        settings,
        job.job_id,
        worker_id,
        asset_id,
        cancel.clone(),
    )
    .await;
    heartbeat.abort();
    record_metrics(KIND_PROCESS_MEDIA, &outcome, started.elapsed());
    let recorded = record_outcome(state, &job, worker_id, asset_id, outcome, &shutdown).await;
    if let Err(e) = recorded {
        tracing::error!(job_id = job.job_id, error = %e, "cannot record the job's end");
    }
}

/// Extends the lease every third of its length; cancels the job when the lease is lost.
fn spawn_heartbeat(
    state: &AppState,
    job_id: i64,
    worker_id: &str,
    lease: Duration,
    cancel: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let db = state.db.clone();
    let worker_id = worker_id.to_owned();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = tokio::time::sleep(lease / 3) => {}
                () = cancel.cancelled() => return,
            }
            match queue::heartbeat(&db, job_id, &worker_id, lease).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job_id, "lease lost; stopping the job");
                    cancel.cancel();
                    return;
                }
                Err(e) => tracing::warn!(job_id, error = %e, "heartbeat failed"),
            }
        }
    })
}

/// Records how an attempt ended: refusals and the last failure end the asset, earlier
/// failures retry later, a cancelled attempt goes back to the queue or to its new owner.
async fn record_outcome(
    state: &AppState,
    job: &queue::Leased,
    worker_id: &str,
    asset_id: Uuid,
    outcome: Outcome,
    shutdown: &CancellationToken,
) -> anyhow::Result<()> {
    match outcome {
        Outcome::Done => {
            tracing::info!(job_id = job.job_id, %asset_id, "media job done");
            Ok(())
        }
        Outcome::Refused(reason) => {
            tracing::info!(job_id = job.job_id, %asset_id, %reason, "media refused");
            process::record_failure(state, asset_id, job.job_id, worker_id, &reason).await
        }
        Outcome::Failed(err) => {
            let text = format!("{err:#}");
            tracing::warn!(job_id = job.job_id, %asset_id, error = %text, "media job failed");
            if job.attempts >= job.max_attempts {
                let reason = format!(
                    "media-failed: The file could not be processed after {} attempts ({text}).",
                    job.attempts
                );
                process::record_failure(state, asset_id, job.job_id, worker_id, &reason).await
            } else {
                queue::retry_or_bury(&state.db, job, worker_id, &text)
                    .await
                    .map(|_| ())
                    .map_err(Into::into)
            }
        }
        // Shutting down: hand the job back without counting the attempt. A lost lease:
        // another worker owns the job now, nothing to record.
        Outcome::Cancelled if shutdown.is_cancelled() => {
            queue::release(&state.db, job.job_id, worker_id)
                .await
                .map_err(Into::into)
        }
        Outcome::Cancelled => Ok(()),
    }
}

/// Job outcomes and processing time for `/metrics`.
fn record_metrics(kind: &str, outcome: &Outcome, took: std::time::Duration) {
    use hoithi_core::metrics::{JobLabels, KindLabels, METRICS};
    let label = match outcome {
        Outcome::Done => JobOutcome::Done,
        Outcome::Refused(_) => JobOutcome::Refused,
        Outcome::Failed(_) => JobOutcome::Failed,
        Outcome::Cancelled => JobOutcome::Released,
    }
    .as_str();
    METRICS
        .jobs_finished
        .get_or_create(&JobLabels {
            kind: kind.to_owned(),
            outcome: label.to_owned(),
        })
        .inc();
    if matches!(outcome, Outcome::Done) {
        METRICS
            .transcode_seconds
            .get_or_create(&KindLabels {
                kind: kind.to_owned(),
            })
            .observe(took.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The payload the upload service writes (`ProcessMedia::to_json`) is the one read here;
    /// anything without an asset id is buried, not retried.
    #[test]
    fn the_worker_reads_the_payload_the_upload_service_writes() {
        let job = ProcessMedia {
            media_asset_id: Uuid::new_v4(),
        };
        let json = job.to_json();
        assert_eq!(
            json,
            serde_json::json!({"media_asset_id": job.media_asset_id.hyphenated().to_string()})
        );
        assert_eq!(ProcessMedia::from_json(&json), Some(job));
        assert_eq!(ProcessMedia::from_json(&serde_json::json!({})), None);
        let number = serde_json::json!({"media_asset_id": 7});
        assert_eq!(ProcessMedia::from_json(&number), None);
        let garbage = serde_json::json!({"media_asset_id": "not-a-uuid"});
        assert_eq!(ProcessMedia::from_json(&garbage), None);
    }
}
