//! Lists of entries: the moderation queue of a contest (entries waiting for review) and a
//! member's own entries.

use hoithi_core::contest::EntryStatus;
use sqlx::{PgExecutor, PgPool};
use uuid::Uuid;

use super::media::{self, MediaView};
use super::{ENTRY_SQL, EntryRow};

/// An entry in the moderation queue, with its media to look at.
pub struct QueuedEntry {
    pub entry: EntryRow,
    pub media: Vec<MediaView>,
}

/// The moderation queue: entries of a contest waiting for review, oldest first.
pub async fn awaiting_review(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<QueuedEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(&format!(
        "{ENTRY_SQL} where e.contest_id = $1 and e.status = $2 order by e.created_at limit 200"
    ))
    .bind(contest_id)
    .bind(EntryStatus::PendingReview)
    .fetch_all(db)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for entry in rows {
        let media = media::for_entry(db, entry.entry_id).await?;
        out.push(QueuedEntry { entry, media });
    }
    Ok(out)
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

/// A member's entries, newest first.
pub async fn by_author(db: &PgPool, author_id: i64) -> sqlx::Result<Vec<OwnEntry>> {
    let rows: Vec<EntryRow> = sqlx::query_as(&format!(
        "{ENTRY_SQL} where e.author_id = $1 order by e.created_at desc limit 200"
    ))
    .bind(author_id)
    .fetch_all(db)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for entry in rows {
        let (contest_slug, contest_title): (String, String) =
            sqlx::query_as("select slug, title from contest where contest_id = $1")
                .bind(entry.contest_id)
                .fetch_one(db)
                .await?;
        out.push(OwnEntry {
            entry,
            contest_slug,
            contest_title,
        });
    }
    Ok(out)
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
