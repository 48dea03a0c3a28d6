//! Counts the SQL statements sqlx runs on this thread (its `sqlx::query` events at TRACE,
//! `hoithi_core::db::options`), keeping their text: the gallery and category tests hold a page
//! of cards to one statement with it.
//!
//! Interest in a callsite is cached the first time it is hit. A callsite hit on another
//! test's thread while this thread's subscriber was being installed could keep the
//! "nobody listens" answer, so no event reached the counter (what happened under `cargo test
//! --workspace`, where more tests run at once): after installing, every cached interest is
//! computed again.

use std::sync::{Arc, Mutex};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
pub struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    /// Starts counting on this thread until the guard is dropped.
    pub fn on_this_thread() -> (Self, DefaultGuard) {
        let statements = Self::default();
        let guard = tracing::subscriber::set_default(
            tracing_subscriber::registry().with(statements.clone()),
        );
        tracing::callsite::rebuild_interest_cache();
        (statements, guard)
    }

    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }

    /// The statements counted since the last `clear`.
    pub fn taken(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Statements {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Text(String);
        impl tracing::field::Visit for Text {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "db.statement" || field.name() == "summary" {
                    self.0.push_str(&format!("{value:?} "));
                }
            }
            fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
                if field.name() == "db.statement" || field.name() == "summary" {
                    self.0.push_str(value);
                    self.0.push(' ');
                }
            }
        }
        if event.metadata().target() == "sqlx::query" {
            let mut text = Text(String::new());
            event.record(&mut text);
            self.0.lock().unwrap().push(text.0);
        }
    }
}
