#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A winner downloads their certificate from a phone-width page in Debian's Chromium against
//! the real binary (issue 20), and the code printed on it verifies on the public check page.
//! The contest's published results are the fixture (publishing through the pages is
//! `services/web/tests/web_certificates.rs`). Screenshots are kept in
//! $CARGO_TARGET_DIR/artifacts/browser-certificates.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

/// The password of every user `TestEnv::user` makes.
const PASSWORD: &str = "mật-khẩu-thử";

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/browser-certificates")
}

#[tokio::test]
async fn a_winner_downloads_their_certificate_on_a_phone_and_its_code_verifies() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let (winner, _) = env.user(Role::Member).await;
    let email: String = sqlx::query_scalar(
        "update app_user set display_name = 'Nguyễn Thị Ánh' where app_user_id = $1
         returning email::text",
    )
    .bind(winner)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let contest = env.open_contest(&["photo"]).await;
    let entry = env.draft_entry(contest, winner).await;
    sqlx::query("update entry set status = 'approved', title = 'Mùa xuân' where entry_id = $1")
        .bind(entry)
        .execute(&env.db)
        .await
        .unwrap();
    let round: i64 = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name) values ($1, 1, 'Chung kết')
         returning judging_round_id",
    )
    .bind(contest)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let snapshot = serde_json::json!({"round": 1, "entries": [
        {"id": entry, "rank": 1, "title": "Mùa xuân", "author": "Nguyễn Thị Ánh", "votes": 0, "combined": 9.0},
    ]});
    sqlx::query(
        "insert into judging_result (judging_round_id, contest_id, snapshot) values ($1, $2, $3)",
    )
    .bind(round)
    .bind(contest)
    .bind(&snapshot)
    .execute(&env.db)
    .await
    .unwrap();

    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let shots = artifacts();
    let _ = std::fs::remove_dir_all(&shots);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let out = Command::new("node")
        .arg("certificates.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("EMAIL", &email)
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{stdout}");
    let code = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CODE="))
        .expect("the printed code");
    let stored: String = sqlx::query_scalar("select code from certificate where app_user_id = $1")
        .bind(winner)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(code.replace("HT-", "").replace('-', ""), stored);
    for shot in ["01-my-entries", "02-verify-valid", "03-verify-missing"] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
    server.stop();
}
