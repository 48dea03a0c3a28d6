#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Several stateless nodes on one machine: one PostgreSQL database, one standalone S3 endpoint
//! (`hoithi serve-s3`), two `hoithi serve --roles web,upload` and two `hoithi worker`
//! processes. Uploads resume on the other node, jobs run exactly once across workers (and a
//! SIGKILLed worker's job is finished by the other), votes reach SSE clients of the other node,
//! sessions work on every node, and stopping a node under load loses nothing acknowledged.

mod common;
mod upload_common;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::browser::{Browser, csrf_field};
use common::media::{clip, hex, job_row, photo, upload, wait_asset};
use common::voting::{contest_in_voting, field, next_block, vote, voters};
use common::{Server, configured, hoithi};
use futures_util::StreamExt;
use hoithi_core::config::S3Settings;
use hoithi_core::domain::Role;
use hoithi_core::storage::Storage;
use hoithi_core::testing::TestEnv;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use upload_common::{MIB, Tus, read_object, video_bytes};
use uuid::Uuid;

/// The tests share two cores with everything else: one cluster at a time keeps the 2 s
/// live-update bound meaningful.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The shared services of a cluster. `env` is the harness's PostgreSQL database with its
/// storage settings replaced by those of the standalone S3 process.
struct Cluster {
    env: TestEnv,
    s3: Child,
    dir: tempfile::TempDir,
}

impl Cluster {
    async fn new() -> Self {
        let mut env = TestEnv::new().await;
        let dir = tempfile::tempdir().unwrap();
        let s3_data = dir.path().join("s3");
        let mut cmd = hoithi(&s3_data);
        cmd.args(["serve-s3", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped());
        let mut s3 = cmd.spawn().expect("start hoithi serve-s3");
        let mut lines = BufReader::new(s3.stdout.take().unwrap()).lines();
        let line = lines.next().expect("serve-s3 prints its endpoint").unwrap();
        let endpoint = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no endpoint in {line:?}"))
            .to_owned();
        let creds: serde_json::Value =
            serde_json::from_slice(&std::fs::read(s3_data.join("s3-credentials.json")).unwrap())
                .unwrap();
        env.s3 = S3Settings {
            endpoint,
            bucket: "hoithi".into(),
            access_key_id: creds["access_key_id"].as_str().unwrap().into(),
            secret_access_key: creds["secret_access_key"].as_str().unwrap().into(),
            region: "us-east-1".into(),
        };
        env.storage = Storage::new(&env.s3);
        Self { env, s3, dir }
    }

    /// A hoithi command pointed at the shared database and S3, with short leases so a killed
    /// process's work is taken over within seconds.
    fn cmd(&self, name: &str) -> Command {
        let mut cmd = hoithi(&self.dir.path().join(name));
        configured(&mut cmd, &self.env);
        // All load comes from 127.0.0.1: address limits and proof of work have their own tests.
        cmd.env("HOITHI_VOTE_NETWORK_RATE", "0")
            .env("HOITHI_VOTE_IP_RATE", "0")
            .env("HOITHI_VOTE_CHALLENGE_VOTER_RATE", "0")
            .env("HOITHI_LIVE_KEEPALIVE_S", "1")
            .env("HOITHI_WORKER_LEASE_SECONDS", "2")
            .env("HOITHI_WORKER_CONCURRENCY", "1")
            .env("HOITHI_UPLOAD_LEASE_SECONDS", "3");
        cmd
    }

    async fn node(&self, name: &str) -> Server {
        let mut cmd = self.cmd(name);
        cmd.args(["--roles", "web,upload"]);
        Server::start(cmd).await
    }

    async fn worker(&self, name: &str) -> Server {
        Server::start_subcommand(self.cmd(name), &["worker"], Stdio::inherit()).await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.s3.id() as i32), Signal::SIGTERM);
        let _ = common::wait_with_timeout(&mut self.s3, Duration::from_secs(30));
    }
}

/// The pid in a worker id `host:pid:random`.
fn owner_pid(leased_by: Option<&str>) -> i32 {
    leased_by
        .and_then(|w| w.split(':').nth(1))
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("not a worker id: {leased_by:?}"))
}

#[tokio::test]
async fn twenty_jobs_run_once_across_two_workers_and_a_killed_workers_job_is_finished_by_the_other()
{
    let _serial = ONE_AT_A_TIME.lock().await;
    let c = Cluster::new().await;
    let (author, _) = c.env.user(Role::Member).await;
    let contest = c.env.open_contest(&["video", "photo"]).await;
    let small = clip(c.dir.path(), "320x240", 1);
    let picture = photo();
    let mut workers = vec![c.worker("w1").await, c.worker("w2").await];

    let mut jobs = Vec::new();
    for n in 0..20 {
        let (kind, bytes) = if n % 4 == 0 {
            ("video", small.clone())
        } else {
            ("photo", picture.clone())
        };
        jobs.push(upload(&c.env, contest, author, kind, bytes).await);
    }
    let mut by_worker: HashMap<i32, usize> = HashMap::new();
    for (_, asset, job) in &jobs {
        let row = wait_asset(&c.env, *asset, Duration::from_secs(240)).await;
        assert_eq!(row.status, "ready", "{:?}", row.error);
        let (status, attempts, error, owner) = job_row(&c.env, *job).await;
        assert_eq!(
            (status.as_str(), attempts, error),
            ("done", 1, None),
            "job {job} ran more than once"
        );
        *by_worker.entry(owner_pid(owner.as_deref())).or_default() += 1;
    }
    let pids: HashSet<i32> = workers.iter().map(|w| w.pid().as_raw()).collect();
    assert_eq!(
        by_worker.keys().copied().collect::<HashSet<_>>(),
        pids,
        "both workers took jobs: {by_worker:?}"
    );
    assert_eq!(by_worker.values().sum::<usize>(), 20);

    // A longer video: whichever worker leases it is killed once it reports progress.
    let (_, asset, job) = upload(
        &c.env,
        contest,
        author,
        "video",
        clip(c.dir.path(), "1280x720", 6),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let first_owner = loop {
        let progress: i16 =
            sqlx::query_scalar("select progress from media_asset where media_asset_id = $1")
                .bind(asset)
                .fetch_one(&c.env.db)
                .await
                .unwrap();
        let (status, _, _, owner) = job_row(&c.env, job).await;
        if progress > 0 && status == "running" {
            break owner_pid(owner.as_deref());
        }
        assert!(Instant::now() < deadline, "no worker reported progress");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let victim = workers
        .iter()
        .position(|w| w.pid().as_raw() == first_owner)
        .expect("the owner is one of the two workers");
    workers.remove(victim).kill();
    let survivor = workers.pop().unwrap();

    let row = wait_asset(&c.env, asset, Duration::from_secs(240)).await;
    assert_eq!(row.status, "ready", "{:?}", row.error);
    let (status, attempts, _, owner) = job_row(&c.env, job).await;
    assert_eq!((status.as_str(), attempts), ("done", 2));
    assert_eq!(owner_pid(owner.as_deref()), survivor.pid().as_raw());
    assert!(survivor.stop().success());
}

#[tokio::test]
async fn uploads_sessions_and_live_votes_cross_nodes() {
    let _serial = ONE_AT_A_TIME.lock().await;
    let c = Cluster::new().await;
    let a = c.node("a").await;
    let b = c.node("b").await;
    let workers = [c.worker("w1").await, c.worker("w2").await];

    // An upload started on node A resumes and completes on node B; a worker processes it.
    let (author, token) = c.env.user(Role::Member).await;
    let contest = c.env.open_contest(&["video"]).await;
    let entry = c.env.draft_entry(contest, author).await;
    let video = clip(c.dir.path(), "640x360", 2);
    let half = video.len() / 2;
    let on_a = Tus::new(&a.url, &token);
    let on_b = Tus::new(&b.url, &token);
    let location = on_a.created(entry, video.len(), "video/mp4").await;
    let res = on_a.patch(&location, 0, video[..half].to_vec()).await;
    assert_eq!(res.status(), 204);
    assert_eq!(on_b.offset(&location).await, half, "node B sees A's bytes");
    let res = on_b.patch(&location, half, video[half..].to_vec()).await;
    assert_eq!(res.status(), 204, "{:?}", res.text().await);
    assert_eq!(on_a.offset(&location).await, video.len());
    let (asset, sha): (Uuid, String) = sqlx::query_as(
        "select media_asset_id, original_sha256 from media_asset where entry_id = $1",
    )
    .bind(entry)
    .fetch_one(&c.env.db)
    .await
    .unwrap();
    assert_eq!(sha, hex(&Sha256::digest(&video)));
    let row = wait_asset(&c.env, asset, Duration::from_secs(240)).await;
    assert_eq!(row.status, "ready", "{:?}", row.error);

    // A session started on node A (the login form with its CSRF token) is valid on node B,
    // and a form signed with A's CSRF cookie is accepted by B.
    let email = common::email_of(&c.env, author).await;
    let mut browser = Browser::new();
    let (status, html) = browser.get(&format!("{}/me/entries", b.url)).await;
    assert_eq!(status, 303, "signed out: sent to the login page ({html})");
    let (status, html) = browser.get(&format!("{}/login", a.url)).await;
    assert_eq!(status, 200);
    let csrf = csrf_field(&html);
    let (status, _) = browser
        .post(
            &format!("{}/login", a.url),
            &[
                ("_csrf", &csrf),
                ("email", &email),
                ("password", "mật-khẩu-thử"),
                ("next", "/me/entries"),
            ],
        )
        .await;
    assert_eq!(status, 303);
    assert!(
        browser.cookies.contains_key("hoithi"),
        "{:?}",
        browser.cookies
    );
    let (status, html) = browser.get(&format!("{}/me/entries", b.url)).await;
    assert_eq!(status, 200, "node B knows A's session");
    assert!(html.contains("Bài dự thi"), "{html}");
    let (status, _) = browser
        .post(&format!("{}/logout", b.url), &[("_csrf", &csrf)])
        .await;
    assert_eq!(status, 303, "B verifies the CSRF token A issued");
    browser.cookies.insert("hoithi".into(), "gone".into());
    let (status, _) = browser.get(&format!("{}/me/entries", a.url)).await;
    assert_eq!(status, 303);

    // A vote cast on node A reaches an SSE client of node B within 2 s.
    let voting = contest_in_voting(&c.env, 2).await;
    let client = reqwest::Client::new();
    let mut events = client
        .get(format!("{}/api/v1/contests/{}/events", b.url, voting.slug))
        .send()
        .await
        .unwrap();
    assert_eq!(events.status(), 200);
    let mut buf = String::new();
    let first = next_block(&mut events, &mut buf, Duration::from_secs(5))
        .await
        .expect("a first snapshot");
    assert_eq!(field(&first, "event"), Some("tally"), "{first}");
    let cast = Instant::now();
    let res = vote(&client, &a.url, voting.entries[1], &token)
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    loop {
        let block = next_block(&mut events, &mut buf, Duration::from_secs(2))
            .await
            .expect("a tally event within 2 s");
        if field(&block, "event") != Some("tally") {
            continue;
        }
        let data: serde_json::Value = serde_json::from_str(field(&block, "data").unwrap()).unwrap();
        let total: i64 = data["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["votes"].as_i64().unwrap())
            .sum();
        if total == 1 {
            break;
        }
    }
    let elapsed = cast.elapsed();
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
    drop(events);

    for server in workers.into_iter().chain([a, b]) {
        assert!(server.stop().success());
    }
}

const UPLOADS: usize = 4;
const UPLOAD_LEN: usize = 16 * MIB;
const CHUNK: usize = MIB;

/// Votes and uploads go to node `victim` until enough is acknowledged, then it gets `signal`;
/// every acknowledged vote must be stored and every acknowledged upload byte must be
/// reachable on the other node, where the uploads complete intact.
async fn stop_a_node_under_load(signal: Signal) {
    let c = Cluster::new().await;
    let victim = c.node("a").await;
    let survivor = c.node("b").await;
    let voting = contest_in_voting(&c.env, 2).await;
    let voters = voters(&c.env, 400).await;
    let (uploader, token) = c.env.user(Role::Member).await;
    let contest = c.env.open_contest(&["video"]).await;
    let on_victim = Arc::new(Tus::new(&victim.url, &token));
    let mut uploads = Vec::new();
    for n in 0..UPLOADS {
        let entry = c.env.draft_entry(contest, uploader).await;
        let data = Arc::new(video_bytes(UPLOAD_LEN, n as u32 + 1));
        let location = on_victim.created(entry, UPLOAD_LEN, "video/mp4").await;
        uploads.push((entry, location, data));
    }

    let acked_bytes: Arc<Vec<AtomicUsize>> =
        Arc::new((0..UPLOADS).map(|_| AtomicUsize::new(0)).collect());
    let mut tasks = Vec::new();
    for (n, (_, location, data)) in uploads.iter().enumerate() {
        let (tus, location, data, acked) = (
            on_victim.clone(),
            location.clone(),
            data.clone(),
            acked_bytes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut offset = 0;
            while offset < UPLOAD_LEN {
                let end = (offset + CHUNK).min(UPLOAD_LEN);
                // A phone's pace: each PATCH trickles in, so the stop comes in the middle of one.
                let pieces: Vec<Vec<u8>> = data[offset..end]
                    .chunks(64 * 1024)
                    .map(<[u8]>::to_vec)
                    .collect();
                let slow = futures_util::stream::iter(pieces).then(|piece| async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok::<_, std::io::Error>(piece)
                });
                let body = reqwest::Body::wrap_stream(slow);
                let Ok(res) = tus.try_patch_body(&location, offset, body).await else {
                    return;
                };
                if res.status() != 204 {
                    return;
                }
                offset = res.headers()["upload-offset"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                acked[n].store(offset, Ordering::SeqCst);
            }
        }));
    }
    let acked_votes = Arc::new(std::sync::Mutex::new(Vec::<(i64, Uuid)>::new()));
    let pairs: Vec<(i64, String, Uuid)> = voters
        .iter()
        .flat_map(|(voter, token)| {
            voting
                .entries
                .iter()
                .map(move |e| (*voter, token.clone(), *e))
        })
        .collect();
    let http = reqwest::Client::new();
    for share in pairs.chunks(pairs.len() / 8) {
        let (share, http, url, acked) = (
            share.to_vec(),
            http.clone(),
            victim.url.clone(),
            acked_votes.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for (voter, token, entry) in share {
                let Ok(res) = vote(&http, &url, entry, &token).await else {
                    return;
                };
                if res.status() == 201 {
                    acked.lock().unwrap().push((voter, entry));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }));
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let votes = acked_votes.lock().unwrap().len();
        let least = acked_bytes
            .iter()
            .map(|a| a.load(Ordering::SeqCst))
            .min()
            .unwrap();
        if votes >= 100 && least >= 6 * MIB {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "load did not get going: {votes} votes, {least} bytes"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    match signal {
        Signal::SIGKILL => victim.kill(),
        _ => {
            let _ = kill(victim.pid(), signal);
            let mut victim = victim;
            let status = common::wait_with_timeout(&mut victim.child, Duration::from_secs(60));
            assert!(status.success(), "{signal}: {status:?}");
        }
    }
    for t in tasks {
        t.await.unwrap();
    }

    // No acknowledged vote lost.
    let acked = acked_votes.lock().unwrap().clone();
    assert!(
        acked.len() >= 100 && acked.len() < pairs.len(),
        "{}",
        acked.len()
    );
    let stored: Vec<(i64, Uuid)> =
        sqlx::query_as("select voter_id, entry_id from vote where contest_id = $1")
            .bind(voting.id)
            .fetch_all(&c.env.db)
            .await
            .unwrap();
    let stored: HashSet<_> = stored.into_iter().collect();
    let lost: Vec<_> = acked.iter().filter(|v| !stored.contains(v)).collect();
    assert!(lost.is_empty(), "{signal}: acknowledged but lost: {lost:?}");

    // No acknowledged byte lost: node B has at least that much and the uploads finish there.
    let on_survivor = Tus::new(&survivor.url, &token);
    for (n, (entry, location, data)) in uploads.iter().enumerate() {
        let acked = acked_bytes[n].load(Ordering::SeqCst);
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut offset = on_survivor.offset(location).await;
        assert!(
            offset >= acked,
            "{signal}: upload {n} acknowledged {acked} bytes, node B has {offset}"
        );
        eprintln!(
            "{signal}: {} votes acknowledged; upload {n}: {acked} bytes acknowledged, {offset} on node B",
            acked_votes.lock().unwrap().len()
        );
        while offset < UPLOAD_LEN {
            let end = (offset + CHUNK).min(UPLOAD_LEN);
            let res = on_survivor
                .patch(location, offset, data[offset..end].to_vec())
                .await;
            match res.status().as_u16() {
                204 => {
                    offset = res.headers()["upload-offset"]
                        .to_str()
                        .unwrap()
                        .parse()
                        .unwrap();
                }
                // The stopped node's lease on an interrupted PATCH runs out first.
                423 if Instant::now() < deadline => {
                    eprintln!("{signal}: upload {n}: 423 while the stopped node's lease runs out");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    offset = on_survivor.offset(location).await;
                }
                other => panic!("{signal}: upload {n}: {other} {:?}", res.text().await),
            }
        }
        let (key, sha): (String, String) = sqlx::query_as(
            "select original_key, original_sha256 from media_asset where entry_id = $1",
        )
        .bind(entry)
        .fetch_one(&c.env.db)
        .await
        .unwrap();
        let expected = hex(&Sha256::digest(data.as_slice()));
        assert_eq!(sha, expected, "{signal}: upload {n}");
        assert_eq!(
            hex(&Sha256::digest(read_object(&c.env, &key).await)),
            expected,
            "{signal}: upload {n}: the stored object"
        );
    }
    assert!(survivor.stop().success());
}

#[tokio::test]
async fn sigterm_to_a_node_under_vote_and_upload_load_loses_nothing_acknowledged() {
    let _serial = ONE_AT_A_TIME.lock().await;
    stop_a_node_under_load(Signal::SIGTERM).await;
}

#[tokio::test]
async fn sigkill_to_a_node_under_vote_and_upload_load_loses_nothing_acknowledged() {
    let _serial = ONE_AT_A_TIME.lock().await;
    stop_a_node_under_load(Signal::SIGKILL).await;
}
