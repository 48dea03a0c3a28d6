//! A voter's member number (mã đoàn viên): a contest's roster may list member numbers rather
//! than emails, and a voter states theirs once — on a page from the vote page, or through the
//! API. One account per number; a number, once stated, is changed only by an administrator
//! (otherwise a voter could pass several rosters' numbers in turn).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, put};
use axum::{Form, Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;
use serde_json::json;

use super::roster::member_number;
use crate::page::{Ctx, Page, PageError, render, safe_next};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/me/member-number", put(api_claim))
        .route("/vote/member-number", get(form).post(submit))
}

/// Why a number was not taken: each has a stable API code and a sentence on the page.
#[derive(Debug)]
enum Refusal {
    Invalid,
    Taken,
    /// The account already has this other number.
    AlreadySet(String),
    Unverified,
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "invalid-member-number",
            Self::Taken => "member-number-taken",
            Self::AlreadySet(_) => "member-number-set",
            Self::Unverified => "not-eligible",
        }
    }

    fn key(&self) -> &'static str {
        match self {
            Self::Invalid => "member.invalid",
            Self::Taken => "member.taken",
            Self::AlreadySet(_) => "member.already-set",
            Self::Unverified => "member.unverified",
        }
    }
}

enum ClaimError {
    Refused(Refusal),
    Db(sqlx::Error),
}

impl From<sqlx::Error> for ClaimError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Records `number` as the user's member number: Ok when it is now theirs (also when it
/// already was).
async fn claim(db: &sqlx::PgPool, user: &CurrentUser, number: &str) -> Result<String, ClaimError> {
    let number = number.trim();
    if !user.is_verified() {
        return Err(ClaimError::Refused(Refusal::Unverified));
    }
    if !member_number(number) {
        return Err(ClaimError::Refused(Refusal::Invalid));
    }
    let set: Result<Option<String>, sqlx::Error> = sqlx::query_scalar(
        "update app_user set member_number = coalesce(member_number, $2)
         where app_user_id = $1
         returning member_number",
    )
    .bind(user.app_user_id)
    .bind(number)
    .fetch_optional(db)
    .await;
    match set {
        Ok(Some(held)) if held.eq_ignore_ascii_case(number) => Ok(held),
        Ok(Some(held)) => Err(ClaimError::Refused(Refusal::AlreadySet(held))),
        Ok(None) => Err(ClaimError::Db(sqlx::Error::RowNotFound)),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(ClaimError::Refused(Refusal::Taken))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize)]
struct ClaimBody {
    member_number: String,
}

async fn api_claim(
    State(state): State<AppState>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: ClaimBody = super::json_body(&body)?;
    match claim(&state.db, &user, &body.member_number).await {
        Ok(number) => Ok(Json(json!({"member_number": number})).into_response()),
        Err(ClaimError::Db(e)) => Err(e.into()),
        Err(ClaimError::Refused(r)) => {
            let (status, message) = match &r {
                Refusal::Invalid => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "a member number is 1 to 40 letters, digits and . _ / -, starting with a letter or digit".to_owned(),
                ),
                Refusal::Taken => (
                    StatusCode::CONFLICT,
                    "another account has stated this member number; ask the organizer".to_owned(),
                ),
                Refusal::AlreadySet(held) => (
                    StatusCode::CONFLICT,
                    format!("this account's member number is already {held}; ask the organizer to change it"),
                ),
                Refusal::Unverified => (
                    StatusCode::FORBIDDEN,
                    "only voters with a verified email may state a member number".to_owned(),
                ),
            };
            Err(ApiError::new(status, r.code(), message))
        }
    }
}

#[derive(Template)]
#[template(path = "voting/member_number.html")]
struct MemberPage {
    page: Page,
    next: String,
    value: String,
    error: String,
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
    render(
        StatusCode::OK,
        &MemberPage {
            page: ctx.page("member.title"),
            next,
            value: String::new(),
            error: String::new(),
        },
    )
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

async fn submit(State(state): State<AppState>, ctx: Ctx, Form(f): Form<MemberForm>) -> Response {
    let next = safe_next(f.next.as_deref());
    let Some(user) = ctx.user.clone() else {
        return Redirect::to(&format!("/vote/sign-in?next={}", encode(&next))).into_response();
    };
    match claim(&state.db, &user, &f.member_number).await {
        Ok(_) => Redirect::to(&next).into_response(),
        Err(ClaimError::Db(e)) => PageError::from(e).respond(&ctx),
        Err(ClaimError::Refused(r)) => {
            let mut error = ctx.t(r.key()).to_owned();
            if let Refusal::AlreadySet(held) = &r {
                error = format!("{error} {held}");
            }
            render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &MemberPage {
                    page: ctx.page("member.title"),
                    next,
                    value: f.member_number.chars().take(40).collect(),
                    error,
                },
            )
        }
    }
}

/// `hoithi admin set-member-number`: gives the account of `email` the member number
/// `number`, or none, whatever it had (the way to mend a number stated by mistake or claimed
/// by someone else). Returns the line to print.
pub async fn set_member_number(
    db: &sqlx::PgPool,
    email: &str,
    number: Option<&str>,
) -> anyhow::Result<String> {
    let number = number.map(str::trim);
    if let Some(n) = number.filter(|n| !member_number(n)) {
        anyhow::bail!(
            "{n:?} is not a member number: 1 to 40 letters, digits and . _ / -, starting with a letter or digit"
        );
    }
    let set = sqlx::query_scalar::<_, i64>(
        "update app_user set member_number = $2 where email = $1 returning app_user_id",
    )
    .bind(email.trim())
    .bind(number)
    .fetch_optional(db)
    .await;
    match set {
        Ok(Some(_)) => Ok(match number {
            Some(n) => format!("{email}: member number {n}"),
            None => format!("{email}: no member number"),
        }),
        Ok(None) => anyhow::bail!("there is no account with the email {email}"),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            let holder: Option<String> = sqlx::query_scalar(
                "select email::text from app_user where lower(member_number) = lower($1)",
            )
            .bind(number)
            .fetch_optional(db)
            .await?;
            anyhow::bail!(
                "the member number {} is already the account {}'s: clear it there first (--clear)",
                number.unwrap_or_default(),
                holder.unwrap_or_default()
            )
        }
        Err(e) => Err(e.into()),
    }
}
