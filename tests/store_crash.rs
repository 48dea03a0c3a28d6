#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The embedded object store as an operator relies on it: killed with SIGKILL in the middle of
//! 20 concurrent multipart uploads, restarted, and every upload it had acknowledged (an object,
//! or the parts of one) is still there byte for byte; a refused completion loses nothing; a
//! nearly full disk refuses writes with 503 and keeps serving what it holds.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use hoithi_core::storage::Storage;
use rand::RngCore;
use sha2::{Digest, Sha256};

const MIB: usize = 1 << 20;

async fn get(storage: &Storage, key: &str) -> Option<Vec<u8>> {
    let res = storage
        .client
        .get_object()
        .bucket("hoithi")
        .key(key)
        .send()
        .await
        .ok()?;
    Some(res.body.collect().await.unwrap().into_bytes().to_vec())
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

async fn start_upload(storage: &Storage, key: &str) -> Result<String, String> {
    let res = storage
        .client
        .create_multipart_upload()
        .bucket("hoithi")
        .key(key)
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(res.upload_id.unwrap())
}

async fn put_part(
    storage: &Storage,
    key: &str,
    upload: &str,
    number: i32,
    bytes: Vec<u8>,
) -> Result<CompletedPart, String> {
    let res = storage
        .client
        .upload_part()
        .bucket("hoithi")
        .key(key)
        .upload_id(upload)
        .part_number(number)
        .body(ByteStream::from(bytes))
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(CompletedPart::builder()
        .part_number(number)
        .set_e_tag(res.e_tag)
        .build())
}

/// Completes `upload`; `Err` carries the S3 error code.
async fn complete(
    storage: &Storage,
    key: &str,
    upload: &str,
    parts: &[CompletedPart],
) -> Result<(), String> {
    storage
        .client
        .complete_multipart_upload()
        .bucket("hoithi")
        .key(key)
        .upload_id(upload)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts.to_vec()))
                .build(),
        )
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            e.into_service_error()
                .meta()
                .code()
                .unwrap_or("no code")
                .to_owned()
        })
}

fn leftovers(objects: &Path) -> Vec<String> {
    std::fs::read_dir(objects)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(".tmp."))
        .collect()
}

/// Part files of uploads that have no record: what a completion killed between removing the
/// record and removing the parts leaves, until the next start sweeps it.
fn orphan_parts(objects: &Path) -> Vec<String> {
    std::fs::read_dir(objects)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| {
            name.strip_prefix(".upload_id-")
                .and_then(|n| n.split_once(".part-"))
                .is_some_and(|(upload, _)| !objects.join(format!(".upload-{upload}.json")).exists())
        })
        .collect()
}

/// What the store acknowledged of one upload before the kill.
struct Acked {
    key: String,
    upload: String,
    sha: Vec<u8>,
    parts: Vec<CompletedPart>,
    completed: bool,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_upload_survives_a_kill_during_twenty_concurrent_uploads() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, storage) = common::serve_s3(data.path(), &[]);
    let acked: Arc<Mutex<Vec<Acked>>> = Arc::default();

    let mut uploaders = Vec::new();
    for task in 0..20 {
        let (storage, acked) = (storage.clone(), acked.clone());
        uploaders.push(tokio::spawn(async move {
            for n in 0.. {
                let key = format!("crash/{task}/{n}");
                let mut body = vec![0u8; 5 * MIB + (task * 97_531 + n * 7_919) % (3 * MIB) + 1];
                rand::thread_rng().fill_bytes(&mut body);
                let Ok(upload) = start_upload(&storage, &key).await else {
                    return;
                };
                let mut parts = Vec::new();
                for (i, chunk) in body.chunks(5 * MIB).enumerate() {
                    let number = i32::try_from(i + 1).unwrap();
                    match put_part(&storage, &key, &upload, number, chunk.to_vec()).await {
                        Ok(part) => parts.push(part),
                        Err(_) => return,
                    }
                }
                let index = {
                    let mut acked = acked.lock().unwrap();
                    acked.push(Acked {
                        key: key.clone(),
                        upload: upload.clone(),
                        sha: sha(&body),
                        parts: parts.clone(),
                        completed: false,
                    });
                    acked.len() - 1
                };
                if complete(&storage, &key, &upload, &parts).await.is_err() {
                    return;
                }
                acked.lock().unwrap()[index].completed = true;
            }
        }));
    }

    // Let the uploads reach a steady state, then kill the store at an arbitrary moment.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let done = acked.lock().unwrap().iter().filter(|a| a.completed).count();
        if done >= 40 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {done} uploads in 120 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(u64::from(rand::random::<u8>()))).await;
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    common::wait_with_timeout(&mut child, Duration::from_secs(30));
    for uploader in uploaders {
        let _ = tokio::time::timeout(Duration::from_secs(60), uploader).await;
    }

    let (mut child, storage) = common::serve_s3(data.path(), &[]);
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    let (mut objects, mut finished_after) = (0, 0);
    for a in &acked {
        if !a.completed {
            // Every part was acknowledged: completing again must work, or, when the first
            // completion got through just before the kill, the object must be whole.
            match complete(&storage, &a.key, &a.upload, &a.parts).await {
                Ok(()) => finished_after += 1,
                Err(code) => assert_eq!(code, "NoSuchUpload", "{}", a.key),
            }
        }
        let body = get(&storage, &a.key)
            .await
            .unwrap_or_else(|| panic!("{} is gone", a.key));
        assert_eq!(sha(&body), a.sha, "{} changed", a.key);
        objects += 1;
    }
    eprintln!(
        "{objects} acknowledged uploads intact after SIGKILL ({finished_after} completed after the restart)"
    );
    assert!(objects >= 40);
    assert_eq!(
        leftovers(&data.path().join("objects")),
        Vec::<String>::new()
    );
    assert_eq!(
        orphan_parts(&data.path().join("objects")),
        Vec::<String>::new()
    );
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn a_refused_completion_keeps_the_parts_for_a_corrected_one() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, storage) = common::serve_s3(data.path(), &[]);
    let key = "refused/1";
    let upload = start_upload(&storage, key).await.unwrap();
    let small = vec![1u8; MIB];
    let tail = vec![2u8; MIB];
    let first = put_part(&storage, key, &upload, 1, small).await.unwrap();
    let second = put_part(&storage, key, &upload, 2, tail.clone())
        .await
        .unwrap();
    assert_eq!(
        complete(&storage, key, &upload, &[first, second.clone()]).await,
        Err("EntityTooSmall".to_owned())
    );
    assert!(
        get(&storage, key).await.is_none(),
        "no object after a refusal"
    );

    // The client sends part 1 again at its proper size: the upload is still there.
    let mut whole = vec![3u8; 5 * MIB];
    let first = put_part(&storage, key, &upload, 1, whole.clone())
        .await
        .unwrap();
    complete(&storage, key, &upload, &[first, second])
        .await
        .unwrap();
    whole.extend_from_slice(&tail);
    assert_eq!(sha(&get(&storage, key).await.unwrap()), sha(&whole));
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test]
async fn a_nearly_full_disk_refuses_writes_with_503_and_keeps_serving_reads() {
    let data = tempfile::tempdir().unwrap();
    let (mut child, storage) = common::serve_s3(data.path(), &[]);
    storage
        .client
        .put_object()
        .bucket("hoithi")
        .key("before")
        .body(ByteStream::from_static(b"da luu"))
        .send()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();

    // A reserve larger than any disk: the store behaves as on a full one.
    let (mut child, storage) =
        common::serve_s3(data.path(), &[("HOITHI_S3_MIN_FREE_MB", "1073741824")]);
    let err = storage
        .client
        .put_object()
        .bucket("hoithi")
        .key("after")
        .body(ByteStream::from_static(b"khong luu duoc"))
        .send()
        .await
        .unwrap_err();
    let raw = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(raw, Some(503));
    assert_eq!(err.into_service_error().meta().code(), Some("SlowDown"));
    let upload = start_upload(&storage, "after-multipart").await.unwrap();
    assert!(
        put_part(&storage, "after-multipart", &upload, 1, vec![0; MIB])
            .await
            .is_err()
    );
    assert_eq!(get(&storage, "before").await.unwrap(), b"da luu");
    assert!(get(&storage, "after").await.is_none());
    assert_eq!(
        leftovers(&data.path().join("objects")),
        Vec::<String>::new()
    );
    let _ = child.kill();
    let _ = child.wait();
}
