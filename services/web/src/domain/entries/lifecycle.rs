//! The entry lifecycle as the web crate's handlers use it: the table itself (who may move an
//! entry from which status to which) is `hoithi_core::entry_lifecycle`, shared with the upload
//! service and the worker; here it becomes a refusal ([`transition`]), and the author's own
//! rule on top of it: an author changes an entry only while the contest takes entries
//! ([`author_may_change`]).

use hoithi_core::contest::EntryStatus;
pub use hoithi_core::entry_lifecycle::{Actor, allows, sources};
use sqlx::PgPool;

use super::EntryRow;
use super::refusal::{EntryError, EntryRefusal};
use crate::domain::contests::{ContestRow, Phase};

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
    use super::{Actor, allows, transition};
    use hoithi_core::contest::EntryStatus;

    #[test]
    fn a_refusal_answers_exactly_where_the_table_says_no() {
        for actor in Actor::ALL {
            for from in EntryStatus::ALL {
                for to in EntryStatus::ALL {
                    assert_eq!(
                        transition(actor, from, to).is_ok(),
                        allows(actor, from, to),
                        "{actor:?}: {from} -> {to}"
                    );
                }
            }
        }
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
