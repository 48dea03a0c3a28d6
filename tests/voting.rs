#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Public voting end to end with the real binary on a real PostgreSQL: exactly-once votes
//! under concurrency and retries, no acknowledged vote lost to SIGKILL, overload refusals,
//! exact invalidation and restore with audit rows, `check-tallies`, and live tallies over SSE
//! across two server processes.

mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::voting::{contest_in_voting, field, next_block, vote, voters};
use common::{Server, configured, hoithi, run};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use uuid::Uuid;

async fn start_server(env: &TestEnv, settings: &[(&str, &str)]) -> (Server, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, env);
    // Every test voter comes from 127.0.0.1: the per-network limit is tested on its own.
    cmd.env("HOITHI_VOTE_NETWORK_RATE", "0");
    cmd.env("HOITHI_VOTE_IP_RATE", "0");
    // The proof-of-work escalation is tested on its own (tests/voters.rs).
    cmd.env("HOITHI_VOTE_CHALLENGE_VOTER_RATE", "0");
    for (k, v) in settings {
        cmd.env(k, v);
    }
    (Server::start(cmd).await, data)
}

async fn code_of(res: reqwest::Response) -> (u16, String) {
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

async fn tally_of(env: &TestEnv, entry: Uuid) -> i64 {
    sqlx::query_scalar("select coalesce((select votes from vote_tally where entry_id = $1), 0)")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

fn check_tallies(env: &TestEnv) -> (bool, String) {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, env);
    cmd.args(["admin", "check-tallies"]);
    let (status, out, err, _) = run(cmd, Duration::from_secs(120));
    (status.success(), format!("{out}{err}"))
}

#[tokio::test]
async fn a_hundred_identical_votes_at_once_make_one_row_and_the_rest_conflict() {
    let env = TestEnv::new().await;
    let contest = contest_in_voting(&env, 1).await;
    let (_, token) = env.user(Role::Member).await;
    let (server, _data) = start_server(&env, &[("HOITHI_VOTE_VOTER_BURST", "1000")]).await;
    let client = reqwest::Client::new();
    let entry = contest.entries[0];

    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (client, url, token) = (client.clone(), server.url.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            code_of(vote(&client, &url, entry, &token).await.unwrap()).await
        }));
    }
    let mut statuses: HashMap<u16, usize> = HashMap::new();
    for t in tasks {
        let (status, code) = t.await.unwrap();
        if status == 409 {
            assert_eq!(code, "already-voted");
        }
        *statuses.entry(status).or_default() += 1;
    }
    assert_eq!(statuses.get(&201), Some(&1), "{statuses:?}");
    assert_eq!(statuses.get(&409), Some(&99), "{statuses:?}");

    // A client retrying after a dropped connection still gets no second vote.
    let (status, code) = code_of(vote(&client, &server.url, entry, &token).await.unwrap()).await;
    assert_eq!((status, code.as_str()), (409, "already-voted"));
    let rows: i64 = sqlx::query_scalar("select count(*) from vote where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    assert_eq!(tally_of(&env, entry).await, 1);
    let tally: serde_json::Value = client
        .get(format!(
            "{}/api/v1/contests/{}/tally",
            server.url, contest.slug
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tally["entries"][0]["votes"], 1, "{tally}");
    assert_eq!(tally["entries"][0]["id"], entry.to_string(), "{tally}");
    assert!(tally["as_of"].is_string(), "{tally}");
}

#[tokio::test]
async fn votes_that_break_a_rule_are_refused_with_a_stable_code() {
    let env = TestEnv::new().await;
    let contest = contest_in_voting(&env, 1).await;
    let entry = contest.entries[0];
    let (server, _data) = start_server(
        &env,
        &[
            ("HOITHI_VOTE_VOTER_RATE", "0.01"),
            ("HOITHI_VOTE_VOTER_BURST", "3"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let url = &server.url;

    // No token, a bad token.
    let res = client
        .post(format!("{url}/api/v1/entries/{entry}/votes"))
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await, (401, "unauthenticated".into()));
    let res = vote(&client, url, entry, "nonsense").await.unwrap();
    assert_eq!(code_of(res).await.0, 401);

    // An unverified account may not vote.
    let (unverified, token) = env.user(Role::Member).await;
    sqlx::query("update app_user set email_verified_at = null where app_user_id = $1")
        .bind(unverified)
        .execute(&env.db)
        .await
        .unwrap();
    let res = vote(&client, url, entry, &token).await.unwrap();
    assert_eq!(code_of(res).await, (403, "not-eligible".into()));

    let v = voters(&env, 6).await;
    // Not an entry id, an unknown entry.
    let res = client
        .post(format!("{url}/api/v1/entries/'%20or%201=1/votes"))
        .bearer_auth(&v[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await.0, 404);
    let res = vote(&client, url, Uuid::new_v4(), &v[0].1).await.unwrap();
    assert_eq!(code_of(res).await, (404, "not-found".into()));

    // An entry that is not approved.
    let (author, _) = env.user(Role::Member).await;
    let draft = env.draft_entry(contest.id, author).await;
    let res = vote(&client, url, draft, &v[1].1).await.unwrap();
    assert_eq!(code_of(res).await, (409, "entry-not-approved".into()));

    // Before and after the window.
    // The organizer moves voting an hour later (no vote was cast yet), then opens it and
    // closes it at once ("Đóng ngay").
    let later = json!({"phases": {"voting": {"opens_at": common::in_minutes(60), "closes_at": common::in_minutes(120)}}});
    common::organize(&env, contest.id, later).await;
    let res = vote(&client, url, entry, &v[2].1).await.unwrap();
    assert_eq!(code_of(res).await, (409, "voting-not-open".into()));
    let open = json!({"phases": {"voting": {"opens_at": common::in_minutes(0)}}});
    common::organize(&env, contest.id, open).await;
    let close = json!({"phases": {"voting": {"closes_at": common::in_minutes(0)}}});
    common::organize(&env, contest.id, close).await;
    let res = vote(&client, url, entry, &v[2].1).await.unwrap();
    assert_eq!(code_of(res).await, (409, "voting-closed".into()));
    let count: i64 = sqlx::query_scalar("select count(*) from vote")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(count, 0, "no refused vote was stored");

    // Back in the window, with a policy of 2 per day: the third is refused.
    let reopen = json!({"phases": {"voting": {"closes_at": common::in_minutes(24 * 60)}},
        "vote_policy": {"per_day": 2}});
    common::organize(&env, contest.id, reopen).await;
    for expected in [201, 201, 409] {
        let res = vote(&client, url, entry, &v[3].1).await.unwrap();
        assert_eq!(res.status().as_u16(), expected);
    }
    assert_eq!(tally_of(&env, entry).await, 2);

    // The per-voter limit (burst 3, then 1 per 100 s): 429 with Retry-After.
    let res = vote(&client, url, entry, &v[3].1).await.unwrap();
    assert_eq!(res.status().as_u16(), 429);
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry >= 1, "{retry}");
    assert_eq!(code_of(res).await.1, "rate-limited");

    // Totals hidden during voting.
    common::organize(
        &env,
        contest.id,
        json!({"vote_policy": {"hide_totals": true}}),
    )
    .await;
    let res = client
        .get(format!("{url}/api/v1/contests/{}/tally", contest.slug))
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await, (403, "totals-hidden".into()));
    let res = client
        .get(format!("{url}/api/v1/contests/khong-co/tally"))
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await.0, 404);

    // Members cannot invalidate; organizers must say which votes and why.
    let res = client
        .post(format!(
            "{url}/api/v1/contests/{}/vote-invalidations",
            contest.slug
        ))
        .bearer_auth(&v[4].1)
        .json(&serde_json::json!({"voter_id": v[3].0, "reason": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(code_of(res).await.0, 403);
    let (_, admin) = env.user(Role::Admin).await;
    for (body, code) in [
        (
            serde_json::json!({"reason": "gian lận"}),
            "criteria-required",
        ),
        (
            serde_json::json!({"voter_id": 1, "reason": " "}),
            "reason-required",
        ),
        (
            serde_json::json!({"ip_network": "1.2.3.4/99", "reason": "x"}),
            "invalid-network",
        ),
        (
            serde_json::json!({"voter_id": "one", "reason": "x"}),
            "invalid-body",
        ),
        (
            serde_json::json!({"from": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z", "reason": "x"}),
            "invalid-window",
        ),
    ] {
        let res = client
            .post(format!(
                "{url}/api/v1/contests/{}/vote-invalidations",
                contest.slug
            ))
            .bearer_auth(&admin)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(code_of(res).await, (422, code.into()), "{body}");
    }
}

#[tokio::test]
async fn sigkill_during_a_vote_load_loses_no_acknowledged_vote() {
    let env = TestEnv::new().await;
    let contest = contest_in_voting(&env, 2).await;
    let voters = voters(&env, 300).await;
    let (server, _data) = start_server(&env, &[]).await;
    let url = server.url.clone();
    let client = reqwest::Client::new();
    let acked = Arc::new(std::sync::Mutex::new(Vec::<(i64, Uuid)>::new()));
    let count = Arc::new(AtomicUsize::new(0));
    let limit = Arc::new(tokio::sync::Semaphore::new(64));
    let mut tasks = Vec::new();
    for (voter, token) in voters {
        for &entry in &contest.entries {
            let (client, url, token, acked, count, limit) = (
                client.clone(),
                url.clone(),
                token.clone(),
                acked.clone(),
                count.clone(),
                limit.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire().await.unwrap();
                if let Ok(res) = vote(&client, &url, entry, &token).await
                    && res.status() == 201
                {
                    acked.lock().unwrap().push((voter, entry));
                    count.fetch_add(1, Ordering::SeqCst);
                }
            }));
        }
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while count.load(Ordering::SeqCst) < 100 {
        assert!(Instant::now() < deadline, "votes did not come in");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    server.kill();
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= 100 && acked.len() < 600, "{}", acked.len());

    // Every acknowledged vote is there, and the tallies equal the recount.
    let stored: Vec<(i64, Uuid)> =
        sqlx::query_as("select voter_id, entry_id from vote where contest_id = $1")
            .bind(contest.id)
            .fetch_all(&env.db)
            .await
            .unwrap();
    let stored: std::collections::HashSet<_> = stored.into_iter().collect();
    let lost: Vec<_> = acked.iter().filter(|a| !stored.contains(a)).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let (server, _data) = start_server(&env, &[]).await;
    let (ok, out) = check_tallies(&env);
    assert!(ok, "{out}");
    assert!(server.stop().success());
}

#[tokio::test]
async fn invalidating_and_restoring_change_tallies_exactly_and_are_audited() {
    let env = TestEnv::new().await;
    let contest = contest_in_voting(&env, 3).await;
    let voters = voters(&env, 20).await;
    let (server, _data) = start_server(&env, &[]).await;
    let client = reqwest::Client::new();
    let url = &server.url;

    // A mixed load: everyone votes for every entry, some twice.
    let mut tasks = Vec::new();
    for (i, (_, token)) in voters.iter().enumerate() {
        for &entry in &contest.entries {
            for _ in 0..(1 + i % 2) {
                let (client, url, token) = (client.clone(), url.clone(), token.clone());
                tasks.push(tokio::spawn(async move {
                    vote(&client, &url, entry, &token)
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                }));
            }
        }
    }
    let mut created = 0;
    for t in tasks {
        match t.await.unwrap() {
            201 => created += 1,
            409 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(created, 60);
    for &e in &contest.entries {
        assert_eq!(tally_of(&env, e).await, 20);
    }

    let (admin_id, admin) = env.user(Role::Admin).await;
    let invalidate = |body: serde_json::Value| {
        let (client, url, admin, slug) = (
            client.clone(),
            url.clone(),
            admin.clone(),
            contest.slug.clone(),
        );
        async move {
            let res = client
                .post(format!("{url}/api/v1/contests/{slug}/vote-invalidations"))
                .bearer_auth(&admin)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            let body: serde_json::Value = res.json().await.unwrap();
            (
                body["id"].as_i64().unwrap(),
                body["votes"].as_i64().unwrap(),
            )
        }
    };
    // One voter's votes.
    let (by_voter, n) =
        invalidate(serde_json::json!({"voter_id": voters[0].0, "reason": "tài khoản ảo"})).await;
    assert_eq!(n, 3);
    for &e in &contest.entries {
        assert_eq!(tally_of(&env, e).await, 19);
    }
    // The whole network (every test vote comes from 127.0.0.1): the 57 still valid.
    let (by_net, n) =
        invalidate(serde_json::json!({"ip_network": "127.0.0.0/24", "reason": "mạng nghi vấn"}))
            .await;
    assert_eq!(n, 57);
    // A time window in the future touches nothing.
    let (_, n) =
        invalidate(serde_json::json!({"from": "2099-01-01T00:00:00Z", "reason": "không có gì"}))
            .await;
    assert_eq!(n, 0);
    for &e in &contest.entries {
        assert_eq!(tally_of(&env, e).await, 0);
    }
    let (ok, out) = check_tallies(&env);
    assert!(ok, "{out}");

    // Restoring the network brings back exactly its 57; twice is refused.
    let restore = |id: i64| {
        let (client, url, admin) = (client.clone(), url.clone(), admin.clone());
        async move {
            client
                .post(format!("{url}/api/v1/vote-invalidations/{id}/restore"))
                .bearer_auth(&admin)
                .json(&serde_json::json!({"reason": "đã xác minh"}))
                .send()
                .await
                .unwrap()
        }
    };
    let res = restore(by_net).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["votes"], 57);
    for &e in &contest.entries {
        assert_eq!(tally_of(&env, e).await, 19);
    }
    assert_eq!(
        code_of(restore(by_net).await).await,
        (409, "already-restored".into())
    );
    assert_eq!(code_of(restore(999_999).await).await.0, 404);
    let res = restore(by_voter).await;
    assert_eq!(res.status(), 200);
    for &e in &contest.entries {
        assert_eq!(tally_of(&env, e).await, 20);
    }

    let audit: Vec<(String, i32, Option<i64>)> = sqlx::query_as(
        "select action, votes, actor_id from vote_audit where contest_id = $1 order by vote_audit_id",
    )
    .bind(contest.id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    let actions: Vec<(&str, i32)> = audit.iter().map(|(a, v, _)| (a.as_str(), *v)).collect();
    assert_eq!(
        actions,
        [
            ("invalidate", 3),
            ("invalidate", 57),
            ("invalidate", 0),
            ("restore", 57),
            ("restore", 3)
        ]
    );
    assert!(audit.iter().all(|a| a.2 == Some(admin_id)));
    let rows: i64 = sqlx::query_scalar("select count(*) from vote where contest_id = $1")
        .bind(contest.id)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(rows, 60, "nothing is ever deleted");

    let (ok, out) = check_tallies(&env);
    assert!(ok && out.contains("every tally matches"), "{out}");
    // A tally edited by hand is found.
    sqlx::query("update vote_tally_shard set votes = votes + 1 where entry_id = $1 and shard = (select min(shard) from vote_tally_shard where entry_id = $1)")
        .bind(contest.entries[1])
        .execute(&env.db)
        .await
        .unwrap();
    let (ok, out) = check_tallies(&env);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&contest.entries[1].to_string()) && out.contains("tally 21 but 20"),
        "{out}"
    );
}

#[tokio::test]
async fn overload_is_refused_with_503_and_retry_after_and_nothing_acknowledged_is_lost() {
    let env = TestEnv::new().await;
    let contest = contest_in_voting(&env, 1).await;
    let voters = voters(&env, 300).await;
    let (server, _data) = start_server(
        &env,
        &[
            ("HOITHI_VOTE_QUEUE", "1"),
            ("HOITHI_VOTE_BATCH", "1"),
            ("HOITHI_VOTE_FLUSHES", "1"),
        ],
    )
    .await;
    let client = reqwest::Client::new();
    let entry = contest.entries[0];
    let mut tasks = Vec::new();
    for (voter, token) in voters {
        let (client, url) = (client.clone(), server.url.clone());
        tasks.push(tokio::spawn(async move {
            let res = vote(&client, &url, entry, &token).await.unwrap();
            let retry = res
                .headers()
                .get("retry-after")
                .map(|v| v.to_str().unwrap().to_owned());
            let (status, code) = code_of(res).await;
            (voter, status, code, retry)
        }));
    }
    let mut counted = Vec::new();
    let mut refused = 0;
    for t in tasks {
        let (voter, status, code, retry) = t.await.unwrap();
        match status {
            201 => counted.push(voter),
            503 => {
                assert_eq!(code, "overloaded");
                assert_eq!(retry.as_deref(), Some("1"));
                refused += 1;
            }
            other => panic!("unexpected {other} {code}"),
        }
    }
    assert!(
        refused > 0,
        "300 votes at once did not overflow a queue of 1"
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from vote where voter_id = any($1)")
        .bind(&counted)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(stored, counted.len() as i64);
    assert_eq!(tally_of(&env, entry).await, counted.len() as i64);
}

#[tokio::test]
async fn the_event_stream_shows_a_vote_cast_on_another_server_within_two_seconds() {
    let env = TestEnv::new().await;
    let contest = contest_in_voting(&env, 2).await;
    let (_, token) = env.user(Role::Member).await;
    let settings = [("HOITHI_LIVE_KEEPALIVE_S", "1")];
    let (a, _da) = start_server(&env, &settings).await;
    let (b, _db) = start_server(&env, &settings).await;
    let client = reqwest::Client::new();
    let events_url = format!("{}/api/v1/contests/{}/events", a.url, contest.slug);

    let mut res = client.get(&events_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    assert_eq!(res.headers()["x-accel-buffering"], "no");
    let mut buf = String::new();
    let first = next_block(&mut res, &mut buf, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(field(&first, "event"), Some("tally"), "{first}");
    let data: serde_json::Value = serde_json::from_str(field(&first, "data").unwrap()).unwrap();
    assert_eq!(data["entries"][0]["votes"], 0);

    let cast = Instant::now();
    let res_vote = vote(&client, &b.url, contest.entries[1], &token)
        .await
        .unwrap();
    assert_eq!(res_vote.status(), 201);
    let last_id = loop {
        let block = next_block(&mut res, &mut buf, Duration::from_secs(2))
            .await
            .expect("a tally event within 2 s");
        if field(&block, "event") != Some("tally") {
            continue;
        }
        let data: serde_json::Value = serde_json::from_str(field(&block, "data").unwrap()).unwrap();
        let votes: Vec<i64> = data["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["votes"].as_i64().unwrap())
            .collect();
        if votes.iter().sum::<i64>() == 1 {
            break field(&block, "id").unwrap().to_owned();
        }
    };
    assert!(
        cast.elapsed() < Duration::from_secs(2),
        "{:?}",
        cast.elapsed()
    );
    drop(res);

    // Reconnecting with the id already seen: no repeated snapshot, only keep-alive comments.
    let mut res = client
        .get(&events_url)
        .header("last-event-id", &last_id)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let block = next_block(&mut res, &mut buf, Duration::from_secs(3))
        .await
        .unwrap();
    assert!(
        block.starts_with(':'),
        "expected a keep-alive comment, got {block:?}"
    );
    // An unknown id (or a stale one) gets the current snapshot at once.
    let mut res = client
        .get(&events_url)
        .header("last-event-id", "0-0")
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let block = next_block(&mut res, &mut buf, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(field(&block, "id"), Some(last_id.as_str()), "{block}");
    drop(res);

    // A clean stop ends the open streams instead of waiting for them.
    assert!(a.stop().success());
    assert!(b.stop().success());
}

#[tokio::test]
async fn a_clean_stop_writes_the_queued_votes_before_exiting() {
    let env = TestEnv::new().await;
    let contest = contest_in_voting(&env, 1).await;
    let voters = voters(&env, 20).await;
    // Batches wait a whole second for company, so the stop comes while votes are queued.
    let (server, _data) = start_server(&env, &[("HOITHI_VOTE_LINGER_MS", "1000")]).await;
    let client = reqwest::Client::new();
    let entry = contest.entries[0];
    let mut tasks = Vec::new();
    for (_, token) in voters {
        let (client, url) = (client.clone(), server.url.clone());
        tasks.push(tokio::spawn(async move {
            vote(&client, &url, entry, &token)
                .await
                .map(|r| r.status().as_u16())
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = nix::sys::signal::kill(server.pid(), nix::sys::signal::Signal::SIGTERM);
    let mut created = 0;
    for t in tasks {
        assert_eq!(
            t.await
                .unwrap()
                .expect("an answer, not a dropped connection"),
            201
        );
        created += 1;
    }
    assert!(server.stop().success());
    assert_eq!(tally_of(&env, entry).await, created);
    let rows: i64 = sqlx::query_scalar("select count(*) from vote where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(rows, 20);
}
