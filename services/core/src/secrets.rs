//! The site's signing keys (CSRF tokens, vote challenges, voter codes): each is made once and
//! kept in PostgreSQL, so every node and every restart signs and checks with the same one,
//! and each process reads it once. A request path must not pay a database round trip for a
//! key that never changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use rand::RngCore;
use sqlx::PgPool;

/// The keys this process has read, by name.
#[derive(Default)]
pub struct SiteSecrets {
    known: Mutex<HashMap<&'static str, Arc<[u8]>>>,
}

impl SiteSecrets {
    /// The key `name`, from memory after the first call.
    pub async fn get(&self, db: &PgPool, name: &'static str) -> sqlx::Result<Arc<[u8]>> {
        if let Some(key) = self.cached(name) {
            return Ok(key);
        }
        // Two requests racing here both read the same stored key: the map keeps either.
        let key: Arc<[u8]> = load_or_make(db, name).await?.into();
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name, key.clone());
        Ok(key)
    }

    fn cached(&self, name: &str) -> Option<Arc<[u8]>> {
        self.known
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }
}

/// Reads the key `name`, making a random one if the site has none yet.
async fn load_or_make(db: &PgPool, name: &str) -> sqlx::Result<Vec<u8>> {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    // Two nodes making the key at the same moment: the loser reads the winner's.
    for _ in 0..3 {
        let key: Option<Vec<u8>> = sqlx::query_scalar(
            "with made as (
                 insert into site_secret (name, value) values ($1, $2)
                 on conflict (name) do nothing returning value
             )
             select value from made union all select value from site_secret where name = $1
             limit 1",
        )
        .bind(name)
        .bind(raw.to_vec())
        .fetch_optional(db)
        .await?;
        if let Some(key) = key {
            return Ok(key);
        }
    }
    Err(sqlx::Error::RowNotFound)
}
