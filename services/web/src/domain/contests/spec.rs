//! A contest as the organizer's form, `POST /api/v1/contests` and `create-contest`'s TOML
//! describe it: one set of fields, and one validation that reports every broken rule with its
//! field (`create` stores what passes).

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::refusal::{ContestRefusal as R, FieldError};
use super::time::parse_time;

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContestSpec {
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub rules: Option<String>,
    #[serde(default)]
    pub cover_url: Option<String>,
    /// Slug of the contest's unit.
    #[serde(default)]
    pub unit: Option<String>,
    /// Slugs of the units whose members may enter (with their subtrees); none: everyone.
    #[serde(default)]
    pub eligible_units: Option<Vec<String>>,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub phases: Phases,
    #[serde(default)]
    pub limits: Option<Limits>,
    #[serde(default)]
    pub requires_moderation: Option<bool>,
    #[serde(default)]
    pub blind_judging: Option<bool>,
    #[serde(default)]
    pub hide_author: Option<bool>,
    /// Entrants give a birth date; under 16 their entry waits for a guardian's consent.
    #[serde(default)]
    pub requires_birth_date: Option<bool>,
    /// Days after results before non-winners' media and code-only voters' emails are deleted
    /// (0 to 3650; none: kept).
    #[serde(default)]
    pub retention_days: Option<i32>,
    /// Placeholders the judging and voting features read from `settings`.
    #[serde(default)]
    pub criteria: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub weights: Option<serde_json::Value>,
    #[serde(default)]
    pub vote_policy: Option<serde_json::Value>,
    /// Voting may open while submissions still come in (it may not by default).
    #[serde(default)]
    pub voting_overlaps_submission: Option<bool>,
    /// Categories (hạng mục / bảng); none: entries belong to the contest as a whole.
    #[serde(default)]
    pub categories: Option<Vec<super::categories::CategorySpec>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    #[serde(default)]
    pub submission: Window,
    pub judging: Option<Window>,
    pub voting: Option<Window>,
    pub results_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default)]
    pub opens_at: String,
    #[serde(default)]
    pub closes_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_photo_bytes: Option<i64>,
    pub max_video_bytes: Option<i64>,
    pub max_video_seconds: Option<i32>,
    pub max_entries_per_member: Option<i32>,
    /// Minutes after submission closes during which uploads already started may finish.
    pub upload_grace_minutes: Option<i32>,
    /// Members a team entry may list (0 to 50; 0, the default: no team entries).
    #[schema(minimum = 0, maximum = 50, default = 0)]
    pub max_team_members: Option<i32>,
    /// Photos a photo series may hold, judged as one entry (1 to 10; 1, the default: no
    /// series).
    #[schema(minimum = 1, maximum = 10, default = 1)]
    pub max_series_photos: Option<i32>,
}

fn err(field: &'static str, refusal: R) -> FieldError {
    FieldError::new(field, refusal)
}

/// A spec that passed validation, ready to insert.
#[derive(Debug, Clone)]
pub struct ValidContest {
    pub slug: String,
    pub title: String,
    pub description: String,
    pub rules: String,
    pub cover_url: Option<String>,
    pub unit: Option<String>,
    pub eligible_units: Vec<String>,
    pub kinds: Vec<String>,
    pub submission: Span,
    pub judging: Option<Span>,
    pub voting: Option<Span>,
    pub results_at: Option<DateTime<Utc>>,
    pub max_photo_bytes: i64,
    pub max_video_bytes: i64,
    pub max_video_seconds: i32,
    pub max_entries_per_member: i32,
    pub upload_grace_minutes: i32,
    pub max_team_members: i32,
    pub max_series_photos: i32,
    pub requires_moderation: bool,
    pub blind_judging: bool,
    pub hide_author: bool,
    pub requires_birth_date: bool,
    pub retention_days: Option<i32>,
    pub settings: serde_json::Value,
    pub voting_overlaps_submission: bool,
    pub categories: Vec<super::categories::ValidCategory>,
}

const MIB: i64 = 1024 * 1024;

/// An opening and a closing time.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

fn window(
    w: &Window,
    opens: &'static str,
    closes: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<Span> {
    let o = parse_time(&w.opens_at);
    let c = parse_time(&w.closes_at);
    if o.is_none() {
        errors.push(err(opens, R::InvalidTime));
    }
    if c.is_none() {
        errors.push(err(closes, R::InvalidTime));
    }
    let (o, c) = (o?, c?);
    if c <= o {
        errors.push(err(closes, R::ClosesBeforeOpens));
        return None;
    }
    Some((o, c))
}

fn optional_window(
    w: Option<&Window>,
    opens: &'static str,
    closes: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<Span> {
    let w = w.filter(|w| !(w.opens_at.trim().is_empty() && w.closes_at.trim().is_empty()))?;
    window(w, opens, closes, errors)
}

/// The texts of a spec, trimmed and checked.
struct Texts {
    slug: String,
    title: String,
    description: String,
    rules: String,
    cover_url: Option<String>,
}

/// The phases of a spec, checked for order (the submission window is required).
struct Dates {
    submission: Option<Span>,
    judging: Option<Span>,
    voting: Option<Span>,
    results_at: Option<DateTime<Utc>>,
}

/// The limits of a spec, defaults filled in and bounds checked.
struct Bounds {
    max_photo_bytes: i64,
    max_video_bytes: i64,
    max_video_seconds: i32,
    max_entries_per_member: i32,
    upload_grace_minutes: i32,
    max_team_members: i32,
    max_series_photos: i32,
}

fn trimmed(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
}

impl ContestSpec {
    /// Checks every field and reports every broken rule at once.
    pub fn validate(&self) -> Result<ValidContest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let texts = self.texts(&mut errors);
        let kinds = self.checked_kinds(&mut errors);
        let voting_overlaps_submission = self.voting_overlaps_submission.unwrap_or(false);
        let dates = self.phases.dates(voting_overlaps_submission, &mut errors);
        let bounds = self.limits.clone().unwrap_or_default().bounds(&mut errors);
        let settings = self.settings(&mut errors);
        let retention_days = self.retention_days;
        if retention_days.is_some_and(|d| !(0..=3650).contains(&d)) {
            errors.push(err("retention_days", R::InvalidLimit));
        }
        let categories = super::categories::validate(
            self.categories.as_deref().unwrap_or_default(),
            &kinds,
            &mut errors,
        );
        let Some(submission) = dates.submission else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidContest {
            slug: texts.slug,
            title: texts.title,
            description: texts.description,
            rules: texts.rules,
            cover_url: texts.cover_url,
            unit: trimmed(self.unit.as_deref()),
            eligible_units: self
                .eligible_units
                .iter()
                .flatten()
                .filter_map(|u| trimmed(Some(u.as_str())))
                .collect(),
            kinds,
            submission,
            judging: dates.judging,
            voting: dates.voting,
            results_at: dates.results_at,
            max_photo_bytes: bounds.max_photo_bytes,
            max_video_bytes: bounds.max_video_bytes,
            max_video_seconds: bounds.max_video_seconds,
            max_entries_per_member: bounds.max_entries_per_member,
            upload_grace_minutes: bounds.upload_grace_minutes,
            max_team_members: bounds.max_team_members,
            max_series_photos: bounds.max_series_photos,
            requires_moderation: self.requires_moderation.unwrap_or(true),
            blind_judging: self.blind_judging.unwrap_or(false),
            hide_author: self.hide_author.unwrap_or(false),
            requires_birth_date: self.requires_birth_date.unwrap_or(false),
            retention_days,
            settings,
            voting_overlaps_submission,
            categories,
        })
    }

    fn texts(&self, errors: &mut Vec<FieldError>) -> Texts {
        let slug = self.slug.trim().to_owned();
        if hoithi_core::domain::Slug::parse(&slug).is_err() {
            errors.push(err("slug", R::InvalidSlug));
        }
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            errors.push(err("title", R::TitleRequired));
        } else if title.chars().count() > 200 {
            errors.push(err("title", R::TitleTooLong));
        }
        let description = self.description.clone().unwrap_or_default();
        if description.chars().count() > 20000 {
            errors.push(err("description", R::DescriptionTooLong));
        }
        let rules = self.rules.clone().unwrap_or_default();
        if rules.chars().count() > 50000 {
            errors.push(err("rules", R::RulesTooLong));
        }
        let cover_url = trimmed(self.cover_url.as_deref());
        if let Some(u) = &cover_url
            && (!(u.starts_with("https://") || u.starts_with('/'))
                || u.len() > 2000
                || u.starts_with("//"))
        {
            errors.push(err("cover_url", R::InvalidCoverUrl));
        }
        Texts {
            slug,
            title,
            description,
            rules,
            cover_url,
        }
    }

    fn checked_kinds(&self, errors: &mut Vec<FieldError>) -> Vec<String> {
        let mut kinds: Vec<String> = self.kinds.iter().map(|k| k.trim().to_owned()).collect();
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            errors.push(err("kinds", R::KindsRequired));
        } else if kinds.iter().any(|k| k != "video" && k != "photo") {
            errors.push(err("kinds", R::InvalidKind));
        }
        kinds
    }

    /// The placeholders the judging and voting features read from `settings`.
    fn settings(&self, errors: &mut Vec<FieldError>) -> serde_json::Value {
        let mut settings = serde_json::Map::new();
        if let Some(c) = &self.criteria {
            settings.insert("criteria".into(), serde_json::Value::Array(c.clone()));
        }
        if let Some(w) = &self.weights {
            settings.insert("weights".into(), w.clone());
        }
        // Stored where the vote ingest reads it, with the bounds its API enforces.
        if let Some(v) = &self.vote_policy {
            // Reading falls back to defaults for anything malformed, so a policy is valid
            // when reading it back gives every field exactly as written.
            let policy = crate::domain::voting::policy::VotePolicy::from_settings(
                &serde_json::json!({ "voting": v }),
            )
            .to_json();
            let exact = v
                .as_object()
                .is_some_and(|fields| fields.iter().all(|(k, x)| policy.get(k) == Some(x)));
            if !exact {
                errors.push(err("vote_policy", R::InvalidVotePolicy));
            }
            settings.insert("voting".into(), policy);
        }
        serde_json::Value::Object(settings)
    }

    /// Reads `create-contest`'s TOML. TOML's own date-times are taken as RFC 3339 strings,
    /// so `opens_at = 2026-12-01T08:00:00+07:00` and `opens_at = "2026-12-01T08:00"` both work.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let value: toml::Value = toml::from_str(text)?;
        let json = toml_to_json(value);
        Ok(serde_json::from_value(json)?)
    }
}

impl Phases {
    /// Judging and voting start after submission closes (they may run side by side; voting
    /// may overlap submission when the contest says so); results come after everything else.
    fn dates(&self, voting_overlaps_submission: bool, errors: &mut Vec<FieldError>) -> Dates {
        let submission = window(
            &self.submission,
            "submission_opens_at",
            "submission_closes_at",
            errors,
        );
        let judging = optional_window(
            self.judging.as_ref(),
            "judging_opens_at",
            "judging_closes_at",
            errors,
        );
        let voting = optional_window(
            self.voting.as_ref(),
            "voting_opens_at",
            "voting_closes_at",
            errors,
        );
        let results_at = trimmed(self.results_at.as_deref()).and_then(|s| {
            let t = parse_time(&s);
            if t.is_none() {
                errors.push(err("results_at", R::InvalidTime));
            }
            t
        });
        if let Some((_, sub_close)) = submission {
            if judging.is_some_and(|(o, _)| o < sub_close) {
                errors.push(err("judging_opens_at", R::OverlapsSubmission));
            }
            if !voting_overlaps_submission && voting.is_some_and(|(o, _)| o < sub_close) {
                errors.push(err("voting_opens_at", R::OverlapsSubmission));
            }
        }
        let last = [submission, judging, voting]
            .iter()
            .flatten()
            .map(|(_, c)| *c)
            .max();
        if let (Some(r), Some(last)) = (results_at, last)
            && r < last
        {
            errors.push(err("results_at", R::ResultsBeforePhasesEnd));
        }
        Dates {
            submission,
            judging,
            voting,
            results_at,
        }
    }
}

/// `value` (or `default`) when it lies in `range`; else the refusal on `field`.
fn bounded<T: PartialOrd + Copy>(
    value: Option<T>,
    default: T,
    range: std::ops::RangeInclusive<T>,
    field: &'static str,
    errors: &mut Vec<FieldError>,
) -> T {
    let value = value.unwrap_or(default);
    if !range.contains(&value) {
        errors.push(err(field, R::InvalidLimit));
    }
    value
}

impl Limits {
    fn bounds(&self, errors: &mut Vec<FieldError>) -> Bounds {
        Bounds {
            max_photo_bytes: bounded(
                self.max_photo_bytes,
                30 * MIB,
                1..=200 * MIB,
                "max_photo_bytes",
                errors,
            ),
            max_video_bytes: bounded(
                self.max_video_bytes,
                1536 * MIB,
                1..=20 * 1024 * MIB,
                "max_video_bytes",
                errors,
            ),
            max_video_seconds: bounded(
                self.max_video_seconds,
                180,
                1..=4 * 3600,
                "max_video_seconds",
                errors,
            ),
            max_entries_per_member: bounded(
                self.max_entries_per_member,
                1,
                1..=100,
                "max_entries_per_member",
                errors,
            ),
            // Long enough for a video started just before the close on a slow line, short
            // enough that entries cannot keep arriving for days (at most a day).
            upload_grace_minutes: bounded(
                self.upload_grace_minutes,
                30,
                0..=1440,
                "upload_grace_minutes",
                errors,
            ),
            max_team_members: bounded(self.max_team_members, 0, 0..=50, "max_team_members", errors),
            max_series_photos: bounded(
                self.max_series_photos,
                1,
                1..=10,
                "max_series_photos",
                errors,
            ),
        }
    }
}

fn toml_to_json(v: toml::Value) -> serde_json::Value {
    match v {
        toml::Value::String(s) => serde_json::Value::String(s),
        toml::Value::Integer(i) => serde_json::Value::from(i),
        toml::Value::Float(f) => serde_json::Value::from(f),
        toml::Value::Boolean(b) => serde_json::Value::Bool(b),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => {
            serde_json::Value::Array(a.into_iter().map(toml_to_json).collect())
        }
        toml::Value::Table(t) => {
            serde_json::Value::Object(t.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests;
