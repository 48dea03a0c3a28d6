//! Live updates: `GET /api/v1/contests/{slug}/events` (SSE). A tally change anywhere is
//! announced on the PostgreSQL channel `vote_tally`; every node listens, and sends its
//! subscribers a fresh snapshot of the contest's tally at most once per second.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::voting::policy::VotePolicy;
use crate::voting::repo::{self, Tally};

/// The PostgreSQL channel; the payload is the contest id.
pub const CHANNEL: &str = "vote_tally";
/// At most one tally event per contest per this interval.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How often pending changes are announced and pending events sent.
const TICK: Duration = Duration::from_millis(100);

pub fn router() -> Router<AppState> {
    Router::new().route("/api/v1/contests/{slug}/events", get(events))
}

struct Topic {
    tx: broadcast::Sender<Arc<Tally>>,
    last_sent: Option<Instant>,
    dirty: bool,
}

/// One per process: who listens to which contest, and what changed.
pub struct Hub {
    topics: Mutex<HashMap<i64, Topic>>,
    /// Contests changed in this process, to be announced to every node.
    outgoing: Mutex<HashSet<i64>>,
    keep_alive: Duration,
    shutdown: CancellationToken,
}

impl Hub {
    /// Starts the listener and the announcer/publisher; both stop with `shutdown`.
    pub fn start(
        db: PgPool,
        keep_alive: Duration,
        shutdown: CancellationToken,
    ) -> (Arc<Self>, Vec<JoinHandle<()>>) {
        let hub = Arc::new(Self {
            topics: Mutex::new(HashMap::new()),
            outgoing: Mutex::new(HashSet::new()),
            keep_alive,
            shutdown,
        });
        let tasks = vec![
            tokio::spawn(listen(db.clone(), hub.clone())),
            tokio::spawn(publish(db, hub.clone())),
        ];
        (hub, tasks)
    }

    /// Called after a commit that changed a tally of `contest_id` in this process.
    pub fn tally_changed(&self, contest_id: i64) {
        lock(&self.outgoing).insert(contest_id);
    }

    fn mark_dirty(&self, contest_id: i64) {
        if let Some(t) = lock(&self.topics).get_mut(&contest_id) {
            t.dirty = true;
        }
    }

    fn mark_all_dirty(&self) {
        for t in lock(&self.topics).values_mut() {
            t.dirty = true;
        }
    }

    fn subscribe(&self, contest_id: i64) -> broadcast::Receiver<Arc<Tally>> {
        lock(&self.topics)
            .entry(contest_id)
            .or_insert_with(|| Topic {
                tx: broadcast::channel(4).0,
                last_sent: None,
                dirty: false,
            })
            .tx
            .subscribe()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Receives announcements of every node (this one included). A lost connection may have lost
/// announcements, so after it every watched contest is refreshed.
async fn listen(db: PgPool, hub: Arc<Hub>) {
    loop {
        let mut listener = match PgListener::connect_with(&db).await {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(error = %err, "cannot listen for tally changes; retrying");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    () = hub.shutdown.cancelled() => return,
                }
            }
        };
        if let Err(err) = listener.listen(CHANNEL).await {
            tracing::warn!(error = %err, "LISTEN failed; retrying");
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                () = hub.shutdown.cancelled() => return,
            }
        }
        hub.mark_all_dirty();
        loop {
            tokio::select! {
                () = hub.shutdown.cancelled() => return,
                got = listener.try_recv() => match got {
                    Ok(Some(n)) => {
                        if let Ok(id) = n.payload().parse::<i64>() {
                            hub.mark_dirty(id);
                        }
                    }
                    Ok(None) => hub.mark_all_dirty(),
                    Err(err) => {
                        tracing::warn!(error = %err, "the tally listener lost its connection");
                        break;
                    }
                }
            }
        }
    }
}

/// Every tick: announces this process's changes with NOTIFY (one statement for all of them),
/// and sends a snapshot to the subscribers of each changed contest not served in the last second.
async fn publish(db: PgPool, hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = hub.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let outgoing: Vec<i64> = lock(&hub.outgoing).drain().collect();
        if !outgoing.is_empty() {
            let sent = sqlx::query("select pg_notify($1, c::text) from unnest($2::int8[]) as c")
                .bind(CHANNEL)
                .bind(&outgoing)
                .execute(&db)
                .await;
            if let Err(err) = sent {
                tracing::warn!(error = %err, "cannot announce tally changes; will retry");
                lock(&hub.outgoing).extend(outgoing);
            }
        }
        let now = Instant::now();
        let due: Vec<i64> = {
            let mut topics = lock(&hub.topics);
            topics.retain(|_, t| t.tx.receiver_count() > 0);
            topics
                .iter()
                .filter(|(_, t)| t.dirty && t.last_sent.is_none_or(|at| now - at >= MIN_INTERVAL))
                .map(|(id, _)| *id)
                .collect()
        };
        for contest_id in due {
            match repo::tally(&db, contest_id).await {
                Ok(tally) => {
                    let mut topics = lock(&hub.topics);
                    if let Some(t) = topics.get_mut(&contest_id) {
                        t.dirty = false;
                        t.last_sent = Some(now);
                        let _ = t.tx.send(Arc::new(tally));
                    }
                }
                Err(err) => tracing::warn!(error = %err, contest_id, "cannot read a tally"),
            }
        }
    }
}

fn tally_event(tally: &Tally) -> Event {
    let data = serde_json::to_string(tally).unwrap_or_else(|_| "{}".to_owned());
    Event::default()
        .event("tally")
        .id(&tally.version)
        .data(data)
}

/// One open live stream in `hoithi_sse_clients`.
struct SseClient;

impl SseClient {
    fn new() -> Self {
        hoithi_core::metrics::METRICS.sse_clients.inc();
        Self
    }
}

impl Drop for SseClient {
    fn drop(&mut self) {
        hoithi_core::metrics::METRICS.sse_clients.dec();
    }
}

async fn events(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hub = crate::voting::runtime(&state.db)
        .map(|r| r.hub.clone())
        .ok_or_else(crate::voting::unavailable)?;
    let contest = repo::contest_by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    let hidden = VotePolicy::from_settings(&contest.settings).hide_totals
        && contest
            .voting_closes_at
            .is_none_or(|at| chrono::Utc::now() < at);
    // A client that reconnects with the id of the snapshot it has gets no copy of it again.
    let last_id = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 64)
        .map(str::to_owned);
    let rx = hub.subscribe(contest.contest_id);
    let first = if hidden {
        None
    } else {
        let tally = repo::tally(&state.db, contest.contest_id).await?;
        (last_id.as_deref() != Some(tally.version.as_str())).then(|| tally_event(&tally))
    };
    let shutdown = hub.shutdown.clone();
    let updates = stream::unfold((rx, shutdown), move |(mut rx, shutdown)| async move {
        loop {
            let got = tokio::select! {
                () = shutdown.cancelled() => return None,
                got = rx.recv() => got,
            };
            match got {
                Ok(_) if hidden => continue,
                Ok(tally) => return Some((tally_event(&tally), (rx, shutdown))),
                // Each event is a full snapshot: a skipped one is replaced by the next.
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    // Counted while the stream lives: the guard drops with the stream when the client goes.
    let open = SseClient::new();
    let events: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(stream::iter(first).chain(updates).map(move |e| {
            let _ = &open;
            Ok(e)
        }));
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(hub.keep_alive))
        .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx must pass events through as they come.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}
