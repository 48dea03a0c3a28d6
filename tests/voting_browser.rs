#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A visitor votes from a phone-width page in Debian's Chromium (Playwright from npm, in
//! tests/browser) against the real binary: confirms their email with the code from the outbox,
//! votes, and sees the totals change live over SSE. Screenshots are kept in
//! $CARGO_TARGET_DIR/artifacts/browser-voting.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

/// The password of every user `TestEnv::user` makes.
const PASSWORD: &str = "mật-khẩu-thử";

/// Where the screenshots are kept: next to the test binaries' temporary folder.
fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/browser-voting")
}

#[tokio::test]
async fn a_visitor_verifies_by_email_code_votes_on_a_phone_and_sees_the_tally_change_live() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let (admin, _) = env.user(Role::Admin).await;
    let admin_email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(admin)
            .fetch_one(&env.db)
            .await
            .unwrap();
    let (contest, slug, entries) = env.contest_in_voting(2).await;
    let (_, other_token) = env.user(Role::Member).await;
    for (e, title) in entries.iter().zip(["Bèo dạt mây trôi", "Trống cơm"]) {
        sqlx::query("update entry set title = $2 where entry_id = $1")
            .bind(e)
            .bind(title)
            .execute(&env.db)
            .await
            .unwrap();
    }

    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    // One vote per voter before the proof-of-work challenge: the page must solve one.
    cmd.env("HOITHI_VOTE_CHALLENGE_VOTER_BURST", "1")
        .env("HOITHI_VOTE_CHALLENGE_VOTER_RATE", "0.001");
    let server = Server::start(cmd).await;
    let title = serde_json::json!({"title": "Giọng hát hay"});
    common::organize(&env, contest, title).await;
    let shots = artifacts();
    let _ = std::fs::remove_dir_all(&shots);

    // ./dev installs tests/browser's node_modules (npm ci) before the tests run.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let entry = entries[0].to_string();
    let out = Command::new("node")
        .arg("voting.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("CONTEST", &slug)
        .env("ENTRY", &entry)
        .env("ADMIN_EMAIL", &admin_email)
        .env("ADMIN_PASSWORD", PASSWORD)
        .env("OTHER_TOKEN", &other_token)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{stdout}");

    // What the page showed is what the database holds.
    let (votes, verified): (i64, bool) = sqlx::query_as(
        "select (select votes from vote_tally where entry_id = $1),
                (select email_verified_at is not null from app_user where email = 'khan-gia@example.vn')",
    )
    .bind(entries[0])
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!((votes, verified), (2, true));
    let solved: i64 = sqlx::query_scalar("select count(*) from vote_challenge_used")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(
        solved, 1,
        "the page solved the challenge its second vote was asked"
    );
    for shot in [
        "01-vote-page-anonymous",
        "02-code-sent",
        "03-voted",
        "04-live-tally",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
    server.stop();
}
