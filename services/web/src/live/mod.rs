//! Live updates: `GET /api/v1/contests/{slug}/events` (SSE). A tally change anywhere is
//! announced on the PostgreSQL channel `vote_tally`; every node listens, and sends its
//! subscribers a fresh snapshot of the contest's tally at most once per second. Live state
//! (the entry on stage, the live voting window) and phase changes come on `contest_live` and
//! go out at once as `stage` and `phase` events; `control` is the organizer's side of it.

pub mod control;
pub mod state;

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

use self::state::LiveSnapshot;
use crate::domain::voting::policy::VotePolicy;
use crate::domain::voting::repo::{self, Tally};

pub use crate::domain::voting::CHANNEL;
/// The channel of live state and phase changes (sent by triggers); payload: the contest id.
pub const LIVE_CHANNEL: &str = "contest_live";
/// At most one tally event per contest per this interval.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How often pending changes are announced and pending events sent.
const TICK: Duration = Duration::from_millis(100);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contests/{slug}/events", get(events))
        .merge(control::router())
}

/// Whether the contest hides its totals now (its policy says so and voting has not closed).
pub fn totals_hidden(
    settings: &serde_json::Value,
    voting_closes_at: Option<chrono::DateTime<chrono::Utc>>,
) -> bool {
    VotePolicy::from_settings(settings).hide_totals
        && voting_closes_at.is_none_or(|at| chrono::Utc::now() < at)
}

/// What a contest's subscribers receive: each is a full snapshot, so a skipped one is
/// replaced by the next of its kind.
#[derive(Clone)]
enum Update {
    Tally(Arc<Tally>),
    Live(Arc<LiveSnapshot>),
}

struct Topic {
    tx: broadcast::Sender<Update>,
    last_sent: Option<Instant>,
    dirty: bool,
    /// The live state must be read again (a change was announced, or the topic is new).
    live_dirty: bool,
    /// When the phase changes next by the dates alone.
    live_due: Option<chrono::DateTime<chrono::Utc>>,
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

    fn mark_live_dirty(&self, contest_id: i64) {
        if let Some(t) = lock(&self.topics).get_mut(&contest_id) {
            t.live_dirty = true;
        }
    }

    fn mark_all_dirty(&self) {
        for t in lock(&self.topics).values_mut() {
            t.dirty = true;
            t.live_dirty = true;
        }
    }

    fn subscribe(&self, contest_id: i64) -> broadcast::Receiver<Update> {
        lock(&self.topics)
            .entry(contest_id)
            .or_insert_with(|| Topic {
                tx: broadcast::channel(16).0,
                last_sent: None,
                dirty: false,
                // Read once, to learn when the phase changes next.
                live_dirty: true,
                live_due: None,
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
        if let Err(err) = listener.listen_all([CHANNEL, LIVE_CHANNEL]).await {
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
                            if n.channel() == LIVE_CHANNEL {
                                hub.mark_live_dirty(id);
                            } else {
                                hub.mark_dirty(id);
                            }
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
                        let _ = t.tx.send(Update::Tally(Arc::new(tally)));
                    }
                }
                Err(err) => tracing::warn!(error = %err, contest_id, "cannot read a tally"),
            }
        }
        publish_live(&db, &hub).await;
    }
}

/// Live state is not coalesced: a stage change or phase change goes out on the next tick.
async fn publish_live(db: &PgPool, hub: &Hub) {
    let wall = chrono::Utc::now();
    let due: Vec<i64> = {
        let mut topics = lock(&hub.topics);
        topics
            .iter_mut()
            .filter_map(|(id, t)| {
                if t.live_due.is_some_and(|at| at <= wall) {
                    t.live_dirty = true;
                }
                t.live_dirty.then_some(*id)
            })
            .collect()
    };
    for contest_id in due {
        match state::snapshot(db, contest_id).await {
            Ok(Some(snap)) => {
                let mut topics = lock(&hub.topics);
                if let Some(t) = topics.get_mut(&contest_id) {
                    t.live_dirty = false;
                    t.live_due = snap.next_change;
                    let _ = t.tx.send(Update::Live(Arc::new(snap)));
                }
            }
            Ok(None) => {
                if let Some(t) = lock(&hub.topics).get_mut(&contest_id) {
                    t.live_dirty = false;
                    t.live_due = None;
                }
            }
            Err(err) => tracing::warn!(error = %err, contest_id, "cannot read a live state"),
        }
    }
}

/// What a client has seen, as the ids of its events say: `{tally version}` while the contest
/// was never live (the form older clients know), else `{tally version}/{live key}`. Events
/// carry the whole pair, so a client that reconnects with `Last-Event-ID` gets again only
/// what changed since.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    tally: Option<String>,
    live: Option<String>,
}

impl Seen {
    fn parse(id: &str) -> Self {
        match id.split_once('/') {
            Some((t, l)) => Self {
                tally: (!t.is_empty()).then(|| t.to_owned()),
                live: (!l.is_empty()).then(|| l.to_owned()),
            },
            None => Self {
                tally: (!id.is_empty()).then(|| id.to_owned()),
                live: None,
            },
        }
    }

    fn id(&self) -> String {
        let tally = self.tally.as_deref().unwrap_or("");
        match &self.live {
            None => tally.to_owned(),
            Some(live) => format!("{tally}/{live}"),
        }
    }
}

fn tally_event(tally: &Tally, seen: &Seen) -> Event {
    let data = serde_json::to_string(tally).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event("tally").id(seen.id()).data(data)
}

/// The `stage` and/or `phase` events that bring a client from `before` to `now`.
fn live_events(before: Option<&LiveSnapshot>, now: &LiveSnapshot, seen: &Seen) -> Vec<Event> {
    let mut out = Vec::new();
    let stage_changed = before.is_none_or(|b| {
        (&b.stage, b.live_voting, b.version) != (&now.stage, now.live_voting, now.version)
    });
    if stage_changed {
        out.push(
            Event::default()
                .event("stage")
                .id(seen.id())
                .data(now.stage_json().to_string()),
        );
    }
    if before.is_none_or(|b| (b.phase, b.next_change) != (now.phase, now.next_change)) {
        out.push(
            Event::default()
                .event("phase")
                .id(seen.id())
                .data(now.phase_json().to_string()),
        );
    }
    out
}

/// One client's stream: what it has seen, and events waiting to go out.
struct Conn {
    rx: broadcast::Receiver<Update>,
    shutdown: CancellationToken,
    seen: Seen,
    live: Option<Arc<LiveSnapshot>>,
    hidden: bool,
    pending: std::collections::VecDeque<Event>,
}

impl Conn {
    async fn next(mut self) -> Option<(Event, Self)> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some((e, self));
            }
            let got = tokio::select! {
                () = self.shutdown.cancelled() => return None,
                got = self.rx.recv() => got,
            };
            match got {
                Ok(Update::Tally(_)) if self.hidden => {}
                Ok(Update::Tally(tally)) => {
                    self.seen.tally = Some(tally.version.clone());
                    return Some((tally_event(&tally, &self.seen), self));
                }
                Ok(Update::Live(snap)) => {
                    if self.live.as_deref() != Some(&*snap) {
                        self.seen.live = snap.key();
                        let events = live_events(self.live.as_deref(), &snap, &self.seen);
                        self.pending.extend(events);
                        self.live = Some(snap);
                    }
                }
                // Each event is a full snapshot: a skipped one is replaced by the next.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
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
    let hidden = totals_hidden(&contest.settings, contest.voting_closes_at);
    // A client that reconnects with the id of the snapshots it has gets no copy of them again.
    let mut seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .map(Seen::parse)
        .unwrap_or_default();
    let rx = hub.subscribe(contest.contest_id);
    let mut first = std::collections::VecDeque::new();
    if !hidden {
        let tally = repo::tally(&state.db, contest.contest_id).await?;
        if seen.tally.as_deref() != Some(tally.version.as_str()) {
            seen.tally = Some(tally.version.clone());
            first.push_back(tally_event(&tally, &seen));
        }
    }
    let live = state::snapshot(&state.db, contest.contest_id)
        .await?
        .map(Arc::new);
    if let Some(snap) = &live
        && snap.key().is_some()
        && snap.key() != seen.live
    {
        seen.live = snap.key();
        first.extend(live_events(None, snap, &seen));
    }
    let conn = Conn {
        rx,
        shutdown: hub.shutdown.clone(),
        seen,
        live,
        hidden,
        pending: first,
    };
    let updates = stream::unfold(conn, Conn::next);
    // Counted while the stream lives: the guard drops with the stream when the client goes.
    let open = SseClient::new();
    let events: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(updates.map(move |e| {
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
