//! What the voting pages' forms and the API's bodies carry, read into the domain's types.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use hoithi_core::api_error::ApiError;
use serde::Deserialize;

use crate::domain::voting::policy::VotePolicy;

pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    hoithi_core::api_error::json_from_slice(body)
}
/// The policy form of the organizers' page.
#[derive(Debug, Deserialize)]
pub struct PolicyForm {
    #[serde(default)]
    per_day: String,
    #[serde(default)]
    per_contest: String,
    #[serde(default)]
    per_round: String,
    #[serde(default)]
    round: String,
    hide_totals: Option<String>,
    shuffle: Option<String>,
    roster: Option<String>,
}

impl PolicyForm {
    /// The policy the form asks for (not yet validated).
    pub fn policy(&self) -> VotePolicy {
        VotePolicy {
            per_day: number(&self.per_day).unwrap_or(1),
            per_contest: number(&self.per_contest),
            per_round: number(&self.per_round),
            round: number(&self.round).unwrap_or(1),
            hide_totals: self.hide_totals.is_some(),
            shuffle: self.shuffle.is_some(),
            roster: self.roster.is_some(),
        }
    }
}

/// The policy of the API: fields left out take their defaults.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyBody {
    per_day: Option<i64>,
    per_contest: Option<i64>,
    per_round: Option<i64>,
    round: Option<i64>,
    hide_totals: Option<bool>,
    shuffle: Option<bool>,
    roster: Option<bool>,
}

impl PolicyBody {
    pub fn policy(&self) -> VotePolicy {
        let d = VotePolicy::default();
        VotePolicy {
            per_day: self.per_day.unwrap_or(d.per_day),
            per_contest: self.per_contest,
            per_round: self.per_round,
            round: self.round.unwrap_or(d.round),
            hide_totals: self.hide_totals.unwrap_or(d.hide_totals),
            shuffle: self.shuffle.unwrap_or(d.shuffle),
            roster: self.roster.unwrap_or(d.roster),
        }
    }
}

/// A whole number from a form field; empty is `None`, anything else not a number is `Some(0)`
/// (out of bounds, so refused with the field's message).
fn number(s: &str) -> Option<i64> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.parse().unwrap_or(0))
}

#[derive(Debug, Deserialize)]
pub struct RosterForm {
    #[serde(default)]
    pub csv: String,
}

#[derive(Debug, Deserialize)]
pub struct InvalidateForm {
    /// A voter's id or email.
    #[serde(default)]
    pub voter: String,
    #[serde(default)]
    pub ip_network: String,
    /// `datetime-local` values, in Vietnam's time.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Deserialize)]
pub struct RestoreForm {
    pub id: i64,
    #[serde(default)]
    pub reason: String,
}

/// A `datetime-local` value read as Asia/Ho_Chi_Minh time (UTC+7, no daylight saving).
pub fn local_time(s: &str) -> Result<Option<DateTime<Utc>>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ())?;
    let vn = FixedOffset::east_opt(7 * 3600).ok_or(())?;
    vn.from_local_datetime(&naive)
        .single()
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_are_vietnam_time() {
        let t = local_time("2026-11-30T10:00").unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T03:00:00+00:00");
        assert_eq!(local_time(" ").unwrap(), None);
        assert!(local_time("30/11/2026").is_err());
        assert_eq!(number("x"), Some(0));
        assert_eq!(number(""), None);
    }
}
