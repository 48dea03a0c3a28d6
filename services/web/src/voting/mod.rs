//! Public voting: `POST /api/v1/entries/{id}/votes` through the batcher, tallies, and the
//! organizers' invalidations. The background part (batcher, live hub) is started by the web
//! role with `start` and found by handlers through the database pool they share.

mod batcher;
pub(crate) mod challenge;
mod claims;
pub mod erase;
pub(crate) mod limits;
mod members;
mod pages;
mod review;
pub(crate) mod roster;
mod voters;

use std::net::IpAddr;
use std::sync::{Arc, Mutex, Weak};
use std::time::Instant;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::{self, CurrentUser};

use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use self::batcher::{Batcher, SubmitError};
pub use self::erase::{Erased, erase_vote_ips};
use self::limits::{Limiter, TokenCache};
pub use self::members::set_member_number;
use crate::access::client::ClientIp;
pub use crate::domain::voting::policy::Settings;
use crate::domain::voting::policy::{self, Ingest, VotePolicy};
pub use crate::domain::voting::repo::Difference;
use crate::domain::voting::repo::{self, NewVote, Outcome};
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
        .route("/api/v1/vote-challenge", get(new_challenge))
        .merge(voters::router())
        .merge(members::router())
        .merge(claims::router())
        .merge(pages::router())
        .merge(review::router())
        .merge(roster::router())
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

/// What one process runs for voting; handlers find it by their pool.
pub(crate) struct Runtime {
    settings: Settings,
    batcher: Batcher,
    /// The connections that write votes (see `ingest_pool`).
    ingest_db: PgPool,
    pub(crate) hub: Arc<Hub>,
    per_voter: Limiter<i64>,
    per_ip: Limiter<IpAddr>,
    per_network: Limiter<String>,
    challenge_voter: Limiter<i64>,
    challenge_ip: Limiter<IpAddr>,
    challenge_network: Limiter<String>,
    tokens: TokenCache,
}

impl Runtime {
    fn new_challenge(&self, key: &[u8]) -> challenge::Challenge {
        let expires = Utc::now() + chrono::Duration::minutes(CHALLENGE_MINUTES);
        challenge::issue(key, self.settings.challenge_max_number, expires)
    }
}

/// How long a proof-of-work challenge may be solved and used.
const CHALLENGE_MINUTES: i64 = 10;

/// A challenge limit is on only while its hard limit is: "limits off" means all of them.
fn escalation(hard: policy::Rate, soft: policy::Rate) -> policy::Rate {
    if hard.enabled() {
        soft
    } else {
        policy::Rate {
            per_second: 0.0,
            burst: 1.0,
        }
    }
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

/// The vote writers' own connections: as many as the batcher writes at once (a spike cannot
/// take the connections pages need), with the vote statement's generic plan forced. A batch
/// of a few votes would otherwise be planned afresh every time — PostgreSQL keeps custom
/// plans when they look cheaper — and planning costs more than writing it.
fn ingest_pool(db: &PgPool, settings: &Settings) -> PgPool {
    let size = match settings.ingest {
        Ingest::Batched => settings.flushes as u32,
        Ingest::Direct => db.options().get_max_connections(),
    };
    let options = (*db.connect_options())
        .clone()
        .options([("plan_cache_mode", "force_generic_plan")]);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(size)
        // A broken connection fails its batch, whose voters are told to retry (safely):
        // no ping before every batch.
        .test_before_acquire(false)
        .acquire_timeout(std::time::Duration::from_secs(10))
        .connect_lazy_with(options)
}

/// Starts the vote batcher and the live hub with the settings in the environment
/// (`HOITHI_VOTE_*`, `HOITHI_LIVE_*`). They stop when `shutdown` is cancelled; await
/// `Background::stopped` to know every queued vote was written.
pub fn start(state: &AppState, shutdown: CancellationToken) -> anyhow::Result<Background> {
    Ok(start_with(state, state.config.votes.clone(), shutdown))
}

pub fn start_with(state: &AppState, settings: Settings, shutdown: CancellationToken) -> Background {
    let (hub, mut tasks) = Hub::start(state.db.clone(), settings.keep_alive, shutdown.clone());
    tasks.push(tokio::spawn(erase::run_periodically(
        state.db.clone(),
        state.config.vote_dispute_days,
        shutdown.clone(),
    )));
    let ingest_db = ingest_pool(&state.db, &settings);
    let (batcher, task) = Batcher::start(ingest_db.clone(), &settings, hub.clone(), shutdown);
    tasks.push(task);
    let runtime = Arc::new(Runtime {
        per_voter: Limiter::new(settings.per_voter),
        per_ip: Limiter::new(settings.per_ip),
        per_network: Limiter::new(settings.per_network),
        challenge_voter: Limiter::new(escalation(settings.per_voter, settings.challenge_voter)),
        challenge_ip: Limiter::new(escalation(settings.per_ip, settings.challenge_ip)),
        challenge_network: Limiter::new(escalation(
            settings.per_network,
            settings.challenge_network,
        )),
        tokens: TokenCache::new(settings.token_cache),
        settings,
        batcher,
        ingest_db,
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
        if let Some(user) = auth::user_for_token(state, &token).await? {
            rt.tokens.put(key, user.clone(), now);
            return Ok(user);
        }
    }
    CurrentUser::from_request_parts(parts, state).await
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
        .or_else(|| ip.and_then(|ip| rt.per_ip.check(&ip, now).err()))
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
    // Above the normal rates the vote needs a solved challenge (each check takes its token
    // only when the previous ones passed, so a challenged vote is not counted twice).
    let unusual = rt.challenge_voter.check(&user.app_user_id, now).is_err()
        || ip.is_some_and(|ip| rt.challenge_ip.check(&ip, now).is_err())
        || network
            .as_ref()
            .is_some_and(|n| rt.challenge_network.check(n, now).is_err());
    if unusual && let Some(refusal) = require_challenge(&state, &rt, &parts).await? {
        return Ok(refusal);
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
            // The naive path: no batching, each request its own statement and commit (its
            // tally shard drawn at random, so requests do not queue on one row either).
            let shard = rand::Rng::gen_range(&mut rand::thread_rng(), 0..16);
            let mut outcomes =
                repo::insert_votes(&rt.ingest_db, std::slice::from_ref(&vote), shard).await?;
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
        Outcome::Refused("not-on-roster") => ApiError::new(
            StatusCode::FORBIDDEN,
            "not-on-roster",
            "this contest takes votes only from the people on its roster",
        )
        .into_response(),
        Outcome::Refused(code) => {
            let message = match code {
                "entry-not-approved" => "this entry does not take votes",
                "voting-not-open" => "voting has not opened yet",
                "voting-closed" => "voting has closed",
                "not-shortlisted" => "only the shortlisted entries take votes",
                "contest-limit-reached" => "you have used all your votes in this contest",
                "round-limit-reached" => "you have used all your votes in this round",
                _ => "this vote is not possible",
            };
            ApiError::new(StatusCode::CONFLICT, code, message).into_response()
        }
    })
}

/// `None` when the request carries a fresh, solved challenge (now spent); otherwise the 428
/// answer with a new challenge to solve.
async fn require_challenge(
    state: &AppState,
    rt: &Runtime,
    parts: &Parts,
) -> Result<Option<Response>, ApiError> {
    let key = state.secrets.get(&state.db, "vote-challenge").await?;
    let code = match parts
        .headers
        .get("x-vote-challenge")
        .and_then(|v| v.to_str().ok())
    {
        None => "challenge-required",
        Some(payload) => match challenge::check(&key, payload, Utc::now()) {
            Ok((c, expires)) => {
                if challenge::spend(&state.db, &c, expires).await? {
                    return Ok(None);
                }
                "challenge-used"
            }
            Err(code) => code,
        },
    };
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
async fn new_challenge(State(state): State<AppState>) -> Result<Response, ApiError> {
    let rt = runtime(&state.db).ok_or_else(unavailable)?;
    let key = state.secrets.get(&state.db, "vote-challenge").await?;
    let mut res = Json(rt.new_challenge(&key)).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
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

/// Whether `user` organizes the voting contest: the one rule of `domain::access`.
pub(crate) async fn may_organize(
    db: &PgPool,
    user: &CurrentUser,
    contest: &repo::VotingContest,
) -> Result<bool, ApiError> {
    Ok(crate::domain::access::manages(db, user, contest.unit_id).await?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct InvalidationForm {
    pub voter_id: Option<i64>,
    pub ip_network: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
}

impl InvalidationForm {
    /// The criteria and reason, or the stable code of what is wrong (API and page alike).
    pub(crate) fn checked(&self) -> Result<(repo::Criteria, String), ApiError> {
        let reason = reason(&self.reason)?;
        let ip_network = match self.ip_network.as_deref() {
            None => None,
            Some(s) => Some(policy::parse_network(s).ok_or_else(|| {
                ApiError::invalid(
                    "invalid-network",
                    "ip_network must look like 203.113.7.0/24",
                )
            })?),
        };
        if let (Some(f), Some(u)) = (self.from, self.until)
            && f >= u
        {
            return Err(ApiError::invalid(
                "invalid-window",
                "from must be before until",
            ));
        }
        let criteria = repo::Criteria {
            voter_id: self.voter_id,
            ip_network,
            from: self.from,
            until: self.until,
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
        Ok((criteria, reason))
    }
}

pub(crate) fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("invalid-body", format!("the JSON body is not valid: {e}")))
}

pub(crate) fn reason(text: &str) -> Result<String, ApiError> {
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
    let (criteria, reason) = form.checked()?;
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
