#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! The foundation, end to end with the real binary: zero-configuration start on the embedded
//! PostgreSQL and S3, restarts (clean and after SIGKILL), configured mode, start-up errors,
//! admin commands next to a running server, health and request ids.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{BIN, Server, configured, hoithi, metrics_url, run};
use hoithi_core::testing::TestEnv;

fn create_user(data: &std::path::Path, email: &str) -> (std::process::ExitStatus, String, String) {
    let mut cmd = hoithi(data);
    cmd.args([
        "admin",
        "create-user",
        "--email",
        email,
        "--password",
        "mật-khẩu-dài",
        "--name",
        "Nguyễn Văn An",
    ]);
    let (status, out, err, _) = run(cmd, Duration::from_secs(120));
    (status, out, err)
}

fn last_line(text: &str) -> &str {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
}

#[tokio::test]
async fn zero_config_starts_keeps_its_data_across_restarts_and_survives_sigkill() {
    let data = tempfile::tempdir().unwrap();

    // First start on an empty folder: embedded PostgreSQL and S3, first administrator.
    let server = Server::start(hoithi(data.path())).await;
    assert!(
        server
            .printed
            .iter()
            .any(|l| l.contains("admin@hoithi.local")),
        "{:?}",
        server.printed
    );
    assert!(data.path().join("pg/PG_VERSION").exists());
    assert!(
        data.path().join("objects/hoithi").is_dir(),
        "the bucket is a folder of the object store"
    );

    // An admin command works on the same cluster while serve runs.
    let (status, out, err) = create_user(data.path(), "an@example.vn");
    assert!(status.success(), "{out}{err}");
    let body = reqwest::get(format!("{}/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(
        body.status(),
        200,
        "the server still works after the admin command"
    );

    // A clean stop stops the private PostgreSQL too.
    let status = server.stop();
    assert!(status.success(), "{status:?}");
    assert!(
        !data.path().join("pg/postmaster.pid").exists(),
        "PostgreSQL was stopped with hoithi"
    );

    // Second start: same data, no new administrator.
    let server = Server::start(hoithi(data.path())).await;
    assert!(
        !server
            .printed
            .iter()
            .any(|l| l.contains("one-time password")),
        "{:?}",
        server.printed
    );
    let (status, _, err) = create_user(data.path(), "an@example.vn");
    assert!(!status.success());
    assert!(
        last_line(&err).contains("already exists"),
        "the user of the first run is still there: {err}"
    );

    // SIGKILL: no clean-up at all. The next start must still come up on the same data.
    server.kill();
    let server = Server::start(hoithi(data.path())).await;
    let (status, _, err) = create_user(data.path(), "an@example.vn");
    assert!(
        last_line(&err).contains("already exists") && !status.success(),
        "{err}"
    );

    // Kill PostgreSQL too, leaving a stale postmaster.pid behind: still a clean start.
    let pid_file = std::fs::read_to_string(data.path().join("pg/postmaster.pid")).unwrap();
    let pg_pid: i32 = pid_file.lines().next().unwrap().trim().parse().unwrap();
    server.kill();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pg_pid),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(
        data.path().join("pg/postmaster.pid").exists(),
        "the stale pid file is left behind"
    );
    let server = Server::start(hoithi(data.path())).await;
    let (status, _, err) = create_user(data.path(), "an@example.vn");
    assert!(
        last_line(&err).contains("already exists") && !status.success(),
        "{err}"
    );
    assert!(server.stop().success());
}

/// A clone of this repository in a folder only root can enter (root's home), where `hoithi
/// serve` starts from the clone with no settings (the data folder is the default `./data`,
/// as `./dev run` has it): it becomes ready. As root the private PostgreSQL runs as
/// `postgres`, who cannot enter the folder, so its cluster lives under /var/lib/hoithi and
/// the data folder's `pg` links there; the second start follows the link to the same data.
#[tokio::test]
async fn a_clone_only_root_can_enter_starts_with_no_settings_and_again() {
    use std::os::unix::fs::PermissionsExt;
    let root_only = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root_only.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let clone = root_only.path().join("hoithi");
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cloned = Command::new("git")
        .args(["clone", "--quiet", "--depth", "1"])
        .arg(format!("file://{}", repo.canonicalize().unwrap().display()))
        .arg(&clone)
        .status()
        .expect("run git");
    assert!(cloned.success(), "git clone of {repo:?}");
    assert!(clone.join("dev").exists() && !clone.join("data").exists());
    let data = clone.join("data");
    // The binary this test was built with, run from the clone as `./dev run` runs it: no
    // HOITHI_DATA, no database or store settings (only a free port, as tests run side by side).
    let from_clone = || {
        let mut cmd = hoithi(&data);
        cmd.env_remove("HOITHI_DATA").current_dir(&clone);
        cmd
    };

    let server = Server::start(from_clone()).await;
    assert!(
        data.is_dir(),
        "the default data folder ./data is the clone's"
    );
    let (status, out, err) = create_user(&data, "an@example.vn");
    assert!(status.success(), "{out}{err}");
    assert!(server.stop().success());

    let pg = data.join("pg");
    let link = std::fs::read_link(&pg);
    if nix::unistd::Uid::effective().is_root() {
        let cluster = link.expect("as root, data/pg links to the cluster PostgreSQL can enter");
        assert!(cluster.starts_with("/var/lib/hoithi"), "{cluster:?}");
        assert!(cluster.join("PG_VERSION").exists());
    } else {
        assert!(
            link.is_err(),
            "not root: PostgreSQL runs as us, the cluster stays in data/pg"
        );
        assert!(pg.join("PG_VERSION").exists());
    }

    // The second start finds the same cluster: the account made above is there.
    let server = Server::start(from_clone()).await;
    let (status, _, err) = create_user(&data, "an@example.vn");
    assert!(
        !status.success() && last_line(&err).contains("already exists"),
        "the user of the first start is still there: {err}"
    );
    assert!(server.stop().success());
    if let Ok(cluster) = std::fs::read_link(&pg) {
        std::fs::remove_dir_all(&cluster).unwrap();
        // PostgreSQL's log beside it (pg-<hash>.log).
        let _ = std::fs::remove_file(cluster.with_extension("log"));
    }
}

#[tokio::test]
async fn configured_mode_uses_the_given_postgresql_and_s3_and_starts_neither() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;

    let admins: i64 = sqlx::query_scalar("select count(*) from app_user where role = 'admin'")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(
        admins, 1,
        "the first administrator went into the configured database"
    );
    let listed = env
        .storage
        .client
        .list_objects_v2()
        .bucket(&env.s3.bucket)
        .send()
        .await;
    assert!(listed.is_ok(), "the configured bucket is used");
    assert!(!data.path().join("pg").exists(), "no embedded PostgreSQL");
    assert!(!data.path().join("objects").exists(), "no embedded S3");
    assert!(server.stop().success());
}

#[tokio::test]
async fn readiness_reports_a_store_that_stops_answering() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let mut server = Server::start(cmd).await;
    let operators = metrics_url(&mut server).replace("/metrics", "");
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.url))
            .await
            .unwrap()
            .status(),
        200
    );

    // Remove the bucket under the running server: /readyz turns 503 and says which check
    // fails; the cause (the store's own error text) is for operators, on their listener.
    env.storage
        .client
        .delete_bucket()
        .bucket(&env.s3.bucket)
        .send()
        .await
        .unwrap();
    let res = reqwest::get(format!("{}/readyz", server.url))
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["checks"]["database"]["ok"], true);
    assert_eq!(body["checks"]["storage"]["ok"], false);
    assert!(!body.to_string().contains("NoSuchBucket"), "{body}");
    let res = reqwest::get(format!("{operators}/readyz")).await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(
        body["checks"]["storage"]["reason"]
            .as_str()
            .unwrap()
            .contains("NoSuchBucket"),
        "{body}"
    );
    assert!(server.stop().success());
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_a_plain_one_from_the_client() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    let server = Server::start(cmd).await;
    let client = reqwest::Client::new();

    let res = client.get(format!("{}/", server.url)).send().await.unwrap();
    let id = res.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID is made: {id}");
    assert!(res.text().await.unwrap().contains("Hội Thi"));

    let res = client
        .get(format!("{}/healthz", server.url))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");

    let forged = "x\" injected=\"1";
    let res = client
        .get(format!("{}/healthz", server.url))
        .header("x-request-id", forged)
        .send()
        .await
        .unwrap();
    assert_ne!(
        res.headers()["x-request-id"],
        forged,
        "an unsafe id is replaced"
    );
    assert!(server.stop().success());
}

/// Runs `serve` expecting it to fail; returns its last stderr line and how long it took.
fn failing_start(cmd: Command) -> (String, Duration) {
    let mut cmd = cmd;
    cmd.arg("serve");
    let (status, _, err, elapsed) = run(cmd, Duration::from_secs(60));
    assert!(!status.success(), "hoithi should have failed: {err}");
    assert!(
        elapsed < Duration::from_secs(30),
        "failing took {elapsed:?}"
    );
    let line = last_line(&err).to_owned();
    assert!(line.starts_with("hoithi: error: "), "{err}");
    (line, elapsed)
}

#[tokio::test]
async fn an_unreachable_database_url_fails_fast_with_what_to_check() {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    cmd.env("DATABASE_URL", "postgres://hoithi:x@127.0.0.1:9/hoithi");
    let (line, _) = failing_start(cmd);
    assert!(
        line.contains("cannot reach PostgreSQL") && line.contains("DATABASE_URL"),
        "{line}"
    );
}

#[tokio::test]
async fn a_wrong_s3_secret_fails_with_which_setting_to_fix() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    cmd.env("S3_SECRET_ACCESS_KEY", "wrong-secret");
    let (line, _) = failing_start(cmd);
    assert!(
        line.contains("refused the credentials") && line.contains("S3_SECRET_ACCESS_KEY"),
        "{line}"
    );
}

#[tokio::test]
async fn a_port_in_use_fails_with_the_address_and_the_setting() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    cmd.env("HOITHI_LISTEN", &addr);
    let (line, _) = failing_start(cmd);
    assert!(
        line.contains(&addr) && line.contains("HOITHI_LISTEN"),
        "{line}"
    );
}

#[tokio::test]
async fn missing_postgresql_binaries_fail_with_the_package_to_install() {
    let data = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    cmd.env("HOITHI_PG_BIN_DIR", empty.path());
    let (line, _) = failing_start(cmd);
    assert!(
        line.contains("apt-get install postgresql") && line.contains("DATABASE_URL"),
        "{line}"
    );
}

#[tokio::test]
async fn an_unwritable_data_folder_fails_with_the_setting_to_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a folder").unwrap();
    let cmd = hoithi(&file.join("data"));
    let (line, _) = failing_start(cmd);
    assert!(
        line.contains("cannot create the data folder") && line.contains("HOITHI_DATA"),
        "{line}"
    );
}

#[test]
fn unknown_roles_and_bad_admin_input_are_refused_with_one_line() {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    cmd.args(["serve", "--roles", "web,cache"]);
    let (status, _, err, _) = run(cmd, Duration::from_secs(30));
    assert!(!status.success());
    assert!(last_line(&err).contains("unknown role \"cache\""), "{err}");

    let mut cmd = hoithi(data.path());
    cmd.args([
        "admin",
        "create-user",
        "--email",
        "not-an-email",
        "--password",
        "longenough",
        "--name",
        "A",
    ]);
    let (status, _, err, _) = run(cmd, Duration::from_secs(30));
    assert!(!status.success());
    assert!(last_line(&err).contains("is not an email address"), "{err}");
    assert!(
        !data.path().join("pg").exists(),
        "bad input is refused before anything starts"
    );
    let _ = BIN;
}

#[tokio::test]
async fn json_logs_carry_the_request_id_and_the_matched_route() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let log_path = data.path().join("hoithi.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    // Answered requests are logged at DEBUG: this filter is the access log the README names.
    cmd.env("HOITHI_LOG_FORMAT", "json")
        .env("RUST_LOG", "info,tower_http=debug");
    let server = Server::start_with_stderr(cmd, log.into()).await;
    let res = reqwest::Client::new()
        .get(format!("{}/lang/en", server.url))
        .header("x-request-id", "req-json-1")
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success() || res.status().is_redirection());
    assert!(server.stop().success());

    let text = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let request = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "req-json-1")
        .unwrap_or_else(|| panic!("no log line of the request: {text}"));
    assert_eq!(
        request["span"]["route"], "/lang/{code}",
        "the route, not the raw path: {request}"
    );
}

#[tokio::test]
async fn migrate_applies_migrations_on_the_embedded_cluster_and_exits() {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    cmd.arg("migrate");
    let (status, out, err, _) = run(cmd, Duration::from_secs(120));
    assert!(status.success(), "{err}");
    assert!(out.contains("migrations applied"), "{out}");
    assert!(
        !data.path().join("pg/postmaster.pid").exists(),
        "the cluster it started is stopped again"
    );
}

#[tokio::test]
async fn metrics_count_requests_by_matched_route_and_show_the_job_queue() {
    let env = TestEnv::new().await;
    hoithi_core::job::enqueue(
        &mut env.db.acquire().await.unwrap(),
        "process-media",
        &serde_json::json!({}),
        Some("metrics-test"),
    )
    .await
    .unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    // No worker role: the queued job stays queued while we look at it.
    cmd.args(["--roles", "web,upload"]);
    let mut server = Server::start(cmd).await;
    let metrics = metrics_url(&mut server);
    for _ in 0..3 {
        reqwest::get(format!("{}/lang/vi", server.url))
            .await
            .unwrap();
    }
    reqwest::get(format!("{}/no/such/page/123", server.url))
        .await
        .unwrap();

    // A vote without a voter is refused, and counted as such.
    let client = reqwest::Client::new();
    let vote = client
        .post(format!(
            "{}/api/v1/entries/{}/votes",
            server.url,
            uuid::Uuid::new_v4()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(vote.status(), 401);

    // The first half of a small photo, sent with the creation request (creation-with-upload).
    let (member, token) = env.user(hoithi_core::domain::Role::Member).await;
    let contest = env.open_contest(&["photo"]).await;
    let entry = env.draft_entry(contest, member).await;
    let mut photo = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    photo.resize(1000, 7);
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let created = client
        .post(format!("{}/api/v1/uploads", server.url))
        .bearer_auth(&token)
        .header("Tus-Resumable", "1.0.0")
        // Half of the file: the upload stays open, so no new job joins the queue.
        .header("Upload-Length", "2000")
        .header(
            "Upload-Metadata",
            format!(
                "entry_id {},filename {},filetype {}",
                b64(&entry.to_string()),
                b64("a.jpg"),
                b64("image/jpeg")
            ),
        )
        .header("Content-Type", "application/offset+octet-stream")
        .body(photo)
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{:?}", created.text().await);

    let res = reqwest::get(&metrics).await.unwrap();
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(
        text.contains(
            r#"hoithi_http_requests_total{method="GET",route="/lang/{code}",status="303"} 3"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"route="unmatched",status="404""#),
        "unmatched paths share one label: {text}"
    );
    assert!(
        !text.contains("/no/such/page"),
        "raw paths never become labels"
    );
    assert!(
        text.contains(r#"hoithi_jobs_queued{kind="process-media"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"hoithi_votes_total{outcome="rejected"} 1"#),
        "{text}"
    );
    assert!(text.contains("hoithi_upload_bytes_total 1000"), "{text}");
    assert!(text.contains("hoithi_uploads_active 0"), "{text}");
    assert!(server.stop().success());
}
