//! The live hub of one process: who listens to which contest, and what changed. A tally
//! change anywhere is announced on the PostgreSQL channel `vote_tally`; every node listens,
//! and sends its subscribers a fresh snapshot of the contest's tally at most once per second.
//! Live state (the entry on stage, the live voting window) and phase changes come on
//! `contest_live` and go out at once. The event streams of `crate::live` subscribe here.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;
use tokio::sync::broadcast;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::CHANNEL;
use super::live::{self, LiveSnapshot};
use super::repo::{self, Tally};

/// The channel of live state and phase changes (sent by triggers); payload: the contest id.
pub const LIVE_CHANNEL: &str = "contest_live";
/// At most one tally event per contest per this interval.
const MIN_INTERVAL: Duration = Duration::from_secs(1);
/// How often pending changes are announced and pending events sent.
const TICK: Duration = Duration::from_millis(100);

/// What a contest's subscribers receive: each is a full snapshot, so a skipped one is
/// replaced by the next of its kind.
#[derive(Clone)]
pub enum Update {
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

    /// Cancelled when the process stops: event streams end with it.
    pub fn shutdown(&self) -> &CancellationToken {
        &self.shutdown
    }

    /// How often an idle event stream sends a keep-alive comment.
    pub fn keep_alive(&self) -> Duration {
        self.keep_alive
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

    /// The updates of `contest_id` from now on.
    pub fn subscribe(&self, contest_id: i64) -> broadcast::Receiver<Update> {
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
        match live::snapshot(db, contest_id).await {
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
