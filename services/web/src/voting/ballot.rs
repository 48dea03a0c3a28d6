//! The public side of voting through the JSON API: `POST /api/v1/entries/{id}/votes` through
//! the vote runtime (rate limits, a proof-of-work challenge above normal rates, the batcher),
//! a challenge to solve ahead of time, and a contest's tally.

use std::net::IpAddr;
use std::time::Instant;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::Utc;
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::{self, CurrentUser};
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::access::client::ClientIp;
use crate::domain::voting::challenge;
use crate::domain::voting::live::totals_hidden;
use crate::domain::voting::policy;
use crate::domain::voting::refusal::VoteRefusal;
use crate::domain::voting::repo::{self, NewVote, Outcome};
use crate::domain::voting::runtime::{Admission, Runtime};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/entries/{id}/votes",
            post(cast_vote).layer(axum::middleware::map_response(count_vote)),
        )
        .route("/api/v1/contests/{slug}/tally", get(tally))
        .route("/api/v1/vote-challenge", get(new_challenge))
}

/// Counts every answer of the vote endpoint by outcome for `/metrics`.
async fn count_vote(res: Response) -> Response {
    let outcome = match res.status().as_u16() {
        201 => "counted",
        409 => "duplicate-or-closed",
        428 => "challenged",
        429 => "rate-limited",
        503 => "overload",
        _ => "rejected",
    };
    hoithi_core::metrics::METRICS
        .votes
        .get_or_create(&hoithi_core::metrics::OutcomeLabels {
            outcome: outcome.to_owned(),
        })
        .inc();
    res
}

/// The caller. A bearer token is resolved through a short cache, so a vote spike costs no
/// database write per request; a cookie session's user (already in the request) wins.
async fn resolve_user(
    state: &AppState,
    rt: &Runtime,
    parts: &mut Parts,
) -> Result<CurrentUser, ApiError> {
    if let Some(user) = parts.extensions.get::<CurrentUser>() {
        return Ok(user.clone());
    }
    let token = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(s, _)| s.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim().to_owned());
    if let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 128) {
        let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        let now = Instant::now();
        if let Some(user) = rt.cached_user(&key, now) {
            return Ok(user);
        }
        if let Some(user) = auth::user_for_token(state, &token).await? {
            rt.cache_user(key, user.clone(), now);
            return Ok(user);
        }
    }
    CurrentUser::from_request_parts(parts, state).await
}

/// A refusal the client may retry after `seconds`.
fn retry_after(refusal: VoteRefusal, seconds: u64) -> Response {
    let mut response = ApiError::from(refusal).into_response();
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

fn parse_uuid(s: &str) -> Option<Uuid> {
    (s.len() <= 64).then(|| Uuid::parse_str(s).ok()).flatten()
}

#[utoipa::path(
    post,
    path = "/api/v1/entries/{id}/votes",
    operation_id = "cast_vote",
    summary = "cast a vote (verified voter); durable before it is acknowledged. 409 codes: already-voted, contest-limit-reached, round-limit-reached, category-limit-reached (the entry's category's per_category), entry-not-approved, voting-not-open, voting-closed; 403 not-eligible or not-on-roster (the contest takes only its roster); 429 rate-limited with Retry-After (per voter, IP and /24 or /64 network); 428 challenge-required, challenge-invalid, challenge-expired or challenge-used with a new `challenge` in the body: solve it and send the vote again with X-Vote-Challenge",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
        ("X-Vote-Challenge" = Option<String>, Header, nullable = false, description = "base64 of the JSON {algorithm, challenge, number, salt, signature}: a solved challenge, used once"),
    ),
    responses(
        (status = 201, description = "counted"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 428, description = "a proof-of-work challenge is needed", body = crate::api_schemas::ChallengeRequired),
        (status = 429, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 503, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn cast_vote(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    let rt = Runtime::of(&state).ok_or(VoteRefusal::Unavailable)?;
    let user = resolve_user(&state, &rt, &mut parts).await?;
    let entry_id = parse_uuid(&id).ok_or_else(|| ApiError::not_found("the entry"))?;
    if !user.is_verified() {
        return Err(VoteRefusal::NotEligible.into());
    }
    match rt.admit(user.app_user_id, ip, Instant::now()) {
        Admission::Admitted => {}
        Admission::Limited(wait) => {
            let seconds = wait.as_secs_f64().ceil() as u64;
            return Ok(retry_after(VoteRefusal::RateLimited, seconds));
        }
        Admission::Unusual => {
            if let Some(refusal) = require_challenge(&state, &rt, &parts).await? {
                return Ok(refusal);
            }
        }
    }
    match ingest(&rt, entry_id, user.app_user_id, ip, &parts.headers).await? {
        Ballot::Counted => Ok((
            StatusCode::CREATED,
            Json(json!({"entry_id": entry_id, "counted": true})),
        )
            .into_response()),
        // Not queued or not written: safe to retry.
        Ballot::Retry(refusal) => Ok(retry_after(refusal, 1)),
        Ballot::Refused(refusal) => Err(refusal.into()),
        Ballot::NotFound => Err(ApiError::not_found("the entry")),
    }
}

/// What became of one vote past admission.
pub enum Ballot {
    Counted,
    /// Not queued or not written: safe to retry at once.
    Retry(VoteRefusal),
    /// The rules refuse it (already voted, closed, not approved, a limit, the roster…).
    Refused(VoteRefusal),
    NotFound,
}

/// The one way a vote reaches the ingest (the batcher's exact statement: policy, limits and
/// tally), for the API and the entry page's form alike. The caller has admitted the voter
/// (`Runtime::admit`) and checked that their email is verified.
pub async fn ingest(
    rt: &Runtime,
    entry_id: Uuid,
    voter_id: i64,
    ip: Option<IpAddr>,
    headers: &HeaderMap,
) -> sqlx::Result<Ballot> {
    let vote = new_vote(entry_id, voter_id, ip, headers);
    Ok(match rt.ingest(vote).await? {
        Err(refusal) => Ballot::Retry(refusal),
        Ok(Outcome::Counted { .. }) => Ballot::Counted,
        Ok(Outcome::AlreadyVoted) => Ballot::Refused(VoteRefusal::AlreadyVoted),
        Ok(Outcome::Refused(code)) => {
            VoteRefusal::of_outcome(code).map_or(Ballot::NotFound, Ballot::Refused)
        }
    })
}

fn new_vote(entry_id: Uuid, voter_id: i64, ip: Option<IpAddr>, headers: &HeaderMap) -> NewVote {
    let user_agent_hash = headers
        .get(header::USER_AGENT)
        .map(|ua| Sha256::digest(ua.as_bytes())[..16].to_vec());
    NewVote {
        entry_id,
        voter_id,
        ip: ip.map(|ip| ip.to_string()),
        ip_network: ip.map(policy::network_key),
        user_agent_hash,
    }
}

/// Spends `payload` if it is a fresh, solved challenge; else the code of why it is not (the
/// API's and the entry page's vote alike).
pub async fn spend_challenge(
    state: &AppState,
    payload: Option<&str>,
) -> sqlx::Result<Result<(), &'static str>> {
    let Some(payload) = payload else {
        return Ok(Err("challenge-required"));
    };
    let key = state.secrets.get(&state.db, "vote-challenge").await?;
    Ok(match challenge::check(&key, payload, Utc::now()) {
        Ok((c, expires)) => {
            if challenge::spend(&state.db, &c, expires).await? {
                Ok(())
            } else {
                Err("challenge-used")
            }
        }
        Err(code) => Err(code),
    })
}

/// `None` when the request carries a fresh, solved challenge (now spent); otherwise the 428
/// answer with a new challenge to solve.
async fn require_challenge(
    state: &AppState,
    rt: &Runtime,
    parts: &Parts,
) -> Result<Option<Response>, ApiError> {
    let payload = parts
        .headers
        .get("x-vote-challenge")
        .and_then(|v| v.to_str().ok());
    let code = match spend_challenge(state, payload).await? {
        Ok(()) => return Ok(None),
        Err(code) => code,
    };
    let key = state.secrets.get(&state.db, "vote-challenge").await?;
    let body = json!({
        "error": {
            "code": code,
            "message": "many votes come from here right now: solve the challenge and send the vote again",
        },
        "challenge": rt.new_challenge(&key),
    });
    Ok(Some(
        (StatusCode::PRECONDITION_REQUIRED, Json(body)).into_response(),
    ))
}

/// A challenge to solve ahead of time (a page that expects to be asked).
#[utoipa::path(
    get,
    path = "/api/v1/vote-challenge",
    operation_id = "new_vote_challenge",
    summary = "a proof-of-work challenge (ALTCHA format, SHA-256): find the number n <= maxnumber with sha256(salt + n) = challenge; valid 10 minutes, once",
    responses(
        (status = 200, description = "the challenge", body = challenge::Challenge),
        (status = 503, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn new_challenge(State(state): State<AppState>) -> Result<Response, ApiError> {
    let rt = Runtime::of(&state).ok_or(VoteRefusal::Unavailable)?;
    let key = state.secrets.get(&state.db, "vote-challenge").await?;
    let mut res = Json(rt.new_challenge(&key)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/tally",
    operation_id = "get_tally",
    summary = "vote totals of approved entries",
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "the tally", body = repo::Tally),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn tally(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<repo::Tally>, ApiError> {
    let contest = repo::contest_by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    if totals_hidden(&contest.settings, contest.voting_closes_at) {
        return Err(VoteRefusal::TotalsHidden.into());
    }
    Ok(Json(repo::tally(&state.db, contest.contest_id).await?))
}
