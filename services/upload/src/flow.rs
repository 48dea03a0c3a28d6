//! Appending a PATCH body to an upload and finishing it: bytes stream into S3 parts through
//! one part-sized buffer; what is stored is recorded in PostgreSQL before it is acknowledged.

use std::time::{Duration, Instant};

use axum::body::{Body, BodyDataStream};
use bytes::BytesMut;
use futures_util::StreamExt;
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::contest::contest_by_id;
use hoithi_core::job::{KIND_PROCESS_MEDIA, ProcessMedia, enqueue};
use uuid::Uuid;

use crate::digest::ResumableSha256;
use crate::protocol::{Checksum, err};
use crate::repo::{self, Gate, Progress, UploadRow};
use crate::sniff::{self, Kind, SNIFF_BYTES};
use crate::store::{self, PART_SIZE};

/// A client that sends nothing for this long is treated as gone; what arrived is kept.
const IDLE: Duration = Duration::from_secs(30);
/// The lease is renewed at least this often while bytes arrive (a third of a short lease).
fn renew_every() -> Duration {
    Duration::from_secs(20).min(Duration::from_secs_f64(repo::lease_seconds() / 3.0))
}

fn lost_lease() -> ApiError {
    err(
        423,
        "upload-locked",
        "another request took over this upload; ask for its offset (HEAD) and resume",
    )
}

/// 410 with `submission-closed`: the contest's cutoff (close plus grace) has passed.
pub fn submission_closed() -> ApiError {
    err(
        410,
        "submission-closed",
        "this contest stopped accepting files (submission closed and its grace period ended)",
    )
}

pub fn upload_expired() -> ApiError {
    err(
        410,
        "upload-expired",
        "this upload expired; start a new one",
    )
}

/// Why an upload may take no more bytes now, or `None` while it may (the rule `repo::OPEN`
/// enforces in SQL, told apart for the client).
pub fn closed(g: &Gate) -> Option<ApiError> {
    if g.entry_status != "uploading" {
        return Some(entry_not_uploading());
    }
    if g.now >= g.expires() {
        return Some(if g.cutoff <= g.expires_at {
            submission_closed()
        } else {
            upload_expired()
        });
    }
    None
}

fn entry_not_uploading() -> ApiError {
    err(
        410,
        "entry-not-uploading",
        "this entry no longer waits for a file (it was submitted, withdrawn or reviewed); this upload cannot go on",
    )
}

/// The answer when a statement guarded by the lease and `repo::OPEN` changed nothing.
async fn not_recorded(st: &AppState, id: Uuid) -> ApiError {
    match repo::gate(&st.db, id).await {
        Ok(Some(g)) => closed(&g).unwrap_or_else(lost_lease),
        Ok(None) => crate::protocol::upload_not_found(),
        Err(e) => e.into(),
    }
}

/// Why sniffed content cannot go on; the upload is refused and its bytes removed.
fn check_kind(
    row: &UploadRow,
    head: &[u8],
    contest: &hoithi_core::contest::Contest,
) -> Result<sniff::Detected, ApiError> {
    let detected = sniff::sniff(head).ok_or_else(|| {
        err(
            415,
            "unsupported-media-type",
            "this file is not a photo (JPEG, PNG, WebP, HEIC) or a video (MP4, MOV, WebM, MKV, 3GP)",
        )
    })?;
    if !contest.allows(detected.kind.as_str()) {
        return Err(err(
            415,
            "kind-not-allowed",
            format!(
                "this contest does not accept {} entries (it accepts: {})",
                detected.kind.as_str(),
                contest.kinds.join(", ")
            ),
        ));
    }
    let limit = limit_for(contest, detected.kind);
    if row.upload_length > limit {
        return Err(too_large(detected.kind, limit));
    }
    Ok(detected)
}

pub fn limit_for(contest: &hoithi_core::contest::Contest, kind: Kind) -> i64 {
    match kind {
        Kind::Photo => contest.max_photo_bytes,
        Kind::Video => contest.max_video_bytes,
    }
}

pub fn too_large(kind: Kind, limit: i64) -> ApiError {
    err(
        413,
        "upload-too-large",
        format!(
            "a {} in this contest may be at most {:.1} MiB",
            kind.as_str(),
            limit as f64 / 1048576.0
        ),
    )
}

/// Refuses an upload: marks it, then removes what was stored.
pub async fn refuse(st: &AppState, row: &UploadRow) {
    if let Err(e) = repo::set_status(&st.db, row.upload_id, "refused").await {
        tracing::warn!(error = %e, upload_id = %row.upload_id, "cannot mark an upload refused");
        return;
    }
    cleanup(st, row.upload_id).await;
}

/// Removes the temporary storage of a dead upload (refused, terminated, expired).
pub async fn cleanup(st: &AppState, upload_id: Uuid) {
    let row = match repo::by_id(&st.db, upload_id).await {
        Ok(Some(r)) => r,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(error = %e, %upload_id, "cannot read an upload to clean it up");
            return;
        }
    };
    match store::discard(
        &st.storage,
        upload_id,
        &row.object_key,
        row.s3_upload_id.as_deref(),
    )
    .await
    {
        Ok(()) => {
            if let Err(e) = repo::mark_cleaned(&st.db, upload_id).await {
                tracing::warn!(error = %e, %upload_id, "cannot mark an upload cleaned");
            }
        }
        // The sweep tries again later.
        Err(e) => tracing::warn!(error = format!("{e:#}"), %upload_id, "cannot clean up an upload"),
    }
}

/// Appends `body` at `row.upload_offset` under the lease `token`; returns the new state.
/// A dropped connection keeps what arrived (unless a checksum was sent: then the chunk is
/// discarded, as tus requires).
pub async fn append(
    st: &AppState,
    row: UploadRow,
    token: Uuid,
    body: Body,
    checksum: Option<Checksum>,
) -> Result<UploadRow, ApiError> {
    let mut stream = body.into_data_stream();
    let _active = ActiveUpload::new();
    let result = append_stream(st, row, token, &mut stream, checksum).await;
    if result.is_err() {
        drain(&mut stream).await;
    }
    result
}

/// One PATCH in progress in `hoithi_uploads_active`; a guard, so a request dropped mid-way
/// (the client went away) is uncounted too.
struct ActiveUpload;

impl ActiveUpload {
    fn new() -> Self {
        hoithi_core::metrics::METRICS.uploads_active.inc();
        Self
    }
}

impl Drop for ActiveUpload {
    fn drop(&mut self) {
        hoithi_core::metrics::METRICS.uploads_active.dec();
    }
}

/// Bytes of a refused body read and dropped, so that the client (still sending) reads the
/// answer instead of a broken pipe; past this the connection is closed.
const DRAIN_LIMIT: usize = 16 * 1024 * 1024;

pub async fn drain(stream: &mut BodyDataStream) {
    let _ = tokio::time::timeout(Duration::from_secs(10), async {
        let mut n = 0;
        while let Some(Ok(chunk)) = stream.next().await {
            n += chunk.len();
            if n > DRAIN_LIMIT {
                break;
            }
        }
    })
    .await;
}

async fn append_stream(
    st: &AppState,
    mut row: UploadRow,
    token: Uuid,
    stream: &mut BodyDataStream,
    checksum: Option<Checksum>,
) -> Result<UploadRow, ApiError> {
    let s3 = &st.storage;
    let id = row.upload_id;
    let mut buf = BytesMut::with_capacity(PART_SIZE);
    let old_tail = row.tail_key.clone();
    if let Some(key) = &old_tail {
        let tail = store::get(s3, key).await?;
        if tail.len() as i64 != row.upload_offset - row.parts_bytes {
            return Err(ApiError::internal(anyhow::anyhow!(
                "upload {id}: the tail object has {} bytes, the database says {}",
                tail.len(),
                row.upload_offset - row.parts_bytes
            )));
        }
        buf.extend_from_slice(&tail);
    }
    let mut sha = ResumableSha256::from_bytes(row.sha256_state.as_deref(), row.parts_bytes as u64)
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("upload {id}: bad digest state")))?;
    let mut parts_bytes = row.parts_bytes;
    // Parts stored but not yet recorded: with a checksum nothing is recorded before it matches.
    let mut unrecorded: Vec<(i32, String, i64)> = Vec::new();
    let mut tail_obsolete = false;
    let remaining = row.upload_length - row.upload_offset;
    let mut received: i64 = 0;
    let mut hasher = checksum.as_ref().map(Checksum::hasher);
    let mut contest = None;
    let mut cut = false;
    let mut last_renew = Instant::now();
    let mut inflight: Option<InFlight> = None;

    loop {
        let mut chunk = match tokio::time::timeout(IDLE, stream.next()).await {
            Ok(Some(Ok(c))) => c,
            Ok(None) => break,
            Ok(Some(Err(_))) | Err(_) => {
                cut = true;
                break;
            }
        };
        if received + chunk.len() as i64 > remaining {
            return Err(err(
                413,
                "upload-length-exceeded",
                format!(
                    "this request carries more bytes than the {} left of Upload-Length",
                    remaining
                ),
            ));
        }
        received += chunk.len() as i64;
        hoithi_core::metrics::METRICS
            .upload_bytes
            .inc_by(chunk.len() as u64);
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        if last_renew.elapsed() >= renew_every() {
            if !repo::renew(&st.db, id, token).await? {
                return Err(not_recorded(st, id).await);
            }
            last_renew = Instant::now();
        }
        while !chunk.is_empty() {
            let take = (PART_SIZE - buf.len()).min(chunk.len());
            buf.extend_from_slice(&chunk.split_to(take));
            if row.kind.is_none() && parts_bytes == 0 {
                let have = buf.len() as i64;
                if have >= SNIFF_BYTES as i64 || have == row.upload_length {
                    sniff_now(st, &mut row, &buf, &mut contest).await?;
                }
            }
            let is_last_part = parts_bytes + PART_SIZE as i64 >= row.upload_length;
            if buf.len() == PART_SIZE && !is_last_part {
                let part = std::mem::replace(&mut buf, BytesMut::with_capacity(PART_SIZE)).freeze();
                sha.update_blocks(&part);
                let part_number = (parts_bytes / PART_SIZE as i64 + 1) as i32;
                let s3_id = ensure_multipart(st, &mut row, token).await?;
                // At most one part travels to S3 while the next one fills: two part buffers
                // per request, and the client is not stalled for each part's round trip.
                if let Some(prev) = inflight.take() {
                    settle(
                        st,
                        &mut row,
                        token,
                        prev,
                        checksum.is_none(),
                        &mut unrecorded,
                    )
                    .await?;
                    tail_obsolete |= checksum.is_none();
                    last_renew = Instant::now();
                }
                parts_bytes += PART_SIZE as i64;
                let (s3c, key) = (s3.clone(), row.object_key.clone());
                inflight = Some(InFlight {
                    handle: tokio::spawn(async move {
                        store::upload_part(&s3c, &key, &s3_id, part_number, part).await
                    }),
                    part_number,
                    parts_bytes,
                    sha: sha.to_bytes(),
                });
            }
        }
    }
    if let Some(prev) = inflight.take() {
        settle(
            st,
            &mut row,
            token,
            prev,
            checksum.is_none(),
            &mut unrecorded,
        )
        .await?;
        tail_obsolete |= checksum.is_none();
    }

    if let (Some(c), Some(h)) = (&checksum, hasher) {
        if cut || h.finish() != c.expected {
            // Parts uploaded by this request were not recorded; the next PATCH overwrites them.
            return Err(err(
                460,
                "checksum-mismatch",
                "the chunk does not match its Upload-Checksum; it was discarded, send it again",
            ));
        }
    }

    let new_offset = parts_bytes + buf.len() as i64;
    let complete = new_offset == row.upload_length;
    if complete && row.kind.is_none() {
        sniff_now(st, &mut row, &buf, &mut contest).await?;
    }
    let mut tx_parts = unrecorded;
    let (tail_key, sha256) = if complete {
        let data = buf.split().freeze();
        let digest = sha.clone().finalize(&data);
        let part_number = (parts_bytes / PART_SIZE as i64 + 1) as i32;
        let s3_id = ensure_multipart(st, &mut row, token).await?;
        let len = data.len() as i64;
        if len > 0 || part_number == 1 {
            let etag = store::upload_part(s3, &row.object_key, &s3_id, part_number, data).await?;
            tx_parts.push((part_number, etag, len.max(1)));
        }
        (None, Some(hex::encode(digest)))
    } else if buf.is_empty() {
        (None, None)
    } else if received == 0 && !tail_obsolete {
        // Nothing new arrived; the old tail still holds the bytes.
        (old_tail.clone(), None)
    } else {
        let key = store::new_tail_key(id);
        store::put(s3, &key, buf.split().freeze()).await?;
        (Some(key), None)
    };
    let final_parts_bytes = if complete {
        row.upload_length
    } else {
        parts_bytes
    };
    let mut tx = st.db.begin().await?;
    for (n, etag, bytes) in &tx_parts {
        repo::insert_part(&mut *tx, id, *n, etag, *bytes).await?;
    }
    let saved = repo::save_progress(
        &mut *tx,
        id,
        token,
        &Progress {
            upload_offset: new_offset,
            parts_bytes: final_parts_bytes,
            tail_key: tail_key.as_deref(),
            sha256_state: &sha.to_bytes(),
            sha256: sha256.as_deref(),
        },
    )
    .await?;
    if !saved {
        drop(tx);
        return Err(not_recorded(st, id).await);
    }
    tx.commit().await?;
    if let Some(old) = &old_tail
        && tail_key.as_ref() != Some(old)
        && let Err(e) = store::delete(s3, old).await
    {
        tracing::warn!(error = format!("{e:#}"), upload_id = %id, "cannot delete an old tail; the sweep will");
    }
    if cut {
        tracing::info!(upload_id = %id, offset = new_offset, "the client went away; kept what arrived");
    }
    if complete {
        finish(st, id).await?;
    }
    repo::by_id(&st.db, id)
        .await?
        .ok_or_else(crate::protocol::upload_not_found)
}

/// A part on its way to S3, and what to record once it is there.
struct InFlight {
    handle: tokio::task::JoinHandle<anyhow::Result<String>>,
    part_number: i32,
    /// Bytes in finished parts once this one is stored.
    parts_bytes: i64,
    /// The digest state after this part.
    sha: Vec<u8>,
}

/// Waits for a part to be stored, then records it at once (so a dropped connection loses at
/// most the buffer) or, when the chunk has a checksum still to verify, keeps it for later.
async fn settle(
    st: &AppState,
    row: &mut UploadRow,
    token: Uuid,
    part: InFlight,
    record_now: bool,
    unrecorded: &mut Vec<(i32, String, i64)>,
) -> Result<(), ApiError> {
    let etag = part
        .handle
        .await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("the part upload task failed: {e}")))??;
    if !record_now {
        unrecorded.push((part.part_number, etag, PART_SIZE as i64));
        return Ok(());
    }
    let mut tx = st.db.begin().await?;
    repo::insert_part(
        &mut *tx,
        row.upload_id,
        part.part_number,
        &etag,
        PART_SIZE as i64,
    )
    .await?;
    let saved = repo::save_progress(
        &mut *tx,
        row.upload_id,
        token,
        &Progress {
            upload_offset: part.parts_bytes,
            parts_bytes: part.parts_bytes,
            tail_key: None,
            sha256_state: &part.sha,
            sha256: None,
        },
    )
    .await?;
    if !saved {
        drop(tx);
        return Err(not_recorded(st, row.upload_id).await);
    }
    tx.commit().await?;
    row.upload_offset = part.parts_bytes;
    row.parts_bytes = part.parts_bytes;
    Ok(())
}

async fn sniff_now(
    st: &AppState,
    row: &mut UploadRow,
    head: &[u8],
    contest: &mut Option<hoithi_core::contest::Contest>,
) -> Result<(), ApiError> {
    if contest.is_none() {
        let entry = hoithi_core::contest::entry_by_id(&st.db, row.entry_id)
            .await?
            .ok_or_else(crate::protocol::upload_not_found)?;
        *contest = contest_by_id(&st.db, entry.contest_id).await?;
    }
    let Some(c) = contest.as_ref() else {
        return Err(crate::protocol::upload_not_found());
    };
    match check_kind(row, head, c) {
        Ok(d) => {
            repo::set_kind(&st.db, row.upload_id, d.kind.as_str(), d.content_type).await?;
            row.kind = Some(d.kind.as_str().to_owned());
            row.content_type = Some(d.content_type.to_owned());
            Ok(())
        }
        Err(e) => {
            refuse(st, row).await;
            Err(e)
        }
    }
}

async fn ensure_multipart(
    st: &AppState,
    row: &mut UploadRow,
    token: Uuid,
) -> Result<String, ApiError> {
    if let Some(id) = &row.s3_upload_id {
        return Ok(id.clone());
    }
    let content_type = row
        .content_type
        .as_deref()
        .unwrap_or("application/octet-stream");
    let s3_id = store::create_multipart(&st.storage, &row.object_key, content_type).await?;
    if !repo::set_s3_upload_id(&st.db, row.upload_id, token, &s3_id).await? {
        let _ = store::discard(&st.storage, row.upload_id, &row.object_key, Some(&s3_id)).await;
        return Err(lost_lease());
    }
    row.s3_upload_id = Some(s3_id.clone());
    Ok(s3_id)
}

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
    match row.status.as_str() {
        "completed" => return Ok(()),
        "completing" => {}
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

    let mut tx = st.db.begin().await?;
    // Entry first, then upload: the order creation takes them in, so the two cannot deadlock.
    let entry_status: Option<String> =
        sqlx::query_scalar("select status::text from entry where entry_id = $1 for update")
            .bind(row.entry_id)
            .fetch_optional(&mut *tx)
            .await?;
    let Some(row) = repo::by_id_for_update(&mut tx, id).await? else {
        return Err(crate::protocol::upload_not_found());
    };
    match row.status.as_str() {
        "completed" => return Ok(()),
        "completing" => {}
        other => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "upload {id} was ended ({other}) while it was being finished"
            )));
        }
    }
    if entry_status.as_deref() != Some("uploading") {
        // The entry moved on while the bytes arrived: the file is dropped, never attached.
        repo::set_status(&mut *tx, id, "terminated").await?;
        tx.commit().await?;
        tracing::warn!(upload_id = %id, entry_id = %row.entry_id, entry_status = ?entry_status,
            "an upload finished for an entry that no longer waits for it; its file is dropped");
        cleanup(st, id).await;
        return Err(entry_not_uploading());
    }
    let sha256 = row
        .sha256
        .as_deref()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("upload {id} has no sha256")))?;
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, original_key, original_bytes,
             original_sha256, original_filename, content_type)
         values ($1, $2, $3::media_kind, $4, $5, $6, $7, $8)
         on conflict (media_asset_id) do nothing",
    )
    .bind(row.media_asset_id)
    .bind(row.entry_id)
    .bind(row.kind.as_deref().unwrap_or("video"))
    .bind(&row.object_key)
    .bind(row.upload_length)
    .bind(sha256)
    .bind(row.filename.as_deref())
    .bind(row.content_type.as_deref())
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
    sqlx::query(
        "update entry set status = 'processing', submitted_at = coalesce(submitted_at, now())
         where entry_id = $1 and status = 'uploading'",
    )
    .bind(row.entry_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update upload set status = 'completed', storage_cleaned = true, tail_key = null where upload_id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if let Err(e) = store::delete_temporaries(&st.storage, id).await {
        tracing::warn!(error = format!("{e:#}"), upload_id = %id, "cannot delete temporaries");
    }
    tracing::info!(upload_id = %id, media_asset_id = %row.media_asset_id, bytes = row.upload_length, "upload completed");
    Ok(())
}
