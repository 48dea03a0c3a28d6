//! Counts the SQL statements sqlx runs on this thread (its `sqlx::query` events at TRACE,
//! `hoithi_core::db::options`), keeping their text: the gallery and category tests hold a page
//! of cards to one statement with it.
//!
//! Interest in a callsite is cached the first time it is hit. While only one dispatcher is
//! registered, tracing-core computes that interest from the *hitting thread's* default
//! subscriber: a sqlx callsite first hit on another test's thread (no subscriber there) was
//! cached as "never", and this thread's counter then saw no event at all. A second dispatcher
//! that stays registered for the whole run makes every later registration ask all live
//! dispatchers, this thread's counter among them; cached interests are rebuilt after installing.

use std::sync::{Arc, Mutex, OnceLock};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::layer::SubscriberExt;

#[derive(Clone, Default)]
pub struct Statements(Arc<Mutex<Vec<String>>>);

impl Statements {
    /// Starts counting on this thread until the guard is dropped.
    pub fn on_this_thread() -> (Self, DefaultGuard) {
        static SECOND: OnceLock<tracing::Dispatch> = OnceLock::new();
        SECOND.get_or_init(|| tracing::Dispatch::new(tracing::subscriber::NoSubscriber::default()));
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

    /// The statements counted since the last `clear`, without bare transaction control.
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
            // A transaction's end says nothing about what a page costs, and a background task
            // of the server (on this thread's runtime) may end one inside any window: CI saw a
            // stray COMMIT whose statements ran before the window opened.
            if !matches!(text.0.trim(), "COMMIT" | "BEGIN" | "ROLLBACK") {
                self.0.lock().unwrap().push(text.0);
            }
        }
    }
}
