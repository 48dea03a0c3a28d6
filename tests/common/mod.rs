//! Helpers for end-to-end tests: start the real `hoithi` binary, read the URL it prints,
//! poll its readiness (never sleep for a fixed time), and stop it.

#![allow(
    dead_code,
    reason = "each test file uses a different part of the helpers"
)]

pub mod browser;
pub mod fixtures;
pub mod media;
pub mod playwright;
pub mod voting;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use hoithi_core::testing::TestEnv;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub const BIN: &str = env!("CARGO_BIN_EXE_hoithi");

/// A `hoithi` command with a clean environment: nothing of the developer's own settings leaks in.
pub fn hoithi(data: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    for (key, _) in std::env::vars() {
        if key.starts_with("HOITHI_") || key.starts_with("S3_") || key == "DATABASE_URL" {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOITHI_DATA", data)
        .env("HOITHI_LISTEN", "127.0.0.1:0")
        // Tests run side by side: each server's operators' listener takes a free port too.
        .env("HOITHI_METRICS_LISTEN", "127.0.0.1:0")
        .env(
            "RUST_LOG",
            std::env::var("TEST_HOITHI_LOG").unwrap_or_else(|_| "warn".into()),
        );
    cmd
}

/// Settings that point hoithi at the harness's PostgreSQL database and S3 bucket.
pub fn configured(cmd: &mut Command, env: &TestEnv) {
    cmd.env("DATABASE_URL", &env.database_url)
        .env("S3_ENDPOINT", &env.s3.endpoint)
        .env("S3_BUCKET", &env.s3.bucket)
        .env("S3_ACCESS_KEY_ID", &env.s3.access_key_id)
        .env("S3_SECRET_ACCESS_KEY", &env.s3.secret_access_key)
        .env("S3_REGION", &env.s3.region);
}

/// Starts `hoithi serve` with `roles` (like "upload" or "web,upload") on the TestEnv's
/// database and bucket, with `data` as its data folder.
pub async fn serve_roles(env: &TestEnv, data: &Path, roles: &str) -> Server {
    let mut cmd = hoithi(data);
    configured(&mut cmd, env);
    cmd.env("HOITHI_ROLES", roles);
    Server::start(cmd).await
}

/// The email address of a user made by `TestEnv::user` (its password is `mật-khẩu-thử`).
pub async fn email_of(env: &TestEnv, user_id: i64) -> String {
    sqlx::query_scalar("select email from app_user where app_user_id = $1")
        .bind(user_id)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

pub struct Server {
    pub child: Child,
    pub url: String,
    /// Lines the server printed on stdout, in order.
    pub stdout: mpsc::Receiver<String>,
    pub printed: Vec<String>,
}

impl Server {
    /// Starts `cmd serve` and waits until it prints its URL and `/readyz` answers 200.
    pub async fn start(cmd: Command) -> Self {
        Self::start_with_stderr(cmd, Stdio::inherit()).await
    }

    /// Like `start`, with the server's log (stderr) sent to `stderr`.
    pub async fn start_with_stderr(cmd: Command, stderr: Stdio) -> Self {
        Self::start_subcommand(cmd, &["serve"], stderr).await
    }

    /// Starts `cmd` with `subcommand` (e.g. `["worker"]`) put before the caller's arguments,
    /// and waits for its URL and `/readyz`.
    pub async fn start_subcommand(cmd: Command, subcommand: &[&str], stderr: Stdio) -> Self {
        let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
        let mut fresh = Command::new(cmd.get_program());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(v) => fresh.env(key, v),
                None => fresh.env_remove(key),
            };
        }
        // The caller's working folder too: a start from a clone runs with its `./data`.
        if let Some(dir) = cmd.get_current_dir() {
            fresh.current_dir(dir);
        }
        let mut cmd = fresh;
        cmd.args(subcommand)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = cmd.spawn().expect("start hoithi");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut printed = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(120);
        let url = loop {
            match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(line) => {
                    let url = line
                        .split_once("listening on ")
                        .map(|(_, u)| u.trim().to_owned());
                    printed.push(line);
                    if let Some(url) = url {
                        break url;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    panic!(
                        "hoithi exited before printing its URL: {:?}; printed {printed:?}",
                        child.wait()
                    )
                }
            }
            assert!(
                Instant::now() < deadline,
                "hoithi printed no URL within 120 s: {printed:?}"
            );
        };
        let server = Self {
            child,
            url,
            stdout: rx,
            printed,
        };
        server.wait_ready().await;
        server
    }

    pub async fn wait_ready(&self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(res) = client.get(format!("{}/readyz", self.url)).send().await
                && res.status() == 200
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}/readyz was not 200 within 60 s",
                self.url
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }

    /// SIGTERM, then waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let _ = kill(self.pid(), Signal::SIGTERM);
        wait_with_timeout(&mut self.child, Duration::from_secs(60))
    }

    /// SIGKILL: no chance to clean up.
    pub fn kill(mut self) {
        let _ = kill(self.pid(), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `hoithi serve-s3` on a free port over `data`, and an aws-sdk-s3 client for it.
pub fn serve_s3(data: &Path, extra_env: &[(&str, &str)]) -> (Child, hoithi_core::storage::Storage) {
    let mut cmd = hoithi(data);
    cmd.args(["serve-s3", "--listen", "127.0.0.1:0"])
        .envs(extra_env.iter().copied())
        .stdout(Stdio::piped());
    let mut child = cmd.spawn().expect("start hoithi serve-s3");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let line = lines.next().expect("a line").expect("read the line");
    let endpoint = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("the endpoint")
        .to_owned();
    let creds: serde_json::Value = serde_json::from_slice(
        &std::fs::read(data.join("s3-credentials.json")).expect("the credentials file"),
    )
    .expect("credentials JSON");
    let storage = hoithi_core::storage::Storage::new(&hoithi_core::config::S3Settings {
        endpoint,
        bucket: "hoithi".into(),
        access_key_id: creds["access_key_id"].as_str().expect("key").into(),
        secret_access_key: creds["secret_access_key"].as_str().expect("secret").into(),
        region: "us-east-1".into(),
    });
    (child, storage)
}

pub fn wait_with_timeout(child: &mut Child, timeout: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("wait for hoithi") {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "hoithi did not exit within {timeout:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs a command to its end with a time limit; returns (status, stdout, stderr).
pub fn run(
    mut cmd: Command,
    timeout: Duration,
) -> (std::process::ExitStatus, String, String, Duration) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start hoithi");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut out, &mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut err, &mut s);
        s
    });
    let status = wait_with_timeout(&mut child, timeout);
    let elapsed = started.elapsed();
    (
        status,
        out_reader.join().expect("stdout reader"),
        err_reader.join().expect("stderr reader"),
        elapsed,
    )
}

/// The `http://…/metrics` URL of the operators' listener, as the server printed it right
/// after its public URL.
pub fn metrics_url(server: &mut Server) -> String {
    const SAID: &str = "Metrics for Prometheus: ";
    if let Some(url) = server.printed.iter().find_map(|l| l.split_once(SAID)) {
        return url.1.split_whitespace().next().unwrap_or("").to_owned();
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = server
            .stdout
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| panic!("no metrics URL printed ({e}): {:?}", server.printed));
        server.printed.push(line.clone());
        if let Some((_, url)) = line.split_once(SAID) {
            return url.split_whitespace().next().unwrap_or("").to_owned();
        }
    }
}

/// A moment `minutes` from now (negative: ago) as the API takes it (RFC 3339).
pub fn in_minutes(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// Moves a contest as an organizer would, through `PATCH /api/v1/contests/{slug}` (the web
/// app's own router, in process, so a test needs no server for it), as an admin (who
/// organizes every contest): `patch` holds the API's fields (phases, limits, settings; times
/// RFC 3339). Tests change phases and settings this way, never with SQL, so they only do what
/// an organizer can (docs/organizers.md: nothing moves into the past — close a phase "now"
/// instead). Panics with the answer when refused; returns the contest as the API shows it.
pub async fn organize(
    env: &TestEnv,
    contest_id: i64,
    patch: serde_json::Value,
) -> serde_json::Value {
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let slug: String = sqlx::query_scalar("select slug from contest where contest_id = $1")
        .bind(contest_id)
        .fetch_one(&env.db)
        .await
        .expect("the contest exists");
    let token = admin_token(env).await;
    let req = axum::http::Request::patch(format!("/api/v1/contests/{slug}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(patch.to_string()))
        .expect("a request");
    let res = hoithi_web::app(env.state())
        .oneshot(req)
        .await
        .expect("the router answers");
    let status = res.status();
    let body = res.into_body().collect().await.expect("a body").to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).expect("a JSON answer");
    assert!(
        status.is_success(),
        "the organizer's change {patch} was refused: {status} {body}"
    );
    body
}

/// Closes a contest's submission now, as the organizer's "Đóng ngay" does.
pub async fn close_submission_now(env: &TestEnv, contest_id: i64) {
    let close = serde_json::json!({"phases": {"submission": {"closes_at": in_minutes(0)}}});
    organize(env, contest_id, close).await;
}

/// A token of an admin: one already there, else a new one.
pub async fn admin_token(env: &TestEnv) -> String {
    let admin: Option<i64> = sqlx::query_scalar(
        "select app_user_id from app_user where role = 'admin' order by app_user_id limit 1",
    )
    .fetch_optional(&env.db)
    .await
    .unwrap();
    match admin {
        Some(id) => hoithi_core::auth::issue_token(&env.db, id).await.unwrap(),
        None => env.user(hoithi_core::domain::Role::Admin).await.1,
    }
}
