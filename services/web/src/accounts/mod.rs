//! Accounts: registration, sign-in and sign-out (cookie sessions), email verification and
//! password reset by one-time links, failed-login throttling, and the API's token login.

pub mod throttle;

use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use base64::Engine;
use hoithi_core::AppState;
use hoithi_core::account::{CreateUserError, NewUser, create_user};
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::{CurrentUser, issue_token};
use hoithi_core::domain::{DisplayName, Email, Password, Role};
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::PgExecutor;

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

async fn register_form(State(state): State<AppState>, ctx: Ctx) -> Response {
    let units = match unit_choices(&state.db).await {
        Ok(u) => u,
        Err(e) => return PageError::from(e).respond(&ctx),
    };
    render(
        StatusCode::OK,
        &RegisterPage {
            page: ctx.page("account.register.title"),
            form: RegisterForm::default(),
            units,
            errors: vec![],
        },
    )
}

async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Form(form): Form<RegisterForm>,
) -> Response {
    match try_register(&state, &ctx, &headers, form).await {
        Ok(r) => r,
        Err(e) => e.respond(&ctx),
    }
}

async fn try_register(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
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
                send_verification(state, headers, user_id, email.as_str(), ctx).await?;
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
    headers: &HeaderMap,
    user_id: i64,
    email: &str,
    ctx: &Ctx,
) -> sqlx::Result<()> {
    let token = new_one_time_token(&state.db, user_id, "verify-email", 48).await?;
    let link = format!(
        "{}/verify-email/{token}",
        crate::mail::base_url(state, headers)
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

fn client_ip(connect: Option<&Extension<ConnectInfo<SocketAddr>>>) -> String {
    connect.map_or_else(|| "-".to_owned(), |c| c.0.0.ip().to_string())
}

/// Checks a password with throttling; `Err(seconds)` when the caller must wait.
async fn authenticate(
    db: &sqlx::PgPool,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<Result<Option<i64>, i64>, sqlx::Error> {
    let email = email.trim().to_lowercase();
    let key = format!("{email}|{ip}");
    if let Some(wait) = throttle::blocked_for(db, &key).await? {
        return Ok(Err(wait));
    }
    let row: Option<(i64, String)> =
        sqlx::query_as("select app_user_id, password_hash from app_user where email = $1")
            .bind(&email)
            .fetch_optional(db)
            .await?;
    // A missing account costs the same hashing time, so timing does not reveal who exists.
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Nm3Nd4Pg1Jp3j3Y0xvBq3rj4m9u5W4HqvxEnQ2n3fQ";
    let stored = row.as_ref().map_or(DUMMY, |(_, h)| h.as_str()).to_owned();
    let pw = password.to_owned();
    let (ok, rehash) =
        tokio::task::spawn_blocking(move || hoithi_core::password::verify(&pw, &stored))
            .await
            .unwrap_or((false, false));
    match row {
        Some((id, _)) if ok => {
            throttle::clear(db, &key).await?;
            if rehash && let Ok(h) = hoithi_core::password::hash(password) {
                sqlx::query("update app_user set password_hash = $2 where app_user_id = $1")
                    .bind(id)
                    .bind(h)
                    .execute(db)
                    .await?;
            }
            Ok(Ok(Some(id)))
        }
        _ => {
            throttle::failed(db, &key).await?;
            Ok(Ok(None))
        }
    }
}

fn too_many(wait: i64) -> [(header::HeaderName, String); 1] {
    [(header::RETRY_AFTER, wait.to_string())]
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    session: Option<Extension<SessionHash>>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    let ip = client_ip(connect.as_ref());
    let result = authenticate(&state.db, &form.email, &form.password, &ip).await;
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
    match result {
        Err(e) => PageError::from(e).respond(&ctx),
        Ok(Err(wait)) => {
            let text = ctx
                .t("account.error.too-many")
                .replace("{seconds}", &wait.to_string());
            (too_many(wait), page(StatusCode::TOO_MANY_REQUESTS, text)).into_response()
        }
        Ok(Ok(None)) => page(
            StatusCode::UNAUTHORIZED,
            ctx.t("account.error.bad-credentials").to_owned(),
        ),
        Ok(Ok(Some(user_id))) => {
            if let Some(Extension(SessionHash(old))) = session
                && let Err(e) = security::delete_session(&state.db, &old).await
            {
                return PageError::from(e).respond(&ctx);
            }
            match security::create_session(&state.db, user_id).await {
                Ok(token) => signed_in(&state, &headers, &token, &next),
                Err(e) => PageError::from(e).respond(&ctx),
            }
        }
    }
}

async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    ctx: Ctx,
    session: Option<Extension<SessionHash>>,
) -> Response {
    if let Some(Extension(SessionHash(hash))) = session
        && let Err(e) = security::delete_session(&state.db, &hash).await
    {
        return PageError::from(e).respond(&ctx);
    }
    signed_out(&state, &headers)
}

async fn logout_everywhere(
    State(state): State<AppState>,
    headers: HeaderMap,
    ctx: Ctx,
) -> Response {
    let Some(user) = &ctx.user else {
        return signed_out(&state, &headers);
    };
    let result = async {
        security::delete_all_sessions(&state.db, user.app_user_id).await?;
        sqlx::query("delete from api_token where app_user_id = $1")
            .bind(user.app_user_id)
            .execute(&state.db)
            .await
    }
    .await;
    match result {
        Ok(_) => signed_out(&state, &headers),
        Err(e) => PageError::from(e).respond(&ctx),
    }
}

async fn verify_email(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Response {
    let result = async {
        let Some(user_id) = use_one_time_token(&state.db, &token, "verify-email").await? else {
            return Ok::<_, sqlx::Error>(false);
        };
        sqlx::query(
            "update app_user set email_verified_at = coalesce(email_verified_at, now()) where app_user_id = $1",
        )
        .bind(user_id)
        .execute(&state.db)
        .await?;
        Ok(true)
    }
    .await;
    match result {
        Ok(true) => message(&ctx, StatusCode::OK, "account.verified"),
        Ok(false) => message(&ctx, StatusCode::GONE, "account.error.link-invalid"),
        Err(e) => PageError::from(e).respond(&ctx),
    }
}

async fn resend_verification(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/login").into_response();
    };
    if user.is_verified() {
        return message(&ctx, StatusCode::OK, "account.verified");
    }
    match send_verification(&state, &headers, user.app_user_id, &user.email, &ctx).await {
        Ok(()) => message(&ctx, StatusCode::OK, "account.verify-sent"),
        Err(e) => PageError::from(e).respond(&ctx),
    }
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
    headers: HeaderMap,
    Form(form): Form<ForgotForm>,
) -> Response {
    let Ok(email) = Email::parse(&form.email) else {
        return render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                page: ctx.page("account.forgot.title"),
                email: form.email,
                error: ctx.t("account.error.invalid-email").to_owned(),
            },
        );
    };
    let result = async {
        let id: Option<i64> =
            sqlx::query_scalar("select app_user_id from app_user where email = $1")
                .bind(email.as_str())
                .fetch_optional(&state.db)
                .await?;
        if let Some(id) = id {
            let token = new_one_time_token(&state.db, id, "reset-password", 2).await?;
            let link = format!(
                "{}/reset-password/{token}",
                crate::mail::base_url(&state, &headers)
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
        Ok::<_, sqlx::Error>(())
    }
    .await;
    // The same answer whether or not the account exists.
    match result {
        Ok(()) => message(&ctx, StatusCode::OK, "account.reset-sent"),
        Err(e) => PageError::from(e).respond(&ctx),
    }
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    page: Page,
    token: String,
    error: String,
}

async fn reset_form(ctx: Ctx, Path(token): Path<String>) -> Response {
    render(
        StatusCode::OK,
        &ResetPage {
            page: ctx.page("account.reset.title"),
            token,
            error: String::new(),
        },
    )
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
) -> Response {
    let password = match Password::parse(&form.password) {
        Ok(p) => p,
        Err(e) => {
            return render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    page: ctx.page("account.reset.title"),
                    token,
                    error: ctx.t(&format!("account.error.{}", e.code)).to_owned(),
                },
            );
        }
    };
    let result = async {
        let Some(user_id) = use_one_time_token(&state.db, &token, "reset-password").await? else {
            return Ok::<_, anyhow::Error>(false);
        };
        let hash = hoithi_core::password::hash(password.expose())?;
        // A reset proves the mailbox, and ends every session an attacker might hold.
        sqlx::query(
            "update app_user set password_hash = $2, email_verified_at = coalesce(email_verified_at, now())
             where app_user_id = $1",
        )
        .bind(user_id)
        .bind(hash)
        .execute(&state.db)
        .await?;
        security::delete_all_sessions(&state.db, user_id).await?;
        Ok(true)
    }
    .await;
    match result {
        Ok(true) => message(&ctx, StatusCode::OK, "account.reset-done"),
        Ok(false) => message(&ctx, StatusCode::GONE, "account.error.link-invalid"),
        Err(e) => PageError::from(e).respond(&ctx),
    }
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
    connect: Option<Extension<ConnectInfo<SocketAddr>>>,
    Json(body): Json<ApiLogin>,
) -> Result<Response, ApiError> {
    let ip = client_ip(connect.as_ref());
    match authenticate(&state.db, &body.email, &body.password, &ip).await? {
        Err(wait) => Ok((
            too_many(wait),
            ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-attempts",
                format!("too many failed sign-ins; wait {wait} s"),
            ),
        )
            .into_response()),
        Ok(None) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-credentials",
            "wrong email or password",
        )),
        Ok(Some(id)) => {
            let token = issue_token(&state.db, id).await?;
            let user = hoithi_core::auth::user_by_id(&state.db, id)
                .await?
                .ok_or_else(|| ApiError::not_found("user"))?;
            Ok(Json(json!({"token": token, "user": user_json(&user)})).into_response())
        }
    }
}
