#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! A standard tus client we did not write, unmodified: tuspy (the Python client, with its
//! sha1 `Upload-Checksum`) uploads, stops half way, and a second client resumes from HEAD.
//! The client is installed once per build folder into a venv with pip (needs python3-venv
//! and access to the Python package index the first time).

mod common;
mod upload_common;

use std::path::PathBuf;
use std::process::Command;

use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use sha2::{Digest, Sha256};
use upload_common::*;

const TUSPY: &str = "tuspy==1.1.0";

fn tuspy_python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tuspy-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args(["-c", "import tusclient"])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .expect("run python3 -m venv (install python3 and python3-venv)");
        assert!(made.success(), "python3 -m venv failed");
        let pip = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", TUSPY])
            .status()
            .expect("run pip");
        assert!(
            pip.success(),
            "pip install {TUSPY} failed (no access to the package index?)"
        );
    }
    python
}

const SCRIPT: &str = r#"
import sys
from tusclient import client
base, token, entry, path, stop = sys.argv[1:6]
c = client.TusClient(base + "/api/v1/uploads", headers={"Authorization": "Bearer " + token})
meta = {"entry_id": entry, "filename": "clip.mp4", "filetype": "video/mp4"}
first = c.uploader(path, chunk_size=5 * 1024 * 1024, metadata=meta, upload_checksum=True)
first.upload(stop_at=int(stop))
print("stopped", first.offset, first.url, flush=True)
# A new client, as after a crash: it only knows the URL and asks the server for the offset.
second = c.uploader(path, url=first.url, chunk_size=4 * 1024 * 1024, upload_checksum=True)
print("resumed", second.offset, flush=True)
second.upload()
print("done", second.offset, flush=True)
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tuspy_uploads_with_checksums_stops_and_resumes_against_the_server() {
    let python = tuspy_python();
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = common::serve_roles(&env, dir.path(), "upload").await;
    let (user, token) = env.user(Role::Member).await;
    let contest = env.open_contest(&["video"]).await;
    let entry = env.draft_entry(contest, user).await;
    let data = video_bytes(13 * MIB + 777, 11);
    let file = dir.path().join("clip.mp4");
    std::fs::write(&file, &data).unwrap();

    let url = server.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .args(["-c", SCRIPT, &url, &token, &entry.to_string()])
            .arg(&file)
            .arg((6 * MIB).to_string())
            .output()
            .expect("run tuspy")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "tuspy failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("resumed {}", 6 * MIB)),
        "resumed from the stored offset: {stdout}"
    );
    assert!(stdout.contains(&format!("done {}", data.len())), "{stdout}");

    let (bytes, sha, key): (i64, String, String) = sqlx::query_as(
        "select original_bytes, original_sha256, original_key from media_asset where entry_id = $1",
    )
    .bind(entry)
    .fetch_one(&env.db)
    .await
    .expect("one media asset");
    let want: String = Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(bytes as usize, data.len());
    assert_eq!(sha, want);
    assert_eq!(read_object(&env, &key).await, data);
    server.stop();
}
