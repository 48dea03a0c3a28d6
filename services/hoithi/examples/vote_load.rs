//! Open-loop vote benchmark against the real `hoithi serve`: a fixed offered rate (requests
//! are sent on schedule whether or not earlier ones were answered; latency counts from the
//! scheduled time), first with the batcher, then with one statement per vote (the baseline),
//! each on a fresh contest, then a recount of the stored votes against the 201s.
//!
//! cargo build --release -p hoithi --bin hoithi --example vote_load
//! target/release/examples/vote_load --bin target/release/hoithi --rate 10000 --seconds 60

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hoithi_core::embedded::postgres::EmbeddedPostgres;
use sqlx::PgPool;
use uuid::Uuid;

struct Args {
    bin: String,
    rate: u64,
    seconds: u64,
    baseline_rate: u64,
    entries: u64,
    max_in_flight: usize,
}

fn args() -> anyhow::Result<Args> {
    let mut a = Args {
        bin: "target/release/hoithi".into(),
        rate: 10_000,
        seconds: 60,
        baseline_rate: 0,
        entries: 200,
        max_in_flight: 4_000,
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
            "--max-in-flight" => a.max_in_flight = v.parse()?,
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
    tokens: Vec<String>,
}

/// A contest in voting with `entries` approved entries and enough verified voters with tokens
/// for `votes` distinct (voter, entry) pairs.
async fn fixture(db: &PgPool, entries: u64, votes: u64) -> anyhow::Result<Fixture> {
    let tag = Uuid::new_v4().simple().to_string()[..10].to_owned();
    let author: i64 = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, email_verified_at)
         values ('author-' || $1 || '@bench.vn', 'Tác giả', 'x', now()) returning app_user_id",
    )
    .bind(&tag)
    .fetch_one(db)
    .await?;
    let contest_id: i64 = sqlx::query_scalar(
        "insert into contest (slug, title, submission_opens_at, submission_closes_at, voting_opens_at, voting_closes_at)
         values ('bench-' || $1, 'Benchmark', now() - interval '2 days', now() - interval '1 day',
                 now() - interval '1 hour', now() + interval '1 day')
         returning contest_id",
    )
    .bind(&tag)
    .fetch_one(db)
    .await?;
    let entries: Vec<Uuid> = sqlx::query_scalar(
        "insert into entry (contest_id, author_id, title, status)
         select $1, $2, 'Bài ' || g, 'approved' from generate_series(1, $3) g returning entry_id",
    )
    .bind(contest_id)
    .bind(author)
    .bind(entries as i32)
    .fetch_all(db)
    .await?;
    let voters = votes.div_ceil(entries.len() as u64);
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
        tokens,
    })
}

fn start_server(
    bin: &str,
    data: &std::path::Path,
    db_url: &str,
    ingest: &str,
) -> anyhow::Result<(Child, String)> {
    let mut child = Command::new(bin)
        .args(["serve", "--roles", "web"])
        .env("HOITHI_DATA", data)
        .env("HOITHI_LISTEN", "127.0.0.1:0")
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
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
    std::thread::spawn(move || for _ in lines {});
    Ok((child, url))
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
    elapsed: Duration,
}

async fn load(url: &str, fx: &Fixture, rate: u64, seconds: u64, max_in_flight: usize) -> Outcome {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(max_in_flight)
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let total = rate * seconds;
    let voters = fx.tokens.len() as u64;
    let in_flight = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(u16, u64)>();
    let start = tokio::time::Instant::now() + Duration::from_millis(200);
    let mut skipped = 0;
    let fx_entries = Arc::new(fx.entries.clone());
    let tokens = Arc::new(fx.tokens.clone());
    let url: Arc<str> = url.into();
    for i in 0..total {
        let due = start + Duration::from_nanos(i * 1_000_000_000 / rate);
        if due > tokio::time::Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        if in_flight.load(Ordering::Relaxed) >= max_in_flight {
            skipped += 1;
            continue;
        }
        // Voters take turns; each entry is "on stage" for `voters` consecutive votes.
        let voter = (i % voters) as usize;
        let entry = fx_entries[((i / voters) as usize) % fx_entries.len()];
        let (client, tokens, url, tx, in_flight) = (
            client.clone(),
            tokens.clone(),
            url.clone(),
            tx.clone(),
            in_flight.clone(),
        );
        in_flight.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(async move {
            let status = match client
                .post(format!("{url}/api/v1/entries/{entry}/votes"))
                .bearer_auth(&tokens[voter])
                .send()
                .await
            {
                Ok(res) => {
                    let s = res.status().as_u16();
                    let _ = res.bytes().await;
                    s
                }
                Err(_) => 0,
            };
            let latency = tokio::time::Instant::now().duration_since(due).as_micros() as u64;
            in_flight.fetch_sub(1, Ordering::Relaxed);
            let _ = tx.send((status, latency));
        });
    }
    drop(tx);
    let mut o = Outcome {
        skipped,
        ..Outcome::default()
    };
    while let Some((status, latency)) = rx.recv().await {
        match status {
            201 => o.created += 1,
            409 => o.conflict += 1,
            503 => o.overloaded += 1,
            0 => o.failed += 1,
            _ => o.other += 1,
        }
        o.latencies_us.push(latency);
    }
    o.elapsed = tokio::time::Instant::now().duration_since(start);
    o.latencies_us.sort_unstable();
    o
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
) -> anyhow::Result<String> {
    let fx = fixture(pool, a.entries, rate * a.seconds).await?;
    let (mut child, url) = start_server(&a.bin, data, db_url, ingest)?;
    let o = load(&url, &fx, rate, a.seconds, a.max_in_flight).await;
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
    let secs = o.elapsed.as_secs_f64();
    Ok(format!(
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
    ))
}

fn main() -> anyhow::Result<()> {
    let a = args()?;
    let dir = tempfile::tempdir()?;
    let pg = EmbeddedPostgres::start(&dir.path().join("pg"), None)?;
    let admin_url = pg.url("postgres");
    let db_url = pg.url("hoithi");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        hoithi_core::db::ensure_database(&admin_url, "hoithi").await?;
        let pool = hoithi_core::db::connect(&db_url, 4).await?;
        hoithi_core::db::migrate(&pool).await?;
        let started = Instant::now();
        println!(
            "open loop, {} s per phase, {} entries, voters take turns, each entry on stage for one round of voters",
            a.seconds, a.entries
        );
        println!("| ingest | offered/s | 201s | acked/s | p50 ms | p99 ms | max ms | 409 | 503 | other | conn errors | not sent (client cap) | rows | tally sum | recount = 201s |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        let data = dir.path().join("data");
        println!("{}", phase(&a, &pool, &db_url, &data, "batched", a.rate).await?);
        println!("{}", phase(&a, &pool, &db_url, &data, "direct", a.baseline_rate).await?);
        println!("total {:.0} s", started.elapsed().as_secs_f64());
        pool.close().await;
        anyhow::Ok(())
    });
    pg.stop();
    result
}
