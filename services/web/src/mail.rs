//! Outgoing mail. Every message goes into the `outbox` table first, in the request's own
//! transaction (so nothing is lost when mail is down and no request waits for SMTP); with
//! `SMTP_URL` set, `spawn_sender` delivers pending rows in the background with retries, and
//! the row's status says what happened. With no SMTP configured admins read it at /admin/outbox.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;
use axum::http::HeaderMap;
use hoithi_core::AppState;
use hoithi_core::config::Config;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgExecutor;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Attempts before a message is marked `failed` (its last error stays on the row).
const MAX_ATTEMPTS: i32 = 8;
/// Messages one sender takes at a time.
const BATCH: i64 = 20;
/// How often an idle sender looks for new mail.
const POLL: Duration = Duration::from_secs(1);

pub async fn queue(
    db: impl PgExecutor<'_>,
    to: &str,
    kind: &str,
    subject: &str,
    body: &str,
) -> sqlx::Result<()> {
    crate::domain::people::outbox::queue(db, to, kind, subject, body).await
}

/// The origin every absolute link is built from (mail: verification, password reset, judge
/// invites; entry and stream links, QR codes): the configured public URL, else the address
/// the server itself listens on (start-up warns about it). Never a request header: Host and
/// X-Forwarded-Host are whatever the client sends, and a link built from them hands a reset
/// token to whoever forged them.
pub fn origin(config: &Config) -> String {
    if let Some(url) = &config.public_url {
        return url.clone();
    }
    // A wildcard listen address is no place to point a link at; this machine is.
    let ip = match config.listen.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v6) if v6.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    format!("http://{}", SocketAddr::new(ip, config.listen.port()))
}

/// `origin` for a handler. The headers are deliberately not read (see `origin`); the
/// parameter stays so that every caller keeps going through this one function.
pub fn base_url(state: &AppState, _headers: &HeaderMap) -> String {
    origin(&state.config)
}

/// The SMTP transport of `SMTP_URL`: `smtp://host:port` (plain), `smtp://host?tls=required`
/// (STARTTLS), `smtps://user:pass@host` (TLS from the start).
fn transport(url: &str) -> anyhow::Result<AsyncSmtpTransport<Tokio1Executor>> {
    Ok(AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
        .context("SMTP_URL is not a URL like smtp://host:25 or smtps://user:password@host")?
        .timeout(Some(Duration::from_secs(30)))
        .build())
}

/// The From address: `HOITHI_MAIL_FROM`, else no-reply at the public URL's host.
fn sender_address(state: &AppState) -> anyhow::Result<lettre::message::Mailbox> {
    let from = state.config.mail.from.clone().unwrap_or_else(|| {
        let host = state
            .config
            .public_url
            .as_deref()
            .and_then(|u| u.split("://").nth(1))
            .map(|rest| rest.split(['/', ':']).next().unwrap_or("localhost"))
            .filter(|h| h.contains('.'))
            .unwrap_or("localhost.localdomain");
        format!("Hội Thi <no-reply@{host}>")
    });
    from.parse()
        .with_context(|| format!("HOITHI_MAIL_FROM={from:?} is not a mail address"))
}

/// The first retry's delay in seconds, doubling on each later attempt up to an hour:
/// `HOITHI_MAIL_RETRY_SECONDS` (default 10).
fn retry_base_seconds(config: &Config) -> f64 {
    config.mail.retry_base_seconds
}

/// Starts delivering the outbox over SMTP when `SMTP_URL` is set; `None` without it. A bad
/// `SMTP_URL` or From address stops the start-up with a message.
pub fn spawn_sender(
    state: &AppState,
    shutdown: CancellationToken,
) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(url) = state.config.smtp_url.clone() else {
        return Ok(None);
    };
    let mailer = transport(&url)?;
    let from = sender_address(state)?;
    let retry = retry_base_seconds(&state.config);
    let db = state.db.clone();
    Ok(Some(tokio::spawn(async move {
        tracing::info!("sending mail over SMTP");
        loop {
            let sent = match deliver_batch(&db, &mailer, &from, retry).await {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(error = %err, "mail: reading the outbox failed");
                    0
                }
            };
            if sent as i64 == BATCH {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(POLL) => {}
            }
        }
    })))
}

#[derive(sqlx::FromRow)]
struct Pending {
    outbox_id: i64,
    to_email: String,
    subject: String,
    body: String,
    attempts: i32,
}

/// Claims due rows (another node skips them), tries each once, records the outcome. The
/// claim pushes `next_attempt_at` forward first, so a node that dies mid-send leaves the row
/// to be retried after the back-off. Returns how many rows were claimed.
async fn deliver_batch(
    db: &sqlx::PgPool,
    mailer: &AsyncSmtpTransport<Tokio1Executor>,
    from: &lettre::message::Mailbox,
    retry_base_seconds: f64,
) -> sqlx::Result<usize> {
    let rows: Vec<Pending> = sqlx::query_as(
        "update outbox o set attempts = o.attempts + 1,
                next_attempt_at = now() + make_interval(secs => least($2 * power(2, o.attempts), 3600))
         where o.outbox_id in (
             select outbox_id from outbox where status = 'pending' and next_attempt_at <= now()
             order by outbox_id limit $1 for update skip locked)
         returning o.outbox_id, o.to_email, o.subject, o.body, o.attempts",
    )
    .bind(BATCH)
    .bind(retry_base_seconds)
    .fetch_all(db)
    .await?;
    for row in &rows {
        let outcome = send_one(mailer, from, row).await;
        match outcome {
            Ok(()) => {
                sqlx::query(
                    "update outbox set status = 'sent', sent_at = now(), last_error = null
                     where outbox_id = $1",
                )
                .bind(row.outbox_id)
                .execute(db)
                .await?;
            }
            Err((permanent, error)) => {
                let give_up = permanent || row.attempts >= MAX_ATTEMPTS;
                tracing::warn!(outbox_id = row.outbox_id, attempts = row.attempts, give_up, %error, "mail not sent");
                sqlx::query(
                    "update outbox set last_error = $2,
                            status = case when $3 then 'failed' else status end
                     where outbox_id = $1",
                )
                .bind(row.outbox_id)
                .bind(&error)
                .bind(give_up)
                .execute(db)
                .await?;
            }
        }
    }
    Ok(rows.len())
}

/// Sends one message; `Err((permanent, reason))` when it did not go out.
async fn send_one(
    mailer: &AsyncSmtpTransport<Tokio1Executor>,
    from: &lettre::message::Mailbox,
    row: &Pending,
) -> Result<(), (bool, String)> {
    let to = row
        .to_email
        .parse()
        .map_err(|e| (true, format!("bad recipient {:?}: {e}", row.to_email)))?;
    let message = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(&row.subject)
        .header(ContentType::TEXT_PLAIN)
        .body(row.body.clone())
        .map_err(|e| (true, format!("cannot build the message: {e}")))?;
    mailer
        .send(message)
        .await
        .map(drop)
        .map_err(|e| (e.is_permanent(), format!("{e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_of_each_kind_are_accepted_and_nonsense_refused() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.vn?tls=required",
            "smtps://user:m%E1%BA%ADt@mail.example.vn",
        ] {
            assert!(transport(url).is_ok(), "{url}");
        }
        assert!(transport("not a url").is_err());
        assert!(transport("http://mail.example.vn").is_err());
    }

    #[test]
    fn links_point_at_the_public_url_else_the_listen_address_never_a_wildcard() {
        let mut config = Config::from_lookup(|_| None).unwrap();
        config.listen = "0.0.0.0:9000".parse().unwrap();
        assert_eq!(origin(&config), "http://127.0.0.1:9000");
        config.listen = "[::]:9000".parse().unwrap();
        assert_eq!(origin(&config), "http://[::1]:9000");
        config.listen = "192.0.2.7:8080".parse().unwrap();
        assert_eq!(origin(&config), "http://192.0.2.7:8080");
        config.public_url = Some("https://hoithi.example.vn".into());
        assert_eq!(origin(&config), "https://hoithi.example.vn");
    }
}
