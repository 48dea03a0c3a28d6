//! The rules an edit must keep on top of the creation's: the fairness locks (what entrants
//! and judges already relied on) and the rules of time (docs/organizers.md).

use chrono::{DateTime, Duration, Utc};
use hoithi_core::contest::EntryStatus;
use sqlx::PgConnection;

use super::super::ContestRow;
use super::super::refusal::{ContestRefusal as R, FieldError};
use super::super::spec::ValidContest;
use super::patch::{DATE_FIELDS, Dates};

/// How far in the past a new time may lie and still count as "now": the form's times have
/// whole minutes, and a person takes a moment to press the button.
pub const NOW_SLACK: Duration = Duration::minutes(5);

/// What has happened in a contest that locks parts of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Facts {
    /// Entries in any state but withdrawn.
    pub entries: i64,
    /// The most entries one member has (withdrawn ones left out).
    pub most_by_one: i64,
    /// A judge has given a score.
    pub scored: bool,
    /// Judging is set up (a round exists): the rubric lives on the judging page now.
    pub judging_set_up: bool,
    /// A vote was cast.
    pub voted: bool,
}

impl Facts {
    /// Whether anything happened in the phase of date `slot` (of `DATE_FIELDS`): an entry,
    /// a score, a vote.
    pub(crate) fn busy(&self, slot: usize) -> bool {
        match slot {
            0 | 1 => self.entries > 0,
            2 | 3 => self.scored,
            4 | 5 => self.voted,
            _ => true,
        }
    }
}

pub async fn facts(db: &mut PgConnection, contest_id: i64) -> sqlx::Result<Facts> {
    let (entries, most_by_one): (i64, i64) = sqlx::query_as(
        "select coalesce(sum(n), 0)::int8, coalesce(max(n), 0)::int8 from (
             select count(*) as n from entry where contest_id = $1 and status <> $2
             group by author_id) per_author",
    )
    .bind(contest_id)
    .bind(EntryStatus::Withdrawn)
    .fetch_one(&mut *db)
    .await?;
    let (scored, judging_set_up, voted): (bool, bool, bool) = sqlx::query_as(
        "select exists (select 1 from judge_score_audit where contest_id = $1),
                exists (select 1 from judging_round where contest_id = $1),
                exists (select 1 from vote where contest_id = $1)",
    )
    .bind(contest_id)
    .fetch_one(&mut *db)
    .await?;
    Ok(Facts {
        entries,
        most_by_one,
        scored,
        judging_set_up,
        voted,
    })
}

/// The rules of time for the dates an edit moves (`old` → `new`, at `now`), on top of the
/// creation's order rules: once results are out no date moves; a date that has passed is
/// history once something happened in its phase (`Facts::busy`: a phase that opened and got
/// entries, scores or votes stays opened and scheduled) except a close, which may move into
/// the future (that is a reopening); and no date moves into the past (beyond `NOW_SLACK`).
pub fn time_rules(old: &Dates, new: &Dates, now: DateTime<Utc>, facts: &Facts) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let results_out = old[6].is_some_and(|r| r <= now);
    for (i, (old, new)) in old.iter().zip(new).enumerate() {
        if old == new {
            continue;
        }
        let field = DATE_FIELDS[i];
        let is_close = i == 1 || i == 3 || i == 5;
        if results_out {
            errors.push(FieldError::new(field, R::ResultsOut));
        } else if old.is_some_and(|o| o <= now) && (!is_close || new.is_none()) && facts.busy(i) {
            errors.push(FieldError::new(field, R::TimePassed));
        } else if new.is_some_and(|n| n < now - NOW_SLACK) {
            errors.push(FieldError::new(field, R::TimeInPast));
        }
    }
    errors
}

/// The fairness locks (docs/organizers.md): what entrants and judges already relied on.
pub(crate) fn locks(
    c: &ContestRow,
    v: &ValidContest,
    facts: &Facts,
    narrowed: bool,
) -> Vec<FieldError> {
    let mut errors = Vec::new();
    let mut lock = |field, refusal| errors.push(FieldError::new(field, refusal));
    if v.slug != c.slug {
        lock("slug", R::SlugLocked);
    }
    if facts.entries > 0 {
        if v.kinds != sorted(&c.kinds) {
            lock("kinds", R::KindsLocked);
        }
        if v.max_photo_bytes < c.max_photo_bytes {
            lock("max_photo_bytes", R::LimitTightened);
        }
        if v.max_video_bytes < c.max_video_bytes {
            lock("max_video_bytes", R::LimitTightened);
        }
        if v.max_video_seconds < c.max_video_seconds {
            lock("max_video_seconds", R::LimitTightened);
        }
        if v.requires_birth_date != c.requires_birth_date {
            lock("requires_birth_date", R::BirthDateLocked);
        }
        if narrowed {
            lock("eligible_units", R::EligibilityNarrowed);
        }
    }
    // Judged on a change only: a contest that already holds more (an import) is left alone.
    if v.max_entries_per_member < c.max_entries_per_member
        && i64::from(v.max_entries_per_member) < facts.most_by_one
    {
        lock("max_entries_per_member", R::MaxEntriesBelowExisting);
    }
    let rubric_changed = v.settings.get("criteria") != c.settings.get("criteria")
        && v.settings.get("criteria").is_some()
        || v.settings.get("weights") != c.settings.get("weights")
            && v.settings.get("weights").is_some();
    if facts.scored {
        if rubric_changed {
            lock("criteria", R::RubricLocked);
        }
        if v.blind_judging != c.blind_judging {
            lock("blind_judging", R::RubricLocked);
        }
    } else if rubric_changed && facts.judging_set_up {
        lock("criteria", R::RubricInJudgingSetUp);
    }
    errors
}

pub(crate) fn sorted(kinds: &[String]) -> Vec<String> {
    let mut k = kinds.to_vec();
    k.sort();
    k.dedup();
    k
}
