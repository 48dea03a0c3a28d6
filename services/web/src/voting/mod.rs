//! Public voting: `POST /api/v1/entries/{id}/votes` through the batcher, tallies, and the
//! organizers' invalidations. The background part (batcher, live hub) is started by the web
//! role with `start` and found by handlers through the database pool they share.

mod batcher;
pub(crate) mod limits;
pub(crate) mod policy;
pub(crate) mod repo;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::{self, CurrentUser};
use hoithi_core::domain::Role;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::batcher::{Batcher, SubmitError};
use self::limits::{Limiter, TokenCache};
use self::policy::{Ingest, Settings, VotePolicy};
pub use self::repo::Difference;
use self::repo::{NewVote, Outcome};
use crate::live::Hub;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/entries/{id}/votes",
            post(cast_vote).layer(axum::middleware::map_response(count_vote)),
        )
        .route("/api/v1/contests/{slug}/tally", get(tally))
        .route(
            "/api/v1/contests/{slug}/vote-invalidations",
            post(invalidate),
        )
        .route("/api/v1/vote-invalidations/{id}/restore", post(restore))
}

/// Counts every answer of the vote endpoint by outcome for `/metrics`.
async fn count_vote(res: Response) -> Response {
    let outcome = match res.status().as_u16() {
        201 => "counted",
        409 => "duplicate-or-closed",
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

/// What one process runs for voting; handlers find it by their pool.
pub(crate) struct Runtime {
    settings: Settings,
    batcher: Batcher,
    pub(crate) hub: Arc<Hub>,
    per_voter: Limiter<i64>,
    per_network: Limiter<String>,
    tokens: TokenCache,
}

/// Runtimes by the identity of their pool's options (shared by every clone of one pool).
static RUNTIMES: Mutex<Vec<(usize, Weak<Runtime>)>> = Mutex::new(Vec::new());

fn pool_key(db: &PgPool) -> usize {
    Arc::as_ptr(&db.connect_options()) as usize
}

pub(crate) fn runtime(db: &PgPool) -> Option<Arc<Runtime>> {
    let key = pool_key(db);
    let runtimes = RUNTIMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    runtimes
        .iter()
        .find(|(k, _)| *k == key)
        .and_then(|(_, w)| w.upgrade())
}

pub(crate) fn unavailable() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "voting-unavailable",
        "voting is not running on this server; try again shortly",
    )
}

/// The running batcher and live hub of a web process.
pub struct Background {
    runtime: Arc<Runtime>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts the vote batcher and the live hub with the settings in the environment
/// (`HOITHI_VOTE_*`, `HOITHI_LIVE_*`). They stop when `shutdown` is cancelled; await
/// `Background::stopped` to know every queued vote was written.
pub fn start(state: &AppState, shutdown: CancellationToken) -> anyhow::Result<Background> {
    Ok(start_with(state, Settings::from_env()?, shutdown))
}

pub fn start_with(state: &AppState, settings: Settings, shutdown: CancellationToken) -> Background {
    let (hub, mut tasks) = Hub::start(state.db.clone(), settings.keep_alive, shutdown.clone());
    let (batcher, task) = Batcher::start(state.db.clone(), &settings, hub.clone(), shutdown);
    tasks.push(task);
    let runtime = Arc::new(Runtime {
        per_voter: Limiter::new(settings.per_voter),
        per_network: Limiter::new(settings.per_network),
        tokens: TokenCache::new(settings.token_cache),
        settings,
        batcher,
        hub,
    });
    let key = pool_key(&state.db);
    let mut runtimes = RUNTIMES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    runtimes.retain(|(k, w)| *k != key && w.strong_count() > 0);
    runtimes.push((key, Arc::downgrade(&runtime)));
    Background { runtime, tasks }
}

impl Background {
    /// Waits until the batcher flushed its queue and the live tasks ended (after shutdown).
    pub async fn stopped(self) {
        for task in self.tasks {
            if let Err(err) = task.await {
                tracing::error!(error = %err, "a voting task panicked");
            }
        }
        drop(self.runtime);
    }
}

/// Recounts valid votes against the tallies (all contests, or the one with `slug`).
/// Returns (entries checked, valid votes, differences).
pub async fn check_tallies(
    db: &PgPool,
    slug: Option<&str>,
) -> anyhow::Result<(i64, i64, Vec<Difference>)> {
    let contest_id = match slug {
        None => None,
        Some(slug) => Some(
            repo::contest_by_slug(db, slug)
                .await?
                .ok_or_else(|| anyhow::anyhow!("there is no contest with the slug {slug:?}"))?
                .contest_id,
        ),
    };
    Ok(repo::check_tallies(db, contest_id).await?)
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
        if let Some(user) = rt.tokens.get(&key, now) {
            return Ok(user);
        }
        if let Some(user) = auth::user_for_token(&state.db, &token).await? {
            rt.tokens.put(key, user.clone(), now);
            return Ok(user);
        }
    }
    CurrentUser::from_request_parts(parts, state).await
}

/// The peer address (behind a proxy: the proxy's; see the report on X-Forwarded-For).
struct ClientIp(Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| policy::canonical_ip(c.0.ip())),
        ))
    }
}

fn with_retry_after(mut response: Response, seconds: u64) -> Response {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds.max(1)));
    response
}

fn parse_uuid(s: &str) -> Option<Uuid> {
    (s.len() <= 64).then(|| Uuid::parse_str(s).ok()).flatten()
}

async fn cast_vote(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    mut parts: Parts,
) -> Result<Response, ApiError> {
    let rt = runtime(&state.db).ok_or_else(unavailable)?;
    let user = resolve_user(&state, &rt, &mut parts).await?;
    let entry_id = parse_uuid(&id).ok_or_else(|| ApiError::not_found("the entry"))?;
    if !user.is_verified() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "not-eligible",
            "only voters with a verified email may vote",
        ));
    }
    let now = Instant::now();
    let network = ip.map(policy::network_key);
    let limited = rt
        .per_voter
        .check(&user.app_user_id, now)
        .err()
        .or_else(|| {
            network
                .as_ref()
                .and_then(|n| rt.per_network.check(n, now).err())
        });
    if let Some(wait) = limited {
        let error = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            "too many votes at once; wait a moment and try again",
        );
        return Ok(with_retry_after(
            error.into_response(),
            wait.as_secs_f64().ceil() as u64,
        ));
    }
    let user_agent_hash = parts
        .headers
        .get(header::USER_AGENT)
        .map(|ua| Sha256::digest(ua.as_bytes())[..16].to_vec());
    let vote = NewVote {
        entry_id,
        voter_id: user.app_user_id,
        ip: ip.map(|ip| ip.to_string()),
        ip_network: network,
        user_agent_hash,
    };
    let outcome = match rt.settings.ingest {
        Ingest::Direct => {
            let mut outcomes = repo::insert_votes(&state.db, std::slice::from_ref(&vote)).await?;
            let outcome = outcomes.pop().unwrap_or(Outcome::AlreadyVoted);
            if let Outcome::Counted { contest_id } = outcome {
                rt.hub.tally_changed(contest_id);
            }
            outcome
        }
        Ingest::Batched => {
            let overloaded = || {
                with_retry_after(
                    ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "overloaded",
                        "too many votes are waiting; try again in a moment",
                    )
                    .into_response(),
                    1,
                )
            };
            let reply = match rt.batcher.submit(vote) {
                Ok(reply) => reply,
                Err(SubmitError::Overloaded | SubmitError::Stopped) => return Ok(overloaded()),
            };
            match reply.await {
                Ok(Ok(outcome)) => outcome,
                // Not written (or the batcher is gone): the client may retry safely.
                Ok(Err(_)) | Err(_) => {
                    return Ok(with_retry_after(
                        ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "vote-not-saved",
                            "the vote could not be saved; please try again",
                        )
                        .into_response(),
                        1,
                    ));
                }
            }
        }
    };
    Ok(match outcome {
        Outcome::Counted { .. } => (
            StatusCode::CREATED,
            Json(json!({"entry_id": entry_id, "counted": true})),
        )
            .into_response(),
        Outcome::AlreadyVoted => ApiError::new(
            StatusCode::CONFLICT,
            "already-voted",
            "you have already used your votes for this entry today",
        )
        .into_response(),
        Outcome::Refused("entry-not-found") => ApiError::not_found("the entry").into_response(),
        Outcome::Refused(code) => {
            let message = match code {
                "entry-not-approved" => "this entry does not take votes",
                "voting-not-open" => "voting has not opened yet",
                "voting-closed" => "voting has closed",
                _ => "this vote is not possible",
            };
            ApiError::new(StatusCode::CONFLICT, code, message).into_response()
        }
    })
}

async fn tally(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let contest = repo::contest_by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    let hidden = VotePolicy::from_settings(&contest.settings).hide_totals
        && contest.voting_closes_at.is_none_or(|at| Utc::now() < at);
    if hidden {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "totals-hidden",
            "this contest shows its totals after voting closes",
        ));
    }
    let tally = repo::tally(&state.db, contest.contest_id).await?;
    Ok(Json(tally).into_response())
}

/// Admins, the contest's creator, and organizers of its unit or a unit above it.
async fn may_organize(
    db: &PgPool,
    user: &CurrentUser,
    contest: &repo::VotingContest,
) -> Result<bool, ApiError> {
    Ok(match user.role {
        Role::Admin => true,
        Role::Organizer => {
            contest.created_by == Some(user.app_user_id)
                || match (user.unit_id, contest.unit_id) {
                    (Some(u), Some(c)) => repo::organizes_unit(db, u, c).await?,
                    _ => false,
                }
        }
        _ => false,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvalidationForm {
    voter_id: Option<i64>,
    ip_network: Option<String>,
    from: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    reason: String,
}

fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("invalid-body", format!("the JSON body is not valid: {e}")))
}

fn reason(text: &str) -> Result<String, ApiError> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 1000 {
        return Err(ApiError::invalid(
            "reason-required",
            "give a reason of 1 to 1000 characters",
        ));
    }
    Ok(text.to_owned())
}

async fn invalidate(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let contest = repo::contest_by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    if !may_organize(&state.db, &user, &contest).await? {
        return Err(ApiError::forbidden(
            "only the contest's organizers may invalidate votes",
        ));
    }
    let form: InvalidationForm = json_body(&body)?;
    let reason = reason(&form.reason)?;
    let ip_network = match form.ip_network.as_deref() {
        None => None,
        Some(s) => Some(policy::parse_network(s).ok_or_else(|| {
            ApiError::invalid(
                "invalid-network",
                "ip_network must look like 203.113.7.0/24",
            )
        })?),
    };
    if let (Some(f), Some(u)) = (form.from, form.until)
        && f >= u
    {
        return Err(ApiError::invalid(
            "invalid-window",
            "from must be before until",
        ));
    }
    let criteria = repo::Criteria {
        voter_id: form.voter_id,
        ip_network,
        from: form.from,
        until: form.until,
    };
    if criteria.voter_id.is_none()
        && criteria.ip_network.is_none()
        && criteria.from.is_none()
        && criteria.until.is_none()
    {
        return Err(ApiError::invalid(
            "criteria-required",
            "name a voter, an IP network or a time window",
        ));
    }
    let (id, votes) = repo::invalidate(
        &state.db,
        contest.contest_id,
        &criteria,
        &reason,
        user.app_user_id,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "votes": votes}))).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RestoreForm {
    reason: String,
}

async fn restore(
    State(state): State<AppState>,
    Path(id): Path<String>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::not_found("the invalidation"))?;
    let contest: Option<(String,)> = sqlx::query_as(
        "select c.slug from vote_invalidation i join contest c using (contest_id)
         where i.vote_invalidation_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    let (slug,) = contest.ok_or_else(|| ApiError::not_found("the invalidation"))?;
    let contest = repo::contest_by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the invalidation"))?;
    if !may_organize(&state.db, &user, &contest).await? {
        return Err(ApiError::forbidden(
            "only the contest's organizers may restore votes",
        ));
    }
    let form: RestoreForm = json_body(&body)?;
    let reason = reason(&form.reason)?;
    match repo::restore(&state.db, id, &reason, user.app_user_id).await {
        Ok((_, votes)) => Ok(Json(json!({"id": id, "votes": votes})).into_response()),
        Err(repo::RestoreError::NotFound) => Err(ApiError::not_found("the invalidation")),
        Err(repo::RestoreError::AlreadyRestored) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "already-restored",
            "these votes were restored already",
        )),
        Err(repo::RestoreError::Db(e)) => Err(e.into()),
    }
}
