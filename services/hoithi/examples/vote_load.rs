//! Vote benchmark against the real `hoithi serve` at a fixed offered rate, wrk2-style: every
//! request has a due time (`start + i/rate`), each of `--connections` keep-alive connections
//! sends its share of the schedule, and latency counts from the due time, so a server that
//! falls behind is charged for the wait. First with the batcher, then with one statement per vote (the baseline),
//! each on a fresh contest, then a recount of the stored votes against the 201s.
//!
//! cargo build --release -p hoithi --bin hoithi --example vote_load
//! target/release/examples/vote_load --bin target/release/hoithi --rate 10000 --seconds 60

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use hoithi_core::embedded::postgres::EmbeddedPostgres;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::rt::TokioIo;
use sqlx::PgPool;
use uuid::Uuid;

struct Args {
    bin: String,
    rate: u64,
    seconds: u64,
    baseline_rate: u64,
    entries: u64,
    connections: u64,
    warmup: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        bin: "target/release/hoithi".into(),
        rate: 10_000,
        seconds: 60,
        baseline_rate: 0,
        entries: 200,
        connections: 256,
        warmup: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().with_context(|| format!("{k} needs a value"))?;
        match k.as_str() {
            "--bin" => a.bin = v,
            "--rate" => a.rate = v.parse()?,
            "--seconds" => a.seconds = v.parse()?,
            "--baseline-rate" => a.baseline_rate = v.parse()?,
            "--entries" => a.entries = v.parse()?,
            "--connections" => a.connections = v.parse()?,
            "--warmup-seconds" => a.warmup = v.parse()?,
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    if a.baseline_rate == 0 {
        a.baseline_rate = a.rate;
    }
    Ok(a)
}

struct Fixture {
    contest_id: i64,
    entries: Vec<Uuid>,
    /// Entries of a second contest that the warm-up votes for (not counted).
    warm_entries: Vec<Uuid>,
    tokens: Vec<String>,
}

/// A contest in voting with `entries` approved entries and enough verified voters with tokens
/// for `votes` distinct (voter, entry) pairs, and a second contest with enough entries for
/// `warm_votes` more.
async fn fixture(
    db: &PgPool,
    entries: u64,
    votes: u64,
    warm_votes: u64,
) -> anyhow::Result<Fixture> {
    let tag = Uuid::new_v4().simple().to_string()[..10].to_owned();
    let author: i64 = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, email_verified_at)
         values ('author-' || $1 || '@bench.vn', 'Tác giả', 'x', now()) returning app_user_id",
    )
    .bind(&tag)
    .fetch_one(db)
    .await?;
    let contest = |n: u64, suffix: &'static str| {
        let tag = tag.clone();
        async move {
            let contest_id: i64 = sqlx::query_scalar(
                "insert into contest (slug, title, submission_opens_at, submission_closes_at, voting_opens_at, voting_closes_at)
                 values ('bench-' || $1 || $2, 'Benchmark', now() - interval '2 days', now() - interval '1 day',
                         now() - interval '1 hour', now() + interval '1 day')
                 returning contest_id",
            )
            .bind(&tag)
            .bind(suffix)
            .fetch_one(db)
            .await?;
            let entries: Vec<Uuid> = sqlx::query_scalar(
                "insert into entry (contest_id, author_id, title, status)
                 select $1, $2, 'Bài ' || g, 'approved' from generate_series(1, $3) g returning entry_id",
            )
            .bind(contest_id)
            .bind(author)
            .bind(n as i32)
            .fetch_all(db)
            .await?;
            anyhow::Ok((contest_id, entries))
        }
    };
    let (contest_id, entries) = contest(entries, "").await?;
    let voters = votes.div_ceil(entries.len() as u64);
    let (_, warm_entries) = contest(warm_votes.div_ceil(voters) + 1, "-warm").await?;
    let ids: Vec<i64> = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, email_verified_at)
         select 'v' || g || '-' || $1 || '@bench.vn', 'Cử tri', 'x', now() from generate_series(1, $2) g
         returning app_user_id",
    )
    .bind(&tag)
    .bind(voters as i64)
    .fetch_all(db)
    .await?;
    let tokens: Vec<String> = ids
        .iter()
        .map(|_| format!("{:032x}", rand::random::<u128>()))
        .collect();
    let hashes: Vec<Vec<u8>> = tokens
        .iter()
        .map(|t| <sha2::Sha256 as sha2::Digest>::digest(t.as_bytes()).to_vec())
        .collect();
    sqlx::query(
        "insert into api_token (token_hash, app_user_id, expires_at)
         select h, u, now() + interval '1 day' from unnest($1::bytea[], $2::int8[]) as t(h, u)",
    )
    .bind(&hashes)
    .bind(&ids)
    .execute(db)
    .await?;
    Ok(Fixture {
        contest_id,
        entries,
        warm_entries,
        tokens,
    })
}

fn start_server(
    bin: &str,
    data: &std::path::Path,
    db_url: &str,
    ingest: &str,
) -> anyhow::Result<(Child, String, String)> {
    let mut child = Command::new(bin)
        .args(["serve", "--roles", "web"])
        .env("HOITHI_DATA", data)
        .env("HOITHI_LISTEN", "127.0.0.1:0")
        .env("HOITHI_METRICS_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", db_url)
        // The default log filter, as an operator runs it, unless `VOTE_LOAD_SERVER_LOG` gives
        // one for a diagnosis (e.g. `info,hoithi_web::voting::batcher=debug`).
        .env_remove("RUST_LOG")
        .envs(std::env::var("VOTE_LOAD_SERVER_LOG").map(|f| ("RUST_LOG", f)))
        .env("HOITHI_VOTE_INGEST", ingest)
        // One client address and a few thousand voters voting fast: the limits would measure
        // themselves, not the ingest.
        .env("HOITHI_VOTE_VOTER_RATE", "0")
        .env("HOITHI_VOTE_NETWORK_RATE", "0")
        .env("HOITHI_VOTE_IP_RATE", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let out = child.stdout.take().context("stdout")?;
    let mut lines = BufReader::new(out).lines();
    let url = loop {
        let line = lines.next().context("the server exited")??;
        if let Some((_, u)) = line.split_once("listening on ") {
            break u.trim().to_owned();
        }
    };
    // `/metrics` is on the operators' listener, printed on the next line.
    let metrics = loop {
        let line = lines.next().context("the server exited")??;
        if let Some((_, u)) = line.split_once("Metrics for Prometheus: ") {
            break u.split_whitespace().next().unwrap_or("").to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Ok((child, url, metrics))
}

#[derive(Default)]
struct Outcome {
    created: u64,
    conflict: u64,
    overloaded: u64,
    other: u64,
    failed: u64,
    skipped: u64,
    latencies_us: Vec<u64>,
    /// (ms of the schedule, latency µs) of every answer, for the timeline.
    by_ms: Vec<(u32, u64)>,
    /// How late (µs) the client itself sent requests whose connection was free at their due
    /// time: timer and scheduling delay on this machine, charged to the latency above but
    /// not the server's doing.
    client_late_us: Vec<u64>,
    elapsed: Duration,
}

impl Outcome {
    fn add(&mut self, o: Outcome) {
        self.created += o.created;
        self.conflict += o.conflict;
        self.overloaded += o.overloaded;
        self.other += o.other;
        self.failed += o.failed;
        self.skipped += o.skipped;
        self.latencies_us.extend(o.latencies_us);
        self.by_ms.extend(o.by_ms);
        self.client_late_us.extend(o.client_late_us);
    }
}

/// What every connection shares: the schedule and the requests' parts, made once.
struct Plan {
    addr: std::net::SocketAddr,
    host: HeaderValue,
    paths: Vec<Uri>,
    warm_paths: Vec<Uri>,
    tokens: Vec<HeaderValue>,
    rate: u64,
    /// Requests `0..warm` warm the server up (connections, caches, plans) and are not measured.
    warm: u64,
    total: u64,
    connections: u64,
    start: tokio::time::Instant,
    /// Requests still unsent at this moment are counted as not sent.
    give_up: tokio::time::Instant,
}

impl Plan {
    fn due(&self, i: u64) -> tokio::time::Instant {
        self.start + Duration::from_nanos(i * 1_000_000_000 / self.rate)
    }
}

/// wrk2-style: request `i` is due at `start + i/rate` and goes out on connection
/// `i % connections`. A connection whose previous answer is late sends late, and the
/// latency counts from the due time, so the server's queueing is measured (no coordinated
/// omission). One HTTP/1.1 keep-alive connection per task, reopened after an error.
async fn connection(plan: Arc<Plan>, first: u64) -> (Outcome, Outcome) {
    let mut warm = Outcome::default();
    let mut o = Outcome::default();
    let mut sender: Option<SendRequest<Empty<Bytes>>> = None;
    let voters = plan.tokens.len() as u64;
    let mut i = first;
    let mut free_since = tokio::time::Instant::now();
    while i < plan.total {
        let due = plan.due(i);
        tokio::time::sleep_until(due).await;
        let woke = tokio::time::Instant::now();
        if tokio::time::Instant::now() > plan.give_up {
            o.skipped += (plan.total - i.max(plan.warm)).div_ceil(plan.connections);
            break;
        }
        if sender.is_none() {
            sender = open(plan.addr).await;
        }
        // Voters take turns; each entry is "on stage" for `voters` consecutive votes.
        let measured = i >= plan.warm;
        let (j, paths) = if measured {
            (i - plan.warm, &plan.paths)
        } else {
            (i, &plan.warm_paths)
        };
        let voter = (j % voters) as usize;
        let path = &paths[((j / voters) as usize) % paths.len()];
        let status = match sender.as_mut() {
            None => 0,
            Some(s) => send(s, &plan, path, voter).await,
        };
        if status == 0 {
            sender = None;
        }
        let o = if measured { &mut o } else { &mut warm };
        match status {
            201 => o.created += 1,
            409 => o.conflict += 1,
            503 => o.overloaded += 1,
            0 => o.failed += 1,
            _ => o.other += 1,
        }
        let done = tokio::time::Instant::now();
        let latency = done.duration_since(due).as_micros() as u64;
        o.latencies_us.push(latency);
        if measured && free_since <= due {
            o.client_late_us
                .push(woke.duration_since(due).as_micros() as u64);
        }
        free_since = done;
        if measured {
            o.by_ms
                .push(((due - plan.due(plan.warm)).as_millis() as u32, latency));
        }
        i += plan.connections;
    }
    (warm, o)
}

async fn open(addr: std::net::SocketAddr) -> Option<SendRequest<Empty<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream.set_nodelay(true).ok()?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .ok()?;
    tokio::spawn(conn);
    Some(sender)
}

/// Sends one vote and reads the whole answer; 0 when the connection failed.
async fn send(s: &mut SendRequest<Empty<Bytes>>, plan: &Plan, path: &Uri, voter: usize) -> u16 {
    if s.ready().await.is_err() {
        return 0;
    }
    let mut req = Request::new(Empty::<Bytes>::new());
    *req.method_mut() = Method::POST;
    *req.uri_mut() = path.clone();
    req.headers_mut().insert(HOST, plan.host.clone());
    req.headers_mut()
        .insert(AUTHORIZATION, plan.tokens[voter].clone());
    match s.send_request(req).await {
        Ok(res) => {
            let status = res.status().as_u16();
            match res.into_body().collect().await {
                Ok(_) => status,
                Err(_) => 0,
            }
        }
        Err(_) => 0,
    }
}

/// Runs the warm-up and the measured schedule; returns (warm-up, measured).
async fn load(url: &str, fx: &Fixture, a: &Args, rate: u64) -> (Outcome, Outcome) {
    let connections = a.connections;
    let addr: std::net::SocketAddr = url
        .trim_start_matches("http://")
        .parse()
        .expect("the server prints http://ip:port");
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let plan = Arc::new(Plan {
        addr,
        host: HeaderValue::from_str(&addr.to_string()).expect("host"),
        paths: vote_paths(&fx.entries),
        warm_paths: vote_paths(&fx.warm_entries),
        tokens: fx
            .tokens
            .iter()
            .map(|t| HeaderValue::from_str(&format!("Bearer {t}")).expect("token"))
            .collect(),
        rate,
        warm: rate * a.warmup,
        total: rate * (a.warmup + a.seconds),
        connections,
        start,
        give_up: start + Duration::from_secs(a.warmup + a.seconds + 10),
    });
    let tasks: Vec<_> = (0..connections.min(plan.total))
        .map(|c| tokio::spawn(connection(plan.clone(), c)))
        .collect();
    let (mut warm, mut o) = (Outcome::default(), Outcome::default());
    for t in tasks {
        let (w, m) = t.await.expect("a connection task");
        warm.add(w);
        o.add(m);
    }
    o.elapsed = tokio::time::Instant::now().duration_since(plan.due(plan.warm));
    o.latencies_us.sort_unstable();
    o.client_late_us.sort_unstable();
    (warm, o)
}

fn vote_paths(entries: &[Uuid]) -> Vec<Uri> {
    entries
        .iter()
        .map(|e| format!("/api/v1/entries/{e}/votes").parse().expect("path"))
        .collect()
}

fn pct(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

async fn phase(
    a: &Args,
    pool: &PgPool,
    db_url: &str,
    data: &std::path::Path,
    ingest: &str,
    rate: u64,
) -> anyhow::Result<(String, String)> {
    let fx = fixture(pool, a.entries, rate * a.seconds, rate * a.warmup).await?;
    let (mut child, url, metrics) = start_server(&a.bin, data, db_url, ingest)?;
    let (warm, o) = load(&url, &fx, a, rate).await;
    let batches = batch_figures(&metrics).await.unwrap_or_default();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    let stored: i64 = sqlx::query_scalar("select count(*) from vote where contest_id = $1")
        .bind(fx.contest_id)
        .fetch_one(pool)
        .await?;
    let tally: i64 = sqlx::query_scalar(
        "select coalesce(sum(votes), 0)::int8 from vote_tally where contest_id = $1",
    )
    .bind(fx.contest_id)
    .fetch_one(pool)
    .await?;
    // `VOTE_LOAD_DUMP=dir`: every answer's due time (ms into the phase) and latency (µs).
    if let Ok(dir) = std::env::var("VOTE_LOAD_DUMP") {
        let lines: String = o.by_ms.iter().map(|(t, l)| format!("{t} {l}\n")).collect();
        std::fs::write(
            std::path::Path::new(&dir).join(format!("{ingest}.txt")),
            lines,
        )?;
    }
    let secs = o.elapsed.as_secs_f64();
    let notes = format!(
        "{ingest}: warm-up {} s: {} of {} answered 201 (not in the table)\n{ingest}: p99 ms by second of the schedule: {}\n{ingest}: the client's own send delay (requests whose connection was free when due, {:.0} %): p50 {:.1} ms, p99 {:.1} ms\n{ingest}: {batches}",
        a.warmup,
        warm.created,
        warm.created + warm.conflict + warm.overloaded + warm.other + warm.failed,
        timeline(&o.by_ms),
        100.0 * o.client_late_us.len() as f64 / o.latencies_us.len().max(1) as f64,
        pct(&o.client_late_us, 0.5),
        pct(&o.client_late_us, 0.99),
    );
    let row = format!(
        "| {ingest} | {rate} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} | {} | {stored} | {tally} | {} |",
        o.created,
        o.created as f64 / secs,
        pct(&o.latencies_us, 0.5),
        pct(&o.latencies_us, 0.99),
        pct(&o.latencies_us, 1.0),
        o.conflict,
        o.overloaded,
        o.other,
        o.failed,
        o.skipped,
        if stored == o.created as i64 && tally == stored {
            "yes"
        } else {
            "NO"
        },
    );
    Ok((row, notes))
}

/// The p99 latency (ms) of each second of the schedule, to tell a steady queue from a stall.
fn timeline(by_ms: &[(u32, u64)]) -> String {
    let seconds = by_ms
        .iter()
        .map(|(t, _)| t / 1000)
        .max()
        .map_or(0, |m| m + 1);
    let mut per: Vec<Vec<u64>> = vec![Vec::new(); seconds as usize];
    for (t, l) in by_ms {
        per[(t / 1000) as usize].push(*l);
    }
    per.iter_mut()
        .map(|v| {
            v.sort_unstable();
            format!("{:.0}", pct(v, 0.99))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Mean batch size and mean write time of the batcher, from the server's `/metrics` (`url`).
async fn batch_figures(url: &str) -> anyhow::Result<String> {
    let text = reqwest::get(url).await?.text().await?;
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
            .unwrap_or(0.0)
    };
    let batches = value("hoithi_vote_batch_size_count");
    // The server's own view of the vote route's latency (cumulative buckets).
    let server: Vec<String> = text
        .lines()
        .filter(|l| {
            (l.starts_with("hoithi_http_request_duration_seconds_bucket")
                && l.contains("votes")
                && l.contains("POST"))
                || l.starts_with("hoithi_vote_batch_duration_seconds_bucket")
        })
        .filter_map(|l| {
            let le = l.split("le=\"").nth(1)?.split('"').next()?;
            let n = l.rsplit(' ').next()?;
            Some(format!("≤{le}s:{n}"))
        })
        .collect();
    Ok(format!(
        "{batches:.0} batches, {:.1} votes per batch, {:.1} ms per batch write on average; server-side latency (cumulative, whole run): {}",
        value("hoithi_vote_batch_size_sum") / batches.max(1.0),
        1000.0 * value("hoithi_vote_batch_duration_seconds_sum") / batches.max(1.0),
        server.join(" "),
    ))
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let pg = EmbeddedPostgres::start(&dir.path().join("pg"), None)?;
    let admin_url = pg.url("postgres");
    let db_url = pg.url("hoithi");
    // One thread is plenty for the client, and leaves the server the rest of the machine.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        hoithi_core::db::ensure_database(&admin_url, "hoithi").await?;
        let pool = hoithi_core::db::connect(&db_url, 4).await?;
        hoithi_core::db::migrate(&pool).await?;
        // `VOTE_LOAD_PG_SET="name=value,…"`: PostgreSQL settings for an experiment.
        // A module's setting (`auto_explain.log_min_duration=…`) loads the module first.
        if let Ok(set) = std::env::var("VOTE_LOAD_PG_SET") {
            let mut conn = pool.acquire().await?;
            for (k, v) in set.split(',').filter_map(|kv| kv.split_once('=')) {
                if let Some((module, _)) = k.split_once('.') {
                    sqlx::query(&format!("load '{module}'"))
                        .execute(&mut *conn)
                        .await?;
                }
                sqlx::query(&format!("alter system set {k} = '{v}'"))
                    .execute(&mut *conn)
                    .await?;
            }
            sqlx::query("select pg_reload_conf()").execute(&pool).await?;
        }
        if let Ok(ms) = std::env::var("VOTE_LOAD_PG_SLOW_MS") {
            for sql in [
                format!("alter system set log_min_duration_statement = {}", ms.parse::<u32>()?),
                "alter system set log_lock_waits = on".into(),
                "alter system set deadlock_timeout = '10ms'".into(),
                "alter system set log_checkpoints = on".into(),
                "alter system set log_autovacuum_min_duration = 0".into(),
                "select pg_reload_conf()".into(),
            ] {
                sqlx::query(&sql).execute(&pool).await?;
            }
            println!("PostgreSQL log: {}", dir.path().join("pg.log").display());
        }
        let started = Instant::now();
        println!(
            "fixed rate, {} connections, {} s warm-up then {} s measured per phase, {} entries, voters take turns, each entry on stage for one round of voters",
            a.connections, a.warmup, a.seconds, a.entries
        );
        println!("| ingest | offered/s | 201s | acked/s | p50 ms | p99 ms | max ms | 409 | 503 | other | conn errors | not sent (10 s late) | rows | tally sum | recount = 201s |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        let data = dir.path().join("data");
        let (batched, batched_notes) = phase(&a, &pool, &db_url, &data, "batched", a.rate).await?;
        println!("{batched}");
        let (direct, direct_notes) =
            phase(&a, &pool, &db_url, &data, "direct", a.baseline_rate).await?;
        println!("{direct}");
        println!("\n{batched_notes}\n{direct_notes}");
        println!("total {:.0} s", started.elapsed().as_secs_f64());
        pool.close().await;
        anyhow::Ok(())
    });
    pg.stop();
    if std::env::var("VOTE_LOAD_PG_SLOW_MS").is_ok() {
        // Kept for reading.
        let _ = dir.keep();
    }
    result
}
