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

/// Whether any round of contest `contest_id` has published results: from then on an entry
/// is neither withdrawn nor restored (the ranking people saw stays as it was).
pub async fn results_published(db: &PgPool, contest_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from judging_result where contest_id = $1)")
        .bind(contest_id)
        .fetch_one(db)
        .await
}

/// The author withdraws `e`: it leaves the gallery, the queue and judging, its scores and
/// votes are kept (hidden), and the status it had is kept so that [`restore`] can bring it
/// back until results are published. The `update` is guarded by the table, so an entry
/// that was withdrawn meanwhile stays as it is.
pub async fn withdraw(db: &PgPool, e: &EntryRow) -> Result<(), EntryError> {
    let to = EntryStatus::Withdrawn;
    transition(Actor::Author, e.status, to)?;
    if results_published(db, e.contest_id).await? {
        return Err(EntryRefusal::ResultsPublished.into());
    }
    sqlx::query(
        "update entry set withdrawn_from = status, status = $2
         where entry_id = $1 and status = any($3)",
    )
    .bind(e.entry_id)
    .bind(to)
    .bind(sources(Actor::Author, to))
    .execute(db)
    .await?;
    Ok(())
}

/// Whether judges scored `entry` or people voted for it (the withdraw step says what is
/// kept).
pub async fn scored_or_voted(db: &PgPool, entry: uuid::Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from judge_assignment a join judge_score s using (judge_assignment_id)
                        where a.entry_id = $1)
             or exists (select 1 from vote where entry_id = $1)",
    )
    .bind(entry)
    .fetch_one(db)
    .await
}

/// Where a restored entry goes: the status it was withdrawn from; one withdrawn in the middle
/// of an upload or of processing starts again as a draft (its files were not taken). Only the
/// author's own withdrawal is undone: entries withdrawn with the author's consent or account
/// (the privacy flows) keep no status to go back to and stay withdrawn.
pub fn restored_status(withdrawn_from: Option<EntryStatus>) -> EntryStatus {
    match withdrawn_from {
        Some(s @ (EntryStatus::PendingReview | EntryStatus::Approved | EntryStatus::Rejected)) => s,
        _ => EntryStatus::Draft,
    }
}

/// The author brings a withdrawn entry back to the status it had, until results are
/// published and within the contest's limit of entries per member. The contest row is
/// locked as when an entry is made, so a restore and a new entry cannot both take the last
/// free place; the `update` is guarded on `withdrawn`, so two restores move it once.
pub async fn restore(db: &PgPool, e: &EntryRow, c: &ContestRow) -> Result<EntryStatus, EntryError> {
    if e.status != EntryStatus::Withdrawn {
        return Err(EntryRefusal::NotWithdrawn.into());
    }
    if e.withdrawn_from.is_none() {
        return Err(EntryRefusal::NotRestorable.into());
    }
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(c.contest_id)
        .execute(&mut *tx)
        .await?;
    let published: bool =
        sqlx::query_scalar("select exists (select 1 from judging_result where contest_id = $1)")
            .bind(c.contest_id)
            .fetch_one(&mut *tx)
            .await?;
    if published {
        return Err(EntryRefusal::ResultsPublished.into());
    }
    let (from, others): (Option<EntryStatus>, i64) = sqlx::query_as(
        "select e.withdrawn_from,
            (select count(*) from entry o where o.contest_id = e.contest_id
              and o.author_id = e.author_id and o.status <> 'withdrawn')
         from entry e where e.entry_id = $1",
    )
    .bind(e.entry_id)
    .fetch_one(&mut *tx)
    .await?;
    if others >= i64::from(c.max_entries_per_member) {
        return Err(EntryRefusal::MaxEntriesReached.into());
    }
    let Some(from) = from else {
        return Err(EntryRefusal::NotRestorable.into());
    };
    let to = restored_status(Some(from));
    transition(Actor::Author, EntryStatus::Withdrawn, to)?;
    let moved = sqlx::query(
        "update entry set status = $2, withdrawn_from = null where entry_id = $1 and status = 'withdrawn'",
    )
    .bind(e.entry_id)
    .bind(to)
    .execute(&mut *tx)
    .await?;
    if moved.rows_affected() == 0 {
        return Err(EntryRefusal::NotWithdrawn.into());
    }
    tx.commit().await?;
    Ok(to)
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
    fn a_restored_entry_goes_back_where_it_was_or_to_a_draft_and_the_table_allows_it() {
        use super::restored_status;
        for from in EntryStatus::ALL {
            let to = restored_status(Some(from));
            assert!(
                allows(Actor::Author, EntryStatus::Withdrawn, to),
                "{from} -> {to}"
            );
        }
        assert_eq!(restored_status(None), EntryStatus::Draft);
        assert_eq!(
            restored_status(Some(EntryStatus::Approved)),
            EntryStatus::Approved
        );
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
