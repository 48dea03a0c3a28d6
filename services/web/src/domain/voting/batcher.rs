//! The vote batcher: requests queue their vote (bounded; a full queue is refused at once),
//! one task gathers what is waiting into a batch, and up to `flushes` batches are written at
//! the same time, each as one statement and one synchronous commit, by writers numbered
//! 0..flushes (a writer's number is its tally shard). Each waiter hears its own outcome only
//! after the commit. On shutdown the queue is closed, drained and flushed.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::hub::Hub;
use super::policy::Settings;
use super::repo::{self, NewVote, Outcome};

/// The batch failed to commit: the vote may not be counted, and the client should retry
/// (a retry can never count twice).
#[derive(Debug, Clone)]
pub struct NotSaved;

pub type Reply = Result<Outcome, NotSaved>;

struct Pending {
    vote: NewVote,
    reply: oneshot::Sender<Reply>,
}

#[derive(Debug)]
pub enum SubmitError {
    /// The queue is full: answer 503 with Retry-After.
    Overloaded,
    /// The batcher stopped (shutdown).
    Stopped,
}

#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Pending>,
}

impl Batcher {
    /// Starts the batcher task; it runs until `shutdown` is cancelled and the queue is flushed.
    pub fn start(
        db: PgPool,
        settings: &Settings,
        hub: Arc<Hub>,
        shutdown: CancellationToken,
    ) -> (Self, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(settings.queue);
        let task = tokio::spawn(run(db, rx, settings.clone(), hub, shutdown));
        (Self { tx }, task)
    }

    pub fn submit(&self, vote: NewVote) -> Result<oneshot::Receiver<Reply>, SubmitError> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Pending { vote, reply }) {
            Ok(()) => Ok(rx),
            Err(mpsc::error::TrySendError::Full(_)) => Err(SubmitError::Overloaded),
            Err(mpsc::error::TrySendError::Closed(_)) => Err(SubmitError::Stopped),
        }
    }
}

async fn run(
    db: PgPool,
    mut rx: mpsc::Receiver<Pending>,
    settings: Settings,
    hub: Arc<Hub>,
    shutdown: CancellationToken,
) {
    // The free writers, by number.
    let (free, mut writers) = mpsc::channel::<i16>(settings.flushes);
    for w in 0..settings.flushes {
        let _ = free.try_send(w as i16);
    }
    let mut closing = false;
    loop {
        let first = if closing {
            rx.recv().await
        } else {
            tokio::select! {
                item = rx.recv() => item,
                () = shutdown.cancelled() => {
                    // No new votes; the ones already queued are still written.
                    rx.close();
                    closing = true;
                    continue;
                }
            }
        };
        let Some(first) = first else { break };
        let mut batch = gather(first, &mut rx, &settings, closing).await;
        // While every writer is busy, what arrives joins the next batch.
        let writer = loop {
            if batch.len() >= settings.max_batch {
                break writers.recv().await;
            }
            tokio::select! {
                biased;
                writer = writers.recv() => break writer,
                item = rx.recv() => match item {
                    Some(p) => batch.push(p),
                    None => break writers.recv().await,
                },
            }
        };
        // `free` lives here, so the channel never closes.
        let Some(writer) = writer else { break };
        let (db, hub, free) = (db.clone(), hub.clone(), free.clone());
        tokio::spawn(async move {
            flush(&db, batch, &hub, writer).await;
            let _ = free.send(writer).await;
        });
    }
    // Wait for the batches still being written: every writer back.
    for _ in 0..settings.flushes {
        let _ = writers.recv().await;
    }
    tracing::info!("the vote batcher stopped with every queued vote written");
}

/// A batch: `first` and what else is waiting, lingering up to `settings.linger` for more
/// (not while closing: then what is queued is written at once).
async fn gather(
    first: Pending,
    rx: &mut mpsc::Receiver<Pending>,
    settings: &Settings,
    closing: bool,
) -> Vec<Pending> {
    let mut batch = vec![first];
    let deadline = tokio::time::Instant::now() + settings.linger;
    loop {
        while batch.len() < settings.max_batch {
            match rx.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        if batch.len() >= settings.max_batch || closing || settings.linger.is_zero() {
            return batch;
        }
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(p)) => batch.push(p),
            Ok(None) | Err(_) => return batch,
        }
    }
}

async fn flush(db: &PgPool, batch: Vec<Pending>, hub: &Hub, writer: i16) {
    let (votes, replies): (Vec<NewVote>, Vec<oneshot::Sender<Reply>>) =
        batch.into_iter().map(|p| (p.vote, p.reply)).unzip();
    let metrics = &*hoithi_core::metrics::METRICS;
    metrics.vote_batch_size.observe(votes.len() as f64);
    let started = std::time::Instant::now();
    let written = repo::insert_votes(db, &votes, writer).await;
    let took = started.elapsed();
    metrics.vote_batch_seconds.observe(took.as_secs_f64());
    tracing::debug!(
        writer,
        votes = votes.len(),
        ms = took.as_secs_f64() * 1e3,
        "vote batch"
    );
    match written {
        Ok(outcomes) => {
            let mut contests: Vec<i64> = outcomes
                .iter()
                .filter_map(|o| match o {
                    Outcome::Counted { contest_id } => Some(*contest_id),
                    _ => None,
                })
                .collect();
            contests.sort_unstable();
            contests.dedup();
            for c in contests {
                hub.tally_changed(c);
            }
            for (reply, outcome) in replies.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(err) => {
            tracing::error!(error = %err, votes = votes.len(), "a vote batch was not saved");
            for reply in replies {
                let _ = reply.send(Err(NotSaved));
            }
        }
    }
}
