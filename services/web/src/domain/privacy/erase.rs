//! "Xóa tài khoản": a deletion is asked for (by the person, or by an organizer on their
//! behalf), waits a grace period in which it can be cancelled, and is then carried out by
//! the hourly job (`schedule`; also `hoithi admin delete-accounts`): the account row is
//! anonymised (votes, scores and published results keep pointing at it), its sign-in state,
//! consents, codes and mail are deleted, its entries that are in no published result are
//! emptied and their files deleted from storage, and published results show the author as
//! "(đã xóa)". Each step is audited in `privacy_audit`. What happens to each column is
//! mapped in `registry`.

use chrono::{DateTime, Utc};
use hoithi_core::contest::EntryStatus;
use hoithi_core::entry_lifecycle::{Actor, sources};
use hoithi_core::storage::Storage;
use sqlx::PgPool;
use uuid::Uuid;

/// The name a deleted account shows under.
pub const DELETED_NAME: &str = "(đã xóa)";

/// Asks for the deletion of `subject` (by `actor`: themselves or an organizer). `false` when
/// the account is already deleted or its deletion already asked.
pub async fn request(db: &PgPool, subject: i64, actor: i64, detail: &str) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let asked = sqlx::query(
        "update app_user set deletion_requested_at = now()
         where app_user_id = $1 and deleted_at is null and deletion_requested_at is null",
    )
    .bind(subject)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if asked {
        audit(&mut tx, subject, Some(actor), "delete-requested", detail).await?;
    }
    tx.commit().await?;
    Ok(asked)
}

/// Cancels a deletion not carried out yet. `false` when there was none to cancel.
pub async fn cancel(db: &PgPool, subject: i64, actor: i64) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let cancelled = sqlx::query(
        "update app_user set deletion_requested_at = null
         where app_user_id = $1 and deleted_at is null and deletion_requested_at is not null",
    )
    .bind(subject)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if cancelled {
        audit(&mut tx, subject, Some(actor), "delete-cancelled", "").await?;
    }
    tx.commit().await?;
    Ok(cancelled)
}

/// When `user_id`'s asked deletion will be carried out, if one was asked.
pub async fn scheduled(
    db: &PgPool,
    user_id: i64,
    grace_days: i64,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "select deletion_requested_at + make_interval(days => $2::int) from app_user
         where app_user_id = $1 and deleted_at is null",
    )
    .bind(user_id)
    .bind(grace_days.clamp(0, 3650) as i32)
    .fetch_one(db)
    .await
}

async fn audit(
    tx: &mut sqlx::PgConnection,
    subject: i64,
    actor: Option<i64>,
    action: &str,
    detail: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into privacy_audit (subject_id, actor_id, action, detail) values ($1, $2, $3, $4)",
    )
    .bind(subject)
    .bind(actor)
    .bind(action)
    .bind(detail)
    .execute(&mut *tx)
    .await
    .map(drop)
}

/// An account whose deletion is (or would be) carried out.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Due {
    pub app_user_id: i64,
    pub requested_at: DateTime<Utc>,
    /// Entries that are in no published result: emptied, their files deleted.
    pub unpublished_entries: i64,
}

const DUE: &str = "select u.app_user_id, u.deletion_requested_at as requested_at,
        (select count(*) from entry e where e.author_id = u.app_user_id
           and not exists (select 1 from judging_result r, jsonb_array_elements(r.snapshot->'entries') x
                           where r.contest_id = e.contest_id and x->>'id' = e.entry_id::text)) as unpublished_entries
     from app_user u
     where u.deleted_at is null and u.deletion_requested_at + make_interval(days => $1::int) <= now()
     order by u.app_user_id";

/// Carries out (or with `dry_run` only lists) the deletions whose grace period has passed.
pub async fn delete_due(
    db: &PgPool,
    storage: &Storage,
    grace_days: i64,
    dry_run: bool,
) -> anyhow::Result<Vec<Due>> {
    let days = grace_days.clamp(0, 3650) as i32;
    let due: Vec<Due> = sqlx::query_as(DUE).bind(days).fetch_all(db).await?;
    if dry_run {
        return Ok(due);
    }
    for d in &due {
        erase_account(db, storage, d.app_user_id).await?;
    }
    Ok(due)
}

/// The storage keys of the files of `entries`: each original and everything under the
/// asset's `media/{id}/`.
pub async fn object_keys(
    db: &PgPool,
    storage: &Storage,
    entries: &[Uuid],
) -> anyhow::Result<Vec<String>> {
    let assets: Vec<(Uuid, String)> = sqlx::query_as(
        "select media_asset_id, original_key from media_asset where entry_id = any($1)",
    )
    .bind(entries)
    .fetch_all(db)
    .await?;
    let uploads: Vec<(String, Option<String>)> =
        sqlx::query_as("select object_key, tail_key from upload where entry_id = any($1)")
            .bind(entries)
            .fetch_all(db)
            .await?;
    let mut keys: Vec<String> = Vec::new();
    for (id, original) in assets {
        keys.push(original);
        keys.extend(list(storage, &format!("media/{id}/")).await?);
    }
    for (object, tail) in uploads {
        keys.push(object);
        keys.extend(tail);
    }
    keys.sort();
    keys.dedup();
    Ok(keys)
}

/// Every key under `prefix`.
pub async fn list(storage: &Storage, prefix: &str) -> anyhow::Result<Vec<String>> {
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = storage
            .client
            .list_objects_v2()
            .bucket(&storage.bucket)
            .prefix(prefix)
            .set_continuation_token(token.clone())
            .send()
            .await
            .map_err(|e| hoithi_core::storage::describe(e, "configured"))?;
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_owned()),
            _ => return Ok(keys),
        }
    }
}

/// Deletes `keys` from storage (a missing key is no error: S3 answers a delete of nothing
/// with success, so a run interrupted halfway is simply run again).
pub async fn delete_objects(storage: &Storage, keys: &[String]) -> anyhow::Result<()> {
    for key in keys {
        storage
            .client
            .delete_object()
            .bucket(&storage.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| hoithi_core::storage::describe(e, "configured"))?;
    }
    Ok(())
}

/// Carries out the deletion of `user_id` now: files first (an interrupted run is repeated
/// by the next one), then every row in one transaction.
pub async fn erase_account(db: &PgPool, storage: &Storage, user_id: i64) -> anyhow::Result<()> {
    let unpublished: Vec<Uuid> = sqlx::query_scalar(
        "select e.entry_id from entry e where e.author_id = $1
           and not exists (select 1 from judging_result r, jsonb_array_elements(r.snapshot->'entries') x
                           where r.contest_id = e.contest_id and x->>'id' = e.entry_id::text)",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    let keys = object_keys(db, storage, &unpublished).await?;
    delete_objects(storage, &keys).await?;

    let mut tx = db.begin().await?;
    // Several web nodes run the job: the row lock makes one of them do it, the others see
    // it done.
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "select email::text, member_number from app_user
         where app_user_id = $1 and deleted_at is null for update",
    )
    .bind(user_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((email, member_number)) = row else {
        return Ok(());
    };
    let gone = format!("deleted-{user_id}@deleted.invalid");
    let all: Vec<Uuid> = sqlx::query_scalar("select entry_id from entry where author_id = $1")
        .bind(user_id)
        .fetch_all(&mut *tx)
        .await?;
    // Mail to the guardians of the person's entries names the child.
    let guardians: Vec<String> = sqlx::query_scalar(
        "select guardian_email::text from guardian_consent where entry_id = any($1)",
    )
    .bind(&all)
    .fetch_all(&mut *tx)
    .await?;
    let steps: &[&str] = &[
        "delete from web_session where app_user_id = $1",
        "delete from api_token where app_user_id = $1",
        "delete from one_time_token where app_user_id = $1",
        "delete from sign_in_address where app_user_id = $1",
        "delete from consent where app_user_id = $1",
        "delete from member_decision where app_user_id = $1",
        "delete from guardian_consent g using entry e where e.entry_id = g.entry_id and e.author_id = $1",
        "delete from entry_team_member m using entry e where e.entry_id = m.entry_id and e.author_id = $1",
        "delete from entry_revision r using entry e
          where (e.entry_id = r.entry_id and e.author_id = $1) or r.created_by = $1",
        "delete from upload where owner_id = $1",
        "update vote set ip = null, ip_network = null, user_agent_hash = null
          where voter_id = $1 and (ip is not null or ip_network is not null or user_agent_hash is not null)",
        "update vote_invalidation set ip_network = null where voter_id = $1",
        "update media_asset m set original_filename = null from entry e
          where e.entry_id = m.entry_id and e.author_id = $1",
        "update certificate set holder_name = null, holder_unit = null, team_members = null
          where app_user_id = $1",
        "delete from roster_member where app_user_id = $1",
        "delete from roster_upload where created_by = $1",
    ];
    for sql in steps {
        sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
    }
    let by_address: &[&str] = &[
        "delete from outbox where lower(to_email) = any($1)",
        "delete from roster_member where lower(email::text) = any($1) or lower(member_number) = any($1)",
        "delete from voter_code where lower(email::text) = any($1)",
        "delete from vote_roster where lower(value::text) = any($1) or lower(email::text) = any($1)",
        "delete from login_throttle where exists (select 1 from unnest($1::text[]) a
                                                  where a <> '' and strpos(lower(throttle_key), a) > 0)",
    ];
    let mut addresses: Vec<String> = vec![email.to_lowercase()];
    addresses.extend(member_number.iter().map(|m| m.to_lowercase()));
    for sql in by_address {
        sqlx::query(sql).bind(&addresses).execute(&mut *tx).await?;
    }
    sqlx::query("delete from outbox where lower(to_email) = any($1) and kind = 'guardian-consent'")
        .bind(
            guardians
                .iter()
                .map(|g| g.to_lowercase())
                .collect::<Vec<_>>(),
        )
        .execute(&mut *tx)
        .await?;
    sqlx::query("update contest_judge set email = $2, invite_token_hash = null where lower(email::text) = $1")
        .bind(email.to_lowercase())
        .bind(&gone)
        .execute(&mut *tx)
        .await?;
    // Entries in no published result: emptied and withdrawn, their files' rows gone.
    sqlx::query("delete from media_asset where entry_id = any($1)")
        .bind(&unpublished)
        .execute(&mut *tx)
        .await?;
    sqlx::query("update entry set status = $2 where entry_id = any($1) and status = any($3)")
        .bind(&unpublished)
        .bind(EntryStatus::Withdrawn)
        .bind(sources(Actor::Author, EntryStatus::Withdrawn))
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update entry set title = $2, description = '', reason = null, guardian_pending = false
         where entry_id = any($1)",
    )
    .bind(&unpublished)
    .bind(DELETED_NAME)
    .execute(&mut *tx)
    .await?;
    // Entries in published results keep their title and files (the results show them) but
    // not the author's description.
    sqlx::query("update entry set description = '', reason = null where author_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    // Published results: the author is "(đã xóa)", the unit not shown; scores stay.
    sqlx::query(
        "update judging_result r set snapshot = jsonb_set(r.snapshot, '{entries}', (
             select coalesce(jsonb_agg(case when x->>'id' = any($1::text[])
                        then x || jsonb_build_object('author',
                                 case when jsonb_typeof(x->'author') = 'string' then to_jsonb($2::text) end,
                                 'unit', null)
                        else x end order by n), '[]'::jsonb)
             from jsonb_array_elements(r.snapshot->'entries') with ordinality as t(x, n)))
         where jsonb_typeof(r.snapshot->'entries') = 'array'
           and exists (select 1 from jsonb_array_elements(r.snapshot->'entries') x
                       where x->>'id' = any($1::text[]))",
    )
    .bind(all.iter().map(Uuid::to_string).collect::<Vec<_>>())
    .bind(DELETED_NAME)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update app_user set email = $2, display_name = $3, password_hash = '!', member_number = null,
                birth_date = null, unit_id = null, email_verified_at = null, deleted_at = now()
         where app_user_id = $1",
    )
    .bind(user_id)
    .bind(&gone)
    .bind(DELETED_NAME)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        user_id,
        None,
        "deleted",
        &format!(
            "{} unpublished entries and {} files deleted",
            unpublished.len(),
            keys.len()
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
