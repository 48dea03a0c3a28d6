//! Lists of entries: the moderation queue of a contest (entries waiting for review) and a
//! member's own entries.

use hoithi_core::contest::EntryStatus;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::media::{self, MediaView};
use super::{ENTRY_SQL, EntryRow};

/// Entries on one page of the moderation queue or of a member's own entries.
pub const LIST_PAGE: i64 = 50;

/// An entry in the moderation queue, with its media to look at.
pub struct QueuedEntry {
    pub entry: EntryRow,
    pub media: Vec<MediaView>,
}

/// The moderation queue: entries of a contest waiting for review, oldest first, a page of
/// [`LIST_PAGE`] after the entry numbered `after`; the number to continue after, when there
/// are more. Two statements a page (the entries, then all their media).
pub async fn awaiting_review(
    db: &PgPool,
    contest_id: i64,
    after: Option<i32>,
) -> sqlx::Result<(Vec<QueuedEntry>, Option<i32>)> {
    let mut rows: Vec<EntryRow> = sqlx::query_as(&format!(
        "{ENTRY_SQL} where e.contest_id = $1 and e.status = $2 and e.number > $3
         order by e.number limit $4"
    ))
    .bind(contest_id)
    .bind(EntryStatus::PendingReview)
    .bind(after.unwrap_or(0))
    .bind(LIST_PAGE + 1)
    .fetch_all(db)
    .await?;
    let next = more(&mut rows).map(|e| e.number);
    let ids: Vec<Uuid> = rows.iter().map(|e| e.entry_id).collect();
    let mut media = media::for_entries(db, &ids).await?;
    let out = rows
        .into_iter()
        .map(|entry| QueuedEntry {
            media: media.remove(&entry.entry_id).unwrap_or_default(),
            entry,
        })
        .collect();
    Ok((out, next))
}

/// Cuts a page fetched with one row too many back to [`LIST_PAGE`]; the last row kept when
/// there were more.
fn more<T>(rows: &mut Vec<T>) -> Option<&T> {
    let page = usize::try_from(LIST_PAGE).unwrap_or(50);
    if rows.len() > page {
        rows.truncate(page);
        rows.last()
    } else {
        None
    }
}

/// How many entries of a contest wait for review (dashboard and contest page).
pub async fn awaiting_review_count(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from entry where contest_id = $1 and status = $2")
        .bind(contest_id)
        .bind(EntryStatus::PendingReview)
        .fetch_one(db)
        .await
}

/// One of a member's entries, with its contest's slug and title.
pub struct OwnEntry {
    pub entry: EntryRow,
    pub contest_slug: String,
    pub contest_title: String,
}

/// Where the next page of a member's own entries starts: the last entry's creation time and
/// id (`{micros}.{uuid}` in a URL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OwnCursor {
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub entry_id: Uuid,
}

impl OwnCursor {
    pub fn encode(&self) -> String {
        format!(
            "{}.{}",
            self.created_at.timestamp_micros(),
            self.entry_id.simple()
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        let (micros, id) = s.split_once('.')?;
        Some(Self {
            created_at: chrono::DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            entry_id: Uuid::try_parse(id).ok()?,
        })
    }
}

/// A member's entries, newest first, a page of [`LIST_PAGE`] after `after`; where the next
/// page starts, when there are more. One statement.
pub async fn by_author(
    db: &PgPool,
    author_id: i64,
    after: Option<OwnCursor>,
) -> sqlx::Result<(Vec<OwnEntry>, Option<OwnCursor>)> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        entry: EntryRow,
        contest_slug: String,
        contest_title: String,
    }
    let sql = ENTRY_SQL.replacen(
        " from entry e ",
        ", c.slug as contest_slug, c.title as contest_title
         from entry e join contest c on c.contest_id = e.contest_id ",
        1,
    );
    let mut rows: Vec<Row> = sqlx::query_as(&format!(
        "{sql} where e.author_id = $1
           and ($2::timestamptz is null or (e.created_at, e.entry_id) < ($2, $3))
         order by e.created_at desc, e.entry_id desc limit $4"
    ))
    .bind(author_id)
    .bind(after.map(|c| c.created_at))
    .bind(after.map(|c| c.entry_id))
    .bind(LIST_PAGE + 1)
    .fetch_all(db)
    .await?;
    let next = more(&mut rows).map(|r| OwnCursor {
        created_at: r.entry.created_at,
        entry_id: r.entry.entry_id,
    });
    let out = rows
        .into_iter()
        .map(|r| OwnEntry {
            entry: r.entry,
            contest_slug: r.contest_slug,
            contest_title: r.contest_title,
        })
        .collect();
    Ok((out, next))
}

/// The author's entries that have an edit waiting for review.
pub async fn with_pending_edit(db: &PgPool, author_id: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(
        "select r.entry_id from entry_revision r join entry e using (entry_id)
         where e.author_id = $1 and r.status = 'pending'",
    )
    .bind(author_id)
    .fetch_all(db)
    .await
}
