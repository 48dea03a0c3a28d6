//! Voting where a shared link lands: the entry page's forms. A signed-out voter gives an
//! email, gets the code on the same page, and the right code signs them in and casts the vote
//! at once; a verified voter's button is one POST. Every form returns to the entry page with
//! a note of what happened (`page::Note`); the vote itself goes through `ballot::ingest`, the
//! API's own path (admission limits, the batcher's exact statement). The CSRF layer refuses
//! these forms from another site like every page form.

use std::net::IpAddr;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::post;
use axum::{Extension, Form};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use hoithi_core::contest::EntryStatus;
use serde::Deserialize;
use uuid::Uuid;

use super::ballot::{self, Ballot};
use super::voters::{CodeError, send_code, verify_code};
use crate::access::client::ClientIp;
use crate::domain::voting::refusal::VoteRefusal;
use crate::domain::voting::runtime::{Admission, Runtime};
use crate::page::{Ctx, Note, PageError, no_store};
use crate::security::cookies::{
    cookie_header, is_secure, vote_email_cookie, vote_note_cookie_name,
};
use crate::security::{SessionHash, create_session, delete_session};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/entries/{id}/vote", post(vote))
        .route("/entries/{id}/vote/code", post(send))
        .route("/entries/{id}/vote/verify", post(verify))
        .route("/entries/{id}/vote/other-email", post(other_email))
}

/// The vote button's form: a solved proof-of-work challenge when the page was asked for one
/// (entry-vote.js solves it; without JavaScript the voter waits a minute).
#[derive(Debug, Default, Deserialize)]
struct VoteForm {
    challenge: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CodeForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
}

/// The entry a form names, if it is public (approved): only those take votes and codes.
async fn public_entry(state: &AppState, id: &str) -> Result<Uuid, PageError> {
    let id = Uuid::parse_str(id).map_err(|_| PageError::NotFound)?;
    match crate::domain::entries::entry(&state.db, id).await? {
        Some(e) if e.status == EntryStatus::Approved => Ok(id),
        Some(_) => Err(PageError::refused(&VoteRefusal::EntryNotApproved)),
        None => Err(PageError::NotFound),
    }
}

/// Back to the entry's vote panel with `cookies` set.
fn back(entry: Uuid, cookies: &[String]) -> Response {
    let mut res = no_store(Redirect::to(&format!("/entries/{entry}#vote")).into_response());
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

/// The note that asks for a proof of work (the panel marks itself `data-busy` for the script).
const BUSY: &str = "entry-vote.busy";

fn note_cookie(secure: bool, entry: Uuid, key: &str, arg: i64) -> String {
    let value = Note::new(entry, key, arg).cookie_value();
    cookie_header(vote_note_cookie_name(secure), &value, 120, secure)
}

/// Casts the vote of a verified voter: the catalogue key (and number) of what happened.
async fn cast(
    state: &AppState,
    voter_id: i64,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
    entry: Uuid,
    challenge: Option<&str>,
) -> Result<(String, i64), PageError> {
    let rt = Runtime::of(state).ok_or_else(|| PageError::refused(&VoteRefusal::Unavailable))?;
    match rt.admit(voter_id, ip, Instant::now()) {
        Admission::Admitted => {}
        Admission::Limited(wait) => {
            let seconds = wait.as_secs_f64().ceil() as i64;
            return Ok(("entry-vote.slow-down".into(), seconds.max(1)));
        }
        // Above normal rates the vote needs a solved challenge, as the API's does.
        Admission::Unusual => {
            if ballot::spend_challenge(state, challenge).await?.is_err() {
                return Ok((BUSY.into(), 0));
            }
        }
    }
    Ok(
        match ballot::ingest(&rt, entry, voter_id, ip, headers).await? {
            Ballot::Counted => ("entry-vote.counted".into(), 0),
            Ballot::Refused(VoteRefusal::AlreadyVoted) => ("entry-vote.limit-day".into(), 0),
            Ballot::Refused(VoteRefusal::ContestLimitReached) => {
                ("entry-vote.limit-contest".into(), 0)
            }
            Ballot::Refused(VoteRefusal::RoundLimitReached) => ("entry-vote.limit-round".into(), 0),
            Ballot::Refused(VoteRefusal::CategoryLimitReached) => {
                ("entry-vote.limit-category".into(), 0)
            }
            // Withdrawn between the page and the vote: its page is not public any more.
            Ballot::Refused(r @ VoteRefusal::EntryNotApproved) => {
                return Err(PageError::refused(&r));
            }
            Ballot::Refused(r) | Ballot::Retry(r) => (r.key(), 0),
            Ballot::NotFound => return Err(PageError::NotFound),
        },
    )
}

/// The vote button of a verified voter.
async fn vote(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<VoteForm>,
) -> Result<Response, PageError> {
    let secure = is_secure(&state, &headers);
    let challenge = form.challenge.as_deref().filter(|c| !c.is_empty());
    let (entry, key, arg) = match ctx.user.as_ref().filter(|u| u.is_verified()) {
        Some(user) => {
            let entry = Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
            let (key, arg) = cast(&state, user.app_user_id, ip, &headers, entry, challenge).await?;
            // A counted vote's entry was approved in the very statement that stored it (the
            // ingest refuses others), so only the other answers read the entry: one query less
            // per vote (docs/benchmarks.md, votes from entry pages). Not public: its refusal,
            // as before.
            if key != "entry-vote.counted" {
                public_entry(&state, &id).await?;
            }
            (entry, key, arg)
        }
        // Signed out (or not verified): the page's email form is the way in.
        None => {
            let entry = public_entry(&state, &id).await?;
            (entry, "entry-vote.verify-first".into(), 0)
        }
    };
    Ok(back(entry, &[note_cookie(secure, entry, &key, arg)]))
}

fn code_note(secure: bool, entry: Uuid, e: CodeError) -> Result<String, PageError> {
    match e {
        CodeError::Internal(e) => Err(PageError::Internal(e)),
        e => Ok(note_cookie(
            secure,
            entry,
            &format!("voter.error.{}", e.code()),
            e.arg(),
        )),
    }
}

/// Sends a code to the email; the page then shows the code field.
async fn send(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let entry = public_entry(&state, &id).await?;
    let secure = is_secure(&state, &headers);
    match send_code(&state, &form.email, ip, ctx.lang).await {
        Ok(()) => {
            let email = form.email.trim().to_lowercase();
            Ok(back(entry, &[vote_email_cookie(&email, secure)]))
        }
        Err(e) => Ok(back(entry, &[code_note(secure, entry, e)?])),
    }
}

/// The right code signs the voter in (a fresh session) and casts the vote at once.
async fn verify(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    session: Option<Extension<SessionHash>>,
    Path(id): Path<String>,
    Form(form): Form<CodeForm>,
) -> Result<Response, PageError> {
    let entry = public_entry(&state, &id).await?;
    let secure = is_secure(&state, &headers);
    let user_id = match verify_code(&state, &form.email, &form.code).await {
        Ok(id) => id,
        Err(e) => return Ok(back(entry, &[code_note(secure, entry, e)?])),
    };
    // The session the browser had (another account's, or one planted) ends.
    if let Some(Extension(SessionHash(old))) = session {
        delete_session(&state.db, &old).await?;
    }
    let token = create_session(&state.db, user_id).await?;
    let (key, arg) = cast(&state, user_id, ip, &headers, entry, None).await?;
    let mut res =
        crate::security::signed_in(&state, &headers, &token, &format!("/entries/{entry}#vote"));
    for c in [
        vote_email_cookie("", secure),
        note_cookie(secure, entry, &key, arg),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(res)
}

/// Forgets the email the code was sent to, for another one.
async fn other_email(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let entry = public_entry(&state, &id).await?;
    Ok(back(
        entry,
        &[vote_email_cookie("", is_secure(&state, &headers))],
    ))
}
