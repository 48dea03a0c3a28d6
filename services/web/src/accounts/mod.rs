//! Accounts: registration, sign-in and sign-out (cookie sessions), email verification and
//! password reset by one-time links, limits on guessing and on mail (`throttle`), the API's
//! token login, and the account page (`settings`).
//!
//! An account is only its mailbox's owner's once the mailbox is proven (a verification link,
//! a voter code, a reset link). Until then whoever registered the address may be someone
//! else, so proving it takes everything they set up away (`prove_mailbox`). A password
//! reset or change ends every session and every API token.

mod settings;

use std::net::IpAddr;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use base64::Engine;
use hoithi_core::AppState;
use hoithi_core::account::{CreateUserError, NewUser, create_user};
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgExecutor};

use crate::access::client::ClientIp;
use crate::domain::people::throttle;
use crate::page::{Ctx, Page, PageError, message, no_store, render, safe_next};
use crate::security::{self, SessionHash};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/register", get(register_form).post(register))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/verify-email/{token}", get(verify_email))
        .route("/verify-email", post(resend_verification))
        .route("/forgot-password", get(forgot_form).post(forgot))
        .route("/reset-password/{token}", get(reset_form).post(reset))
        .route("/api/v1/auth/login", post(api_login))
        .merge(settings::router())
}

#[derive(Template)]
#[template(path = "accounts/register.html")]
struct RegisterPage {
    page: Page,
    form: RegisterForm,
    units: Vec<(String, String)>,
    errors: Vec<(&'static str, String)>,
}

impl RegisterPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Debug, Default, Deserialize)]
struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    unit: String,
}

/// Units a member can pick: (slug, name indented by depth).
pub async fn unit_choices(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, String)>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select slug, name, path from unit order by path")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name, path)| {
            let depth = path.matches('/').count();
            (slug, format!("{}{name}", "— ".repeat(depth)))
        })
        .collect())
}

async fn register_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let units = unit_choices(&state.db).await?;
    Ok(render(
        StatusCode::OK,
        &RegisterPage {
            page: ctx.page("account.register.title"),
            form: RegisterForm::default(),
            units,
            errors: vec![],
        },
    ))
}

async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    session: Option<Extension<SessionHash>>,
    Form(form): Form<RegisterForm>,
) -> Result<Response, PageError> {
    let old = session.map(|Extension(SessionHash(h))| h);
    try_register(&state, &ctx, &headers, ip, old, form).await
}

async fn try_register(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
    old_session: Option<Vec<u8>>,
    form: RegisterForm,
) -> Result<Response, PageError> {
    let mut errors = Vec::new();
    let email = Email::parse(&form.email)
        .map_err(|e| {
            errors.push((
                "email",
                ctx.t(&format!("account.error.{}", e.code)).to_owned(),
            ))
        })
        .ok();
    let name = DisplayName::parse(&form.name)
        .map_err(|e| {
            errors.push((
                "name",
                ctx.t(&format!("account.error.{}", e.code)).to_owned(),
            ))
        })
        .ok();
    let password = Password::parse(&form.password)
        .map_err(|e| {
            errors.push((
                "password",
                ctx.t(&format!("account.error.{}", e.code)).to_owned(),
            ))
        })
        .ok();
    let unit_slug = Some(form.unit.trim().to_owned()).filter(|s| !s.is_empty());
    if let (Some(email), Some(name), Some(password)) = (email, name, password) {
        // Registrations from one address, and the verification mail each one sends, are
        // limited like every other mail (the count is kept whether or not the address is
        // taken, so the limit says nothing about who has an account).
        let mut counters = throttle::registration_counters(&state.config.limits, ip);
        counters.extend(throttle::mail_counters(
            &state.config.limits,
            email.as_str(),
            ip,
        ));
        if let Some(wait) = throttle::take(&state.db, &counters).await? {
            return Ok(wait_page(ctx, wait));
        }
        let created = create_user(
            &state.db,
            NewUser {
                email: email.clone(),
                password,
                name,
                role: Role::Member,
                unit_slug,
                email_verified: false,
            },
        )
        .await;
        match created {
            Ok(user_id) => {
                send_verification(state, user_id, email.as_str(), ctx).await?;
                // The browser's previous session (another account's) ends, as at sign-in.
                if let Some(old) = old_session {
                    security::delete_session(&state.db, &old).await?;
                }
                let token = security::create_session(&state.db, user_id).await?;
                return Ok(signed_in(state, headers, &token, "/?notice=registered"));
            }
            Err(CreateUserError::EmailTaken(_)) => {
                errors.push(("email", ctx.t("account.error.email-taken").to_owned()))
            }
            Err(CreateUserError::UnknownUnit(_)) => {
                errors.push(("unit", ctx.t("account.error.unknown-unit").to_owned()))
            }
            Err(CreateUserError::Other(e)) => return Err(PageError::Internal(e)),
        }
    }
    let units = unit_choices(&state.db).await?;
    // The password is the one thing not sent back into the page.
    let form = RegisterForm {
        password: String::new(),
        ..form
    };
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &RegisterPage {
            page: ctx.page("account.register.title"),
            form,
            units,
            errors,
        },
    ))
}

fn one_time_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

async fn new_one_time_token(
    db: impl PgExecutor<'_>,
    user_id: i64,
    purpose: &str,
    hours: i32,
) -> sqlx::Result<String> {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    sqlx::query(
        "insert into one_time_token (token_hash, app_user_id, purpose, expires_at)
         values ($1, $2, $3, now() + make_interval(hours => $4))",
    )
    .bind(one_time_hash(&token))
    .bind(user_id)
    .bind(purpose)
    .bind(hours)
    .execute(db)
    .await?;
    Ok(token)
}

/// Uses a one-time token: the user it belongs to, once; a second use or an expired token is `None`.
async fn use_one_time_token(
    db: impl PgExecutor<'_>,
    token: &str,
    purpose: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "update one_time_token set used_at = now()
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
         returning app_user_id",
    )
    .bind(one_time_hash(token))
    .bind(purpose)
    .fetch_optional(db)
    .await
}

async fn send_verification(
    state: &AppState,
    user_id: i64,
    email: &str,
    ctx: &Ctx,
) -> sqlx::Result<()> {
    let token = new_one_time_token(&state.db, user_id, "verify-email", 48).await?;
    let link = format!(
        "{}/verify-email/{token}",
        crate::mail::origin(&state.config)
    );
    let body = format!("{}\n\n{link}\n", ctx.t("mail.verify.body"));
    crate::mail::queue(
        &state.db,
        email,
        "verify-email",
        ctx.t("mail.verify.subject"),
        &body,
    )
    .await
}

/// Redirects to `to` with a fresh session cookie. Any session the browser had is replaced, so
/// a session id planted before sign-in is worthless after it.
pub(crate) fn signed_in(state: &AppState, headers: &HeaderMap, token: &str, to: &str) -> Response {
    let secure = security::is_secure(state, headers);
    let cookie = security::cookie_header(
        security::session_cookie_name(secure),
        token,
        i64::from(security::SESSION_DAYS) * 86400,
        secure,
    );
    let mut res = Redirect::to(to).into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    no_store(res)
}

fn signed_out(state: &AppState, headers: &HeaderMap) -> Response {
    let secure = security::is_secure(state, headers);
    let cookie = security::cookie_header(security::session_cookie_name(secure), "", 0, secure);
    let mut res = Redirect::to("/").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

#[derive(Template)]
#[template(path = "accounts/login.html")]
struct LoginPage {
    page: Page,
    email: String,
    next: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn login_form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    render(
        StatusCode::OK,
        &LoginPage {
            page: ctx.page("account.login.title"),
            email: String::new(),
            next: safe_next(q.next.as_deref()),
            error: String::new(),
        },
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Why a password was not accepted.
enum SignIn {
    Ok(i64),
    Wrong,
    /// Too many tries: wait this many seconds.
    Wait(i64),
}

/// A password hash that is no hash ('!…': an account with no password of its own yet).
fn no_password(hash: &str) -> bool {
    hash.starts_with('!')
}

/// Checks a password under the sign-in limits (see `throttle`). `session_user` is the
/// account of the caller's live session, if any: the owner signing in again there, or from an
/// address they signed in from before, is not held back by the account's own counter.
async fn authenticate(
    state: &AppState,
    email: &str,
    password: &str,
    ip: Option<IpAddr>,
    session_user: Option<i64>,
) -> sqlx::Result<SignIn> {
    let db = &state.db;
    let email = email.trim().to_lowercase();
    let keys = throttle::LoginKeys::new(&state.config.limits, &email, ip);
    let row: Option<(i64, String, bool)> = sqlx::query_as(
        "select u.app_user_id, u.password_hash,
                exists (select 1 from sign_in_address a
                        where a.app_user_id = u.app_user_id and a.ip = $2::inet)
         from app_user u where u.email = $1",
    )
    .bind(&email)
    .bind(ip.map(|ip| ip.to_string()))
    .fetch_optional(db)
    .await?;
    let known = row
        .as_ref()
        .is_some_and(|(id, _, at_known_address)| *at_known_address || session_user == Some(*id));
    if let Some(wait) = keys.blocked_for(db, !known).await? {
        // A try while blocked counts too (and is not checked), so waiting is the only way on.
        let wait = keys.failed(db).await?.unwrap_or(0).max(wait);
        return Ok(SignIn::Wait(wait));
    }
    // A missing account, or one with no password, costs the same hashing time, so timing
    // does not reveal who exists.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Nm3Nd4Pg1Jp3j3Y0xvBq3rj4m9u5W4HqvxEnQ2n3fQ";
    let has_password = row.as_ref().is_some_and(|(_, h, _)| !no_password(h));
    let stored = match &row {
        Some((_, h, _)) if has_password => h.clone(),
        _ => DUMMY.to_owned(),
    };
    let pw = password.to_owned();
    let (ok, rehash) =
        tokio::task::spawn_blocking(move || hoithi_core::password::verify(&pw, &stored))
            .await
            .unwrap_or((false, false));
    match row {
        Some((id, _, _)) if ok && has_password => {
            keys.succeeded(db).await?;
            if let Some(ip) = ip {
                sqlx::query(
                    "insert into sign_in_address (app_user_id, ip) values ($1, $2::inet)
                     on conflict (app_user_id, ip) do update set last_at = now()",
                )
                .bind(id)
                .bind(ip.to_string())
                .execute(db)
                .await?;
            }
            if rehash && let Ok(h) = hoithi_core::password::hash(password) {
                sqlx::query("update app_user set password_hash = $2 where app_user_id = $1")
                    .bind(id)
                    .bind(h)
                    .execute(db)
                    .await?;
            }
            Ok(SignIn::Ok(id))
        }
        _ => {
            keys.failed(db).await?;
            Ok(SignIn::Wrong)
        }
    }
}

fn too_many(wait: i64) -> [(header::HeaderName, String); 1] {
    [(header::RETRY_AFTER, wait.max(1).to_string())]
}

#[derive(Template)]
#[template(path = "accounts/wait.html")]
struct WaitPage {
    page: Page,
    text: String,
}

/// The page of a refused request: 429, `Retry-After`, and a sentence saying how long.
pub(crate) fn wait_page(ctx: &Ctx, wait: i64) -> Response {
    let text = ctx
        .t("account.error.too-many-requests")
        .replace("{seconds}", &wait.max(1).to_string());
    (
        too_many(wait),
        render(
            StatusCode::TOO_MANY_REQUESTS,
            &WaitPage {
                page: ctx.page("account.too-many.title"),
                text,
            },
        ),
    )
        .into_response()
}

/// The API's refusal: 429, `Retry-After`, code `too-many-attempts`.
fn api_too_many(wait: i64) -> Response {
    (
        too_many(wait),
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too-many-attempts",
            format!("too many tries; wait {} s", wait.max(1)),
        ),
    )
        .into_response()
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    session: Option<Extension<SessionHash>>,
    Form(form): Form<LoginForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref());
    let session_user = ctx.user.as_ref().map(|u| u.app_user_id);
    let result = authenticate(&state, &form.email, &form.password, ip, session_user).await?;
    let page = |status, error: String| {
        render(
            status,
            &LoginPage {
                page: ctx.page("account.login.title"),
                email: form.email.clone(),
                next: next.clone(),
                error,
            },
        )
    };
    Ok(match result {
        SignIn::Wait(wait) => {
            let text = ctx
                .t("account.error.too-many")
                .replace("{seconds}", &wait.max(1).to_string());
            (too_many(wait), page(StatusCode::TOO_MANY_REQUESTS, text)).into_response()
        }
        SignIn::Wrong => page(
            StatusCode::UNAUTHORIZED,
            ctx.t("account.error.bad-credentials").to_owned(),
        ),
        SignIn::Ok(user_id) => {
            if let Some(Extension(SessionHash(old))) = session {
                security::delete_session(&state.db, &old).await?;
            }
            let token = security::create_session(&state.db, user_id).await?;
            signed_in(&state, &headers, &token, &next)
        }
    })
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    session: Option<Extension<SessionHash>>,
) -> Result<Response, PageError> {
    if let Some(Extension(SessionHash(hash))) = session {
        security::delete_session(&state.db, &hash).await?;
    }
    Ok(signed_out(&state, &headers))
}

async fn logout_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    ctx: Ctx,
) -> Result<Response, PageError> {
    let Some(user) = &ctx.user else {
        return Ok(signed_out(&state, &headers));
    };
    security::delete_all_sessions(&state.db, user.app_user_id).await?;
    sqlx::query("delete from api_token where app_user_id = $1")
        .bind(user.app_user_id)
        .execute(&state.db)
        .await?;
    Ok(signed_out(&state, &headers))
}

/// Ends everything that can act for `user_id`: its cookie sessions and its API tokens.
pub(crate) async fn end_sessions_and_tokens(
    conn: &mut PgConnection,
    user_id: i64,
) -> sqlx::Result<()> {
    security::delete_all_sessions(&mut *conn, user_id).await?;
    sqlx::query("delete from api_token where app_user_id = $1")
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(drop)
}

/// The mailbox of an account nobody had proven is proven now, by someone who need not be
/// who registered it: an attacker can register the victim's address with a password of
/// their own and wait for the victim to verify it (pre-hijacking). So everything the
/// registrant set up ends here: sessions, API tokens, the password (the account has none
/// until the mailbox's owner sets one), the name and unit they chose, unused mailed links.
/// Marks the email verified. `Ok(false)`: the account was verified already; nothing changed.
pub(crate) async fn prove_mailbox(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
    let email: Option<String> = sqlx::query_scalar(
        "select email::text from app_user where app_user_id = $1 and email_verified_at is null
         for update",
    )
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(email) = email else {
        return Ok(false);
    };
    let name: String = email
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    sqlx::query(
        "update app_user set email_verified_at = now(), password_hash = '!mailbox-proven',
                display_name = $2, unit_id = null
         where app_user_id = $1",
    )
    .bind(user_id)
    .bind(if name.is_empty() {
        "Thành viên"
    } else {
        &name
    })
    .execute(&mut *conn)
    .await?;
    end_sessions_and_tokens(conn, user_id).await?;
    sqlx::query(
        "update one_time_token set used_at = now() where app_user_id = $1 and used_at is null",
    )
    .bind(user_id)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// What a verification link did.
enum Verified {
    /// The link was unknown, used or expired.
    Invalid,
    /// Verified (or already was); nothing else changed.
    Done,
    /// Verified by someone other than the registrant's browser: the account starts over and
    /// its new owner sets a password with this reset token.
    SetPassword(String),
}

async fn verify_email(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let session_user = ctx.user.as_ref().map(|u| u.app_user_id);
    // A block, so the invalid link can leave early without committing.
    let verdict = async {
        let mut tx = state.db.begin().await?;
        let Some(user_id) = use_one_time_token(&mut *tx, &token, "verify-email").await? else {
            return Ok::<_, sqlx::Error>(Verified::Invalid);
        };
        // The browser that registered (it has the account's session) clicking the link
        // proves the password's holder has the mailbox: nothing to take over.
        let verdict = if session_user == Some(user_id) {
            sqlx::query(
                "update app_user set email_verified_at = coalesce(email_verified_at, now())
                 where app_user_id = $1",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            Verified::Done
        } else if prove_mailbox(&mut tx, user_id).await? {
            Verified::SetPassword(new_one_time_token(&mut *tx, user_id, "reset-password", 2).await?)
        } else {
            Verified::Done
        };
        tx.commit().await?;
        Ok(verdict)
    }
    .await?;
    Ok(match verdict {
        Verified::Done => message(&ctx, StatusCode::OK, "account.verified"),
        Verified::SetPassword(reset) => {
            no_store(Redirect::to(&format!("/reset-password/{reset}?verified=1")).into_response())
        }
        Verified::Invalid => message(&ctx, StatusCode::GONE, "account.error.link-invalid"),
    })
}

async fn resend_verification(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/login").into_response());
    };
    if user.is_verified() {
        return Ok(message(&ctx, StatusCode::OK, "account.verified"));
    }
    let counters = throttle::mail_counters(&state.config.limits, &user.email, ip);
    if let Some(wait) = throttle::take(&state.db, &counters).await? {
        return Ok(wait_page(&ctx, wait));
    }
    send_verification(&state, user.app_user_id, &user.email, &ctx).await?;
    Ok(message(&ctx, StatusCode::OK, "account.verify-sent"))
}

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    page: Page,
    email: String,
    error: String,
}

async fn forgot_form(ctx: Ctx) -> Response {
    render(
        StatusCode::OK,
        &ForgotPage {
            page: ctx.page("account.forgot.title"),
            email: String::new(),
            error: String::new(),
        },
    )
}

#[derive(Debug, Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

async fn forgot(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    let Ok(email) = Email::parse(&form.email) else {
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                page: ctx.page("account.forgot.title"),
                email: form.email,
                error: ctx.t("account.error.invalid-email").to_owned(),
            },
        ));
    };
    // Counted for unknown addresses too: the answer is the same either way.
    let counters = throttle::mail_counters(&state.config.limits, email.as_str(), ip);
    if let Some(wait) = throttle::take(&state.db, &counters).await? {
        return Ok(wait_page(&ctx, wait));
    }
    let id: Option<i64> = sqlx::query_scalar("select app_user_id from app_user where email = $1")
        .bind(email.as_str())
        .fetch_optional(&state.db)
        .await?;
    if let Some(id) = id {
        let token = new_one_time_token(&state.db, id, "reset-password", 2).await?;
        let link = format!(
            "{}/reset-password/{token}",
            crate::mail::origin(&state.config)
        );
        let body = format!("{}\n\n{link}\n", ctx.t("mail.reset.body"));
        crate::mail::queue(
            &state.db,
            email.as_str(),
            "reset-password",
            ctx.t("mail.reset.subject"),
            &body,
        )
        .await?;
    }
    // The same answer whether or not the account exists.
    Ok(message(&ctx, StatusCode::OK, "account.reset-sent"))
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    page: Page,
    token: String,
    error: String,
    /// Arrived from a verification link that started the account over.
    verified: bool,
}

#[derive(Debug, Default, Deserialize)]
struct ResetQuery {
    verified: Option<String>,
}

async fn reset_form(ctx: Ctx, Path(token): Path<String>, Query(q): Query<ResetQuery>) -> Response {
    no_store(render(
        StatusCode::OK,
        &ResetPage {
            page: ctx.page("account.reset.title"),
            token,
            error: String::new(),
            verified: q.verified.is_some(),
        },
    ))
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    #[serde(default)]
    password: String,
}

async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, PageError> {
    let password = match Password::parse(&form.password) {
        Ok(p) => p,
        Err(e) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    page: ctx.page("account.reset.title"),
                    token,
                    error: ctx.t(&format!("account.error.{}", e.code)).to_owned(),
                    verified: false,
                },
            ));
        }
    };
    // A block, so a used link can leave early without committing.
    let done = async {
        let hash = hoithi_core::password::hash(password.expose())?;
        let mut tx = state.db.begin().await?;
        let Some(user_id) = use_one_time_token(&mut *tx, &token, "reset-password").await? else {
            return Ok::<_, anyhow::Error>(false);
        };
        // A reset proves the mailbox: an account nobody had proven starts over first.
        prove_mailbox(&mut tx, user_id).await?;
        let email: String = sqlx::query_scalar(
            "update app_user set password_hash = $2 where app_user_id = $1 returning email::text",
        )
        .bind(user_id)
        .bind(hash)
        .fetch_one(&mut *tx)
        .await?;
        // Whoever knew the old password keeps nothing: no session, no API token, and no
        // other reset link mailed before this one.
        end_sessions_and_tokens(&mut tx, user_id).await?;
        sqlx::query(
            "update one_time_token set used_at = now()
             where app_user_id = $1 and purpose = 'reset-password' and used_at is null",
        )
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        // The owner is back: the account's sign-in counter an attacker ran up is cleared.
        let key = throttle::LoginKeys::new(&state.config.limits, &email, None)
            .account
            .key;
        throttle::clear(&state.db, &[key.as_str()]).await?;
        Ok(true)
    }
    .await?;
    Ok(if done {
        message(&ctx, StatusCode::OK, "account.reset-done")
    } else {
        message(&ctx, StatusCode::GONE, "account.error.link-invalid")
    })
}

#[derive(Debug, Deserialize)]
struct ApiLogin {
    email: String,
    password: String,
}

pub fn user_json(u: &CurrentUser) -> serde_json::Value {
    json!({
        "id": u.app_user_id,
        "email": u.email,
        "display_name": u.display_name,
        "role": u.role,
        "unit_id": u.unit_id,
        "email_verified": u.is_verified(),
    })
}

async fn api_login(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Json(body): Json<ApiLogin>,
) -> Result<Response, ApiError> {
    match authenticate(&state, &body.email, &body.password, ip, None).await? {
        SignIn::Wait(wait) => Ok(api_too_many(wait)),
        SignIn::Wrong => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            "wrong email or password",
        )),
        SignIn::Ok(id) => {
            let token = issue_token(&state.db, id, &headers).await?;
            let user = hoithi_core::auth::user_by_id(&state.db, id)
                .await?
                .ok_or_else(|| ApiError::not_found("user"))?;
            Ok(Json(json!({"token": token, "user": user_json(&user)})).into_response())
        }
    }
}

/// Makes a bearer token for `user_id` labelled with the client's user agent (the account
/// page lists tokens by it); only the token's hash is stored, as in `hoithi_core::auth`.
pub(crate) async fn issue_token(
    db: impl PgExecutor<'_>,
    user_id: i64,
    headers: &HeaderMap,
) -> sqlx::Result<String> {
    let label: Option<String> = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|ua| ua.chars().filter(|c| !c.is_control()).take(200).collect());
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    sqlx::query(
        "insert into api_token (token_hash, app_user_id, expires_at, label)
         values ($1, $2, now() + make_interval(days => $3), $4)",
    )
    .bind(Sha256::digest(token.as_bytes()).to_vec())
    .bind(user_id)
    .bind(hoithi_core::auth::TOKEN_DAYS as i32)
    .bind(label)
    .execute(db)
    .await?;
    Ok(token)
}
