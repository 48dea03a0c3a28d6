//! Enqueueing background jobs. The worker leases them (`FOR UPDATE SKIP LOCKED`); a
//! `NOTIFY job_queued` wakes idle workers at commit.

use sqlx::PgConnection;

pub const CHANNEL: &str = "job_queued";

/// Media processing of one uploaded file. Payload: [`ProcessMedia`].
pub const KIND_PROCESS_MEDIA: &str = "process-media";

/// Every job kind this version enqueues. `/metrics` reports each of them from the start (at 0
/// on a fresh node), so an alert on queue depth sees a value, not an absent series. Add a new
/// kind here when you add its constant.
pub const KINDS: &[&str] = &[KIND_PROCESS_MEDIA];

/// The `outcome` label values of `hoithi_jobs_finished_total`, as the worker records them.
pub const OUTCOMES: &[&str] = &["done", "refused", "failed", "released"];

/// Queues a job unless one with the same `dedupe_key` exists; returns the job's id either way.
/// Takes a connection, usually a transaction's (`&mut *tx`): call it inside the transaction
/// that makes the work necessary, so the job exists exactly when that work was committed.
pub async fn enqueue(
    conn: &mut PgConnection,
    kind: &str,
    payload: &serde_json::Value,
    dedupe_key: Option<&str>,
) -> sqlx::Result<i64> {
    let inserted: Option<i64> = sqlx::query_scalar(
        "insert into job (kind, payload, dedupe_key) values ($1, $2, $3)
         on conflict (dedupe_key) do nothing returning job_id",
    )
    .bind(kind)
    .bind(payload)
    .bind(dedupe_key)
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => {
            sqlx::query("select pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(kind)
                .execute(&mut *conn)
                .await?;
            Ok(id)
        }
        // A separate statement: in READ COMMITTED it sees a row that a concurrent enqueue
        // committed while our insert waited on its key.
        None => {
            sqlx::query_scalar("select job_id from job where dedupe_key = $1")
                .bind(dedupe_key)
                .fetch_one(&mut *conn)
                .await
        }
    }
}

/// The payload of a `process-media` job: `{"media_asset_id": "…"}`. Written by the upload
/// service when an upload completes, read by the worker; one type so the two cannot drift.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProcessMedia {
    pub media_asset_id: uuid::Uuid,
}

impl ProcessMedia {
    /// The payload as stored in `job.payload`.
    pub fn to_json(self) -> serde_json::Value {
        serde_json::json!({"media_asset_id": self.media_asset_id})
    }

    /// Reads a stored payload; `None` when it names no asset (the job is buried).
    pub fn from_json(payload: &serde_json::Value) -> Option<Self> {
        <Self as serde::Deserialize>::deserialize(payload).ok()
    }
}
