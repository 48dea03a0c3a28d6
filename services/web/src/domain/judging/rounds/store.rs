//! A round as stored: its row, the queries that read it, and the entries it judges.

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::judging::math::{Formula, JudgeBasis, TieBreak, VoteScaling};

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
