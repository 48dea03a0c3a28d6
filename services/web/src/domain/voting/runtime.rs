//! What one process runs for voting: the batcher, the live hub, the rate limits and the
//! token cache. The web role starts it (`start`); it lives in the process's `AppState`
//! (`AppState::set_runtime`), where handlers find it with `Runtime::of`.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;
use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::batcher::{Batcher, SubmitError};
use super::challenge::{self, Challenge};
use super::erase;
use super::hub::Hub;
use super::limits::{Limiter, TokenCache};
use super::policy::{self, Ingest, Rate, Settings};
use super::refusal::VoteRefusal;
use super::repo::{self, NewVote, Outcome};

/// How long a proof-of-work challenge may be solved and used.
const CHALLENGE_MINUTES: i64 = 10;

pub struct Runtime {
    settings: Settings,
    batcher: Batcher,
    /// The connections that write votes (see `ingest_pool`).
    ingest_db: PgPool,
    hub: Arc<Hub>,
    per_voter: Limiter<i64>,
    per_ip: Limiter<IpAddr>,
    per_network: Limiter<String>,
    challenge_voter: Limiter<i64>,
    challenge_ip: Limiter<IpAddr>,
    challenge_network: Limiter<String>,
    tokens: TokenCache,
}

/// What the rate limits say of one more vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    Admitted,
    /// Over a hard limit: refused, to be retried after this long.
    Limited(Duration),
    /// Above the normal rates: the vote needs a solved challenge.
    Unusual,
}

impl Runtime {
    /// The runtime the web role started for `state`; `None` while voting is not running.
    pub fn of(state: &AppState) -> Option<Arc<Self>> {
        state.runtime::<Self>()
    }

    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    pub fn new_challenge(&self, key: &[u8]) -> Challenge {
        let expires = Utc::now() + chrono::Duration::minutes(CHALLENGE_MINUTES);
        challenge::issue(key, self.settings.challenge_max_number, expires)
    }

    /// The user of a bearer token (the SHA-256 of it) seen lately.
    pub fn cached_user(&self, key: &[u8; 32], now: Instant) -> Option<CurrentUser> {
        self.tokens.get(key, now)
    }

    pub fn cache_user(&self, key: [u8; 32], user: CurrentUser, now: Instant) {
        self.tokens.put(key, user, now);
    }

    /// Takes a token of each limit of the voter, their address and network. Each challenge
    /// check takes its token only when the previous ones passed, so a challenged vote is not
    /// counted twice.
    pub fn admit(&self, voter: i64, ip: Option<IpAddr>, now: Instant) -> Admission {
        let network = ip.map(policy::network_key);
        let limited = self
            .per_voter
            .check(&voter, now)
            .err()
            .or_else(|| ip.and_then(|ip| self.per_ip.check(&ip, now).err()))
            .or_else(|| {
                network
                    .as_ref()
                    .and_then(|n| self.per_network.check(n, now).err())
            });
        if let Some(wait) = limited {
            return Admission::Limited(wait);
        }
        let unusual = self.challenge_voter.check(&voter, now).is_err()
            || ip.is_some_and(|ip| self.challenge_ip.check(&ip, now).is_err())
            || network
                .as_ref()
                .is_some_and(|n| self.challenge_network.check(n, now).is_err());
        if unusual {
            Admission::Unusual
        } else {
            Admission::Admitted
        }
    }

    /// Writes one vote, batched or directly as the settings say.
    pub async fn ingest(&self, vote: NewVote) -> sqlx::Result<Result<Outcome, VoteRefusal>> {
        match self.settings.ingest {
            Ingest::Direct => {
                // The naive path: no batching, each request its own statement and commit (its
                // tally shard drawn at random, so requests do not queue on one row either).
                let shard = rand::Rng::gen_range(&mut rand::thread_rng(), 0..16);
                let mut outcomes =
                    repo::insert_votes(&self.ingest_db, std::slice::from_ref(&vote), shard).await?;
                let outcome = outcomes.pop().unwrap_or(Outcome::AlreadyVoted);
                if let Outcome::Counted { contest_id } = outcome {
                    self.hub.tally_changed(contest_id);
                }
                Ok(Ok(outcome))
            }
            Ingest::Batched => {
                let reply = match self.batcher.submit(vote) {
                    Ok(reply) => reply,
                    Err(SubmitError::Overloaded | SubmitError::Stopped) => {
                        return Ok(Err(VoteRefusal::Overloaded));
                    }
                };
                Ok(match reply.await {
                    Ok(Ok(outcome)) => Ok(outcome),
                    // Not written (or the batcher is gone): the client may retry safely.
                    Ok(Err(_)) | Err(_) => Err(VoteRefusal::NotSaved),
                })
            }
        }
    }
}

/// A challenge limit is on only while its hard limit is: "limits off" means all of them.
fn escalation(hard: Rate, soft: Rate) -> Rate {
    if hard.enabled() {
        soft
    } else {
        Rate {
            per_second: 0.0,
            burst: 1.0,
        }
    }
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

/// Starts the vote batcher, the live hub and the hourly erasure of voters' addresses with
/// `settings`, and puts the runtime into `state`. They stop when `shutdown` is cancelled;
/// await `Background::stopped` to know every queued vote was written.
pub fn start(state: &AppState, settings: Settings, shutdown: CancellationToken) -> Background {
    let (hub, mut tasks) = Hub::start(state.db.clone(), settings.keep_alive, shutdown.clone());
    tasks.push(tokio::spawn(erase::run_periodically(
        state.db.clone(),
        state.config.vote_dispute_days,
        shutdown.clone(),
    )));
    // The other hourly erasures of personal data (issue 22): accounts past their grace
    // period, and each contest's retention after results.
    tasks.push(tokio::spawn(
        crate::domain::privacy::schedule::run_periodically(
            state.db.clone(),
            (*state.storage).clone(),
            state.config.account_deletion_days,
            shutdown.clone(),
        ),
    ));
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
    state.set_runtime(&runtime);
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
