//! The PostgreSQL job queue as the worker sees it: lease (`FOR UPDATE SKIP LOCKED`), heartbeat,
//! finish, retry with jittered exponential backoff, and `dead` after `max_attempts`.
//! An expired lease (a worker killed with SIGKILL) makes the job leasable again.

use std::time::Duration;

use rand::Rng;
use sqlx::PgPool;

#[derive(Debug, Clone)]
pub struct Leased {
    pub job_id: i64,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub max_attempts: i32,
}

/// Leases the next due job of `kind` for `lease`, or returns `None`.
pub async fn lease(
    db: &PgPool,
    kind: &str,
    worker_id: &str,
    lease: Duration,
) -> sqlx::Result<Option<Leased>> {
    // Compile-checked: the claim is the queue's one contended statement.
    let row = sqlx::query!(
        "update job set status = 'running', attempts = attempts + 1,
                lease_until = now() + make_interval(secs => $3), leased_by = $2
         where job_id = (
             select job_id from job
             where kind = $1
               and ((status = 'queued' and run_at <= now())
                    or (status = 'running' and lease_until < now()))
             order by run_at, job_id
             limit 1
             for update skip locked)
         returning job_id, payload, attempts, max_attempts",
        kind,
        worker_id,
        lease.as_secs_f64(),
    )
    .fetch_optional(db)
    .await?;
    Ok(row.map(|r| Leased {
        job_id: r.job_id,
        payload: r.payload,
        attempts: r.attempts,
        max_attempts: r.max_attempts,
    }))
}

/// Extends the lease; `false` means another worker owns the job now (our lease expired).
pub async fn heartbeat(
    db: &PgPool,
    job_id: i64,
    worker_id: &str,
    lease: Duration,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update job set lease_until = now() + make_interval(secs => $3)
         where job_id = $1 and leased_by = $2 and status = 'running'",
    )
    .bind(job_id)
    .bind(worker_id)
    .bind(lease.as_secs_f64())
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The delay before attempt `attempts + 1`: 2^attempts seconds (capped at 10 minutes),
/// times a random factor in [0.5, 1.5) so failed jobs do not retry in lockstep.
pub fn backoff(attempts: i32) -> Duration {
    let base = 2f64.powi(attempts.clamp(0, 10)).min(600.0);
    let jitter = rand::thread_rng().gen_range(0.5..1.5);
    Duration::from_secs_f64(base * jitter)
}

/// Puts the job back in the queue after a transient failure, or marks it `dead` when it has
/// used its attempts. Returns `true` when the job is dead.
pub async fn retry_or_bury(
    db: &PgPool,
    job: &Leased,
    worker_id: &str,
    error: &str,
) -> sqlx::Result<bool> {
    if job.attempts >= job.max_attempts {
        bury(db, job.job_id, worker_id, error).await?;
        return Ok(true);
    }
    sqlx::query(
        "update job set status = 'queued', lease_until = null, leased_by = null,
                run_at = now() + make_interval(secs => $3), last_error = $4
         where job_id = $1 and leased_by = $2",
    )
    .bind(job.job_id)
    .bind(worker_id)
    .bind(backoff(job.attempts).as_secs_f64())
    .bind(error)
    .execute(db)
    .await?;
    Ok(false)
}

/// Marks the job `dead` with its last error (visible to organizers).
pub async fn bury(
    db: impl sqlx::PgExecutor<'_>,
    job_id: i64,
    worker_id: &str,
    error: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "update job set status = 'dead', lease_until = null, last_error = $3
         where job_id = $1 and leased_by = $2",
    )
    .bind(job_id)
    .bind(worker_id)
    .bind(error)
    .execute(db)
    .await?;
    Ok(())
}

/// Returns a job to the queue untouched (worker shutting down): the attempt is not counted.
pub async fn release(db: &PgPool, job_id: i64, worker_id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "update job set status = 'queued', lease_until = null, leased_by = null,
                attempts = greatest(attempts - 1, 0), run_at = now()
         where job_id = $1 and leased_by = $2 and status = 'running'",
    )
    .bind(job_id)
    .bind(worker_id)
    .execute(db)
    .await?;
    Ok(())
}

/// Marks the job done (inside the transaction that records its result).
pub async fn complete(
    db: impl sqlx::PgExecutor<'_>,
    job_id: i64,
    worker_id: &str,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "update job set status = 'done', lease_until = null, progress = 100, last_error = null
         where job_id = $1 and leased_by = $2 and status = 'running'",
    )
    .bind(job_id)
    .bind(worker_id)
    .execute(db)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_a_cap() {
        for attempts in 0..20 {
            let d = backoff(attempts).as_secs_f64();
            let base = 2f64.powi(attempts.min(10)).min(600.0);
            assert!(d >= base * 0.5 && d < base * 1.5, "{attempts}: {d}");
        }
        let samples: std::collections::HashSet<u64> =
            (0..20).map(|_| backoff(3).as_millis() as u64).collect();
        assert!(samples.len() > 1, "no jitter");
    }
}
