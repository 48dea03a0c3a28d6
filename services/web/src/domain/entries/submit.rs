//! Entering a contest: the text of an entry, who may enter, and the draft saved before any
//! upload (so a failed upload never loses what was typed).

use std::net::IpAddr;

use chrono::NaiveDate;
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use sqlx::PgPool;
use uuid::Uuid;

use super::refusal::{EntryError, EntryRefusal};
use crate::domain::contests::categories::{self, Category};
use crate::domain::contests::{ContestRow, Phase};
use crate::domain::entries::EntryRow;
use crate::domain::entries::series;
use crate::domain::entries::team::{self, TeamInput};
use crate::domain::people::throttle;
use crate::domain::people::units::is_within;
use crate::domain::privacy::consent::{self, Kind, PRIVACY_VERSION};
use crate::domain::privacy::guardian::{self, Guardian, GuardianLink};
use crate::domain::privacy::names;

/// What the entrant agreed to and told about themselves with the entry: the consent box
/// (privacy notice and rules), where from, and, when the contest asks, a birth date and for a
/// child the parent or guardian who must agree.
#[derive(Debug, Clone, Default)]
pub struct Agreement {
    pub consent: bool,
    pub ip: Option<IpAddr>,
    /// As typed (`YYYY-MM-DD`); read only when the contest requires a birth date.
    pub birth_date: String,
    pub guardian_name: String,
    pub guardian_email: String,
    /// The slug of the chosen category; read only when the contest has categories.
    pub category: String,
    /// The team part of the form (`team::TeamInput::default()`: an entry of one person).
    pub team: TeamInput,
    /// The entrant chose a photo series (bộ ảnh).
    pub series: bool,
}

/// A new entry, and the guardian's link to mail when the entrant is a child.
#[derive(Debug)]
pub struct Created {
    pub entry_id: Uuid,
    pub guardian: Option<GuardianLink>,
}

/// The birth date the contest needs: the stored one, else the one typed (a real date in the
/// past, after 1900). `None` when the contest does not ask.
fn birth_date(
    c: &ContestRow,
    stored: Option<NaiveDate>,
    typed: &str,
    today: NaiveDate,
) -> Result<Option<NaiveDate>, EntryRefusal> {
    if !c.requires_birth_date {
        return Ok(None);
    }
    if let Some(d) = stored {
        return Ok(Some(d));
    }
    let lowest = NaiveDate::from_ymd_opt(1900, 1, 2).unwrap_or(NaiveDate::MIN);
    NaiveDate::parse_from_str(typed.trim(), "%Y-%m-%d")
        .ok()
        .filter(|d| *d <= today && *d >= lowest)
        .map(Some)
        .ok_or(EntryRefusal::BirthDateRequired)
}

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

/// How many entries `author` has in contest `contest_id` that count toward its limit (all
/// but withdrawn ones): the form says "2/3" before anyone types.
pub async fn entries_sent(db: &PgPool, contest_id: i64, author: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select count(*) from entry where contest_id = $1 and author_id = $2 and status <> $3",
    )
    .bind(contest_id)
    .bind(author)
    .bind(EntryStatus::Withdrawn)
    .fetch_one(db)
    .await
}

/// The category an entry of `c` goes into: none when the contest has no categories; else
/// the one named by `slug` (required, and of this contest).
pub async fn chosen_category(
    db: &PgPool,
    c: &ContestRow,
    slug: &str,
) -> Result<Option<Category>, EntryError> {
    let all = categories::list(db, c.contest_id).await?;
    if all.is_empty() {
        return Ok(None);
    }
    let slug = slug.trim();
    if slug.is_empty() {
        return Err(EntryRefusal::CategoryRequired.into());
    }
    all.into_iter()
        .find(|k| k.slug == slug)
        .map(Some)
        .ok_or(EntryRefusal::UnknownCategory.into())
}

/// Moves the author's entry `e` of `c` to the category `slug`: only while submission is
/// open, into a category that takes the kinds of its files, and within that category's
/// limit per member (this entry left out of the count).
pub async fn change_category(
    db: &PgPool,
    e: &EntryRow,
    c: &ContestRow,
    slug: &str,
) -> Result<(), EntryError> {
    if c.phase() != Phase::Submission {
        return Err(EntryRefusal::SubmissionClosed.into());
    }
    if e.status == EntryStatus::Withdrawn {
        return Err(EntryRefusal::NotEditable.into());
    }
    let Some(k) = chosen_category(db, c, slug).await? else {
        return Err(EntryRefusal::UnknownCategory.into());
    };
    let fits: bool = sqlx::query_scalar(
        "select coalesce(bool_and(kind::text = any($2)), true) from media_asset
         where entry_id = (select coalesce(media_entry_id, entry_id) from entry where entry_id = $1)",
    )
    .bind(e.entry_id)
    .bind(&k.kinds)
    .fetch_one(db)
    .await?;
    if !fits {
        return Err(EntryRefusal::CategoryKindMismatch.into());
    }
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(c.contest_id)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar(
        "select count(*) from entry where contest_id = $1 and author_id = $2 and status <> $3
           and category_id = $4 and entry_id <> $5",
    )
    .bind(c.contest_id)
    .bind(e.author_id)
    .bind(EntryStatus::Withdrawn)
    .bind(k.category_id)
    .bind(e.entry_id)
    .fetch_one(&mut *tx)
    .await?;
    if count >= i64::from(k.max_entries_per_member.unwrap_or(c.max_entries_per_member)) {
        return Err(EntryRefusal::MaxEntriesReached.into());
    }
    sqlx::query("update entry set category_id = $2 where entry_id = $1")
        .bind(e.entry_id)
        .bind(k.category_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
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

/// Creates a draft entry under every rule, with the consent it was given under; the contest
/// row is locked so two tabs cannot both take the last free place. A child's entry (under
/// 16, in a contest that asks for a birth date) waits for its guardian: the link to mail is
/// returned.
pub async fn create_entry(
    db: &PgPool,
    user: &CurrentUser,
    c: &ContestRow,
    title: &str,
    description: &str,
    agreement: &Agreement,
    limits: &throttle::Limits,
) -> Result<Created, EntryError> {
    let text = EntryText::parse(title, description)?;
    may_enter(db, user, c).await?;
    let category = chosen_category(db, c, &agreement.category).await?;
    let team = team::resolve(db, c, user.unit_id, &agreement.team).await?;
    let kinds = category.as_ref().map_or(&c.kinds, |k| &k.kinds);
    let series_photos = category.as_ref().map_or(c.max_series_photos, |k| {
        k.series_photos(c.max_series_photos)
    });
    if agreement.series && !series::allowed(series_photos, kinds) {
        return Err(EntryRefusal::SeriesNotAllowed.into());
    }
    if !agreement.consent {
        return Err(EntryRefusal::ConsentRequired.into());
    }
    let stored: Option<NaiveDate> =
        sqlx::query_scalar("select birth_date from app_user where app_user_id = $1")
            .bind(user.app_user_id)
            .fetch_one(db)
            .await?;
    let today = chrono::Utc::now().date_naive();
    let born = birth_date(c, stored, &agreement.birth_date, today)?;
    let guardian = if names::is_minor(born, today) {
        Some(
            Guardian::parse(&agreement.guardian_name, &agreement.guardian_email)
                .ok_or(EntryRefusal::GuardianRequired)?,
        )
    } else {
        None
    };
    // The guardian's mail counts like every other mail the platform sends on someone's
    // behalf (an entry withdrawn and made again must not mail a stranger without end).
    if let Some(g) = &guardian
        && throttle::take(db, &throttle::mail_counters(limits, &g.email, agreement.ip))
            .await?
            .is_some()
    {
        return Err(EntryRefusal::TooManyMails.into());
    }
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(c.contest_id)
        .execute(&mut *tx)
        .await?;
    // In a category, the limit is the category's (else the contest's) and counts the
    // entries of that category only.
    let count: i64 = sqlx::query_scalar(
        "select count(*) from entry where contest_id = $1 and author_id = $2 and status <> $3
           and ($4::bigint is null or category_id = $4)",
    )
    .bind(c.contest_id)
    .bind(user.app_user_id)
    .bind(EntryStatus::Withdrawn)
    .bind(category.as_ref().map(|k| k.category_id))
    .fetch_one(&mut *tx)
    .await?;
    let max = category
        .as_ref()
        .and_then(|k| k.max_entries_per_member)
        .unwrap_or(c.max_entries_per_member);
    if count >= i64::from(max) {
        return Err(EntryRefusal::MaxEntriesReached.into());
    }
    if stored.is_none()
        && let Some(born) = born
    {
        sqlx::query("update app_user set birth_date = $2 where app_user_id = $1")
            .bind(user.app_user_id)
            .bind(born)
            .execute(&mut *tx)
            .await?;
    }
    let id = hoithi_core::contest::create_draft_entry(
        &mut *tx,
        c.contest_id,
        user.app_user_id,
        &text.title,
        &text.description,
    )
    .await?;
    if let Some(k) = &category {
        sqlx::query("update entry set category_id = $2 where entry_id = $1")
            .bind(id)
            .bind(k.category_id)
            .execute(&mut *tx)
            .await?;
    }
    if agreement.series {
        sqlx::query("update entry set photo_series = true where entry_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
    }
    if let Some(t) = &team {
        team::store(&mut tx, id, t).await?;
    }
    let uid = user.app_user_id;
    let ip = agreement.ip;
    consent::record(
        &mut *tx,
        uid,
        Kind::Privacy,
        PRIVACY_VERSION,
        Some(c.contest_id),
        Some(id),
        ip,
    )
    .await?;
    let rules = consent::rules_version(&c.rules);
    consent::record(
        &mut *tx,
        uid,
        Kind::Rules,
        &rules,
        Some(c.contest_id),
        Some(id),
        ip,
    )
    .await?;
    let link = match guardian {
        Some(g) => Some(guardian::hold(&mut tx, id, &g).await?),
        None => None,
    };
    tx.commit().await?;
    Ok(Created {
        entry_id: id,
        guardian: link,
    })
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
