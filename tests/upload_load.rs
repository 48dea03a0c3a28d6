#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Memory under load: 20 uploads of 200 MiB at once through the real server. Its peak RSS
//! (VmHWM) must stay bounded by the part buffers, not by the file sizes.

mod common;
mod upload_common;

use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use reqwest::StatusCode;
use sha2::{Digest, Sha256};
use upload_common::*;

const UPLOADS: usize = 20;
const SIZE: usize = 200 * MIB;
/// Per upload: the part being filled, the part on its way to S3 and the HTTP client's send
/// buffers of it (3 × 8 MiB, the largest part), plus 192 MiB for the runtime, the SDK,
/// PostgreSQL connections and allocator slack. Buffering the files (20 × 200 MiB = 4 GiB), or
/// one more part per upload (+160 MiB), would blow it.
/// Measured: 279 MiB with one part buffer, 349 MiB with the part in flight overlapping; on
/// 2026-12-06 (fresh machine, same 2 cores) 415 and 426 MiB on 316c219 and 412–437 MiB after
/// the security work, so the former 128 MiB allowance (bound 428) failed by chance. Parts
/// were 5 MiB until 2026-12-07 (bound 492 then); they are 8 MiB since.
const RSS_BOUND_MIB: u64 = (UPLOADS as u64) * 3 * 8 + 192;

fn vm_hwm_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM")
}

/// A 200 MiB body made on the fly, 256 KiB at a time; returns the stream and its digest.
fn body(seed: u32) -> (reqwest::Body, String) {
    let chunk = 256 * 1024;
    let make = move |i: usize| {
        let mut v = Vec::with_capacity(chunk);
        if i == 0 {
            v.extend_from_slice(b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1");
        }
        fill(&mut v, chunk, seed.wrapping_add(i as u32 * 7919));
        v.truncate(chunk);
        v
    };
    let mut sha = Sha256::new();
    for i in 0..SIZE / chunk {
        sha.update(make(i));
    }
    let digest = sha.finalize().iter().map(|b| format!("{b:02x}")).collect();
    let stream = futures_util::stream::iter(
        (0..SIZE / chunk).map(move |i| Ok::<_, std::io::Error>(make(i))),
    );
    (reqwest::Body::wrap_stream(stream), digest)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_200_mib_uploads_keep_the_server_rss_bounded() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve_roles(&env, dir.path(), "upload").await;
    let contest = env.open_contest(&["video"]).await;

    let mut tasks = Vec::new();
    for n in 0..UPLOADS {
        let (user, token) = env.user(Role::Member).await;
        let entry = env.draft_entry(contest, user).await;
        let tus = Tus::new(&server.url, &token);
        tasks.push(tokio::spawn(async move {
            let location = tus.created(entry, SIZE, "video/mp4").await;
            let (body, digest) = body(n as u32 + 1);
            let res = tus
                .http
                .patch(tus.url(&location))
                .bearer_auth(&tus.token)
                .header("Tus-Resumable", "1.0.0")
                .header("Upload-Offset", "0")
                .header("Content-Length", SIZE.to_string())
                .header("Content-Type", "application/offset+octet-stream")
                .body(body)
                .send()
                .await
                .expect("PATCH");
            assert_eq!(
                res.status(),
                StatusCode::NO_CONTENT,
                "{:?}",
                res.text().await
            );
            (entry, digest)
        }));
    }
    let mut done = Vec::new();
    for t in tasks {
        done.push(t.await.expect("upload task"));
    }
    let hwm_mib = vm_hwm_kib(server.child.id()) / 1024;
    eprintln!(
        "peak RSS of the server over {UPLOADS} × {} MiB uploads: {hwm_mib} MiB (bound {RSS_BOUND_MIB} MiB)",
        SIZE / MIB
    );
    for (entry, digest) in done {
        let (bytes, sha): (i64, String) = sqlx::query_as(
            "select original_bytes, original_sha256 from media_asset where entry_id = $1",
        )
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .expect("asset");
        assert_eq!(bytes as usize, SIZE);
        assert_eq!(sha, digest);
    }
    assert!(
        hwm_mib <= RSS_BOUND_MIB,
        "peak RSS {hwm_mib} MiB over the bound {RSS_BOUND_MIB} MiB"
    );
    // The originals take 4 GiB; the test bucket is not shared, but the disk is.
    for key in all_keys(&env).await {
        env.storage
            .client
            .delete_object()
            .bucket(&env.storage.bucket)
            .key(key)
            .send()
            .await
            .expect("delete");
    }
    server.stop();
}
