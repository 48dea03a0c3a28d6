//! A visitor votes from a phone-width page in Debian's Chromium (Playwright from npm, in
//! tests/browser) against the real binary: confirms their email with the code from the outbox,
//! votes, and sees the totals change live over SSE. Screenshots are kept in
//! $CARGO_TARGET_DIR/artifacts/browser-voting (or target/artifacts/browser-voting).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Server, configured, hoithi, run};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

const ADMIN: (&str, &str) = ("quan-tri@example.vn", "mật khẩu quản trị");

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser")
}

fn artifacts() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .to_string_lossy()
            .into_owned()
    });
    Path::new(&target).join("artifacts/browser-voting")
}

#[tokio::test]
async fn a_visitor_verifies_by_email_code_votes_on_a_phone_and_sees_the_tally_change_live() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut c = hoithi(data.path());
    configured(&mut c, &env);
    c.args([
        "admin",
        "create-user",
        "--email",
        ADMIN.0,
        "--password",
        ADMIN.1,
        "--name",
        "Quản trị",
        "--role",
        "admin",
    ]);
    let (status, out, err, _) = run(c, Duration::from_secs(120));
    assert!(status.success(), "{out} {err}");

    let contest = env.open_contest(&["photo"]).await;
    let (author, _) = env.user(Role::Member).await;
    let (_, other_token) = env.user(Role::Member).await;
    sqlx::query(
        "update contest set title = 'Giọng hát hay', voting_opens_at = now() - interval '1 hour',
                            voting_closes_at = now() + interval '1 day' where contest_id = $1",
    )
    .bind(contest)
    .execute(&env.db)
    .await
    .unwrap();
    let mut entries = Vec::new();
    for title in ["Bèo dạt mây trôi", "Trống cơm"] {
        let e = env.draft_entry(contest, author).await;
        sqlx::query("update entry set status = 'approved', title = $2 where entry_id = $1")
            .bind(e)
            .bind(title)
            .execute(&env.db)
            .await
            .unwrap();
        entries.push(e);
    }
    let slug: String = sqlx::query_scalar("select slug from contest where contest_id = $1")
        .bind(contest)
        .fetch_one(&env.db)
        .await
        .unwrap();

    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let shots = artifacts();
    let _ = std::fs::remove_dir_all(&shots);

    let dir = browser_dir();
    if !dir.join("node_modules/playwright-core").exists() {
        let ok = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm (Node.js) is needed for the browser test");
        assert!(ok.success(), "npm ci in tests/browser failed");
    }
    let entry = entries[0].to_string();
    let out = Command::new("node")
        .arg("voting.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("CONTEST", &slug)
        .env("ENTRY", &entry)
        .env("ADMIN_EMAIL", ADMIN.0)
        .env("ADMIN_PASSWORD", ADMIN.1)
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
