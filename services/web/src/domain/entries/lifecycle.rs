//! Who may move an entry from which status to which: the one table of the entry lifecycle.
//! Every handler of the web crate that changes `entry.status` asks [`transition`] first (and
//! guards its `update` with [`sources`], so a status that changed meanwhile is not
//! overwritten). The upload service and the worker move entries too; their moves are written
//! down here as well, so the whole lifecycle reads in one place:
//!
//! | actor     | from                                   | to                        |
//! |-----------|----------------------------------------|---------------------------|
//! | upload    | draft, uploading                       | uploading                 |
//! | upload    | uploading                              | draft (upload ended), processing |
//! | worker    | processing                             | pending_review, approved (no moderation), draft (failed) |
//! | author    | any but withdrawn                      | withdrawn                 |
//! | author    | rejected                               | pending_review (edited)   |
//! | organizer | pending_review, approved, rejected     | approved, rejected        |
//!
//! Besides the status, an author changes an entry only while the contest takes entries
//! ([`author_may_change`]).

use hoithi_core::contest::EntryStatus;
use sqlx::PgPool;

use super::EntryRow;
use super::refusal::{EntryError, EntryRefusal};
use crate::domain::contests::{ContestRow, Phase};

/// Who moves an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The member who made the entry.
    Author,
    /// An organizer of the contest (or an admin): the review.
    Organizer,
    /// The upload service, as bytes arrive or an upload ends.
    Upload,
    /// The media worker, once the files are processed.
    Worker,
}

impl Actor {
    pub const ALL: [Self; 4] = [Self::Author, Self::Organizer, Self::Upload, Self::Worker];
}

/// Whether `actor` may move an entry from `from` to `to` (the table above).
pub fn allows(actor: Actor, from: EntryStatus, to: EntryStatus) -> bool {
    use EntryStatus::{Approved, Draft, PendingReview, Processing, Rejected, Uploading, Withdrawn};
    match actor {
        Actor::Author => {
            (from != Withdrawn && to == Withdrawn) || (from == Rejected && to == PendingReview)
        }
        Actor::Organizer => {
            matches!(from, PendingReview | Approved | Rejected) && matches!(to, Approved | Rejected)
        }
        Actor::Upload => matches!(
            (from, to),
            (Draft | Uploading, Uploading) | (Uploading, Draft | Processing)
        ),
        Actor::Worker => from == Processing && matches!(to, PendingReview | Approved | Draft),
    }
}

/// The rule as a refusal: the organizer's "not waiting for review", anyone else's "can no
/// longer be changed".
pub fn transition(actor: Actor, from: EntryStatus, to: EntryStatus) -> Result<(), EntryRefusal> {
    if allows(actor, from, to) {
        Ok(())
    } else if actor == Actor::Organizer {
        Err(EntryRefusal::NotReviewable)
    } else {
        Err(EntryRefusal::NotEditable)
    }
}

/// The statuses from which `actor` may move an entry to `to`: the guard of an `update`
/// (`status = any($n)`).
pub fn sources(actor: Actor, to: EntryStatus) -> Vec<EntryStatus> {
    EntryStatus::ALL
        .into_iter()
        .filter(|from| allows(actor, *from, to))
        .collect()
}

/// Whether the author may still change `e` at all (edit, withdraw, upload): not withdrawn,
/// and the contest takes entries.
pub fn author_may_change(e: &EntryRow, c: &ContestRow) -> bool {
    e.status != EntryStatus::Withdrawn && c.phase() == Phase::Submission
}

/// [`author_may_change`] as a refusal.
pub fn check_author_may_change(e: &EntryRow, c: &ContestRow) -> Result<(), EntryRefusal> {
    if author_may_change(e, c) {
        Ok(())
    } else {
        Err(EntryRefusal::NotEditable)
    }
}

/// The author withdraws `e` for good. The `update` is guarded by the table, so an entry that
/// was withdrawn meanwhile stays as it is.
pub async fn withdraw(db: &PgPool, e: &EntryRow) -> Result<(), EntryError> {
    let to = EntryStatus::Withdrawn;
    transition(Actor::Author, e.status, to)?;
    sqlx::query("update entry set status = $2 where entry_id = $1 and status = any($3)")
        .bind(e.entry_id)
        .bind(to)
        .bind(sources(Actor::Author, to))
        .execute(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Actor, allows, sources, transition};
    use hoithi_core::contest::EntryStatus::{
        self, Approved, Draft, PendingReview, Processing, Rejected, Uploading, Withdrawn,
    };

    /// Every move that is allowed; every other (actor, from, to) is refused.
    const ALLOWED: &[(Actor, EntryStatus, EntryStatus)] = &[
        (Actor::Upload, Draft, Uploading),
        (Actor::Upload, Uploading, Uploading),
        (Actor::Upload, Uploading, Draft),
        (Actor::Upload, Uploading, Processing),
        (Actor::Worker, Processing, PendingReview),
        (Actor::Worker, Processing, Approved),
        (Actor::Worker, Processing, Draft),
        (Actor::Author, Draft, Withdrawn),
        (Actor::Author, Uploading, Withdrawn),
        (Actor::Author, Processing, Withdrawn),
        (Actor::Author, PendingReview, Withdrawn),
        (Actor::Author, Approved, Withdrawn),
        (Actor::Author, Rejected, Withdrawn),
        (Actor::Author, Rejected, PendingReview),
        (Actor::Organizer, PendingReview, Approved),
        (Actor::Organizer, PendingReview, Rejected),
        (Actor::Organizer, Approved, Approved),
        (Actor::Organizer, Approved, Rejected),
        (Actor::Organizer, Rejected, Approved),
        (Actor::Organizer, Rejected, Rejected),
    ];

    #[test]
    fn every_actor_moves_an_entry_only_along_the_table() {
        let mut wrong = Vec::new();
        for actor in Actor::ALL {
            for from in EntryStatus::ALL {
                for to in EntryStatus::ALL {
                    let expected = ALLOWED.contains(&(actor, from, to));
                    if allows(actor, from, to) != expected {
                        wrong.push(format!("{actor:?}: {from} -> {to}, expected {expected}"));
                    }
                    assert_eq!(transition(actor, from, to).is_ok(), expected);
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn a_withdrawn_entry_never_moves_again_and_the_guards_follow_the_table() {
        for actor in Actor::ALL {
            for to in EntryStatus::ALL {
                assert!(!allows(actor, Withdrawn, to), "{actor:?} -> {to}");
            }
        }
        assert_eq!(
            sources(Actor::Organizer, Approved),
            vec![PendingReview, Approved, Rejected]
        );
        assert_eq!(sources(Actor::Author, PendingReview), vec![Rejected]);
    }

    #[test]
    fn statuses_read_back_from_their_names() {
        for s in EntryStatus::ALL {
            assert_eq!(EntryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(EntryStatus::parse("pending"), None);
    }

    #[tokio::test]
    async fn the_rust_statuses_are_exactly_the_sql_enum() {
        let env = hoithi_core::testing::TestEnv::new().await;
        let sql: Vec<String> =
            sqlx::query_scalar("select unnest(enum_range(null::entry_status))::text")
                .fetch_all(&env.db)
                .await
                .unwrap();
        let rust: Vec<&str> = EntryStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(sql, rust);
        // And sqlx maps each one both ways.
        for s in EntryStatus::ALL {
            let back: EntryStatus = sqlx::query_scalar("select $1::entry_status")
                .bind(s)
                .fetch_one(&env.db)
                .await
                .unwrap();
            assert_eq!(back, s);
        }
    }
}
