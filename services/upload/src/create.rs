//! tus creation (POST, creation-with-upload): the request's headers and metadata are read and
//! checked, then the entry and its contest, then the upload is recorded with the entry row
//! locked, and the first bytes, if sent along, are appended.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::{Contest, EntryStatus, contest_for_entry, entry_by_id};
use hoithi_core::entry_lifecycle::{self, Actor};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::http::{BASE_PATH, MAX_SIZE, drain_unread, finish_response, http_date, run_append, set};
use crate::protocol::{self, err};
use crate::sniff::Kind;
use crate::{ending, repo, rules};

#[utoipa::path(
    post,
    path = "/api/v1/uploads",
    operation_id = "create_upload",
    summary = "tus 1.0 creation (and creation-with-upload); Upload-Metadata has entry_id, filename, filetype. One live upload per entry: while one is unfinished another is refused (409 upload-in-progress; DELETE the older one, or let it expire). Refusals: entry-not-found (404), entry-not-draft (409), upload-in-progress (409), submission-closed (403, after the submission close). Upload-Expires is fixed at creation: the earlier of 24 hours later and the contest's submission close plus its upload_grace_minutes",
    security(("bearer" = [])),
    params(
        ("Tus-Resumable" = crate::TusVersion, Header, description = "the tus protocol version; 412 when missing or another"),
        ("Upload-Length" = i64, Header, minimum = 0, maximum = 999_999_999_999_999_999_i64, description = "the file's size in bytes"),
        ("Upload-Metadata" = Option<String>, Header, nullable = false, description = "comma-separated `key base64value` pairs: entry_id (required), filename, filetype; 400 when malformed"),
    ),
    responses(
        (status = 201, description = "Location of the upload"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 412, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 413, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 415, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    user: Result<CurrentUser, ApiError>,
    body: Body,
) -> Response {
    let mut body = Some(body);
    let result = create_inner(&st, &headers, user, &mut body).await;
    drain_unread(result.is_err(), body).await;
    finish_response(&st, &headers, result)
}

async fn create_inner(
    st: &AppState,
    headers: &HeaderMap,
    user: Result<CurrentUser, ApiError>,
    body: &mut Option<Body>,
) -> Result<Response, ApiError> {
    let user = user?;
    protocol::check_resumable(headers)?;
    let request = Creation::read(headers)?;
    let contest = check_entry(st, &user, &request).await?;
    let (upload_id, expires_at) = record(st, &user, &request, &contest).await?;
    tracing::info!(%upload_id, entry_id = %request.entry_id, length = request.length, "upload created");
    answer(st, headers, body, upload_id, request.length, expires_at).await
}

/// What a creation request asks for, read from its headers.
struct Creation {
    length: i64,
    raw_metadata: String,
    entry_id: Uuid,
    filename: Option<String>,
    filetype: Option<String>,
}

impl Creation {
    fn read(headers: &HeaderMap) -> Result<Self, ApiError> {
        let length = read_length(headers)?;
        let raw_metadata = match headers.get("upload-metadata") {
            None => "",
            Some(v) => v
                .to_str()
                .map_err(|_| err(400, "metadata-invalid", "Upload-Metadata is not text"))?,
        };
        if raw_metadata.len() > 4096 {
            return Err(err(
                400,
                "metadata-invalid",
                "Upload-Metadata is longer than 4096 bytes",
            ));
        }
        let metadata =
            protocol::parse_metadata(raw_metadata).map_err(|m| err(400, "metadata-invalid", m))?;
        let meta = |k: &str| {
            metadata
                .iter()
                .find(|(key, _)| key == k)
                .and_then(|(_, v)| v.clone())
        };
        let entry_id = meta("entry_id").ok_or_else(|| {
            err(
                400,
                "entry-id-missing",
                "Upload-Metadata must name the entry (entry_id)",
            )
        })?;
        let entry_id = Uuid::parse_str(entry_id.trim())
            .map_err(|_| err(400, "entry-id-invalid", "entry_id is not an entry id"))?;
        Ok(Self {
            length,
            raw_metadata: raw_metadata.to_owned(),
            entry_id,
            filename: meta("filename").and_then(|f| protocol::clean_filename(&f)),
            filetype: meta("filetype").map(|t| t.chars().take(255).collect::<String>()),
        })
    }
}

/// `Upload-Length`, required and at most `MAX_SIZE`; deferred lengths and concatenation are
/// not supported.
fn read_length(headers: &HeaderMap) -> Result<i64, ApiError> {
    if headers.contains_key("upload-defer-length") {
        return Err(err(
            400,
            "defer-length-unsupported",
            "the size must be known when the upload starts (send Upload-Length)",
        ));
    }
    if headers.contains_key("upload-concat") {
        return Err(err(
            400,
            "concatenation-unsupported",
            "tus concatenation is not supported",
        ));
    }
    let length = protocol::number(headers, "upload-length")
        .map_err(|m| err(400, "upload-length-invalid", m))?
        .ok_or_else(|| {
            err(
                400,
                "upload-length-missing",
                "send the file size in Upload-Length",
            )
        })?;
    if length > MAX_SIZE {
        return Err(err(
            413,
            "upload-too-large",
            format!("no file may be larger than {} GiB", MAX_SIZE >> 30),
        ));
    }
    Ok(length)
}

fn entry_not_found() -> ApiError {
    err(
        404,
        "entry-not-found",
        "this entry does not exist or is not yours",
    )
}

fn entry_not_draft() -> ApiError {
    err(
        409,
        "entry-not-draft",
        "this entry was already submitted; its file cannot be replaced",
    )
}

/// The caller's entry still waits for a file, its contest takes entries now, and the declared
/// size fits the contest's limit. Returns the contest.
async fn check_entry(
    st: &AppState,
    user: &CurrentUser,
    request: &Creation,
) -> Result<Contest, ApiError> {
    let entry = entry_by_id(&st.db, request.entry_id)
        .await?
        .filter(|e| e.author_id == user.app_user_id)
        .ok_or_else(entry_not_found)?;
    if !matches!(entry.status, EntryStatus::Draft | EntryStatus::Uploading) {
        return Err(entry_not_draft());
    }
    // The entry's category, when it has one, sets the kinds and limits.
    let contest = contest_for_entry(&st.db, entry.entry_id)
        .await?
        .ok_or_else(|| {
            err(
                404,
                "entry-not-found",
                "this entry's contest no longer exists",
            )
        })?;
    if !contest.submission_open_at(Utc::now()) {
        return Err(err(
            403,
            "submission-closed",
            "this contest is not accepting entries now",
        ));
    }
    // Until bytes are sniffed the declared type only picks the limit; it proves nothing.
    let declared = request.filetype.as_deref().and_then(Kind::from_mime);
    let limit = match declared {
        Some(kind) if contest.allows(kind.as_str()) => rules::limit_for(&contest, kind),
        _ => contest
            .kinds
            .iter()
            .filter_map(|k| Kind::parse(k))
            .map(|k| rules::limit_for(&contest, k))
            .max()
            .unwrap_or(0),
    };
    if request.length > limit {
        let kind = declared.unwrap_or(Kind::Video);
        return Err(rules::too_large(kind, limit));
    }
    Ok(contest)
}

/// Records the upload and moves its entry to `uploading`, in one transaction with the entry
/// row locked. Returns the upload's id and expiry.
async fn record(
    st: &AppState,
    user: &CurrentUser,
    request: &Creation,
    contest: &Contest,
) -> Result<(Uuid, DateTime<Utc>), ApiError> {
    let entry_id = request.entry_id;
    let upload_id = Uuid::new_v4();
    let media_asset_id = Uuid::new_v4();
    let object_key = hoithi_core::media::original_key(media_asset_id);
    let mut tx = st.db.begin().await?;
    let freed = lock_entry(&mut tx, user, entry_id).await?;
    let inserted = repo::insert(
        &mut *tx,
        &repo::NewUpload {
            upload_id,
            owner_id: user.app_user_id,
            entry_id,
            media_asset_id,
            object_key: &object_key,
            upload_length: request.length,
            filename: request.filename.as_deref(),
            filetype: request.filetype.as_deref(),
            metadata: &request.raw_metadata,
        },
        contest.upload_cutoff(),
    )
    .await;
    let expires_at = match inserted {
        Ok(t) => t,
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("upload_one_live_per_entry") => {
            return Err(upload_in_progress());
        }
        Err(e) => return Err(e.into()),
    };
    let to = EntryStatus::Uploading;
    sqlx::query("update entry set status = $2 where entry_id = $1 and status = any($3)")
        .bind(entry_id)
        .bind(to)
        .bind(entry_lifecycle::sources(Actor::Upload, to))
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    for old in freed {
        ending::cleanup(st, old).await;
    }
    Ok((upload_id, expires_at))
}

/// Locks the entry row until the upload is recorded, so its status and its uploads are seen
/// as they are, not as they were a moment ago (two creations at once are one after the other
/// here); the partial unique index upload_one_live_per_entry backs this up. Frees the
/// entry's uploads past their time and returns them for cleaning; refuses while a live
/// upload remains.
async fn lock_entry(
    tx: &mut PgConnection,
    user: &CurrentUser,
    entry_id: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    let locked: Option<(i64, EntryStatus)> =
        sqlx::query_as("select author_id, status from entry where entry_id = $1 for update")
            .bind(entry_id)
            .fetch_optional(&mut *tx)
            .await?;
    let status = match locked {
        Some((author, status)) if author == user.app_user_id => status,
        _ => return Err(entry_not_found()),
    };
    if !matches!(status, EntryStatus::Draft | EntryStatus::Uploading) {
        return Err(entry_not_draft());
    }
    // An upload past its time frees the entry at once rather than at the next sweep (one a
    // PATCH is writing is left to that PATCH, which the same rule stops).
    let freed: Vec<Uuid> = sqlx::query_scalar(&format!(
        "update upload u set status = 'expired'
         where entry_id = $1 and status = 'active' and (lock_token is null or locked_until < now())
           and not {}
         returning upload_id",
        repo::OPEN
    ))
    .bind(entry_id)
    .fetch_all(&mut *tx)
    .await?;
    let busy: bool = sqlx::query_scalar(
        "select exists (select 1 from upload where entry_id = $1 and status in ('active', 'completing'))",
    )
    .bind(entry_id)
    .fetch_one(&mut *tx)
    .await?;
    if busy {
        return Err(upload_in_progress());
    }
    check_series_room(tx, entry_id).await?;
    Ok(freed)
}

/// A photo series (bộ ảnh) takes at most its category's `max_series_photos` files, else the
/// contest's; a failed one does not count (the entrant replaces it). Runs with the entry row
/// locked and no live upload left, so two creations at the limit cannot both pass.
async fn check_series_room(tx: &mut PgConnection, entry_id: Uuid) -> Result<(), ApiError> {
    let room: Option<(i32, i64)> = sqlx::query_as(
        "select coalesce(k.max_series_photos, c.max_series_photos),
                (select count(*) from media_asset m where m.entry_id = e.entry_id and m.status <> 'failed')
         from entry e join contest c using (contest_id)
         left join contest_category k on k.category_id = e.category_id
         where e.entry_id = $1 and e.photo_series",
    )
    .bind(entry_id)
    .fetch_optional(&mut *tx)
    .await?;
    match room {
        Some((max, have)) if have >= i64::from(max) => Err(series_full(max)),
        _ => Ok(()),
    }
}

/// 409 with `series-full`: the series already has as many photos as its category (or the
/// contest) takes.
fn series_full(max: i32) -> ApiError {
    err(
        409,
        "series-full",
        format!("this series already has {max} photos, the most this contest takes"),
    )
}

/// 201 with the upload's location; with creation-with-upload, the body is appended first.
async fn answer(
    st: &AppState,
    headers: &HeaderMap,
    body: &mut Option<Body>,
    upload_id: Uuid,
    length: i64,
    expires_at: DateTime<Utc>,
) -> Result<Response, ApiError> {
    let location = format!("{BASE_PATH}/{upload_id}");
    let with_data = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(protocol::OFFSET_CONTENT_TYPE));
    let mut resp = StatusCode::CREATED.into_response();
    set(&mut resp, "location", &location);
    if with_data {
        let checksum = protocol::parse_checksum(headers)?;
        let declared = protocol::number(headers, "content-length")
            .map_err(|m| err(400, "content-length-invalid", m))?;
        if declared.is_some_and(|n| n > length) {
            return Err(err(
                413,
                "upload-length-exceeded",
                "the request carries more bytes than Upload-Length",
            ));
        }
        let row = run_append(st, upload_id, 0, body.take().unwrap_or_default(), checksum).await?;
        set(&mut resp, "upload-offset", &row.upload_offset.to_string());
        set(&mut resp, "upload-expires", &http_date(row.expires_at));
    } else {
        set(&mut resp, "upload-expires", &http_date(expires_at));
    }
    Ok(resp)
}

/// 409 with `upload-in-progress`: the entry already has a live upload.
fn upload_in_progress() -> ApiError {
    err(
        409,
        "upload-in-progress",
        "another upload of this entry is in progress; finish it, or cancel it (DELETE) and start again",
    )
}
