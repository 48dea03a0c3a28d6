//! A voter's member number (mã đoàn viên): a contest's roster may list member numbers rather
//! than emails, and a voter states theirs once — on a page from the vote page, or through the
//! API. A stated number is only a claim: it passes a contest's roster when the roster gives
//! that number with the voter's own verified email, or when the contest's organizer confirms
//! it (`claims`); until then it is pending, and several accounts may claim one number (the
//! organizer settles it) so a squatter cannot lock the real member out. A number, once
//! stated, is changed only by an administrator (otherwise a voter could try numbers in turn).

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
    /// The account already has this other number.
    AlreadySet(String),
    Unverified,
}

impl Refusal {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "invalid-member-number",
            Self::AlreadySet(_) => "member-number-set",
            Self::Unverified => "not-eligible",
        }
    }

    fn key(&self) -> &'static str {
        match self {
            Self::Invalid => "member.invalid",
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

/// Records `number` as the user's claimed member number: Ok when it is now their claim (also
/// when it already was). Whether the claim passes a roster is `standing`'s question.
async fn claim(db: &sqlx::PgPool, user: &CurrentUser, number: &str) -> Result<String, ClaimError> {
    let number = number.trim();
    if !user.is_verified() {
        return Err(ClaimError::Refused(Refusal::Unverified));
    }
    if !member_number(number) {
        return Err(ClaimError::Refused(Refusal::Invalid));
    }
    let held: Option<String> = sqlx::query_scalar(
        "update app_user set member_number = coalesce(member_number, $2)
         where app_user_id = $1
         returning member_number",
    )
    .bind(user.app_user_id)
    .bind(number)
    .fetch_optional(db)
    .await?;
    match held {
        Some(held) if held.eq_ignore_ascii_case(number) => Ok(held),
        Some(held) => Err(ClaimError::Refused(Refusal::AlreadySet(held))),
        None => Err(ClaimError::Db(sqlx::Error::RowNotFound)),
    }
}

/// Where a voter's claim stands in one contest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// The voter passes the contest's roster.
    Confirmed,
    /// The roster lists the claimed number, but nothing proves it is the voter's yet: the
    /// organizer must confirm it.
    Pending,
    /// The organizer decided the number is not the voter's (or is another account's).
    Refused,
    /// The roster does not list the claimed number (or the voter claimed none).
    NotListed,
}

impl Standing {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Pending => "pending",
            Self::Refused => "refused",
            Self::NotListed => "not-listed",
        }
    }
}

/// The voter's standing in the contest's roster, by the same rule the vote statement uses.
pub(crate) async fn standing(
    db: &sqlx::PgPool,
    contest_id: i64,
    user_id: i64,
) -> sqlx::Result<Standing> {
    let (admitted, refused, listed): (bool, bool, bool) = sqlx::query_as(
        "select voter_on_roster($1, $2),
                exists (select 1 from member_decision d join app_user u
                          on d.member_number = u.member_number::citext
                        where d.contest_id = $1 and u.app_user_id = $2
                          and ((d.app_user_id = u.app_user_id and d.decision = 'rejected')
                               or (d.app_user_id <> u.app_user_id and d.decision = 'confirmed'))),
                exists (select 1 from vote_roster r join app_user u on r.value = u.member_number::citext
                        where r.contest_id = $1 and r.kind = 'member' and u.app_user_id = $2)",
    )
    .bind(contest_id)
    .bind(user_id)
    .fetch_one(db)
    .await?;
    Ok(if admitted {
        Standing::Confirmed
    } else if refused {
        Standing::Refused
    } else if listed {
        Standing::Pending
    } else {
        Standing::NotListed
    })
}

async fn contest_id(db: &sqlx::PgPool, slug: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select contest_id from contest where slug = $1")
        .bind(slug)
        .fetch_optional(db)
        .await
}

/// The contest of a vote page's path (`/contests/{slug}/vote…`), which the member-number
/// page is opened from.
fn contest_of_next(next: &str) -> Option<&str> {
    let rest = next.strip_prefix("/contests/")?;
    let (slug, tail) = rest.split_once('/')?;
    (tail.starts_with("vote") && !slug.is_empty()).then_some(slug)
}

#[derive(Deserialize)]
struct ClaimBody {
    member_number: String,
    /// A contest's slug: the answer then says where the claim stands in that contest.
    contest: Option<String>,
}

async fn api_claim(
    State(state): State<AppState>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: ClaimBody = super::json_body(&body)?;
    let contest = match &body.contest {
        Some(slug) => Some(
            contest_id(&state.db, slug)
                .await?
                .ok_or_else(|| ApiError::not_found("the contest"))?,
        ),
        None => None,
    };
    match claim(&state.db, &user, &body.member_number).await {
        Ok(number) => {
            let mut out = json!({"member_number": number});
            if let (Some(id), Some(slug)) = (contest, &body.contest) {
                let s = standing(&state.db, id, user.app_user_id).await?;
                out["contest"] = json!(slug);
                out["status"] = json!(s.code());
            }
            Ok(Json(out).into_response())
        }
        Err(ClaimError::Db(e)) => Err(e.into()),
        Err(ClaimError::Refused(r)) => {
            let (status, message) = match &r {
                Refusal::Invalid => (
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "a member number is 1 to 40 letters, digits and . _ / -, starting with a letter or digit".to_owned(),
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
    /// Said after a claim that still waits for the organizer.
    notice: String,
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
            notice: String::new(),
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

async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(f): Form<MemberForm>,
) -> Result<Response, PageError> {
    let next = safe_next(f.next.as_deref());
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to(&format!("/vote/sign-in?next={}", encode(&next))).into_response());
    };
    Ok(match claim(&state.db, &user, &f.member_number).await {
        Ok(number) => {
            // Opened from a contest's vote page: say so when the claim does not pass yet,
            // rather than sending the voter back to a vote that will be refused.
            let standing = async {
                let Some(slug) = contest_of_next(&next) else {
                    return Ok(None);
                };
                let Some(id) = contest_id(&state.db, slug).await? else {
                    return Ok(None);
                };
                standing(&state.db, id, user.app_user_id).await.map(Some)
            }
            .await?;
            match standing {
                Some(s @ (Standing::Pending | Standing::Refused)) => render(
                    StatusCode::OK,
                    &MemberPage {
                        page: ctx.page("member.title"),
                        next,
                        value: number,
                        error: String::new(),
                        notice: ctx
                            .t(if s == Standing::Pending {
                                "member.pending"
                            } else {
                                "member.refused"
                            })
                            .to_owned(),
                    },
                ),
                _ => Redirect::to(&next).into_response(),
            }
        }
        Err(ClaimError::Db(e)) => return Err(e.into()),
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
                    notice: String::new(),
                },
            )
        }
    })
}

/// `hoithi admin set-member-number`: gives the account of `email` the member number
/// `number`, or none, whatever it had (the way to mend a number stated by mistake). Another
/// account stating the same number is named rather than joined (the administrator clears it
/// there first; contest organizers settle competing claims on their claims page). Returns
/// the line to print.
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
    if let Some(n) = number {
        let holder: Option<String> = sqlx::query_scalar(
            "select email::text from app_user
             where lower(member_number) = lower($1) and email <> $2::citext
             order by app_user_id limit 1",
        )
        .bind(n)
        .bind(email.trim())
        .fetch_optional(db)
        .await?;
        if let Some(holder) = holder {
            anyhow::bail!(
                "the member number {n} is already the account {holder}'s: clear it there first (--clear)"
            );
        }
    }
    let set = sqlx::query_scalar::<_, i64>(
        "update app_user set member_number = $2 where email = $1 returning app_user_id",
    )
    .bind(email.trim())
    .bind(number)
    .fetch_optional(db)
    .await?;
    match set {
        Some(_) => Ok(match number {
            Some(n) => format!("{email}: member number {n}"),
            None => format!("{email}: no member number"),
        }),
        None => anyhow::bail!("there is no account with the email {email}"),
    }
}
