//! The state every request handler and background task shares: cheap to clone.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, RwLock, Weak};

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
    /// What the process started beside its routes (the vote batcher and live hub), by type.
    pub runtimes: Arc<Runtimes>,
    /// "Last used" times of tokens and sessions waiting for their batched write.
    pub touches: Arc<Toucher>,
}

/// The background services a process runs beside its routes, found by their type: the one
/// that starts a service puts it here (`AppState::set_runtime`) and handlers find it with
/// `AppState::runtime`. A slot holds a weak reference: the starter owns the service, and once
/// it has stopped and been dropped the slot answers `None` (the service is not running).
/// States made from one another (`with_config`) share the slots.
#[derive(Default)]
pub struct Runtimes(RwLock<HashMap<TypeId, Box<dyn Any + Send + Sync>>>);

impl AppState {
    pub fn new(db: PgPool, storage: Arc<Storage>, config: Arc<Config>) -> Self {
        Self(Arc::new(Shared {
            db,
            storage,
            config,
            secrets: Arc::default(),
            runtimes: Arc::default(),
            touches: Arc::default(),
        }))
    }

    /// The same state with the runtime slots of another (tests make several states of one
    /// site, which must find the same vote runtime).
    #[must_use]
    pub fn sharing_runtimes(&self, runtimes: Arc<Runtimes>) -> Self {
        Self(Arc::new(Shared {
            db: self.db.clone(),
            storage: self.storage.clone(),
            config: self.config.clone(),
            secrets: self.secrets.clone(),
            runtimes,
            touches: self.touches.clone(),
        }))
    }

    /// Makes `runtime` the one handlers find for its type (replacing an earlier one).
    pub fn set_runtime<T: Send + Sync + 'static>(&self, runtime: &Arc<T>) {
        let mut slots = self
            .runtimes
            .0
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots.insert(TypeId::of::<T>(), Box::new(Arc::downgrade(runtime)));
    }

    /// The running service of type `T`, if one was set and still runs.
    pub fn runtime<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let slots = self
            .runtimes
            .0
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots
            .get(&TypeId::of::<T>())
            .and_then(|slot| slot.downcast_ref::<Weak<T>>())
            .and_then(Weak::upgrade)
    }

    /// The same state with another configuration (tests set a public URL this way).
    #[must_use]
    pub fn with_config(&self, config: Config) -> Self {
        Self(Arc::new(Shared {
            db: self.db.clone(),
            storage: self.storage.clone(),
            config: Arc::new(config),
            secrets: self.secrets.clone(),
            runtimes: self.runtimes.clone(),
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
