#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Reset-link poisoning against the real binary: with no `HOITHI_PUBLIC_URL`, `hoithi serve`
//! warns at start-up that mail links point at its listen address, and a password-reset
//! request with a forged `Host` (and `X-Forwarded-Host`) mails a link to the address the
//! server is bound to, never to the forger's host.

mod common;

use common::browser::{Browser, csrf_field};
use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

#[tokio::test]
async fn without_a_public_url_serve_warns_and_a_forged_host_gets_a_link_to_the_listen_address() {
    let env = TestEnv::new().await;
    let (user_id, _) = env.user(Role::Member).await;
    let email = common::email_of(&env, user_id).await;
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("hoithi.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    cmd.args(["--roles", "web"]);
    let server = Server::start_with_stderr(cmd, log.into()).await;

    let mut browser = Browser::new();
    let (status, html) = browser
        .get(&format!("{}/forgot-password", server.url))
        .await;
    assert_eq!(status, 200);
    let csrf = csrf_field(&html);
    let res = browser
        .http
        .post(format!("{}/forgot-password", server.url))
        .header("cookie", browser.cookie_header())
        .header("host", "evil.example")
        .header("x-forwarded-host", "evil.example")
        .form(&[("_csrf", csrf.as_str()), ("email", email.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: String = sqlx::query_scalar(
        "select body from outbox where to_email = $1 and kind = 'reset-password'",
    )
    .bind(&email)
    .fetch_one(&env.db)
    .await
    .unwrap();
    // The URL the server printed is its bound address (the port was 0: chosen at start).
    assert!(
        body.contains(&format!("{}/reset-password/", server.url)),
        "{body} (server at {})",
        server.url
    );
    assert!(!body.contains("evil.example"), "{body}");
    assert!(server.stop().success());

    let log = std::fs::read_to_string(&log_path).unwrap();
    let warning = log
        .lines()
        .find(|l| l.contains("WARN") && l.contains("HOITHI_PUBLIC_URL"))
        .unwrap_or_else(|| panic!("no start-up warning: {log}"));
    assert!(warning.contains(&server_host(&body)), "{warning}");
}

/// `http://127.0.0.1:PORT` of the first link in a mail body.
fn server_host(body: &str) -> String {
    let start = body.find("http://").unwrap();
    let rest = &body[start..];
    rest[..rest[7..].find('/').unwrap() + 7].to_owned()
}
