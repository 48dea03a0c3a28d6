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
    can_enter: bool,
    can_manage: bool,
    g: Cards,
    live_now: Vec<LiveNow>,
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
            can_enter: phase == Phase::Submission,
            can_manage,
            c,
            g,
            live_now,
        },
    ))
}
