//! The state every request handler and background task shares: cheap to clone.

use std::sync::Arc;

use sqlx::PgPool;

use crate::config::Config;
use crate::storage::Storage;

#[derive(Clone)]
pub struct AppState {
    pub db: PgPool,
    pub storage: Storage,
    pub config: Arc<Config>,
}
