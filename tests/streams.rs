//! Live shows end to end with the real binary on a real PostgreSQL: "now on stage" and the
//! live voting window reach event streams on another server process within 2 s (and a
//! reconnect with Last-Event-ID repeats nothing), and live votes count for the entry on stage
//! only while the window is open, even after the contest's own voting window closed.

mod common;

use std::time::{Duration, Instant};

use common::{Server, configured, hoithi};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use uuid::Uuid;

struct Contest {
    id: i64,
    slug: String,
    entries: Vec<Uuid>,
}

/// A contest with `n` approved entries whose regular voting window closed an hour ago.
async fn contest_after_voting(env: &TestEnv, n: usize) -> Contest {
    let id = env.open_contest(&["photo"]).await;
    let (author, _) = env.user(Role::Member).await;
    sqlx::query(
        "update contest set voting_opens_at = now() - interval '1 day',
                            voting_closes_at = now() - interval '1 hour'
         where contest_id = $1",
    )
    .bind(id)
    .execute(&env.db)
    .await
    .unwrap();
    let mut entries = Vec::new();
    for _ in 0..n {
        let e = env.draft_entry(id, author).await;
        sqlx::query("update entry set status = 'approved' where entry_id = $1")
            .bind(e)
            .execute(&env.db)
            .await
            .unwrap();
        entries.push(e);
    }
    let slug = sqlx::query_scalar("select slug from contest where contest_id = $1")
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap();
    Contest { id, slug, entries }
}

async fn start_server(env: &TestEnv) -> (Server, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, env);
    cmd.env("HOITHI_VOTE_NETWORK_RATE", "0")
        .env("HOITHI_LIVE_KEEPALIVE_S", "1");
    (Server::start(cmd).await, data)
}

async fn set_live(
    client: &reqwest::Client,
    url: &str,
    slug: &str,
    token: &str,
    body: serde_json::Value,
) -> serde_json::Value {
    let res = client
        .post(format!("{url}/api/v1/contests/{slug}/live"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Reads the next SSE block (the lines up to an empty line) within `timeout`.
async fn next_block(
    res: &mut reqwest::Response,
    buf: &mut String,
    timeout: Duration,
) -> Option<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(i) = buf.find("\n\n") {
            let block = buf[..i].to_owned();
            buf.drain(..i + 2);
            return Some(block);
        }
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .ok()?
            .ok()??;
        buf.push_str(&String::from_utf8_lossy(&chunk));
    }
}

fn field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
}

/// Waits for the first event named `name` whose data satisfies `want`; returns its id.
async fn wait_for(
    res: &mut reqwest::Response,
    buf: &mut String,
    name: &str,
    within: Duration,
    want: impl Fn(&serde_json::Value) -> bool,
) -> String {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let block = next_block(res, buf, left)
            .await
            .unwrap_or_else(|| panic!("no matching {name} event within {within:?}"));
        if field(&block, "event") != Some(name) {
            continue;
        }
        let data: serde_json::Value = serde_json::from_str(field(&block, "data").unwrap()).unwrap();
        if want(&data) {
            return field(&block, "id").unwrap_or("").to_owned();
        }
    }
}

#[tokio::test]
async fn a_stage_change_made_on_one_server_reaches_an_event_stream_on_another_within_two_seconds() {
    let env = TestEnv::new().await;
    let contest = contest_after_voting(&env, 2).await;
    let (_, admin) = env.user(Role::Admin).await;
    let (a, _da) = start_server(&env).await;
    let (b, _db) = start_server(&env).await;
    let client = reqwest::Client::new();
    let events_url = format!("{}/api/v1/contests/{}/events", a.url, contest.slug);

    let mut res = client.get(&events_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let mut buf = String::new();
    let first = next_block(&mut res, &mut buf, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(field(&first, "event"), Some("tally"), "{first}");

    // On stage, set through the other server.
    let on_stage = contest.entries[1].to_string();
    let set = Instant::now();
    set_live(
        &client,
        &b.url,
        &contest.slug,
        &admin,
        serde_json::json!({"stage_entry_id": on_stage}),
    )
    .await;
    wait_for(&mut res, &mut buf, "stage", Duration::from_secs(2), |d| {
        d["entry"]["id"] == on_stage.as_str() && d["live_voting"] == false
    })
    .await;
    assert!(
        set.elapsed() < Duration::from_secs(2),
        "{:?}",
        set.elapsed()
    );

    // The live window, opened on the other server too.
    let opened = Instant::now();
    set_live(
        &client,
        &b.url,
        &contest.slug,
        &admin,
        serde_json::json!({"live_voting": true}),
    )
    .await;
    let last_id = wait_for(&mut res, &mut buf, "stage", Duration::from_secs(2), |d| {
        d["entry"]["id"] == on_stage.as_str() && d["live_voting"] == true
    })
    .await;
    assert!(opened.elapsed() < Duration::from_secs(2));
    assert!(
        last_id.contains('/'),
        "the id carries the live state: {last_id}"
    );
    drop(res);

    // Reconnecting with the last id: nothing repeated, only keep-alive comments.
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
        "expected a keep-alive, got {block:?}"
    );
    drop(res);

    // An id from before the window opened: the stage is sent again (the tally is not).
    let (tally_part, _) = last_id.split_once('/').unwrap();
    let mut res = client
        .get(&events_url)
        .header("last-event-id", tally_part)
        .send()
        .await
        .unwrap();
    let mut buf = String::new();
    let block = next_block(&mut res, &mut buf, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(field(&block, "event"), Some("stage"), "{block}");
    assert_eq!(field(&block, "id"), Some(last_id.as_str()));
    let block = next_block(&mut res, &mut buf, Duration::from_secs(3))
        .await
        .unwrap();
    assert_eq!(field(&block, "event"), Some("phase"), "{block}");
    let data: serde_json::Value = serde_json::from_str(field(&block, "data").unwrap()).unwrap();
    assert_eq!(data["phase"], "submission");
    drop(res);

    // A phase change (an organizer moving a date) is an event too.
    let mut res = client.get(&events_url).send().await.unwrap();
    let mut buf = String::new();
    sqlx::query("update contest set submission_closes_at = now() - interval '1 minute', voting_closes_at = now() + interval '1 day' where contest_id = $1")
        .bind(contest.id)
        .execute(&env.db)
        .await
        .unwrap();
    wait_for(&mut res, &mut buf, "phase", Duration::from_secs(2), |d| {
        d["phase"] == "voting"
    })
    .await;
    drop(res);
    assert!(a.stop().success());
    assert!(b.stop().success());
}

async fn vote(client: &reqwest::Client, url: &str, entry: Uuid, token: &str) -> (u16, String) {
    let res = client
        .post(format!("{url}/api/v1/entries/{entry}/votes"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let body: serde_json::Value = res.json().await.unwrap_or_default();
    (
        status,
        body["error"]["code"].as_str().unwrap_or("").to_owned(),
    )
}

#[tokio::test]
async fn live_votes_count_for_the_entry_on_stage_only_while_the_window_is_open() {
    let env = TestEnv::new().await;
    let contest = contest_after_voting(&env, 2).await;
    let (_, admin) = env.user(Role::Admin).await;
    let mut voters = Vec::new();
    for _ in 0..4 {
        voters.push(env.user(Role::Member).await.1);
    }
    let (server, _data) = start_server(&env).await;
    let client = reqwest::Client::new();
    let url = &server.url;
    let (stage, other) = (contest.entries[0], contest.entries[1]);

    // Regular voting closed, nothing live: refused.
    assert_eq!(
        vote(&client, url, stage, &voters[0]).await,
        (409, "voting-closed".into())
    );
    // On stage but the window is closed: refused.
    set_live(
        &client,
        url,
        &contest.slug,
        &admin,
        serde_json::json!({"stage_entry_id": stage.to_string()}),
    )
    .await;
    assert_eq!(
        vote(&client, url, stage, &voters[0]).await,
        (409, "voting-closed".into())
    );

    // Window open: the entry on stage takes votes, once per voter (per the policy); the
    // other entry does not.
    set_live(
        &client,
        url,
        &contest.slug,
        &admin,
        serde_json::json!({"live_voting": true}),
    )
    .await;
    for v in &voters[..3] {
        assert_eq!(vote(&client, url, stage, v).await.0, 201);
    }
    assert_eq!(
        vote(&client, url, stage, &voters[0]).await,
        (409, "already-voted".into())
    );
    assert_eq!(
        vote(&client, url, other, &voters[0]).await,
        (409, "voting-closed".into())
    );

    use hoithi_web::live::state::live_vote_open;
    assert!(live_vote_open(&env.db, stage).await.unwrap());
    assert!(!live_vote_open(&env.db, other).await.unwrap());

    // Closed again: refused from the next vote on.
    set_live(
        &client,
        url,
        &contest.slug,
        &admin,
        serde_json::json!({"live_voting": false}),
    )
    .await;
    assert!(!live_vote_open(&env.db, stage).await.unwrap());
    assert_eq!(
        vote(&client, url, stage, &voters[3]).await,
        (409, "voting-closed".into())
    );

    // A new entry on stage with the window open: only it takes votes.
    set_live(
        &client,
        url,
        &contest.slug,
        &admin,
        serde_json::json!({"stage_entry_id": other.to_string(), "live_voting": true}),
    )
    .await;
    assert_eq!(vote(&client, url, other, &voters[3]).await.0, 201);
    assert_eq!(
        vote(&client, url, stage, &voters[3]).await,
        (409, "voting-closed".into())
    );

    let counts: Vec<(Uuid, i64)> = sqlx::query_as(
        "select entry_id, votes from vote_tally where contest_id = $1 order by votes desc",
    )
    .bind(contest.id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(counts, [(stage, 3), (other, 1)]);
    let log: Vec<String> = sqlx::query_scalar(
        "select action from contest_live_log where contest_id = $1 order by contest_live_log_id",
    )
    .bind(contest.id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(log, ["stage", "open", "close", "stage", "open"]);
    assert!(server.stop().success());
}
