//! The state every request handler and background task shares: cheap to clone.

use std::sync::Arc;

use sqlx::PgPool;

use crate::auth::Toucher;
use crate::config::Config;
use crate::secrets::SiteSecrets;
use crate::storage::Storage;

/// One shared allocation: a request clones the state several times on its way in (each
/// layer and extractor that takes `State`), and a clone is one reference count, not one per
/// field (a profile of the vote spike showed the drops of the four).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub db: PgPool,
    pub storage: Arc<Storage>,
    pub config: Arc<Config>,
    /// Signing keys, read from the database once per process.
    pub secrets: Arc<SiteSecrets>,
    /// "Last used" times of tokens and sessions waiting for their batched write.
    pub touches: Arc<Toucher>,
}

impl AppState {
    pub fn new(db: PgPool, storage: Arc<Storage>, config: Arc<Config>) -> Self {
        Self(Arc::new(Shared {
            db,
            storage,
            config,
            secrets: Arc::default(),
            touches: Arc::default(),
        }))
    }

    /// The same state with another configuration (tests set a public URL this way).
    #[must_use]
    pub fn with_config(&self, config: Config) -> Self {
        Self(Arc::new(Shared {
            db: self.db.clone(),
            storage: self.storage.clone(),
            config: Arc::new(config),
            secrets: self.secrets.clone(),
            touches: self.touches.clone(),
        }))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}
