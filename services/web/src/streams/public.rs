//! A contest's public stream pages: the player with the entry on stage, the live vote and
//! the live tally; the OBS overlay; the QR screen; and the `.ics` calendar of its streams.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use hoithi_core::AppState;

use super::csp::with_csp;
use super::ics;
use crate::domain::access::organizes;
use crate::domain::contests::{self, ContestRow};
use crate::domain::streams::repo::{self, StreamRow};
use crate::domain::voting::live::LiveView;
use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contests/{slug}/streams/{id}", get(stream_page))
        .route("/contests/{slug}/streams/{id}/overlay", get(overlay_page))
        .route("/contests/{slug}/streams/{id}/screen", get(screen_page))
        .route("/contests/{slug}/streams/{id}/qr.svg", get(qr))
        .route("/contests/{slug}/streams.ics", get(calendar))
}

async fn contest_page(state: &AppState, slug: &str) -> Result<ContestRow, PageError> {
    if slug.len() > 63 {
        return Err(PageError::NotFound);
    }
    contests::by_slug(&state.db, slug)
        .await?
        .ok_or(PageError::NotFound)
}

async fn stream_of(
    state: &AppState,
    slug: &str,
    id: &str,
) -> Result<(ContestRow, StreamRow), PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    let c = contest_page(state, slug).await?;
    let s = repo::by_id(&state.db, c.contest_id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok((c, s))
}

/// A stream page's contest, stream and live state.
async fn live_page(
    state: &AppState,
    slug: &str,
    id: &str,
) -> Result<(ContestRow, StreamRow, LiveView), PageError> {
    let (c, s) = stream_of(state, slug, id).await?;
    let live = LiveView::load(&state.db, &c).await?;
    Ok((c, s, live))
}

#[derive(Template)]
#[template(path = "streams/stream.html")]
struct StreamPage {
    page: Page,
    c: ContestRow,
    s: StreamRow,
    live: LiveView,
    others: Vec<StreamRow>,
    can_control: bool,
    login_href: String,
}

async fn stream_page(
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (c, s, live) = live_page(&state, &slug, &id).await?;
    let others = repo::for_contest(&state.db, c.contest_id)
        .await?
        .into_iter()
        .filter(|o| o.contest_stream_id != s.contest_stream_id && o.ends_at > Utc::now())
        .collect();
    let can_control = match &ctx.user {
        Some(u) => organizes(&state.db, u, &c).await?,
        None => false,
    };
    let mut page = ctx.page("streams.title");
    page.title = format!("{} · {}", s.title, c.title);
    // The emailed-code sign-in of voters (no password), back to this page after.
    let login_href = format!(
        "/vote/sign-in?next=/contests/{}/streams/{}",
        c.slug, s.contest_stream_id
    );
    let res = render(
        StatusCode::OK,
        &StreamPage {
            page,
            live,
            others,
            can_control,
            login_href,
            c,
            s: s.clone(),
        },
    );
    Ok(with_csp(res, &s))
}

#[derive(Template)]
#[template(path = "streams/overlay.html")]
struct OverlayPage {
    page: Page,
    c: ContestRow,
    live: LiveView,
}

/// For OBS as a browser source: transparent, big, no interaction; updated by the events.
async fn overlay_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (c, s, live) = live_page(&state, &slug, &id).await?;
    let mut page = ctx.page("streams.overlay.title");
    page.title.clone_from(&s.title);
    Ok(render(StatusCode::OK, &OverlayPage { page, c, live }))
}

#[derive(Template)]
#[template(path = "streams/screen.html")]
struct ScreenPage {
    page: Page,
    c: ContestRow,
    s: StreamRow,
    live: LiveView,
    url: String,
}

/// For a hall's screen or a stream's scene: the QR code to the vote page, large.
async fn screen_page(
    headers: HeaderMap,
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (c, s, live) = live_page(&state, &slug, &id).await?;
    let url = stream_url(&state, &headers, &c, &s);
    let mut page = ctx.page("streams.screen.title");
    page.title.clone_from(&s.title);
    Ok(render(
        StatusCode::OK,
        &ScreenPage {
            page,
            c,
            s,
            live,
            url,
        },
    ))
}

fn stream_url(state: &AppState, headers: &HeaderMap, c: &ContestRow, s: &StreamRow) -> String {
    format!(
        "{}/contests/{}/streams/{}",
        crate::mail::base_url(state, headers),
        c.slug,
        s.contest_stream_id
    )
}

async fn qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (c, s) = stream_of(&state, &slug, &id).await?;
    crate::page::qr_svg(&stream_url(&state, &headers, &c, &s))
        .map_err(|e| PageError::Internal(anyhow::anyhow!("QR code: {e}")))
}

/// The contest's streams that have not ended, as an iCalendar file.
async fn calendar(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = contest_page(&state, &slug).await?;
    let rows = repo::upcoming(&state.db, c.contest_id).await?;
    let base = crate::mail::base_url(&state, &headers);
    let host = base
        .split_once("://")
        .map_or(base.as_str(), |(_, h)| h)
        .to_owned();
    let urls: Vec<String> = rows
        .iter()
        .map(|s| format!("{base}/contests/{}/streams/{}", c.slug, s.contest_stream_id))
        .collect();
    let events: Vec<ics::Event<'_>> = rows
        .iter()
        .zip(&urls)
        .map(|(s, url)| ics::Event {
            uid: format!("stream-{}@{host}", s.contest_stream_id),
            title: &s.title,
            description: &c.title,
            url,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            updated_at: s.updated_at,
        })
        .collect();
    let body = ics::calendar(&c.title, &events);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.ics\"", c.slug),
            ),
        ],
        body,
    )
        .into_response())
}
