//! A guardian's consent for a child's entry: the entry is held (`entry.guardian_pending`, and
//! the `entry_guardian_hold` trigger keeps it from `approved`) until the parent or guardian
//! named by the child opens the mailed link and agrees. The link is a random token, stored
//! hashed, good for `LINK_DAYS`.

use std::net::IpAddr;

use hoithi_core::contest::EntryStatus;
use hoithi_core::domain::{DisplayName, Email};
use hoithi_core::entry_lifecycle::{Actor, sources};
use sqlx::{PgConnection, PgExecutor, PgPool};
use uuid::Uuid;

use super::consent::{self, Kind};
use super::names;
use crate::domain::people::tokens::{hash, random_token};

/// How long the guardian's link stays good.
pub const LINK_DAYS: i32 = 14;

/// The parent or guardian a child named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guardian {
    pub name: String,
    pub email: String,
}

impl Guardian {
    /// A name (1 to 120 characters) and a valid email, or `None`.
    pub fn parse(name: &str, email: &str) -> Option<Self> {
        let name = DisplayName::parse(name).ok()?;
        let email = Email::parse(email).ok()?;
        Some(Self {
            name: name.as_str().to_owned(),
            email: email.as_str().to_owned(),
        })
    }
}

/// The link to mail: the secret token (never stored) and who it goes to.
#[derive(Debug, Clone)]
pub struct GuardianLink {
    pub entry_id: Uuid,
    pub token: String,
    pub guardian: Guardian,
}

/// Holds entry `entry_id` for its guardian and makes the link, in the caller's transaction.
pub async fn hold(
    tx: &mut PgConnection,
    entry_id: Uuid,
    g: &Guardian,
) -> sqlx::Result<GuardianLink> {
    let token = random_token();
    sqlx::query("update entry set guardian_pending = true where entry_id = $1")
        .bind(entry_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into guardian_consent (entry_id, guardian_name, guardian_email, token_hash, expires_at)
         values ($1, $2, $3, $4, now() + make_interval(days => $5))",
    )
    .bind(entry_id)
    .bind(&g.name)
    .bind(&g.email)
    .bind(hash(&token))
    .bind(LINK_DAYS)
    .execute(&mut *tx)
    .await?;
    Ok(GuardianLink {
        entry_id,
        token,
        guardian: g.clone(),
    })
}

/// What the guardian's page says: whose entry, in which contest, and what will be public.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Request {
    pub entry_id: Uuid,
    pub guardian_name: String,
    pub child_name: String,
    pub contest_title: String,
    pub contest_slug: String,
    pub entry_title: String,
    pub hide_author: bool,
    pub given: bool,
}

impl Request {
    /// The child's name as public pages will show it.
    pub fn public_name(&self) -> String {
        names::shortened(&self.child_name)
    }
}

/// The request a live link (unexpired) stands for, given or not.
pub async fn request(db: impl PgExecutor<'_>, token: &str) -> sqlx::Result<Option<Request>> {
    sqlx::query_as(
        "select g.entry_id, g.guardian_name, a.display_name as child_name,
                c.title as contest_title, c.slug as contest_slug, e.title as entry_title,
                c.hide_author, g.given_at is not null as given
         from guardian_consent g join entry e using (entry_id)
         join app_user a on a.app_user_id = e.author_id join contest c on c.contest_id = e.contest_id
         where g.token_hash = $1 and g.expires_at > now() and a.deleted_at is null",
    )
    .bind(hash(token))
    .fetch_optional(db)
    .await
}

/// The guardian agrees: the consent is recorded (on the child's account, kind `guardian`,
/// with the guardian's address), the hold ends, and in a contest without moderation the
/// entry becomes public as it would have without the hold (the organizer's standing "no
/// moderation" decision, so the organizer's move of the lifecycle). `None` for a dead link; a
/// second use changes nothing.
pub async fn give(db: &PgPool, token: &str, ip: Option<IpAddr>) -> sqlx::Result<Option<Uuid>> {
    let mut tx = db.begin().await?;
    let row: Option<(Uuid, i64, i64, bool)> = sqlx::query_as(
        "update guardian_consent g set given_at = coalesce(g.given_at, now()),
                ip = coalesce(g.ip, $2::inet)
         from entry e where g.entry_id = e.entry_id and g.token_hash = $1 and g.expires_at > now()
         returning g.entry_id, e.author_id, e.contest_id, g.given_at = now()",
    )
    .bind(hash(token))
    .bind(ip.map(|ip| ip.to_string()))
    .fetch_optional(&mut *tx)
    .await?;
    let Some((entry_id, author, contest_id, first)) = row else {
        return Ok(None);
    };
    if first {
        consent::record(
            &mut *tx,
            author,
            Kind::Guardian,
            super::consent::PRIVACY_VERSION,
            Some(contest_id),
            Some(entry_id),
            ip,
        )
        .await?;
        sqlx::query("update entry set guardian_pending = false where entry_id = $1")
            .bind(entry_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "update entry e set status = $2 from contest c
             where e.entry_id = $1 and c.contest_id = e.contest_id and not c.requires_moderation
               and e.status = $3 and $3 = any($4)",
        )
        .bind(entry_id)
        .bind(EntryStatus::Approved)
        .bind(EntryStatus::PendingReview)
        .bind(sources(Actor::Organizer, EntryStatus::Approved))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(Some(entry_id))
}

/// The mail to the guardian (Vietnamese, the platform's mail language): subject and body
/// naming the child, the contest and the entry, what will be public, and the link.
pub fn mail_text(r: &Request, link: &str) -> (String, String) {
    let vi = |k: &str| hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, k).to_owned();
    let shown = if r.hide_author {
        vi("privacy.guardian.author-hidden")
    } else {
        format!(
            "{} {}",
            vi("privacy.guardian.author-shown"),
            r.public_name()
        )
    };
    let subject = format!("{} {}", vi("privacy.guardian.mail-subject"), r.child_name);
    let body = format!(
        "{} {},\n\n{} {} — «{}» — {}: «{}».\n\n{}\n{}\n\n{}\n\n{link}\n\n{}\n",
        vi("privacy.guardian.mail-hello"),
        r.guardian_name,
        r.child_name,
        vi("privacy.guardian.mail-entered"),
        r.contest_title,
        vi("privacy.guardian.mail-entry"),
        r.entry_title,
        vi("privacy.guardian.public-what"),
        shown,
        vi("privacy.guardian.mail-link"),
        vi("privacy.guardian.mail-ignore"),
    );
    (subject, body)
}

/// Each entry's guardian state for organizers: `None` (no guardian needed), or whether the
/// guardian agreed.
pub async fn states(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<Vec<(Uuid, bool)>> {
    sqlx::query_as(
        "select g.entry_id, g.given_at is not null from guardian_consent g
         join entry e using (entry_id) where e.contest_id = $1",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::Guardian;

    #[test]
    fn a_guardian_needs_a_name_and_an_email() {
        assert!(Guardian::parse("Nguyễn Thị Mai", "me@example.vn").is_some());
        assert!(Guardian::parse("", "me@example.vn").is_none());
        assert!(Guardian::parse("Mai", "không-phải-email").is_none());
    }
}
