//! Media for end-to-end tests, made at test time: clips from the ffmpeg CLI (the same Debian
//! libav the binary links), JPEG photos from the image crate, and an "uploaded" asset with its
//! job put straight into the database and bucket, as the upload service leaves them.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::primitives::ByteStream;
use hoithi_core::job::{KIND_PROCESS_MEDIA, enqueue};
use hoithi_core::testing::TestEnv;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg CLI (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// An H.264/AAC MP4 test pattern of `size` (like "1280x720") lasting `seconds`.
pub fn clip(dir: &Path, size: &str, seconds: u32) -> Vec<u8> {
    let path = dir.join(format!("clip-{size}-{seconds}.mp4"));
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=size={size}:rate=30:duration={seconds}"),
        "-f",
        "lavfi",
        "-i",
        &format!("sine=frequency=440:duration={seconds}"),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        path.to_str().unwrap(),
    ]);
    std::fs::read(path).unwrap()
}

/// A 1200×900 JPEG.
pub fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(1200, 900, |x, y| {
        image::Rgb([(x % 251) as u8, (y % 241) as u8, 60])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&img)
        .unwrap();
    out
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the upload service does: an entry in `processing`, a media_asset row, the original
/// in the bucket, and a job — the rows in one transaction.
pub async fn upload(
    env: &TestEnv,
    contest_id: i64,
    author: i64,
    kind: &str,
    bytes: Vec<u8>,
) -> (Uuid, Uuid, i64) {
    let entry_id = env.draft_entry(contest_id, author).await;
    let asset_id = Uuid::new_v4();
    env.storage
        .client
        .put_object()
        .bucket(&env.storage.bucket)
        .key(hoithi_core::media::original_key(asset_id))
        .body(ByteStream::from(bytes.clone()))
        .send()
        .await
        .unwrap();
    let mut tx = env.db.begin().await.unwrap();
    sqlx::query("update entry set status = 'processing' where entry_id = $1")
        .bind(entry_id)
        .execute(&mut *tx)
        .await
        .unwrap();
    sqlx::query(
        "insert into media_asset (media_asset_id, entry_id, kind, original_key, original_bytes, original_sha256)
         values ($1, $2, $3::media_kind, $4, $5, $6)",
    )
    .bind(asset_id)
    .bind(entry_id)
    .bind(kind)
    .bind(hoithi_core::media::original_key(asset_id))
    .bind(bytes.len() as i64)
    .bind(hex(&Sha256::digest(&bytes)))
    .execute(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let job_id = enqueue(
        &mut env.db.acquire().await.unwrap(),
        KIND_PROCESS_MEDIA,
        &serde_json::json!({"media_asset_id": asset_id}),
        Some(&format!("media:{asset_id}")),
    )
    .await
    .unwrap();
    (entry_id, asset_id, job_id)
}

#[derive(Debug, sqlx::FromRow)]
pub struct AssetRow {
    pub status: String,
    pub progress: i16,
    pub error: Option<String>,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub duration_s: Option<f64>,
    pub renditions: serde_json::Value,
}

/// Waits until the asset is no longer `processing`.
pub async fn wait_asset(env: &TestEnv, asset_id: Uuid, timeout: Duration) -> AssetRow {
    let deadline = Instant::now() + timeout;
    loop {
        let row: AssetRow = sqlx::query_as(
            "select status::text as status, progress, error, width, height, duration_s, renditions
             from media_asset where media_asset_id = $1",
        )
        .bind(asset_id)
        .fetch_one(&env.db)
        .await
        .unwrap();
        if row.status != "processing" {
            return row;
        }
        assert!(Instant::now() < deadline, "asset still processing: {row:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// (status, attempts, last_error, leased_by) of a job.
pub async fn job_row(env: &TestEnv, job_id: i64) -> (String, i32, Option<String>, Option<String>) {
    sqlx::query_as("select status, attempts, last_error, leased_by from job where job_id = $1")
        .bind(job_id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}
