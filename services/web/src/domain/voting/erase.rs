//! Voters' addresses are kept only for the dispute window: `dispute_days` after a contest's
//! results (or, without a results date, after voting closed) the IP and network of its votes
//! are erased, as `hoithi admin erase-vote-ips` shows and the web role does every hour.
//! Spent one-time codes and challenges go too.

use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

/// One contest whose votes' addresses are (or would be) erased.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Erased {
    pub contest_id: i64,
    pub slug: String,
    /// When the dispute window ended.
    pub window_ended_at: DateTime<Utc>,
    pub votes: i64,
}

const DUE: &str = "select c.contest_id, c.slug,
        coalesce(c.results_at, c.voting_closes_at) + make_interval(days => $1::int) as window_ended_at,
        (select count(*) from vote v
          where v.contest_id = c.contest_id and (v.ip is not null or v.ip_network is not null)) as votes
     from contest c
     where coalesce(c.results_at, c.voting_closes_at) + make_interval(days => $1::int) <= now()
       and exists (select 1 from vote v
                   where v.contest_id = c.contest_id and (v.ip is not null or v.ip_network is not null))
     order by c.contest_id";

/// Erases (or with `dry_run` only lists) the addresses of votes past their dispute window.
pub async fn erase_vote_ips(
    db: &PgPool,
    dispute_days: i64,
    dry_run: bool,
) -> sqlx::Result<Vec<Erased>> {
    let days = dispute_days.clamp(0, 3650) as i32;
    if dry_run {
        return sqlx::query_as(DUE).bind(days).fetch_all(db).await;
    }
    let mut tx = db.begin().await?;
    // Several web nodes run this: one at a time, so each erasure is audited once.
    sqlx::query("select pg_advisory_xact_lock(hashtext('hoithi-erase-vote-ips'))")
        .execute(&mut *tx)
        .await?;
    let due: Vec<Erased> = sqlx::query_as(DUE).bind(days).fetch_all(&mut *tx).await?;
    for c in &due {
        sqlx::query("update vote set ip = null, ip_network = null where contest_id = $1 and (ip is not null or ip_network is not null)")
            .bind(c.contest_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("update contest set vote_ips_erased_at = now() where contest_id = $1")
            .bind(c.contest_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into vote_audit (contest_id, action, reason, votes)
             values ($1, 'erase-ips', $2, $3)",
        )
        .bind(c.contest_id)
        .bind(format!("dispute window of {days} days ended"))
        .bind(c.votes as i32)
        .execute(&mut *tx)
        .await?;
    }
    // Codes and challenges are useless a day after they expired; so is the address kept with them.
    sqlx::query("delete from voter_code where expires_at < now() - interval '1 day'")
        .execute(&mut *tx)
        .await?;
    sqlx::query("delete from vote_challenge_used where expires_at < now()")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(due)
}

/// Erases once at start and then every hour until `shutdown`.
pub async fn run_periodically(db: PgPool, dispute_days: i64, shutdown: CancellationToken) {
    loop {
        match erase_vote_ips(&db, dispute_days, false).await {
            Ok(erased) => {
                for c in erased {
                    tracing::info!(contest = %c.slug, votes = c.votes, "erased voters' addresses after the dispute window");
                }
            }
            Err(err) => tracing::error!(error = %err, "erasing voters' addresses failed"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(3600)) => {}
        }
    }
}
