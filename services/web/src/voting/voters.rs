//! Verified voters without a password: an email gets a 6-digit code (only its HMAC stored,
//! 10 minutes, 5 guesses, a few codes per email and per address in 15 minutes, sent through
//! the outbox); the right code makes or finds the voter's account, marks its email verified,
//! and signs it in (a cookie session for pages, a bearer token for the API).

use std::net::IpAddr;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use hmac::{Hmac, Mac};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::domain::{Email, Role};
use hoithi_core::i18n::{self, Lang};
use rand::Rng;
use serde::Deserialize;
use serde_json::json;
use sha2::Sha256;
use sqlx::{Postgres, Transaction};

use super::forms::json_body;
use crate::access::client::ClientIp;
use crate::page::{Ctx, Page, PageError, render, safe_next};

/// Minutes a code can be used.
pub const CODE_MINUTES: i32 = 10;
/// Wrong guesses before a code is burnt.
pub const MAX_ATTEMPTS: i32 = 5;
/// Codes sent in a quarter of an hour to one email, and to all emails from one address.
pub const CODES_PER_EMAIL: i64 = 3;
pub const CODES_PER_IP: i64 = 10;
const WINDOW_MINUTES: i64 = 15;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/voters/codes", post(api_send))
        .route("/api/v1/voters/sessions", post(api_verify))
        .route("/vote/sign-in", get(sign_in_form).post(sign_in))
        .route("/vote/verify", post(verify))
}

/// Why a code was not sent or not accepted: a stable code (API) and catalog key (pages).
#[derive(Debug)]
pub enum CodeError {
    InvalidEmail,
    TooManyCodes {
        wait: i64,
    },
    InvalidFormat,
    Wrong {
        attempts_left: i32,
    },
    Expired,
    TooManyAttempts,
    /// Staff accounts sign in with their password.
    UsePassword,
    /// The account was disabled by an admin or organizer (the people pages).
    Disabled,
    /// The API's body is not what it takes.
    Body(ApiError),
    Internal(anyhow::Error),
}

impl From<ApiError> for CodeError {
    fn from(e: ApiError) -> Self {
        Self::Body(e)
    }
}

impl IntoResponse for CodeError {
    fn into_response(self) -> Response {
        self.api()
    }
}

impl From<sqlx::Error> for CodeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl CodeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidEmail => "invalid-email",
            Self::TooManyCodes { .. } => "too-many-codes",
            Self::InvalidFormat => "invalid-code-format",
            Self::Wrong { .. } => "code-invalid",
            Self::Expired => "code-expired",
            Self::TooManyAttempts => "too-many-attempts",
            Self::UsePassword => "use-password",
            Self::Disabled => "account-disabled",
            Self::Body(e) => e.code,
            Self::Internal(_) => "internal",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::InvalidEmail | Self::InvalidFormat => StatusCode::UNPROCESSABLE_ENTITY,
            Self::TooManyCodes { .. } | Self::TooManyAttempts => StatusCode::TOO_MANY_REQUESTS,
            Self::Wrong { .. } => StatusCode::UNAUTHORIZED,
            Self::Expired => StatusCode::GONE,
            Self::UsePassword | Self::Disabled => StatusCode::FORBIDDEN,
            Self::Body(e) => e.status,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The page's message in `lang`.
    fn text(&self, lang: Lang) -> String {
        let text = i18n::text(lang, &format!("voter.error.{}", self.code())).to_owned();
        match self {
            Self::TooManyCodes { wait } => text.replace("{seconds}", &wait.to_string()),
            Self::Wrong { attempts_left } => text.replace("{left}", &attempts_left.to_string()),
            _ => text,
        }
    }

    /// The number of the page's sentence (`{seconds}` or `{left}`), 0 when it has none.
    pub fn arg(&self) -> i64 {
        match self {
            Self::TooManyCodes { wait } => *wait,
            Self::Wrong { attempts_left } => i64::from(*attempts_left),
            _ => 0,
        }
    }

    fn retry_after(&self) -> Option<i64> {
        match self {
            Self::TooManyCodes { wait } => Some(*wait),
            Self::TooManyAttempts => Some(i64::from(CODE_MINUTES) * 60),
            _ => None,
        }
    }

    fn api(self) -> Response {
        match self {
            Self::Internal(e) => return ApiError::internal(e).into_response(),
            Self::Body(e) => return e.into_response(),
            _ => {}
        }
        let message = self.text(Lang::En);
        let mut body = json!({"error": {"code": self.code(), "message": message}});
        if let Self::Wrong { attempts_left } = self {
            body["error"]["attempts_left"] = json!(attempts_left);
        }
        let mut res = (self.status(), Json(body)).into_response();
        if let Some(wait) = self.retry_after() {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(wait.max(1)));
        }
        res
    }
}

fn code_hash(key: &[u8], email: &str, code: &str) -> Vec<u8> {
    #[expect(clippy::unwrap_used, reason = "HMAC takes keys of any length")]
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(email.as_bytes());
    m.update(b":");
    m.update(code.as_bytes());
    m.finalize().into_bytes().to_vec()
}

/// Seconds until the oldest of `limit` recent codes leaves the window, if the limit is reached.
async fn wait_for(
    db: &sqlx::PgPool,
    column: &str,
    value: &str,
    limit: i64,
) -> sqlx::Result<Option<i64>> {
    // `column` is one of two fixed names, never input.
    let (count, oldest): (i64, Option<f64>) = sqlx::query_as(&format!(
        "select count(*), extract(epoch from min(created_at) + make_interval(mins => $2) - now())::float8
         from voter_code where {column} = $1::{ty} and created_at > now() - make_interval(mins => $2)",
        ty = if column == "ip" { "inet" } else { "citext" },
    ))
    .bind(value)
    .bind(WINDOW_MINUTES as i32)
    .fetch_one(db)
    .await?;
    Ok((count >= limit).then(|| oldest.unwrap_or(1.0).ceil().max(1.0) as i64))
}

/// Sends a new code to `email` (the latest code is the one that counts).
pub async fn send_code(
    state: &AppState,
    email: &str,
    ip: Option<IpAddr>,
    lang: Lang,
) -> Result<(), CodeError> {
    let email = Email::parse(email).map_err(|_| CodeError::InvalidEmail)?;
    let email = email.as_str();
    if let Some(wait) = wait_for(&state.db, "email", email, CODES_PER_EMAIL).await? {
        return Err(CodeError::TooManyCodes { wait });
    }
    if let Some(ip) = ip
        && let Some(wait) = wait_for(&state.db, "ip", &ip.to_string(), CODES_PER_IP).await?
    {
        return Err(CodeError::TooManyCodes { wait });
    }
    // The budget every mail of the site shares, per recipient, address and network (kept
    // in PostgreSQL, so all web nodes spend the same one).
    let counters = crate::domain::people::throttle::mail_counters(&state.config.limits, email, ip);
    if let Some(wait) = crate::domain::people::throttle::take(&state.db, &counters).await? {
        return Err(CodeError::TooManyCodes { wait });
    }
    let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
    let key = state.secrets.get(&state.db, "voter-code").await?;
    let mut tx = state.db.begin().await?;
    sqlx::query(
        "insert into voter_code (email, code_hash, ip, expires_at)
         values ($1, $2, $3::inet, now() + make_interval(mins => $4))",
    )
    .bind(email)
    .bind(code_hash(&key, email, &code))
    .bind(ip.map(|ip| ip.to_string()))
    .bind(CODE_MINUTES)
    .execute(&mut *tx)
    .await?;
    let body = i18n::text(lang, "voter.mail.body")
        .replace("{code}", &code)
        .replace("{minutes}", &CODE_MINUTES.to_string());
    let subject = i18n::text(lang, "voter.mail.subject").replace("{code}", &code);
    crate::mail::queue(&mut *tx, email, "voter-code", &subject, &body).await?;
    tx.commit().await?;
    Ok(())
}

/// Checks `code` against the latest code of `email`; the right one, once, gives the voter's
/// account id (made on first use, email marked verified).
pub async fn verify_code(state: &AppState, email: &str, code: &str) -> Result<i64, CodeError> {
    let email = Email::parse(email).map_err(|_| CodeError::InvalidEmail)?;
    let email = email.as_str();
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CodeError::InvalidFormat);
    }
    let key = state.secrets.get(&state.db, "voter-code").await?;
    let mut tx = state.db.begin().await?;
    if let Err(e) = spend_code(&mut tx, &key, email, code).await? {
        // A wrong guess is counted.
        tx.commit().await?;
        return Err(e);
    }
    // Nothing changes for a staff account: the code is not a way around its password.
    let user_id = voter_account(&mut tx, email).await??;
    // An account someone registered with this address but never verified starts over: its
    // password, sessions and tokens were set up by whoever registered it, who may not be the
    // mailbox's owner (pre-hijacking).
    crate::domain::people::accounts::prove_mailbox(&mut tx, user_id).await?;
    tx.commit().await?;
    Ok(user_id)
}

/// Checks `code` against the latest code of `email`, marking it used when right and counting
/// a wrong guess.
async fn spend_code(
    tx: &mut Transaction<'_, Postgres>,
    key: &[u8],
    email: &str,
    code: &str,
) -> sqlx::Result<Result<(), CodeError>> {
    let latest: Option<(i64, Vec<u8>, i32, bool, bool)> = sqlx::query_as(
        "select voter_code_id, code_hash, attempts, expires_at <= now(), used_at is not null
         from voter_code where email = $1
         order by created_at desc, voter_code_id desc limit 1 for update",
    )
    .bind(email)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((id, hash, attempts, expired, used)) = latest else {
        return Ok(Err(CodeError::Wrong {
            attempts_left: MAX_ATTEMPTS,
        }));
    };
    if used || expired {
        return Ok(Err(CodeError::Expired));
    }
    if attempts >= MAX_ATTEMPTS {
        return Ok(Err(CodeError::TooManyAttempts));
    }
    let expected = code_hash(key, email, code);
    // Constant time: the comparison does not tell how many bytes were right.
    let same = expected.len() == hash.len()
        && expected
            .iter()
            .zip(&hash)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        sqlx::query("update voter_code set attempts = attempts + 1 where voter_code_id = $1")
            .bind(id)
            .execute(&mut **tx)
            .await?;
        let left = MAX_ATTEMPTS - attempts - 1;
        return Ok(Err(if left <= 0 {
            CodeError::TooManyAttempts
        } else {
            CodeError::Wrong {
                attempts_left: left,
            }
        }));
    }
    sqlx::query("update voter_code set used_at = now() where voter_code_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(Ok(()))
}

/// The member account of `email`, made on first use with its email verified; a staff
/// account is refused (and the caller's transaction is dropped, changing nothing).
async fn voter_account(
    tx: &mut Transaction<'_, Postgres>,
    email: &str,
) -> sqlx::Result<Result<i64, CodeError>> {
    // A voter made here has no password ('!' is no hash); "forgot password" can set one.
    let local: String = email
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    // An account that exists is only marked after the staff check.
    let (user_id, role, disabled): (i64, Role, bool) = sqlx::query_as(
        "insert into app_user (email, display_name, password_hash, role, email_verified_at)
         values ($1, $2, '!voter-code', 'member', now())
         on conflict (email) do update set email = excluded.email
         returning app_user_id, role, disabled_at is not null",
    )
    .bind(email)
    .bind(if local.is_empty() { "Cử tri" } else { &local })
    .fetch_one(&mut **tx)
    .await?;
    if disabled {
        return Ok(Err(CodeError::Disabled));
    }
    if role != Role::Member {
        return Ok(Err(CodeError::UsePassword));
    }
    Ok(Ok(user_id))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct SendBody {
    email: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/voters/codes",
    operation_id = "send_voter_code",
    summary = "mail a 6-digit code to a voter without a password (valid 10 minutes, 5 tries; at most 3 codes per email and 10 per client address in 15 minutes, and all mail the site sends shares a budget per recipient, client address and network; 429 too-many-codes with Retry-After)",
    request_body = SendBody,
    responses(
        (status = 202, description = "{sent: true, expires_in: seconds}"),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 429, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_send(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), CodeError> {
    let body: SendBody = json_body(&body)?;
    send_code(&state, &body.email, ip, Lang::Vi).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"sent": true, "expires_in": CODE_MINUTES * 60})),
    ))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct VerifyBody {
    email: String,
    code: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/voters/sessions",
    operation_id = "verify_voter_code",
    summary = "exchange the mailed code for a bearer token; makes the voter's account on first use (email verified). An account registered with this email but never verified starts over: its password, sessions and tokens end. Codes: invalid-code-format (422), code-invalid (401, with attempts_left), code-expired (410), too-many-attempts (429), use-password (403, staff accounts)",
    request_body = VerifyBody,
    responses(
        (status = 200, description = "{token, user}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 410, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 429, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_verify(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Json<serde_json::Value>, CodeError> {
    let body: VerifyBody = json_body(&body)?;
    let id = verify_code(&state, &body.email, &body.code).await?;
    let token = crate::security::sessions::issue_token(&state.db, id, &headers).await?;
    let user = hoithi_core::auth::user_by_id(&state.db, id)
        .await?
        .ok_or_else(|| CodeError::Internal(anyhow::anyhow!("voter {id} vanished")))?;
    Ok(Json(
        json!({"token": token, "user": crate::domain::people::accounts::user_json(&user)}),
    ))
}

#[derive(Template)]
#[template(path = "voting/sign_in.html")]
struct SignInPage {
    page: Page,
    email: String,
    next: String,
    error: String,
    /// Whether the code was sent and the code form is shown.
    sent: bool,
}

#[derive(Debug, Default, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn sign_in_page(ctx: &Ctx, email: String, next: String, sent: bool, error: String) -> SignInPage {
    SignInPage {
        page: ctx.page("voter.title"),
        email,
        next,
        error,
        sent,
    }
}

async fn sign_in_form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    let next = safe_next(q.next.as_deref());
    render(
        StatusCode::OK,
        &sign_in_page(&ctx, String::new(), next, false, String::new()),
    )
}

#[derive(Debug, Default, Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    code: String,
    next: Option<String>,
}

/// Page errors: the form again with the message, or the error page for a failure.
fn page_error(ctx: &Ctx, e: CodeError, form: SignInForm, sent: bool) -> Response {
    let e = match e {
        CodeError::Internal(e) => return PageError::Internal(e).into_response(),
        CodeError::Body(e) => return e.into_response(),
        e => e,
    };
    let next = safe_next(form.next.as_deref());
    // A form with a mistake is 422 for pages (401 would ask the browser for credentials).
    let status = match e.status() {
        StatusCode::TOO_MANY_REQUESTS => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let mut res = render(
        status,
        &sign_in_page(ctx, form.email, next, sent, e.text(ctx.lang)),
    );
    if let Some(wait) = e.retry_after() {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait.max(1)));
    }
    res
}

async fn sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Form(form): Form<SignInForm>,
) -> Response {
    match send_code(&state, &form.email, ip, ctx.lang).await {
        Ok(()) => {
            let next = safe_next(form.next.as_deref());
            let email = form.email.trim().to_lowercase();
            render(
                StatusCode::OK,
                &sign_in_page(&ctx, email, next, true, String::new()),
            )
        }
        Err(e) => page_error(&ctx, e, form, false),
    }
}

async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    session: Option<axum::Extension<crate::security::SessionHash>>,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    let user_id = match verify_code(&state, &form.email, &form.code).await {
        Ok(id) => id,
        Err(e) => return Ok(page_error(&ctx, e, form, true)),
    };
    if let Some(axum::Extension(crate::security::SessionHash(old))) = session {
        crate::security::delete_session(&state.db, &old).await?;
    }
    let token = crate::security::create_session(&state.db, user_id).await?;
    let next = safe_next(form.next.as_deref());
    Ok(crate::security::sessions::signed_in(
        &state, &headers, &token, &next,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_hash_depends_on_the_key_the_email_and_the_code() {
        let a = code_hash(b"key", "a@example.vn", "123456");
        assert_eq!(a, code_hash(b"key", "a@example.vn", "123456"));
        assert_ne!(a, code_hash(b"other", "a@example.vn", "123456"));
        assert_ne!(a, code_hash(b"key", "b@example.vn", "123456"));
        assert_ne!(a, code_hash(b"key", "a@example.vn", "123457"));
    }
}
