//! Outgoing mail. Every message goes into the `outbox` table first (so nothing is lost when
//! mail is down); with no SMTP configured, admins read it at /admin/outbox.

use axum::http::{HeaderMap, header};
use hoithi_core::AppState;
use sqlx::PgExecutor;

pub async fn queue(
    db: impl PgExecutor<'_>,
    to: &str,
    kind: &str,
    subject: &str,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query("insert into outbox (to_email, kind, subject, body) values ($1, $2, $3, $4)")
        .bind(to)
        .bind(kind)
        .bind(subject)
        .bind(body)
        .execute(db)
        .await
        .map(drop)
}

/// The origin links in mail point to. The configured public URL wins; without one (a
/// developer's machine) the request's Host is used.
pub fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("127.0.0.1:8080");
    format!("http://{host}")
}
