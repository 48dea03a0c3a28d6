//! Rounds and their criteria: the round a contest judges now (round 1 is created the first
//! time judging is set up), the organizer's set-up (refused once the round opens), opening a
//! round, and advancing the chosen entries to the next round. The criteria (the round's and
//! the categories' own) are `rubric`, the set-up and opening `setup`, the move on `next`.

mod next;
mod rubric;
mod setup;
mod store;

pub use next::advance;
pub use rubric::{
    CriterionDraft, CriterionRow, category_criteria, criteria, criteria_of_entry,
    sync_category_criteria,
};
pub use setup::{Setup, check_open, may_open, open_round, save_setup};
pub use store::{RoundRow, entries, entry_count, round, rounds, sync_first_round};

/// The round a page or export is about: number `number`, else the latest (round 1 is
/// created when there is none yet). `None` for a number the contest does not have.
pub async fn pick(
    db: &sqlx::PgPool,
    contest_id: i64,
    number: Option<i32>,
) -> sqlx::Result<Option<RoundRow>> {
    let mut rounds = rounds(db, contest_id).await?;
    if rounds.is_empty() {
        rounds.push(current_or_first_round(db, contest_id).await?);
    }
    Ok(match number {
        Some(n) => rounds.into_iter().find(|r| r.number == n),
        None => rounds.into_iter().last(),
    })
}

/// The latest round of a contest, creating round 1 (criteria taken from the contest's
/// settings, if it was created with some) the first time judging is set up.
pub async fn current_or_first_round(db: &sqlx::PgPool, contest_id: i64) -> sqlx::Result<RoundRow> {
    if let Some(r) = rounds(db, contest_id).await?.pop() {
        return Ok(r);
    }
    let mut tx = db.begin().await?;
    let created: Option<i64> = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name) values ($1, 1, 'Vòng 1')
         on conflict (contest_id, number) do nothing returning judging_round_id",
    )
    .bind(contest_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(round_id) = created {
        let settings: serde_json::Value =
            sqlx::query_scalar("select settings from contest where contest_id = $1")
                .bind(contest_id)
                .fetch_one(&mut *tx)
                .await?;
        for (i, c) in rubric::criteria_of_settings(&settings).iter().enumerate() {
            rubric::insert_criterion(&mut tx, round_id, i, c, None).await?;
        }
        sync_category_criteria(&mut tx, round_id).await?;
    }
    tx.commit().await?;
    rounds(db, contest_id)
        .await?
        .pop()
        .ok_or(sqlx::Error::RowNotFound)
}
