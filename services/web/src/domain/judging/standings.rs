//! A round's standings as they stand now: its entries with votes, every active sheet, the
//! math's ranking of them, and which entries advance. (Published results are frozen copies
//! of these; see `results`.)

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;
use uuid::Uuid;

use super::math::{self, EntryInput, EntryResult, Sheet};
use super::rounds::{self, CriterionRow, RoundRow};
use crate::domain::contests::categories;

/// A round's entries with what the results page shows about them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResultEntry {
    pub entry_id: Uuid,
    pub title: String,
    pub author_name: String,
    pub author_email: String,
    pub unit_name: Option<String>,
    pub votes: i64,
    pub submitted_at: DateTime<Utc>,
    pub advanced: bool,
    /// The author is under 16: the public snapshot shortens their name.
    pub author_minor: bool,
    /// The entry's category (hạng mục), in a contest that has them: results rank within it.
    pub category_slug: Option<String>,
    pub category_name: Option<String>,
    pub category_position: Option<i32>,
    pub category_id: Option<i64>,
}

pub async fn result_entries(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<Vec<ResultEntry>> {
    sqlx::query_as(
        "select e.entry_id, e.title, au.display_name as author_name, au.email::text as author_email,
                un.name as unit_name, coalesce(t.votes, 0) as votes,
                coalesce(e.submitted_at, e.created_at) as submitted_at, re.advanced,
                coalesce(au.birth_date > current_date - interval '16 years', false) as author_minor,
                k.slug as category_slug, k.name as category_name, k.position as category_position,
                k.category_id
         from round_entry re join entry e using (entry_id)
         left join contest_category k on k.category_id = e.category_id
         join app_user au on au.app_user_id = e.author_id
         left join unit un on un.unit_id = au.unit_id
         left join vote_tally t on t.entry_id = e.entry_id
         where re.judging_round_id = $1 order by e.created_at",
    )
    .bind(round_id)
    .fetch_all(db)
    .await
}

/// Every active sheet of a round with its scores (submitted or not), for exports and results.
#[derive(Debug, Clone)]
pub struct FullSheet {
    pub entry: Uuid,
    pub judge: i64,
    pub judge_name: String,
    pub judge_email: String,
    pub comment: String,
    pub comment_to_entrant: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub scores: HashMap<i64, f64>,
}

#[derive(sqlx::FromRow)]
struct SheetLine {
    judge_assignment_id: i64,
    entry_id: Uuid,
    judge_id: i64,
    judge_name: String,
    judge_email: String,
    comment: String,
    comment_to_entrant: String,
    submitted_at: Option<DateTime<Utc>>,
}

pub async fn full_sheets(db: &sqlx::PgPool, round_id: i64) -> sqlx::Result<Vec<FullSheet>> {
    let rows: Vec<SheetLine> = sqlx::query_as(
        "select a.judge_assignment_id, a.entry_id, a.judge_id, j.display_name as judge_name,
                j.email::text as judge_email, a.comment, a.comment_to_entrant, a.submitted_at
         from judge_assignment a join app_user j on j.app_user_id = a.judge_id
         join judging_round r on r.judging_round_id = a.judging_round_id
         -- Only sheets of judges whose invitation acts: a sheet left by an account that
         -- merely typed an invited address (before invitations were bound) counts nowhere.
         join contest_judge cj on cj.contest_id = r.contest_id and cj.app_user_id = j.app_user_id
              and cj.email = j.email and j.email_verified_at is not null
         where a.judging_round_id = $1 and a.active order by a.entry_id, a.judge_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    let scores: Vec<(i64, i64, f64)> = sqlx::query_as(
        "select s.judge_assignment_id, s.judging_criterion_id, s.score::float8 from judge_score s
         join judge_assignment a using (judge_assignment_id) where a.judging_round_id = $1 and a.active",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    let mut by_sheet: HashMap<i64, HashMap<i64, f64>> = HashMap::new();
    for (a, c, s) in scores {
        by_sheet.entry(a).or_default().insert(c, s);
    }
    Ok(rows
        .into_iter()
        .map(|r| FullSheet {
            scores: by_sheet.remove(&r.judge_assignment_id).unwrap_or_default(),
            entry: r.entry_id,
            judge: r.judge_id,
            judge_name: r.judge_name,
            judge_email: r.judge_email,
            comment: r.comment,
            comment_to_entrant: r.comment_to_entrant,
            submitted_at: r.submitted_at,
        })
        .collect())
}

/// The math's input from the database: entries with votes, and submitted sheets only.
pub fn inputs(entries: &[ResultEntry], sheets: &[FullSheet]) -> (Vec<EntryInput>, Vec<Sheet>) {
    (
        entries
            .iter()
            .map(|e| EntryInput {
                id: e.entry_id,
                votes: e.votes,
                submitted_at: e.submitted_at,
            })
            .collect(),
        sheets
            .iter()
            .filter(|s| s.submitted_at.is_some())
            .map(|s| Sheet {
                entry: s.entry,
                judge: s.judge,
                scores: s.scores.clone(),
            })
            .collect(),
    )
}

/// Everything a round's results are made of.
pub struct Computed {
    pub round: RoundRow,
    pub criteria: Vec<CriterionRow>,
    pub entries: Vec<ResultEntry>,
    pub results: Vec<EntryResult>,
    /// Judge ids in a fixed order, so judges appear as "judge 1, 2, …".
    pub judges: Vec<(i64, String)>,
    /// The judges' share (percent) of each category ranked on its own weights.
    pub shares: HashMap<i64, u8>,
}

impl Computed {
    pub fn entry(&self, id: Uuid) -> Option<&ResultEntry> {
        self.entries.iter().find(|e| e.entry_id == id)
    }

    pub fn judge_no(&self, judge: i64) -> usize {
        self.judges
            .iter()
            .position(|j| j.0 == judge)
            .map_or(0, |i| i + 1)
    }
}

/// The round's standings from its submitted sheets and the vote tally, each category that
/// sets its own weights (`contest_category.weights`) combined with its own judges' share.
pub async fn compute(db: &sqlx::PgPool, round: RoundRow) -> sqlx::Result<Computed> {
    let shares = categories::judges_shares(db, round.contest_id).await?;
    compute_with(db, round, shares).await
}

/// The round's standings with `shares` as the categories' own judges' shares (none: every
/// entry on the round's formula, as a ranking by judges or votes alone wants).
pub async fn compute_with(
    db: &sqlx::PgPool,
    round: RoundRow,
    shares: HashMap<i64, u8>,
) -> sqlx::Result<Computed> {
    let criteria = rounds::criteria(db, round.judging_round_id).await?;
    let entries = result_entries(db, round.judging_round_id).await?;
    let sheets = full_sheets(db, round.judging_round_id).await?;
    let own = rounds::category_criteria(db, round.judging_round_id).await?;
    let results = if own.is_empty() && shares.is_empty() {
        let (inputs, submitted) = inputs(&entries, &sheets);
        let crit: Vec<_> = criteria.iter().map(CriterionRow::math).collect();
        math::compute(&crit, &round.formula(), &inputs, &submitted)
    } else {
        by_category(&round, &criteria, &own, &shares, &entries, &sheets)
    };
    let mut judges: Vec<(i64, String)> = sheets
        .iter()
        .map(|s| (s.judge, s.judge_name.clone()))
        .collect();
    judges.sort();
    judges.dedup_by_key(|j| j.0);
    Ok(Computed {
        round,
        criteria,
        entries,
        results,
        judges,
        shares,
    })
}

/// The standings of a round where some categories have their own rubric or weights: each
/// such category is computed on its own criteria and judges' share (its results rank within
/// it anyway), the other entries together on the round's; then all in one list, best
/// combined score first.
fn by_category(
    round: &RoundRow,
    general: &[CriterionRow],
    own: &HashMap<i64, Vec<CriterionRow>>,
    shares: &HashMap<i64, u8>,
    entries: &[ResultEntry],
    sheets: &[FullSheet],
) -> Vec<EntryResult> {
    let group = |e: &ResultEntry| {
        e.category_id
            .filter(|k| own.contains_key(k) || shares.contains_key(k))
    };
    let mut keys: Vec<Option<i64>> = entries.iter().map(group).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::with_capacity(entries.len());
    for key in keys {
        let part: Vec<ResultEntry> = entries
            .iter()
            .filter(|e| group(e) == key)
            .cloned()
            .collect();
        let part_sheets: Vec<FullSheet> = sheets
            .iter()
            .filter(|s| part.iter().any(|e| e.entry_id == s.entry))
            .cloned()
            .collect();
        let crit: Vec<_> = key
            .and_then(|k| own.get(&k))
            .map_or(general, Vec::as_slice)
            .iter()
            .map(CriterionRow::math)
            .collect();
        let mut formula = round.formula();
        if let Some(share) = key.and_then(|k| shares.get(&k)) {
            formula.judges_weight = *share;
        }
        let (inputs, submitted) = inputs(&part, &part_sheets);
        out.extend(math::compute(&crit, &formula, &inputs, &submitted));
    }
    out.sort_by(|a, b| b.combined.total_cmp(&a.combined));
    out
}

/// Which entries advance: the first `top` of each group (`grouped`: the results in rank
/// order within their group, a group's rows together, as `results::grouped` gives them for
/// categories), or those with a combined score ≥ `cutoff`.
pub fn advancers<K: PartialEq>(
    grouped: &[(K, &EntryResult)],
    top: Option<usize>,
    cutoff: Option<f64>,
) -> Vec<Uuid> {
    match (top, cutoff) {
        (Some(n), _) => {
            let mut out = Vec::new();
            let mut taken = 0;
            for (i, (key, r)) in grouped.iter().enumerate() {
                let first = i == 0 || grouped[i - 1].0 != *key;
                taken = if first { 1 } else { taken + 1 };
                if taken <= n {
                    out.push(r.id);
                }
            }
            out
        }
        (None, Some(c)) => grouped
            .iter()
            .filter(|(_, r)| r.combined + 1e-9 >= c)
            .map(|(_, r)| r.id)
            .collect(),
        (None, None) => Vec::new(),
    }
}

/// A contest's entry as the entries export lists it (drafts left out).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ListedEntry {
    pub entry_id: Uuid,
    pub title: String,
    pub author_name: String,
    pub author_email: String,
    pub unit_name: Option<String>,
    pub status: String,
    pub submitted_at: DateTime<Utc>,
    pub votes: i64,
    /// The consent state: `privacy` (the entrant's own consent recorded), `guardian-waiting`,
    /// `guardian-given`, or `none` (entries made before consent was recorded, or withdrawn).
    pub consent: String,
    /// The entry's category (hạng mục), in a contest that has them.
    pub category_name: Option<String>,
}

pub async fn listed_entries(
    db: impl PgExecutor<'_>,
    contest_id: i64,
) -> sqlx::Result<Vec<ListedEntry>> {
    sqlx::query_as(
        "select e.entry_id, e.title, a.display_name as author_name, a.email::text as author_email,
                u.name as unit_name, e.status::text as status,
                coalesce(e.submitted_at, e.created_at) as submitted_at, coalesce(t.votes, 0) as votes,
                case when g.entry_id is not null and g.given_at is null then 'guardian-waiting'
                     when g.given_at is not null then 'guardian-given'
                     when exists (select 1 from consent k where k.entry_id = e.entry_id
                                  and k.kind = 'privacy' and k.withdrawn_at is null) then 'privacy'
                     else 'none' end as consent, kc.name as category_name
         from entry e join app_user a on a.app_user_id = e.author_id
         left join contest_category kc on kc.category_id = e.category_id
         left join unit u on u.unit_id = a.unit_id left join vote_tally t on t.entry_id = e.entry_id
         left join guardian_consent g on g.entry_id = e.entry_id
         where e.contest_id = $1 and e.status <> 'draft' order by e.created_at",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advancers_are_exactly_the_top_n_or_those_at_or_above_the_cutoff() {
        let r = |n: u128, combined: f64| math::EntryResult {
            id: Uuid::from_u128(n),
            rank: n as usize,
            judges: vec![],
            judge_score: None,
            judge_score_normalized: None,
            criterion_means: Default::default(),
            votes: 0,
            vote_points: 0.0,
            combined,
            submitted_at: chrono::Utc::now(),
        };
        let results = [r(1, 9.0), r(2, 8.0), r(3, 8.0), r(4, 5.0)];
        let one: Vec<_> = results.iter().map(|r| ((), r)).collect();
        assert_eq!(
            advancers(&one, Some(2), None),
            [Uuid::from_u128(1), Uuid::from_u128(2)]
        );
        assert_eq!(advancers(&one, None, Some(8.0)).len(), 3);
        assert!(advancers(&one, None, None).is_empty());
        // In groups (categories): the first two of each.
        let many = [
            r(1, 9.0),
            r(2, 8.0),
            r(3, 7.0),
            r(4, 5.0),
            r(5, 4.0),
            r(6, 1.0),
        ];
        let grouped: Vec<_> = [1, 1, 1, 2, 2, 3].into_iter().zip(many.iter()).collect();
        assert_eq!(
            advancers(&grouped, Some(2), None),
            [1, 2, 4, 5, 6].map(Uuid::from_u128)
        );
    }
}
