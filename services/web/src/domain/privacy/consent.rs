//! Consent that is recorded: the privacy notice (versioned here, its text in the catalogs
//! under `privacy.notice.*`) and a contest's rules (versioned by a digest of their text), with
//! the time and the address it was given from. Withdrawing consent withdraws the person's
//! entries.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use hoithi_core::contest::EntryStatus;
use hoithi_core::entry_lifecycle::{Actor, sources};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

/// The version of the privacy notice shown today. A new text gets a new version, so every
/// consent row says which text its person read.
pub const PRIVACY_VERSION: &str = "privacy-2026-12";

/// What a consent row is about (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Privacy,
    Rules,
    Guardian,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Privacy => "privacy",
            Self::Rules => "rules",
            Self::Guardian => "guardian",
        }
    }
}

/// The version of a contest's rules: a digest of their text, so an edit of the rules is a
/// new version without anyone numbering it.
pub fn rules_version(rules: &str) -> String {
    let digest = Sha256::digest(rules.as_bytes());
    let hex: String = digest[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("rules-{hex}")
}

/// Whether a form's consent box was ticked (`consent=1`, or `on` as browsers send it).
pub fn ticked(value: &str) -> bool {
    matches!(value.trim(), "1" | "on" | "true" | "yes")
}

/// Records one consent of `user_id`.
pub async fn record(
    db: impl PgExecutor<'_>,
    user_id: i64,
    kind: Kind,
    version: &str,
    contest_id: Option<i64>,
    entry_id: Option<Uuid>,
    ip: Option<IpAddr>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into consent (app_user_id, kind, notice_version, contest_id, entry_id, ip)
         values ($1, $2, $3, $4, $5, $6::inet)",
    )
    .bind(user_id)
    .bind(kind.as_str())
    .bind(version)
    .bind(contest_id)
    .bind(entry_id)
    .bind(ip.map(|ip| ip.to_string()))
    .execute(db)
    .await
    .map(drop)
}

/// One consent as its person sees it on the account page and in the export.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct ConsentRow {
    pub consent_id: i64,
    pub kind: String,
    pub notice_version: String,
    pub contest_title: Option<String>,
    pub entry_id: Option<Uuid>,
    pub ip: Option<String>,
    pub given_at: DateTime<Utc>,
    pub withdrawn_at: Option<DateTime<Utc>>,
}

/// Every consent of `user_id`, newest first.
pub async fn of_user(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Vec<ConsentRow>> {
    sqlx::query_as(
        "select k.consent_id, k.kind, k.notice_version, c.title as contest_title, k.entry_id,
                host(k.ip) as ip, k.given_at, k.withdrawn_at
         from consent k left join contest c on c.contest_id = k.contest_id
         where k.app_user_id = $1 order by k.given_at desc, k.consent_id desc",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Whether `user_id` holds a consent to the privacy notice that was not withdrawn.
pub async fn has_privacy(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from consent where app_user_id = $1 and kind = 'privacy'
                        and withdrawn_at is null)",
    )
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// What withdrawing did: how many entries were withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Withdrawn {
    pub consents: u64,
    pub entries: u64,
}

/// Withdraws every consent of `user_id` still in force and, with it, every entry of theirs
/// that is not withdrawn yet (the author's own move in the lifecycle). Audited.
pub async fn withdraw_all(db: &PgPool, user_id: i64) -> sqlx::Result<Withdrawn> {
    let mut tx = db.begin().await?;
    let consents = sqlx::query(
        "update consent set withdrawn_at = now() where app_user_id = $1 and withdrawn_at is null",
    )
    .bind(user_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let entries = withdraw_entries(&mut tx, user_id).await?;
    sqlx::query(
        "insert into privacy_audit (subject_id, actor_id, action, detail)
         values ($1, $1, 'consent-withdrawn', $2)",
    )
    .bind(user_id)
    .bind(format!("{consents} consents, {entries} entries withdrawn"))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Withdrawn { consents, entries })
}

/// Withdraws every entry of `user_id` that may be withdrawn.
pub async fn withdraw_entries(tx: &mut PgConnection, user_id: i64) -> sqlx::Result<u64> {
    Ok(
        sqlx::query("update entry set status = $2 where author_id = $1 and status = any($3)")
            .bind(user_id)
            .bind(EntryStatus::Withdrawn)
            .bind(sources(Actor::Author, EntryStatus::Withdrawn))
            .execute(&mut *tx)
            .await?
            .rows_affected(),
    )
}

#[cfg(test)]
mod tests {
    use super::{rules_version, ticked};

    #[test]
    fn rules_are_versioned_by_their_text() {
        assert_eq!(rules_version("a"), rules_version("a"));
        assert_ne!(rules_version("a"), rules_version("a "));
        assert!(rules_version("").starts_with("rules-"));
        assert_eq!(rules_version("x").len(), "rules-".len() + 12);
    }

    #[test]
    fn only_a_ticked_box_is_consent() {
        assert!(ticked("1") && ticked("on"));
        assert!(!ticked("") && !ticked("0") && !ticked("no"));
    }
}
