//! The scoring math of a judging round, with no I/O: a judge's weighted score of an entry, the
//! raw mean, the per-judge normalised mean, votes scaled into points, the combined score and
//! the rank with the round's tie-break steps. Everything here is pure and unit-tested.
//!
//! `model` holds the types; `score` checks and weighs one sheet, `normalise` evens out
//! harsh and lenient judges, `ranking` combines judges and votes and orders the entries.

mod model;
mod normalise;
mod ranking;
mod score;

pub use model::{
    Criterion, EntryInput, EntryResult, Formula, JudgeBasis, JudgeScore, Sheet, TieBreak,
    VoteScaling,
};
pub use ranking::{compute, vote_points};
pub use score::{ScoreError, check_score, parse_number, range_top, round2, weighted};

#[cfg(test)]
mod tests;
