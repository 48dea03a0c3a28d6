//! One PATCH body appended to an upload: the bytes fill a part-sized buffer; each full part
//! travels to S3 while the next one fills, and is recorded once stored. What is left at the
//! end becomes a part of its own when S3 accepts one that size (a client's 5, 6 or 8 MiB
//! chunk is one part, with no temporary object to write now and read back on the next
//! PATCH), else the final part or a temporary tail object, recorded in one transaction.

use std::time::{Duration, Instant};

use axum::body::BodyDataStream;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::contest::{Contest, contest_for_entry};
use uuid::Uuid;

use crate::digest::ResumableSha256;
use crate::ending::refuse;
use crate::protocol::{Checksum, ChunkHasher, err};
use crate::repo::{self, Progress, UploadRow};
use crate::rules::{check_kind, lost_lease, not_recorded};
use crate::sniff::SNIFF_BYTES;
use crate::store::{self, MIN_PART, PART_SIZE};

/// A client that sends nothing for this long is treated as gone; what arrived is kept.
const IDLE: Duration = Duration::from_secs(30);

/// The lease is renewed at least this often while bytes arrive (a third of a short lease).
fn renew_every(lease: Duration) -> Duration {
    Duration::from_secs(20).min(lease / 3)
}

/// A part stored in S3 but not yet recorded: (part number, ETag, bytes).
type StoredPart = (i32, String, i64);

/// The state of one PATCH while its body arrives.
struct Append<'a> {
    st: &'a AppState,
    row: UploadRow,
    token: Uuid,
    checksum: Option<Checksum>,
    hasher: Option<ChunkHasher>,
    buf: BytesMut,
    /// The tail object the upload had before this request.
    old_tail: Option<String>,
    sha: ResumableSha256,
    parts_bytes: i64,
    /// The number the next part gets (parts may differ in size, so it is counted, not
    /// derived from `parts_bytes`).
    next_part: i32,
    /// Parts stored but not yet recorded: with a checksum nothing is recorded before it matches.
    unrecorded: Vec<StoredPart>,
    tail_obsolete: bool,
    /// Bytes this request may still carry (what is left of `Upload-Length`).
    remaining: i64,
    received: i64,
    contest: Option<Contest>,
    /// The client went away (or stalled) before the body ended.
    cut: bool,
    last_renew: Instant,
    inflight: Option<InFlight>,
}

/// Appends the body in `stream` at `row.upload_offset` under the lease `token`; returns the
/// new state.
pub async fn append_stream(
    st: &AppState,
    row: UploadRow,
    token: Uuid,
    stream: &mut BodyDataStream,
    checksum: Option<Checksum>,
) -> Result<UploadRow, ApiError> {
    let mut a = Append::start(st, row, token, checksum).await?;
    loop {
        let chunk = match tokio::time::timeout(IDLE, stream.next()).await {
            Ok(Some(Ok(c))) => c,
            Ok(None) => break,
            Ok(Some(Err(_))) | Err(_) => {
                a.cut = true;
                break;
            }
        };
        a.receive(&chunk).await?;
        a.fill(chunk).await?;
    }
    a.settle_inflight().await?;
    a.check_checksum()?;
    a.record().await
}

impl<'a> Append<'a> {
    /// Picks up where the upload stands: the tail object's bytes go back into the buffer.
    async fn start(
        st: &'a AppState,
        row: UploadRow,
        token: Uuid,
        checksum: Option<Checksum>,
    ) -> Result<Self, ApiError> {
        let id = row.upload_id;
        let mut buf = BytesMut::with_capacity(PART_SIZE);
        let old_tail = row.tail_key.clone();
        if let Some(key) = &old_tail {
            let tail = store::get(&st.storage, key).await?;
            if tail.len() as i64 != row.upload_offset - row.parts_bytes {
                return Err(ApiError::internal(anyhow::anyhow!(
                    "upload {id}: the tail object has {} bytes, the database says {}",
                    tail.len(),
                    row.upload_offset - row.parts_bytes
                )));
            }
            buf.extend_from_slice(&tail);
        }
        let sha = ResumableSha256::from_bytes(row.sha256_state.as_deref(), row.parts_bytes as u64)
            .ok_or_else(|| ApiError::internal(anyhow::anyhow!("upload {id}: bad digest state")))?;
        let next_part = if row.parts_bytes == 0 {
            1
        } else {
            repo::next_part_number(&st.db, id).await?
        };
        Ok(Self {
            st,
            parts_bytes: row.parts_bytes,
            next_part,
            remaining: row.upload_length - row.upload_offset,
            hasher: checksum.as_ref().map(Checksum::hasher),
            row,
            token,
            checksum,
            buf,
            old_tail,
            sha,
            unrecorded: Vec::new(),
            tail_obsolete: false,
            received: 0,
            contest: None,
            cut: false,
            last_renew: Instant::now(),
            inflight: None,
        })
    }

    /// Counts a chunk against `Upload-Length` and the checksum, and keeps the lease alive.
    async fn receive(&mut self, chunk: &Bytes) -> Result<(), ApiError> {
        if self.received + chunk.len() as i64 > self.remaining {
            return Err(err(
                413,
                "upload-length-exceeded",
                format!(
                    "this request carries more bytes than the {} left of Upload-Length",
                    self.remaining
                ),
            ));
        }
        self.received += chunk.len() as i64;
        hoithi_core::metrics::METRICS
            .upload_bytes
            .inc_by(chunk.len() as u64);
        if let Some(h) = self.hasher.as_mut() {
            h.update(chunk);
        }
        let lease = self.st.config.jobs.upload_lease;
        if self.last_renew.elapsed() >= renew_every(lease) {
            let id = self.row.upload_id;
            if !repo::renew(&self.st.db, id, self.token, lease).await? {
                return Err(not_recorded(self.st, id).await);
            }
            self.last_renew = Instant::now();
        }
        Ok(())
    }

    /// Moves a chunk into the buffer; sniffs the kind once enough bytes are there, and sends
    /// every full part (but the last) on its way to S3.
    async fn fill(&mut self, mut chunk: Bytes) -> Result<(), ApiError> {
        while !chunk.is_empty() {
            let take = (PART_SIZE - self.buf.len()).min(chunk.len());
            self.buf.extend_from_slice(&chunk.split_to(take));
            if self.row.kind.is_none() && self.parts_bytes == 0 {
                let have = self.buf.len() as i64;
                if have >= SNIFF_BYTES as i64 || have == self.row.upload_length {
                    self.sniff().await?;
                }
            }
            let is_last_part = self.parts_bytes + PART_SIZE as i64 >= self.row.upload_length;
            if self.buf.len() == PART_SIZE && !is_last_part {
                self.ship_part().await?;
            }
        }
        Ok(())
    }

    /// Sends the buffer (a whole number of SHA-256 blocks) as the next part. At most one part
    /// travels to S3 while the next one fills: two part buffers per request, and the client is
    /// not stalled for each part's round trip.
    async fn ship_part(&mut self) -> Result<(), ApiError> {
        let part = std::mem::replace(&mut self.buf, BytesMut::with_capacity(PART_SIZE)).freeze();
        self.sha.update_blocks(&part);
        let part_number = self.next_part;
        let s3_id = ensure_multipart(self.st, &mut self.row, self.token).await?;
        if self.inflight.is_some() {
            self.settle_inflight().await?;
            self.last_renew = Instant::now();
        }
        self.next_part += 1;
        let bytes = part.len() as i64;
        self.parts_bytes += bytes;
        let (s3c, key) = (self.st.storage.clone(), self.row.object_key.clone());
        self.inflight = Some(InFlight {
            handle: tokio::spawn(async move {
                store::upload_part(&s3c, &key, &s3_id, part_number, part).await
            }),
            part_number,
            bytes,
            parts_bytes: self.parts_bytes,
            sha: self.sha.to_bytes(),
        });
        Ok(())
    }

    /// At the end of a request that leaves the upload incomplete: what the buffer holds goes
    /// to S3 as a part of its own when S3 takes it (at least `MIN_PART`, not the last part)
    /// and the digest can be saved after it (whole 64-byte blocks). Then nothing is left for
    /// a tail object.
    async fn ship_rest_as_part(&mut self) -> Result<(), ApiError> {
        let len = self.buf.len();
        if len >= MIN_PART && len.is_multiple_of(64) {
            self.ship_part().await?;
            self.settle_inflight().await?;
        }
        Ok(())
    }

    /// Waits for the part on its way, if any, and records it (see `settle`).
    async fn settle_inflight(&mut self) -> Result<(), ApiError> {
        if let Some(prev) = self.inflight.take() {
            let record_now = self.checksum.is_none();
            settle(
                self.st,
                &mut self.row,
                self.token,
                prev,
                record_now,
                &mut self.unrecorded,
            )
            .await?;
            self.tail_obsolete |= record_now;
        }
        Ok(())
    }

    async fn sniff(&mut self) -> Result<(), ApiError> {
        sniff_now(self.st, &mut self.row, &self.buf, &mut self.contest).await
    }

    /// With `Upload-Checksum`, the whole chunk must have arrived and match it.
    fn check_checksum(&mut self) -> Result<(), ApiError> {
        if let (Some(c), Some(h)) = (&self.checksum, self.hasher.take())
            && (self.cut || h.finish() != c.expected)
        {
            // Parts uploaded by this request were not recorded; the next PATCH overwrites them.
            return Err(err(
                460,
                "checksum-mismatch",
                "the chunk does not match its Upload-Checksum; it was discarded, send it again",
            ));
        }
        Ok(())
    }

    /// Stores what is left in the buffer: the last part when the upload is complete, else a
    /// new tail object (or the old one, when nothing new arrived). Returns the tail's key and,
    /// when complete, the file's SHA-256.
    async fn store_rest(
        &mut self,
        complete: bool,
        parts: &mut Vec<StoredPart>,
    ) -> Result<(Option<String>, Option<String>), ApiError> {
        if complete {
            let data = self.buf.split().freeze();
            let digest = self.sha.clone().finalize(&data);
            let part_number = self.next_part;
            let s3_id = ensure_multipart(self.st, &mut self.row, self.token).await?;
            let len = data.len() as i64;
            if len > 0 || part_number == 1 {
                let etag = store::upload_part(
                    &self.st.storage,
                    &self.row.object_key,
                    &s3_id,
                    part_number,
                    data,
                )
                .await?;
                parts.push((part_number, etag, len.max(1)));
            }
            Ok((None, Some(hex::encode(digest))))
        } else if self.buf.is_empty() {
            Ok((None, None))
        } else if self.received == 0 && !self.tail_obsolete {
            // Nothing new arrived; the old tail still holds the bytes.
            Ok((self.old_tail.clone(), None))
        } else {
            let key = store::new_tail_key(self.row.upload_id);
            store::put(&self.st.storage, &key, self.buf.split().freeze()).await?;
            Ok((Some(key), None))
        }
    }

    /// Records the new offset (and the parts not yet recorded) in one transaction, then
    /// finishes a complete upload. Returns the upload as stored.
    async fn record(mut self) -> Result<UploadRow, ApiError> {
        let st = self.st;
        let id = self.row.upload_id;
        let new_offset = self.parts_bytes + self.buf.len() as i64;
        let complete = new_offset == self.row.upload_length;
        if complete && self.row.kind.is_none() {
            self.sniff().await?;
        }
        if !complete {
            self.ship_rest_as_part().await?;
        }
        // Every byte already recorded with the last part's settle (no checksum to wait for,
        // nothing after it): the same progress would be saved again.
        if !complete && self.buf.is_empty() && self.unrecorded.is_empty() && self.tail_obsolete {
            return self.after_record(None, false).await;
        }
        let mut parts = std::mem::take(&mut self.unrecorded);
        let (tail_key, sha256) = self.store_rest(complete, &mut parts).await?;
        let mut tx = st.db.begin().await?;
        for (n, etag, bytes) in &parts {
            repo::insert_part(&mut *tx, id, *n, etag, *bytes).await?;
        }
        let progress = Progress {
            upload_offset: new_offset,
            parts_bytes: if complete {
                self.row.upload_length
            } else {
                self.parts_bytes
            },
            tail_key: tail_key.as_deref(),
            sha256_state: &self.sha.to_bytes(),
            sha256: sha256.as_deref(),
        };
        if !repo::save_progress(&mut *tx, id, self.token, &progress).await? {
            drop(tx);
            return Err(not_recorded(st, id).await);
        }
        tx.commit().await?;
        self.after_record(tail_key, complete).await
    }

    /// What follows a recorded append: the old tail object deleted (when replaced), a complete
    /// upload finished. Returns the upload as stored.
    async fn after_record(
        self,
        tail_key: Option<String>,
        complete: bool,
    ) -> Result<UploadRow, ApiError> {
        let (st, id) = (self.st, self.row.upload_id);
        let new_offset = self.parts_bytes + self.buf.len() as i64;
        if let Some(old) = &self.old_tail
            && tail_key.as_ref() != Some(old)
            && let Err(e) = store::delete(&st.storage, old).await
        {
            tracing::warn!(error = format!("{e:#}"), upload_id = %id, "cannot delete an old tail; the sweep will");
        }
        if self.cut {
            tracing::info!(upload_id = %id, offset = new_offset, "the client went away; kept what arrived");
        }
        if complete {
            crate::finish::finish(st, id).await?;
        }
        repo::by_id(&st.db, id)
            .await?
            .ok_or_else(crate::protocol::upload_not_found)
    }
}

/// A part on its way to S3, and what to record once it is there.
struct InFlight {
    handle: tokio::task::JoinHandle<anyhow::Result<String>>,
    part_number: i32,
    /// Bytes in this part.
    bytes: i64,
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
        unrecorded.push((part.part_number, etag, part.bytes));
        return Ok(());
    }
    let mut tx = st.db.begin().await?;
    repo::insert_part(&mut *tx, row.upload_id, part.part_number, &etag, part.bytes).await?;
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
        // The entry's category, when it has one, sets the kinds and limits.
        *contest = contest_for_entry(&st.db, row.entry_id).await?;
    }
    let Some(c) = contest.as_ref() else {
        return Err(crate::protocol::upload_not_found());
    };
    match check_kind(row, head, c) {
        Ok(d) => {
            repo::set_kind(&st.db, row.upload_id, d.kind, d.content_type).await?;
            row.kind = Some(d.kind);
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
