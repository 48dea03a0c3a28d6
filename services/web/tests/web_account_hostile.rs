#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Account attacks of issue 15, each written as the attack and next to the happy path that
//! must keep working: pre-hijacking an address before its owner verifies it, API tokens that
//! outlive a password reset, reset links poisoned through a forged Host, and password
//! guessing spread over accounts, addresses and networks. Real router, real PostgreSQL.

mod support;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;

/// The path of the first link in a mail body.
fn path_of_link(body: &str) -> String {
    let link = full_link(body);
    let rest = link.split_once("://").unwrap().1;
    format!("/{}", rest.split_once('/').unwrap().1)
}

/// The first absolute link in a mail body.
fn full_link(body: &str) -> String {
    let start = body.find("http").expect("a link in the mail");
    body[start..].split_whitespace().next().unwrap().to_owned()
}

fn cookie_header(c: &Client) -> String {
    c.cookies
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Posts a form as a browser at `ip` would (the peer address the server sees), with extra
/// request headers.
async fn post_form_as(
    c: &mut Client,
    ip: Option<&str>,
    headers: &[(&str, &str)],
    uri: &str,
    fields: &[(&str, &str)],
) -> Res {
    if c.csrf().is_empty() {
        c.get("/").await;
    }
    let mut all: Vec<(&str, String)> = vec![("_csrf", c.csrf())];
    all.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let body = all
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&");
    let mut req = Request::post(uri)
        .header(header::COOKIE, cookie_header(c))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut req = req.body(Body::from(body)).unwrap();
    if let Some(ip) = ip {
        let addr: SocketAddr = format!("{ip}:40000").parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(addr));
    }
    c.send(req).await
}

/// Signs in through the login form from `ip`.
async fn login_from(c: &mut Client, ip: &str, email: &str, password: &str) -> Res {
    post_form_as(
        c,
        Some(ip),
        &[],
        "/login",
        &[("email", email), ("password", password)],
    )
    .await
}

async fn api_login(c: &mut Client, email: &str, password: &str, agent: &str) -> Res {
    let req = Request::post("/api/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::USER_AGENT, agent)
        .body(Body::from(
            json!({"email": email, "password": password}).to_string(),
        ))
        .unwrap();
    c.send(req).await
}

/// Whether a bearer token still acts for its user.
async fn token_works(c: &mut Client, token: &str) -> bool {
    // Any call that needs a user: an unknown entry is 404 for a caller, 401 for nobody.
    let res = c
        .api(
            "GET",
            "/api/v1/entries/00000000-0000-0000-0000-000000000000",
            Some(token),
            None,
        )
        .await;
    assert!(
        matches!(res.status, StatusCode::NOT_FOUND | StatusCode::UNAUTHORIZED),
        "{} {}",
        res.status,
        res.body
    );
    res.status != StatusCode::UNAUTHORIZED
}

async fn signed_in(c: &mut Client) -> bool {
    c.get("/me/entries").await.status == StatusCode::OK
}

fn retry_after(res: &Res) -> i64 {
    res.headers[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap()
}

const ATTACKER_PASSWORD: &str = "mật khẩu kẻ gian";

/// The attacker registers `victim` with a password of their own, keeps the session the
/// registration gives, and takes an API token with that password.
async fn pre_hijack(env: &TestEnv, victim: &str) -> (Client, String) {
    let mut attacker = Client::new(env.state());
    let res = attacker
        .post_form(
            "/register",
            &[
                ("email", victim),
                ("name", "Tên kẻ gian đặt"),
                ("password", ATTACKER_PASSWORD),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(signed_in(&mut attacker).await);
    let res = api_login(&mut attacker, victim, ATTACKER_PASSWORD, "curl/8").await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let token = res.json()["token"].as_str().unwrap().to_owned();
    assert!(token_works(&mut attacker, &token).await);
    (attacker, token)
}

/// Everything the attacker set up is gone.
async fn attacker_is_out(env: &TestEnv, attacker: &mut Client, token: &str, victim: &str) {
    assert!(!signed_in(attacker).await, "the attacker's session ended");
    assert!(
        !token_works(attacker, token).await,
        "the attacker's token ended"
    );
    let res = api_login(attacker, victim, ATTACKER_PASSWORD, "curl/8").await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "the attacker's password is gone: {}",
        res.body
    );
    let name: String = sqlx::query_scalar("select display_name from app_user where email = $1")
        .bind(victim)
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_ne!(
        name, "Tên kẻ gian đặt",
        "nothing the registrant chose stays"
    );
}

// ---- 5. Pre-hijacking ------------------------------------------------------------------

#[tokio::test]
async fn a_victim_signing_in_by_mailed_code_ends_the_password_session_and_token_of_whoever_registered_the_address()
 {
    let env = TestEnv::new().await;
    let victim = "nan-nhan@example.vn";
    let (mut attacker, token) = pre_hijack(&env, victim).await;

    let mut owner = Client::new(env.state());
    let res = owner
        .api(
            "POST",
            "/api/v1/voters/codes",
            None,
            Some(json!({"email": victim})),
        )
        .await;
    assert_eq!(res.status, StatusCode::ACCEPTED, "{}", res.body);
    let (_, _, body) = outbox(&env, victim).await.pop().unwrap();
    let code: String = body
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .unwrap()
        .to_owned();
    let res = owner
        .api(
            "POST",
            "/api/v1/voters/sessions",
            None,
            Some(json!({"email": victim, "code": code})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let owner_token = res.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(res.json()["user"]["email_verified"], true);

    attacker_is_out(&env, &mut attacker, &token, victim).await;
    assert!(
        token_works(&mut owner, &owner_token).await,
        "the owner's own token works"
    );
}

#[tokio::test]
async fn a_victim_opening_the_verification_link_ends_the_registrants_access_and_sets_a_password_of_their_own()
 {
    let env = TestEnv::new().await;
    let victim = "chu-hop-thu@example.vn";
    let (mut attacker, token) = pre_hijack(&env, victim).await;
    let mails = outbox(&env, victim).await;
    assert_eq!(mails[0].0, "verify-email");
    let link = path_of_link(&mails[0].2);

    // The mailbox's owner opens the link in a browser of their own.
    let mut owner = Client::new(env.state());
    let res = owner.get(&link).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let set_password = res.location().to_owned();
    assert!(
        set_password.starts_with("/reset-password/"),
        "{set_password}"
    );
    attacker_is_out(&env, &mut attacker, &token, victim).await;

    let form = owner.get(&set_password).await;
    assert!(
        form.body.contains("Email đã được xác nhận"),
        "{}",
        form.body
    );
    let path = set_password.split('?').next().unwrap();
    let res = owner
        .post_form(path, &[("password", "mật khẩu của chủ")])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert_eq!(
        owner.login(victim, "mật khẩu của chủ").await.status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        owner.get(&link).await.status,
        StatusCode::GONE,
        "the verification link works once"
    );
}

#[tokio::test]
async fn whoever_registers_and_verifies_in_the_same_browser_keeps_their_password_and_session() {
    let env = TestEnv::new().await;
    let email = "tu-dang-ky@example.vn";
    let mut me = Client::new(env.state());
    me.post_form(
        "/register",
        &[
            ("email", email),
            ("name", "Chính chủ"),
            ("password", "mật khẩu của tôi"),
            ("consent", "1"),
        ],
    )
    .await;
    let link = path_of_link(&outbox(&env, email).await[0].2);
    assert_eq!(me.get(&link).await.status, StatusCode::OK);
    assert!(signed_in(&mut me).await, "still signed in");
    let res = api_login(&mut me, email, "mật khẩu của tôi", "app").await;
    assert_eq!(res.status, StatusCode::OK, "the password still works");
    assert_eq!(res.json()["user"]["email_verified"], true);
    assert_eq!(res.json()["user"]["display_name"], "Chính chủ");
}

// ---- 6. API tokens after a password reset or change ------------------------------------

#[tokio::test]
async fn a_password_reset_revokes_every_api_token_of_the_account() {
    let env = TestEnv::new().await;
    let (_, old_token, email) = user_in(&env, Role::Member, None).await;
    let mut thief = Client::new(env.state());
    let stolen = api_login(&mut thief, &email, PASSWORD, "python-requests/2.32").await;
    let stolen = stolen.json()["token"].as_str().unwrap().to_owned();
    assert!(token_works(&mut thief, &stolen).await);

    let mut owner = Client::new(env.state());
    owner
        .post_form("/forgot-password", &[("email", email.as_str())])
        .await;
    let link = path_of_link(&outbox(&env, &email).await.pop().unwrap().2);
    let res = owner
        .post_form(&link, &[("password", "mật khẩu mới tinh")])
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);

    assert!(
        !token_works(&mut thief, &stolen).await,
        "the stolen token ended"
    );
    assert!(!token_works(&mut thief, &old_token).await);
    let fresh = api_login(&mut owner, &email, "mật khẩu mới tinh", "app").await;
    let fresh = fresh.json()["token"].as_str().unwrap().to_owned();
    assert!(token_works(&mut owner, &fresh).await, "new tokens work");
}

#[tokio::test]
async fn a_second_reset_link_is_dead_once_the_first_one_was_used() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    for _ in 0..2 {
        c.post_form("/forgot-password", &[("email", email.as_str())])
            .await;
    }
    let mails = outbox(&env, &email).await;
    let first = path_of_link(&mails[0].2);
    let second = path_of_link(&mails[1].2);
    assert_eq!(
        c.post_form(&second, &[("password", "mật khẩu mới 1")])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        c.post_form(&first, &[("password", "mật khẩu mới 2")])
            .await
            .status,
        StatusCode::GONE,
        "an older link cannot undo the reset"
    );
}

#[tokio::test]
async fn changing_the_password_on_the_account_page_needs_the_current_one_and_ends_every_token_and_other_session()
 {
    let env = TestEnv::new().await;
    let (_, token, email) = user_in(&env, Role::Member, None).await;
    let mut other = Client::new(env.state());
    other.login(&email, PASSWORD).await;
    let mut me = Client::new(env.state());
    me.login(&email, PASSWORD).await;

    let page = me.get("/account").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Mật khẩu hiện tại"), "{}", page.body);

    let wrong = me
        .post_form(
            "/account/password",
            &[("current", "không phải"), ("password", "mật khẩu mới nè")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(token_works(&mut me, &token).await, "nothing changed");

    let res = me
        .post_form(
            "/account/password",
            &[("current", PASSWORD), ("password", "mật khẩu mới nè")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(signed_in(&mut me).await, "this browser stays signed in");
    assert!(!signed_in(&mut other).await, "other sessions end");
    assert!(!token_works(&mut me, &token).await, "tokens end");
    assert_eq!(
        api_login(&mut me, &email, PASSWORD, "app").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_login(&mut me, &email, "mật khẩu mới nè", "app")
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn the_account_page_lists_tokens_by_label_without_their_secret_and_revokes_one() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut me = Client::new(env.state());
    let phone = api_login(&mut me, &email, PASSWORD, "ZaloMiniApp/1.0").await;
    let phone = phone.json()["token"].as_str().unwrap().to_owned();
    let script = api_login(&mut me, &email, PASSWORD, "organizer-script/2").await;
    let script = script.json()["token"].as_str().unwrap().to_owned();
    me.login(&email, PASSWORD).await;

    let page = me.get("/account").await;
    assert!(page.body.contains("ZaloMiniApp/1.0"), "{}", page.body);
    assert!(page.body.contains("organizer-script/2"));
    assert!(!page.body.contains(&phone), "never the secret");
    assert!(!page.body.contains(&script));

    let id: i64 = sqlx::query_scalar("select api_token_id from api_token where label = $1")
        .bind("ZaloMiniApp/1.0")
        .fetch_one(&env.db)
        .await
        .unwrap();
    // Someone else cannot revoke it.
    let (_, _, stranger) = user_in(&env, Role::Member, None).await;
    let mut other = Client::new(env.state());
    other.login(&stranger, PASSWORD).await;
    let res = other
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(token_works(&mut me, &phone).await);

    let res = me
        .post_form(&format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert!(!token_works(&mut me, &phone).await, "revoked");
    assert!(token_works(&mut me, &script).await, "the other one stays");
    let page = me.get(res.location()).await;
    assert!(!page.body.contains("ZaloMiniApp/1.0"));
    assert!(page.body.contains("Đã thu hồi mã API."));
}

// ---- 8. Reset-link poisoning -----------------------------------------------------------

#[tokio::test]
async fn a_forged_host_never_reaches_a_mailed_link_with_or_without_a_public_url() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let forged = [
        ("host", "evil.example"),
        ("x-forwarded-host", "evil.example"),
        ("forwarded", "host=evil.example"),
    ];

    // No public URL: the server's own listen address (TestEnv's default, 127.0.0.1:8080).
    let mut c = Client::new(state_with_public_url(&env, None));
    let res = post_form_as(
        &mut c,
        None,
        &forged,
        "/forgot-password",
        &[("email", email.as_str())],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
    let reset = full_link(&outbox(&env, &email).await.pop().unwrap().2);
    assert!(
        reset.starts_with("http://127.0.0.1:8080/reset-password/"),
        "{reset}"
    );
    let res = post_form_as(
        &mut c,
        None,
        &forged,
        "/register",
        &[
            ("email", "moi@example.vn"),
            ("name", "Mới"),
            ("password", "mật khẩu dài"),
            ("consent", "1"),
        ],
    )
    .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let verify = full_link(&outbox(&env, "moi@example.vn").await.pop().unwrap().2);
    assert!(
        verify.starts_with("http://127.0.0.1:8080/verify-email/"),
        "{verify}"
    );

    // A public URL: always it.
    let mut c = Client::new(state_with_public_url(
        &env,
        Some("https://hoithi.example.vn"),
    ));
    post_form_as(
        &mut c,
        None,
        &forged,
        "/forgot-password",
        &[("email", email.as_str())],
    )
    .await;
    let reset = full_link(&outbox(&env, &email).await.pop().unwrap().2);
    assert!(
        reset.starts_with("https://hoithi.example.vn/reset-password/"),
        "{reset}"
    );
    let all: Vec<String> = sqlx::query_scalar("select body from outbox")
        .fetch_all(&env.db)
        .await
        .unwrap();
    assert!(all.iter().all(|b| !b.contains("evil.example")), "{all:?}");
}

// ---- 11. Sign-in and mail limits -------------------------------------------------------

#[tokio::test]
async fn one_address_trying_thirty_accounts_is_stopped_long_before_the_thirtieth() {
    let env = TestEnv::new().await;
    let (_, _, real) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    let mut first_429 = None;
    for i in 0..30 {
        let res = login_from(
            &mut c,
            "198.51.100.7",
            &format!("nguoi{i}@example.vn"),
            "123456",
        )
        .await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            assert!((1..=900).contains(&retry_after(&res)));
            assert!(res.body.contains("giây"), "{}", res.body);
            first_429.get_or_insert(i + 1);
        } else {
            assert_eq!(res.status, StatusCode::UNAUTHORIZED);
        }
    }
    let first = first_429.expect("a 429 within 30 accounts");
    assert!(first <= 21, "stopped at try {first}");
    // The API shares the budget and says so with a stable code.
    let res = c
        .send({
            let mut req = Request::post("/api/v1/auth/login")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"email": real, "password": PASSWORD}).to_string(),
                ))
                .unwrap();
            req.extensions_mut()
                .insert(ConnectInfo("198.51.100.7:1".parse::<SocketAddr>().unwrap()));
            req
        })
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(res.json()["error"]["code"], "too-many-attempts");
    // Someone elsewhere signs in as usual.
    let mut elsewhere = Client::new(env.state());
    assert_eq!(
        login_from(&mut elsewhere, "203.0.113.20", &real, PASSWORD)
            .await
            .status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn one_account_tried_from_many_networks_is_held_but_its_owner_at_a_known_address_gets_in() {
    let env = TestEnv::new().await;
    let (_, _, victim) = user_in(&env, Role::Member, None).await;
    // The owner signed in from home before.
    let mut owner = Client::new(env.state());
    assert_eq!(
        login_from(&mut owner, "203.0.113.5", &victim, PASSWORD)
            .await
            .status,
        SEE_OTHER
    );
    owner.post_form("/logout", &[]).await;

    // An attacker spreads guesses over addresses in different networks: fresh tries per
    // (email, address) no longer help.
    let mut attacker = Client::new(env.state());
    let mut held = None;
    for i in 0..15 {
        let ip = format!("192.0.{}.9", 10 + i);
        let res = login_from(&mut attacker, &ip, &victim, "đoán bừa").await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            let wait = retry_after(&res);
            assert!((1..=900).contains(&wait), "capped at 15 minutes: {wait}");
            held.get_or_insert(i + 1);
        }
    }
    let held = held.expect("the account is held");
    assert!(held <= 11, "held at try {held}");
    // Even the right password from a new address waits...
    let res = login_from(&mut attacker, "192.0.99.9", &victim, PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    // ...but the owner at their known address is not locked out.
    assert_eq!(
        login_from(&mut owner, "203.0.113.5", &victim, PASSWORD)
            .await
            .status,
        SEE_OTHER
    );
}

const SEE_OTHER: StatusCode = StatusCode::SEE_OTHER;

#[tokio::test]
async fn tries_while_blocked_are_counted_and_lengthen_the_wait_up_to_fifteen_minutes() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    for _ in 0..5 {
        assert_eq!(
            login_from(&mut c, "198.51.100.30", &email, "sai")
                .await
                .status,
            StatusCode::UNAUTHORIZED
        );
    }
    let mut waits = Vec::new();
    for _ in 0..12 {
        let res = login_from(&mut c, "198.51.100.30", &email, "sai").await;
        assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
        waits.push(retry_after(&res));
    }
    assert!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
    assert!(waits[1] > waits[0], "a try while blocked counts: {waits:?}");
    assert_eq!(*waits.last().unwrap(), 900, "capped: {waits:?}");
    let failures: i32 = sqlx::query_scalar(
        "select failures from login_throttle where throttle_key = 'login-account:' || $1",
    )
    .bind(&email)
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert_eq!(failures, 17, "every try was counted");

    // When the wait is over the owner gets in.
    sqlx::query("update login_throttle set blocked_until = now() - interval '1 second'")
        .execute(&env.db)
        .await
        .unwrap();
    assert_eq!(
        login_from(&mut c, "198.51.100.30", &email, PASSWORD)
            .await
            .status,
        SEE_OTHER
    );
}

#[tokio::test]
async fn a_network_spreading_guesses_over_its_addresses_is_stopped() {
    let env = TestEnv::new().await;
    let mut c = Client::new(env.state());
    let mut first_429 = None;
    for i in 1..=70 {
        // One guess per address and account: only the network's count can stop this.
        let ip = format!("198.51.100.{i}");
        let res = login_from(&mut c, &ip, &format!("ai{i}@example.vn"), "123456").await;
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            first_429.get_or_insert(i);
        }
    }
    let first = first_429.expect("the network is stopped");
    assert!(first <= 61, "stopped at {first}");
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    assert_eq!(
        login_from(&mut c, "203.0.113.77", &email, PASSWORD)
            .await
            .status,
        SEE_OTHER,
        "another network is not affected"
    );
}

#[tokio::test]
async fn mail_is_limited_per_recipient_and_per_address_across_every_kind_of_mail() {
    let env = TestEnv::new().await;
    let (_, _, victim) = user_in(&env, Role::Member, None).await;
    // Mail-bombing one mailbox from many addresses.
    let mut c = Client::new(env.state());
    let mut statuses = Vec::new();
    for i in 0..6 {
        let ip = format!("192.0.{}.1", 50 + i);
        let res = post_form_as(
            &mut c,
            Some(&ip),
            &[],
            "/forgot-password",
            &[("email", victim.as_str())],
        )
        .await;
        statuses.push(res.status.as_u16());
        if res.status == StatusCode::TOO_MANY_REQUESTS {
            assert!((1..=900).contains(&retry_after(&res)));
            assert!(res.body.contains("Vui lòng chờ"), "{}", res.body);
        }
    }
    assert_eq!(statuses, [200, 200, 200, 200, 200, 429]);
    assert_eq!(outbox(&env, &victim).await.len(), 5);
    // The voter code shares the recipient's budget.
    let res = c
        .api(
            "POST",
            "/api/v1/voters/codes",
            None,
            Some(json!({"email": victim})),
        )
        .await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);

    // One address asking for mail to many mailboxes, and registering many accounts.
    let mut statuses = Vec::new();
    for i in 0..11 {
        let email = format!("dang-ky-{i}@example.vn");
        let res = post_form_as(
            &mut c,
            Some("198.51.100.99"),
            &[],
            "/register",
            &[
                ("email", email.as_str()),
                ("name", "Hàng loạt"),
                ("password", "mật khẩu dài"),
                ("consent", "1"),
            ],
        )
        .await;
        statuses.push(res.status.as_u16());
    }
    assert_eq!(statuses[..10], [303; 10]);
    assert_eq!(statuses[10], 429, "{statuses:?}");
    let mut statuses = Vec::new();
    for i in 0..11 {
        let email = format!("khac-{i}@example.vn");
        let res = post_form_as(
            &mut c,
            Some("198.51.100.99"),
            &[],
            "/forgot-password",
            &[("email", email.as_str())],
        )
        .await;
        statuses.push(res.status.as_u16());
    }
    // Eleven registrations (the refused one counts too) and nine reset requests spend the
    // address's twenty mails.
    assert_eq!(statuses[..9], [200; 9], "{statuses:?}");
    assert_eq!(statuses[9], 429, "{statuses:?}");
    // A reset request from elsewhere is still answered.
    let res = post_form_as(
        &mut c,
        Some("203.0.113.8"),
        &[],
        "/forgot-password",
        &[("email", "khac-0@example.vn")],
    )
    .await;
    assert_eq!(res.status, StatusCode::OK);
}

#[tokio::test]
async fn an_api_client_lists_its_tokens_without_secrets_and_revokes_one_but_not_someone_elses() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    let a = api_login(&mut c, &email, PASSWORD, "ZaloMiniApp/1.0").await;
    let a = a.json()["token"].as_str().unwrap().to_owned();
    let b = api_login(&mut c, &email, PASSWORD, "organizer-script/2").await;
    let b = b.json()["token"].as_str().unwrap().to_owned();

    let res = c.api("GET", "/api/v1/me/tokens", Some(&a), None).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    assert!(
        !res.body.contains(&a) && !res.body.contains(&b),
        "no secrets"
    );
    let tokens = res.json()["tokens"].as_array().unwrap().clone();
    assert_eq!(tokens.len(), 3, "two logins and the harness's token");
    assert_eq!(tokens[0]["label"], "organizer-script/2", "newest first");
    let script_id = tokens[0]["id"].as_i64().unwrap();

    let (_, stranger, _) = user_in(&env, Role::Member, None).await;
    let uri = format!("/api/v1/me/tokens/{script_id}");
    let res = c.api("DELETE", &uri, Some(&stranger), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert!(token_works(&mut c, &b).await);

    let res = c.api("DELETE", &uri, Some(&a), None).await;
    assert_eq!(res.status, StatusCode::NO_CONTENT);
    assert!(!token_works(&mut c, &b).await, "revoked");
    assert!(token_works(&mut c, &a).await);
    let res = c.api("GET", "/api/v1/me/tokens", None, None).await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
}
