//! The state every request handler and background task shares: cheap to clone.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;
use crate::secrets::SiteSecrets;
use crate::storage::Storage;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    /// Shared, not copied: a request clones the state several times on its way in.
    pub storage: Arc<Storage>,
    pub config: Arc<Config>,
    /// Signing keys, read from the database once per process.
    pub secrets: Arc<SiteSecrets>,
}
