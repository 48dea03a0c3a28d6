#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Cross-site API writes, tried as an attacker's page would: the victim's browser sends its
//! session cookie with a `text/plain` (or forged-Origin) request that needs no CORS preflight.
//! Each must be refused with `cross-site-request`, while the site's own scripts (the CSRF
//! header, or JSON from the site's origin) and bearer-token clients keep working.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;
use uuid::Uuid;

/// The host the test's "browser" addresses; its own origin is `SITE`.
const HOST: &str = "hoithi.test";
const SITE: &str = "http://hoithi.test";
const EVIL: &str = "https://evil.example";

/// A fresh database with the vote batcher running, and the web routes plus the tus upload
/// routes behind the same session and CSRF layer as in the real process.
async fn site() -> (TestEnv, axum::Router, StopOnDrop) {
    let env = TestEnv::new().await;
    let state = env.state();
    let stop = start_votes(&state, &[]);
    let routes = hoithi_upload::router()
        .merge(hoithi_web::router())
        .with_state(state.clone());
    let app = hoithi_web::security::layers(routes, state);
    (env, app, stop)
}

/// A browser signed in as a new verified user of `role`: (client, user id, email).
async fn signed_in(env: &TestEnv, app: &axum::Router, role: Role) -> (Client, i64, String) {
    let (id, _, email) = user_in(env, role, None).await;
    let mut c = Client {
        app: app.clone(),
        cookies: Default::default(),
    };
    let res = c.login(&email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(c.cookies.keys().any(|k| k.ends_with("hoithi")), "a session");
    (c, id, email)
}

/// A request as a browser sends it: to `HOST`, with the client's cookies (if `cookies`),
/// the given headers and body.
async fn send(
    c: &mut Client,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
    cookies: bool,
) -> Res {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::HOST, HOST);
    if cookies {
        let jar = c
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        req = req.header(header::COOKIE, jar);
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    c.send(req.body(Body::from(body.to_owned())).unwrap()).await
}

fn code(res: &Res) -> String {
    serde_json::from_str::<serde_json::Value>(&res.body)
        .ok()
        .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn assert_cross_site(res: &Res, what: &str) {
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{what}: {}", res.body);
    assert_eq!(code(res), "cross-site-request", "{what}: {}", res.body);
}

async fn votes_of(env: &TestEnv, entry: Uuid) -> i64 {
    sqlx::query_scalar("select count(*) from vote where entry_id = $1 and valid")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

const TEXT: (&str, &str) = ("content-type", "text/plain");
const JSON: (&str, &str) = ("content-type", "application/json");

#[tokio::test]
async fn a_cross_site_page_cannot_vote_with_a_visitors_session_but_the_vote_button_can() {
    let (env, app, _stop) = site().await;
    let (_, _, entries) = env.contest_in_voting(1).await;
    let entry = entries[0];
    let votes = format!("/api/v1/entries/{entry}/votes");
    let (mut victim, _, _) = signed_in(&env, &app, Role::Member).await;

    // The attack of the issue: only the cookie and a text/plain body (a no-cors fetch).
    let res = send(&mut victim, "POST", &votes, &[TEXT], "", true).await;
    assert_cross_site(&res, "cookie + text/plain");
    // The same with the attacker's Origin, with or without a JSON type or a guessed token.
    let res = send(
        &mut victim,
        "POST",
        &votes,
        &[TEXT, ("origin", EVIL)],
        "",
        true,
    )
    .await;
    assert_cross_site(&res, "cookie + foreign Origin");
    let res = send(
        &mut victim,
        "POST",
        &votes,
        &[JSON, ("origin", EVIL)],
        "{}",
        true,
    )
    .await;
    assert_cross_site(&res, "cookie + JSON + foreign Origin");
    let res = send(
        &mut victim,
        "POST",
        &votes,
        &[("origin", "null"), JSON],
        "{}",
        true,
    )
    .await;
    assert_cross_site(&res, "cookie + JSON + Origin null (sandboxed frame)");
    let res = send(
        &mut victim,
        "POST",
        &votes,
        &[
            ("x-csrf-token", "guessed.token"),
            ("referer", &format!("{SITE}/")),
        ],
        "",
        true,
    )
    .await;
    assert_cross_site(&res, "cookie + a token that is not the cookie's");
    let res = send(
        &mut victim,
        "POST",
        &votes,
        &[JSON, ("referer", "https://evil.example/page")],
        "{}",
        true,
    )
    .await;
    assert_cross_site(&res, "cookie + JSON + foreign Referer");
    assert_eq!(votes_of(&env, entry).await, 0, "no refused request voted");

    // The vote button: the page's CSRF token in x-csrf-token, as vote.js sends it.
    let token = victim.csrf();
    assert!(!token.is_empty());
    let page = victim.get("/").await;
    assert!(
        page.body
            .contains(&format!(r#"<meta name="csrf-token" content="{token}">"#)),
        "pages hand their token to scripts: {}",
        page.body
    );
    let res = send(
        &mut victim,
        "POST",
        &votes,
        &[("x-csrf-token", &token), ("origin", SITE)],
        "",
        true,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(votes_of(&env, entry).await, 1);

    // JSON from the site's own origin (judging.js's autosave) passes the check too.
    let (mut second, _, _) = signed_in(&env, &app, Role::Member).await;
    let res = send(
        &mut second,
        "POST",
        &votes,
        &[JSON, ("origin", SITE)],
        "{}",
        true,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let (mut third, _, _) = signed_in(&env, &app, Role::Member).await;
    let res = send(
        &mut third,
        "POST",
        &votes,
        &[JSON, ("referer", &format!("{SITE}/contests/x/vote"))],
        "{}",
        true,
    )
    .await;
    assert_eq!(
        res.status,
        StatusCode::CREATED,
        "Referer without Origin: {}",
        res.body
    );

    // Bearer clients are unchanged: no token header, no JSON, any Origin.
    let (_, bearer) = env.user(Role::Member).await;
    let auth = format!("Bearer {bearer}");
    let res = send(
        &mut third,
        "POST",
        &votes,
        &[TEXT, ("origin", EVIL), ("authorization", &auth)],
        "",
        false,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(votes_of(&env, entry).await, 4);
}

#[tokio::test]
async fn a_cross_site_page_cannot_invalidate_or_restore_votes_with_an_organizers_session() {
    let (env, app, _stop) = site().await;
    let (_, slug, entries) = env.contest_in_voting(1).await;
    let entry = entries[0];
    let votes = format!("/api/v1/entries/{entry}/votes");
    let mut voters = Vec::new();
    for _ in 0..2 {
        let (id, bearer) = env.user(Role::Member).await;
        let mut c = Client::new(env.state());
        let res = c.api("POST", &votes, Some(&bearer), None).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        voters.push(id);
    }
    let (mut admin, _, _) = signed_in(&env, &app, Role::Admin).await;
    let invalidate = format!("/api/v1/contests/{slug}/vote-invalidations");
    let body = json!({"voter_id": voters[0], "reason": "mua phiếu"}).to_string();

    let res = send(&mut admin, "POST", &invalidate, &[TEXT], &body, true).await;
    assert_cross_site(&res, "invalidate with cookie + text/plain");
    let res = send(
        &mut admin,
        "POST",
        &invalidate,
        &[JSON, ("origin", EVIL)],
        &body,
        true,
    )
    .await;
    assert_cross_site(&res, "invalidate with a forged Origin");
    assert_eq!(votes_of(&env, entry).await, 2, "no vote was invalidated");

    // The organizer's own script: the CSRF header.
    let token = admin.csrf();
    let res = send(
        &mut admin,
        "POST",
        &invalidate,
        &[JSON, ("x-csrf-token", &token)],
        &body,
        true,
    )
    .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    assert_eq!(votes_of(&env, entry).await, 1);
    let id = res.json()["id"].as_i64().unwrap();

    let restore = format!("/api/v1/vote-invalidations/{id}/restore");
    let body = json!({"reason": "nhầm"}).to_string();
    let res = send(&mut admin, "POST", &restore, &[TEXT], &body, true).await;
    assert_cross_site(&res, "restore with cookie + text/plain");
    let res = send(
        &mut admin,
        "POST",
        &restore,
        &[TEXT, ("origin", EVIL)],
        &body,
        true,
    )
    .await;
    assert_cross_site(&res, "restore with a forged Origin");
    assert_eq!(votes_of(&env, entry).await, 1, "nothing was restored");
    let res = send(
        &mut admin,
        "POST",
        &restore,
        &[JSON, ("origin", SITE)],
        &body,
        true,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(votes_of(&env, entry).await, 2);
}

#[tokio::test]
async fn a_cross_site_page_cannot_make_the_site_mail_codes_or_try_passwords() {
    let (env, app, _stop) = site().await;
    let (mut signed, _, _) = signed_in(&env, &app, Role::Member).await;
    let target = format!("nan-nhan-{}@example.vn", Uuid::new_v4().simple());
    let body = json!({"email": target}).to_string();

    // With a visitor's session cookie and text/plain, as in the issue.
    let res = send(
        &mut signed,
        "POST",
        "/api/v1/voters/codes",
        &[TEXT],
        &body,
        true,
    )
    .await;
    assert_cross_site(&res, "voters/codes with cookie + text/plain");
    // Without any session, from a foreign page.
    let mut anon = Client {
        app: app.clone(),
        cookies: Default::default(),
    };
    for (ct, origin) in [(TEXT, EVIL), (JSON, EVIL), (JSON, "null")] {
        let res = send(
            &mut anon,
            "POST",
            "/api/v1/voters/codes",
            &[ct, ("origin", origin)],
            &body,
            false,
        )
        .await;
        assert_cross_site(&res, &format!("voters/codes from {origin}"));
    }
    assert!(outbox(&env, &target).await.is_empty(), "no code was mailed");
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let login = json!({"email": email, "password": PASSWORD}).to_string();
    let res = send(
        &mut anon,
        "POST",
        "/api/v1/auth/login",
        &[TEXT, ("origin", EVIL)],
        &login,
        false,
    )
    .await;
    assert_cross_site(&res, "login from a foreign page");

    // Programs without a browser (no Origin) and the site's own pages still work.
    let res = send(
        &mut anon,
        "POST",
        "/api/v1/voters/codes",
        &[JSON],
        &body,
        false,
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    assert_eq!(outbox(&env, &target).await.len(), 1);
    let res = send(
        &mut anon,
        "POST",
        "/api/v1/auth/login",
        &[JSON, ("origin", SITE)],
        &login,
        false,
    )
    .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = send(
        &mut signed,
        "POST",
        "/api/v1/voters/codes",
        &[JSON, ("origin", SITE)],
        &body,
        true,
    )
    .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
}

#[tokio::test]
async fn the_configured_public_origin_is_the_sites_own_even_behind_a_proxy_that_rewrites_host() {
    let env = TestEnv::new().await;
    let state = state_with_public_url(&env, Some("https://thi.example.vn"));
    let mut anon = Client::new(state);
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let login = json!({"email": email, "password": PASSWORD}).to_string();
    // The proxy sends Host: backend:8080; the browser's Origin is the public URL.
    let req = |origin: &str| {
        Request::post("/api/v1/auth/login")
            .header(header::HOST, "backend:8080")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ORIGIN, origin)
            .body(Body::from(login.clone()))
            .unwrap()
    };
    let res = anon.send(req("https://thi.example.vn")).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let res = anon.send(req("https://thi.example.vn.evil.example")).await;
    assert_cross_site(&res, "a look-alike of the public origin");
}

#[tokio::test]
async fn a_cross_site_page_cannot_start_an_upload_with_an_authors_session_but_the_uploader_can() {
    let (env, app, _stop) = site().await;
    let contest = env.open_contest(&["photo"]).await;
    let (mut author, author_id, _) = signed_in(&env, &app, Role::Member).await;
    let entry = env.draft_entry(contest, author_id).await;
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, s);
    let metadata = format!(
        "entry_id {},filename {},filetype {}",
        b64(&entry.to_string()),
        b64("a.jpg"),
        b64("image/jpeg")
    );
    let tus = [
        ("tus-resumable", "1.0.0"),
        ("upload-length", "1000"),
        ("upload-metadata", metadata.as_str()),
    ];
    let mut headers = tus.to_vec();
    headers.push(TEXT);
    let res = send(&mut author, "POST", "/api/v1/uploads", &headers, "", true).await;
    assert_cross_site(&res, "tus creation with cookie only");
    let mut headers = tus.to_vec();
    headers.push(("origin", EVIL));
    let res = send(&mut author, "POST", "/api/v1/uploads", &headers, "", true).await;
    assert_cross_site(&res, "tus creation with a forged Origin");
    let uploads: i64 = sqlx::query_scalar("select count(*) from upload where entry_id = $1")
        .bind(entry)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(uploads, 0);

    // uploader.js adds the page's token to every tus request of a cookie session.
    let token = author.csrf();
    let mut headers = tus.to_vec();
    headers.push(("x-csrf-token", &token));
    let res = send(&mut author, "POST", "/api/v1/uploads", &headers, "", true).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
}
