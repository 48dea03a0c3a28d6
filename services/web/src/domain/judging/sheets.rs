//! Score sheets: a judge's sheet of an entry (found only when assigned, acting as a judge,
//! free of any conflict, in an open round), the judge's list of sheets to score, and every
//! change to a sheet with its audit rows, checked against the round's criteria first.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::judges::NO_CONFLICT;
use super::math::{self, ScoreError};
use super::refusal::JudgingRefusal;
use super::rounds::{self, CriterionRow};

/// A judge's sheet of one entry, as the judge's pages and the API show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SheetRow {
    pub judge_assignment_id: i64,
    pub judging_round_id: i64,
    pub contest_id: i64,
    pub entry_id: Uuid,
    pub judge_id: i64,
    pub title: String,
    pub description: String,
    pub comment: String,
    pub comment_to_entrant: String,
    pub submitted_at: Option<DateTime<Utc>>,
}

const SHEET_SQL: &str =
    "select a.judge_assignment_id, a.judging_round_id, r.contest_id, a.entry_id, a.judge_id,
    e.title, e.description, a.comment, a.comment_to_entrant, a.submitted_at
    from judge_assignment a
    join judging_round r on r.judging_round_id = a.judging_round_id
    join entry e on e.entry_id = a.entry_id
    join app_user au on au.app_user_id = e.author_id
    join app_user j on j.app_user_id = a.judge_id and j.email_verified_at is not null
    join contest_judge cj on cj.contest_id = r.contest_id and cj.app_user_id = j.app_user_id
         and cj.email = j.email";

/// The judge's active sheet of an entry in an open round, or `None` (not assigned, not a
/// judge any more, a conflict of interest, or no open round): callers answer 404.
pub async fn sheet_for(
    db: impl PgExecutor<'_>,
    judge: i64,
    entry: Uuid,
) -> sqlx::Result<Option<SheetRow>> {
    sqlx::query_as(&format!(
        "{SHEET_SQL} where a.judge_id = $1 and a.entry_id = $2 and a.active
           and r.opened_at is not null and r.closed_at is null and {NO_CONFLICT}
         order by r.number desc limit 1"
    ))
    .bind(judge)
    .bind(entry)
    .fetch_optional(db)
    .await
}

/// The judge's sheets to score in the contest's open round(s): every active,
/// non-conflicting sheet, unfinished first.
pub async fn assigned(
    db: impl PgExecutor<'_>,
    judge: i64,
    contest_id: i64,
) -> sqlx::Result<Vec<SheetRow>> {
    sqlx::query_as(&format!(
        "{SHEET_SQL} where a.judge_id = $1 and r.contest_id = $2 and a.active
           and r.opened_at is not null and r.closed_at is null and {NO_CONFLICT}
         order by a.submitted_at is not null, e.created_at, e.entry_id"
    ))
    .bind(judge)
    .bind(contest_id)
    .fetch_all(db)
    .await
}

/// The judge's sheet of an entry (its id as typed in the path), or `None` for anything the
/// judge may not score.
pub async fn judge_sheet(
    db: impl PgExecutor<'_>,
    judge: i64,
    entry: &str,
) -> sqlx::Result<Option<SheetRow>> {
    let Ok(id) = Uuid::parse_str(entry) else {
        return Ok(None);
    };
    sheet_for(db, judge, id).await
}

pub async fn sheet_scores(
    db: impl PgExecutor<'_>,
    assignment: i64,
) -> sqlx::Result<HashMap<i64, f64>> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "select judging_criterion_id, score::float8 from judge_score where judge_assignment_id = $1",
    )
    .bind(assignment)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

/// One entry of a judge's list to score, with their weighted score once submitted.
pub struct ToScoreItem {
    pub id: Uuid,
    pub title: String,
    pub submitted: bool,
    pub score: Option<f64>,
}

/// A judge's list of sheets to score in a contest, with progress and their own average.
pub struct ToScore {
    pub items: Vec<ToScoreItem>,
    pub done: usize,
    pub remaining: usize,
    pub average: Option<f64>,
}

/// The judge's list to score in a contest, with their weighted score per submitted sheet.
pub async fn to_score(db: &sqlx::PgPool, judge: i64, contest_id: i64) -> sqlx::Result<ToScore> {
    let sheets = assigned(db, judge, contest_id).await?;
    let mut items = Vec::new();
    for s in &sheets {
        let score = match s.submitted_at {
            Some(_) => {
                // Each entry against its own rubric (its category's, where it has one).
                let cs = rounds::criteria_of_entry(db, s.judging_round_id, s.entry_id).await?;
                let cs: Vec<math::Criterion> = cs.iter().map(CriterionRow::math).collect();
                Some(math::weighted(
                    &cs,
                    &sheet_scores(db, s.judge_assignment_id).await?,
                ))
            }
            None => None,
        };
        items.push(ToScoreItem {
            id: s.entry_id,
            title: s.title.clone(),
            submitted: s.submitted_at.is_some(),
            score: score.map(math::round2),
        });
    }
    let done = items.iter().filter(|i| i.submitted).count();
    let scores: Vec<f64> = items.iter().filter_map(|i| i.score).collect();
    let average = (!scores.is_empty())
        .then(|| math::round2(scores.iter().sum::<f64>() / scores.len() as f64));
    Ok(ToScore {
        remaining: items.len() - done,
        items,
        done,
        average,
    })
}

/// Which sheet an audit row is about.
pub struct AuditKey {
    pub contest_id: i64,
    pub round_id: i64,
    pub assignment: i64,
    pub entry: Uuid,
    pub judge: i64,
}

impl AuditKey {
    pub fn of(s: &SheetRow) -> Self {
        Self {
            contest_id: s.contest_id,
            round_id: s.judging_round_id,
            assignment: s.judge_assignment_id,
            entry: s.entry_id,
            judge: s.judge_id,
        }
    }
}

/// Appends one row to the score audit (the table is append-only).
pub async fn audit(
    conn: &mut PgConnection,
    k: &AuditKey,
    actor: i64,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into judge_score_audit (contest_id, judging_round_id, judge_assignment_id, entry_id,
            judge_id, actor_id, field, old_value, new_value)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(k.contest_id)
    .bind(k.round_id)
    .bind(k.assignment)
    .bind(k.entry)
    .bind(k.judge)
    .bind(actor)
    .bind(field)
    .bind(old)
    .bind(new)
    .execute(conn)
    .await
    .map(drop)
}

/// A sheet change as typed (API or form), before it is checked: criterion ids as typed,
/// `None` clears a score.
#[derive(Debug, Default)]
pub struct RawChange {
    pub scores: Vec<(String, Option<f64>)>,
    pub comment: Option<String>,
    pub comment_to_entrant: Option<String>,
    pub submit: bool,
}

/// A change to a sheet, already checked against the criteria.
#[derive(Debug, Default)]
pub struct SheetChange {
    /// `None` clears a score.
    pub scores: Vec<(i64, Option<f64>)>,
    pub comment: Option<String>,
    pub comment_to_entrant: Option<String>,
    pub submit: bool,
}

/// The longest comment, in characters.
const COMMENT_MAX: usize = 5000;

/// Checks a typed change against the round's criteria (and its half points).
fn check_change(
    raw: RawChange,
    criteria: &[CriterionRow],
    half_points: bool,
) -> Result<SheetChange, JudgingRefusal> {
    let mut change = SheetChange {
        submit: raw.submit,
        ..SheetChange::default()
    };
    for (id, value) in raw.scores {
        let c = id
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|id| criteria.iter().find(|c| c.judging_criterion_id == id))
            .ok_or(JudgingRefusal::UnknownCriterion)?;
        let value = value
            .map(|v| math::check_score(v, c.max_score, half_points))
            .transpose()
            .map_err(|e| match e {
                ScoreError::OutOfRange => JudgingRefusal::ScoreOutOfRange,
                ScoreError::NotAStep => JudgingRefusal::ScoreNotAStep,
            })?;
        change.scores.push((c.judging_criterion_id, value));
    }
    for text in [&raw.comment, &raw.comment_to_entrant]
        .into_iter()
        .flatten()
    {
        if text.chars().count() > COMMENT_MAX {
            return Err(JudgingRefusal::CommentTooLong);
        }
    }
    change.comment = raw.comment.map(|s| s.trim().to_owned());
    change.comment_to_entrant = raw.comment_to_entrant.map(|s| s.trim().to_owned());
    Ok(change)
}

/// Checks a change against the round's criteria and writes it (with its audit rows).
pub async fn apply_change(
    db: &sqlx::PgPool,
    sheet: &SheetRow,
    raw: RawChange,
    actor: i64,
) -> sqlx::Result<Result<(), JudgingRefusal>> {
    let round = rounds::round(db, sheet.judging_round_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let criteria = rounds::criteria_of_entry(db, round.judging_round_id, sheet.entry_id).await?;
    let change = match check_change(raw, &criteria, round.half_points) {
        Ok(change) => change,
        Err(refusal) => return Ok(Err(refusal)),
    };
    let ids: Vec<i64> = criteria.iter().map(|c| c.judging_criterion_id).collect();
    save_sheet(db, sheet, &ids, &change, actor).await
}

fn fmt_score(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Writes a sheet change and its audit rows in one transaction; a submitted sheet is locked,
/// and submitting needs a score for every criterion (nothing is written otherwise).
pub async fn save_sheet(
    db: &sqlx::PgPool,
    sheet: &SheetRow,
    criteria_ids: &[i64],
    change: &SheetChange,
    actor: i64,
) -> sqlx::Result<Result<(), JudgingRefusal>> {
    let mut tx = db.begin().await?;
    let (submitted, comment, to_entrant): (Option<DateTime<Utc>>, String, String) = sqlx::query_as(
        "select submitted_at, comment, comment_to_entrant from judge_assignment
         where judge_assignment_id = $1 for update",
    )
    .bind(sheet.judge_assignment_id)
    .fetch_one(&mut *tx)
    .await?;
    if submitted.is_some() {
        return Ok(Err(JudgingRefusal::SheetSubmitted));
    }
    let key = AuditKey::of(sheet);
    write_scores(&mut tx, &key, &change.scores, actor).await?;
    for (field, old, new) in [
        ("comment", &comment, &change.comment),
        (
            "comment_to_entrant",
            &to_entrant,
            &change.comment_to_entrant,
        ),
    ] {
        if let Some(new) = new
            && new != old
        {
            sqlx::query(&format!(
                "update judge_assignment set {field} = $2 where judge_assignment_id = $1"
            ))
            .bind(sheet.judge_assignment_id)
            .bind(new)
            .execute(&mut *tx)
            .await?;
            audit(&mut tx, &key, actor, field, Some(old), Some(new)).await?;
        }
    }
    if change.submit {
        let now = sheet_scores(&mut *tx, sheet.judge_assignment_id).await?;
        if criteria_ids.iter().any(|c| !now.contains_key(c)) {
            return Ok(Err(JudgingRefusal::ScoresIncomplete));
        }
        sqlx::query(
            "update judge_assignment set submitted_at = now() where judge_assignment_id = $1",
        )
        .bind(sheet.judge_assignment_id)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, &key, actor, "submit", None, None).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Writes the scores that changed (set or cleared), each with its audit row.
async fn write_scores(
    tx: &mut PgConnection,
    key: &AuditKey,
    scores: &[(i64, Option<f64>)],
    actor: i64,
) -> sqlx::Result<()> {
    let old = sheet_scores(&mut *tx, key.assignment).await?;
    for (criterion, value) in scores {
        let before = old.get(criterion).copied();
        if before == *value {
            continue;
        }
        match value {
            Some(v) => {
                sqlx::query(
                    "insert into judge_score (judge_assignment_id, judging_criterion_id, score) values ($1, $2, $3)
                     on conflict (judge_assignment_id, judging_criterion_id) do update set score = excluded.score, updated_at = now()",
                )
                .bind(key.assignment)
                .bind(criterion)
                .bind(v)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("delete from judge_score where judge_assignment_id = $1 and judging_criterion_id = $2")
                    .bind(key.assignment)
                    .bind(criterion)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audit(
            &mut *tx,
            key,
            actor,
            &format!("score:{criterion}"),
            before.map(fmt_score).as_deref(),
            value.map(fmt_score).as_deref(),
        )
        .await?;
    }
    Ok(())
}

/// An organizer reopens a submitted sheet; refused when it is not submitted.
pub async fn reopen_sheet(
    db: &sqlx::PgPool,
    round_id: i64,
    entry: Uuid,
    judge: i64,
    actor: i64,
) -> sqlx::Result<Result<(), JudgingRefusal>> {
    let mut tx = db.begin().await?;
    let row: Option<(i64, i64)> = sqlx::query_as(
        "update judge_assignment a set submitted_at = null from judging_round r
         where r.judging_round_id = a.judging_round_id and a.judging_round_id = $1 and a.entry_id = $2
           and a.judge_id = $3 and a.submitted_at is not null
         returning a.judge_assignment_id, r.contest_id",
    )
    .bind(round_id)
    .bind(entry)
    .bind(judge)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((assignment, contest_id)) = row else {
        return Ok(Err(JudgingRefusal::SheetNotSubmitted));
    };
    let key = AuditKey {
        contest_id,
        round_id,
        assignment,
        entry,
        judge,
    };
    audit(&mut tx, &key, actor, "reopen", None, None).await?;
    tx.commit().await?;
    Ok(Ok(()))
}
