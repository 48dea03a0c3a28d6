//! The public contest page: phase and countdown, live streams, and the gallery of approved
//! entries (searchable; filtered by unit only for viewers who may see every author).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use hoithi_core::AppState;

use crate::cards::Cards;
use crate::domain::access::organizes;
use crate::domain::contests::{ContestRow, Phase, by_slug};
use crate::domain::entries::gallery::GalleryParams;
use crate::domain::streams::repo::{LiveNow, live_now};
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "contests/contest.html")]
struct ContestPage {
    page: Page,
    c: ContestRow,
    phase: &'static str,
    next_change: Option<DateTime<Utc>>,
    /// The phase open now closes then (voting: the voting's close, not judging's).
    open_until: Option<DateTime<Utc>>,
    /// Every phase with its dates, in order, and whether it is the one open now.
    schedule: Vec<ScheduleLine>,
    can_enter: bool,
    can_manage: bool,
    g: Cards,
    live_now: Vec<LiveNow>,
}

/// A line of the contest's schedule.
pub struct ScheduleLine {
    /// `submission`, `judging`, `voting` or `results` (the `phase.` catalog key's end).
    pub phase: &'static str,
    pub opens: DateTime<Utc>,
    /// `None` for the results (a moment, not a window).
    pub closes: Option<DateTime<Utc>>,
    pub now: bool,
}

/// The close of the phase open at `phase` (`None` when no window is open).
fn open_until(c: &ContestRow, phase: Phase) -> Option<DateTime<Utc>> {
    match phase {
        Phase::Submission => Some(c.submission_closes_at),
        Phase::Judging => c.judging_closes_at,
        Phase::Voting => c.voting_closes_at,
        Phase::Upcoming | Phase::Between | Phase::Results => None,
    }
}

/// The contest's phases with their dates, in the order they open.
fn schedule(c: &ContestRow, phase: Phase) -> Vec<ScheduleLine> {
    let mut lines = vec![ScheduleLine {
        phase: "submission",
        opens: c.submission_opens_at,
        closes: Some(c.submission_closes_at),
        now: phase == Phase::Submission,
    }];
    for (name, p, opens, closes) in [
        (
            "judging",
            Phase::Judging,
            c.judging_opens_at,
            c.judging_closes_at,
        ),
        (
            "voting",
            Phase::Voting,
            c.voting_opens_at,
            c.voting_closes_at,
        ),
    ] {
        if let (Some(opens), Some(closes)) = (opens, closes) {
            lines.push(ScheduleLine {
                phase: name,
                opens,
                closes: Some(closes),
                now: phase == p,
            });
        }
    }
    if let Some(at) = c.results_at {
        lines.push(ScheduleLine {
            phase: "results",
            opens: at,
            closes: None,
            now: phase == Phase::Results,
        });
    }
    lines.sort_by_key(|l| l.opens);
    lines
}

pub async fn contest_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(params): Query<GalleryParams>,
) -> Result<Response, PageError> {
    let c = by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = Utc::now();
    let phase = c.phase_at(now);
    let can_manage = match &ctx.user {
        Some(u) => organizes(&state.db, u, &c).await?,
        None => false,
    };
    let g = crate::cards::load(&state, &ctx, &c, &params, now, false).await?;
    let live_now = live_now(&state.db, Some(c.contest_id)).await?;
    let mut page = ctx.page("contest.title");
    page.title.clone_from(&c.title);
    Ok(render(
        StatusCode::OK,
        &ContestPage {
            page,
            phase: phase.as_str(),
            next_change: c.next_change(now),
            open_until: open_until(&c, phase),
            schedule: schedule(&c, phase),
            can_enter: phase == Phase::Submission,
            can_manage,
            c,
            g,
            live_now,
        },
    ))
}
