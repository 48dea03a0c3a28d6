#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The tus upload service end to end: the real binary over HTTP, real PostgreSQL and a real
//! S3 endpoint. Resumes after a cut connection and after a restart, bad input with its
//! status and code, completion into a media asset and a job, and the sweep.

mod common;
mod upload_common;

use std::time::{Duration, Instant};

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use upload_common::*;
use uuid::Uuid;

async fn server(env: &TestEnv, dir: &std::path::Path) -> Server {
    let mut cmd = hoithi(dir);
    configured(&mut cmd, env);
    cmd.env("HOITHI_PUBLIC_URL", "https://hoithi.example.vn")
        .env("HOITHI_ROLES", "upload");
    Server::start(cmd).await
}

/// Polls HEAD until the offset equals `want` (the server records a cut body asynchronously).
async fn wait_offset(tus: &Tus, location: &str, want: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let got = tus.offset(location).await;
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "offset stayed {got}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a PATCH, retrying while the upload is still leased by a request the server is
/// finishing (423), which is what tus clients do.
async fn patch_retrying(
    tus: &Tus,
    location: &str,
    offset: usize,
    data: &[u8],
) -> reqwest::Response {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let res = tus.patch(location, offset, data.to_vec()).await;
        if res.status() != StatusCode::LOCKED {
            return res;
        }
        assert!(Instant::now() < deadline, "the upload stayed locked");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn assert_completed(env: &TestEnv, entry_id: Uuid, data: &[u8]) {
    let want = hex(&Sha256::digest(data));
    let (asset_id, key, bytes, sha, kind, filename): (Uuid, String, i64, String, String, Option<String>) =
        sqlx::query_as(
            "select media_asset_id, original_key, original_bytes, original_sha256, kind::text, original_filename
             from media_asset where entry_id = $1",
        )
        .bind(entry_id)
        .fetch_one(&env.db)
        .await
        .expect("one media asset");
    assert_eq!(bytes as usize, data.len());
    assert_eq!(sha, want, "recorded sha256");
    assert_eq!(kind, "video");
    assert_eq!(
        filename.as_deref(),
        Some("../../bài dự thi.mp4"),
        "the name is data"
    );
    assert_eq!(
        key,
        format!("originals/{asset_id}"),
        "the key is made from the id"
    );
    let stored = read_object(env, &key).await;
    assert_eq!(stored.len(), data.len());
    assert_eq!(hex(&Sha256::digest(&stored)), want, "the object's sha256");
    let status: String = sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(entry_id)
        .fetch_one(&env.db)
        .await
        .expect("entry");
    assert_eq!(status, "processing");
    let jobs: i64 = sqlx::query_scalar(
        "select count(*) from job where kind = 'process-media' and payload->>'media_asset_id' = $1",
    )
    .bind(asset_id.to_string())
    .fetch_one(&env.db)
    .await
    .expect("jobs");
    assert_eq!(jobs, 1, "one processing job");
    let temps: Vec<String> = all_keys(env)
        .await
        .into_iter()
        .filter(|k| k.starts_with("uploads/"))
        .collect();
    assert!(temps.is_empty(), "temporary objects left: {temps:?}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mib_upload_in_1_mib_patches_survives_a_cut_connection_and_keeps_its_sha256() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = server(&env, dir.path()).await;
    let (user, token) = env.user(Role::Member).await;
    let contest = env.open_contest(&["video", "photo"]).await;
    let entry = env.draft_entry(contest, user).await;
    let tus = Tus::new(&server.url, &token);
    let data = video_bytes(50 * MIB, 1);

    let location = tus.created(entry, data.len(), "video/mp4").await;
    let status: String = sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(status, "uploading");

    let mut offset = 0;
    let mut cut_done = false;
    while offset < data.len() {
        let end = (offset + MIB).min(data.len());
        if !cut_done && offset == 17 * MIB {
            // Half of a 1 MiB PATCH arrives, then the connection drops.
            tus.cut_patch(&location, offset, &data[offset..end], MIB / 2 + 3)
                .await;
            cut_done = true;
            wait_offset(&tus, &location, offset + MIB / 2 + 3).await;
            offset = tus.offset(&location).await;
            continue;
        }
        let res = patch_retrying(&tus, &location, offset, &data[offset..end]).await;
        assert_eq!(
            res.status(),
            StatusCode::NO_CONTENT,
            "{:?}",
            res.text().await
        );
        let got: usize = res.headers()["upload-offset"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(got, end);
        offset = end;
    }
    assert_eq!(tus.offset(&location).await, data.len());
    assert_completed(&env, entry, &data).await;

    // A repeated final PATCH is idempotent: same answer, no second asset or job.
    let res = tus.patch(&location, data.len(), Vec::new()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_completed(&env, entry, &data).await;
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stops_and_starts_between_two_patches_and_the_upload_resumes() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let (user, token) = env.user(Role::Member).await;
    let contest = env.open_contest(&["video"]).await;
    let entry = env.draft_entry(contest, user).await;
    let data = video_bytes(12 * MIB + 12345, 2);

    let first = server(&env, dir.path()).await;
    let tus = Tus::new(&first.url, &token);
    let location = tus.created(entry, data.len(), "video/mp4").await;
    // One full (8 MiB) part plus a tail that lives in a temporary object.
    let res = tus
        .patch(&location, 0, data[..9 * MIB + 100].to_vec())
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(first.stop().success());

    let second = server(&env, dir.path()).await;
    let tus = Tus::new(&second.url, &token);
    assert_eq!(tus.offset(&location).await, 9 * MIB + 100);
    let res = tus
        .patch(&location, 9 * MIB + 100, data[9 * MIB + 100..].to_vec())
        .await;
    assert_eq!(
        res.status(),
        StatusCode::NO_CONTENT,
        "{:?}",
        res.text().await
    );
    assert_completed(&env, entry, &data).await;
    second.stop();
}
