#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The page's tus uploader in Debian's Chromium (tests/browser/uploader.mjs) against the real
//! binary on a slowed network: pause and resume, then a reload mid-upload after which the same
//! file resumes from the offset the server stored (tus-js-client's fingerprint in
//! localStorage) and completes as one upload whose stored bytes equal the file's.

mod common;
mod upload_common;

use common::playwright::{artifacts, node_script};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use sha2::{Digest, Sha256};
use upload_common::{MIB, video_bytes};

#[tokio::test]
async fn the_uploader_pauses_resumes_and_continues_after_a_reload_in_chromium() {
    let env = TestEnv::new().await;
    let (author, _) = env.user(Role::Member).await;
    let email = common::email_of(&env, author).await;
    let contest = env.open_contest(&["video", "photo"]).await;
    let entry = env.draft_entry(contest, author).await;

    // Four 5 MiB chunks and a tail; MP4-like first bytes so the sniffing accepts it.
    let files = tempfile::tempdir().unwrap();
    let bytes = video_bytes(17 * MIB + 12_345, 7);
    let file = files.path().join("bai-du-thi.mp4");
    std::fs::write(&file, &bytes).unwrap();

    let data = tempfile::tempdir().unwrap();
    let server = common::serve_roles(&env, data.path(), "web,upload").await;

    let shots = artifacts();
    let (shots_s, file_s, size_s, entry_s) = (
        shots.to_string_lossy().into_owned(),
        file.to_string_lossy().into_owned(),
        bytes.len().to_string(),
        entry.to_string(),
    );
    let out = node_script(
        "uploader.mjs",
        &[],
        &[
            ("BASE_URL", server.url.as_str()),
            ("ARTIFACTS", &shots_s),
            ("ENTRY", &entry_s),
            ("FILE", &file_s),
            ("FILE_SIZE", &size_s),
            ("MEMBER_EMAIL", &email),
            ("MEMBER_PASSWORD", "mật-khẩu-thử"),
        ],
    );
    print!("{out}");
    let offsets = out
        .lines()
        .find(|l| l.starts_with("OFFSETS "))
        .expect("the script prints its offsets");
    assert!(
        offsets.contains(&format!("size={}", bytes.len())),
        "{offsets}"
    );

    // One upload for the entry, complete, and the object is the file.
    let (uploads, status): (i64, String) =
        sqlx::query_as("select count(*), max(status::text) from upload where entry_id = $1")
            .bind(entry)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!((uploads, status.as_str()), (1, "completed"));
    let (length, sha): (i64, String) = sqlx::query_as(
        "select original_bytes, original_sha256 from media_asset where entry_id = $1",
    )
    .bind(entry)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(length as usize, bytes.len());
    assert_eq!(sha, common::media::hex(&Sha256::digest(&bytes)));
    for name in ["uploader-paused", "uploader-done"] {
        assert!(shots.join(format!("{name}.png")).exists(), "{name}");
    }
    assert!(server.stop().success());
}
