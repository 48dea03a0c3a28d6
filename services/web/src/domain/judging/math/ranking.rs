//! From sheets and votes to a ranked list: votes scaled into the judges' range, the combined
//! score, and the order with the round's tie-break steps (equal entries share a rank:
//! competition ranking, 1, 1, 3).

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::model::{
    Criterion, EPS, EntryInput, EntryResult, Formula, JudgeScore, Sheet, TieBreak, VoteScaling,
};
use super::normalise::Normaliser;
use super::score::{mean, range_top, weighted};

/// Votes as points in 0..=top.
pub fn vote_points(entries: &[EntryInput], scaling: VoteScaling, top: f64) -> HashMap<Uuid, f64> {
    let max = entries.iter().map(|e| e.votes).max().unwrap_or(0);
    let n = entries.len() as f64;
    entries
        .iter()
        .map(|e| {
            let p = if e.votes <= 0 || max <= 0 {
                0.0
            } else {
                match scaling {
                    VoteScaling::TopShare => e.votes as f64 / max as f64 * top,
                    VoteScaling::RankPoints => {
                        let better = entries.iter().filter(|o| o.votes > e.votes).count() as f64;
                        (n - better) / n * top
                    }
                }
            };
            (e.id, p)
        })
        .collect()
}

fn cmp_desc(a: Option<f64>, b: Option<f64>) -> Ordering {
    let a = a.unwrap_or(f64::NEG_INFINITY);
    let b = b.unwrap_or(f64::NEG_INFINITY);
    if (a - b).abs() < EPS || (a.is_infinite() && b.is_infinite()) {
        Ordering::Equal
    } else if a > b {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

/// The order of two results: combined score, then each tie-break step. `Equal` means they
/// share a rank.
fn order(a: &EntryResult, b: &EntryResult, f: &Formula) -> Ordering {
    let mut o = cmp_desc(Some(a.combined), Some(b.combined));
    for step in &f.tie_break {
        if o != Ordering::Equal {
            break;
        }
        o = match *step {
            TieBreak::Judges => cmp_desc(a.judges_on(f.judge_basis), b.judges_on(f.judge_basis)),
            TieBreak::Votes => b.votes.cmp(&a.votes),
            TieBreak::Criterion(id) => cmp_desc(
                a.criterion_means.get(&id).copied(),
                b.criterion_means.get(&id).copied(),
            ),
            TieBreak::Earlier => a.submitted_at.cmp(&b.submitted_at),
        };
    }
    o
}

/// What every entry's result is computed from.
struct Round<'a> {
    criteria: &'a [Criterion],
    formula: &'a Formula,
    sheets: &'a [Sheet],
    /// (entry, judge, weighted score) of each sheet.
    scored: Vec<(Uuid, i64, f64)>,
    normaliser: Normaliser,
    points: HashMap<Uuid, f64>,
}

impl Round<'_> {
    /// One entry's scores, unranked.
    fn result(&self, e: &EntryInput) -> EntryResult {
        let mut judges: Vec<JudgeScore> = self
            .scored
            .iter()
            .filter(|s| s.0 == e.id)
            .map(|&(_, judge, x)| JudgeScore {
                judge,
                weighted: x,
                normalized: self.normaliser.apply(judge, x),
            })
            .collect();
        judges.sort_by_key(|j| j.judge);
        let raw: Vec<f64> = judges.iter().map(|j| j.weighted).collect();
        let norm: Vec<f64> = judges.iter().map(|j| j.normalized).collect();
        let mut r = EntryResult {
            id: e.id,
            rank: 0,
            judges,
            judge_score: mean(&raw),
            judge_score_normalized: mean(&norm),
            criterion_means: self.criterion_means(e.id),
            votes: e.votes,
            vote_points: self.points.get(&e.id).copied().unwrap_or(0.0),
            combined: 0.0,
            submitted_at: e.submitted_at,
        };
        let jw = f64::from(self.formula.judges_weight.min(100)) / 100.0;
        r.combined =
            jw * r.judges_on(self.formula.judge_basis).unwrap_or(0.0) + (1.0 - jw) * r.vote_points;
        r
    }

    /// The mean score of each criterion over the entry's sheets.
    fn criterion_means(&self, entry: Uuid) -> BTreeMap<i64, f64> {
        let mut means = BTreeMap::new();
        for c in self.criteria {
            let xs: Vec<f64> = self
                .sheets
                .iter()
                .filter(|s| s.entry == entry)
                .map(|s| s.scores.get(&c.id).copied().unwrap_or(0.0))
                .collect();
            if let Some(m) = mean(&xs) {
                means.insert(c.id, m);
            }
        }
        means
    }
}

/// Results of a round, best first. Only submitted sheets are passed in.
pub fn compute(
    criteria: &[Criterion],
    formula: &Formula,
    entries: &[EntryInput],
    sheets: &[Sheet],
) -> Vec<EntryResult> {
    let top = range_top(criteria);
    let scored: Vec<(Uuid, i64, f64)> = sheets
        .iter()
        .map(|s| (s.entry, s.judge, weighted(criteria, &s.scores)))
        .collect();
    let round = Round {
        criteria,
        formula,
        sheets,
        normaliser: Normaliser::new(scored.iter().map(|s| (s.1, s.2)), top),
        scored,
        points: vote_points(entries, formula.vote_scaling, top),
    };
    let mut results: Vec<EntryResult> = entries.iter().map(|e| round.result(e)).collect();
    results.sort_by(|a, b| order(a, b, formula).then(a.id.cmp(&b.id)));
    for i in 0..results.len() {
        results[i].rank = if i > 0 && order(&results[i - 1], &results[i], formula).is_eq() {
            results[i - 1].rank
        } else {
            i + 1
        };
    }
    results
}
