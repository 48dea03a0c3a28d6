//! Contests and entries as every role sees them: the rules an upload, a job or a page checks.
//! The organizer's forms and the phase logic live in the web crate.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Contest {
    pub contest_id: i64,
    pub slug: String,
    pub title: String,
    pub unit_id: Option<i64>,
    pub kinds: Vec<String>,
    pub submission_opens_at: DateTime<Utc>,
    pub submission_closes_at: DateTime<Utc>,
    pub max_photo_bytes: i64,
    pub max_video_bytes: i64,
    pub max_video_seconds: i32,
    pub max_entries_per_member: i32,
    pub requires_moderation: bool,
    pub blind_judging: bool,
    /// Minutes after `submission_closes_at` during which an upload already started may still
    /// send bytes (0 to 1440; the rules page shows it).
    pub upload_grace_minutes: i32,
}

impl Contest {
    pub fn submission_open_at(&self, now: DateTime<Utc>) -> bool {
        self.submission_opens_at <= now && now < self.submission_closes_at
    }

    /// The last moment an upload of this contest accepts bytes: close plus the grace.
    pub fn upload_cutoff(&self) -> DateTime<Utc> {
        self.submission_closes_at + chrono::Duration::minutes(i64::from(self.upload_grace_minutes))
    }

    pub fn allows(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }
}

const CONTEST_COLUMNS: &str = "contest_id, slug, title, unit_id, kinds, submission_opens_at, submission_closes_at,
    max_photo_bytes, max_video_bytes, max_video_seconds, max_entries_per_member, requires_moderation, blind_judging, upload_grace_minutes";

pub async fn contest_by_id(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<Contest>> {
    sqlx::query_as(&format!(
        "select {CONTEST_COLUMNS} from contest where contest_id = $1"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

/// The contest of entry `entry_id` as its uploads see it: when the entry is in a category,
/// the category's kinds, and its limits where it sets them (the contest's elsewhere); a
/// photo series (bộ ảnh) takes photos only.
pub async fn contest_for_entry(
    db: impl PgExecutor<'_>,
    entry_id: Uuid,
) -> sqlx::Result<Option<Contest>> {
    sqlx::query_as(
        "select c.contest_id, c.slug, c.title, c.unit_id,
            case when e.photo_series then array['photo'] else coalesce(k.kinds, c.kinds) end as kinds,
            c.submission_opens_at, c.submission_closes_at,
            coalesce(k.max_photo_bytes, c.max_photo_bytes) as max_photo_bytes,
            coalesce(k.max_video_bytes, c.max_video_bytes) as max_video_bytes,
            coalesce(k.max_video_seconds, c.max_video_seconds) as max_video_seconds,
            coalesce(k.max_entries_per_member, c.max_entries_per_member) as max_entries_per_member,
            c.requires_moderation, c.blind_judging, c.upload_grace_minutes
         from entry e join contest c on c.contest_id = e.contest_id
         left join contest_category k on k.category_id = e.category_id
         where e.entry_id = $1",
    )
    .bind(entry_id)
    .fetch_optional(db)
    .await
}

pub async fn contest_by_slug(db: impl PgExecutor<'_>, slug: &str) -> sqlx::Result<Option<Contest>> {
    sqlx::query_as(&format!(
        "select {CONTEST_COLUMNS} from contest where slug = $1"
    ))
    .bind(slug)
    .fetch_optional(db)
    .await
}

/// Where an entry is in its life: the SQL enum `entry_status`, the same set (a test in the
/// web crate's `domain::entries::lifecycle` compares the two). Who may move an entry from
/// which status to which is written down once, in that module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, sqlx::Type)]
#[sqlx(type_name = "entry_status", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum EntryStatus {
    Draft,
    Uploading,
    Processing,
    PendingReview,
    Approved,
    Rejected,
    Withdrawn,
}

impl EntryStatus {
    /// Every status, in the order of the lifecycle.
    pub const ALL: [Self; 7] = [
        Self::Draft,
        Self::Uploading,
        Self::Processing,
        Self::PendingReview,
        Self::Approved,
        Self::Rejected,
        Self::Withdrawn,
    ];

    /// The SQL and JSON name (`pending_review`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Uploading => "uploading",
            Self::Processing => "processing",
            Self::PendingReview => "pending_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl std::fmt::Display for EntryStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Entry {
    pub entry_id: Uuid,
    pub contest_id: i64,
    pub author_id: i64,
    pub title: String,
    pub description: String,
    pub status: EntryStatus,
    pub reason: Option<String>,
}

pub async fn entry_by_id(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<Entry>> {
    sqlx::query_as(
        "select entry_id, contest_id, author_id, title, description, status, reason from entry where entry_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// A contest as fixtures and the organizer's form create it: the required fields; the rest
/// take the schema's defaults.
pub struct NewContest<'a> {
    pub slug: &'a str,
    pub title: &'a str,
    pub unit_id: Option<i64>,
    pub kinds: &'a [&'a str],
    pub submission_opens_at: DateTime<Utc>,
    pub submission_closes_at: DateTime<Utc>,
    pub created_by: Option<i64>,
}

pub async fn create_contest(db: impl PgExecutor<'_>, c: &NewContest<'_>) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into contest (slug, title, unit_id, kinds, submission_opens_at, submission_closes_at, created_by)
         values ($1, $2, $3, $4, $5, $6, $7) returning contest_id",
    )
    .bind(c.slug)
    .bind(c.title)
    .bind(c.unit_id)
    .bind(c.kinds.iter().map(|k| (*k).to_owned()).collect::<Vec<_>>())
    .bind(c.submission_opens_at)
    .bind(c.submission_closes_at)
    .bind(c.created_by)
    .fetch_one(db)
    .await
}

/// A draft entry: saved before any upload, so a failed upload never loses what was typed.
pub async fn create_draft_entry(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    author_id: i64,
    title: &str,
    description: &str,
) -> sqlx::Result<Uuid> {
    sqlx::query_scalar(
        "insert into entry (contest_id, author_id, title, description) values ($1, $2, $3, $4) returning entry_id",
    )
    .bind(contest_id)
    .bind(author_id)
    .bind(title)
    .bind(description)
    .fetch_one(db)
    .await
}
