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

/// How one attempt at a job ended, as `hoithi_jobs_finished_total` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobOutcome {
    /// The result is recorded; the job is `done`.
    Done,
    /// The input is refused for good (not retried); the job is `dead`.
    Refused,
    /// The attempt failed; the job is retried later, or `dead` after its last attempt.
    Failed,
    /// The attempt was handed back (shutdown, or the lease was lost) without counting.
    Released,
}

impl JobOutcome {
    pub const ALL: [Self; 4] = [Self::Done, Self::Refused, Self::Failed, Self::Released];

    /// The `outcome` label.
    pub fn as_str(self) -> &'static str {
        match self {
            JobOutcome::Done => "done",
            JobOutcome::Refused => "refused",
            JobOutcome::Failed => "failed",
            JobOutcome::Released => "released",
        }
    }
}

/// The `outcome` label values of `hoithi_jobs_finished_total`, as the worker records them.
pub const OUTCOMES: &[&str] = &["done", "refused", "failed", "released"];

/// The states of a `job` row (its `status` CHECK constraint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Waiting for `run_at`.
    Queued,
    /// Leased by a worker until `lease_until`.
    Running,
    Done,
    /// Out of attempts, or refused for good.
    Dead,
}

impl JobStatus {
    pub const ALL: [Self; 4] = [Self::Queued, Self::Running, Self::Done, Self::Dead];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Dead => "dead",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_outcome_labels_are_the_outcomes() {
        assert_eq!(JobOutcome::ALL.map(JobOutcome::as_str).as_slice(), OUTCOMES);
    }

    /// `job.status` is text with a CHECK constraint: the Rust set is its set.
    #[test]
    fn the_job_states_are_the_check_constraint_of_the_migration() {
        let sql =
            include_str!("../../../migrations/20261130000002_contests_entries_media_jobs.sql");
        let table = &sql[sql.find("create table job (").expect("job table")..];
        let check = &table[table.find("check (status in (").expect("status check")..];
        let list = &check["check (status in (".len()..check.find("))").expect("end")];
        let values: Vec<&str> = list
            .split(',')
            .map(|v| v.trim().trim_matches('\''))
            .collect();
        assert_eq!(values, JobStatus::ALL.map(JobStatus::as_str));
        for s in JobStatus::ALL {
            assert_eq!(JobStatus::parse(s.as_str()), Some(s));
        }
        // No later migration changes the constraint.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
        for file in std::fs::read_dir(dir).expect("migrations") {
            let text = std::fs::read_to_string(file.expect("migration").path()).expect("text");
            assert!(!text.contains("job_status_check"), "the job states changed");
        }
    }
}
