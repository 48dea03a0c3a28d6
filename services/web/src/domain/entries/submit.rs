//! Entering a contest: the text of an entry, who may enter, and the draft saved before any
//! upload (so a failed upload never loses what was typed).

use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use sqlx::PgPool;
use uuid::Uuid;

use super::refusal::{EntryError, EntryRefusal};
use crate::domain::contests::{ContestRow, Phase};
use crate::domain::people::units::is_within;

/// A title and description that passed the rules, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryText {
    pub title: String,
    pub description: String,
}

impl EntryText {
    /// A title of 1 to 200 characters without control characters, a description of at most
    /// 5000 characters.
    pub fn parse(title: &str, description: &str) -> Result<Self, EntryRefusal> {
        let title = title.trim();
        if title.is_empty() {
            return Err(EntryRefusal::TitleRequired);
        }
        if title.chars().count() > 200 || title.chars().any(char::is_control) {
            return Err(EntryRefusal::TitleTooLong);
        }
        if description.chars().count() > 5000 {
            return Err(EntryRefusal::DescriptionTooLong);
        }
        Ok(Self {
            title: title.to_owned(),
            description: description.trim().to_owned(),
        })
    }
}

/// Whether `user` may enter `c` at all (before counting their entries).
pub async fn may_enter(db: &PgPool, user: &CurrentUser, c: &ContestRow) -> Result<(), EntryError> {
    if !user.is_verified() {
        return Err(EntryRefusal::EmailNotVerified.into());
    }
    if c.phase() != Phase::Submission {
        return Err(EntryRefusal::SubmissionClosed.into());
    }
    let Some(eligible) = c.eligible_unit_ids.as_ref().filter(|e| !e.is_empty()) else {
        return Ok(());
    };
    let Some(unit) = user.unit_id else {
        return Err(EntryRefusal::NotEligible.into());
    };
    for e in eligible {
        if is_within(db, unit, *e).await? {
            return Ok(());
        }
    }
    Err(EntryRefusal::NotEligible.into())
}

/// Creates a draft entry under every rule; the contest row is locked so two tabs cannot
/// both take the last free place.
pub async fn create_entry(
    db: &PgPool,
    user: &CurrentUser,
    c: &ContestRow,
    title: &str,
    description: &str,
) -> Result<Uuid, EntryError> {
    let text = EntryText::parse(title, description)?;
    may_enter(db, user, c).await?;
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(c.contest_id)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar(
        "select count(*) from entry where contest_id = $1 and author_id = $2 and status <> $3",
    )
    .bind(c.contest_id)
    .bind(user.app_user_id)
    .bind(EntryStatus::Withdrawn)
    .fetch_one(&mut *tx)
    .await?;
    if count >= i64::from(c.max_entries_per_member) {
        return Err(EntryRefusal::MaxEntriesReached.into());
    }
    let id = hoithi_core::contest::create_draft_entry(
        &mut *tx,
        c.contest_id,
        user.app_user_id,
        &text.title,
        &text.description,
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::{EntryRefusal, EntryText};

    #[test]
    fn an_entry_text_is_trimmed_and_bounded() {
        let t = EntryText::parse("  Quê hương ", " mô tả \n").unwrap();
        assert_eq!(
            (t.title.as_str(), t.description.as_str()),
            ("Quê hương", "mô tả")
        );
        assert_eq!(EntryText::parse(" ", ""), Err(EntryRefusal::TitleRequired));
        assert_eq!(
            EntryText::parse(&"a".repeat(201), ""),
            Err(EntryRefusal::TitleTooLong)
        );
        assert_eq!(
            EntryText::parse("a\u{7}b", ""),
            Err(EntryRefusal::TitleTooLong)
        );
        assert_eq!(
            EntryText::parse("a", &"đ".repeat(5001)),
            Err(EntryRefusal::DescriptionTooLong)
        );
    }
}
