//! The organizer's page of member-number claims in a contest, and the same through the JSON
//! API; the rules are `domain::voting::claims`.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, Refusal};
use serde::Deserialize;
use serde_json::json;

use super::forms::json_body;
use crate::access::public::{ApiPublicOrganizerOf, PublicOrganizerOf};
use crate::domain::contests::ContestRow;
use crate::domain::voting::claims::{ClaimRow, claims, decide, decision_of};
use crate::domain::voting::refusal::VoteRefusal;
use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/organize/contests/{slug}/voting/members",
            get(page).post(form),
        )
        .route(
            "/api/v1/contests/{slug}/member-claims",
            get(api_list).post(api_decide),
        )
}

#[derive(Template)]
#[template(path = "voting/claims.html")]
struct ClaimsPage {
    page: Page,
    slug: String,
    title: String,
    rows: Vec<ClaimRow>,
    notice: String,
    error: String,
}

async fn show(
    state: &AppState,
    ctx: &Ctx,
    contest: ContestRow,
    status: StatusCode,
    notice: String,
    error: String,
) -> Result<Response, PageError> {
    let mut page = ctx.page("claims.title");
    page.title = format!("{} — {}", page.title, contest.title);
    Ok(crate::page::no_store(render(
        status,
        &ClaimsPage {
            page,
            rows: claims(&state.db, contest.contest_id).await?,
            slug: contest.slug,
            title: contest.title,
            notice,
            error,
        },
    )))
}

#[derive(Debug, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { contest, .. }: PublicOrganizerOf,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let notice = match q.notice.as_deref() {
        Some(n @ ("confirm" | "clear" | "reassign")) => {
            ctx.t(&format!("claims.done.{n}")).to_owned()
        }
        _ => String::new(),
    };
    show(&state, &ctx, contest, StatusCode::OK, notice, String::new()).await
}

#[derive(Debug, Deserialize)]
struct DecisionForm {
    #[serde(default)]
    action: String,
    #[serde(default)]
    member_number: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    email: String,
}

async fn form(
    State(state): State<AppState>,
    ctx: Ctx,
    PublicOrganizerOf { user, contest }: PublicOrganizerOf,
    Form(f): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let decided = match decision_of(&f.action, f.user.trim().parse().ok(), &f.email) {
        None => Err("claims.error.invalid".to_owned()),
        Some(decision) => decide(
            &state.db,
            contest.contest_id,
            &f.member_number,
            &decision,
            user.app_user_id,
        )
        .await?
        .map_err(|refusal| refusal.key()),
    };
    match decided {
        Ok(()) => Ok(Redirect::to(&format!(
            "/organize/contests/{}/voting/members?notice={}",
            contest.slug, f.action
        ))
        .into_response()),
        Err(key) => {
            let error = ctx.t(&key).to_owned();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            show(&state, &ctx, contest, status, String::new(), error).await
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/member-claims",
    operation_id = "list_member_claims",
    summary = "member-number claims needing the organizer (organizer): every claim of a listed number not proven by the roster's email, and every claim of a number several accounts claim; state is pending, confirmed, refused, by-email or superseded",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "{claims: [{member_number, roster_email, app_user_id, email, display_name, verified, claimants, state}]}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_list(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { contest, .. }: ApiPublicOrganizerOf,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = claims(&state.db, contest.contest_id).await?;
    Ok(Json(json!({ "claims": rows })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    action: String,
    member_number: String,
    user_id: Option<i64>,
    #[serde(default)]
    email: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/contests/{slug}/member-claims",
    operation_id = "decide_member_claim",
    summary = "decide a listed number (organizer, audited): confirm (this claimant is the member; any other confirmed account loses it), clear (this claimant is not), or reassign (the verified account of an email is the member; its number is set when it has none). Codes: invalid-decision, invalid-member-number, not-a-claimant, unknown-account (422), not-listed (404), account-unverified, member-number-set (409)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = DecisionBody,
    responses(
        (status = 200, description = "{claims} after the decision"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_decide(
    State(state): State<AppState>,
    ApiPublicOrganizerOf { user, contest }: ApiPublicOrganizerOf,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, ApiError> {
    let body: DecisionBody = json_body(&body)?;
    let decision =
        decision_of(&body.action, body.user_id, &body.email).ok_or(VoteRefusal::InvalidDecision)?;
    decide(
        &state.db,
        contest.contest_id,
        &body.member_number,
        &decision,
        user.app_user_id,
    )
    .await??;
    let rows = claims(&state.db, contest.contest_id).await?;
    Ok(Json(json!({ "claims": rows })))
}
