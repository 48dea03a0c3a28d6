//! The organizer's page of member-number claims in a contest: the numbers its roster lists
//! that someone claimed without proof (no roster email, or not theirs) or that several
//! accounts claim, with confirm (this account is the member), clear (it is not) and reassign
//! (the number goes to the verified account of an email). Every decision is audited; the
//! roster rule (`voter_on_roster`) reads them. The same through the JSON API.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use super::review::organizer;
use super::roster::{self, member_number, organized};
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

/// One account's claim of a listed number.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ClaimRow {
    pub member_number: String,
    /// The email the roster gives for the number, if any.
    pub roster_email: Option<String>,
    pub app_user_id: i64,
    pub email: String,
    pub display_name: String,
    pub verified: bool,
    #[serde(skip)]
    decision: Option<String>,
    #[serde(skip)]
    other_confirmed: bool,
    /// How many accounts claim this number.
    pub claimants: i64,
    /// `pending`, `confirmed`, `refused`, `by-email` (the roster's email is theirs) or
    /// `superseded` (another account was confirmed).
    #[sqlx(skip)]
    pub state: String,
}

impl ClaimRow {
    fn state(&self) -> &'static str {
        match self.decision.as_deref() {
            Some("confirmed") => "confirmed",
            Some(_) => "refused",
            None if self.other_confirmed => "superseded",
            None if self.verified
                && self
                    .roster_email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&self.email)) =>
            {
                "by-email"
            }
            None => "pending",
        }
    }
}

/// The most claims listed at once (the oldest numbers first).
const MAX_ROWS: usize = 500;

/// Claims needing the organizer: every unproven claim, and every claim of a disputed number.
pub async fn claims(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<ClaimRow>> {
    let rows: Vec<ClaimRow> = sqlx::query_as(
        "select r.value::text as member_number, r.email::text as roster_email, u.app_user_id,
                u.email::text as email, u.display_name, u.email_verified_at is not null as verified,
                d.decision,
                exists (select 1 from member_decision o
                        where o.contest_id = r.contest_id and o.member_number = r.value
                          and o.decision = 'confirmed' and o.app_user_id <> u.app_user_id) as other_confirmed,
                count(*) over (partition by r.value) as claimants
         from vote_roster r
         join app_user u on lower(u.member_number) = lower(r.value::text)
         left join member_decision d
           on d.contest_id = r.contest_id and d.member_number = r.value and d.app_user_id = u.app_user_id
         where r.contest_id = $1 and r.kind = 'member'
         order by lower(r.value::text), u.app_user_id",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            r.state = r.state().to_owned();
            r
        })
        .filter(|r| r.state != "by-email" || r.claimants > 1)
        .take(MAX_ROWS)
        .collect())
}

/// What the organizer decides about a number.
#[derive(Debug, Clone)]
pub enum Decision {
    /// This claimant is the member.
    Confirm { user_id: i64 },
    /// This claimant is not the member.
    Clear { user_id: i64 },
    /// The verified account of this email is the member (its number is set when it has none).
    Reassign { email: String },
}

/// Why a decision was refused: a stable code (API) and message key `claims.error.<code>`.
pub type Refusal = &'static str;

/// Records a decision on `number` in the contest, with its audit row, in one transaction.
/// Decisions on one number are serialized by locking its roster line.
pub async fn decide(
    db: &PgPool,
    contest_id: i64,
    number: &str,
    decision: &Decision,
    actor: i64,
) -> sqlx::Result<Result<(), Refusal>> {
    let number = number.trim();
    if !member_number(number) {
        return Ok(Err("invalid-member-number"));
    }
    let mut tx = db.begin().await?;
    let listed: Option<String> = sqlx::query_scalar(
        "select value::text from vote_roster
         where contest_id = $1 and kind = 'member' and value = $2::citext for update",
    )
    .bind(contest_id)
    .bind(number)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(number) = listed else {
        return Ok(Err("not-listed"));
    };
    let (user_id, confirm, summary) = match decision {
        Decision::Confirm { user_id } | Decision::Clear { user_id } => {
            let email: Option<String> = sqlx::query_scalar(
                "select email::text from app_user
                 where app_user_id = $1 and lower(member_number) = lower($2)",
            )
            .bind(user_id)
            .bind(&number)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(email) = email else {
                return Ok(Err("not-a-claimant"));
            };
            let confirm = matches!(decision, Decision::Confirm { .. });
            let verb = if confirm { "confirm" } else { "clear" };
            (*user_id, confirm, format!("{verb} {number}: {email}"))
        }
        Decision::Reassign { email } => {
            let row: Option<(i64, bool, Option<String>)> = sqlx::query_as(
                "select app_user_id, email_verified_at is not null, member_number from app_user
                 where email = $1::citext for update",
            )
            .bind(email.trim())
            .fetch_optional(&mut *tx)
            .await?;
            let Some((user_id, verified, held)) = row else {
                return Ok(Err("unknown-account"));
            };
            // Only an account that proved its address can be given a member's vote.
            if !verified {
                return Ok(Err("account-unverified"));
            }
            match held {
                Some(h) if !h.eq_ignore_ascii_case(&number) => {
                    return Ok(Err("member-number-set"));
                }
                Some(_) => {}
                None => {
                    sqlx::query("update app_user set member_number = $2 where app_user_id = $1")
                        .bind(user_id)
                        .bind(&number)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            (
                user_id,
                true,
                format!("reassign {number}: {}", email.trim().to_lowercase()),
            )
        }
    };
    if confirm {
        // One confirmed member per number: the earlier one (if another) loses it.
        sqlx::query(
            "delete from member_decision
             where contest_id = $1 and member_number = $2::citext and decision = 'confirmed'
               and app_user_id <> $3",
        )
        .bind(contest_id)
        .bind(&number)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    }
    sqlx::query(
        "insert into member_decision (contest_id, member_number, app_user_id, decision, decided_by)
         values ($1, $2, $3, $4, $5)
         on conflict (contest_id, member_number, app_user_id)
         do update set decision = excluded.decision, decided_by = excluded.decided_by, decided_at = now()",
    )
    .bind(contest_id)
    .bind(&number)
    .bind(user_id)
    .bind(if confirm { "confirmed" } else { "rejected" })
    .bind(actor)
    .execute(&mut *tx)
    .await?;
    roster::audit(&mut tx, contest_id, "member-number", actor, &summary).await?;
    tx.commit().await?;
    Ok(Ok(()))
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
    slug: &str,
    status: StatusCode,
    notice: String,
    error: String,
) -> Result<Response, PageError> {
    let (_, contest) = organizer(state, ctx, slug).await?;
    let title: String = sqlx::query_scalar("select title from contest where contest_id = $1")
        .bind(contest.contest_id)
        .fetch_one(&state.db)
        .await?;
    let mut page = ctx.page("claims.title");
    page.title = format!("{} — {title}", page.title);
    Ok(crate::page::no_store(render(
        status,
        &ClaimsPage {
            page,
            slug: slug.to_owned(),
            title,
            rows: claims(&state.db, contest.contest_id).await?,
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
    Path(slug): Path<String>,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let notice = match q.notice.as_deref() {
        Some(n @ ("confirm" | "clear" | "reassign")) => {
            ctx.t(&format!("claims.done.{n}")).to_owned()
        }
        _ => String::new(),
    };
    show(&state, &ctx, &slug, StatusCode::OK, notice, String::new()).await
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

/// The decision a form or API body names; `None` when it names none.
fn decision_of(action: &str, user: Option<i64>, email: &str) -> Option<Decision> {
    match (action, user) {
        ("confirm", Some(user_id)) => Some(Decision::Confirm { user_id }),
        ("clear", Some(user_id)) => Some(Decision::Clear { user_id }),
        ("reassign", _) if !email.trim().is_empty() => Some(Decision::Reassign {
            email: email.trim().to_owned(),
        }),
        _ => None,
    }
}

async fn form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(f): Form<DecisionForm>,
) -> Result<Response, PageError> {
    let (user, contest) = organizer(&state, &ctx, &slug).await?;
    let refused = |code: &str| {
        let error = ctx.t(&format!("claims.error.{code}")).to_owned();
        show(
            &state,
            &ctx,
            &slug,
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            error,
        )
    };
    let Some(decision) = decision_of(&f.action, f.user.trim().parse().ok(), &f.email) else {
        return refused("invalid").await;
    };
    match decide(
        &state.db,
        contest.contest_id,
        &f.member_number,
        &decision,
        user.app_user_id,
    )
    .await?
    {
        Ok(()) => Ok(Redirect::to(&format!(
            "/organize/contests/{slug}/voting/members?notice={}",
            f.action
        ))
        .into_response()),
        Err(code) => refused(code).await,
    }
}

async fn api_list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let contest = organized(&state.db, &user, &slug).await?;
    let rows = claims(&state.db, contest.contest_id).await?;
    Ok(Json(json!({ "claims": rows })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    action: String,
    member_number: String,
    user_id: Option<i64>,
    #[serde(default)]
    email: String,
}

async fn api_decide(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let contest = organized(&state.db, &user, &slug).await?;
    let body: DecisionBody = super::json_body(&body)?;
    let decision = decision_of(&body.action, body.user_id, &body.email).ok_or_else(|| {
        ApiError::invalid(
            "invalid-decision",
            "action is confirm or clear (with user_id) or reassign (with email)",
        )
    })?;
    match decide(
        &state.db,
        contest.contest_id,
        &body.member_number,
        &decision,
        user.app_user_id,
    )
    .await?
    {
        Ok(()) => {
            let rows = claims(&state.db, contest.contest_id).await?;
            Ok(Json(json!({ "claims": rows })).into_response())
        }
        Err(code) => {
            let (status, message) = match code {
                "not-listed" => (
                    StatusCode::NOT_FOUND,
                    "the contest's roster does not list this member number",
                ),
                "not-a-claimant" => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "this account does not claim this member number",
                ),
                "unknown-account" => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "there is no account with this email",
                ),
                "account-unverified" => (
                    StatusCode::CONFLICT,
                    "this account has not verified its email",
                ),
                "member-number-set" => (
                    StatusCode::CONFLICT,
                    "this account already has another member number; an administrator can change it",
                ),
                _ => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "not a valid member number",
                ),
            };
            Err(ApiError::new(status, code, message))
        }
    }
}
