//! `/healthz` (the process runs) and `/readyz` (PostgreSQL and the object store answer) on
//! the public listener; `/metrics` (Prometheus) and a `/readyz` that says why only on the
//! operators' listener (`HOITHI_METRICS_LISTEN`), since both tell an attacker about the
//! inside: request rates, queue depths, host names and error texts of the backing services.
//! Both `/readyz` name the build's version (`"version"`), so a roll can be checked node by node.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hoithi_core::AppState;
use serde_json::json;

const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// The health routes of the public listener.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The operators' listener: metrics, and readiness with the failing check's own words.
pub fn operator_router() -> Router<AppState> {
    hoithi_core::metrics::set_build_info(crate::VERSION);
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz_detailed))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok"
}

/// Readiness for load balancers and anyone: which check fails, in fixed words; the cause
/// (an error text that may name hosts, users or buckets) goes to the log and the operators'
/// listener.
async fn readyz(State(state): State<AppState>) -> Response {
    readiness(&state, false).await
}

async fn readyz_detailed(State(state): State<AppState>) -> Response {
    readiness(&state, true).await
}

async fn readiness(state: &AppState, detailed: bool) -> Response {
    let database = async {
        match tokio::time::timeout(CHECK_TIMEOUT, sqlx::query("select 1").execute(&state.db)).await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("PostgreSQL: {e}")),
            Err(_) => Err("PostgreSQL did not answer within 3 s".to_owned()),
        }
    };
    let storage = async {
        match tokio::time::timeout(CHECK_TIMEOUT, state.storage.check()).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(_) => Err("the object store did not answer within 3 s".to_owned()),
        }
    };
    let (database, storage) = tokio::join!(database, storage);
    let status = |r: &Result<(), String>, public: &str| match r {
        Ok(()) => json!({"ok": true}),
        Err(reason) if detailed => json!({"ok": false, "reason": reason}),
        Err(reason) => {
            tracing::warn!(reason = %reason, "not ready: {public}");
            json!({"ok": false, "reason": public})
        }
    };
    let body = json!({
        "database": status(&database, "PostgreSQL does not answer"),
        "storage": status(&storage, "the object store does not answer"),
    });
    if database.is_ok() && storage.is_ok() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "version": crate::VERSION, "checks": body})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "version": crate::VERSION, "checks": body})),
        )
            .into_response()
    }
}

async fn metrics(State(state): State<AppState>) -> Response {
    // Queue gauges come from the database; a slow database must not hang the scrape.
    match tokio::time::timeout(
        CHECK_TIMEOUT,
        hoithi_core::metrics::refresh_queue(&state.db),
    )
    .await
    {
        Ok(Ok(())) => {}
        Ok(Err(err)) => tracing::warn!(error = %err, "metrics: reading the job queue failed"),
        Err(_) => tracing::warn!("metrics: reading the job queue timed out"),
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        hoithi_core::metrics::encode(),
    )
        .into_response()
}
