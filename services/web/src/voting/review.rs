//! The organizers' voting page of a contest: the vote policy, the roster, and the fraud
//! review with forms that invalidate votes by voter, network or time window and restore
//! them, through the same audited functions as the API.

use askama::Template;
use axum::extract::{FromRequestParts, Query};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;

use super::forms::{InvalidateForm, PolicyForm, RestoreForm, RosterForm, local_time};
use crate::access::public::PublicOrganizerOf;
use crate::domain::contests::ContestRow;
use crate::domain::voting::invalidations::{self, InvalidationRequest};
use crate::domain::voting::policy::VotePolicy;
use crate::domain::voting::refusal::VoteRefusal;
use crate::domain::voting::repo;
use crate::domain::voting::review::{self, AuditRow, InvalidationRow, Review};
use crate::domain::voting::roster;
use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organize/contests/{slug}/voting", get(review_page))
        .route("/organize/contests/{slug}/voting/policy", post(policy_form))
        .route("/organize/contests/{slug}/voting/roster", post(roster_form))
        .route(
            "/organize/contests/{slug}/voting/invalidate",
            post(invalidate_form),
        )
        .route(
            "/organize/contests/{slug}/voting/restore",
            post(restore_form),
        )
}

#[derive(Template)]
#[template(path = "voting/organize.html")]
struct ReviewPage {
    page: Page,
    slug: String,
    title: String,
    policy: VotePolicy,
    roster_size: i64,
    review: Review,
    invalidations: Vec<InvalidationRow>,
    audit: Vec<AuditRow>,
    notice: String,
    errors: Vec<String>,
    roster_text: String,
}

impl ReviewPage {
    fn opt(&self, n: &Option<i64>) -> String {
        n.map(|n| n.to_string()).unwrap_or_default()
    }

    fn age_text(&self, bucket: &str) -> String {
        self.page.tk("vote.review.age.", bucket)
    }
}

/// What the page says besides the review: a notice after a change, or the errors of a
/// refused form (with the roster as it was typed).
#[derive(Default)]
struct Said {
    notice: String,
    errors: Vec<String>,
    roster_text: String,
}

async fn show(o: Organizing, status: StatusCode, said: Said) -> Result<Response, PageError> {
    let Organizing {
        state,
        ctx,
        contest,
        ..
    } = o;
    let id = contest.contest_id;
    let mut page = ctx.page("vote.review.title");
    page.title = format!("{} — {}", page.title, contest.title);
    let notice = if said.notice.is_empty() {
        String::new()
    } else {
        page.tk("vote.review.notice.", &said.notice)
    };
    let view = ReviewPage {
        page,
        policy: VotePolicy::from_settings(&contest.settings),
        slug: contest.slug,
        title: contest.title,
        roster_size: roster::size(&state.db, id).await?,
        review: review::review(&state.db, id).await?,
        invalidations: review::invalidations(&state.db, id).await?,
        audit: review::audit(&state.db, id).await?,
        notice,
        errors: said.errors,
        roster_text: said.roster_text,
    };
    Ok(render(status, &view))
}

/// What each handler of this page starts from: the state, the page's context, and the
/// organizer with their contest (403 for someone else, as `PublicOrganizerOf` says).
struct Organizing {
    state: AppState,
    ctx: Ctx,
    user: CurrentUser,
    contest: ContestRow,
}

impl FromRequestParts<AppState> for Organizing {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let PublicOrganizerOf { user, contest } =
            PublicOrganizerOf::from_request_parts(parts, state).await?;
        let Ok(ctx) = Ctx::from_request_parts(parts, state).await;
        Ok(Self {
            state: state.clone(),
            ctx,
            user,
            contest,
        })
    }
}

#[derive(Debug, Deserialize)]
struct Notice {
    notice: Option<String>,
}

async fn review_page(o: Organizing, Query(q): Query<Notice>) -> Result<Response, PageError> {
    let notice = q.notice.filter(|n| n.len() <= 20).unwrap_or_default();
    let said = Said {
        notice,
        ..Said::default()
    };
    show(o, StatusCode::OK, said).await
}

fn done(slug: &str, notice: &str) -> Response {
    Redirect::to(&format!("/organize/contests/{slug}/voting?notice={notice}")).into_response()
}

/// A refused form: the page again with the errors (422).
async fn refused(
    o: Organizing,
    errors: Vec<String>,
    roster_text: String,
) -> Result<Response, PageError> {
    let said = Said {
        errors,
        roster_text,
        ..Said::default()
    };
    show(o, StatusCode::UNPROCESSABLE_ENTITY, said).await
}

/// A form refused for one reason: the sentence of catalog key `key`.
async fn refused_with(o: Organizing, key: &str) -> Result<Response, PageError> {
    let errors = vec![o.ctx.t(key).to_owned()];
    refused(o, errors, String::new()).await
}

async fn policy_form(o: Organizing, Form(form): Form<PolicyForm>) -> Result<Response, PageError> {
    let policy = form.policy();
    if let Err(errors) = policy.validate() {
        let errors = errors
            .iter()
            .map(|(_, code)| o.ctx.t(&format!("vote.error.{code}")).to_owned())
            .collect();
        return refused(o, errors, String::new()).await;
    }
    let id = o.contest.contest_id;
    review::save_policy(&o.state.db, id, &policy, o.user.app_user_id).await?;
    Ok(done(&o.contest.slug, "policy"))
}

async fn roster_form(o: Organizing, Form(form): Form<RosterForm>) -> Result<Response, PageError> {
    match roster::parse(&form.csv) {
        Ok(members) => {
            let id = o.contest.contest_id;
            roster::replace(&o.state.db, id, &members, o.user.app_user_id).await?;
            Ok(done(&o.contest.slug, "roster"))
        }
        Err(errors) => {
            let errors = errors
                .iter()
                .take(50)
                .map(|e| {
                    o.ctx
                        .t("vote.error.roster-line")
                        .replace("{line}", &e.line.to_string())
                        .replace("{message}", o.ctx.t(&format!("vote.error.{}", e.code)))
                })
                .collect();
            refused(o, errors, form.csv).await
        }
    }
}

/// The form read into a request, or the catalog key of what is wrong with it.
async fn invalidation_of(
    state: &AppState,
    form: InvalidateForm,
) -> Result<Result<InvalidationRequest, String>, PageError> {
    let voter = form.voter.trim();
    let voter_id = if voter.is_empty() {
        None
    } else if let Ok(id) = voter.parse::<i64>() {
        Some(id)
    } else {
        match invalidations::voter_by_email(&state.db, voter).await? {
            Some(id) => Some(id),
            None => return Ok(Err("vote.error.unknown-voter".to_owned())),
        }
    };
    let (Ok(from), Ok(until)) = (local_time(&form.from), local_time(&form.until)) else {
        return Ok(Err("vote.error.invalid-time".to_owned()));
    };
    Ok(Ok(InvalidationRequest {
        voter_id,
        ip_network: Some(form.ip_network.trim().to_owned()).filter(|s| !s.is_empty()),
        from,
        until,
        reason: form.reason,
    }))
}

async fn invalidate_form(
    o: Organizing,
    Form(form): Form<InvalidateForm>,
) -> Result<Response, PageError> {
    let checked = match invalidation_of(&o.state, form).await? {
        Ok(request) => request.checked().map_err(|r| r.key()),
        Err(key) => Err(key),
    };
    let (criteria, reason) = match checked {
        Ok(c) => c,
        Err(key) => return refused_with(o, &key).await,
    };
    let (db, id) = (&o.state.db, o.contest.contest_id);
    repo::invalidate(db, id, &criteria, &reason, o.user.app_user_id).await?;
    Ok(done(&o.contest.slug, "invalidated"))
}

async fn restore_form(o: Organizing, Form(form): Form<RestoreForm>) -> Result<Response, PageError> {
    if !invalidations::belongs(&o.state.db, form.id, o.contest.contest_id).await? {
        return Err(PageError::NotFound);
    }
    let reason = match invalidations::reason(&form.reason) {
        Ok(r) => r,
        Err(r) => return refused_with(o, &r.key()).await,
    };
    match repo::restore(&o.state.db, form.id, &reason, o.user.app_user_id).await {
        Ok(_) => Ok(done(&o.contest.slug, "restored")),
        Err(repo::RestoreError::NotFound) => Err(PageError::NotFound),
        Err(repo::RestoreError::AlreadyRestored) => {
            refused_with(o, &VoteRefusal::AlreadyRestored.key()).await
        }
        Err(repo::RestoreError::Db(e)) => Err(e.into()),
    }
}
