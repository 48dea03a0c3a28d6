//! Rounds and their criteria: the round a contest judges now (round 1 is created the first
//! time judging is set up), the organizer's set-up (refused once the round opens), opening a
//! round, and advancing the chosen entries to the next round.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::math::{Criterion, Formula, JudgeBasis, TieBreak, VoteScaling};
use super::refusal::JudgingRefusal;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoundRow {
    pub judging_round_id: i64,
    pub contest_id: i64,
    pub number: i32,
    pub name: String,
    pub judges_weight: i32,
    pub vote_scaling: String,
    pub judge_basis: String,
    pub tie_break: Vec<String>,
    pub half_points: bool,
    pub conflict_own_unit: bool,
    pub public_shortlist: bool,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl RoundRow {
    pub fn formula(&self) -> Formula {
        Formula {
            judges_weight: u8::try_from(self.judges_weight.clamp(0, 100)).unwrap_or(100),
            vote_scaling: VoteScaling::parse(&self.vote_scaling).unwrap_or(VoteScaling::TopShare),
            judge_basis: JudgeBasis::parse(&self.judge_basis).unwrap_or(JudgeBasis::Raw),
            tie_break: self
                .tie_break
                .iter()
                .filter_map(|s| TieBreak::parse(s))
                .collect(),
        }
    }

    /// Criteria, formula and tie-break can no longer change.
    pub fn locked(&self) -> bool {
        self.opened_at.is_some()
    }

    /// Judges may score.
    pub fn is_open(&self) -> bool {
        self.opened_at.is_some() && self.closed_at.is_none()
    }
}

const ROUND_SQL: &str =
    "select judging_round_id, contest_id, number, name, judges_weight, vote_scaling,
    judge_basis, tie_break, half_points, conflict_own_unit, public_shortlist, opened_at, closed_at
    from judging_round";

pub async fn rounds(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<Vec<RoundRow>> {
    sqlx::query_as(&format!(
        "{ROUND_SQL} where contest_id = $1 order by number"
    ))
    .bind(contest_id)
    .fetch_all(db)
    .await
}

pub async fn round(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<Option<RoundRow>> {
    sqlx::query_as(&format!("{ROUND_SQL} where judging_round_id = $1"))
        .bind(round_id)
        .fetch_optional(db)
        .await
}

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
        for (i, c) in criteria_of_settings(&settings).iter().enumerate() {
            insert_criterion(&mut tx, round_id, i, c, None).await?;
        }
        sync_category_criteria(&mut tx, round_id).await?;
    }
    tx.commit().await?;
    rounds(db, contest_id)
        .await?
        .pop()
        .ok_or(sqlx::Error::RowNotFound)
}

/// The criteria a contest was created with (`settings.criteria`, at most 20), leaving out
/// any that would not pass the set-up form.
fn criteria_of_settings(settings: &serde_json::Value) -> Vec<CriterionDraft> {
    let list = settings
        .get("criteria")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .take(20)
        .filter_map(|c| {
            let name = c.get("name").and_then(|v| v.as_str()).unwrap_or("").trim();
            let number = |key: &str, default: f64| {
                c.get(key)
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(default)
            };
            let (max, weight) = (number("max", 10.0), number("weight", 1.0));
            let valid = !name.is_empty()
                && name.chars().count() <= 200
                && max > 0.0
                && max <= 1000.0
                && weight > 0.0
                && weight <= 1000.0;
            valid.then(|| CriterionDraft {
                id: None,
                name: name.to_owned(),
                description: String::new(),
                max,
                weight,
            })
        })
        .collect()
}

/// A criterion as the set-up form (or a copy) gives it; `id` is `None` for a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionDraft {
    pub id: Option<i64>,
    pub name: String,
    pub description: String,
    pub max: f64,
    pub weight: f64,
}

/// Adds a criterion at `position` (of `category`'s own rubric, or the round's) and returns
/// its id.
async fn insert_criterion(
    conn: &mut PgConnection,
    round_id: i64,
    position: usize,
    c: &CriterionDraft,
    category: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into judging_criterion (judging_round_id, position, name, description, max_score, weight, category_id)
         values ($1, $2, $3, $4, $5, $6, $7) returning judging_criterion_id",
    )
    .bind(round_id)
    .bind(position as i32)
    .bind(&c.name)
    .bind(&c.description)
    .bind(c.max)
    .bind(c.weight)
    .bind(category)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CriterionRow {
    pub judging_criterion_id: i64,
    pub name: String,
    pub description: String,
    pub max_score: f64,
    pub weight: f64,
}

impl CriterionRow {
    pub fn math(&self) -> Criterion {
        Criterion {
            id: self.judging_criterion_id,
            name: self.name.clone(),
            max: self.max_score,
            weight: self.weight,
        }
    }
}

pub async fn criteria(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<Vec<CriterionRow>> {
    sqlx::query_as(
        "select judging_criterion_id, name, description, max_score::float8 as max_score,
                weight::float8 as weight
         from judging_criterion where judging_round_id = $1 and category_id is null
         order by position, judging_criterion_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await
}

/// The criteria an entry is scored against in a round: its category's own, when the round
/// has some for it, else the round's general ones.
pub async fn criteria_of_entry(
    db: impl PgExecutor<'_>,
    round_id: i64,
    entry_id: Uuid,
) -> sqlx::Result<Vec<CriterionRow>> {
    sqlx::query_as(
        "with own as (select k.category_id from judging_criterion k join entry e on e.category_id = k.category_id
                      where k.judging_round_id = $1 and e.entry_id = $2 limit 1)
         select judging_criterion_id, name, description, max_score::float8 as max_score,
                weight::float8 as weight
         from judging_criterion where judging_round_id = $1
           and category_id is not distinct from (select category_id from own)
         order by position, judging_criterion_id",
    )
    .bind(round_id)
    .bind(entry_id)
    .fetch_all(db)
    .await
}

/// The categories of a round that have criteria of their own, with them.
pub async fn category_criteria(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<HashMap<i64, Vec<CriterionRow>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        category_id: i64,
        #[sqlx(flatten)]
        c: CriterionRow,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select category_id, judging_criterion_id, name, description, max_score::float8 as max_score,
                weight::float8 as weight
         from judging_criterion where judging_round_id = $1 and category_id is not null
         order by position, judging_criterion_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    let mut out: HashMap<i64, Vec<CriterionRow>> = HashMap::new();
    for r in rows {
        out.entry(r.category_id).or_default().push(r.c);
    }
    Ok(out)
}

/// Makes a round that has not opened carry its contest's category rubrics
/// (`contest_category.criteria`): until it opens they follow the categories' settings; from
/// then on they are the round's, like its general criteria.
pub async fn sync_category_criteria(conn: &mut PgConnection, round_id: i64) -> sqlx::Result<()> {
    let opened: Option<DateTime<Utc>> =
        sqlx::query_scalar("select opened_at from judging_round where judging_round_id = $1")
            .bind(round_id)
            .fetch_one(&mut *conn)
            .await?;
    if opened.is_some() {
        return Ok(());
    }
    sqlx::query(
        "delete from judging_criterion where judging_round_id = $1 and category_id is not null",
    )
    .bind(round_id)
    .execute(&mut *conn)
    .await?;
    let rubrics: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "select k.category_id, k.criteria from contest_category k
         join judging_round r on r.contest_id = k.contest_id
         where r.judging_round_id = $1 and jsonb_typeof(k.criteria) = 'array'
         order by k.position, k.category_id",
    )
    .bind(round_id)
    .fetch_all(&mut *conn)
    .await?;
    for (category, list) in rubrics {
        let drafts = criteria_of_settings(&serde_json::json!({ "criteria": list }));
        for (pos, c) in drafts.iter().enumerate() {
            insert_criterion(&mut *conn, round_id, pos, c, Some(category)).await?;
        }
    }
    Ok(())
}

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

/// Round 1 (while not closed) judges every approved entry: newly approved ones join it.
pub async fn sync_first_round(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "insert into round_entry (judging_round_id, entry_id)
         select r.judging_round_id, e.entry_id from judging_round r join entry e using (contest_id)
         where r.judging_round_id = $1 and r.number = 1 and r.closed_at is null and e.status = 'approved'
         on conflict do nothing",
    )
    .bind(round_id)
    .execute(db)
    .await
    .map(drop)
}

/// The entries a round judges.
pub async fn entries(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar("select entry_id from round_entry where judging_round_id = $1")
        .bind(round_id)
        .fetch_all(db)
        .await
}

/// How many entries a round judges.
pub async fn entry_count(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from round_entry where judging_round_id = $1")
        .bind(round_id)
        .fetch_one(db)
        .await
}

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
