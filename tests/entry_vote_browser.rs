#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Voting where a shared link lands, in Debian's Chromium at 390 px (Playwright from npm, in
//! tests/browser) against the real binary: a signed-out friend opens an entry's link, confirms
//! their email with the mailed code on that page and the vote is counted on that entry in at
//! most 4 taps; a returning voter votes on another entry in 1 (the page solving the
//! proof-of-work challenge it is asked for); the same without JavaScript.
//! Screenshots are kept in $CARGO_TARGET_DIR/artifacts/browser-entry-vote.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

/// The password of every user `TestEnv::user` makes.
const PASSWORD: &str = "mật-khẩu-thử";

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/browser-entry-vote")
}

#[tokio::test]
async fn a_shared_entry_link_takes_a_signed_out_phone_to_a_counted_vote_in_four_taps() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let (admin, _) = env.user(Role::Admin).await;
    let admin_email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(admin)
            .fetch_one(&env.db)
            .await
            .unwrap();
    let (_, _, entries) = env.contest_in_voting(3).await;
    let titles = ["Hoa sen trong đầm", "Dòng sông quê", "Phố cổ Hội An"];
    for (e, title) in entries.iter().zip(titles) {
        sqlx::query("update entry set title = $2 where entry_id = $1")
            .bind(e)
            .bind(title)
            .execute(&env.db)
            .await
            .unwrap();
    }

    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    // One vote per voter before the proof-of-work challenge: the returning vote must be
    // solved by the page's script, still in one tap.
    cmd.env("HOITHI_VOTE_CHALLENGE_VOTER_BURST", "1")
        .env("HOITHI_VOTE_CHALLENGE_VOTER_RATE", "0.001");
    let server = Server::start(cmd).await;
    let shots = artifacts();
    let _ = std::fs::remove_dir_all(&shots);

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let ids: Vec<String> = entries.iter().map(ToString::to_string).collect();
    let out = Command::new("node")
        .arg("entry_vote.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("ENTRIES", ids.join(","))
        .env("FIRST_TITLE", titles[0])
        .env("SECOND_TITLE", titles[1])
        .env("THIRD_TITLE", titles[2])
        .env("ADMIN_EMAIL", &admin_email)
        .env("ADMIN_PASSWORD", PASSWORD)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{stdout}");
    let taps = |name: &str| -> u32 {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} in {stdout}"))
    };
    assert!(taps("FIRST_VOTE_TAPS") <= 4);
    assert_eq!(taps("RETURNING_VOTE_TAPS"), 1);
    assert!(taps("FIRST_VOTE_TAPS_NO_JS") <= 4);

    // What the pages showed is what the database holds: one vote on each entry.
    for e in &entries {
        let votes: i64 = sqlx::query_scalar(
            "select coalesce((select votes from vote_tally where entry_id = $1), 0)::int8",
        )
        .bind(e)
        .fetch_one(&env.db)
        .await
        .unwrap();
        assert_eq!(votes, 1, "{e}");
    }
    let solved: i64 = sqlx::query_scalar("select count(*) from vote_challenge_used")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(
        solved, 2,
        "the returning vote and the one over the limit were solved"
    );
    for shot in [
        "js-01-shared-link",
        "js-02-code-sent",
        "js-03-voted",
        "js-04-returning-voted",
        "nojs-03-voted",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
    server.stop();
}
