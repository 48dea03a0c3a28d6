//! The scoring math of a judging round, with no I/O: a judge's weighted score of an entry, the
//! raw mean, the per-judge normalised mean, votes scaled into points, the combined score and
//! the rank with the round's tie-break steps. Everything here is pure and unit-tested.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Scores closer than this are equal (they come from decimals with one fractional digit, so
/// a real difference is far larger than float noise).
const EPS: f64 = 1e-9;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Criterion {
    pub id: i64,
    pub name: String,
    pub max: f64,
    pub weight: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VoteScaling {
    /// votes ÷ the top entry's votes × the judges' range (the default).
    TopShare,
    /// (n − rank₀) ÷ n × the judges' range, rank₀ counted from 0 by votes; no votes: 0.
    RankPoints,
}

impl VoteScaling {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "top_share" => Some(Self::TopShare),
            "rank_points" => Some(Self::RankPoints),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::TopShare => "top_share",
            Self::RankPoints => "rank_points",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeBasis {
    Raw,
    Normalized,
}

impl JudgeBasis {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "raw" => Some(Self::Raw),
            "normalized" => Some(Self::Normalized),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Raw => "raw",
            Self::Normalized => "normalized",
        }
    }
}

/// One step of the tie-break, applied in order after the combined score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TieBreak {
    /// Higher judges' score (on the round's basis).
    Judges,
    /// More public votes.
    Votes,
    /// Higher mean score on one criterion.
    Criterion(i64),
    /// Submitted earlier.
    Earlier,
}

impl TieBreak {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "judges" => Some(Self::Judges),
            "votes" => Some(Self::Votes),
            "earlier" => Some(Self::Earlier),
            _ => s
                .strip_prefix("criterion:")
                .and_then(|id| id.parse().ok())
                .map(Self::Criterion),
        }
    }

    pub fn code(self) -> String {
        match self {
            Self::Judges => "judges".into(),
            Self::Votes => "votes".into(),
            Self::Earlier => "earlier".into(),
            Self::Criterion(id) => format!("criterion:{id}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    /// Percent of the combined score from judges (0..=100); the rest from votes.
    pub judges_weight: u8,
    pub vote_scaling: VoteScaling,
    pub judge_basis: JudgeBasis,
    pub tie_break: Vec<TieBreak>,
}

/// A submitted score sheet: one judge, one entry, a score per criterion id.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub entry: Uuid,
    pub judge: i64,
    pub scores: HashMap<i64, f64>,
}

#[derive(Debug, Clone)]
pub struct EntryInput {
    pub id: Uuid,
    pub votes: i64,
    pub submitted_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgeScore {
    pub judge: i64,
    pub weighted: f64,
    pub normalized: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EntryResult {
    pub id: Uuid,
    pub rank: usize,
    pub judges: Vec<JudgeScore>,
    pub judge_score: Option<f64>,
    pub judge_score_normalized: Option<f64>,
    pub criterion_means: BTreeMap<i64, f64>,
    pub votes: i64,
    pub vote_points: f64,
    pub combined: f64,
    #[serde(skip)]
    pub submitted_at: DateTime<Utc>,
}

impl EntryResult {
    /// The judges' part of the combined score, on the round's basis.
    pub fn judges_on(&self, basis: JudgeBasis) -> Option<f64> {
        match basis {
            JudgeBasis::Raw => self.judge_score,
            JudgeBasis::Normalized => self.judge_score_normalized,
        }
    }
}

/// The top of the judges' range: the weighted mean of the criteria's maxima (10 when every
/// criterion is out of 10). Votes are scaled into the same range.
pub fn range_top(criteria: &[Criterion]) -> f64 {
    let w: f64 = criteria.iter().map(|c| c.weight).sum();
    if w <= 0.0 {
        return 0.0;
    }
    criteria.iter().map(|c| c.weight * c.max).sum::<f64>() / w
}

/// A judge's weighted score of one entry: Σ weightᵢ·scoreᵢ ÷ Σ weightᵢ (a missing criterion
/// counts 0; submitting requires all of them).
pub fn weighted(criteria: &[Criterion], scores: &HashMap<i64, f64>) -> f64 {
    let w: f64 = criteria.iter().map(|c| c.weight).sum();
    if w <= 0.0 {
        return 0.0;
    }
    criteria
        .iter()
        .map(|c| c.weight * scores.get(&c.id).copied().unwrap_or(0.0))
        .sum::<f64>()
        / w
}

fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Population standard deviation (a judge's own spread, not an estimate of a larger one).
fn std_dev(xs: &[f64]) -> f64 {
    let Some(m) = mean(xs) else { return 0.0 };
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
}

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
    // Each judge's own mean and spread, and the panel's, over this round's sheets.
    let all: Vec<f64> = scored.iter().map(|s| s.2).collect();
    let panel_mean = mean(&all).unwrap_or(0.0);
    let panel_sd = std_dev(&all);
    let mut per_judge: HashMap<i64, Vec<f64>> = HashMap::new();
    for (_, j, x) in &scored {
        per_judge.entry(*j).or_default().push(*x);
    }
    let judge_stats: HashMap<i64, (f64, f64)> = per_judge
        .iter()
        .map(|(j, xs)| (*j, (mean(xs).unwrap_or(0.0), std_dev(xs))))
        .collect();
    let normalize = |judge: i64, x: f64| {
        let (m, sd) = judge_stats.get(&judge).copied().unwrap_or((0.0, 0.0));
        let z = if sd > EPS { (x - m) / sd } else { 0.0 };
        (panel_mean + z * panel_sd).clamp(0.0, top)
    };
    let points = vote_points(entries, formula.vote_scaling, top);
    let jw = f64::from(formula.judges_weight.min(100)) / 100.0;

    let mut results: Vec<EntryResult> = entries
        .iter()
        .map(|e| {
            let mut judges: Vec<JudgeScore> = scored
                .iter()
                .filter(|s| s.0 == e.id)
                .map(|&(_, judge, x)| JudgeScore {
                    judge,
                    weighted: x,
                    normalized: normalize(judge, x),
                })
                .collect();
            judges.sort_by_key(|j| j.judge);
            let raw: Vec<f64> = judges.iter().map(|j| j.weighted).collect();
            let norm: Vec<f64> = judges.iter().map(|j| j.normalized).collect();
            let mut criterion_means = BTreeMap::new();
            for c in criteria {
                let xs: Vec<f64> = sheets
                    .iter()
                    .filter(|s| s.entry == e.id)
                    .map(|s| s.scores.get(&c.id).copied().unwrap_or(0.0))
                    .collect();
                if let Some(m) = mean(&xs) {
                    criterion_means.insert(c.id, m);
                }
            }
            let mut r = EntryResult {
                id: e.id,
                rank: 0,
                judges,
                judge_score: mean(&raw),
                judge_score_normalized: mean(&norm),
                criterion_means,
                votes: e.votes,
                vote_points: points.get(&e.id).copied().unwrap_or(0.0),
                combined: 0.0,
                submitted_at: e.submitted_at,
            };
            r.combined =
                jw * r.judges_on(formula.judge_basis).unwrap_or(0.0) + (1.0 - jw) * r.vote_points;
            r
        })
        .collect();
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

/// Why a typed score is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScoreError {
    OutOfRange,
    NotAStep,
}

/// A score within 0..=max, whole points (or halves where the round allows them).
pub fn check_score(value: f64, max: f64, half_points: bool) -> Result<f64, ScoreError> {
    if !value.is_finite() || value < 0.0 || value > max + EPS {
        return Err(ScoreError::OutOfRange);
    }
    let steps = if half_points { value * 2.0 } else { value };
    if (steps - steps.round()).abs() > EPS {
        return Err(ScoreError::NotAStep);
    }
    Ok(if half_points {
        (value * 2.0).round() / 2.0
    } else {
        value.round()
    })
}

/// Rounds for display and snapshots: two decimals.
pub fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const C1: i64 = 11;
    const C2: i64 = 12;

    fn criteria() -> Vec<Criterion> {
        vec![
            Criterion {
                id: C1,
                name: "Nội dung".into(),
                max: 10.0,
                weight: 2.0,
            },
            Criterion {
                id: C2,
                name: "Kỹ thuật".into(),
                max: 10.0,
                weight: 1.0,
            },
        ]
    }

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn at(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 1, 8, minute, 0).unwrap()
    }

    fn sheet(entry: u128, judge: i64, c1: f64, c2: f64) -> Sheet {
        Sheet {
            entry: id(entry),
            judge,
            scores: HashMap::from([(C1, c1), (C2, c2)]),
        }
    }

    fn entry(n: u128, votes: i64, minute: u32) -> EntryInput {
        EntryInput {
            id: id(n),
            votes,
            submitted_at: at(minute),
        }
    }

    /// A = 8 (C1 mean 8.5), B = 8 (C1 mean 7), C = 6 and D = 6 alike in every score (D
    /// submitted earlier), E = 4. Two judges score everything.
    fn dataset(votes: [i64; 5]) -> (Vec<EntryInput>, Vec<Sheet>) {
        let entries = vec![
            entry(1, votes[0], 10),
            entry(2, votes[1], 11),
            entry(3, votes[2], 12),
            entry(4, votes[3], 5),
            entry(5, votes[4], 13),
        ];
        let sheets = vec![
            sheet(1, 100, 9.0, 6.0),
            sheet(1, 200, 8.0, 8.0),
            sheet(2, 100, 7.0, 10.0),
            sheet(2, 200, 7.0, 10.0),
            sheet(3, 100, 6.0, 6.0),
            sheet(3, 200, 6.0, 6.0),
            sheet(4, 100, 6.0, 6.0),
            sheet(4, 200, 6.0, 6.0),
            sheet(5, 100, 3.0, 3.0),
            sheet(5, 200, 5.0, 5.0),
        ];
        (entries, sheets)
    }

    fn formula(judges_weight: u8, tie_break: &[TieBreak]) -> Formula {
        Formula {
            judges_weight,
            vote_scaling: VoteScaling::TopShare,
            judge_basis: JudgeBasis::Raw,
            tie_break: tie_break.to_vec(),
        }
    }

    fn ranks(results: &[EntryResult]) -> Vec<(u128, usize)> {
        results.iter().map(|r| (r.id.as_u128(), r.rank)).collect()
    }

    #[test]
    fn weighted_scores_and_raw_means_follow_the_weights() {
        let (entries, sheets) = dataset([0; 5]);
        let r = compute(&criteria(), &formula(100, &[]), &entries, &sheets);
        let a = r.iter().find(|r| r.id == id(1)).unwrap();
        assert!((a.judges[0].weighted - 8.0).abs() < 1e-9, "(2·9 + 6) / 3");
        assert!((a.judge_score.unwrap() - 8.0).abs() < 1e-9);
        assert!((a.criterion_means[&C1] - 8.5).abs() < 1e-9);
        assert!((range_top(&criteria()) - 10.0).abs() < 1e-9);
    }

    #[test]
    fn a_named_criterion_breaks_a_tie_then_the_earlier_submission() {
        let (entries, sheets) = dataset([0; 5]);
        let f = formula(100, &[TieBreak::Criterion(C1), TieBreak::Earlier]);
        let r = compute(&criteria(), &f, &entries, &sheets);
        // A and B: 8 each, A is better on C1. C and D: equal in every score, D was earlier.
        assert_eq!(ranks(&r), [(1, 1), (2, 2), (4, 3), (3, 4), (5, 5)]);
    }

    #[test]
    fn votes_break_a_tie_and_without_steps_ties_share_a_rank() {
        let (entries, sheets) = dataset([5, 20, 3, 3, 0]);
        let f = formula(100, &[TieBreak::Votes, TieBreak::Earlier]);
        let r = compute(&criteria(), &f, &entries, &sheets);
        assert_eq!(ranks(&r), [(2, 1), (1, 2), (4, 3), (3, 4), (5, 5)]);

        let none = compute(&criteria(), &formula(100, &[]), &entries, &sheets);
        let shared: Vec<usize> = none.iter().map(|r| r.rank).collect();
        assert_eq!(shared, [1, 1, 3, 3, 5], "competition ranking: 1, 1, 3");
    }

    #[test]
    fn the_judges_step_breaks_a_tie_of_combined_scores() {
        // 50/50: P = 0.5·8 + 0.5·2 = 5, Q = 0.5·6 + 0.5·4 = 5, R = 10.
        let crit = vec![Criterion {
            id: C1,
            name: "Tổng".into(),
            max: 10.0,
            weight: 1.0,
        }];
        let one = |e: u128, s: f64| Sheet {
            entry: id(e),
            judge: 1,
            scores: HashMap::from([(C1, s)]),
        };
        let entries = vec![entry(1, 20, 1), entry(2, 40, 2), entry(3, 100, 3)];
        let sheets = vec![one(1, 8.0), one(2, 6.0), one(3, 10.0)];
        let by_judges = compute(&crit, &formula(50, &[TieBreak::Judges]), &entries, &sheets);
        assert!((by_judges[1].combined - 5.0).abs() < 1e-9);
        assert_eq!(ranks(&by_judges), [(3, 1), (1, 2), (2, 3)]);
        let by_votes = compute(&crit, &formula(50, &[TieBreak::Votes]), &entries, &sheets);
        assert_eq!(ranks(&by_votes), [(3, 1), (2, 2), (1, 3)]);
    }

    #[test]
    fn normalisation_evens_out_a_harsh_and_a_lenient_judge() {
        let crit = vec![Criterion {
            id: C1,
            name: "Tổng".into(),
            max: 10.0,
            weight: 1.0,
        }];
        let s = |e: u128, judge: i64, x: f64| Sheet {
            entry: id(e),
            judge,
            scores: HashMap::from([(C1, x)]),
        };
        // The harsh judge gives 2, 3, 4 to entries 1–3; the lenient one 7, 8, 9 to 4–6.
        let entries: Vec<_> = (1..=6).map(|n| entry(n, 0, n as u32)).collect();
        let sheets = vec![
            s(1, 1, 2.0),
            s(2, 1, 3.0),
            s(3, 1, 4.0),
            s(4, 2, 7.0),
            s(5, 2, 8.0),
            s(6, 2, 9.0),
        ];
        let raw = compute(&crit, &formula(100, &[]), &entries, &sheets);
        let get = |rs: &[EntryResult], n: u128| rs.iter().find(|r| r.id == id(n)).unwrap().clone();
        // Raw: the lenient judge's worst (7) beats the harsh judge's best (4).
        assert!(get(&raw, 4).rank < get(&raw, 3).rank);
        // Normalised: each judge's best is equal, and far above the other's worst.
        let e3 = get(&raw, 3);
        let e4 = get(&raw, 4);
        let e6 = get(&raw, 6);
        let n3 = e3.judge_score_normalized.unwrap();
        let n6 = e6.judge_score_normalized.unwrap();
        let n4 = e4.judge_score_normalized.unwrap();
        assert!((n3 - n6).abs() < 1e-9, "{n3} vs {n6}");
        assert!(n3 > n4 + 5.0, "{n3} vs {n4}");
        // Rescaled to the panel: mean 5.5, spread √(41.5/6), within 0..=10.
        let expected = 5.5 + (1.5f64).sqrt() * (41.5f64 / 6.0).sqrt();
        assert!((n3 - expected).abs() < 1e-9, "{n3} vs {expected}");
        assert!(
            (get(&raw, 2).judge_score_normalized.unwrap() - 5.5).abs() < 1e-9,
            "a judge's middle is the panel's mean"
        );
        let mut f = formula(100, &[]);
        f.judge_basis = JudgeBasis::Normalized;
        let norm = compute(&crit, &f, &entries, &sheets);
        assert!(get(&norm, 3).rank < get(&norm, 4).rank);
        assert_eq!(get(&norm, 3).rank, 1, "entries 3 and 6 share the top");
        assert_eq!(get(&norm, 6).rank, 1);
    }

    #[test]
    fn votes_scale_by_the_top_entry_or_by_rank() {
        let entries = vec![entry(1, 200, 1), entry(2, 50, 2), entry(3, 0, 3)];
        let top = vote_points(&entries, VoteScaling::TopShare, 10.0);
        assert!((top[&id(1)] - 10.0).abs() < 1e-9);
        assert!((top[&id(2)] - 2.5).abs() < 1e-9);
        assert!(top[&id(3)].abs() < 1e-9);
        let rank = vote_points(&entries, VoteScaling::RankPoints, 10.0);
        assert!((rank[&id(1)] - 10.0).abs() < 1e-9);
        assert!((rank[&id(2)] - 20.0 / 3.0).abs() < 1e-9);
        assert!(rank[&id(3)].abs() < 1e-9, "no votes, no points");
        let none = vote_points(&[entry(1, 0, 1)], VoteScaling::TopShare, 10.0);
        assert!(none[&id(1)].abs() < 1e-9, "no division by zero");
    }

    #[test]
    fn the_combined_score_weighs_judges_against_votes() {
        let (entries, sheets) = dataset([100, 0, 0, 0, 50]);
        let r = compute(&criteria(), &formula(70, &[]), &entries, &sheets);
        let a = r.iter().find(|r| r.id == id(1)).unwrap();
        assert!((a.combined - (0.7 * 8.0 + 0.3 * 10.0)).abs() < 1e-9);
        let e = r.iter().find(|r| r.id == id(5)).unwrap();
        assert!((e.combined - (0.7 * 4.0 + 0.3 * 5.0)).abs() < 1e-9);
        let unscored = compute(&criteria(), &formula(70, &[]), &entries, &[]);
        assert!(unscored.iter().all(|r| r.judge_score.is_none()));
        assert_eq!(unscored[0].id, id(1), "votes alone still rank");
    }

    #[test]
    fn scores_are_checked_against_the_maximum_and_the_step() {
        assert_eq!(check_score(7.0, 10.0, false), Ok(7.0));
        assert_eq!(check_score(7.5, 10.0, false), Err(ScoreError::NotAStep));
        assert_eq!(check_score(7.5, 10.0, true), Ok(7.5));
        assert_eq!(check_score(7.25, 10.0, true), Err(ScoreError::NotAStep));
        assert_eq!(check_score(10.5, 10.0, true), Err(ScoreError::OutOfRange));
        assert_eq!(check_score(-1.0, 10.0, true), Err(ScoreError::OutOfRange));
        assert_eq!(
            check_score(f64::NAN, 10.0, true),
            Err(ScoreError::OutOfRange)
        );
        assert_eq!(check_score(0.0, 10.0, false), Ok(0.0));
    }

    #[test]
    fn tie_break_steps_round_trip_through_their_codes() {
        for s in ["judges", "votes", "earlier", "criterion:42"] {
            assert_eq!(TieBreak::parse(s).unwrap().code(), s);
        }
        assert_eq!(TieBreak::parse("criterion:x"), None);
        assert_eq!(TieBreak::parse("luck"), None);
    }
}
