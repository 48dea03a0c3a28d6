//! Photo series (bộ ảnh): one entry of up to the contest's `max_series_photos` photos, judged
//! together. Each photo is its own resumable upload; the upload service attaches it in order
//! (`media_asset.series_position`) and leaves the entry a draft, refusing one more than the
//! limit (`series-full`). The entrant may reorder the photos and hands the series in: the
//! entry goes on to processing, and on to review once every photo is processed (here when
//! they all already are, else by the worker that finishes the last one).

use hoithi_core::contest::EntryStatus;
use hoithi_core::entry_lifecycle::{self, Actor};
use uuid::Uuid;

use super::EntryRow;
use super::refusal::{EntryError, EntryRefusal};

/// Whether an entry of `c` (in a category taking `kinds`) may be a series.
pub fn allowed(max_series_photos: i32, kinds: &[String]) -> bool {
    max_series_photos > 1 && kinds.iter().any(|k| k == "photo")
}

/// Locks the author's draft series `e` and checks it is one; the transaction holds the lock.
async fn lock_draft(tx: &mut sqlx::PgConnection, e: &EntryRow) -> Result<(), EntryError> {
    let row: Option<(EntryStatus, bool)> = sqlx::query_as(
        "select status, photo_series from entry where entry_id = $1 and author_id = $2 for update",
    )
    .bind(e.entry_id)
    .bind(e.author_id)
    .fetch_optional(&mut *tx)
    .await?;
    match row {
        Some((EntryStatus::Draft, true)) => Ok(()),
        Some((_, false)) => Err(EntryRefusal::SeriesNotAllowed.into()),
        _ => Err(EntryRefusal::NotEditable.into()),
    }
}

/// Hands the series in: at least one photo, none still uploading. The entry goes to
/// processing, then at once to review (or approved without moderation) when every photo is
/// already processed — the worker's own rule, in the same transaction.
pub async fn hand_in(db: &sqlx::PgPool, e: &EntryRow) -> Result<(), EntryError> {
    let mut tx = db.begin().await?;
    lock_draft(&mut tx, e).await?;
    let (photos, uploading): (i64, bool) = sqlx::query_as(
        "select (select count(*) from media_asset where entry_id = $1 and status <> 'failed'),
                exists (select 1 from upload where entry_id = $1 and status in ('active', 'completing'))",
    )
    .bind(e.entry_id)
    .fetch_one(&mut *tx)
    .await?;
    if photos == 0 || uploading {
        return Err(EntryRefusal::SeriesIncomplete.into());
    }
    let to = EntryStatus::Processing;
    sqlx::query(
        "update entry set status = $2, reason = null, submitted_at = coalesce(submitted_at, now())
         where entry_id = $1 and status = any($3)",
    )
    .bind(e.entry_id)
    .bind(to)
    .bind(entry_lifecycle::sources(Actor::Author, to))
    .execute(&mut *tx)
    .await?;
    entry_lifecycle::move_on_when_processed(&mut *tx, e.entry_id).await?;
    tx.commit().await?;
    Ok(())
}

/// Moves photo `asset` of the draft series one place earlier (swapping with the one before).
pub async fn move_up(db: &sqlx::PgPool, e: &EntryRow, asset: Uuid) -> Result<(), EntryError> {
    let mut tx = db.begin().await?;
    lock_draft(&mut tx, e).await?;
    sqlx::query(
        "with me as (select series_position as p from media_asset
                     where media_asset_id = $2 and entry_id = $1 and series_position is not null),
              prev as (select m.media_asset_id, m.series_position as p from media_asset m, me
                         where m.entry_id = $1 and m.series_position < me.p
                         order by m.series_position desc limit 1)
         update media_asset m set series_position = case
                when m.media_asset_id = $2 then (select p from prev)
                else (select p from me) end
         where m.entry_id = $1
           and (m.media_asset_id = $2 or m.media_asset_id = (select media_asset_id from prev))
           and exists (select 1 from prev)",
    )
    .bind(e.entry_id)
    .bind(asset)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
