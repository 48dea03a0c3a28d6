#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Bad input to the tus upload service, each with the status tus prescribes and a stable
//! code, and nothing left in storage after a refused, terminated or expired upload.

mod common;
mod upload_common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use reqwest::StatusCode;
use sha1::Digest;
use tokio::io::AsyncWriteExt;
use upload_common::*;
use uuid::Uuid;

const ORIGIN: &str = "https://hoithi.example.vn";

async fn server(env: &TestEnv, dir: &std::path::Path) -> Server {
    let mut cmd = hoithi(dir);
    configured(&mut cmd, env);
    cmd.env("HOITHI_PUBLIC_URL", ORIGIN)
        .env("HOITHI_ROLES", "upload");
    Server::start(cmd).await
}

struct Setup {
    env: TestEnv,
    server: Server,
    tus: Tus,
    user: i64,
    contest: i64,
    _dir: tempfile::TempDir,
}

async fn setup(kinds: &[&str]) -> Setup {
    let env = TestEnv::new().await;
    let dir = tempfile::tempdir().unwrap();
    let server = server(&env, dir.path()).await;
    let (user, token) = env.user(Role::Member).await;
    let contest = env.open_contest(kinds).await;
    let tus = Tus::new(&server.url, &token);
    Setup {
        env,
        server,
        tus,
        user,
        contest,
        _dir: dir,
    }
}

async fn upload_row(env: &TestEnv, location: &str) -> (String, Option<String>, String) {
    sqlx::query_as("select status::text, s3_upload_id, object_key from upload where upload_id = $1")
        .bind(upload_id(location))
        .fetch_one(&env.db)
        .await
        .expect("upload row")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_cors_tus_version_and_authentication_are_checked() {
    let s = setup(&["video", "photo"]).await;
    let http = &s.tus.http;
    let url = format!("{}/api/v1/uploads", s.server.url);

    let res = http
        .request(reqwest::Method::OPTIONS, &url)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["tus-version"], "1.0.0");
    let ext = res.headers()["tus-extension"].to_str().unwrap().to_owned();
    for e in [
        "creation",
        "creation-with-upload",
        "termination",
        "expiration",
        "checksum",
    ] {
        assert!(ext.split(',').any(|x| x == e), "{e} in {ext}");
    }
    assert!(res.headers().contains_key("tus-max-size"));
    assert!(
        res.headers()["tus-checksum-algorithm"]
            .to_str()
            .unwrap()
            .contains("sha1")
    );

    // A browser on the site's origin may call the API and read the tus headers.
    let res = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", ORIGIN)
        .header("Access-Control-Request-Method", "PATCH")
        .header(
            "Access-Control-Request-Headers",
            "tus-resumable,upload-offset,content-type",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(res.headers()["access-control-allow-origin"], ORIGIN);
    assert!(
        res.headers()["access-control-allow-methods"]
            .to_str()
            .unwrap()
            .contains("PATCH")
    );
    assert!(
        res.headers()["access-control-allow-headers"]
            .to_str()
            .unwrap()
            .contains("Upload-Offset")
    );
    let res = http
        .post(&url)
        .header("Origin", ORIGIN)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    let expose = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_owned();
    for h in [
        "Location",
        "Upload-Offset",
        "Upload-Length",
        "Upload-Expires",
    ] {
        assert!(expose.contains(h), "{h} exposed");
    }
    // Another origin gets no CORS grant.
    let res = http
        .request(reqwest::Method::OPTIONS, &url)
        .header("Origin", "https://evil.example")
        .header("Access-Control-Request-Method", "PATCH")
        .send()
        .await
        .unwrap();
    assert!(!res.headers().contains_key("access-control-allow-origin"));

    let res = http
        .post(&url)
        .bearer_auth(&s.tus.token)
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["tus-version"], "1.0.0");
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::PRECONDITION_FAILED,
            "tus-resumable-missing".into()
        )
    );
    let res = http
        .post(&url)
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "0.2.2")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::PRECONDITION_FAILED,
            "tus-version-unsupported".into()
        )
    );
    let res = http
        .post(&url)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::UNAUTHORIZED, "unauthenticated".into())
    );
    let res = http
        .post(&url)
        .bearer_auth("not-a-token")
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", "10")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::UNAUTHORIZED, "unauthenticated".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creation_checks_length_metadata_entry_owner_status_phase_and_size_limits() {
    let s = setup(&["photo"]).await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let url = format!("{}/api/v1/uploads", s.server.url);
    let post = |headers: Vec<(&'static str, String)>| {
        let mut req = s
            .tus
            .http
            .post(&url)
            .bearer_auth(&s.tus.token)
            .header("Tus-Resumable", "1.0.0");
        for (k, v) in headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let meta = |id: &str| format!("entry_id {},filetype {}", b64(id), b64("image/jpeg"));

    let res = post(vec![("Upload-Metadata", meta(&entry.to_string()))])
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "upload-length-missing".into())
    );
    let res = post(vec![
        ("Upload-Length", "-5".into()),
        ("Upload-Metadata", meta(&entry.to_string())),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "upload-length-invalid".into())
    );
    let res = post(vec![("Upload-Defer-Length", "1".into())])
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "defer-length-unsupported".into())
    );
    let res = post(vec![("Upload-Length", "100".into())]).await.unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "entry-id-missing".into())
    );
    let res = post(vec![
        ("Upload-Length", "100".into()),
        ("Upload-Metadata", "entry_id ???".into()),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "metadata-invalid".into())
    );
    let res = post(vec![
        ("Upload-Length", "100".into()),
        ("Upload-Metadata", meta("nope")),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "entry-id-invalid".into())
    );
    let res = post(vec![
        ("Upload-Length", "100".into()),
        ("Upload-Metadata", meta(&Uuid::new_v4().to_string())),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::NOT_FOUND, "entry-not-found".into())
    );

    // Someone else's draft is as good as missing.
    let (other, _) = s.env.user(Role::Member).await;
    let foreign = s.env.draft_entry(s.contest, other).await;
    let res = post(vec![
        ("Upload-Length", "100".into()),
        ("Upload-Metadata", meta(&foreign.to_string())),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::NOT_FOUND, "entry-not-found".into())
    );

    // Over the contest's photo limit (30 MiB by default): 413 before any byte.
    let res = post(vec![
        ("Upload-Length", (30 * MIB + 1).to_string()),
        ("Upload-Metadata", meta(&entry.to_string())),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "upload-too-large".into())
    );
    let res = post(vec![
        ("Upload-Length", (9usize << 30).to_string()),
        ("Upload-Metadata", meta(&entry.to_string())),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "upload-too-large".into())
    );

    // An entry already submitted cannot take another file.
    let submitted = s.env.draft_entry(s.contest, s.user).await;
    sqlx::query("update entry set status = 'pending_review' where entry_id = $1")
        .bind(submitted)
        .execute(&s.env.db)
        .await
        .unwrap();
    let res = post(vec![
        ("Upload-Length", "100".into()),
        ("Upload-Metadata", meta(&submitted.to_string())),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "entry-not-draft".into())
    );

    // A closed submission phase.
    let closed = serde_json::json!({"limits": {"upload_grace_minutes": 0},
        "phases": {"submission": {"closes_at": common::in_minutes(0)}}});
    common::organize(&s.env, s.contest, closed).await;
    let res = post(vec![
        ("Upload-Length", "100".into()),
        ("Upload-Metadata", meta(&entry.to_string())),
    ])
    .await
    .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::FORBIDDEN, "submission-closed".into())
    );

    assert!(all_keys(&s.env).await.is_empty(), "nothing stored");
    let uploads: i64 = sqlx::query_scalar("select count(*) from upload")
        .fetch_one(&s.env.db)
        .await
        .unwrap();
    assert_eq!(uploads, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patches_check_offset_content_type_owner_checksum_and_length() {
    let s = setup(&["video", "photo"]).await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let data = video_bytes(6 * MIB, 3);
    let location = s.tus.created(entry, data.len(), "video/mp4").await;

    let res = s.tus.patch(&location, 5, data[..10].to_vec()).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "offset-mismatch".into())
    );
    let res = s
        .tus
        .http
        .patch(s.tus.url(&location))
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Offset", "0")
        .header("Content-Type", "application/json")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "content-type-invalid".into()
        )
    );
    let res = s
        .tus
        .http
        .patch(s.tus.url(&location))
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Content-Type", "application/offset+octet-stream")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::BAD_REQUEST, "upload-offset-missing".into())
    );

    // Another member sees no such upload, whatever the method.
    let (_, other_token) = s.env.user(Role::Member).await;
    let other = Tus::new(&s.server.url, &other_token);
    assert_eq!(other.head(&location).await.status(), StatusCode::NOT_FOUND);
    let res = other.patch(&location, 0, data[..10].to_vec()).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::NOT_FOUND, "upload-not-found".into())
    );
    let res = other
        .http
        .delete(other.url(&location))
        .bearer_auth(&other_token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::NOT_FOUND, "upload-not-found".into())
    );
    let res = s.tus.head("/api/v1/uploads/not-an-id").await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);

    // A chunk with a wrong sha1 is discarded; the right one is taken.
    let chunk = data[..MIB].to_vec();
    let good = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(&chunk));
    let bad = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(b"other"));
    let with_sum = |sum: String, body: Vec<u8>| {
        s.tus
            .http
            .patch(s.tus.url(&location))
            .bearer_auth(&s.tus.token)
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", "0")
            .header("Content-Type", "application/offset+octet-stream")
            .header("Upload-Checksum", sum)
            .body(body)
            .send()
    };
    let res = with_sum(format!("sha1 {bad}"), chunk.clone())
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 460);
    assert_eq!(error_code(res).await.1, "checksum-mismatch");
    assert_eq!(s.tus.offset(&location).await, 0, "the chunk was discarded");
    let res = with_sum(format!("md5 {good}"), chunk.clone())
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::BAD_REQUEST,
            "checksum-algorithm-unsupported".into()
        )
    );
    let res = with_sum(format!("sha1 {good}"), chunk.clone())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(s.tus.offset(&location).await, MIB);

    // More bytes than Upload-Length leaves: refused, the stored offset stays.
    let res = s.tus.patch(&location, MIB, vec![7u8; 5 * MIB + 1]).await;
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            "upload-length-exceeded".into()
        )
    );
    assert_eq!(s.tus.offset(&location).await, MIB);
    let res = s.tus.patch(&location, MIB, data[MIB..].to_vec()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (status, _, _) = upload_row(&s.env, &location).await;
    assert_eq!(status, "completed");
    // Deleting a finished upload is refused: its entry is being processed.
    let res = s
        .tus
        .http
        .delete(s.tus.url(&location))
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "upload-completed".into())
    );
}

/// The attack: a caller without credentials probes the tus routes with no `Tus-Resumable`.
/// Authentication is answered first (401), so the header checks reveal nothing about an
/// upload to a stranger, and the API says what a client must fix first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_callers_get_401_before_any_tus_header_check() {
    let s = setup(&["photo"]).await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let location = s.tus.created(entry, 10, "image/jpeg").await;
    let url = s.tus.url(&location);
    let http = &s.tus.http;
    let requests = [
        (
            "POST",
            http.post(format!("{}/api/v1/uploads", s.server.url))
                .header("Upload-Length", "10"),
        ),
        ("HEAD", http.head(&url)),
        (
            "PATCH",
            http.patch(&url)
                .header("Upload-Offset", "0")
                .header("Content-Type", "application/json")
                .body("x"),
        ),
        ("DELETE", http.delete(&url)),
    ];
    for (method, req) in requests {
        let res = req.send().await.unwrap();
        assert_eq!(
            res.status(),
            StatusCode::UNAUTHORIZED,
            "{method} without credentials"
        );
        assert_eq!(
            res.headers()["tus-resumable"],
            "1.0.0",
            "{method} keeps the tus header"
        );
    }
    // With credentials the missing header is still the client's first fault.
    let res = http
        .delete(&url)
        .bearer_auth(&s.tus.token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::PRECONDITION_FAILED,
            "tus-resumable-missing".into()
        )
    );
    // Nothing the stranger sent changed the upload.
    let (status, _, _) = upload_row(&s.env, &location).await;
    assert_eq!(status, "active");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_that_is_not_an_allowed_photo_or_video_is_refused_and_removed() {
    let s = setup(&["photo"]).await;

    // A PDF named .jpg with filetype image/jpeg, sent in one go with the creation request.
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let mut pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    fill(&mut pdf, 4096, 9);
    let res = s
        .tus
        .http
        .post(format!("{}/api/v1/uploads", s.server.url))
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "1.0.0")
        .header("Upload-Length", pdf.len().to_string())
        .header(
            "Upload-Metadata",
            format!(
                "entry_id {},filename {},filetype {}",
                b64(&entry.to_string()),
                b64("anh.jpg"),
                b64("image/jpeg")
            ),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(pdf)
        .send()
        .await
        .unwrap();
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type".into()
        )
    );

    // A video in a photo-only contest.
    let location = s.tus.created(entry, 2 * MIB, "image/jpeg").await;
    let res = s.tus.patch(&location, 0, video_bytes(MIB, 1)).await;
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "kind-not-allowed".into()
        )
    );
    let res = s.tus.head(&location).await;
    assert_eq!(res.status(), StatusCode::GONE);

    // A few bytes first (kept in a temporary object), then the rest shows what it is.
    let location = s.tus.created(entry, 3 * MIB, "image/png").await;
    let res = s.tus.patch(&location, 0, b"GIF8".to_vec()).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(
        all_keys(&s.env)
            .await
            .iter()
            .any(|k| k.starts_with("uploads/")),
        "a tail object"
    );
    let res = s
        .tus
        .patch(&location, 4, b"9a\x01\0\x01\0\0\0\0".repeat(100))
        .await;
    assert_eq!(
        error_code(res).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type".into()
        )
    );

    // A JPEG declared as a video: the video limit let it in, the photo limit (sniffed) stops it.
    let both = s.env.open_contest(&["video", "photo"]).await;
    let entry2 = s.env.draft_entry(both, s.user).await;
    let location = s.tus.created(entry2, 40 * MIB, "video/mp4").await;
    let res = s.tus.patch(&location, 0, photo_bytes(MIB, 2)).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::PAYLOAD_TOO_LARGE, "upload-too-large".into())
    );

    let refused: i64 = sqlx::query_scalar("select count(*) from upload where status = 'refused'")
        .fetch_one(&s.env.db)
        .await
        .unwrap();
    assert_eq!(refused, 4);
    assert!(
        all_keys(&s.env).await.is_empty(),
        "nothing left: {:?}",
        all_keys(&s.env).await
    );
    let assets: i64 = sqlx::query_scalar("select count(*) from media_asset")
        .fetch_one(&s.env.db)
        .await
        .unwrap();
    assert_eq!(assets, 0);
    // The member may try again with a real photo.
    let photo = photo_bytes(200_000, 4);
    let location = s.tus.created(entry, photo.len(), "image/jpeg").await;
    let res = s.tus.patch(&location, 0, photo).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let kind: String = sqlx::query_scalar("select kind::text from media_asset where entry_id = $1")
        .bind(entry)
        .fetch_one(&s.env.db)
        .await
        .unwrap();
    assert_eq!(kind, "photo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn termination_expiry_and_the_sweep_leave_nothing_in_storage() {
    let s = setup(&["video"]).await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let data = video_bytes(12 * MIB, 5);
    // One 8 MiB part and a rest too small to be a part: the rest lives in a tail object.
    const REST: usize = 9 * MIB + 100;

    // Terminated: 204, then 410; its part and tail are gone.
    let location = s.tus.created(entry, data.len(), "video/mp4").await;
    assert_eq!(
        s.tus
            .patch(&location, 0, data[..REST].to_vec())
            .await
            .status(),
        StatusCode::NO_CONTENT
    );
    let (_, s3_id, key) = upload_row(&s.env, &location).await;
    let s3_id = s3_id.expect("a multipart upload");
    assert!(multipart_exists(&s.env, &key, &s3_id).await);
    let res = s
        .tus
        .http
        .delete(s.tus.url(&location))
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = s.tus.head(&location).await;
    assert_eq!(res.status(), StatusCode::GONE);
    let res = s.tus.patch(&location, REST, data[REST..].to_vec()).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::GONE, "upload-terminated".into())
    );
    assert!(!multipart_exists(&s.env, &key, &s3_id).await);
    assert!(all_keys(&s.env).await.is_empty());
    let status: String = sqlx::query_scalar("select status::text from entry where entry_id = $1")
        .bind(entry)
        .fetch_one(&s.env.db)
        .await
        .unwrap();
    assert_eq!(status, "draft", "the entry can take another upload");

    // Expired: carries Upload-Expires; past it, 410; the sweep aborts and deletes.
    let location = s.tus.created(entry, data.len(), "video/mp4").await;
    let res = s.tus.patch(&location, 0, data[..REST].to_vec()).await;
    assert!(res.headers().contains_key("upload-expires"));
    let (_, s3_id, key) = upload_row(&s.env, &location).await;
    let s3_id = s3_id.expect("a multipart upload");
    sqlx::query("update upload set expires_at = now() - interval '1 second' where upload_id = $1")
        .bind(upload_id(&location))
        .execute(&s.env.db)
        .await
        .unwrap();
    let res = s.tus.patch(&location, REST, data[REST..].to_vec()).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::GONE, "upload-expired".into())
    );
    assert!(
        !all_keys(&s.env).await.is_empty(),
        "a tail before the sweep"
    );
    let report = hoithi_upload::sweep(&s.env.state()).await.unwrap();
    assert_eq!((report.expired, report.cleaned), (1, 1), "{report:?}");
    assert!(!multipart_exists(&s.env, &key, &s3_id).await);
    assert!(all_keys(&s.env).await.is_empty());
    assert_eq!(s.tus.head(&location).await.status(), StatusCode::GONE);
    let again = hoithi_upload::sweep(&s.env.state()).await.unwrap();
    assert_eq!(again, hoithi_upload::SweepReport::default());

    // One live upload per entry: a newer one is refused while an older one is unfinished
    // (replacing it at creation raced, issue 15); cancelling the older one makes room.
    let old = s.tus.created(entry, data.len(), "video/mp4").await;
    assert_eq!(
        s.tus.patch(&old, 0, data[..100].to_vec()).await.status(),
        StatusCode::NO_CONTENT
    );
    let res = s.tus.create(entry, data.len(), "video/mp4").await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::CONFLICT, "upload-in-progress".into())
    );
    let res = s
        .tus
        .http
        .delete(s.tus.url(&old))
        .bearer_auth(&s.tus.token)
        .header("Tus-Resumable", "1.0.0")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let new = s.tus.created(entry, data.len(), "video/mp4").await;
    let res = s.tus.patch(&old, 100, data[100..].to_vec()).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::GONE, "upload-terminated".into())
    );
    assert_eq!(
        s.tus.patch(&new, 0, data.clone()).await.status(),
        StatusCode::NO_CONTENT
    );
    let keys = all_keys(&s.env).await;
    assert_eq!(keys.len(), 1, "only the original: {keys:?}");
    assert!(keys[0].starts_with("originals/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_patch_while_one_is_writing_gets_423_and_the_upload_stays_whole() {
    let s = setup(&["video"]).await;
    let entry = s.env.draft_entry(s.contest, s.user).await;
    let data = video_bytes(3 * MIB, 6);
    let location = s.tus.created(entry, data.len(), "video/mp4").await;

    // A slow client: headers and a few bytes, then it waits.
    let addr = s.server.url.trim_start_matches("http://").to_owned();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "PATCH {location} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        s.tus.token,
        data.len()
    );
    sock.write_all(head.as_bytes()).await.unwrap();
    sock.write_all(&data[..1000]).await.unwrap();
    sock.flush().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let leased: bool =
            sqlx::query_scalar("select lock_token is not null from upload where upload_id = $1")
                .bind(upload_id(&location))
                .fetch_one(&s.env.db)
                .await
                .unwrap();
        if leased {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the first PATCH never took the upload"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let res = s.tus.patch(&location, 0, data.clone()).await;
    assert_eq!(
        error_code(res).await,
        (StatusCode::LOCKED, "upload-locked".into())
    );

    // The first one finishes; the upload is whole.
    sock.write_all(&data[1000..]).await.unwrap();
    sock.flush().await.unwrap();
    let mut reply = vec![0u8; 1024];
    let n = tokio::io::AsyncReadExt::read(&mut sock, &mut reply)
        .await
        .unwrap();
    let reply = String::from_utf8_lossy(&reply[..n]).to_string();
    assert!(reply.starts_with("HTTP/1.1 204"), "{reply}");
    let sha: String =
        sqlx::query_scalar("select original_sha256 from media_asset where entry_id = $1")
            .bind(entry)
            .fetch_one(&s.env.db)
            .await
            .unwrap();
    let stored = read_object(
        &s.env,
        &format!(
            "originals/{}",
            sqlx::query_scalar::<_, Uuid>(
                "select media_asset_id from media_asset where entry_id = $1"
            )
            .bind(entry)
            .fetch_one(&s.env.db)
            .await
            .unwrap()
        ),
    )
    .await;
    assert_eq!(stored, data);
    let want: String = sha2::Sha256::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sha, want);
}
