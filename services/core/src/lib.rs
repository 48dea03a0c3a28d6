//! hoithi-core: what every role shares — settings, domain types, the database, object
//! storage, the embedded services of a zero-configuration install, and the message catalogs.

pub mod account;
pub mod api_error;
pub mod auth;
pub mod config;
pub mod contest;
pub mod db;
pub mod domain;
pub mod embedded;
pub mod entry_lifecycle;
pub mod i18n;
pub mod job;
pub mod media;
pub mod metrics;
pub mod password;
pub mod secrets;
pub mod state;
pub mod storage;
#[cfg(feature = "testing")]
pub mod testing;

pub use state::AppState;
