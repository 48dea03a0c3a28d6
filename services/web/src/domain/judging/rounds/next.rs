//! "Chuyển vòng": closing a round and moving the chosen entries into the next one.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use super::rubric::{CriterionDraft, criteria, insert_criterion, sync_category_criteria};
use super::store::RoundRow;
use crate::domain::judging::math::TieBreak;
use crate::domain::judging::refusal::JudgingRefusal;

/// Closes `round`, marks `advancers`, and opens the set-up of the next round with the same
/// criteria and formula and exactly those entries. Returns the new round's number.
pub async fn advance(
    db: &sqlx::PgPool,
    round: &RoundRow,
    advancers: &[Uuid],
) -> sqlx::Result<Result<i32, JudgingRefusal>> {
    let mut tx = db.begin().await?;
    let closed: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "select closed_at from judging_round where judging_round_id = $1 for update",
    )
    .bind(round.judging_round_id)
    .fetch_optional(&mut *tx)
    .await?;
    if !matches!(closed, Some(None)) || round.opened_at.is_none() {
        return Ok(Err(JudgingRefusal::RoundNotOpen));
    }
    let next = round.number + 1;
    let new_id: i64 = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name, judges_weight, vote_scaling, judge_basis,
            tie_break, half_points, conflict_own_unit)
         select contest_id, $2, 'Vòng ' || $2, judges_weight, vote_scaling, judge_basis, '{}', half_points,
            conflict_own_unit
         from judging_round where judging_round_id = $1 returning judging_round_id",
    )
    .bind(round.judging_round_id)
    .bind(next)
    .fetch_one(&mut *tx)
    .await?;
    copy_criteria(&mut tx, round, new_id).await?;
    sync_category_criteria(&mut tx, new_id).await?;
    move_entries(&mut tx, round.judging_round_id, new_id, advancers).await?;
    tx.commit().await?;
    Ok(Ok(next))
}

/// Copies `round`'s criteria into round `new_id`, and its tie-break with criterion steps
/// mapped by position to the copies.
async fn copy_criteria(tx: &mut PgConnection, round: &RoundRow, new_id: i64) -> sqlx::Result<()> {
    let old = criteria(&mut *tx, round.judging_round_id).await?;
    let mut map = HashMap::new();
    for (pos, c) in old.iter().enumerate() {
        let draft = CriterionDraft {
            id: None,
            name: c.name.clone(),
            description: c.description.clone(),
            max: c.max_score,
            weight: c.weight,
        };
        let new = insert_criterion(&mut *tx, new_id, pos, &draft, None).await?;
        map.insert(c.judging_criterion_id, new);
    }
    let tie_break: Vec<String> = round
        .formula()
        .tie_break
        .into_iter()
        .filter_map(|t| match t {
            TieBreak::Criterion(id) => map.get(&id).map(|n| TieBreak::Criterion(*n).code()),
            other => Some(other.code()),
        })
        .collect();
    sqlx::query("update judging_round set tie_break = $2 where judging_round_id = $1")
        .bind(new_id)
        .bind(&tie_break)
        .execute(&mut *tx)
        .await
        .map(drop)
}

/// Marks the advancers of round `from`, puts them into round `to`, and closes `from`.
async fn move_entries(
    tx: &mut PgConnection,
    from: i64,
    to: i64,
    advancers: &[Uuid],
) -> sqlx::Result<()> {
    sqlx::query(
        "update round_entry set advanced = (entry_id = any($2)) where judging_round_id = $1",
    )
    .bind(from)
    .bind(advancers)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into round_entry (judging_round_id, entry_id)
         select $1, entry_id from round_entry where judging_round_id = $2 and entry_id = any($3)",
    )
    .bind(to)
    .bind(from)
    .bind(advancers)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update judging_round set closed_at = now() where judging_round_id = $1")
        .bind(from)
        .execute(&mut *tx)
        .await
        .map(drop)
}
