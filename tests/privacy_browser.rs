#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A child's entry from a phone-width page in Debian's Chromium against the real binary
//! (issue 22): register with consent, enter as a 14-year-old naming a parent, the parent's
//! link from the outbox, and the entry public only afterwards with the name shortened.
//! Screenshots are kept in $CARGO_TARGET_DIR/artifacts/browser-privacy.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

/// The password of every user `TestEnv::user` makes.
const PASSWORD: &str = "mật-khẩu-thử";

fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("../artifacts/browser-privacy")
}

fn script(
    server: &Server,
    shots: &Path,
    admin: &str,
    contest: &str,
    phase: &str,
    entry: &str,
) -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    let out = Command::new("node")
        .arg("privacy.mjs")
        .current_dir(&dir)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", shots)
        .env("CONTEST", contest)
        .env("ADMIN_EMAIL", admin)
        .env("ADMIN_PASSWORD", PASSWORD)
        .env("PHASE", phase)
        .env("ENTRY", entry)
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the browser script ({phase}) failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    print!("{stdout}");
    stdout
}

#[tokio::test]
async fn a_14_year_olds_entry_goes_public_on_a_phone_only_after_the_parent_agrees() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let (admin, _) = env.user(Role::Admin).await;
    let admin_email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(admin)
            .fetch_one(&env.db)
            .await
            .unwrap();
    let contest = env.open_contest(&["photo"]).await;
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let settings = serde_json::json!({"requires_birth_date": true, "requires_moderation": false});
    let contest = common::organize(&env, contest, settings).await;
    let slug = contest["slug"].as_str().unwrap().to_owned();
    let shots = artifacts();
    let _ = std::fs::remove_dir_all(&shots);

    let out = script(&server, &shots, &admin_email, &slug, "child", "");
    let entry = out
        .lines()
        .find_map(|l| l.strip_prefix("ENTRY="))
        .expect("the entry id")
        .to_owned();
    // The upload and the worker's processing are not this test's: the file is "processed" as
    // the worker would mark it in a contest without moderation.
    sqlx::query("update entry set status = 'approved' where entry_id = $1::uuid")
        .bind(&entry)
        .execute(&env.db)
        .await
        .unwrap();
    let held: String =
        sqlx::query_scalar("select status::text from entry where entry_id = $1::uuid")
            .bind(&entry)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(held, "pending_review", "held for the parent");
    script(&server, &shots, &admin_email, &slug, "guardian", &entry);
    let (status, kinds): (String, Vec<String>) = sqlx::query_as(
        "select e.status::text, array(select kind from consent k where k.app_user_id = e.author_id order by consent_id)
         from entry e where e.entry_id = $1::uuid",
    )
    .bind(&entry)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(status, "approved");
    assert_eq!(kinds, ["privacy", "privacy", "rules", "guardian"]);
    for shot in [
        "01-register-consent",
        "02-enter-as-a-child",
        "03-guardian-page",
        "04-guardian-agreed",
        "05-entry-public",
    ] {
        assert!(shots.join(format!("{shot}.png")).exists(), "{shot}.png");
    }
    server.stop();
}
