//! The public vote page of a contest, made for phones: its approved entries in the voter's
//! own order while voting is open, a vote button on each (vote.js: the API, a proof-of-work
//! challenge when asked, live totals over SSE), and the way in for a voter without an account.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use hoithi_core::AppState;

use crate::domain::entries::gallery::{GalleryItem, gallery};
use crate::domain::voting::policy::{VotePolicy, shuffle_for_voter};
use crate::domain::voting::repo;
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
    entries: Vec<(GalleryItem, i64)>,
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
) -> Result<Response, PageError> {
    let contest = crate::domain::contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = Utc::now();
    let open = contest.voting_opens_at.is_some_and(|o| o <= now)
        && contest.voting_closes_at.is_none_or(|c| now < c);
    let policy = VotePolicy::from_settings(&contest.settings);
    let show_totals = !(policy.hide_totals && contest.voting_closes_at.is_none_or(|c| now < c));
    let authors =
        crate::domain::entries::author::AuthorPolicy::load(&state.db, ctx.user.as_ref(), &contest)
            .await?;
    let mut items = gallery(&state.db, contest.contest_id, &authors, "", "").await?;
    shuffle_for_voter(
        &contest.settings,
        open,
        &ctx.visitor_seed(),
        &mut items,
        |i| i.id,
    );
    let tally = if show_totals {
        repo::tally(&state.db, contest.contest_id).await?.entries
    } else {
        Vec::new()
    };
    let entries = items
        .into_iter()
        .map(|item| {
            let votes = tally
                .iter()
                .find(|t| t.id == item.id)
                .map_or(0, |t| t.votes);
            (item, votes)
        })
        .collect();
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
            entries,
            policy,
        },
    ))
}
