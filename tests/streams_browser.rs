#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A live show in Debian's Chromium (Playwright, tests/browser/live.mjs) against the real
//! binary: the organizer's phone control, a viewer voting live on the stream page at 390 px,
//! and the OBS overlay, all kept current by the event stream. Screenshots are kept in
//! $CARGO_TARGET_DIR/artifacts/browser-live.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;

const PASSWORD: &str = "mật-khẩu-thử";
const TITLE: &str = "Tiết mục Trống đồng";

async fn email_of(env: &TestEnv, id: i64) -> String {
    sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_organizer_runs_a_live_show_from_a_phone_and_a_viewer_votes_live_at_390px() {
    let env = TestEnv::new().await;
    let contest = env.open_contest(&["video"]).await;
    let (organizer, _) = env.user(Role::Organizer).await;
    let (viewer, _) = env.user(Role::Member).await;
    // The organizer's unit runs the contest; its own voting window has closed.
    let unit: i64 = sqlx::query_scalar(
        "insert into unit (slug, name, path) values ('hcm', 'Thành Đoàn TP.HCM', 'hcm') returning unit_id",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    sqlx::query("update app_user set unit_id = $1 where app_user_id = $2")
        .bind(unit)
        .bind(organizer)
        .execute(&env.db)
        .await
        .unwrap();
    // The organizer gives the contest to the unit, opens voting beside submission and closes
    // it ("Đóng ngay").
    let open = serde_json::json!({"unit": "hcm", "voting_overlaps_submission": true,
        "phases": {"voting": {"opens_at": common::in_minutes(0), "closes_at": common::in_minutes(24 * 60)}}});
    common::organize(&env, contest, open).await;
    let close = serde_json::json!({"phases": {"voting": {"closes_at": common::in_minutes(0)}}});
    common::organize(&env, contest, close).await;
    for title in ["Tiết mục Hoa sen", TITLE] {
        let e = env.draft_entry(contest, viewer).await;
        sqlx::query("update entry set title = $1, status = 'approved' where entry_id = $2")
            .bind(title)
            .bind(e)
            .execute(&env.db)
            .await
            .unwrap();
    }
    let source =
        hoithi_web::domain::streams::source::parse("https://youtu.be/dQw4w9WgXcQ").unwrap();
    let stream: i64 = sqlx::query_scalar(
        "insert into contest_stream (contest_id, title, platform, source_url, embed_url, starts_at, ends_at)
         values ($1, 'Đêm chung kết', $2, $3, $4, now() - interval '10 minutes', now() + interval '2 hours')
         returning contest_stream_id",
    )
    .bind(contest)
    .bind(source.platform.as_str())
    .bind(&source.source)
    .bind(&source.embed)
    .fetch_one(&env.db)
    .await
    .unwrap();
    let slug: String = sqlx::query_scalar("select slug from contest where contest_id = $1")
        .bind(contest)
        .fetch_one(&env.db)
        .await
        .unwrap();

    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    cmd.env("HOITHI_VOTE_NETWORK_RATE", "0");
    let server = Server::start(cmd).await;

    let browser = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/browser");
    assert!(
        browser.join("node_modules/playwright-core").exists(),
        "run `npm ci` in tests/browser first (./dev does)"
    );
    let target = std::env::var("CARGO_TARGET_DIR").unwrap_or_else(|_| "target".into());
    let shots = Path::new(&target).join("artifacts/browser-live");
    let _ = std::fs::remove_dir_all(&shots);
    let out = Command::new("node")
        .arg("live.mjs")
        .current_dir(&browser)
        .env("BASE_URL", &server.url)
        .env("ARTIFACTS", &shots)
        .env("CONTEST", &slug)
        .env("STREAM", stream.to_string())
        .env("ENTRY_TITLE", TITLE)
        .env("ORGANIZER_EMAIL", email_of(&env, organizer).await)
        .env("VIEWER_EMAIL", email_of(&env, viewer).await)
        .env("PASSWORD", PASSWORD)
        .output()
        .expect("node (Node.js) runs the browser script");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("LIVE OK"),
        "live.mjs failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // What the browser did is what the database holds.
    let votes: Vec<(String, i64)> = sqlx::query_as(
        "select e.title, t.votes from vote_tally t join entry e using (entry_id) where t.contest_id = $1",
    )
    .bind(contest)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(votes, [(TITLE.to_owned(), 1)]);
    let log: Vec<String> = sqlx::query_scalar(
        "select action from contest_live_log where contest_id = $1 order by contest_live_log_id",
    )
    .bind(contest)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(log, ["stage", "open", "close"]);
    for name in [
        "live-01-control",
        "live-02-stream",
        "live-03-overlay",
        "live-04-closed",
    ] {
        assert!(
            shots.join(format!("{name}.png")).exists(),
            "screenshot {name}"
        );
    }
    assert!(server.stop().success());
}
