#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Voter protections with the real binary over real TCP: the proof-of-work escalation above
//! normal rates (solved like the page's script does, used once), per-address limits with
//! Retry-After, X-Forwarded-For believed only from a trusted proxy, and the erasure of voters'
//! addresses by `hoithi admin erase-vote-ips` and by the running server.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use common::{Server, configured, hoithi, run};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A contest in its voting window with one approved entry and a generous policy.
async fn contest_in_voting(env: &TestEnv) -> (i64, Uuid) {
    let (id, _, entries) = env.contest_in_voting(1).await;
    let policy = serde_json::json!({"vote_policy": {"per_day": 100}});
    common::organize(env, id, policy).await;
    (id, entries[0])
}

async fn start_server(env: &TestEnv, settings: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, env);
    for (k, v) in settings {
        cmd.env(k, v);
    }
    (Server::start(cmd).await, data)
}

async fn vote(
    url: &str,
    entry: Uuid,
    token: &str,
    extra: &[(&str, &str)],
) -> (u16, serde_json::Value, Option<String>) {
    let mut req = reqwest::Client::new()
        .post(format!("{url}/api/v1/entries/{entry}/votes"))
        .bearer_auth(token);
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let retry = res
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, res.json().await.unwrap_or_default(), retry)
}

/// What vote.js does: find the number whose hash with the salt is the challenge.
fn solve(c: &serde_json::Value) -> String {
    let salt = c["salt"].as_str().unwrap();
    let target = c["challenge"].as_str().unwrap();
    let max = c["maxnumber"].as_u64().unwrap();
    let number = (0..=max)
        .find(|n| {
            let hash = Sha256::digest(format!("{salt}{n}").as_bytes());
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>() == target
        })
        .expect("a solution below maxnumber");
    let json = serde_json::json!({
        "algorithm": c["algorithm"], "challenge": target, "number": number,
        "salt": salt, "signature": c["signature"],
    });
    base64::engine::general_purpose::STANDARD.encode(json.to_string())
}

#[tokio::test]
async fn a_voter_above_normal_rates_must_solve_a_challenge_and_each_solution_counts_once() {
    let env = TestEnv::new().await;
    let (_, entry) = contest_in_voting(&env).await;
    let (_, token) = env.user(Role::Member).await;
    let (server, _data) = start_server(
        &env,
        &[
            ("HOITHI_VOTE_CHALLENGE_VOTER_RATE", "0.001"),
            ("HOITHI_VOTE_CHALLENGE_VOTER_BURST", "2"),
            ("HOITHI_VOTE_CHALLENGE_MAX_NUMBER", "20000"),
        ],
    )
    .await;
    let url = &server.url;
    for _ in 0..2 {
        assert_eq!(vote(url, entry, &token, &[]).await.0, 201);
    }
    // The third is not refused outright: it is asked for work.
    let (status, body, _) = vote(url, entry, &token, &[]).await;
    assert_eq!(status, 428, "{body}");
    assert_eq!(body["error"]["code"], "challenge-required");
    let challenge = &body["challenge"];
    assert_eq!(challenge["algorithm"], "SHA-256");
    assert_eq!(challenge["maxnumber"], 20000);
    let started = Instant::now();
    let proof = solve(challenge);
    let solved_in = started.elapsed();
    let (status, body, _) = vote(url, entry, &token, &[("x-vote-challenge", &proof)]).await;
    assert_eq!(status, 201, "{body}");
    // The same solution again, a forged one, garbage: each refused with a fresh challenge.
    let (status, body, _) = vote(url, entry, &token, &[("x-vote-challenge", &proof)]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (428, Some("challenge-used"))
    );
    assert!(body["challenge"]["signature"].is_string());
    let mut forged = body["challenge"].clone();
    forged["signature"] = serde_json::json!("00".repeat(32));
    let (_, body, _) = vote(url, entry, &token, &[("x-vote-challenge", &solve(&forged))]).await;
    assert_eq!(body["error"]["code"], "challenge-invalid");
    let (_, body, _) = vote(url, entry, &token, &[("x-vote-challenge", "%%%")]).await;
    assert_eq!(body["error"]["code"], "challenge-invalid");
    // A challenge fetched ahead of time works the same.
    let c: serde_json::Value = reqwest::get(format!("{url}/api/v1/vote-challenge"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, _, _) = vote(url, entry, &token, &[("x-vote-challenge", &solve(&c))]).await;
    assert_eq!(status, 201);
    let votes: i64 = sqlx::query_scalar("select count(*) from vote where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(votes, 4, "two free, two with work; refusals store nothing");
    println!("solved a 20000-number challenge in {solved_in:?} (debug build)");
}

#[tokio::test]
async fn too_many_votes_from_one_address_wait_and_a_trusted_proxy_names_the_client() {
    let env = TestEnv::new().await;
    let (contest, entry) = contest_in_voting(&env).await;
    let (server, _data) = start_server(
        &env,
        &[
            ("HOITHI_VOTE_IP_RATE", "0.01"),
            ("HOITHI_VOTE_IP_BURST", "3"),
            ("HOITHI_VOTE_CHALLENGE_IP_RATE", "0"),
            ("HOITHI_VOTE_CHALLENGE_VOTER_RATE", "0"),
            ("HOITHI_VOTE_NETWORK_RATE", "0"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
        ],
    )
    .await;
    let url = &server.url;
    // Three clients behind the proxy, three different voters each: the third address's
    // fourth vote waits, the others do not.
    let mut tokens = Vec::new();
    for _ in 0..5 {
        tokens.push(env.user(Role::Member).await.1);
    }
    for (i, t) in tokens.iter().take(3).enumerate() {
        let xff = format!("10.9.9.9, 198.51.100.{}", 10 + i);
        assert_eq!(
            vote(url, entry, t, &[("x-forwarded-for", &xff)]).await.0,
            201
        );
    }
    let same = [("x-forwarded-for", "203.0.113.5")];
    for t in &tokens[..3] {
        assert_eq!(vote(url, entry, t, &same).await.0, 201);
    }
    let (status, body, retry) = vote(url, entry, &tokens[3], &same).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate-limited"))
    );
    assert!(retry.unwrap().parse::<u64>().unwrap() >= 1);
    let ips: Vec<(String, String)> = sqlx::query_as(
        "select host(ip), ip_network::text from vote where contest_id = $1 order by vote_id",
    )
    .bind(contest)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(
        ips[0],
        ("198.51.100.10".to_owned(), "198.51.100.0/24".to_owned())
    );
    assert_eq!(
        ips[3].0, "203.0.113.5",
        "the address the proxy appended, not the client's claim"
    );
    server.stop();

    // Without the proxy in TRUSTED_PROXIES the header is ignored.
    let (server, _data) = start_server(&env, &[]).await;
    let (status, _, _) = vote(&server.url, entry, &tokens[4], &same).await;
    assert_eq!(status, 201);
    let last: String =
        sqlx::query_scalar("select host(ip) from vote order by vote_id desc limit 1")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(last, "127.0.0.1");
}

#[tokio::test]
async fn erase_vote_ips_shows_and_erases_addresses_past_the_dispute_window() {
    let env = TestEnv::new().await;
    // One contest 8 days past its results, one with results today.
    let (contest, entry) = contest_in_voting(&env).await;
    let (recent, recent_entry) = contest_in_voting(&env).await;
    for (c, e) in [(contest, entry), (recent, recent_entry)] {
        let (voter, _) = env.user(Role::Member).await;
        sqlx::query(
            "insert into vote (contest_id, entry_id, voter_id, vote_day, ip, ip_network)
             values ($1, $2, $3, current_date, '203.113.7.9', '203.113.7.0/24')",
        )
        .bind(c)
        .bind(e)
        .bind(voter)
        .execute(&env.db)
        .await
        .unwrap();
    }
    // The organizer closes `recent` and publishes its results now.
    let now = common::in_minutes(0);
    let results = serde_json::json!({"phases": {"submission": {"closes_at": now},
        "voting": {"closes_at": now}, "results_at": now}});
    common::organize(&env, recent, results).await;
    // Eight days pass for `contest`: only the clock dates results in the past, no organizer
    // may (docs/organizers.md), so the test moves its date itself.
    sqlx::query("update contest set results_at = now() - interval '8 days' where contest_id = $1")
        .bind(contest)
        .execute(&env.db)
        .await
        .unwrap();
    let cli = |args: &[&str], days: &str| {
        let data = tempfile::tempdir().unwrap();
        let mut cmd = hoithi(data.path());
        configured(&mut cmd, &env);
        cmd.env("HOITHI_VOTE_DISPUTE_DAYS", days);
        cmd.arg("admin").arg("erase-vote-ips").args(args);
        let (status, out, err, _) = run(cmd, Duration::from_secs(120));
        assert!(status.success(), "{out}{err}");
        out
    };
    // Addresses (or networks) still kept in `contest`'s votes.
    let kept = |c: i64| {
        let db = env.db.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from vote
                 where contest_id = $1 and (ip is not null or ip_network is not null)",
            )
            .bind(c)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    // Inside a 30-day window: nothing to do.
    let out = cli(&[], "30");
    assert!(out.contains("0 contests"), "{out}");
    let out = cli(&["--dry-run"], "7");
    assert!(
        out.contains("would erase the addresses of 1 votes"),
        "{out}"
    );
    assert!(out.contains(&format!("contest {contest} ")), "{out}");
    assert_eq!(kept(contest).await, 1);
    let out = cli(&[], "7");
    assert!(out.contains("erased the addresses of 1 votes"), "{out}");
    assert_eq!(
        (kept(contest).await, kept(recent).await),
        (0, 1),
        "only past the window"
    );
    assert!(
        cli(&[], "7").contains("0 contests"),
        "nothing left to erase"
    );

    // The running server erases on its own (at start, then hourly).
    sqlx::query(
        "update vote set ip = '198.51.100.1', ip_network = '198.51.100.0/24' where contest_id = $1",
    )
    .bind(contest)
    .execute(&env.db)
    .await
    .unwrap();
    let (server, _data) = start_server(&env, &[("HOITHI_VOTE_DISPUTE_DAYS", "7")]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while kept(contest).await > 0 {
        assert!(
            Instant::now() < deadline,
            "the server did not erase the addresses"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    server.stop();
    assert_eq!(kept(recent).await, 1);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from vote_audit where action = 'erase-ips'")
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert_eq!(audited, 2);
}

#[tokio::test]
async fn an_administrator_sets_moves_and_clears_a_member_number() {
    let env = TestEnv::new().await;
    let email = |id: i64| {
        let db = env.db.clone();
        async move {
            sqlx::query_scalar::<_, String>(
                "select email::text from app_user where app_user_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let number = |id: i64| {
        let db = env.db.clone();
        async move {
            sqlx::query_scalar::<_, Option<String>>(
                "select member_number from app_user where app_user_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    let (a, _) = env.user(Role::Member).await;
    let (b, _) = env.user(Role::Member).await;
    let (a_email, b_email) = (email(a).await, email(b).await);
    let cli = |args: &[&str]| {
        let data = tempfile::tempdir().unwrap();
        let mut cmd = hoithi(data.path());
        configured(&mut cmd, &env);
        cmd.args(["admin", "set-member-number"]).args(args);
        let (status, out, err, _) = run(cmd, Duration::from_secs(120));
        (status.success(), format!("{out}{err}"))
    };
    let (ok, out) = cli(&["--email", &a_email, "--number", "DV-0001"]);
    assert!(ok, "{out}");
    assert!(out.contains("member number DV-0001"), "{out}");
    assert_eq!(number(a).await.as_deref(), Some("DV-0001"));
    // One account per number, whatever the case: the message names the holder.
    let (ok, out) = cli(&["--email", &b_email, "--number", "dv-0001"]);
    assert!(!ok);
    assert!(out.contains(&a_email), "{out}");
    let (ok, out) = cli(&["--email", &b_email, "--number", "DV 1"]);
    assert!(!ok);
    assert!(out.contains("is not a member number"), "{out}");
    let (ok, out) = cli(&["--email", "nobody@example.vn", "--number", "DV-2"]);
    assert!(!ok);
    assert!(out.contains("no account with the email"), "{out}");
    let (ok, _) = cli(&["--email", &b_email]);
    assert!(!ok, "a number or --clear is required");
    // Cleared on one account, the number can go to the other.
    let (ok, out) = cli(&["--email", &a_email, "--clear"]);
    assert!(ok, "{out}");
    assert_eq!(number(a).await, None);
    let (ok, out) = cli(&["--email", &b_email, "--number", "dv-0001"]);
    assert!(ok, "{out}");
    assert_eq!(number(b).await.as_deref(), Some("dv-0001"));
}
