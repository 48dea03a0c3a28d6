#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Outgoing mail over SMTP with the real binary and a real SMTP server (Python's `smtpd`,
//! which parses what arrives with the `email` package): while the server is down a page that
//! sends mail still answers at once and the outbox row shows the error and its attempts; once
//! the server is up the retry delivers the message with its Vietnamese subject and body intact.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::browser::{Browser, csrf_field};
use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

/// Prints one JSON line per message received, decoded by Python's own MIME parser.
const SMTP_SERVER: &str = r#"
import asyncore, email, email.policy, json, smtpd, sys
class Keep(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kw):
        msg = email.message_from_bytes(data, policy=email.policy.default)
        print(json.dumps({"mail_from": mailfrom, "rcpt_to": rcpttos, "from": str(msg["from"]),
                          "to": str(msg["to"]), "subject": str(msg["subject"]),
                          "body": msg.get_content()}, ensure_ascii=False), flush=True)
Keep(("127.0.0.1", int(sys.argv[1])), None, decode_data=False)
print("ready", flush=True)
asyncore.loop()
"#;

struct SmtpServer {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl SmtpServer {
    fn start(port: u16) -> Self {
        let mut child = Command::new("python3")
            .args(["-W", "ignore", "-c", SMTP_SERVER, &port.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 (apt-get install python3)");
        let out = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let server = Self { child, lines };
        assert_eq!(server.next_line(Duration::from_secs(30)), "ready");
        server
    }

    fn next_line(&self, timeout: Duration) -> String {
        self.lines
            .recv_timeout(timeout)
            .expect("a line from the SMTP server")
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(Debug, sqlx::FromRow)]
struct Row {
    subject: String,
    body: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
}

async fn outbox_row(env: &TestEnv, to: &str) -> Option<Row> {
    sqlx::query_as(
        "select subject, body, status, attempts, last_error from outbox where to_email = $1",
    )
    .bind(to)
    .fetch_optional(&env.db)
    .await
    .unwrap()
}

async fn wait_row(env: &TestEnv, to: &str, what: &str, done: impl Fn(&Row) -> bool) -> Row {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(row) = outbox_row(env, to).await
            && done(&row)
        {
            return row;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {:?}",
            outbox_row(env, to).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn mail_is_retried_while_smtp_is_down_and_then_delivered_in_vietnamese() {
    let env = TestEnv::new().await;
    let (user_id, _) = env.user(Role::Member).await;
    let email = common::email_of(&env, user_id).await;
    // A port with nothing listening yet: the SMTP server comes up later on it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    cmd.env("SMTP_URL", format!("smtp://127.0.0.1:{port}"))
        .env("HOITHI_MAIL_RETRY_SECONDS", "1")
        .env("HOITHI_MAIL_FROM", "Hội Thi <no-reply@hoithi.example.vn>")
        .args(["--roles", "web"]);
    let server = Server::start(cmd).await;

    let mut browser = Browser::new();
    let (status, html) = browser
        .get(&format!("{}/forgot-password", server.url))
        .await;
    assert_eq!(status, 200);
    let csrf = csrf_field(&html);
    let asked = Instant::now();
    let (status, _) = browser
        .post(
            &format!("{}/forgot-password", server.url),
            &[("_csrf", &csrf), ("email", &email)],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        asked.elapsed() < Duration::from_secs(2),
        "the page does not wait for SMTP: {:?}",
        asked.elapsed()
    );

    let failed = wait_row(&env, &email, "a failed attempt is recorded", |r| {
        r.attempts >= 1 && r.last_error.is_some()
    })
    .await;
    assert_eq!(failed.status, "pending", "a refused connection is retried");

    let smtp = SmtpServer::start(port);
    let sent = wait_row(&env, &email, "delivered after the retry", |r| {
        r.status == "sent"
    })
    .await;
    assert!(sent.attempts >= 2, "{sent:?}");
    assert_eq!(sent.last_error, None);

    let got: serde_json::Value =
        serde_json::from_str(&smtp.next_line(Duration::from_secs(10))).unwrap();
    assert_eq!(got["rcpt_to"], serde_json::json!([email]));
    assert_eq!(got["to"], email.as_str());
    assert_eq!(got["mail_from"], "no-reply@hoithi.example.vn");
    assert_eq!(got["from"], "Hội Thi <no-reply@hoithi.example.vn>");
    assert_eq!(got["subject"], "Đặt lại mật khẩu — Hội Thi");
    assert_eq!(got["subject"], sent.subject.as_str());
    let body = got["body"].as_str().unwrap().replace("\r\n", "\n");
    assert_eq!(body.trim_end(), sent.body.trim_end());
    assert!(
        body.starts_with("Mở liên kết sau để đặt mật khẩu mới")
            && body.contains("/reset-password/"),
        "{body}"
    );
    assert!(server.stop().success());
}
