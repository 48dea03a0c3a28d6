//! Small parsers shared by the settings: each names the variable and the accepted range in
//! its error, so a mistyped setting stops the start with a sentence an operator can act on.

use std::time::Duration;

/// `key` as a number from `min` to `max`, or `default` when it is not set.
pub fn num<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: T,
    min: T,
    max: T,
) -> anyhow::Result<T> {
    match get(key) {
        None => Ok(default),
        Some(v) => match v.trim().parse::<T>() {
            Ok(n) if n >= min && n <= max => Ok(n),
            _ => anyhow::bail!("{key}={v:?} must be a number from {min} to {max}"),
        },
    }
}

/// `key` as seconds (fractions allowed) from `min` to `max`, or `default` when it is not set.
pub fn seconds(
    get: &impl Fn(&str) -> Option<String>,
    key: &str,
    default: f64,
    min: f64,
    max: f64,
) -> anyhow::Result<Duration> {
    match get(key) {
        None => Ok(Duration::from_secs_f64(default)),
        Some(v) => match v.trim().parse::<f64>() {
            Ok(s) if s.is_finite() && s >= min && s <= max => Ok(Duration::from_secs_f64(s)),
            _ => anyhow::bail!("{key}={v:?} must be a number of seconds from {min} to {max}"),
        },
    }
}
