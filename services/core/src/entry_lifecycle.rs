//! Who may move an entry from which status to which: the one table of the entry lifecycle,
//! used by every crate that changes `entry.status` — the web crate's handlers ask it before a
//! move (`hoithi_web::domain::entries::lifecycle::transition`), and every `update` of a status,
//! the upload service's and the worker's included, is guarded with [`sources`]
//! (`status = any($n)`), so a status that changed meanwhile is not overwritten.
//!
//! | actor     | from                                   | to                        |
//! |-----------|----------------------------------------|---------------------------|
//! | upload    | draft, uploading                       | uploading                 |
//! | upload    | uploading                              | draft (upload ended), processing |
//! | worker    | processing                             | pending_review, approved (no moderation), draft (failed) |
//! | author    | any but withdrawn                      | withdrawn                 |
//! | author    | draft                                  | processing (a photo series handed in) |
//! | author    | withdrawn                              | draft, pending_review, approved, rejected (restore: the status it had, until results are published) |
//! | author    | rejected                               | pending_review (edited)   |
//! | organizer | pending_review, approved, rejected     | approved, rejected        |

use sqlx::PgExecutor;
use uuid::Uuid;

use crate::contest::EntryStatus;

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
            (from != Withdrawn && to == Withdrawn)
                || (from == Draft && to == Processing)
                || (from == Rejected && to == PendingReview)
                || (from == Withdrawn && matches!(to, Draft | PendingReview | Approved | Rejected))
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

/// The statuses from which `actor` may move an entry to `to`: the guard of an `update`
/// (`status = any($n)`).
pub fn sources(actor: Actor, to: EntryStatus) -> Vec<EntryStatus> {
    EntryStatus::ALL
        .into_iter()
        .filter(|from| allows(actor, *from, to))
        .collect()
}

/// Moves entry `entry_id` on once none of its media is still processing: to review, or
/// straight to approved where the contest needs no moderation (from `processing` only, as the
/// lifecycle's worker rule says). The worker runs it when a file is processed — the last
/// photo of a series too — and handing a series in runs it for photos already processed.
pub async fn move_on_when_processed(db: impl PgExecutor<'_>, entry_id: Uuid) -> sqlx::Result<()> {
    // Both targets have the same sources in the lifecycle table (processing).
    debug_assert_eq!(
        sources(Actor::Worker, EntryStatus::PendingReview),
        sources(Actor::Worker, EntryStatus::Approved)
    );
    sqlx::query(
        "update entry e set status = case when c.requires_moderation then $2 else $3 end,
                reason = null
         from contest c
         where e.entry_id = $1 and c.contest_id = e.contest_id and e.status = any($4)
           and not exists (select 1 from media_asset m
                           where m.entry_id = e.entry_id and m.status = 'processing')",
    )
    .bind(entry_id)
    .bind(EntryStatus::PendingReview)
    .bind(EntryStatus::Approved)
    .bind(sources(Actor::Worker, EntryStatus::PendingReview))
    .execute(db)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::{Actor, allows, sources};
    use crate::contest::EntryStatus::{
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
        (Actor::Author, Draft, Processing),
        (Actor::Author, Uploading, Withdrawn),
        (Actor::Author, Processing, Withdrawn),
        (Actor::Author, PendingReview, Withdrawn),
        (Actor::Author, Approved, Withdrawn),
        (Actor::Author, Rejected, Withdrawn),
        (Actor::Author, Rejected, PendingReview),
        (Actor::Author, Withdrawn, Draft),
        (Actor::Author, Withdrawn, PendingReview),
        (Actor::Author, Withdrawn, Approved),
        (Actor::Author, Withdrawn, Rejected),
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
                }
            }
        }
        assert!(wrong.is_empty(), "{wrong:#?}");
    }

    #[test]
    fn only_its_author_brings_a_withdrawn_entry_back_and_the_guards_follow_the_table() {
        for actor in Actor::ALL {
            for to in EntryStatus::ALL {
                let back = actor == Actor::Author && to != Withdrawn;
                let mid_way = matches!(to, Uploading | Processing);
                assert_eq!(
                    allows(actor, Withdrawn, to),
                    back && !mid_way,
                    "{actor:?} -> {to}"
                );
            }
        }
        assert_eq!(
            sources(Actor::Organizer, Approved),
            vec![PendingReview, Approved, Rejected]
        );
        assert_eq!(
            sources(Actor::Author, PendingReview),
            vec![Rejected, Withdrawn]
        );
    }
}
