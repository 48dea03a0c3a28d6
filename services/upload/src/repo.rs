//! SQL of the upload feature: the `upload` row (state and lease) and its `upload_part` ETags.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

/// How long an upload lives after its last change; tus `expiration`.
pub const TTL_HOURS: i64 = 24;
/// A PATCH holds the upload for this long and renews it while bytes arrive.
pub const LEASE_SECONDS: i64 = 60;

/// The lease in use: `HOITHI_UPLOAD_LEASE_SECONDS` (1 to 3600) or `LEASE_SECONDS`. A node
/// killed mid-PATCH keeps its upload locked this long, so a resume on another node waits it out.
pub fn lease_seconds() -> f64 {
    static LEASE: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *LEASE.get_or_init(|| {
        std::env::var("HOITHI_UPLOAD_LEASE_SECONDS")
            .ok()
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| (1.0..=3600.0).contains(s))
            .unwrap_or(LEASE_SECONDS as f64)
    })
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub upload_id: Uuid,
    pub owner_id: i64,
    pub entry_id: Uuid,
    pub media_asset_id: Uuid,
    pub object_key: String,
    pub status: String,
    pub upload_length: i64,
    pub upload_offset: i64,
    pub kind: Option<String>,
    pub content_type: Option<String>,
    pub filename: Option<String>,
    pub metadata: String,
    pub s3_upload_id: Option<String>,
    pub parts_bytes: i64,
    pub tail_key: Option<String>,
    pub sha256_state: Option<Vec<u8>>,
    pub sha256: Option<String>,
    pub expires_at: DateTime<Utc>,
}

impl UploadRow {
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.status == "expired" || (self.status == "active" && self.expires_at <= now)
    }
}

const COLUMNS: &str = "upload_id, owner_id, entry_id, media_asset_id, object_key, status::text as status,
    upload_length, upload_offset, kind::text as kind, content_type, filename, metadata, s3_upload_id,
    parts_bytes, tail_key, sha256_state, sha256, expires_at";

pub async fn by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<UploadRow>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from upload where upload_id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

pub async fn by_id_for_update(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> sqlx::Result<Option<UploadRow>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from upload where upload_id = $1 for update"
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

pub struct NewUpload<'a> {
    pub upload_id: Uuid,
    pub owner_id: i64,
    pub entry_id: Uuid,
    pub media_asset_id: Uuid,
    pub object_key: &'a str,
    pub upload_length: i64,
    pub filename: Option<&'a str>,
    pub filetype: Option<&'a str>,
    pub metadata: &'a str,
}

pub async fn insert(db: impl PgExecutor<'_>, u: &NewUpload<'_>) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "insert into upload (upload_id, owner_id, entry_id, media_asset_id, object_key, upload_length,
             filename, filetype, metadata, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, now() + make_interval(hours => $10))
         returning expires_at",
    )
    .bind(u.upload_id)
    .bind(u.owner_id)
    .bind(u.entry_id)
    .bind(u.media_asset_id)
    .bind(u.object_key)
    .bind(u.upload_length)
    .bind(u.filename)
    .bind(u.filetype)
    .bind(u.metadata)
    .bind(TTL_HOURS as i32)
    .fetch_one(db)
    .await
}

/// Takes the lease of an active upload; `None` when another request holds it.
pub async fn lease(
    db: impl PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
) -> sqlx::Result<Option<UploadRow>> {
    sqlx::query_as(&format!(
        "update upload set lock_token = $2, locked_until = now() + make_interval(secs => $3)
         where upload_id = $1 and (lock_token is null or locked_until < now())
         returning {COLUMNS}"
    ))
    .bind(id)
    .bind(token)
    .bind(lease_seconds())
    .fetch_optional(db)
    .await
}

/// Extends the lease; false when it was lost (expired and taken by another request).
pub async fn renew(db: impl PgExecutor<'_>, id: Uuid, token: Uuid) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "update upload set locked_until = now() + make_interval(secs => $3)
         where upload_id = $1 and lock_token = $2",
    )
    .bind(id)
    .bind(token)
    .bind(lease_seconds())
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn release(db: impl PgExecutor<'_>, id: Uuid, token: Uuid) -> sqlx::Result<()> {
    sqlx::query(
        "update upload set lock_token = null, locked_until = null where upload_id = $1 and lock_token = $2",
    )
    .bind(id)
    .bind(token)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn set_s3_upload_id(
    db: impl PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
    s3_upload_id: &str,
) -> sqlx::Result<bool> {
    let n =
        sqlx::query("update upload set s3_upload_id = $3 where upload_id = $1 and lock_token = $2")
            .bind(id)
            .bind(token)
            .bind(s3_upload_id)
            .execute(db)
            .await?
            .rows_affected();
    Ok(n == 1)
}

pub async fn set_kind(
    db: impl PgExecutor<'_>,
    id: Uuid,
    kind: &str,
    content_type: &str,
) -> sqlx::Result<()> {
    sqlx::query("update upload set kind = $2::media_kind, content_type = $3 where upload_id = $1")
        .bind(id)
        .bind(kind)
        .bind(content_type)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn insert_part(
    db: impl PgExecutor<'_>,
    id: Uuid,
    part_number: i32,
    etag: &str,
    bytes: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into upload_part (upload_id, part_number, etag, bytes) values ($1, $2, $3, $4)
         on conflict (upload_id, part_number) do update set etag = excluded.etag, bytes = excluded.bytes",
    )
    .bind(id)
    .bind(part_number)
    .bind(etag)
    .bind(bytes)
    .execute(db)
    .await?;
    Ok(())
}

pub async fn parts(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Vec<(i32, String)>> {
    sqlx::query_as(
        "select part_number, etag from upload_part where upload_id = $1 order by part_number",
    )
    .bind(id)
    .fetch_all(db)
    .await
}

/// The stored state after bytes were appended; false when the lease was lost.
pub struct Progress<'a> {
    pub upload_offset: i64,
    pub parts_bytes: i64,
    pub tail_key: Option<&'a str>,
    pub sha256_state: &'a [u8],
    /// Set on the final byte: the upload moves to `completing`.
    pub sha256: Option<&'a str>,
}

pub async fn save_progress(
    db: impl PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
    p: &Progress<'_>,
) -> sqlx::Result<bool> {
    let n = sqlx::query(
        "update upload set upload_offset = $3, parts_bytes = $4, tail_key = $5, sha256_state = $6,
             sha256 = coalesce($7, sha256),
             status = case when $7::text is null then status else 'completing' end,
             expires_at = now() + make_interval(hours => $8)
         where upload_id = $1 and lock_token = $2 and status = 'active'",
    )
    .bind(id)
    .bind(token)
    .bind(p.upload_offset)
    .bind(p.parts_bytes)
    .bind(p.tail_key)
    .bind(p.sha256_state)
    .bind(p.sha256)
    .bind(TTL_HOURS as i32)
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn set_status(db: impl PgExecutor<'_>, id: Uuid, status: &str) -> sqlx::Result<()> {
    sqlx::query("update upload set status = $2::upload_status where upload_id = $1")
        .bind(id)
        .bind(status)
        .execute(db)
        .await?;
    Ok(())
}

pub async fn mark_cleaned(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<()> {
    sqlx::query("update upload set storage_cleaned = true, tail_key = null where upload_id = $1")
        .bind(id)
        .execute(db)
        .await?;
    Ok(())
}
