//! Contests as the rules see them: the row every surface reads, its phase at a moment, and the
//! queries that load it; the organizer's description of a contest (`spec`) and its creation
//! (`create`), its edits after creation with their history (`edit`), early closes and reopens
//! of phases (`phases`). No HTTP here.

pub mod categories;
pub mod create;
pub mod edit;
pub mod phases;
pub mod refusal;
pub mod spec;
pub mod time;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgExecutor;

/// Where a contest is at a moment, from its dates alone (`ContestRow::phase_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Upcoming,
    Submission,
    Judging,
    Voting,
    Between,
    Results,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::Submission => "submission",
            Self::Judging => "judging",
            Self::Voting => "voting",
            Self::Between => "between",
            Self::Results => "results",
        }
    }
}

/// Every column a page or the API shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ContestRow {
    pub contest_id: i64,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub rules: String,
    pub cover_url: Option<String>,
    pub unit_id: Option<i64>,
    pub unit_slug: Option<String>,
    pub unit_name: Option<String>,
    pub eligible_unit_ids: Option<Vec<i64>>,
    pub kinds: Vec<String>,
    pub submission_opens_at: DateTime<Utc>,
    pub submission_closes_at: DateTime<Utc>,
    pub judging_opens_at: Option<DateTime<Utc>>,
    pub judging_closes_at: Option<DateTime<Utc>>,
    pub voting_opens_at: Option<DateTime<Utc>>,
    pub voting_closes_at: Option<DateTime<Utc>>,
    pub results_at: Option<DateTime<Utc>>,
    pub max_photo_bytes: i64,
    pub max_video_bytes: i64,
    pub max_video_seconds: i32,
    pub max_entries_per_member: i32,
    pub requires_moderation: bool,
    pub blind_judging: bool,
    pub hide_author: bool,
    pub settings: serde_json::Value,
    pub upload_grace_minutes: i32,
    /// Entrants give their birth date; a child's entry then waits for a guardian.
    pub requires_birth_date: bool,
    /// Days after results before the media of entries that won nothing, and the addresses of
    /// code-only voters, are deleted (`None`: kept).
    pub retention_days: Option<i32>,
    /// Voting may open while submission is still open (an organizer's choice).
    pub voting_overlaps_submission: bool,
    /// How many members a team entry may list; 0: the contest takes no team entries.
    pub max_team_members: i32,
    /// How many photos a photo series (bộ ảnh) may hold; 1: no series.
    pub max_series_photos: i32,
}

const ROW_SQL: &str =
    "select c.contest_id, c.slug, c.title, c.description, c.rules, c.cover_url, c.unit_id,
    u.slug as unit_slug, u.name as unit_name, c.eligible_unit_ids, c.kinds,
    c.submission_opens_at, c.submission_closes_at, c.judging_opens_at, c.judging_closes_at,
    c.voting_opens_at, c.voting_closes_at, c.results_at, c.max_photo_bytes, c.max_video_bytes,
    c.max_video_seconds, c.max_entries_per_member, c.requires_moderation, c.blind_judging,
    c.hide_author, c.settings, c.upload_grace_minutes, c.requires_birth_date, c.retention_days,
    c.voting_overlaps_submission, c.max_team_members, c.max_series_photos
    from contest c left join unit u using (unit_id)";

fn within(o: Option<DateTime<Utc>>, c: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    matches!((o, c), (Some(o), Some(c)) if o <= now && now < c)
}

impl ContestRow {
    /// The phase at `now`, from the dates alone (an early close moves a date, so it is
    /// seen here and by the upload service alike).
    pub fn phase_at(&self, now: DateTime<Utc>) -> Phase {
        if now < self.submission_opens_at {
            Phase::Upcoming
        } else if now < self.submission_closes_at {
            Phase::Submission
        } else if within(self.voting_opens_at, self.voting_closes_at, now) {
            Phase::Voting
        } else if within(self.judging_opens_at, self.judging_closes_at, now) {
            Phase::Judging
        } else if self.results_at.is_some_and(|r| r <= now) {
            Phase::Results
        } else {
            Phase::Between
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase_at(Utc::now())
    }

    /// The last moment an upload started before the close may still send bytes.
    pub fn upload_cutoff(&self) -> DateTime<Utc> {
        self.submission_closes_at + chrono::Duration::minutes(i64::from(self.upload_grace_minutes))
    }

    /// The next date the phase changes, for the countdown.
    pub fn next_change(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        [
            Some(self.submission_opens_at),
            Some(self.submission_closes_at),
            self.judging_opens_at,
            self.judging_closes_at,
            self.voting_opens_at,
            self.voting_closes_at,
            self.results_at,
        ]
        .into_iter()
        .flatten()
        .filter(|t| *t > now)
        .min()
    }

    pub fn json(&self) -> serde_json::Value {
        let window = |o: Option<DateTime<Utc>>, c: Option<DateTime<Utc>>| match (o, c) {
            (Some(o), Some(c)) => json!({"opens_at": o, "closes_at": c}),
            _ => serde_json::Value::Null,
        };
        json!({
            "id": self.contest_id,
            "slug": self.slug,
            "title": self.title,
            "description": self.description,
            "rules": self.rules,
            "cover_url": self.cover_url,
            "unit": self.unit_slug,
            "kinds": self.kinds,
            "phase": self.phase(),
            "phases": {
                "submission": window(Some(self.submission_opens_at), Some(self.submission_closes_at)),
                "judging": window(self.judging_opens_at, self.judging_closes_at),
                "voting": window(self.voting_opens_at, self.voting_closes_at),
                "results_at": self.results_at,
            },
            "limits": {
                "max_photo_bytes": self.max_photo_bytes,
                "max_video_bytes": self.max_video_bytes,
                "max_video_seconds": self.max_video_seconds,
                "max_entries_per_member": self.max_entries_per_member,
                "upload_grace_minutes": self.upload_grace_minutes,
                "max_team_members": self.max_team_members,
                "max_series_photos": self.max_series_photos,
            },
            "requires_moderation": self.requires_moderation,
            "blind_judging": self.blind_judging,
            "hide_author": self.hide_author,
            "criteria": self.settings.get("criteria").cloned().unwrap_or(json!([])),
            "weights": self.settings.get("weights"),
            "vote_policy": crate::domain::voting::policy::VotePolicy::from_settings(&self.settings).to_json(),
            "voting_overlaps_submission": self.voting_overlaps_submission,
            "requires_birth_date": self.requires_birth_date,
            "retention_days": self.retention_days,
            "streams_url": format!("/api/v1/contests/{}/streams", self.slug),
        })
    }
}

pub async fn by_slug(db: impl PgExecutor<'_>, slug: &str) -> sqlx::Result<Option<ContestRow>> {
    sqlx::query_as(&format!("{ROW_SQL} where c.slug = $1"))
        .bind(slug)
        .fetch_optional(db)
        .await
}

pub async fn by_id(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<ContestRow>> {
    sqlx::query_as(&format!("{ROW_SQL} where c.contest_id = $1"))
        .bind(id)
        .fetch_optional(db)
        .await
}

pub async fn all(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<ContestRow>> {
    sqlx::query_as(&format!(
        "{ROW_SQL} order by c.submission_opens_at desc limit 500"
    ))
    .fetch_all(db)
    .await
}
