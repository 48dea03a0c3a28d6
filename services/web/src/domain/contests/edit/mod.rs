//! Editing a contest after its creation: the edit page and `PATCH /api/v1/contests/{slug}`
//! send a `ContestPatch` (any subset of the creation fields). The patch is laid over the
//! contest as it stands and the whole goes through the creation's own validation
//! (`ContestSpec::validate`); then the fairness locks and the rules of time (below, and in
//! docs/organizers.md) decide. What passes is stored with one history line per changed field
//! (`contest_change`), and a moved submission deadline is mailed to every entrant — all in
//! one transaction that holds the contest's row, so two edits at once are applied one after
//! the other and neither is lost.

mod history;
mod mail;
mod patch;
mod rules;

pub use history::{Change, HistoryLine, date_change, history, record};
pub use mail::{deadline_mail, mail_deadline};
pub use patch::{ContestPatch, DATE_FIELDS, Dates, PhasesPatch, WindowPatch};
pub use rules::{Facts, NOW_SLACK, facts, time_rules};

use chrono::{DateTime, Utc};
use hoithi_core::auth::CurrentUser;
use sqlx::PgConnection;

use super::refusal::{ContestRefusal as R, FieldError};
use super::spec::ValidContest;
use super::{ContestRow, by_id};
use crate::domain::access::manages;
use history::changes;
use patch::{dates_of, dates_of_valid};
use rules::locks;

#[derive(Debug, Clone)]
pub struct Edited {
    pub contest: ContestRow,
    pub changes: Vec<Change>,
    /// Entrants mailed about a moved deadline.
    pub mailed: usize,
}

/// Why an edit was refused: broken rules with their fields (nothing was stored), or a
/// failure.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{}", .0.first().map(ToString::to_string).unwrap_or_default())]
    Fields(Vec<FieldError>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn refused(field: &'static str, refusal: R) -> EditError {
    EditError::Fields(vec![FieldError::new(field, refusal)])
}

/// The ids of the units `slugs`, or the refusal on `eligible_units`.
async fn unit_ids(
    db: &mut PgConnection,
    slugs: &[String],
    field: &'static str,
) -> Result<Vec<i64>, EditError> {
    let mut ids = Vec::new();
    for slug in slugs {
        let id: Option<i64> = sqlx::query_scalar("select unit_id from unit where slug = $1")
            .bind(slug)
            .fetch_optional(&mut *db)
            .await?;
        ids.push(id.ok_or_else(|| refused(field, R::UnknownUnit))?);
    }
    Ok(ids)
}

async fn unit_slugs(db: &mut PgConnection, ids: &[i64]) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "select u.slug from unnest($1::int8[]) with ordinality as x(id, n)
         join unit u on u.unit_id = x.id order by x.n",
    )
    .bind(ids)
    .fetch_all(db)
    .await
}

/// The categories' part of an edit: the list replaced when the patch has one, else the
/// existing categories checked against the contest's kinds. One history line per category.
async fn category_changes(
    tx: &mut PgConnection,
    contest_id: i64,
    v: &ValidContest,
    patch: &ContestPatch,
) -> Result<Vec<Change>, EditError> {
    use super::categories;
    let Some(list) = &patch.categories else {
        if categories::kinds_fit(tx, contest_id, &v.kinds).await? {
            return Ok(Vec::new());
        }
        return Err(refused("categories", R::CategoryKindsOutside));
    };
    let limits = categories::ContestLimits {
        max_photo_bytes: v.max_photo_bytes,
        max_video_bytes: v.max_video_bytes,
        max_video_seconds: v.max_video_seconds,
        max_entries_per_member: v.max_entries_per_member,
        max_series_photos: v.max_series_photos,
    };
    let done = categories::replace(tx, contest_id, &v.kinds, &limits, list)
        .await?
        .map_err(EditError::Fields)?;
    Ok(done
        .into_iter()
        .map(|(old, new)| Change {
            field: "categories",
            old,
            new,
        })
        .collect())
}

/// Applies `patch` to contest `contest_id` for `user` (an organizer of it), at `now`.
/// `link` is the contest page's address, for the entrants' mail. The caller commits.
pub async fn apply(
    tx: &mut PgConnection,
    user: &CurrentUser,
    contest_id: i64,
    patch: &ContestPatch,
    link: &str,
    now: DateTime<Utc>,
) -> Result<Edited, EditError> {
    // The row lock orders concurrent edits (and entry creations, which take it too).
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(contest_id)
        .execute(&mut *tx)
        .await?;
    let c = by_id(&mut *tx, contest_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let old_eligible = c.eligible_unit_ids.clone().unwrap_or_default();
    let eligible_slugs = unit_slugs(tx, &old_eligible).await?;
    let spec = patch.over(&c, eligible_slugs, now);
    let v = spec.validate().map_err(EditError::Fields)?;
    let unit = match &v.unit {
        None => None,
        Some(slug) => Some(unit_ids(tx, std::slice::from_ref(slug), "unit").await?[0]),
    };
    if unit != c.unit_id && !manages(&mut *tx, user, unit).await? {
        return Err(refused("unit", R::UnitOutOfScope));
    }
    let eligible = unit_ids(tx, &v.eligible_units, "eligible_units").await?;
    // Narrower: a list where there was none, or one that leaves out a unit it had.
    let narrowed = !eligible.is_empty()
        && (old_eligible.is_empty() || old_eligible.iter().any(|u| !eligible.contains(u)));
    let facts = facts(tx, contest_id).await?;
    let mut errors = locks(&c, &v, &facts, narrowed);
    errors.extend(time_rules(&dates_of(&c), &dates_of_valid(&v), now, &facts));
    if !errors.is_empty() {
        return Err(EditError::Fields(errors));
    }
    let mut changes = changes(&c, &v, unit, &eligible);
    changes.extend(category_changes(tx, contest_id, &v, patch).await?);
    if changes.is_empty() {
        return Ok(Edited {
            contest: c,
            changes,
            mailed: 0,
        });
    }
    store(tx, contest_id, &v, unit, &eligible).await?;
    record(tx, contest_id, Some(user.app_user_id), &changes).await?;
    let contest = by_id(&mut *tx, contest_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let mailed = if c.submission_closes_at == contest.submission_closes_at {
        0
    } else {
        mail_deadline(tx, &contest, link).await?
    };
    tracing::info!(contest = %contest.slug, fields = changes.len(), "contest edited");
    Ok(Edited {
        contest,
        changes,
        mailed,
    })
}

async fn store(
    tx: &mut PgConnection,
    contest_id: i64,
    v: &ValidContest,
    unit: Option<i64>,
    eligible: &[i64],
) -> sqlx::Result<()> {
    // Only the settings' keys an edit can give are replaced; others stay.
    let mut settings = serde_json::Map::new();
    for key in ["criteria", "weights", "voting"] {
        if let Some(x) = v.settings.get(key) {
            settings.insert(key.into(), x.clone());
        }
    }
    sqlx::query(
        "update contest set title = $2, description = $3, rules = $4, cover_url = $5,
            unit_id = $6, eligible_unit_ids = $7, kinds = $8,
            submission_opens_at = $9, submission_closes_at = $10, judging_opens_at = $11,
            judging_closes_at = $12, voting_opens_at = $13, voting_closes_at = $14,
            results_at = $15, max_photo_bytes = $16, max_video_bytes = $17,
            max_video_seconds = $18, max_entries_per_member = $19, requires_moderation = $20,
            blind_judging = $21, hide_author = $22, settings = settings || $23,
            upload_grace_minutes = $24, requires_birth_date = $25, retention_days = $26,
            voting_overlaps_submission = $27, max_team_members = $28, max_series_photos = $29
         where contest_id = $1",
    )
    .bind(contest_id)
    .bind(&v.title)
    .bind(&v.description)
    .bind(&v.rules)
    .bind(&v.cover_url)
    .bind(unit)
    .bind((!eligible.is_empty()).then_some(eligible))
    .bind(&v.kinds)
    .bind(v.submission.0)
    .bind(v.submission.1)
    .bind(v.judging.map(|w| w.0))
    .bind(v.judging.map(|w| w.1))
    .bind(v.voting.map(|w| w.0))
    .bind(v.voting.map(|w| w.1))
    .bind(v.results_at)
    .bind(v.max_photo_bytes)
    .bind(v.max_video_bytes)
    .bind(v.max_video_seconds)
    .bind(v.max_entries_per_member)
    .bind(v.requires_moderation)
    .bind(v.blind_judging)
    .bind(v.hide_author)
    .bind(serde_json::Value::Object(settings))
    .bind(v.upload_grace_minutes)
    .bind(v.requires_birth_date)
    .bind(v.retention_days)
    .bind(v.voting_overlaps_submission)
    .bind(v.max_team_members)
    .bind(v.max_series_photos)
    .execute(tx)
    .await
    .map(drop)
}

#[cfg(test)]
mod tests {
    use super::patch::Slots;
    use super::*;
    use chrono::Duration;

    fn at(h: i64) -> Option<DateTime<Utc>> {
        Some(DateTime::<Utc>::UNIX_EPOCH + Duration::hours(1_000_000 + h))
    }

    fn now() -> DateTime<Utc> {
        at(0).unwrap()
    }

    #[test]
    fn passed_dates_stay_but_a_passed_close_may_reopen_and_nothing_moves_into_the_past() {
        let busy = Facts {
            entries: 1,
            most_by_one: 1,
            scored: true,
            judging_set_up: true,
            voted: true,
        };
        let time_rules = |old: &Dates, new: &Dates, now| time_rules(old, new, now, &busy);
        let old = [at(-10), at(5), None, None, at(6), at(9), at(10)];
        // Extending the deadline: fine.
        let mut new = old;
        new[1] = at(8);
        assert!(time_rules(&old, &new, now()).is_empty());
        // Moving a start that passed: history.
        let mut new = old;
        new[0] = at(-5);
        assert_eq!(
            time_rules(&old, &new, now()),
            vec![FieldError::new("submission_opens_at", R::TimePassed)]
        );
        // A close into the past.
        let mut new = old;
        new[5] = at(-1);
        assert_eq!(
            time_rules(&old, &new, now()),
            vec![FieldError::new("voting_closes_at", R::TimeInPast)]
        );
        // "Now", typed as whole minutes a moment ago, is not the past.
        let mut new = old;
        new[4] = Some(now() - Duration::minutes(1));
        assert!(time_rules(&old, &new, now()).is_empty());
        // A passed close reopens into the future.
        let old = [at(-10), at(-2), None, None, at(6), at(9), at(10)];
        let mut new = old;
        new[1] = at(3);
        assert!(time_rules(&old, &new, now()).is_empty());
        // Once results are out, nothing moves.
        let old = [at(-10), at(-8), None, None, at(-6), at(-4), at(-1)];
        let mut new = old;
        new[5] = at(3);
        assert_eq!(
            time_rules(&old, &new, now()),
            vec![FieldError::new("voting_closes_at", R::ResultsOut)]
        );
        // A phase that opened with nothing in it yet may still move or go.
        let old = [at(-10), at(5), None, None, at(-1), at(9), None];
        let mut new = old;
        new[4] = at(2);
        let quiet = Facts {
            voted: false,
            ..busy
        };
        assert!(super::time_rules(&old, &new, now(), &quiet).is_empty());
        assert_eq!(
            super::time_rules(&old, &new, now(), &busy),
            vec![FieldError::new("voting_opens_at", R::TimePassed)]
        );
    }

    fn row() -> ContestRow {
        let now = Utc::now();
        ContestRow {
            contest_id: 1,
            slug: "x".into(),
            title: "X".into(),
            description: String::new(),
            rules: String::new(),
            cover_url: None,
            unit_id: None,
            unit_slug: None,
            unit_name: None,
            eligible_unit_ids: None,
            kinds: vec!["photo".into()],
            submission_opens_at: now - Duration::days(1),
            submission_closes_at: now + Duration::days(10),
            judging_opens_at: None,
            judging_closes_at: None,
            voting_opens_at: None,
            voting_closes_at: None,
            results_at: None,
            max_photo_bytes: 1024,
            max_video_bytes: 1024,
            max_video_seconds: 60,
            max_entries_per_member: 2,
            requires_moderation: true,
            blind_judging: false,
            hide_author: false,
            settings: serde_json::json!({"criteria": [{"name": "Sáng tạo", "max": 10, "weight": 1}]}),
            upload_grace_minutes: 30,
            requires_birth_date: false,
            retention_days: None,
            voting_overlaps_submission: false,
            max_team_members: 0,
            max_series_photos: 1,
        }
    }

    #[test]
    fn the_rubric_locks_once_scored_and_moves_to_the_judging_page_once_set_up() {
        let c = row();
        let patch = ContestPatch {
            criteria: Some(vec![
                serde_json::json!({"name": "Kỹ thuật", "max": 10, "weight": 2}),
            ]),
            blind_judging: Some(true),
            ..ContestPatch::default()
        };
        let v = patch.over(&c, vec![], Utc::now()).validate().unwrap();
        let codes = |facts: Facts| -> Vec<(&str, &str)> {
            locks(&c, &v, &facts, false)
                .iter()
                .map(|e| (e.field, e.code()))
                .collect()
        };
        assert!(codes(Facts::default()).is_empty());
        let set_up = Facts {
            judging_set_up: true,
            ..Facts::default()
        };
        assert_eq!(codes(set_up), [("criteria", "rubric-in-judging-set-up")]);
        let scored = Facts {
            scored: true,
            judging_set_up: true,
            ..Facts::default()
        };
        assert_eq!(
            codes(scored),
            [
                ("criteria", "rubric-locked"),
                ("blind_judging", "rubric-locked")
            ]
        );
        // The same rubric sent again changes nothing, scores or not.
        let same = ContestPatch {
            criteria: c.settings["criteria"].as_array().cloned(),
            ..ContestPatch::default()
        };
        let v = same.over(&c, vec![], Utc::now()).validate().unwrap();
        assert!(locks(&c, &v, &scored, false).is_empty());
    }

    #[test]
    fn shifting_later_phases_moves_the_untouched_later_dates_by_the_same_amount() {
        let old = [at(-10), at(5), at(6), at(8), at(6), at(9), at(10)];
        let mut slots = Slots::new(&old);
        slots.put(1, Some(at(29).unwrap().to_rfc3339()));
        slots.shift_later(&old, now());
        let shifted: Vec<_> = slots
            .text
            .iter()
            .map(|t| super::super::time::parse_time(t.as_deref().unwrap()))
            .collect();
        assert_eq!(
            shifted,
            vec![at(-10), at(29), at(30), at(32), at(30), at(33), at(34)]
        );
        // Without a moved close nothing shifts.
        let mut slots = Slots::new(&old);
        slots.put(6, Some(at(20).unwrap().to_rfc3339()));
        slots.shift_later(&old, now());
        assert_eq!(slots.text[2], Some(at(6).unwrap().to_rfc3339()));
    }
}
