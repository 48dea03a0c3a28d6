#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The media worker end to end: real `hoithi` processes lease jobs from a real PostgreSQL,
//! read originals from and write renditions to a real S3 endpoint, record results, refuse bad
//! files with a reason and stay healthy, and finish the job of a worker killed with SIGKILL.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::media::{clip, job_row, photo, upload, wait_asset};
use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use uuid::Uuid;

async fn worker(env: &TestEnv, data: &Path, lease_seconds: &str) -> Server {
    let mut cmd = hoithi(data);
    configured(&mut cmd, env);
    cmd.env("HOITHI_WORKER_CONCURRENCY", "1")
        .env("HOITHI_WORKER_LEASE_SECONDS", lease_seconds);
    Server::start(cmd).await
}

async fn entry_status(env: &TestEnv, entry_id: Uuid) -> (String, Option<String>) {
    sqlx::query_as("select status::text, reason from entry where entry_id = $1")
        .bind(entry_id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

async fn keys(env: &TestEnv) -> Vec<String> {
    let mut keys = Vec::new();
    let mut token = None;
    loop {
        let page = env
            .storage
            .client
            .list_objects_v2()
            .bucket(&env.storage.bucket)
            .set_continuation_token(token.clone())
            .send()
            .await
            .unwrap();
        keys.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        match page.next_continuation_token() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    keys.sort();
    keys
}

#[tokio::test]
async fn a_video_and_a_photo_become_renditions_and_a_bad_file_is_refused_with_its_reason() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (author, _) = env.user(Role::Member).await;
    let contest = env.open_contest(&["video", "photo"]).await;

    let (bad_entry, bad_asset, bad_job) = upload(
        &env,
        contest,
        author,
        "video",
        b"plain text, not a video".to_vec(),
    )
    .await;
    let (video_entry, video_asset, video_job) = upload(
        &env,
        contest,
        author,
        "video",
        clip(dir.path(), "1280x720", 2),
    )
    .await;
    let (photo_entry, photo_asset, _) = upload(&env, contest, author, "photo", photo()).await;

    let server = worker(&env, &dir.path().join("w1"), "30").await;

    let bad = wait_asset(&env, bad_asset, Duration::from_secs(60)).await;
    assert_eq!(bad.status, "failed");
    let error = bad.error.unwrap();
    assert!(error.starts_with("video-unreadable: "), "{error}");
    let (status, reason) = entry_status(&env, bad_entry).await;
    assert_eq!(status, "draft", "the member can upload another file");
    assert_eq!(reason.as_deref(), Some(error.as_str()));
    let (job_status, _, last_error, _) = job_row(&env, bad_job).await;
    assert_eq!(job_status, "dead");
    assert_eq!(last_error.as_deref(), Some(error.as_str()));

    // The worker is still healthy: the next jobs complete.
    let video = wait_asset(&env, video_asset, Duration::from_secs(180)).await;
    assert_eq!(video.status, "ready", "{:?}", video.error);
    assert_eq!(video.progress, 100);
    assert_eq!((video.width, video.height), (Some(1280), Some(720)));
    assert!((video.duration_s.unwrap() - 2.0).abs() <= 1.0 / 30.0 + 1e-6);
    let master = video.renditions["hls"]["key"].as_str().unwrap().to_owned();
    assert_eq!(master, format!("media/{video_asset}/hls/master.m3u8"));
    assert_eq!(video.renditions["hls"]["url"], format!("/{master}"));
    assert_eq!(video.renditions["variants"].as_array().unwrap().len(), 3);
    assert_eq!(entry_status(&env, video_entry).await.0, "pending_review");
    assert_eq!(job_row(&env, video_job).await.0, "done");

    let photo = wait_asset(&env, photo_asset, Duration::from_secs(60)).await;
    assert_eq!(photo.status, "ready", "{:?}", photo.error);
    assert_eq!(photo.renditions["images"].as_array().unwrap().len(), 3);
    assert_eq!(entry_status(&env, photo_entry).await.0, "pending_review");

    let all = keys(&env).await;
    for key in [
        master.clone(),
        format!("media/{video_asset}/hls/720p/index.m3u8"),
        format!("media/{video_asset}/hls/720p/init.mp4"),
        format!("media/{video_asset}/video.mp4"),
        format!("media/{video_asset}/poster-400.webp"),
        format!("media/{photo_asset}/photo-800.jpg"),
    ] {
        assert!(all.contains(&key), "{key} missing from {all:?}");
    }
    assert!(
        !all.iter()
            .any(|k| k.starts_with(&format!("media/{bad_asset}")))
    );
    let head = env
        .storage
        .client
        .head_object()
        .bucket(&env.storage.bucket)
        .key(&master)
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/vnd.apple.mpegurl"));
    assert!(server.stop().success());
}

#[tokio::test]
async fn a_worker_killed_mid_job_loses_its_lease_and_another_finishes_with_the_same_keys() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (author, _) = env.user(Role::Member).await;
    let contest = env.open_contest(&["video"]).await;
    let no_moderation = serde_json::json!({"requires_moderation": false});
    common::organize(&env, contest, no_moderation).await;
    let (entry, asset, job) = upload(
        &env,
        contest,
        author,
        "video",
        clip(dir.path(), "1920x1080", 6),
    )
    .await;

    let first = worker(&env, &dir.path().join("w1"), "2").await;
    // Wait until the first worker is decoding (progress stored), then kill it without warning.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let progress: i16 =
            sqlx::query_scalar("select progress from media_asset where media_asset_id = $1")
                .bind(asset)
                .fetch_one(&env.db)
                .await
                .unwrap();
        if progress > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first worker never reported progress"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, attempts, _, first_owner) = job_row(&env, job).await;
    assert_eq!((status.as_str(), attempts), ("running", 1));
    first.kill();

    let second = worker(&env, &dir.path().join("w2"), "2").await;
    let row = wait_asset(&env, asset, Duration::from_secs(240)).await;
    assert_eq!(row.status, "ready", "{:?}", row.error);
    let (status, attempts, _, owner) = job_row(&env, job).await;
    assert_eq!(status, "done");
    assert_eq!(attempts, 2);
    assert_ne!(owner, first_owner, "another worker finished it");
    assert_eq!(
        entry_status(&env, entry).await.0,
        "approved",
        "no moderation in this contest"
    );

    // Every object is the original or under the asset's fixed prefix: nothing duplicated.
    let all = keys(&env).await;
    let prefix = format!("media/{asset}/");
    assert!(
        all.iter()
            .all(|k| k.starts_with(&prefix) || *k == hoithi_core::media::original_key(asset)),
        "{all:?}"
    );
    let segments = |label: &str| {
        all.iter()
            .filter(|k| k.starts_with(&format!("{prefix}hls/{label}/seg_")))
            .count()
    };
    assert_eq!(segments("1080p"), 2, "{all:?}");
    assert_eq!(segments("360p"), 2);
    assert!(second.stop().success());
}
