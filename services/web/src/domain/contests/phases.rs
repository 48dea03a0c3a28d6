//! Early closes and reopens of a contest's phases. A phase is its dates: closing submission
//! now moves `submission_closes_at` to now (so the upload service sees it too), reopening
//! moves it to a new date; each change is logged in `contest_phase_log` and in the contest's
//! change history, and a moved submission deadline is mailed to the entrants (`edit`).

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::ContestRow;
use super::edit;
use super::refusal::ContestRefusal;
use super::spec::Span;

/// A phase an organizer may close early or reopen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    Submission,
    Judging,
    Voting,
}

impl Window {
    pub fn parse(name: &str) -> Result<Self, ContestRefusal> {
        match name {
            "submission" => Ok(Self::Submission),
            "judging" => Ok(Self::Judging),
            "voting" => Ok(Self::Voting),
            _ => Err(ContestRefusal::InvalidPhase),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Submission => "submission",
            Self::Judging => "judging",
            Self::Voting => "voting",
        }
    }

    /// The column that holds the phase's close.
    const fn closes_column(self) -> &'static str {
        match self {
            Self::Submission => "submission_closes_at",
            Self::Judging => "judging_closes_at",
            Self::Voting => "voting_closes_at",
        }
    }

    /// The phase's dates in `c`, if it has them.
    fn span(self, c: &ContestRow) -> Option<Span> {
        match self {
            Self::Submission => Some((c.submission_opens_at, c.submission_closes_at)),
            Self::Judging => c.judging_opens_at.zip(c.judging_closes_at),
            Self::Voting => c.voting_opens_at.zip(c.voting_closes_at),
        }
    }
}

/// What an organizer does to a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Close,
    /// Open again until the given moment (`None`: the form's date did not parse).
    Reopen(Option<DateTime<Utc>>),
}

impl Action {
    pub fn parse(name: &str, until: Option<DateTime<Utc>>) -> Result<Self, ContestRefusal> {
        match name {
            "close" => Ok(Self::Close),
            "reopen" => Ok(Self::Reopen(until)),
            _ => Err(ContestRefusal::InvalidAction),
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Close => "close",
            Self::Reopen(_) => "reopen",
        }
    }
}

/// The new close of `window` in `c` at `now`, or why it may not change.
pub fn new_close(
    c: &ContestRow,
    window: Window,
    action: Action,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, ContestRefusal> {
    let (opens, closes) = window.span(c).ok_or(ContestRefusal::PhaseNotScheduled)?;
    match action {
        Action::Close if opens <= now && now < closes => Ok(now),
        Action::Close => Err(ContestRefusal::PhaseNotOpen),
        Action::Reopen(until) => {
            let until = until.ok_or(ContestRefusal::InvalidTime)?;
            if until <= now || until <= opens {
                return Err(ContestRefusal::UntilInPast);
            }
            if now < opens {
                return Err(ContestRefusal::PhaseNotStarted);
            }
            // Reopening submission may not run into judging, nor into voting unless the
            // contest lets voting run beside submission.
            let voting = c.voting_opens_at.filter(|_| !c.voting_overlaps_submission);
            if window == Window::Submission
                && [c.judging_opens_at, voting]
                    .into_iter()
                    .flatten()
                    .any(|o| until > o)
            {
                return Err(ContestRefusal::OverlapsNextPhase);
            }
            if c.results_at.is_some_and(|r| until > r) {
                return Err(ContestRefusal::AfterResults);
            }
            Ok(until)
        }
    }
}

/// A change of a phase by an organizer, checked and then stored with its log line.
pub struct PhaseChange {
    pub window: Window,
    pub action: Action,
    pub by: i64,
}

/// Closes a phase now or reopens it; a refusal changes nothing. `link` is the contest page's
/// address, for the entrants' mail when the submission deadline moves.
pub async fn change(
    db: &PgPool,
    c: &ContestRow,
    change: &PhaseChange,
    link: &str,
) -> sqlx::Result<Result<(), ContestRefusal>> {
    let mut tx = db.begin().await?;
    // Decided on the row as it stands, held until the change is stored (edits take it too).
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(c.contest_id)
        .execute(&mut *tx)
        .await?;
    let c = &super::by_id(&mut *tx, c.contest_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let closes = match new_close(c, change.window, change.action, Utc::now()) {
        Ok(t) => t,
        Err(r) => return Ok(Err(r)),
    };
    let old = change.window.span(c).map(|(_, closes)| closes);
    sqlx::query(&format!(
        "update contest set {} = $2 where contest_id = $1",
        change.window.closes_column()
    ))
    .bind(c.contest_id)
    .bind(closes)
    .execute(&mut *tx)
    .await?;
    log_change(&mut tx, c.contest_id, change, old, closes).await?;
    let history = edit::date_change(change.window.closes_column(), old, Some(closes));
    edit::record(&mut tx, c.contest_id, Some(change.by), &[history]).await?;
    if change.window == Window::Submission {
        let moved = super::by_id(&mut *tx, c.contest_id)
            .await?
            .ok_or(sqlx::Error::RowNotFound)?;
        edit::mail_deadline(&mut tx, &moved, link).await?;
    }
    tx.commit().await?;
    tracing::info!(
        contest = %c.slug,
        phase = change.window.as_str(),
        action = change.action.as_str(),
        "phase changed early"
    );
    Ok(Ok(()))
}

/// Writes the log line of `change` (from `old` to `closes`).
pub async fn log_change(
    conn: &mut sqlx::PgConnection,
    contest_id: i64,
    change: &PhaseChange,
    old: Option<DateTime<Utc>>,
    closes: DateTime<Utc>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into contest_phase_log (contest_id, phase, action, old_closes_at, new_closes_at, app_user_id)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(contest_id)
    .bind(change.window.as_str())
    .bind(change.action.as_str())
    .bind(old)
    .bind(closes)
    .bind(change.by)
    .execute(conn)
    .await
    .map(drop)
}

/// Whether a window from `opens` to `closes` is open at `now`.
pub fn is_open(
    opens: Option<DateTime<Utc>>,
    closes: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    matches!((opens, closes), (Some(o), Some(c)) if o <= now && now < c)
}

/// Ends the voting of `contest_id` now if it is open (the row locked by the caller's
/// transaction), logged as an organizer's early close. `None` when voting was not open.
pub async fn end_voting_now(
    conn: &mut sqlx::PgConnection,
    contest_id: i64,
    by: i64,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    let (opens, closes): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
        "select voting_opens_at, voting_closes_at from contest where contest_id = $1 for no key update",
    )
    .bind(contest_id)
    .fetch_one(&mut *conn)
    .await?;
    let now = Utc::now();
    if !is_open(opens, closes, now) {
        return Ok(None);
    }
    sqlx::query("update contest set voting_closes_at = $2 where contest_id = $1")
        .bind(contest_id)
        .bind(now)
        .execute(&mut *conn)
        .await?;
    let change = PhaseChange {
        window: Window::Voting,
        action: Action::Close,
        by,
    };
    log_change(conn, contest_id, &change, closes, now).await?;
    let history = edit::date_change(Window::Voting.closes_column(), closes, Some(now));
    edit::record(conn, contest_id, Some(by), &[history]).await?;
    tracing::info!(contest_id, "voting ended to publish results");
    Ok(Some(now))
}

#[cfg(test)]
mod tests {
    use super::{Action, Window, new_close};
    use crate::domain::contests::refusal::ContestRefusal;
    use crate::domain::contests::{ContestRow, Phase};
    use chrono::{DateTime, Duration, Utc};

    fn row(now: DateTime<Utc>) -> ContestRow {
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
            submission_opens_at: now + Duration::days(1),
            submission_closes_at: now + Duration::days(10),
            judging_opens_at: Some(now + Duration::days(11)),
            judging_closes_at: Some(now + Duration::days(15)),
            voting_opens_at: Some(now + Duration::days(12)),
            voting_closes_at: Some(now + Duration::days(14)),
            results_at: Some(now + Duration::days(16)),
            max_photo_bytes: 1,
            max_video_bytes: 1,
            max_video_seconds: 1,
            max_entries_per_member: 1,
            requires_moderation: true,
            blind_judging: false,
            hide_author: false,
            settings: serde_json::json!({}),
            upload_grace_minutes: 30,
            requires_birth_date: false,
            retention_days: None,
            voting_overlaps_submission: false,
            max_team_members: 0,
            max_series_photos: 1,
        }
    }

    #[test]
    fn phases_follow_the_dates_in_order() {
        let now = Utc::now();
        let c = row(now);
        let at = |days: f64| c.phase_at(now + Duration::seconds((days * 86400.0) as i64));
        assert_eq!(at(0.0), Phase::Upcoming);
        assert_eq!(at(1.5), Phase::Submission);
        assert_eq!(at(10.5), Phase::Between);
        assert_eq!(at(11.5), Phase::Judging);
        assert_eq!(
            at(12.5),
            Phase::Voting,
            "voting shows while judging runs too"
        );
        assert_eq!(at(14.5), Phase::Judging);
        assert_eq!(at(15.5), Phase::Between);
        assert_eq!(at(16.5), Phase::Results);
        assert_eq!(
            c.next_change(now + Duration::days(2)),
            Some(c.submission_closes_at)
        );
    }

    #[test]
    fn a_phase_closes_only_while_open_and_reopens_only_into_the_future_before_the_next() {
        let now = Utc::now();
        let c = row(now - Duration::days(2));
        let sub = Window::Submission;
        assert_eq!(new_close(&c, sub, Action::Close, now), Ok(now));
        assert_eq!(
            new_close(&c, Window::Voting, Action::Close, now),
            Err(ContestRefusal::PhaseNotOpen)
        );
        let reopen = |days: i64| Action::Reopen(Some(now + Duration::days(days)));
        assert_eq!(
            new_close(&c, sub, Action::Reopen(None), now),
            Err(ContestRefusal::InvalidTime)
        );
        assert_eq!(
            new_close(&c, sub, reopen(-1), now),
            Err(ContestRefusal::UntilInPast)
        );
        assert_eq!(
            new_close(&c, sub, reopen(20), now),
            Err(ContestRefusal::OverlapsNextPhase)
        );
        assert_eq!(
            new_close(&c, Window::Judging, reopen(20), now),
            Err(ContestRefusal::PhaseNotStarted)
        );
        let mut side_by_side = c.clone();
        side_by_side.voting_overlaps_submission = true;
        side_by_side.judging_opens_at = None;
        assert_eq!(
            new_close(&side_by_side, sub, reopen(11), now),
            Ok(now + Duration::days(11)),
            "voting may run beside submission when the contest says so"
        );
        assert_eq!(
            new_close(&side_by_side, sub, reopen(15), now),
            Err(ContestRefusal::AfterResults)
        );
        assert_eq!(Window::parse("results"), Err(ContestRefusal::InvalidPhase));
        assert_eq!(
            Action::parse("pause", None),
            Err(ContestRefusal::InvalidAction)
        );
        let mut unscheduled = c.clone();
        unscheduled.voting_opens_at = None;
        assert_eq!(
            new_close(&unscheduled, Window::Voting, Action::Close, now),
            Err(ContestRefusal::PhaseNotScheduled)
        );
    }
}
