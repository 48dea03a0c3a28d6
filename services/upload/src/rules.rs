//! The rules of an upload told to the client: when it may take bytes, which kinds and sizes a
//! contest takes, and the tus errors that say why not.

use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use uuid::Uuid;

use crate::protocol::err;
use crate::repo::{self, Gate, UploadRow};
use crate::sniff::{self, Kind};

pub(crate) fn lost_lease() -> ApiError {
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

pub(crate) fn entry_not_uploading() -> ApiError {
    err(
        410,
        "entry-not-uploading",
        "this entry no longer waits for a file (it was submitted, withdrawn or reviewed); this upload cannot go on",
    )
}

/// The answer when a statement guarded by the lease and `repo::OPEN` changed nothing.
pub(crate) async fn not_recorded(st: &AppState, id: Uuid) -> ApiError {
    match repo::gate(&st.db, id).await {
        Ok(Some(g)) => closed(&g).unwrap_or_else(lost_lease),
        Ok(None) => crate::protocol::upload_not_found(),
        Err(e) => e.into(),
    }
}

/// Why sniffed content cannot go on; the upload is refused and its bytes removed.
pub(crate) fn check_kind(
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
