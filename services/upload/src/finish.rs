//! Finishing an upload: the object is completed in S3, then the media asset, its processing
//! job and the entry's status are recorded in one transaction.

use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::contest::EntryStatus;
use hoithi_core::entry_lifecycle::{self, Actor};
use hoithi_core::job::{KIND_PROCESS_MEDIA, ProcessMedia, enqueue};
use hoithi_core::media::MediaKind;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ending::cleanup;
use crate::repo::{self, UploadRow, UploadStatus};
use crate::rules::entry_not_uploading;
use crate::store;

/// Completes a `completing` upload: the object, then in ONE transaction the media asset, its
/// processing job and the entry's status. Safe to repeat (HEAD and the sweep call it too).
///
/// The media asset is created only while the entry still waits for this very upload: the
/// entry row is locked and must be `uploading`, and the partial unique index
/// `upload_one_live_per_entry` makes this upload its only live one. An entry that moved on
/// (withdrawn, or already submitted, reviewed, approved) never gains a file this way.
pub async fn finish(st: &AppState, id: Uuid) -> Result<(), ApiError> {
    let row = repo::by_id(&st.db, id)
        .await?
        .ok_or_else(crate::protocol::upload_not_found)?;
    match row.status {
        UploadStatus::Completed => return Ok(()),
        UploadStatus::Completing => {}
        _ => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "upload {id} cannot be finished in status {}",
                row.status
            )));
        }
    }
    let s3_id = row
        .s3_upload_id
        .as_deref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("upload {id} has no S3 upload id")))?;
    let parts = repo::parts(&st.db, id).await?;
    store::complete(
        &st.storage,
        &row.object_key,
        s3_id,
        &parts,
        row.upload_length,
    )
    .await?;
    record(st, id, row.entry_id).await
}

/// The database side of `finish`, once the object is complete: in one transaction, attaches
/// the file to its entry, or drops it when the entry no longer waits for it.
async fn record(st: &AppState, id: Uuid, entry_id: Uuid) -> Result<(), ApiError> {
    let mut tx = st.db.begin().await?;
    // Entry first, then upload: the order creation takes them in, so the two cannot deadlock.
    let entry_status: Option<String> =
        sqlx::query_scalar("select status::text from entry where entry_id = $1 for update")
            .bind(entry_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(row) = repo::by_id_for_update(&mut tx, id).await? else {
        return Err(crate::protocol::upload_not_found());
    };
    match row.status {
        UploadStatus::Completed => return Ok(()),
        UploadStatus::Completing => {}
        other => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "upload {id} was ended ({other}) while it was being finished"
            )));
        }
    }
    if entry_status.as_deref() != Some("uploading") {
        // The entry moved on while the bytes arrived: the file is dropped, never attached.
        repo::set_status(&mut *tx, id, UploadStatus::Terminated).await?;
        tx.commit().await?;
        tracing::warn!(upload_id = %id, entry_id = %row.entry_id, entry_status = ?entry_status,
            "an upload finished for an entry that no longer waits for it; its file is dropped");
        cleanup(st, id).await;
        return Err(entry_not_uploading());
    }
    attach(&mut tx, &row).await?;
    tx.commit().await?;
    if let Err(e) = store::delete_temporaries(&st.storage, id).await {
        tracing::warn!(error = format!("{e:#}"), upload_id = %id, "cannot delete temporaries");
    }
    tracing::info!(upload_id = %id, media_asset_id = %row.media_asset_id, bytes = row.upload_length, "upload completed");
    Ok(())
}

/// The media asset, its processing job, the entry on to `processing` (back to `draft` for a
/// photo of a series, which waits for the rest), the upload completed.
async fn attach(tx: &mut PgConnection, row: &UploadRow) -> Result<(), ApiError> {
    let id = row.upload_id;
    let sha256 = row
        .sha256
        .as_deref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("upload {id} has no sha256")))?;
    // A photo of a series takes the next place (after the photos not failed); the entry
    // stays a draft until the entrant hands the series in.
    let series: bool = sqlx::query_scalar("select photo_series from entry where entry_id = $1")
        .bind(row.entry_id)
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, original_key, original_bytes,
             original_sha256, original_filename, content_type, series_position)
         select $1, $2, $3, $4, $5, $6, $7, $8,
             case when $9 then (select coalesce(max(series_position), 0) + 1 from media_asset
                                where entry_id = $2 and status <> 'failed') end
         on conflict (media_asset_id) do nothing",
    )
    .bind(row.media_asset_id)
    .bind(row.entry_id)
    .bind(row.kind.unwrap_or(MediaKind::Video))
    .bind(&row.object_key)
    .bind(row.upload_length)
    .bind(sha256)
    .bind(row.filename.as_deref())
    .bind(row.content_type.as_deref())
    .bind(series)
    .execute(&mut *tx)
    .await?;
    enqueue(
        &mut *tx,
        KIND_PROCESS_MEDIA,
        &ProcessMedia {
            media_asset_id: row.media_asset_id,
        }
        .to_json(),
        Some(&format!("process-media:{}", row.media_asset_id)),
    )
    .await?;
    let to = if series {
        EntryStatus::Draft
    } else {
        EntryStatus::Processing
    };
    sqlx::query(
        "update entry set status = $2,
             submitted_at = case when $2 = 'processing' then coalesce(submitted_at, now()) else submitted_at end
         where entry_id = $1 and status = any($3)",
    )
    .bind(row.entry_id)
    .bind(to)
    .bind(entry_lifecycle::sources(Actor::Upload, to))
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update upload set status = 'completed', storage_cleaned = true, tail_key = null where upload_id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
