//! SQL of the upload feature: the `upload` row (state and lease) and its `upload_part` ETags.

use chrono::{DateTime, Utc};
use sqlx::{PgExecutor, Postgres, Transaction};
use uuid::Uuid;

use crate::sniff::Kind;

/// How long an upload lives after its creation (tus `expiration`), and never past its
/// contest's cutoff; a PATCH does not push it out.
pub const TTL_HOURS: i64 = 24;

/// True while the upload `u` may take bytes: its entry still waits for a file, and neither the
/// upload's fixed expiry nor its contest's cutoff (submission close plus the grace the
/// organizer set) has passed. Checked in the statements that take, renew and record a PATCH,
/// so a PATCH started before the cutoff cannot record bytes after it.
pub(crate) const OPEN: &str = "(now() < u.expires_at and exists (
    select 1 from entry e join contest c using (contest_id)
    where e.entry_id = u.entry_id and e.status = 'uploading'
      and now() < c.submission_closes_at + make_interval(mins => c.upload_grace_minutes)))";
/// A PATCH holds the upload for this long and renews it while bytes arrive: the default of
/// `config.jobs.upload_lease` (`HOITHI_UPLOAD_LEASE_SECONDS`), which the statements below take.
pub const LEASE_SECONDS: i64 = 60;

/// The lifecycle of an upload (SQL `upload_status`): `Active` takes bytes; the last byte
/// makes it `Completing`, and `finish` makes it `Completed` (its media asset exists). It ends
/// `Expired` (past its time), `Terminated` (cancelled, replaced, or its entry moved on) or
/// `Refused` (a file the contest does not take).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "upload_status", rename_all = "snake_case")]
pub enum UploadStatus {
    Active,
    Completing,
    Completed,
    Expired,
    Terminated,
    Refused,
}

impl UploadStatus {
    /// Every state, in the SQL enum's order.
    #[cfg(test)]
    const ALL: [Self; 6] = [
        Self::Active,
        Self::Completing,
        Self::Completed,
        Self::Expired,
        Self::Terminated,
        Self::Refused,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UploadStatus::Active => "active",
            UploadStatus::Completing => "completing",
            UploadStatus::Completed => "completed",
            UploadStatus::Expired => "expired",
            UploadStatus::Terminated => "terminated",
            UploadStatus::Refused => "refused",
        }
    }
}

impl std::fmt::Display for UploadStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub upload_id: Uuid,
    pub owner_id: i64,
    pub entry_id: Uuid,
    pub media_asset_id: Uuid,
    pub object_key: String,
    pub status: UploadStatus,
    pub upload_length: i64,
    pub upload_offset: i64,
    pub kind: Option<Kind>,
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
        self.status == UploadStatus::Expired
            || (self.status == UploadStatus::Active && self.expires_at <= now)
    }
}

const COLUMNS: &str = "upload_id, owner_id, entry_id, media_asset_id, object_key, status,
    upload_length, upload_offset, kind, content_type, filename, metadata, s3_upload_id,
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

/// Inserts an upload that expires at `min(now + TTL_HOURS, cutoff)`, fixed from then on.
pub async fn insert(
    db: impl PgExecutor<'_>,
    u: &NewUpload<'_>,
    cutoff: DateTime<Utc>,
) -> sqlx::Result<DateTime<Utc>> {
    sqlx::query_scalar(
        "insert into upload (upload_id, owner_id, entry_id, media_asset_id, object_key, upload_length,
             filename, filetype, metadata, expires_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, least(now() + make_interval(hours => $10), $11))
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
    .bind(cutoff)
    .fetch_one(db)
    .await
}

/// Why an upload may or may not take bytes now, read with the database's clock.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Gate {
    pub entry_status: String,
    pub expires_at: DateTime<Utc>,
    /// Submission close plus the contest's grace.
    pub cutoff: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

impl Gate {
    /// The time tus reports in `Upload-Expires`: the earlier of the two limits.
    pub fn expires(&self) -> DateTime<Utc> {
        self.expires_at.min(self.cutoff)
    }
}

pub async fn gate(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Gate>> {
    sqlx::query_as(
        "select e.status::text as entry_status, u.expires_at,
                c.submission_closes_at + make_interval(mins => c.upload_grace_minutes) as cutoff,
                now() as now
         from upload u join entry e using (entry_id) join contest c using (contest_id)
         where u.upload_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Takes the lease of an active upload; `None` when another request holds it.
pub async fn lease(
    db: impl PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
    lease: std::time::Duration,
) -> sqlx::Result<Option<UploadRow>> {
    sqlx::query_as(&format!(
        "update upload set lock_token = $2, locked_until = now() + make_interval(secs => $3)
         where upload_id = $1 and (lock_token is null or locked_until < now())
         returning {COLUMNS}"
    ))
    .bind(id)
    .bind(token)
    .bind(lease.as_secs_f64())
    .fetch_optional(db)
    .await
}

/// Extends the lease; false when it was lost (expired and taken by another request) or the
/// upload may no longer take bytes (`OPEN`).
pub async fn renew(
    db: impl PgExecutor<'_>,
    id: Uuid,
    token: Uuid,
    lease: std::time::Duration,
) -> sqlx::Result<bool> {
    let n = sqlx::query(&format!(
        "update upload u set locked_until = now() + make_interval(secs => $3)
         where upload_id = $1 and lock_token = $2 and {OPEN}"
    ))
    .bind(id)
    .bind(token)
    .bind(lease.as_secs_f64())
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
    kind: Kind,
    content_type: &str,
) -> sqlx::Result<()> {
    sqlx::query("update upload set kind = $2, content_type = $3 where upload_id = $1")
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

/// The number the upload's next part gets: one after the highest recorded (parts differ in
/// size, so it cannot be derived from the bytes stored).
pub async fn next_part_number(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "select coalesce(max(part_number), 0) + 1 from upload_part where upload_id = $1",
    )
    .bind(id)
    .fetch_one(db)
    .await
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
    // expires_at stays as set at creation; bytes are recorded only while the upload is OPEN
    // (spelled out: a compile-checked statement takes one literal; a test holds it to OPEN).
    let n = sqlx::query!(
        "update upload u set upload_offset = $3, parts_bytes = $4, tail_key = $5, sha256_state = $6,
             sha256 = coalesce($7, sha256),
             status = case when $7::text is null then status else 'completing' end
         where upload_id = $1 and lock_token = $2 and status = 'active' and (now() < u.expires_at and exists (
    select 1 from entry e join contest c using (contest_id)
    where e.entry_id = u.entry_id and e.status = 'uploading'
      and now() < c.submission_closes_at + make_interval(mins => c.upload_grace_minutes)))",
        id,
        token,
        p.upload_offset,
        p.parts_bytes,
        p.tail_key,
        p.sha256_state,
        p.sha256,
    )
    .execute(db)
    .await?
    .rows_affected();
    Ok(n == 1)
}

pub async fn set_status(
    db: impl PgExecutor<'_>,
    id: Uuid,
    status: UploadStatus,
) -> sqlx::Result<()> {
    sqlx::query("update upload set status = $2 where upload_id = $1")
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

#[cfg(test)]
mod tests {
    use super::UploadStatus;

    /// The Rust states are the SQL enum's, value for value.
    #[test]
    fn the_upload_states_are_the_sql_enum() {
        let sql = include_str!("../../../migrations/20261130000010_upload.sql");
        let values =
            hoithi_core::media::sql_enum_values(sql, "upload_status").expect("upload_status");
        let ours: Vec<String> = UploadStatus::ALL.map(|s| s.as_str().to_owned()).to_vec();
        assert_eq!(values, ours);
    }
    /// The offset update spells `OPEN` out (a `query!` takes one literal): the same text.
    #[test]
    fn the_compile_checked_offset_update_keeps_the_open_rule() {
        let source = include_str!("repo.rs");
        let start = source
            .find("let n = sqlx::query!(")
            .expect("the offset update");
        let statement = &source[start..];
        let statement = &statement[..statement.find("\",").expect("its end")];
        assert!(
            statement.contains(&format!("and {}", super::OPEN)),
            "{statement}"
        );
    }
}
