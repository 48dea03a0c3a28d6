//! Retention after results, per contest (`contest.retention_days`): that many days after its
//! results (the results date, else the latest published round), the files of entries that won
//! nothing (ranked below `WINNERS` in every published round, or in none) are deleted from
//! storage, and the accounts of voters who only ever signed in with an emailed code, voted only
//! in contests past their retention and entered nothing are deleted like a requested deletion
//! (`erase::erase_account`). Run by the hourly job with account deletions, and by
//! `hoithi admin apply-retention [--dry-run]`.

use chrono::{DateTime, Utc};
use hoithi_core::storage::Storage;
use sqlx::PgPool;
use uuid::Uuid;

use super::erase;

/// The ranks that count as winning (first, second and third prize): their files are kept.
pub const WINNERS: i64 = 3;

/// One contest whose retention is (or would be) applied.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Retained {
    pub contest_id: i64,
    pub slug: String,
    pub results_at: DateTime<Utc>,
    /// Entries whose files go.
    pub entries: i64,
    /// Code-only voters whose accounts go.
    pub voters: i64,
}

const RESULTS_AT: &str = "coalesce(c.results_at,
    (select max(r.published_at) from judging_result r where r.contest_id = c.contest_id))";

/// Entries of contest `$1` that won nothing and still have files.
const LOSERS: &str = "select e.entry_id from entry e
    where e.contest_id = $1
      and exists (select 1 from media_asset m where m.entry_id = e.entry_id)
      -- Files a nominated entry of a higher round still shows stay while it is there.
      and not exists (select 1 from entry n where n.media_entry_id = e.entry_id
                      and n.status <> 'withdrawn')
      and not exists (
          select 1 from judging_result r, jsonb_array_elements(r.snapshot->'entries') x
          where r.contest_id = e.contest_id and x->>'id' = e.entry_id::text
            and (x->>'rank')::numeric <= $2)";

/// Voters of contest `$1` who only signed in with a code, entered nothing, and voted in no
/// contest still within its retention.
const CODE_VOTERS: &str = "select u.app_user_id from app_user u
    where u.deleted_at is null and u.password_hash = '!voter-code' and u.role = 'member'
      and exists (select 1 from vote v where v.voter_id = u.app_user_id and v.contest_id = $1)
      and not exists (select 1 from entry e where e.author_id = u.app_user_id)
      and not exists (
          select 1 from vote v join contest c on c.contest_id = v.contest_id
          where v.voter_id = u.app_user_id and v.contest_id <> $1
            and c.retention_applied_at is null)";

fn due_sql() -> String {
    format!(
        "select c.contest_id, c.slug, {RESULTS_AT} as results_at, 0::bigint as entries, 0::bigint as voters
         from contest c
         where c.retention_days is not null and c.retention_applied_at is null
           and {RESULTS_AT} + make_interval(days => c.retention_days) <= now()
         order by c.contest_id"
    )
}

async fn losers(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(LOSERS)
        .bind(contest_id)
        .bind(WINNERS)
        .fetch_all(db)
        .await
}

async fn code_voters(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(CODE_VOTERS)
        .bind(contest_id)
        .fetch_all(db)
        .await
}

/// Applies (or with `dry_run` only lists) the retention of every contest that is due.
pub async fn apply(db: &PgPool, storage: &Storage, dry_run: bool) -> anyhow::Result<Vec<Retained>> {
    let mut due: Vec<Retained> = sqlx::query_as(&due_sql()).fetch_all(db).await?;
    for c in &mut due {
        let entries = losers(db, c.contest_id).await?;
        let voters = code_voters(db, c.contest_id).await?;
        c.entries = entries.len() as i64;
        c.voters = voters.len() as i64;
        if dry_run {
            continue;
        }
        let keys = erase::object_keys(db, storage, &entries).await?;
        erase::delete_objects(storage, &keys).await?;
        let mut tx = db.begin().await?;
        // Several web nodes run the job: the first to mark the contest does it.
        let first = sqlx::query(
            "update contest set retention_applied_at = now()
             where contest_id = $1 and retention_applied_at is null",
        )
        .bind(c.contest_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !first {
            continue;
        }
        sqlx::query("delete from upload where entry_id = any($1)")
            .bind(&entries)
            .execute(&mut *tx)
            .await?;
        sqlx::query("delete from media_asset where entry_id = any($1)")
            .bind(&entries)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "insert into privacy_audit (action, detail, contest_id) values ('retention', $2, $1)",
        )
        .bind(c.contest_id)
        .bind(format!(
            "files of {} entries ({} objects) and {} code-only voters deleted",
            entries.len(),
            keys.len(),
            voters.len()
        ))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        for v in voters {
            erase::erase_account(db, storage, v).await?;
        }
    }
    Ok(due)
}
