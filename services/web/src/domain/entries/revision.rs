//! Edits of entries. An entry's `title` and `description` are always text an organizer let
//! through: an edit of a public (approved) entry of a moderated contest waits as an
//! `entry_revision` until an organizer approves it, and an edit of a rejected entry sends it
//! back to review. Everything that shows an entry reads `entry`, so nothing else needs to know.

use chrono::{DateTime, Utc};
use hoithi_core::contest::EntryStatus;
use serde_json::json;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::lifecycle::{Actor, transition};
use super::refusal::{EntryError, EntryRefusal};
use super::review::Decision;
use super::submit::EntryText;
use super::{EntryRow, entry};
use crate::domain::contests::ContestRow;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub entry_revision_id: i64,
    pub entry_id: Uuid,
    pub title: String,
    pub description: String,
    /// `pending`, `approved`, `rejected` (never `superseded` here).
    pub status: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl RevisionRow {
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }

    pub fn is_rejected(&self) -> bool {
        self.status == "rejected"
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "id": self.entry_revision_id,
            "status": self.status,
            "title": self.title,
            "description": self.description,
            "reason": self.reason,
            "created_at": self.created_at,
        })
    }
}

const REVISION_SQL: &str =
    "select r.entry_revision_id, r.entry_id, r.title, r.description, r.status, r.reason,
    r.created_at from entry_revision r";

/// The entry's latest edit that is still of interest (waiting, or refused and not followed by
/// another); `None` when there is none or the latest was approved.
pub async fn latest(db: &PgPool, entry_id: Uuid) -> sqlx::Result<Option<RevisionRow>> {
    let r: Option<RevisionRow> = sqlx::query_as(&format!(
        "{REVISION_SQL} where r.entry_id = $1 and r.status <> 'superseded'
         order by r.entry_revision_id desc limit 1"
    ))
    .bind(entry_id)
    .fetch_optional(db)
    .await?;
    Ok(r.filter(|r| r.is_pending() || r.is_rejected()))
}

/// An edit waiting for review, with its entry as it is public now.
pub struct PendingEdit {
    pub entry: EntryRow,
    pub edit: RevisionRow,
}

/// Edits waiting for review in a contest.
pub async fn pending_in_contest(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<PendingEdit>> {
    let revisions: Vec<RevisionRow> = sqlx::query_as(&format!(
        "{REVISION_SQL} join entry e using (entry_id)
         where e.contest_id = $1 and r.status = 'pending' and e.status <> 'withdrawn'
         order by r.created_at limit 200"
    ))
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    let mut out = Vec::with_capacity(revisions.len());
    for edit in revisions {
        if let Some(entry) = entry(db, edit.entry_id).await? {
            out.push(PendingEdit { entry, edit });
        }
    }
    Ok(out)
}

/// Whether an edit of `e` must wait for review: the entry is public and the contest reviews
/// what is shown. (A contest without moderation publishes new entries unreviewed too, so its
/// edits go live the same way.)
pub fn edits_need_review(e: &EntryRow, c: &ContestRow) -> bool {
    e.status == EntryStatus::Approved && c.requires_moderation
}

/// What became of a saved edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Not public yet: the text changed in place and is reviewed with the entry.
    InPlace,
    /// The entry is public: the edit waits for review, the reviewed text stays public.
    AwaitsReview,
    /// The author went back to the reviewed text: a waiting edit was dropped.
    Unchanged,
    /// A rejected entry, changed: it goes back to the organizers' moderation queue.
    Resubmitted,
}

/// Saves the author's text under the rules above. The entry row is locked, so a review
/// deciding at the same moment sees either the old or the new state, never half.
pub async fn save_edit(
    db: &PgPool,
    author_id: i64,
    c: &ContestRow,
    id: Uuid,
    text: &EntryText,
) -> Result<Saved, EntryError> {
    let mut tx = db.begin().await?;
    let row: Option<(EntryStatus, String, String)> = sqlx::query_as(
        "select status, title, description from entry where entry_id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, old_title, old_description)) = row else {
        return Err(EntryRefusal::NotEditable.into());
    };
    if status == EntryStatus::Withdrawn {
        return Err(EntryRefusal::NotEditable.into());
    }
    // Whatever was waiting is replaced by what the author saves now.
    sqlx::query(
        "update entry_revision set status = 'superseded' where entry_id = $1 and status = 'pending'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let saved = match status {
        EntryStatus::Approved if c.requires_moderation => {
            if old_title == text.title && old_description == text.description {
                Saved::Unchanged
            } else {
                propose(&mut tx, author_id, id, text).await?;
                Saved::AwaitsReview
            }
        }
        EntryStatus::Rejected => {
            transition(Actor::Author, status, EntryStatus::PendingReview)?;
            rewrite(&mut tx, id, text, Some(EntryStatus::PendingReview)).await?;
            Saved::Resubmitted
        }
        _ => {
            rewrite(&mut tx, id, text, None).await?;
            Saved::InPlace
        }
    };
    tx.commit().await?;
    Ok(saved)
}

/// Stores an edit that waits for review.
async fn propose(
    tx: &mut PgConnection,
    author_id: i64,
    id: Uuid,
    text: &EntryText,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into entry_revision (entry_id, title, description, created_by)
         values ($1, $2, $3, $4)",
    )
    .bind(id)
    .bind(&text.title)
    .bind(&text.description)
    .bind(author_id)
    .execute(tx)
    .await
    .map(drop)
}

/// Writes the entry's text itself; with a new status, its old reason goes.
async fn rewrite(
    tx: &mut PgConnection,
    id: Uuid,
    text: &EntryText,
    status: Option<EntryStatus>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update entry set title = $2, description = $3,
             status = coalesce($4, status),
             reason = case when $4 is null then reason end
         where entry_id = $1",
    )
    .bind(id)
    .bind(&text.title)
    .bind(&text.description)
    .bind(status)
    .execute(tx)
    .await
    .map(drop)
}

/// Approves or rejects the edit waiting on entry `id`, in the caller's transaction (which
/// also queues the author's mail). `seen` is the id of the edit the organizer read: a newer
/// one saved in between is not decided unseen.
pub async fn decide(
    tx: &mut PgConnection,
    reviewer_id: i64,
    id: Uuid,
    decision: &Decision,
    seen: Option<&str>,
) -> Result<RevisionRow, EntryError> {
    let seen = match seen.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<i64>().map_err(|_| EntryRefusal::EditChanged)?),
        None => None,
    };
    // The entry first, then its edit: the same order `save_edit` locks in.
    sqlx::query("select 1 from entry where entry_id = $1 for update")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let pending: Option<RevisionRow> = sqlx::query_as(&format!(
        "{REVISION_SQL} where r.entry_id = $1 and r.status = 'pending' for update"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let mut r = pending.ok_or(EntryRefusal::NoPendingEdit)?;
    if seen.is_some_and(|s| s != r.entry_revision_id) {
        return Err(EntryRefusal::EditChanged.into());
    }
    r.status = match decision {
        Decision::Approve => "approved",
        Decision::Reject(_) => "rejected",
    }
    .to_owned();
    r.reason = decision.reason().map(str::to_owned);
    sqlx::query(
        "update entry_revision set status = $2, reason = $3, reviewed_by = $4, reviewed_at = now()
         where entry_revision_id = $1",
    )
    .bind(r.entry_revision_id)
    .bind(&r.status)
    .bind(&r.reason)
    .bind(reviewer_id)
    .execute(&mut *tx)
    .await?;
    if *decision == Decision::Approve {
        sqlx::query("update entry set title = $2, description = $3 where entry_id = $1")
            .bind(id)
            .bind(&r.title)
            .bind(&r.description)
            .execute(&mut *tx)
            .await?;
    }
    Ok(r)
}
