//! A voter states their member number (mã đoàn viên): on a page opened from the vote page,
//! or through the API. The rules (a claim, where it stands) are `domain::voting::members`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, put};
use axum::{Form, Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, Refusal};
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;
use serde_json::json;

use super::forms::json_body;
use crate::domain::voting::members::{Standing, Unclaimed, claim, contest_id, standing};
use crate::page::{Ctx, Page, PageError, render, safe_next};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/member-number", put(api_claim))
        .route("/vote/member-number", get(form).post(submit))
}

/// The contest of a vote page's path (`/contests/{slug}/vote…`), which the member-number
/// page is opened from.
fn contest_of_next(next: &str) -> Option<&str> {
    let rest = next.strip_prefix("/contests/")?;
    let (slug, tail) = rest.split_once('/')?;
    (tail.starts_with("vote") && !slug.is_empty()).then_some(slug)
}

#[derive(Deserialize, utoipa::ToSchema)]
struct ClaimBody {
    member_number: String,
    /// A contest's slug: the answer then says where the claim stands in that contest.
    contest: Option<String>,
}

#[utoipa::path(
    put,
    path = "/api/v1/me/member-number",
    operation_id = "claim_member_number",
    summary = "state the caller's member number (mã đoàn viên), matched against rosters without case; once per account (a different number is changed only by an administrator). A stated number is a claim: it passes a contest's roster only when the roster gives it with the caller's verified email or the contest's organizer confirms it (several accounts may claim one number; the organizer settles it). Codes: invalid-member-number (422), member-number-set (409), not-eligible (403, email not verified), not-found (404, unknown contest)",
    security(("bearer" = [])),
    request_body = ClaimBody,
    responses(
        (status = 200, description = "{member_number} and, with contest, {contest, status}: status is confirmed (passes the roster), pending (listed, waiting for the organizer), refused (the organizer decided it is not the caller's) or not-listed"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_claim(
    State(state): State<AppState>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: ClaimBody = json_body(&body)?;
    let contest = match &body.contest {
        Some(slug) => Some(
            contest_id(&state.db, slug)
                .await?
                .ok_or_else(|| ApiError::not_found("the contest"))?,
        ),
        None => None,
    };
    let number = claim(&state.db, &user, &body.member_number)
        .await?
        .map_err(|u| u.refusal)?;
    let mut out = json!({"member_number": number});
    if let (Some(id), Some(slug)) = (contest, &body.contest) {
        let s = standing(&state.db, id, user.app_user_id).await?;
        out["contest"] = json!(slug);
        out["status"] = json!(s.code());
    }
    Ok(Json(out))
}

#[derive(Template)]
#[template(path = "voting/member_number.html")]
struct MemberPage {
    page: Page,
    next: String,
    value: String,
    error: String,
    /// Said after a claim that still waits for the organizer.
    notice: String,
}

impl MemberPage {
    fn new(ctx: &Ctx, next: String, value: String) -> Self {
        Self {
            page: ctx.page("member.title"),
            next,
            value,
            error: String::new(),
            notice: String::new(),
        }
    }
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    if ctx.user.is_none() {
        // This page's own `next`, nested in the sign-in's: encoded, so its `&` and `#` stay.
        let here = format!("/vote/member-number?next={}", encode(&next));
        return Redirect::to(&format!("/vote/sign-in?next={}", encode(&here))).into_response();
    }
    render(StatusCode::OK, &MemberPage::new(&ctx, next, String::new()))
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[derive(Deserialize)]
struct MemberForm {
    #[serde(default)]
    member_number: String,
    next: Option<String>,
}

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<MemberForm>,
) -> Result<Response, PageError> {
    let next = safe_next(f.next.as_deref());
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to(&format!("/vote/sign-in?next={}", encode(&next))).into_response());
    };
    match claim(&state.db, &user, &f.member_number).await? {
        Ok(number) => claimed(&state, &ctx, &user, next, number).await,
        Err(unclaimed) => Ok(refused(&ctx, next, &f.member_number, &unclaimed)),
    }
}

/// Opened from a contest's vote page: say so when the claim does not pass yet, rather than
/// sending the voter back to a vote that will be refused.
async fn claimed(
    state: &AppState,
    ctx: &Ctx,
    user: &CurrentUser,
    next: String,
    number: String,
) -> Result<Response, PageError> {
    let contest = match contest_of_next(&next) {
        Some(slug) => contest_id(&state.db, slug).await?,
        None => None,
    };
    let standing = match contest {
        Some(id) => Some(standing(&state.db, id, user.app_user_id).await?),
        None => None,
    };
    let key = match standing {
        Some(Standing::Pending) => "member.pending",
        Some(Standing::Refused) => "member.refused",
        _ => return Ok(Redirect::to(&next).into_response()),
    };
    let mut page = MemberPage::new(ctx, next, number);
    page.notice = ctx.t(key).to_owned();
    Ok(render(StatusCode::OK, &page))
}

fn refused(ctx: &Ctx, next: String, typed: &str, unclaimed: &Unclaimed) -> Response {
    let mut page = MemberPage::new(ctx, next, typed.chars().take(40).collect());
    page.error = match &unclaimed.held {
        // The number the account holds, after the sentence that leads to it.
        Some(held) => format!("{} {held}", ctx.t("member.already-set")),
        None => ctx.t(&unclaimed.refusal.key()).to_owned(),
    };
    render(StatusCode::UNPROCESSABLE_ENTITY, &page)
}
