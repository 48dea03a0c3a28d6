#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Object storage through aws-sdk-s3 against a real S3 endpoint (the embedded s3s-fs one, or
//! TEST_S3_* when set), and migrations against a real PostgreSQL.

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use hoithi_core::db;
use hoithi_core::testing::TestEnv;
use sha2::{Digest, Sha256};

/// Deterministic bytes that are not all alike, so a misplaced part would show.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| ((i as u32).wrapping_mul(2_654_435_761) >> 13) as u8 ^ seed)
        .collect()
}

async fn read_all(env: &TestEnv, key: &str, range: Option<&str>) -> Vec<u8> {
    let mut req = env
        .storage
        .client
        .get_object()
        .bucket(&env.storage.bucket)
        .key(key);
    if let Some(r) = range {
        req = req.range(r);
    }
    req.send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes()
        .to_vec()
}

#[tokio::test]
async fn an_object_put_through_aws_sdk_s3_reads_back_byte_equal() {
    let env = TestEnv::new().await;
    let data = pattern(300_001, 7);
    env.storage
        .client
        .put_object()
        .bucket(&env.storage.bucket)
        .key("media/a/original")
        .body(ByteStream::from(data.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(read_all(&env, "media/a/original", None).await, data);
    let head = env
        .storage
        .client
        .head_object()
        .bucket(&env.storage.bucket)
        .key("media/a/original")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(300_001));
}

#[tokio::test]
async fn a_multipart_upload_completes_and_a_ranged_get_returns_exactly_the_range() {
    let env = TestEnv::new().await;
    let (client, bucket, key) = (&env.storage.client, &env.storage.bucket, "uploads/multi");
    let parts = [
        pattern(5 * 1024 * 1024, 1),
        pattern(5 * 1024 * 1024, 2),
        pattern(123_457, 3),
    ];

    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    let mut completed = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let n = i as i32 + 1;
        let res = client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(n)
            .body(ByteStream::from(part.clone()))
            .send()
            .await
            .unwrap();
        completed.push(
            CompletedPart::builder()
                .part_number(n)
                .e_tag(res.e_tag().unwrap())
                .build(),
        );
    }
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .unwrap();

    let whole: Vec<u8> = parts.concat();
    let read = read_all(&env, key, None).await;
    assert_eq!(read.len(), whole.len());
    assert_eq!(Sha256::digest(&read), Sha256::digest(&whole));

    // A range that crosses the boundary between the first two parts.
    let start = 5 * 1024 * 1024 - 10;
    let range = read_all(&env, key, Some(&format!("bytes={start}-{}", start + 19))).await;
    assert_eq!(range, whole[start..start + 20]);
}

#[tokio::test]
async fn an_aborted_multipart_upload_leaves_no_object() {
    let env = TestEnv::new().await;
    let (client, bucket) = (&env.storage.client, &env.storage.bucket);
    let upload = client
        .create_multipart_upload()
        .bucket(bucket)
        .key("gone")
        .send()
        .await
        .unwrap();
    let upload_id = upload.upload_id().unwrap();
    client
        .upload_part()
        .bucket(bucket)
        .key("gone")
        .upload_id(upload_id)
        .part_number(1)
        .body(ByteStream::from(pattern(1000, 9)))
        .send()
        .await
        .unwrap();
    client
        .abort_multipart_upload()
        .bucket(bucket)
        .key("gone")
        .upload_id(upload_id)
        .send()
        .await
        .unwrap();
    let head = client.head_object().bucket(bucket).key("gone").send().await;
    assert!(head.is_err(), "no object after an abort");
}

#[tokio::test]
async fn migrations_apply_from_scratch_and_again_as_a_no_op() {
    let env = TestEnv::new().await;
    // An empty database next to the test's own, on the same server.
    let name = format!("scratch_{}", uuid::Uuid::new_v4().simple());
    sqlx::query(&format!("create database {}", db::quote_ident(&name)))
        .execute(&env.db)
        .await
        .unwrap();
    let url = env.database_url.replacen(
        &format!(
            "/{}",
            env.database_url
                .split('/')
                .nth(3)
                .unwrap()
                .split('?')
                .next()
                .unwrap()
        ),
        &format!("/{name}"),
        1,
    );
    let pool = db::connect(&url, 2).await.unwrap();
    db::migrate(&pool).await.unwrap();
    let applied: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations where success")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(applied as usize, db::MIGRATOR.iter().count());
    let tables: Vec<String> = sqlx::query_scalar(
        "select table_name::text from information_schema.tables where table_schema = 'public' order by 1",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(
        tables.contains(&"app_user".to_owned()) && tables.contains(&"unit".to_owned()),
        "{tables:?}"
    );

    db::migrate(&pool).await.unwrap();
    let again: i64 = sqlx::query_scalar("select count(*) from _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(again, applied, "a second run applies nothing");
    pool.close().await;
}
