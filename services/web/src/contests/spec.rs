//! A contest as the organizer's form, `POST /api/v1/contests` and `create-contest`'s TOML
//! describe it: one set of fields, one validation with a code per field, one insert.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;

use crate::format::parse_time;

#[derive(Debug, Clone, Default, Deserialize)]
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
    /// Placeholders the judging and voting features read from `settings`.
    #[serde(default)]
    pub criteria: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub weights: Option<serde_json::Value>,
    #[serde(default)]
    pub vote_policy: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    #[serde(default)]
    pub submission: Window,
    pub judging: Option<Window>,
    pub voting: Option<Window>,
    pub results_at: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    #[serde(default)]
    pub opens_at: String,
    #[serde(default)]
    pub closes_at: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    pub max_photo_bytes: Option<i64>,
    pub max_video_bytes: Option<i64>,
    pub max_video_seconds: Option<i32>,
    pub max_entries_per_member: Option<i32>,
    /// Minutes after submission closes during which uploads already started may finish.
    pub upload_grace_minutes: Option<i32>,
}

/// A broken rule: the field it belongs to and a stable code (the API's `code`, and the
/// page's message key `contest.error.<code>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.code)
    }
}

fn err(field: &'static str, code: &'static str) -> FieldError {
    FieldError { field, code }
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
    pub submission: (DateTime<Utc>, DateTime<Utc>),
    pub judging: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub voting: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub results_at: Option<DateTime<Utc>>,
    pub max_photo_bytes: i64,
    pub max_video_bytes: i64,
    pub max_video_seconds: i32,
    pub max_entries_per_member: i32,
    pub upload_grace_minutes: i32,
    pub requires_moderation: bool,
    pub blind_judging: bool,
    pub hide_author: bool,
    pub settings: serde_json::Value,
}

const MIB: i64 = 1024 * 1024;

fn window(
    w: &Window,
    opens: &'static str,
    closes: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let o = parse_time(&w.opens_at);
    let c = parse_time(&w.closes_at);
    if o.is_none() {
        errors.push(err(opens, "invalid-time"));
    }
    if c.is_none() {
        errors.push(err(closes, "invalid-time"));
    }
    let (o, c) = (o?, c?);
    if c <= o {
        errors.push(err(closes, "closes-before-opens"));
        return None;
    }
    Some((o, c))
}

fn optional_window(
    w: Option<&Window>,
    opens: &'static str,
    closes: &'static str,
    errors: &mut Vec<FieldError>,
) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    let w = w.filter(|w| !(w.opens_at.trim().is_empty() && w.closes_at.trim().is_empty()))?;
    window(w, opens, closes, errors)
}

impl ContestSpec {
    /// Checks every field and reports every broken rule at once.
    pub fn validate(&self) -> Result<ValidContest, Vec<FieldError>> {
        let mut errors = Vec::new();
        let slug = self.slug.trim().to_owned();
        if hoithi_core::domain::Slug::parse(&slug).is_err() {
            errors.push(err("slug", "invalid-slug"));
        }
        let title = self.title.trim().to_owned();
        if title.is_empty() {
            errors.push(err("title", "title-required"));
        } else if title.chars().count() > 200 {
            errors.push(err("title", "title-too-long"));
        }
        let description = self.description.clone().unwrap_or_default();
        if description.chars().count() > 20000 {
            errors.push(err("description", "description-too-long"));
        }
        let rules = self.rules.clone().unwrap_or_default();
        if rules.chars().count() > 50000 {
            errors.push(err("rules", "rules-too-long"));
        }
        let cover_url = self
            .cover_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        if let Some(u) = &cover_url
            && (!(u.starts_with("https://") || u.starts_with('/'))
                || u.len() > 2000
                || u.starts_with("//"))
        {
            errors.push(err("cover_url", "invalid-cover-url"));
        }
        let mut kinds: Vec<String> = self.kinds.iter().map(|k| k.trim().to_owned()).collect();
        kinds.sort();
        kinds.dedup();
        if kinds.is_empty() {
            errors.push(err("kinds", "kinds-required"));
        } else if kinds.iter().any(|k| k != "video" && k != "photo") {
            errors.push(err("kinds", "invalid-kind"));
        }

        let submission = window(
            &self.phases.submission,
            "submission_opens_at",
            "submission_closes_at",
            &mut errors,
        );
        let judging = optional_window(
            self.phases.judging.as_ref(),
            "judging_opens_at",
            "judging_closes_at",
            &mut errors,
        );
        let voting = optional_window(
            self.phases.voting.as_ref(),
            "voting_opens_at",
            "voting_closes_at",
            &mut errors,
        );
        let results_at = match self.phases.results_at.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => {
                let t = parse_time(s);
                if t.is_none() {
                    errors.push(err("results_at", "invalid-time"));
                }
                t
            }
        };
        // Judging and voting start after submission closes (they may run side by side);
        // results come after everything else.
        if let Some((_, sub_close)) = submission {
            if let Some((o, _)) = judging
                && o < sub_close
            {
                errors.push(err("judging_opens_at", "overlaps-submission"));
            }
            if let Some((o, _)) = voting
                && o < sub_close
            {
                errors.push(err("voting_opens_at", "overlaps-submission"));
            }
        }
        if let Some(r) = results_at {
            let last = [submission, judging, voting]
                .iter()
                .flatten()
                .map(|(_, c)| *c)
                .max();
            if last.is_some_and(|l| r < l) {
                errors.push(err("results_at", "results-before-phases-end"));
            }
        }

        let limits = self.limits.clone().unwrap_or_default();
        let max_photo_bytes = limits.max_photo_bytes.unwrap_or(30 * MIB);
        if !(1..=200 * MIB).contains(&max_photo_bytes) {
            errors.push(err("max_photo_bytes", "invalid-limit"));
        }
        let max_video_bytes = limits.max_video_bytes.unwrap_or(1536 * MIB);
        if !(1..=20 * 1024 * MIB).contains(&max_video_bytes) {
            errors.push(err("max_video_bytes", "invalid-limit"));
        }
        let max_video_seconds = limits.max_video_seconds.unwrap_or(180);
        if !(1..=4 * 3600).contains(&max_video_seconds) {
            errors.push(err("max_video_seconds", "invalid-limit"));
        }
        let max_entries_per_member = limits.max_entries_per_member.unwrap_or(1);
        if !(1..=100).contains(&max_entries_per_member) {
            errors.push(err("max_entries_per_member", "invalid-limit"));
        }
        // Long enough for a video started just before the close on a slow line, short enough
        // that entries cannot keep arriving for days (at most a day).
        let upload_grace_minutes = limits.upload_grace_minutes.unwrap_or(30);
        if !(0..=1440).contains(&upload_grace_minutes) {
            errors.push(err("upload_grace_minutes", "invalid-limit"));
        }
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
                errors.push(err("vote_policy", "invalid-vote-policy"));
            }
            settings.insert("voting".into(), policy);
        }
        let unit = self
            .unit
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(str::to_owned);
        let eligible_units: Vec<String> = self
            .eligible_units
            .clone()
            .unwrap_or_default()
            .into_iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();

        let Some(submission) = submission else {
            return Err(errors);
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ValidContest {
            slug,
            title,
            description,
            rules,
            cover_url,
            unit,
            eligible_units,
            kinds,
            submission,
            judging,
            voting,
            results_at,
            max_photo_bytes,
            max_video_bytes,
            max_video_seconds,
            max_entries_per_member,
            upload_grace_minutes,
            requires_moderation: self.requires_moderation.unwrap_or(true),
            blind_judging: self.blind_judging.unwrap_or(false),
            hide_author: self.hide_author.unwrap_or(false),
            settings: serde_json::Value::Object(settings),
        })
    }

    /// Reads `create-contest`'s TOML. TOML's own date-times are taken as RFC 3339 strings,
    /// so `opens_at = 2026-12-01T08:00:00+07:00` and `opens_at = "2026-12-01T08:00"` both work.
    pub fn from_toml(text: &str) -> anyhow::Result<Self> {
        let value: toml::Value = toml::from_str(text)?;
        let json = toml_to_json(value);
        Ok(serde_json::from_value(json)?)
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

#[derive(Debug, thiserror::Error)]
pub enum InsertError {
    #[error("{0}")]
    Field(FieldError),
    #[error(transparent)]
    Other(#[from] sqlx::Error),
}

async fn unit_id(conn: &mut PgConnection, slug: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select unit_id from unit where slug = $1")
        .bind(slug)
        .fetch_optional(conn)
        .await
}

/// The unit id the contest belongs to (checked separately for the organizer's scope).
pub async fn resolve_unit(
    conn: &mut PgConnection,
    c: &ValidContest,
) -> Result<Option<i64>, InsertError> {
    match &c.unit {
        None => Ok(None),
        Some(slug) => unit_id(conn, slug)
            .await?
            .map(Some)
            .ok_or(InsertError::Field(err("unit", "unknown-unit"))),
    }
}

pub async fn insert(
    conn: &mut PgConnection,
    c: &ValidContest,
    unit: Option<i64>,
    created_by: Option<i64>,
) -> Result<i64, InsertError> {
    let mut eligible = Vec::new();
    for slug in &c.eligible_units {
        eligible.push(
            unit_id(conn, slug)
                .await?
                .ok_or(InsertError::Field(err("eligible_units", "unknown-unit")))?,
        );
    }
    let result = sqlx::query_scalar(
        "insert into contest (slug, title, description, rules, cover_url, unit_id, eligible_unit_ids, kinds,
            submission_opens_at, submission_closes_at, judging_opens_at, judging_closes_at,
            voting_opens_at, voting_closes_at, results_at, max_photo_bytes, max_video_bytes,
            max_video_seconds, max_entries_per_member, requires_moderation, blind_judging,
            hide_author, settings, created_by, upload_grace_minutes)
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25)
         returning contest_id",
    )
    .bind(&c.slug)
    .bind(&c.title)
    .bind(&c.description)
    .bind(&c.rules)
    .bind(&c.cover_url)
    .bind(unit)
    .bind((!eligible.is_empty()).then_some(eligible))
    .bind(&c.kinds)
    .bind(c.submission.0)
    .bind(c.submission.1)
    .bind(c.judging.map(|w| w.0))
    .bind(c.judging.map(|w| w.1))
    .bind(c.voting.map(|w| w.0))
    .bind(c.voting.map(|w| w.1))
    .bind(c.results_at)
    .bind(c.max_photo_bytes)
    .bind(c.max_video_bytes)
    .bind(c.max_video_seconds)
    .bind(c.max_entries_per_member)
    .bind(c.requires_moderation)
    .bind(c.blind_judging)
    .bind(c.hide_author)
    .bind(&c.settings)
    .bind(created_by)
    .bind(c.upload_grace_minutes)
    .fetch_one(conn)
    .await;
    match result {
        Ok(id) => Ok(id),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some("contest_slug_key") => {
            Err(InsertError::Field(err("slug", "slug-taken")))
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> ContestSpec {
        ContestSpec::from_toml(
            r#"
            slug = "anh-dep-2026"
            title = "Ảnh đẹp tuổi trẻ"
            kinds = ["photo"]
            [phases.submission]
            opens_at = 2026-12-01T08:00:00+07:00
            closes_at = "2026-12-20T17:00"
            [phases.voting]
            opens_at = "2026-12-21T08:00"
            closes_at = "2026-12-25T20:00"
            [limits]
            max_entries_per_member = 3
            "#,
        )
        .unwrap()
    }

    #[test]
    fn a_toml_contest_with_local_and_offset_times_is_valid() {
        let c = spec().validate().unwrap();
        assert_eq!(c.submission.0.to_rfc3339(), "2026-12-01T01:00:00+00:00");
        assert_eq!(c.submission.1.to_rfc3339(), "2026-12-20T10:00:00+00:00");
        assert_eq!(c.max_entries_per_member, 3);
        assert_eq!(c.upload_grace_minutes, 30, "the default grace");
        assert!(c.requires_moderation);
    }

    #[test]
    fn the_upload_grace_is_read_from_limits_and_bounded_to_a_day() {
        let mut s = spec();
        s.limits = Some(Limits {
            upload_grace_minutes: Some(0),
            ..Limits::default()
        });
        assert_eq!(s.validate().unwrap().upload_grace_minutes, 0);
        for bad in [-1, 1441] {
            s.limits = Some(Limits {
                upload_grace_minutes: Some(bad),
                ..Limits::default()
            });
            let errors = s.validate().unwrap_err();
            assert!(errors.contains(&err("upload_grace_minutes", "invalid-limit")));
        }
        let toml =
            ContestSpec::from_toml("slug = \"a\"\n[limits]\nupload_grace_minutes = 90\n").unwrap();
        assert_eq!(toml.limits.unwrap().upload_grace_minutes, Some(90));
    }

    #[test]
    fn every_broken_rule_is_reported_with_its_field() {
        let mut s = spec();
        s.slug = "Có Dấu".into();
        s.title = " ".into();
        s.kinds = vec!["audio".into()];
        s.phases.submission.closes_at = "2026-11-01T00:00".into();
        let errors = s.validate().unwrap_err();
        assert!(errors.contains(&err("slug", "invalid-slug")));
        assert!(errors.contains(&err("title", "title-required")));
        assert!(errors.contains(&err("kinds", "invalid-kind")));
        assert!(errors.contains(&err("submission_closes_at", "closes-before-opens")));
    }

    #[test]
    fn a_vote_policy_is_stored_where_the_vote_ingest_reads_it_and_bounded() {
        let mut s = spec();
        s.vote_policy = Some(serde_json::json!({"per_day": 3, "roster": true}));
        let c = s.validate().unwrap();
        let stored = crate::domain::voting::policy::VotePolicy::from_settings(&c.settings);
        assert_eq!((stored.per_day, stored.roster), (3, true));
        for bad in [
            serde_json::json!({"per_day": 0}),
            serde_json::json!({"per_day": "3"}),
            serde_json::json!({"per_dya": 3}),
            serde_json::json!([1]),
        ] {
            s.vote_policy = Some(bad);
            let errors = s.validate().unwrap_err();
            assert!(errors.contains(&err("vote_policy", "invalid-vote-policy")));
        }
    }

    #[test]
    fn voting_may_not_open_before_submission_closes_and_results_come_last() {
        let mut s = spec();
        s.phases.voting = Some(Window {
            opens_at: "2026-12-10T08:00".into(),
            closes_at: "2026-12-25T08:00".into(),
        });
        s.phases.results_at = Some("2026-12-24T08:00".into());
        let errors = s.validate().unwrap_err();
        assert!(errors.contains(&err("voting_opens_at", "overlaps-submission")));
        assert!(errors.contains(&err("results_at", "results-before-phases-end")));
    }

    #[test]
    fn unknown_fields_are_refused_rather_than_ignored() {
        assert!(ContestSpec::from_toml("slug = \"a\"\ntitel = \"typo\"").is_err());
    }
}
