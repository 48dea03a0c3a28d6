//! The mail outbox as the admin reads it: what the platform sent, or would send with no SMTP
//! configured (`crate::mail` writes and delivers the rows).

use chrono::{DateTime, Utc};
use sqlx::PgExecutor;

/// One message of the outbox.
#[derive(Debug, sqlx::FromRow)]
pub struct Mail {
    pub to_email: String,
    pub subject: String,
    pub body: String,
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
}

/// Puts a message into the outbox (in the caller's transaction, so it leaves only if what
/// it tells happened); `crate::mail` delivers it.
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

/// The newest 200 messages, newest first.
pub async fn recent(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<Mail>> {
    sqlx::query_as(
        "select to_email, subject, body, kind, created_at, status, attempts, last_error
             from outbox order by outbox_id desc limit 200",
    )
    .fetch_all(db)
    .await
}
