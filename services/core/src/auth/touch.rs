//! Recording when a token or session was last used, off the request's path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::{PgConnection, PgPool};

use super::credential::Credential;

/// Keys whose "last used" time is due, waiting for the next write.
#[derive(Default)]
struct Touches {
    /// When the pending write was scheduled. A write whose runtime ended before it ran
    /// (a test's) is scheduled again after a few seconds.
    scheduled: Option<Instant>,
    due: Vec<Due>,
}

/// One key waiting: its database, its kind, the key (the credential's hash).
struct Due {
    db: PgPool,
    credential: Credential,
    key: Vec<u8>,
}

/// The keys of one statement: one database and one kind of credential.
struct Group {
    db: PgPool,
    credential: Credential,
    keys: Vec<Vec<u8>>,
}

/// At most this many keys wait for a write; beyond it a "last used" time is skipped.
const MAX_TOUCHES: usize = 100_000;

/// Records "last used" of a token or session off the request's path: keys gather for a second
/// and are written with one statement per kind, without waiting for the disk
/// (`synchronous_commit = off`; losing it in a crash costs nothing). A request that only
/// reads commits nothing, and a spike of first-time voters costs one write a second instead
/// of one per voter. One per process, owned by the `AppState` (`state.touches`), not a global.
#[derive(Default)]
pub struct Toucher {
    touches: std::sync::Mutex<Touches>,
}

impl Toucher {
    fn lock(&self) -> std::sync::MutexGuard<'_, Touches> {
        self.touches
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Queues the "last used" write of `key`; the first key of a second schedules the write.
    pub fn touch_later(self: &Arc<Self>, db: &PgPool, credential: Credential, key: Vec<u8>) {
        let mut touches = self.lock();
        if touches.due.len() >= MAX_TOUCHES {
            return;
        }
        touches.due.push(Due {
            db: db.clone(),
            credential,
            key,
        });
        let now = Instant::now();
        if touches
            .scheduled
            .is_none_or(|at| now.duration_since(at) > Duration::from_secs(5))
        {
            touches.scheduled = Some(now);
            tokio::spawn(Arc::clone(self).write_after_a_second());
        }
    }

    async fn write_after_a_second(self: Arc<Self>) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        self.flush().await;
    }

    /// Writes every queued key now.
    pub async fn flush(&self) {
        let due = {
            let mut touches = self.lock();
            touches.scheduled = None;
            std::mem::take(&mut touches.due)
        };
        for group in group(due) {
            let written = async {
                let mut tx = group.db.begin().await?;
                sqlx::query("set local synchronous_commit = off")
                    .execute(&mut *tx)
                    .await?;
                touch(&mut tx, group.credential, &group.keys).await?;
                tx.commit().await
            };
            if let Err(err) = written.await {
                tracing::debug!(error = %err, "cannot record when tokens or sessions were last used");
            }
        }
    }
}

/// Sets "last used" of every credential of `keys` to now.
async fn touch(
    conn: &mut PgConnection,
    credential: Credential,
    keys: &[Vec<u8>],
) -> sqlx::Result<()> {
    match credential {
        Credential::ApiToken => sqlx::query!(
            "update api_token set last_used_at = now() where token_hash = any($1::bytea[])",
            keys
        )
        .execute(conn)
        .await
        .map(drop),
        Credential::WebSession => sqlx::query!(
            "update web_session set last_seen_at = now() where session_hash = any($1::bytea[])",
            keys
        )
        .execute(conn)
        .await
        .map(drop),
    }
}

/// One statement per database and kind of key, each key once.
fn group(due: Vec<Due>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for Due {
        db,
        credential,
        key,
    } in due
    {
        let same = |g: &&mut Group| {
            g.credential == credential
                && Arc::ptr_eq(&g.db.connect_options(), &db.connect_options())
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.keys.push(key),
            None => groups.push(Group {
                db,
                credential,
                keys: vec![key],
            }),
        }
    }
    for g in &mut groups {
        g.keys.sort_unstable();
        g.keys.dedup();
    }
    groups
}
