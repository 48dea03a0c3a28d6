//! The vote batcher: requests queue their vote (bounded; a full queue is refused at once),
//! one task gathers what is waiting into a batch, and up to `flushes` batches are written at
//! the same time, each as one statement and one synchronous commit. Each waiter hears its own
//! outcome only after the commit. On shutdown the queue is closed, drained and flushed.

use std::sync::Arc;

use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::policy::Settings;
use super::repo::{self, NewVote, Outcome};
use crate::live::Hub;

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
    let flushes = Arc::new(Semaphore::new(settings.flushes));
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
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(p)) => batch.push(p),
                Ok(None) | Err(_) => break,
            }
        }
        // While every writer is busy, what arrives joins the next batch.
        let permit = loop {
            if batch.len() >= settings.max_batch {
                break flushes.clone().acquire_owned().await;
            }
            tokio::select! {
                biased;
                permit = flushes.clone().acquire_owned() => break permit,
                item = rx.recv() => match item {
                    Some(p) => batch.push(p),
                    None => break flushes.clone().acquire_owned().await,
                },
            }
        };
        let Ok(permit) = permit else { break };
        let db = db.clone();
        let hub = hub.clone();
        tokio::spawn(async move {
            flush(&db, batch, &hub).await;
            drop(permit);
        });
    }
    // Wait for the batches still being written.
    let _ = flushes.acquire_many(settings.flushes as u32).await;
    tracing::info!("the vote batcher stopped with every queued vote written");
}

async fn flush(db: &PgPool, batch: Vec<Pending>, hub: &Hub) {
    let (votes, replies): (Vec<NewVote>, Vec<oneshot::Sender<Reply>>) =
        batch.into_iter().map(|p| (p.vote, p.reply)).unzip();
    match repo::insert_votes(db, &votes).await {
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
