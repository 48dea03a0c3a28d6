#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Benchmark: 1 GiB over loopback through the tus service (the real binary) against a direct
//! aws-sdk-s3 multipart upload of the same file to the same store, in the same run.
//! Run it explicitly, on a release build:
//!   cargo test --release -p hoithi --test upload_bench -- --ignored --nocapture

mod common;
mod upload_common;

use std::time::Instant;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use common::Server;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use reqwest::StatusCode;
use tokio::io::AsyncReadExt;
use upload_common::*;

const SIZE: usize = 1024 * MIB;
const DIRECT_PART: usize = 8 * MIB;

fn vm_hwm_mib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmHWM")
        / 1024
}

async fn direct_multipart(env: &TestEnv, path: &std::path::Path) -> f64 {
    let (client, bucket, key) = (&env.storage.client, &env.storage.bucket, "bench/direct");
    let started = Instant::now();
    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let id = upload.upload_id().unwrap().to_owned();
    let mut file = tokio::fs::File::open(path).await.unwrap();
    let mut parts = Vec::new();
    let mut n = 1;
    loop {
        let mut buf = vec![0u8; DIRECT_PART];
        let mut filled = 0;
        while filled < DIRECT_PART {
            let r = file.read(&mut buf[filled..]).await.unwrap();
            if r == 0 {
                break;
            }
            filled += r;
        }
        if filled == 0 {
            break;
        }
        buf.truncate(filled);
        let out = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&id)
            .part_number(n)
            .body(ByteStream::from(buf))
            .send()
            .await
            .unwrap();
        parts.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(out.e_tag().unwrap())
                .build(),
        );
        n += 1;
    }
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .unwrap();
    started.elapsed().as_secs_f64()
}

async fn through_tus(
    env: &TestEnv,
    server: &Server,
    path: &std::path::Path,
    chunk: Option<usize>,
) -> f64 {
    let (user, token) = env.user(Role::Member).await;
    let contest = env.open_contest(&["video"]).await;
    let limit = serde_json::json!({"limits": {"max_video_bytes": 2 * SIZE}});
    common::organize(env, contest, limit).await;
    let entry = env.draft_entry(contest, user).await;
    let tus = Tus::new(&server.url, &token);
    let started = Instant::now();
    let location = tus.created(entry, SIZE, "video/mp4").await;
    let chunk = chunk.unwrap_or(SIZE);
    let mut file = tokio::fs::File::open(path).await.unwrap();
    let mut offset = 0;
    while offset < SIZE {
        let len = chunk.min(SIZE - offset);
        let body = if chunk == SIZE {
            reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(
                tokio::fs::File::open(path).await.unwrap(),
                256 * 1024,
            ))
        } else {
            let mut buf = vec![0u8; len];
            file.read_exact(&mut buf).await.unwrap();
            reqwest::Body::from(buf)
        };
        let res = tus
            .http
            .patch(tus.url(&location))
            .bearer_auth(&tus.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header("Content-Length", len.to_string())
            .header("Content-Type", "application/offset+octet-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
        offset += len;
    }
    let secs = started.elapsed().as_secs_f64();
    let bytes: i64 =
        sqlx::query_scalar("select original_bytes from media_asset where entry_id = $1")
            .bind(entry)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(bytes as usize, SIZE);
    secs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a 1 GiB benchmark for a release build; run it explicitly (see the module comment)"]
async fn one_gib_through_tus_is_at_least_0_8_of_a_direct_multipart_upload() {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("source.bin");
    {
        let mut data = Vec::with_capacity(64 * MIB);
        let mut f = std::fs::File::create(&path).unwrap();
        for i in 0..SIZE / (64 * MIB) {
            data.clear();
            if i == 0 {
                data.extend_from_slice(b"\0\0\0\x18ftypisom\0\0\x02\0isomavc1");
            }
            fill(&mut data, 64 * MIB, i as u32 + 1);
            data.truncate(64 * MIB);
            std::io::Write::write_all(&mut f, &data).unwrap();
        }
    }
    let server = common::serve_roles(&env, dir.path(), "upload").await;

    // Warm the page cache and the store once, then alternate.
    let direct1 = direct_multipart(&env, &path).await;
    let tus1 = through_tus(&env, &server, &path, None).await;
    let direct2 = direct_multipart(&env, &path).await;
    let tus2 = through_tus(&env, &server, &path, None).await;
    let tus_chunked = through_tus(&env, &server, &path, Some(6 * MIB)).await;
    let hwm = vm_hwm_mib(server.child.id());
    let mib = (SIZE / MIB) as f64;
    let direct = direct1.min(direct2);
    let tus = tus1.min(tus2);
    eprintln!(
        "direct aws-sdk-s3 multipart (8 MiB parts): {direct1:.2} s, {direct2:.2} s → best {:.0} MiB/s",
        mib / direct
    );
    eprintln!(
        "tus, one PATCH of 1 GiB:                  {tus1:.2} s, {tus2:.2} s → best {:.0} MiB/s",
        mib / tus
    );
    eprintln!(
        "tus, 6 MiB PATCHes (as tus-js-client):    {tus_chunked:.2} s → {:.0} MiB/s",
        mib / tus_chunked
    );
    eprintln!(
        "ratio tus/direct: {:.2}; server peak RSS (VmHWM): {hwm} MiB",
        direct / tus
    );
    server.stop();
    assert!(
        direct / tus >= 0.8,
        "tus reached {:.2}× of a direct upload",
        direct / tus
    );
}
