use super::*;
use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

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
