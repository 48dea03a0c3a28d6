//! Voting fixtures for end-to-end tests: a contest in its voting window, voters made by SQL
//! with bearer tokens, casting a vote over HTTP, and reading the live event stream (SSE).

use hoithi_core::testing::TestEnv;
use std::time::Duration;
use uuid::Uuid;

pub struct Contest {
    pub id: i64,
    pub slug: String,
    pub entries: Vec<Uuid>,
}

/// A contest in its voting window with `n` approved entries.
pub async fn contest_in_voting(env: &TestEnv, n: usize) -> Contest {
    let (id, slug, entries) = env.contest_in_voting(n).await;
    Contest { id, slug, entries }
}

/// `n` verified voters made by SQL (no password hashing), each with a bearer token.
pub async fn voters(env: &TestEnv, n: usize) -> Vec<(i64, String)> {
    let tag = Uuid::new_v4().simple().to_string();
    let ids: Vec<i64> = sqlx::query_scalar(
        "insert into app_user (email, display_name, password_hash, email_verified_at)
         select 'voter-' || $1 || '-' || g || '@example.vn', 'Cử tri ' || g, 'not-a-hash', now()
         from generate_series(1, $2) as g
         returning app_user_id",
    )
    .bind(&tag)
    .bind(n as i32)
    .fetch_all(&env.db)
    .await
    .unwrap();
    let mut out = Vec::new();
    for id in ids {
        out.push((
            id,
            hoithi_core::auth::issue_token(&env.db, id).await.unwrap(),
        ));
    }
    out
}

pub async fn vote(
    client: &reqwest::Client,
    url: &str,
    entry: Uuid,
    token: &str,
) -> reqwest::Result<reqwest::Response> {
    client
        .post(format!("{url}/api/v1/entries/{entry}/votes"))
        .bearer_auth(token)
        .send()
        .await
}

/// Reads the next SSE block (the lines up to an empty line) within `timeout`.
pub async fn next_block(
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

pub fn field<'a>(block: &'a str, name: &str) -> Option<&'a str> {
    block
        .lines()
        .find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(':')))
        .map(str::trim)
}
