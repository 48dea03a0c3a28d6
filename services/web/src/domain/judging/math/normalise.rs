//! The normalised judges' score: each judge's weighted scores become z-scores against that
//! judge's own mean and spread, rescaled to the whole panel's mean and spread, so a harsh and
//! a lenient judge weigh alike.

use std::collections::HashMap;

use super::model::EPS;
use super::score::{mean, std_dev};

/// Each judge's mean and spread and the panel's, over one round's sheets.
pub struct Normaliser {
    panel_mean: f64,
    panel_sd: f64,
    judges: HashMap<i64, (f64, f64)>,
    top: f64,
}

impl Normaliser {
    /// From (judge, weighted score) of every submitted sheet; results stay within 0..=top.
    pub fn new(scored: impl Iterator<Item = (i64, f64)>, top: f64) -> Self {
        let mut all = Vec::new();
        let mut per_judge: HashMap<i64, Vec<f64>> = HashMap::new();
        for (judge, x) in scored {
            all.push(x);
            per_judge.entry(judge).or_default().push(x);
        }
        Self {
            panel_mean: mean(&all).unwrap_or(0.0),
            panel_sd: std_dev(&all),
            judges: per_judge
                .iter()
                .map(|(j, xs)| (*j, (mean(xs).unwrap_or(0.0), std_dev(xs))))
                .collect(),
            top,
        }
    }

    /// A judge's weighted score on the panel's scale.
    pub fn apply(&self, judge: i64, x: f64) -> f64 {
        let (m, sd) = self.judges.get(&judge).copied().unwrap_or((0.0, 0.0));
        let z = if sd > EPS { (x - m) / sd } else { 0.0 };
        (self.panel_mean + z * self.panel_sd).clamp(0.0, self.top)
    }
}
