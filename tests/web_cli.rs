#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! `hoithi admin import-units` and `hoithi admin create-contest` against the real binary and
//! a real database: what they write, and a one-line reason with a non-zero exit on bad input.

mod common;

use std::time::Duration;

use common::{configured, hoithi, run};
use hoithi_core::testing::TestEnv;

fn cmd(env: &TestEnv, data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let mut c = hoithi(data);
    configured(&mut c, env);
    c.arg("admin").args(args);
    let (status, out, err, _) = run(c, Duration::from_secs(120));
    (status.success(), out, err)
}

#[tokio::test]
async fn import_units_then_create_contest_from_toml_and_refuse_bad_files() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("units.csv");
    std::fs::write(
        &csv,
        "slug,name,parent_slug\nq1,\"Quận Đoàn 1, TP.HCM\",hcm\nhcm,Thành Đoàn TP.HCM,\n",
    )
    .unwrap();
    let (ok, out, err) = cmd(&env, dir.path(), &["import-units", csv.to_str().unwrap()]);
    assert!(ok, "{out} {err}");
    assert!(out.contains("imported 2 units"), "{out}");
    let path: String = sqlx::query_scalar("select path from unit where slug = 'q1'")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(path, "hcm/q1");

    let bad_csv = dir.path().join("bad.csv");
    std::fs::write(&bad_csv, "ok,Tốt,\nBad Slug,X,\n").unwrap();
    let (ok, _, err) = cmd(
        &env,
        dir.path(),
        &["import-units", bad_csv.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(err.contains("line 2"), "{err}");

    let toml = dir.path().join("contest.toml");
    std::fs::write(
        &toml,
        r#"
slug = "video-tuoi-tre"
title = "Video tuổi trẻ"
unit = "q1"
kinds = ["video", "photo"]
requires_moderation = true
[phases.submission]
opens_at = 2026-12-01T08:00:00+07:00
closes_at = "2026-12-20T17:00"
[phases.judging]
opens_at = "2026-12-21T08:00"
closes_at = "2026-12-24T17:00"
[limits]
max_video_seconds = 120
max_entries_per_member = 2
[[criteria]]
name = "Nội dung"
max = 10
weight = 2
"#,
    )
    .unwrap();
    let (ok, out, err) = cmd(
        &env,
        dir.path(),
        &["create-contest", "--file", toml.to_str().unwrap()],
    );
    assert!(ok, "{out} {err}");
    let (secs, unit_path, criteria): (i32, String, serde_json::Value) = sqlx::query_as(
        "select c.max_video_seconds, u.path, c.settings->'criteria' from contest c join unit u using (unit_id)
         where c.slug = 'video-tuoi-tre'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!((secs, unit_path.as_str()), (120, "hcm/q1"));
    assert_eq!(criteria[0]["weight"], 2);

    // The same file again: the slug is taken, said on one line.
    let (ok, _, err) = cmd(
        &env,
        dir.path(),
        &["create-contest", "--file", toml.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(err.contains("slug-taken"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "slug = \"x\"\ntitle = \"X\"\nkinds = [\"audio\"]\n").unwrap();
    let (ok, _, err) = cmd(
        &env,
        dir.path(),
        &["create-contest", "--file", bad.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(
        err.contains("invalid-kind") && err.contains("submission_opens_at"),
        "{err}"
    );
}

/// Pages and scripts travel gzipped to a client that asks (a phone on 3G), unchanged to one
/// that does not; the live event stream is never compressed (it would be buffered).
#[tokio::test]
async fn text_is_gzipped_for_clients_that_ask_and_event_streams_are_not() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = common::Server::start(cmd).await;
    let http = reqwest::Client::new();
    let script = "/static/vendor/hls.js/hls.light.min.js";
    let raw = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../web/static/vendor/hls.js/hls.light.min.js"),
    )
    .unwrap();

    let plain = http
        .get(format!("{}{script}", server.url))
        .send()
        .await
        .unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap().as_ref(), raw.as_slice());

    let gz = http
        .get(format!("{}{script}", server.url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let body = gz.bytes().await.unwrap();
    assert_eq!(&body[..2], &[0x1f, 0x8b], "a gzip stream");
    assert!(
        body.len() * 100 < raw.len() * 40,
        "{} of {} bytes",
        body.len(),
        raw.len()
    );

    let page = http
        .get(format!("{}/", server.url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["content-encoding"], "gzip");

    let contest = env.open_contest(&["photo"]).await;
    let slug: String = sqlx::query_scalar("select slug from contest where contest_id = $1")
        .bind(contest)
        .fetch_one(&env.db)
        .await
        .unwrap();
    let events = http
        .get(format!("{}/api/v1/contests/{slug}/events", server.url))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    assert!(events.headers().get("content-encoding").is_none());
}
