#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Operator commands with the real binary: a whole-site backup restored into another site,
//! and the standalone S3 endpoint.

mod common;

use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use common::{configured, hoithi, run};
use hoithi_core::storage::Storage;
use hoithi_core::testing::TestEnv;

async fn put(env: &TestEnv, key: &str, body: Vec<u8>) {
    env.storage
        .client
        .put_object()
        .bucket(&env.storage.bucket)
        .key(key)
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

async fn get(storage: &Storage, key: &str) -> Vec<u8> {
    let res = storage
        .client
        .get_object()
        .bucket(&storage.bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    res.body.collect().await.unwrap().into_bytes().to_vec()
}

#[tokio::test]
async fn a_backup_restored_into_an_empty_site_brings_back_rows_and_objects() {
    let source = TestEnv::new().await;
    let (user_id, _) = source.user(hoithi_core::domain::Role::Member).await;
    let contest = source.open_contest(&["photo"]).await;
    let entry = source.draft_entry(contest, user_id).await;
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    put(&source, "originals/a", big.clone()).await;
    put(&source, "media/a/400.webp", b"tiny".to_vec()).await;

    let folder = tempfile::tempdir().unwrap();
    let backup = folder.path().join("backup-1");
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &source);
    cmd.args(["backup", "--out"]).arg(&backup);
    let (status, out, err, _) = run(cmd, Duration::from_secs(120));
    assert!(status.success(), "{out}{err}");
    assert!(out.contains("2 objects"), "{out}");

    // A second backup into the same folder is refused rather than mixed in.
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &source);
    cmd.args(["backup", "--out"]).arg(&backup);
    let (status, _, err, _) = run(cmd, Duration::from_secs(60));
    assert!(!status.success() && err.contains("exists already"), "{err}");

    let target = TestEnv::new().await;
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &target);
    cmd.args(["restore", "--from"]).arg(&backup);
    let (status, out, err, _) = run(cmd, Duration::from_secs(120));
    assert!(status.success(), "{out}{err}");

    let title: String = sqlx::query_scalar("select title from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&target.db)
        .await
        .expect("the entry is in the restored database");
    assert_eq!(title, "Bài dự thi");
    let users: i64 = sqlx::query_scalar("select count(*) from app_user")
        .fetch_one(&target.db)
        .await
        .unwrap();
    assert!(users >= 1);
    assert_eq!(get(&target.storage, "originals/a").await, big);
    assert_eq!(get(&target.storage, "media/a/400.webp").await, b"tiny");
}

#[tokio::test]
async fn restore_refuses_a_folder_that_is_not_a_backup() {
    let target = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let not_backup = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &target);
    cmd.args(["restore", "--from"]).arg(not_backup.path());
    let (status, _, err, _) = run(cmd, Duration::from_secs(60));
    assert!(!status.success());
    assert!(err.contains("is not a hoithi backup"), "{err}");
}

#[tokio::test]
async fn serve_s3_runs_the_embedded_endpoint_alone_for_aws_sdk_clients() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, storage) = common::serve_s3(data.path(), &[]);
    storage
        .client
        .put_object()
        .bucket("hoithi")
        .key("k")
        .body(ByteStream::from_static(b"xin chao"))
        .send()
        .await
        .unwrap();
    assert_eq!(get(&storage, "k").await, b"xin chao");
    assert!(
        data.path().join("objects/hoithi/k").is_file(),
        "objects land in HOITHI_DATA/objects"
    );

    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    assert!(common::wait_with_timeout(&mut child, Duration::from_secs(30)).success());
}
