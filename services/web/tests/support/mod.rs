//! A browser-like client for oneshot tests: keeps cookies, sends the CSRF token with forms,
//! and talks to `hoithi_web::app` on a fresh database.

#![allow(dead_code, reason = "each test module uses a different part")]

pub mod fixtures;
pub mod statements;

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hoithi_core::AppState;
use hoithi_core::domain::Role;
use hoithi_core::testing::TestEnv;
use http_body_util::BodyExt;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

pub struct Res {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
    /// The body as sent (a PDF or ZIP download).
    pub bytes: Vec<u8>,
}

impl Res {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    pub fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .map_or("", |v| v.to_str().unwrap())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }
}

#[derive(Clone)]
pub struct Client {
    pub app: Router,
    pub cookies: HashMap<String, String>,
}

pub fn state_with_public_url(env: &TestEnv, url: Option<&str>) -> AppState {
    let state = env.state();
    let mut config = (*state.config).clone();
    config.public_url = url.map(str::to_owned);
    state.with_config(config)
}

impl Client {
    pub fn new(state: AppState) -> Self {
        Self {
            app: hoithi_web::app(state),
            cookies: HashMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn send(&mut self, req: Request<Body>) -> Res {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        for c in headers.get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if attrs.contains("Max-Age=0") {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Res {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            bytes: body.to_vec(),
        }
    }

    pub async fn get(&mut self, uri: &str) -> Res {
        let req = Request::get(uri)
            .header(header::COOKIE, self.cookie_header())
            .body(Body::empty())
            .unwrap();
        self.send(req).await
    }

    pub fn csrf(&self) -> String {
        self.cookies
            .iter()
            .find(|(k, _)| k.ends_with("hoithi-csrf"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    /// Posts a form with the CSRF token the browser would have (fetching a page first if
    /// no token cookie is there yet).
    pub async fn post_form(&mut self, uri: &str, fields: &[(&str, &str)]) -> Res {
        if self.csrf().is_empty() {
            self.get("/").await;
        }
        let mut all: Vec<(&str, String)> = vec![("_csrf", self.csrf())];
        all.extend(fields.iter().map(|(k, v)| (*k, (*v).to_owned())));
        self.post_raw(uri, &all).await
    }

    pub async fn post_raw(&mut self, uri: &str, fields: &[(&str, String)]) -> Res {
        let body = fields
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(uri)
            .header(header::COOKIE, self.cookie_header())
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap();
        self.send(req).await
    }

    pub async fn api(
        &mut self,
        method: &str,
        uri: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> Res {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let body = match body {
            Some(b) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.send(req.body(body).unwrap()).await
    }

    /// Signs in through the login form.
    pub async fn login(&mut self, email: &str, password: &str) -> Res {
        self.post_form("/login", &[("email", email), ("password", password)])
            .await
    }
}

pub fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

pub const PASSWORD: &str = "mật-khẩu-thử";

/// A verified user of `role` in unit `unit` (a slug) with a token and email.
pub async fn user_in(env: &TestEnv, role: Role, unit: Option<&str>) -> (i64, String, String) {
    let (id, token) = env.user(role).await;
    if let Some(slug) = unit {
        let unit_id = unit_id(env, slug).await;
        sqlx::query("update app_user set unit_id = $2 where app_user_id = $1")
            .bind(id)
            .bind(unit_id)
            .execute(&env.db)
            .await
            .unwrap();
    }
    let email: String =
        sqlx::query_scalar("select email::text from app_user where app_user_id = $1")
            .bind(id)
            .fetch_one(&env.db)
            .await
            .unwrap();
    (id, token, email)
}

/// Units `hcm` → `q1` → `q1-a`, and `hn`.
pub async fn units(env: &TestEnv) {
    let rows = hoithi_web::units::parse_csv(
        "hcm,Thành Đoàn TP.HCM,\nq1,Quận Đoàn 1,hcm\nq1-a,Chi đoàn A,q1\nhn,Thành Đoàn Hà Nội,",
    )
    .unwrap();
    let mut conn = env.db.acquire().await.unwrap();
    hoithi_web::units::import(&mut conn, &rows).await.unwrap();
}

pub async fn unit_id(env: &TestEnv, slug: &str) -> i64 {
    sqlx::query_scalar("select unit_id from unit where slug = $1")
        .bind(slug)
        .fetch_one(&env.db)
        .await
        .unwrap()
}

/// An open contest of unit `unit` and its slug.
pub async fn contest_of(env: &TestEnv, unit: &str) -> (i64, String) {
    let id = env.open_contest(&["photo", "video"]).await;
    organize(env, id, serde_json::json!({"unit": unit})).await;
    let slug = sqlx::query_scalar("select slug from contest where contest_id = $1")
        .bind(id)
        .fetch_one(&env.db)
        .await
        .unwrap();
    (id, slug)
}

pub async fn set_status(env: &TestEnv, entry: uuid::Uuid, status: &str) {
    sqlx::query("update entry set status = $2::entry_status where entry_id = $1")
        .bind(entry)
        .bind(status)
        .execute(&env.db)
        .await
        .unwrap();
}

pub async fn outbox(env: &TestEnv, to: &str) -> Vec<(String, String, String)> {
    sqlx::query_as("select kind, subject, body from outbox where to_email = $1 order by outbox_id")
        .bind(to)
        .fetch_all(&env.db)
        .await
        .unwrap()
}

/// Stops the vote batcher a test started, when the test ends.
pub struct StopOnDrop(pub CancellationToken);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// Starts the vote batcher on `state` with ingest settings (`HOITHI_VOTE_*` names) instead of
/// the defaults; it runs until the returned guard is dropped.
pub fn start_votes(state: &AppState, settings: &[(&str, &str)]) -> StopOnDrop {
    let stop = CancellationToken::new();
    let settings = hoithi_web::voting::Settings::from_lookup(|k| {
        settings
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    // Leaked on purpose: the batcher lives until the token is cancelled at the test's end.
    std::mem::forget(hoithi_web::voting::start_with(
        state,
        settings,
        stop.clone(),
    ));
    StopOnDrop(stop)
}

/// A client on a fresh database with the vote batcher running.
pub struct Voting {
    pub env: TestEnv,
    pub client: Client,
    pub _stop: StopOnDrop,
}

pub async fn voting() -> Voting {
    voting_with(&[]).await
}

/// With ingest settings (`HOITHI_VOTE_*` names) instead of the defaults.
pub async fn voting_with(settings: &[(&str, &str)]) -> Voting {
    let env = TestEnv::new().await;
    let state = env.state();
    let stop = start_votes(&state, settings);
    Voting {
        client: Client::new(state),
        env,
        _stop: stop,
    }
}

/// A moment `minutes` from now (negative: ago) as the API takes it (RFC 3339).
pub fn in_minutes(minutes: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

/// Moves a contest as an organizer would, through `PATCH /api/v1/contests/{slug}`, as an
/// admin (who organizes every contest): `patch` holds the API's fields (phases, limits,
/// settings; times RFC 3339). Tests change phases and settings this way, never with SQL, so
/// they only do what an organizer can (docs/organizers.md: nothing moves into the past —
/// close a phase "now" instead). Panics with the answer when refused; returns the contest as
/// the API shows it.
pub async fn organize(
    env: &TestEnv,
    contest_id: i64,
    patch: serde_json::Value,
) -> serde_json::Value {
    let slug: String = sqlx::query_scalar("select slug from contest where contest_id = $1")
        .bind(contest_id)
        .fetch_one(&env.db)
        .await
        .unwrap();
    let token = admin_token(env).await;
    let mut c = Client::new(env.state());
    let uri = format!("/api/v1/contests/{slug}");
    let res = c
        .api("PATCH", &uri, Some(&token), Some(patch.clone()))
        .await;
    assert_eq!(
        res.status,
        StatusCode::OK,
        "the organizer's change {patch} was refused: {}",
        res.body
    );
    res.json()
}

/// Closes a contest's submission now, as the organizer's "Đóng ngay" does.
pub async fn close_submission_now(env: &TestEnv, contest_id: i64) {
    let close = serde_json::json!({"phases": {"submission": {"closes_at": in_minutes(0)}}});
    organize(env, contest_id, close).await;
}

/// A token of an admin: one already there, else a new one.
pub async fn admin_token(env: &TestEnv) -> String {
    let admin: Option<i64> = sqlx::query_scalar(
        "select app_user_id from app_user where role = 'admin' order by app_user_id limit 1",
    )
    .fetch_optional(&env.db)
    .await
    .unwrap();
    match admin {
        Some(id) => hoithi_core::auth::issue_token(&env.db, id).await.unwrap(),
        None => env.user(Role::Admin).await.1,
    }
}
