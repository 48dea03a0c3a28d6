#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
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

/// A contest set up for a live show.
struct Show {
    contest_id: i64,
    slug: String,
    entries: Vec<Uuid>,
}

/// A contest with `n` approved entries whose regular voting window closed an hour ago.
async fn contest_after_voting(env: &TestEnv, n: usize) -> Show {
    let id = env.open_contest(&["photo"]).await;
    let (author, _) = env.user(Role::Member).await;
    let mut entries = Vec::new();
    while entries.len() < n {
        entries.push(env.draft_entry(id, author).await);
    }
    sqlx::query("update entry set status = 'approved' where entry_id = any($1)")
        .bind(&entries)
        .execute(&env.db)
        .await
        .unwrap();
    // The organizer opened voting beside submission, then closed it ("Đóng ngay").
    let open = serde_json::json!({"voting_overlaps_submission": true,
        "phases": {"voting": {"opens_at": common::in_minutes(0), "closes_at": common::in_minutes(24 * 60)}}});
    common::organize(env, id, open).await;
    let close = serde_json::json!({"phases": {"voting": {"closes_at": common::in_minutes(0)}}});
    let contest = common::organize(env, id, close).await;
    let slug = contest["slug"].as_str().unwrap().to_owned();
    Show {
        contest_id: id,
        slug,
        entries,
    }
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

/// One open event stream, read event by event.
struct Events {
    res: reqwest::Response,
    pending: String,
}

/// One event: its `event`, `id` and `data` fields (a comment has none).
#[derive(Debug, Default)]
struct Received {
    name: Option<String>,
    id: Option<String>,
    data: Option<serde_json::Value>,
    comment: bool,
}

impl Events {
    async fn open(client: &reqwest::Client, url: &str, last_id: Option<&str>) -> Self {
        let mut req = client.get(url);
        if let Some(id) = last_id {
            req = req.header("last-event-id", id);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        Self {
            res,
            pending: String::new(),
        }
    }

    /// The next event (or keep-alive comment) within `timeout`, if any.
    async fn next(&mut self, timeout: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        while !self.pending.contains("\n\n") {
            let got = tokio::time::timeout_at(deadline, self.res.chunk()).await;
            let bytes = got.ok()?.ok()??;
            self.pending.push_str(&String::from_utf8_lossy(&bytes));
        }
        let (block, rest) = self.pending.split_once("\n\n").unwrap();
        let mut event = Received::default();
        for line in block.lines() {
            match line.split_once(':') {
                Some(("", _)) => event.comment = true,
                Some(("event", v)) => event.name = Some(v.trim().to_owned()),
                Some(("id", v)) => event.id = Some(v.trim().to_owned()),
                Some(("data", v)) => event.data = serde_json::from_str(v.trim()).ok(),
                _ => {}
            }
        }
        self.pending = rest.to_owned();
        Some(event)
    }

    /// Waits for an event `name` whose data satisfies `want`; returns its id.
    async fn until(
        &mut self,
        name: &str,
        within: Duration,
        want: impl Fn(&serde_json::Value) -> bool,
    ) -> String {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let e = self
                .next(left)
                .await
                .unwrap_or_else(|| panic!("no matching {name} event within {within:?}"));
            if e.name.as_deref() == Some(name) && e.data.as_ref().is_some_and(&want) {
                return e.id.unwrap_or_default();
            }
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

    let mut events = Events::open(&client, &events_url, None).await;
    let first = events.next(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.name.as_deref(), Some("tally"), "{first:?}");

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
    events
        .until("stage", Duration::from_secs(2), |d| {
            d["entry"]["id"] == on_stage.as_str() && d["live_voting"] == false
        })
        .await;
    println!(
        "stage change seen on the other server after {:?}",
        set.elapsed()
    );
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
    let last_id = events
        .until("stage", Duration::from_secs(2), |d| {
            d["entry"]["id"] == on_stage.as_str() && d["live_voting"] == true
        })
        .await;
    println!(
        "live window seen on the other server after {:?}",
        opened.elapsed()
    );
    assert!(opened.elapsed() < Duration::from_secs(2));
    assert!(
        last_id.contains('/'),
        "the id carries the live state: {last_id}"
    );
    drop(events);

    // Reconnecting with the last id: nothing repeated, only keep-alive comments.
    let mut events = Events::open(&client, &events_url, Some(&last_id)).await;
    let got = events.next(Duration::from_secs(3)).await.unwrap();
    assert!(
        got.comment && got.name.is_none(),
        "expected a keep-alive, got {got:?}"
    );
    drop(events);

    // An id from before the window opened: the stage is sent again (the tally is not).
    let (tally_part, _) = last_id.split_once('/').unwrap();
    let mut events = Events::open(&client, &events_url, Some(tally_part)).await;
    let got = events.next(Duration::from_secs(3)).await.unwrap();
    assert_eq!(got.name.as_deref(), Some("stage"), "{got:?}");
    assert_eq!(got.id.as_deref(), Some(last_id.as_str()));
    let got = events.next(Duration::from_secs(3)).await.unwrap();
    assert_eq!(got.name.as_deref(), Some("phase"), "{got:?}");
    assert_eq!(got.data.unwrap()["phase"], "submission");
    drop(events);

    // A phase change (an organizer moving a date) is an event too.
    let mut events = Events::open(&client, &events_url, None).await;
    let moved = serde_json::json!({"phases": {
        "submission": {"closes_at": common::in_minutes(0)},
        "voting": {"closes_at": common::in_minutes(24 * 60)}}});
    common::organize(&env, contest.contest_id, moved).await;
    events
        .until("phase", Duration::from_secs(2), |d| d["phase"] == "voting")
        .await;
    drop(events);
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

    use hoithi_web::domain::voting::live::live_vote_open;
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
    .bind(contest.contest_id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(counts, [(stage, 3), (other, 1)]);
    let log: Vec<String> = sqlx::query_scalar(
        "select action from contest_live_log where contest_id = $1 order by contest_live_log_id",
    )
    .bind(contest.contest_id)
    .fetch_all(&env.db)
    .await
    .unwrap();
    assert_eq!(log, ["stage", "open", "close", "stage", "open"]);
    assert!(server.stop().success());
}
