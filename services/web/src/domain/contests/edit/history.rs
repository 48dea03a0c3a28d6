//! A contest's change history (`contest_change`): what an edit changed, field by field, who
//! and when.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

use super::super::ContestRow;
use super::super::spec::ValidContest;
use super::patch::{DATE_FIELDS, dates_of, dates_of_valid};
use super::rules::sorted;

/// One changed field: its name, the value before and after (as text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
}

/// The text of a date in the history (RFC 3339, UTC; pages show it in Vietnam time).
pub(crate) fn date_text(d: Option<DateTime<Utc>>) -> Option<String> {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
}

/// Every field that differs between the stored contest and the validated one.
pub(crate) fn changes(
    c: &ContestRow,
    v: &ValidContest,
    unit: Option<i64>,
    eligible: &[i64],
) -> Vec<Change> {
    let mut out = Vec::new();
    let mut diff = |field: &'static str, old: Option<String>, new: Option<String>| {
        if old != new {
            out.push(Change { field, old, new });
        }
    };
    let s = |x: &str| Some(x.to_owned());
    diff("title", s(&c.title), s(&v.title));
    diff("description", s(&c.description), s(&v.description));
    diff("rules", s(&c.rules), s(&v.rules));
    diff("cover_url", c.cover_url.clone(), v.cover_url.clone());
    diff(
        "unit",
        c.unit_id.map(|u| u.to_string()),
        unit.map(|u| u.to_string()),
    );
    let ids = |x: &[i64]| {
        (!x.is_empty()).then(|| {
            x.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        })
    };
    diff(
        "eligible_units",
        ids(c.eligible_unit_ids.as_deref().unwrap_or_default()),
        ids(eligible),
    );
    diff(
        "kinds",
        s(&sorted(&c.kinds).join(", ")),
        s(&v.kinds.join(", ")),
    );
    let (old, new) = (dates_of(c), dates_of_valid(v));
    for ((field, old), new) in DATE_FIELDS.into_iter().zip(old).zip(new) {
        diff(field, date_text(old), date_text(new));
    }
    let n = |x: i64| Some(x.to_string());
    diff(
        "max_photo_bytes",
        n(c.max_photo_bytes),
        n(v.max_photo_bytes),
    );
    diff(
        "max_video_bytes",
        n(c.max_video_bytes),
        n(v.max_video_bytes),
    );
    let n32 = |x: i32| Some(x.to_string());
    diff(
        "max_video_seconds",
        n32(c.max_video_seconds),
        n32(v.max_video_seconds),
    );
    diff(
        "max_entries_per_member",
        n32(c.max_entries_per_member),
        n32(v.max_entries_per_member),
    );
    diff(
        "upload_grace_minutes",
        n32(c.upload_grace_minutes),
        n32(v.upload_grace_minutes),
    );
    diff(
        "max_team_members",
        n32(c.max_team_members),
        n32(v.max_team_members),
    );
    diff(
        "max_series_photos",
        n32(c.max_series_photos),
        n32(v.max_series_photos),
    );
    let b = |x: bool| Some(x.to_string());
    diff(
        "requires_moderation",
        b(c.requires_moderation),
        b(v.requires_moderation),
    );
    diff("blind_judging", b(c.blind_judging), b(v.blind_judging));
    diff("hide_author", b(c.hide_author), b(v.hide_author));
    diff(
        "requires_birth_date",
        b(c.requires_birth_date),
        b(v.requires_birth_date),
    );
    diff(
        "retention_days",
        c.retention_days.map(|d| d.to_string()),
        v.retention_days.map(|d| d.to_string()),
    );
    diff(
        "voting_overlaps_submission",
        b(c.voting_overlaps_submission),
        b(v.voting_overlaps_submission),
    );
    for key in ["criteria", "weights", "voting"] {
        let field = match key {
            "criteria" => "criteria",
            "weights" => "weights",
            _ => "vote_policy",
        };
        if let Some(new) = v.settings.get(key) {
            diff(
                field,
                c.settings.get(key).map(ToString::to_string),
                Some(new.to_string()),
            );
        }
    }
    out
}

/// Writes one history line per change, by `by` (none: the command line).
pub async fn record(
    tx: &mut PgConnection,
    contest_id: i64,
    by: Option<i64>,
    changes: &[Change],
) -> sqlx::Result<()> {
    for ch in changes {
        sqlx::query(
            "insert into contest_change (contest_id, app_user_id, field, old_value, new_value)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(contest_id)
        .bind(by)
        .bind(ch.field)
        .bind(&ch.old)
        .bind(&ch.new)
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The history line of a moved date (`record` it).
pub fn date_change(
    field: &'static str,
    old: Option<DateTime<Utc>>,
    new: Option<DateTime<Utc>>,
) -> Change {
    Change {
        field,
        old: date_text(old),
        new: date_text(new),
    }
}

/// One line of a contest's change history.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryLine {
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub created_at: DateTime<Utc>,
    pub display_name: Option<String>,
}

/// The change history of a contest, newest first (the last 200 lines).
pub async fn history(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<Vec<HistoryLine>> {
    sqlx::query_as(
        "select h.field, h.old_value, h.new_value, h.created_at, u.display_name
         from contest_change h left join app_user u using (app_user_id)
         where h.contest_id = $1 order by h.contest_change_id desc limit 200",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}
