//! The review: an organizer's decision on an entry (approve, or reject with a reason the
//! author is mailed). The moderation queue is the list of entries waiting for it
//! (`lists::awaiting_review`).

use hoithi_core::contest::EntryStatus;
use sqlx::PgConnection;
use uuid::Uuid;

use super::EntryRow;
use super::lifecycle::{Actor, transition};
use super::refusal::{EntryError, EntryRefusal};
use crate::domain::contests::ContestRow;

/// An organizer's decision, read from the form or the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Approve,
    /// With the reason the author is told (1 to 2000 characters).
    Reject(String),
}

impl Decision {
    /// `approve`, or `reject` with a reason.
    pub fn parse(decision: &str, reason: &str) -> Result<Self, EntryRefusal> {
        let reason = reason.trim();
        match decision {
            "approve" => Ok(Self::Approve),
            "reject" if reason.is_empty() => Err(EntryRefusal::ReasonRequired),
            "reject" if reason.chars().count() > 2000 => Err(EntryRefusal::ReasonTooLong),
            "reject" => Ok(Self::Reject(reason.to_owned())),
            _ => Err(EntryRefusal::InvalidDecision),
        }
    }

    /// The status an entry gets.
    pub fn status(&self) -> EntryStatus {
        match self {
            Self::Approve => EntryStatus::Approved,
            Self::Reject(_) => EntryStatus::Rejected,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Approve => None,
            Self::Reject(reason) => Some(reason),
        }
    }
}

/// Decides on entry `id` in the caller's transaction (which also queues the author's mail).
/// `seen` is the `text_digest` the organizer read: if the author saved an edit in between,
/// nothing is decided and the organizer reads it again.
pub async fn decide(
    tx: &mut PgConnection,
    id: Uuid,
    decision: &Decision,
    seen: Option<&str>,
) -> Result<EntryStatus, EntryError> {
    let row: Option<(EntryStatus, String, bool)> = sqlx::query_as(
        "select status, md5(title || chr(31) || description), guardian_pending
         from entry where entry_id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((from, digest, guardian_pending)) = row else {
        return Err(EntryRefusal::NotReviewable.into());
    };
    let to = decision.status();
    transition(Actor::Organizer, from, to)?;
    // A child's entry is not approved before its guardian agreed (the database holds it back
    // too: `entry_guardian_hold`); rejecting it is allowed.
    if guardian_pending && to == EntryStatus::Approved {
        return Err(EntryRefusal::GuardianPending.into());
    }
    if seen
        .map(str::trim)
        .is_some_and(|seen| !seen.is_empty() && seen != digest)
    {
        return Err(EntryRefusal::EntryChanged.into());
    }
    sqlx::query("update entry set status = $2, reason = $3 where entry_id = $1")
        .bind(id)
        .bind(to)
        .bind(decision.reason())
        .execute(&mut *tx)
        .await?;
    Ok(to)
}

/// A mail to an entry's author, in Vietnamese (the language of the platform's mail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The outbox's `kind` (`entry-approved`, …).
    pub kind: &'static str,
    pub subject: &'static str,
    pub body: String,
}

fn vi(key: &str) -> &str {
    hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, key)
}

/// The author's mail about a decision on entry `e` of `c`; `link` is the entry's address.
pub fn decision_notice(e: &EntryRow, c: &ContestRow, decision: &Decision, link: &str) -> Notice {
    match decision {
        Decision::Reject(reason) => Notice {
            kind: "entry-rejected",
            subject: vi("mail.rejected.subject"),
            body: format!(
                "{}\n\n{}: {}\n{}: {reason}\n\n{link}\n",
                vi("mail.rejected.body"),
                c.title,
                e.title,
                vi("entry.reason")
            ),
        },
        Decision::Approve => Notice {
            kind: "entry-approved",
            subject: vi("mail.approved.subject"),
            body: format!(
                "{}\n\n{}: {}\n\n{link}\n",
                vi("mail.approved.body"),
                c.title,
                e.title
            ),
        },
    }
}

/// The author's mail about a refused edit of a public entry.
pub fn edit_rejected_notice(e: &EntryRow, c: &ContestRow, reason: &str, link: &str) -> Notice {
    Notice {
        kind: "entry-edit-rejected",
        subject: vi("mail.edit-rejected.subject"),
        body: format!(
            "{}\n\n{}: {}\n{}: {reason}\n\n{link}\n",
            vi("mail.edit-rejected.body"),
            c.title,
            e.title,
            vi("entry.reason")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::{Decision, EntryRefusal};

    #[test]
    fn a_rejection_needs_a_reason_and_anything_else_is_refused() {
        assert_eq!(Decision::parse("approve", " x "), Ok(Decision::Approve));
        assert_eq!(
            Decision::parse("reject", "  Mờ "),
            Ok(Decision::Reject("Mờ".into()))
        );
        assert_eq!(
            Decision::parse("reject", "  "),
            Err(EntryRefusal::ReasonRequired)
        );
        assert_eq!(
            Decision::parse("reject", &"x".repeat(2001)),
            Err(EntryRefusal::ReasonTooLong)
        );
        assert_eq!(
            Decision::parse("maybe", ""),
            Err(EntryRefusal::InvalidDecision)
        );
    }
}
