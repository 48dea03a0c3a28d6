//! Failed sign-ins per (email, client address). After a few failures the pair waits, longer
//! each time; the account itself is never locked, so nobody can lock someone else out.

use sqlx::PgExecutor;

/// Failures allowed in a window before waiting starts.
pub const FREE_FAILURES: i32 = 5;

/// Seconds to wait, if the key is blocked now.
pub async fn blocked_for(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<Option<i64>> {
    let wait: Option<f64> = sqlx::query_scalar(
        "select extract(epoch from blocked_until - now())::float8 from login_throttle
         where throttle_key = $1 and blocked_until > now()",
    )
    .bind(key)
    .fetch_optional(db)
    .await?;
    Ok(wait.map(|w| w.ceil().max(1.0) as i64))
}

/// Counts a failure; from the sixth in 15 minutes on, blocks for 30 s, 60 s, … up to 15 min.
pub async fn failed(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "insert into login_throttle (throttle_key, failures, window_start) values ($1, 1, now())
         on conflict (throttle_key) do update set
           failures = case when login_throttle.window_start < now() - interval '15 minutes'
                           then 1 else login_throttle.failures + 1 end,
           window_start = case when login_throttle.window_start < now() - interval '15 minutes'
                               then now() else login_throttle.window_start end,
           blocked_until = case
             when login_throttle.window_start >= now() - interval '15 minutes'
                  and login_throttle.failures + 1 >= $2
             then now() + least(interval '15 minutes',
                                interval '30 seconds' * power(2, login_throttle.failures + 1 - $2))
             else login_throttle.blocked_until end",
    )
    .bind(key)
    .bind(FREE_FAILURES)
    .execute(db)
    .await
    .map(drop)
}

pub async fn clear(db: impl PgExecutor<'_>, key: &str) -> sqlx::Result<()> {
    sqlx::query("delete from login_throttle where throttle_key = $1")
        .bind(key)
        .execute(db)
        .await
        .map(drop)
}
