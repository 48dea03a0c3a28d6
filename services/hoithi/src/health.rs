//! `/healthz` (the process runs), `/readyz` (PostgreSQL and the object store answer) and
//! `/metrics` (Prometheus).

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

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
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
    let status = |r: &Result<(), String>| match r {
        Ok(()) => json!({"ok": true}),
        Err(reason) => json!({"ok": false, "reason": reason}),
    };
    let body = json!({"database": status(&database), "storage": status(&storage)});
    if database.is_ok() && storage.is_ok() {
        (
            StatusCode::OK,
            Json(json!({"status": "ready", "checks": body})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "checks": body})),
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
