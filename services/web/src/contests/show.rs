//! The public contest page: phase and countdown, live streams, and the gallery of approved
//! entries (searchable; filtered by unit only for viewers who may see every author).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use serde::Deserialize;

use crate::domain::access::organizes;
use crate::domain::contests::{ContestRow, Phase, by_slug};
use crate::domain::entries::author::AuthorPolicy;
use crate::domain::entries::gallery::{GalleryItem, gallery};
use crate::domain::streams::repo::{LiveNow, live_now};
use crate::domain::voting::policy::shuffle_for_voter;
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
    entries: Vec<GalleryItem>,
    units: Vec<(String, String)>,
    q: String,
    unit: String,
    live_now: Vec<LiveNow>,
}

#[derive(Debug, Default, Deserialize)]
pub struct GalleryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    unit: String,
}

/// The gallery as this viewer sees it, with the search and unit filter it was asked for.
struct Gallery {
    entries: Vec<GalleryItem>,
    units: Vec<(String, String)>,
    q: String,
    unit: String,
}

async fn gallery_for(
    state: &AppState,
    ctx: &Ctx,
    c: &ContestRow,
    query: GalleryQuery,
    now: DateTime<Utc>,
) -> Result<Gallery, PageError> {
    let q: String = query.q.trim().chars().take(100).collect();
    let authors = AuthorPolicy::load(&state.db, ctx.user.as_ref(), c).await?;
    // A unit filter would tell whose the entries are: only for who may see every author.
    let shown = authors.sees_all();
    let unit = if shown {
        query.unit.trim().to_owned()
    } else {
        String::new()
    };
    let mut entries = gallery(&state.db, c.contest_id, &authors, &q, &unit).await?;
    // While voting, each voter sees the entries in their own order (position bias).
    let voting_open =
        c.voting_opens_at.is_some_and(|o| o <= now) && c.voting_closes_at.is_none_or(|x| now < x);
    let seed = ctx.visitor_seed();
    shuffle_for_voter(&c.settings, voting_open, &seed, &mut entries, |e| e.id);
    let units = if shown {
        crate::domain::people::units::unit_choices(&state.db).await?
    } else {
        Vec::new()
    };
    Ok(Gallery {
        entries,
        units,
        q,
        unit,
    })
}

pub async fn contest_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(query): Query<GalleryQuery>,
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
    let g = gallery_for(&state, &ctx, &c, query, now).await?;
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
            entries: g.entries,
            units: g.units,
            q: g.q,
            unit: g.unit,
            live_now,
        },
    ))
}
