//! The types of the scoring math: criteria, the round's formula and tie-break steps, the
//! sheets and entries that go in, and the results that come out.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

/// Scores closer than this are equal (they come from decimals with one fractional digit, so
/// a real difference is far larger than float noise).
pub const EPS: f64 = 1e-9;

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
