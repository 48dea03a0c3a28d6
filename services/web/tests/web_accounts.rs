#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Accounts through the real router and a real database: registration and verification mail,
//! CSRF, cookie flags, session cycling, throttling, password reset, the token login.

mod support;

use axum::http::StatusCode;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use serde_json::json;
use support::*;

fn link_in(body: &str) -> String {
    let start = body.find("http").expect("a link in the mail");
    let link = body[start..].split_whitespace().next().unwrap();
    link.split_once("://")
        .unwrap()
        .1
        .split_once('/')
        .map(|(_, p)| format!("/{p}"))
        .unwrap()
}

#[tokio::test]
async fn registering_signs_in_and_mails_a_one_time_verification_link() {
    let env = TestEnv::new().await;
    units(&env).await;
    let mut c = Client::new(env.state());
    let res = c
        .post_form(
            "/register",
            &[
                ("email", " An@Example.VN "),
                ("name", "Nguyễn An"),
                ("password", "mật khẩu dài"),
                ("consent", "1"),
                ("unit", "q1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let me = c.get("/me/entries").await;
    assert_eq!(me.status, StatusCode::OK, "signed in right away");
    let mails = outbox(&env, "an@example.vn").await;
    assert_eq!(mails.len(), 1);
    assert_eq!(mails[0].0, "verify-email");
    let link = link_in(&mails[0].2);
    assert!(link.starts_with("/verify-email/"), "{link}");
    assert_eq!(c.get(&link).await.status, StatusCode::OK);
    let verified: bool = sqlx::query_scalar(
        "select email_verified_at is not null from app_user where email = 'an@example.vn'",
    )
    .fetch_one(&env.db)
    .await
    .unwrap();
    assert!(verified);
    assert_eq!(
        c.get(&link).await.status,
        StatusCode::GONE,
        "a link works once"
    );
}

#[tokio::test]
async fn a_bad_registration_keeps_what_was_typed_and_says_why_next_to_each_field() {
    let env = TestEnv::new().await;
    let mut c = Client::new(env.state());
    let res = c
        .post_form(
            "/register",
            &[
                ("email", "not-an-email"),
                ("name", "Trần <b>Bình</b>"),
                ("password", "short"),
                ("consent", "1"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(res.body.contains(r#"value="not-an-email""#), "{}", res.body);
    assert!(
        res.body.contains("Trần &#60;b&#62;Bình&#60;/b&#62;")
            || res.body.contains("Trần &lt;b&gt;Bình&lt;/b&gt;"),
        "escaped and kept: {}",
        res.body
    );
    assert!(res.body.contains(r#"id="email-error""#));
    assert!(res.body.contains("Email không hợp lệ."));
    assert!(res.body.contains("Mật khẩu cần ít nhất 8 ký tự."));
    assert!(!res.body.contains("short"), "the password is never echoed");
    // A taken email.
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let res = c
        .post_form(
            "/register",
            &[
                ("email", email.as_str()),
                ("name", "A"),
                ("password", "12345678"),
                ("consent", "1"),
            ],
        )
        .await;
    assert!(res.body.contains("Email này đã có tài khoản."));
}

#[tokio::test]
async fn every_page_form_without_a_valid_csrf_token_is_refused_with_403() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    c.get("/login").await;
    assert!(!c.csrf().is_empty(), "the first page sets the token cookie");
    for uri in [
        "/login",
        "/register",
        "/logout",
        "/forgot-password",
        "/admin/units",
    ] {
        let res = c
            .post_raw(
                uri,
                &[("email", email.clone()), ("password", PASSWORD.into())],
            )
            .await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{uri} without a token");
        let res = c
            .post_raw(
                uri,
                &[("_csrf", "forged.token".into()), ("email", email.clone())],
            )
            .await;
        assert_eq!(
            res.status,
            StatusCode::FORBIDDEN,
            "{uri} with a forged token"
        );
    }
    // No cookie at all, a token in the form: still refused (double submit needs both).
    let mut fresh = Client::new(env.state());
    let res = fresh.post_raw("/login", &[("_csrf", c.csrf())]).await;
    assert_eq!(res.status, StatusCode::FORBIDDEN);
    // With the token it works.
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_csrf_key_lives_in_the_database_so_tokens_survive_a_restart() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    c.get("/login").await;
    // A new router (a restarted process or another node) accepts the same token.
    c.app = hoithi_web::app(env.state());
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn cookies_are_host_prefixed_secure_httponly_and_lax_behind_https() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(state_with_public_url(
        &env,
        Some("https://hoithi.example.vn"),
    ));
    let page = c.get("/login").await;
    assert!(
        page.headers["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    let res = c.login(&email, PASSWORD).await;
    let session = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-hoithi="))
        .expect("a __Host- session cookie");
    for flag in ["Path=/", "HttpOnly", "SameSite=Lax", "Secure"] {
        assert!(session.contains(flag), "{session} lacks {flag}");
    }
    assert!(
        !session.contains("Domain="),
        "__Host- cookies have no domain"
    );
    assert!(c.cookies.contains_key("__Host-hoithi-csrf"));

    // Plain-http localhost: no Secure (the browser would drop it), no __Host- name.
    let mut local = Client::new(env.state());
    let page = local.get("/login").await;
    assert!(page.headers.get("strict-transport-security").is_none());
    let res = local.login(&email, PASSWORD).await;
    let session = res
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("hoithi="))
        .unwrap();
    assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax"));
    assert!(!session.contains("Secure"));
}

#[tokio::test]
async fn pages_send_csp_nosniff_frame_ancestors_and_referrer_policy() {
    let env = TestEnv::new().await;
    let mut c = Client::new(env.state());
    let res = c.get("/").await;
    let csp = res.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    assert!(csp.contains("frame-ancestors 'none'"));
    assert_eq!(res.headers["x-content-type-options"], "nosniff");
    assert_eq!(
        res.headers["referrer-policy"],
        "strict-origin-when-cross-origin"
    );
    assert!(!res.body.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn signing_in_replaces_the_session_id_and_the_old_one_stops_working() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    c.login(&email, PASSWORD).await;
    let first = c.cookies["hoithi"].clone();
    let mut old = c.clone();
    c.login(&email, PASSWORD).await;
    let second = c.cookies["hoithi"].clone();
    assert_ne!(first, second, "a new id at each sign-in");
    assert_eq!(c.get("/me/entries").await.status, StatusCode::OK);
    let res = old.get("/me/entries").await;
    assert_eq!(
        res.status,
        StatusCode::SEE_OTHER,
        "the replaced session is gone"
    );
    assert!(res.location().starts_with("/login"));
}

#[tokio::test]
async fn logout_ends_one_session_and_logout_everywhere_ends_all_of_them() {
    let env = TestEnv::new().await;
    let (_, token, email) = user_in(&env, Role::Member, None).await;
    let mut a = Client::new(env.state());
    let mut b = Client::new(env.state());
    a.login(&email, PASSWORD).await;
    b.login(&email, PASSWORD).await;
    a.post_form("/logout", &[]).await;
    assert_eq!(a.get("/me/entries").await.status, StatusCode::SEE_OTHER);
    assert_eq!(b.get("/me/entries").await.status, StatusCode::OK);
    a.login(&email, PASSWORD).await;
    b.post_form("/logout-everywhere", &[]).await;
    assert_eq!(a.get("/me/entries").await.status, StatusCode::SEE_OTHER);
    let res = a
        .api(
            "GET",
            "/api/v1/entries/00000000-0000-0000-0000-000000000000",
            Some(&token),
            None,
        )
        .await;
    assert_eq!(
        res.status,
        StatusCode::UNAUTHORIZED,
        "API tokens are revoked too"
    );
}

#[tokio::test]
async fn repeated_failed_logins_get_429_with_a_wait_but_do_not_lock_the_account() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut c = Client::new(env.state());
    for _ in 0..5 {
        assert_eq!(
            c.login(&email, "wrong password").await.status,
            StatusCode::UNAUTHORIZED
        );
    }
    let res = c.login(&email, PASSWORD).await;
    assert_eq!(res.status, StatusCode::TOO_MANY_REQUESTS);
    let wait: i64 = res.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&wait), "{wait}");
    assert!(res.body.contains("giây"), "{}", res.body);
    assert!(
        res.body.contains(&format!("value=\"{email}\"")),
        "the email is kept"
    );
    // The API shares the count.
    let api = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": PASSWORD})),
        )
        .await;
    assert_eq!(api.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(api.json()["error"]["code"], "too-many-attempts");
    // Once the wait is over the right password works and clears the count.
    sqlx::query("update login_throttle set blocked_until = now() - interval '1 second'")
        .execute(&env.db)
        .await
        .unwrap();
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let left: i64 = sqlx::query_scalar("select count(*) from login_throttle")
        .fetch_one(&env.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_weak_password_hash_is_replaced_at_sign_in() {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let env = TestEnv::new().await;
    let (id, _, email) = user_in(&env, Role::Member, None).await;
    let weak = argon2::Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(4096, 1, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes(), &SaltString::generate(&mut OsRng))
    .unwrap()
    .to_string();
    sqlx::query("update app_user set password_hash = $2 where app_user_id = $1")
        .bind(id)
        .bind(&weak)
        .execute(&env.db)
        .await
        .unwrap();
    let mut c = Client::new(env.state());
    assert_eq!(
        c.login(&email, PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    let now: String =
        sqlx::query_scalar("select password_hash from app_user where app_user_id = $1")
            .bind(id)
            .fetch_one(&env.db)
            .await
            .unwrap();
    assert!(now.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{now}");
}

#[tokio::test]
async fn password_reset_by_mailed_link_changes_the_password_once_and_ends_sessions() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Member, None).await;
    let mut other = Client::new(env.state());
    other.login(&email, PASSWORD).await;
    let mut c = Client::new(env.state());
    let res = c
        .post_form("/forgot-password", &[("email", email.as_str())])
        .await;
    assert_eq!(res.status, StatusCode::OK);
    let unknown = c
        .post_form("/forgot-password", &[("email", "nobody@example.vn")])
        .await;
    assert_eq!(unknown.body, res.body, "no hint whether an account exists");
    let mails = outbox(&env, &email).await;
    let link = link_in(&mails[0].2);
    assert!(link.starts_with("/reset-password/"));
    assert_eq!(
        c.post_form(&link, &[("password", "x")]).await.status,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        c.post_form(&link, &[("password", "mật khẩu mới")])
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        c.post_form(&link, &[("password", "lần hai nữa")])
            .await
            .status,
        StatusCode::GONE
    );
    assert_eq!(other.get("/me/entries").await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        c.login(&email, "mật khẩu mới").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn the_api_login_returns_a_token_and_the_user_and_refuses_bad_input() {
    let env = TestEnv::new().await;
    let (_, _, email) = user_in(&env, Role::Organizer, None).await;
    let mut c = Client::new(env.state());
    let res = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email.to_uppercase(), "password": PASSWORD})),
        )
        .await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let body = res.json();
    assert_eq!(body["user"]["role"], "organizer");
    let token = body["token"].as_str().unwrap();
    let me = c.api("GET", "/api/v1/contests", Some(token), None).await;
    assert_eq!(me.status, StatusCode::OK);
    let bad = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": email, "password": "nope"})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.json()["error"]["code"], "bad-credentials");
    let garbage = c
        .api(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(json!({"email": 1})),
        )
        .await;
    assert!(garbage.status.is_client_error());
}

#[tokio::test]
async fn the_language_switch_sticks_across_pages() {
    let env = TestEnv::new().await;
    let mut c = Client::new(env.state());
    assert!(c.get("/login").await.body.contains("Đăng nhập"));
    c.get("/lang/en").await;
    let res = c.get("/login").await;
    assert!(res.body.contains(r#"<html lang="en""#) && res.body.contains("Sign in"));
    assert!(c.get("/register").await.body.contains("Create an account"));
}

#[tokio::test]
async fn a_token_request_writes_last_used_at_most_once_a_minute_and_off_the_request() {
    let env = TestEnv::new().await;
    let state = env.state();
    let mut c = Client::new(state.clone());
    let (id, token) = env.user(Role::Member).await;
    let last_used = |ago: &'static str| {
        let db = env.db.clone();
        async move {
            sqlx::query(&format!(
                "update api_token set last_used_at = now() - interval '{ago}' where app_user_id = $1"
            ))
            .bind(id)
            .execute(&db)
            .await
            .unwrap();
        }
    };
    let seconds_ago = || {
        let db = env.db.clone();
        async move {
            sqlx::query_scalar::<_, f64>(
                "select extract(epoch from now() - last_used_at)::float8 from api_token where app_user_id = $1",
            )
            .bind(id)
            .fetch_one(&db)
            .await
            .unwrap()
        }
    };
    // Used 30 s ago: a request reads, and writes nothing.
    last_used("30 seconds").await;
    // Creating a contest needs a signed-in organizer: the token is looked up, a member is refused.
    let res = c
        .api("POST", "/api/v1/contests", Some(&token), Some(json!({})))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    // Whatever the request queued is written now, not after a guessed pause.
    state.touches.flush().await;
    let ago = seconds_ago().await;
    assert!((29.0..40.0).contains(&ago), "{ago} s");
    // Used two minutes ago: the request is answered and the time is recorded after it.
    last_used("2 minutes").await;
    // Creating a contest needs a signed-in organizer: the token is looked up, a member is refused.
    let res = c
        .api("POST", "/api/v1/contests", Some(&token), Some(json!({})))
        .await;
    assert_eq!(res.status, StatusCode::FORBIDDEN, "{}", res.body);
    let mut ago = seconds_ago().await;
    for _ in 0..50 {
        if ago < 5.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        ago = seconds_ago().await;
    }
    assert!(ago < 5.0, "last_used_at is {ago} s old");
    // A wrong token is still refused.
    let res = c
        .api(
            "POST",
            "/api/v1/contests",
            Some("not-a-token"),
            Some(json!({})),
        )
        .await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{}", res.body);
}
