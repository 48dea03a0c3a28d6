//! One sheet's arithmetic: a typed score checked against its criterion, the weighted score
//! of a sheet, the top of the judges' range, and the two-decimal rounding of what is shown.

use std::collections::HashMap;

use super::model::{Criterion, EPS};

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

pub fn mean(xs: &[f64]) -> Option<f64> {
    (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64)
}

/// Population standard deviation (a judge's own spread, not an estimate of a larger one).
pub fn std_dev(xs: &[f64]) -> f64 {
    let Some(m) = mean(xs) else { return 0.0 };
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
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

/// A number as typed: "7", "7.5" or "7,5".
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim().replace(',', ".");
    if s.is_empty() || s.len() > 12 {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}
