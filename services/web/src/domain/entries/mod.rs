//! Entries as the rules see them: the row every surface reads, who may see an entry, who may
//! see its author, and its media; the lifecycle (`lifecycle`), entering a contest (`submit`),
//! the organizer's review (`review`), edits (`revision`) and lists. No HTTP here.

pub mod author;
pub mod gallery;
pub mod lifecycle;
pub mod lists;
pub mod media;
pub mod refusal;
pub mod review;
pub mod revision;
pub mod series;
pub mod submit;
pub mod team;

use chrono::Utc;
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::access::manages;
use crate::domain::contests::{self, ContestRow};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntryRow {
    pub entry_id: Uuid,
    /// The entry's public number in its contest ("Bài số 0142").
    pub number: i32,
    pub contest_id: i64,
    pub author_id: i64,
    pub title: String,
    pub description: String,
    pub status: EntryStatus,
    pub reason: Option<String>,
    pub author_name: String,
    pub author_email: String,
    pub unit_name: Option<String>,
    pub created_at: chrono::DateTime<Utc>,
    /// A digest of the title and description: a review names the text it saw, so an edit
    /// made while the organizer was reading is not approved unseen.
    pub text_digest: String,
    /// The author gave a birth date less than 16 years ago: public pages shorten their name.
    pub author_minor: bool,
    /// The entry waits for a guardian's consent (never public meanwhile).
    pub guardian_pending: bool,
    /// `None` when no guardian was asked; else whether the guardian agreed.
    pub guardian_given: Option<bool>,
    /// The status its author withdrew it from: set only by the author's own withdrawal (which
    /// can be undone); an entry withdrawn with the author's consent or account has none.
    pub withdrawn_from: Option<EntryStatus>,
    /// The entry's category (hạng mục), in a contest that has them.
    pub category_slug: Option<String>,
    pub category_name: Option<String>,
    /// A team entry's name (tên đội / chi đoàn); `None` for an entry of one person.
    pub team_name: Option<String>,
    /// The entry is a photo series (bộ ảnh).
    pub photo_series: bool,
}

impl EntryRow {
    /// The status's SQL name, as templates compare and show it.
    pub fn status_str(&self) -> &'static str {
        self.status.as_str()
    }

    /// The catalog key of the entry's guardian consent state, for organizers: empty when no
    /// guardian was asked.
    pub fn guardian_state(&self) -> &'static str {
        match self.guardian_given {
            None => "",
            Some(false) => "privacy.state.waiting",
            Some(true) => "privacy.state.given",
        }
    }

    /// The author's name as people other than the author and organizers see it: a child's
    /// shortened (`domain::privacy::names::shortened`).
    pub fn public_author_name(&self) -> String {
        if self.author_minor {
            crate::domain::privacy::names::shortened(&self.author_name)
        } else {
            self.author_name.clone()
        }
    }

    /// The number as people write it: "0142".
    pub fn number_label(&self) -> String {
        number_label(self.number)
    }
}

/// "0142": an entry number as people write it, four digits at least.
pub fn number_label(n: i32) -> String {
    format!("{n:04}")
}

pub const ENTRY_SQL: &str = "select e.entry_id, e.number, e.contest_id, e.author_id, e.title, e.description, e.status, e.reason,
    a.display_name as author_name, a.email::text as author_email, u.name as unit_name, e.created_at,
    md5(e.title || chr(31) || e.description) as text_digest,
    coalesce(a.birth_date > current_date - interval '16 years', false) as author_minor, e.guardian_pending,
    (select g.given_at is not null from guardian_consent g where g.entry_id = e.entry_id) as guardian_given,
    e.withdrawn_from, k.slug as category_slug, k.name as category_name, e.team_name, e.photo_series
    from entry e join app_user a on a.app_user_id = e.author_id left join unit u on u.unit_id = a.unit_id
    left join contest_category k on k.category_id = e.category_id";

pub async fn entry(db: impl PgExecutor<'_>, id: Uuid) -> sqlx::Result<Option<EntryRow>> {
    sqlx::query_as(&format!("{ENTRY_SQL} where e.entry_id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

/// What a viewer may do with an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Public,
    Author,
    Organizer,
}

/// The entry and the viewer's access, or `None` when the viewer may not see it (which
/// callers answer with 404, so existence does not leak). Judges get their access from the
/// judging feature.
pub async fn visible_entry(
    db: &sqlx::PgPool,
    user: Option<&CurrentUser>,
    id: Uuid,
) -> sqlx::Result<Option<(EntryRow, ContestRow, Access)>> {
    let Some(e) = entry(db, id).await? else {
        return Ok(None);
    };
    let Some(c) = contests::by_id(db, e.contest_id).await? else {
        return Ok(None);
    };
    // Who sees the author is not decided here but by `author::AuthorPolicy`, for every page.
    let access = match user {
        Some(u) if manages(db, u, c.unit_id).await? => Some(Access::Organizer),
        Some(u) if u.app_user_id == e.author_id => Some(Access::Author),
        _ if e.status == EntryStatus::Approved => Some(Access::Public),
        _ => None,
    };
    Ok(access.map(|a| (e, c, a)))
}
