//! The organizer's set-up of a round (refused once it opens) and its opening.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::rubric::{CriterionDraft, criteria, insert_criterion, sync_category_criteria};
use super::store::{RoundRow, sync_first_round};
use crate::domain::judging::math::{JudgeBasis, TieBreak, VoteScaling};
use crate::domain::judging::refusal::JudgingRefusal;

/// What the organizer's set-up form decides for a round.
#[derive(Debug, Clone)]
pub struct Setup {
    pub name: String,
    pub criteria: Vec<CriterionDraft>,
    pub judges_weight: i32,
    pub vote_scaling: VoteScaling,
    pub judge_basis: JudgeBasis,
    /// Tie-break steps as typed; `criterion:#n` names the n-th criterion of the form (new
    /// criteria have no id yet) and is resolved here.
    pub tie_break: Vec<String>,
    pub half_points: bool,
    pub conflict_own_unit: bool,
    pub public_shortlist: bool,
    pub blind: bool,
}

/// Saves a round's set-up; refused (nothing changed) once the round has opened.
pub async fn save_setup(
    db: &sqlx::PgPool,
    round_id: i64,
    s: &Setup,
) -> sqlx::Result<Result<(), JudgingRefusal>> {
    let mut tx = db.begin().await?;
    let opened: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "select opened_at from judging_round where judging_round_id = $1 for update",
    )
    .bind(round_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(None) = opened else {
        return Ok(Err(JudgingRefusal::RoundLocked));
    };
    let ids = save_criteria(&mut tx, round_id, &s.criteria).await?;
    sync_category_criteria(&mut tx, round_id).await?;
    let tie_break = resolve_tie_break(&s.tie_break, &ids);
    sqlx::query(
        "update judging_round set name = $2, judges_weight = $3, vote_scaling = $4, judge_basis = $5,
            tie_break = $6, half_points = $7, conflict_own_unit = $8, public_shortlist = $9
         where judging_round_id = $1",
    )
    .bind(round_id)
    .bind(&s.name)
    .bind(s.judges_weight)
    .bind(s.vote_scaling.as_str())
    .bind(s.judge_basis.as_str())
    .bind(&tie_break)
    .bind(s.half_points)
    .bind(s.conflict_own_unit)
    .bind(s.public_shortlist)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update contest set blind_judging = $2 where contest_id = (select contest_id from judging_round where judging_round_id = $1)",
    )
    .bind(round_id)
    .bind(s.blind)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Replaces a round's criteria with the form's, keeping the ids of those it names; returns
/// the id of each form row (`None` for a stale id of another round).
async fn save_criteria(
    tx: &mut PgConnection,
    round_id: i64,
    criteria: &[CriterionDraft],
) -> sqlx::Result<Vec<Option<i64>>> {
    let keep: Vec<i64> = criteria.iter().filter_map(|c| c.id).collect();
    sqlx::query(
        "delete from judging_criterion where judging_round_id = $1 and category_id is null
           and not (judging_criterion_id = any($2))",
    )
    .bind(round_id)
    .bind(&keep)
    .execute(&mut *tx)
    .await?;
    let mut ids = Vec::new();
    for (pos, c) in criteria.iter().enumerate() {
        let id: Option<i64> = match c.id {
            Some(id) => {
                sqlx::query_scalar(
                    "update judging_criterion set position = $3, name = $4, description = $5,
                        max_score = $6, weight = $7
                     where judging_criterion_id = $1 and judging_round_id = $2 and category_id is null
                     returning judging_criterion_id",
                )
                .bind(id)
                .bind(round_id)
                .bind(pos as i32)
                .bind(&c.name)
                .bind(&c.description)
                .bind(c.max)
                .bind(c.weight)
                .fetch_optional(&mut *tx)
                .await?
            }
            None => Some(insert_criterion(&mut *tx, round_id, pos, c, None).await?),
        };
        ids.push(id);
    }
    Ok(ids)
}

/// Tie-break steps as stored: `criterion:#n` becomes the id of the form's n-th criterion.
fn resolve_tie_break(typed: &[String], ids: &[Option<i64>]) -> Vec<String> {
    typed
        .iter()
        .filter_map(|t| match t.strip_prefix("criterion:#") {
            Some(n) => n
                .parse::<usize>()
                .ok()
                .and_then(|n| ids.get(n).copied().flatten())
                .map(|id| format!("criterion:{id}")),
            None => TieBreak::parse(t).map(TieBreak::code),
        })
        .collect()
}

/// Whether a round of `c` may open now: not while the contest still takes entries (the
/// judges would score a field that is still changing).
pub fn may_open(c: &crate::domain::contests::ContestRow) -> Result<(), JudgingRefusal> {
    if Utc::now() < c.submission_closes_at {
        return Err(JudgingRefusal::SubmissionStillOpen);
    }
    Ok(())
}

/// Why `round` of `c` may not open now, if so: open already, submission still open, or no
/// criteria (the confirm step comes only after these).
pub async fn check_open(
    db: &sqlx::PgPool,
    c: &crate::domain::contests::ContestRow,
    round: &RoundRow,
) -> sqlx::Result<Result<(), JudgingRefusal>> {
    if round.opened_at.is_some() {
        return Ok(Err(JudgingRefusal::RoundAlreadyOpen));
    }
    if let Err(r) = may_open(c) {
        return Ok(Err(r));
    }
    if criteria(db, round.judging_round_id).await?.is_empty() {
        return Ok(Err(JudgingRefusal::CriteriaRequired));
    }
    Ok(Ok(()))
}

/// Opens a round for scoring (refused while submission is open). Round 1 takes the
/// contest's approved entries.
pub async fn open_round(
    db: &sqlx::PgPool,
    c: &crate::domain::contests::ContestRow,
    round: &RoundRow,
) -> sqlx::Result<Result<(), JudgingRefusal>> {
    if let Err(r) = check_open(db, c, round).await? {
        return Ok(Err(r));
    }
    sync_first_round(db, round.judging_round_id).await?;
    // The category rubrics as they stand at this moment are the ones the round keeps.
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from judging_round where judging_round_id = $1 for update")
        .bind(round.judging_round_id)
        .execute(&mut *tx)
        .await?;
    sync_category_criteria(&mut tx, round.judging_round_id).await?;
    sqlx::query("update judging_round set opened_at = now() where judging_round_id = $1 and opened_at is null")
        .bind(round.judging_round_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(()))
}
