//! The public vote page of a contest, made for phones: its approved entries in the voter's
//! own order while voting is open, a vote button on each (vote.js: the API, a proof-of-work
//! challenge when asked, live totals over SSE), and the way in for a voter without an account.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use hoithi_core::AppState;

use crate::cards::Cards;
use crate::domain::entries::gallery::GalleryParams;
use crate::domain::voting::policy::VotePolicy;
use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/contests/{slug}/vote", get(vote_page))
}

#[derive(Template)]
#[template(path = "voting/vote.html")]
struct VotePage {
    page: Page,
    slug: String,
    title: String,
    open: bool,
    show_totals: bool,
    /// Signed in with a verified email: the buttons vote; otherwise they lead to sign-in.
    can_vote: bool,
    signed_in_unverified: bool,
    g: Cards,
    policy: VotePolicy,
}

impl VotePage {
    fn sign_in_url(&self) -> String {
        format!("/vote/sign-in?next=/contests/{}/vote", self.slug)
    }
}

async fn vote_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(params): Query<GalleryParams>,
) -> Result<Response, PageError> {
    let contest = crate::domain::contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = Utc::now();
    let open = contest.voting_opens_at.is_some_and(|o| o <= now)
        && contest.voting_closes_at.is_none_or(|c| now < c);
    let policy = VotePolicy::from_settings(&contest.settings);
    let g = crate::cards::load(&state, &ctx, &contest, &params, now, true).await?;
    let show_totals = g.totals_public;
    let mut page = ctx.page("vote.title");
    page.title = format!("{} — {}", page.title, contest.title);
    Ok(render(
        StatusCode::OK,
        &VotePage {
            page,
            can_vote: ctx.user.as_ref().is_some_and(|u| u.is_verified()),
            signed_in_unverified: ctx.user.as_ref().is_some_and(|u| !u.is_verified()),
            slug: contest.slug,
            title: contest.title,
            open,
            show_totals,
            g,
            policy,
        },
    ))
}
