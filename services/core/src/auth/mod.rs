//! Who is calling: bearer tokens of API clients (stored as hashes) and the `CurrentUser`
//! extractor. Pages add cookie sessions on top of the same extractor.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgExecutor, PgPool};

use crate::AppState;
use crate::api_error::ApiError;
use crate::domain::Role;

mod credential;
mod touch;

pub use credential::Credential;
pub use touch::Toucher;

/// How long a bearer token lives.
pub const TOKEN_DAYS: i64 = 30;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CurrentUser {
    pub app_user_id: i64,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: Option<i64>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

impl CurrentUser {
    pub fn is_verified(&self) -> bool {
        self.email_verified_at.is_some()
    }
}

fn token_hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Makes a new bearer token for `user_id`; only its hash is stored.
pub async fn issue_token(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<String> {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    sqlx::query(
        "insert into api_token (token_hash, app_user_id, expires_at)
         values ($1, $2, now() + make_interval(days => $3))",
    )
    .bind(token_hash(&token))
    .bind(user_id)
    .bind(TOKEN_DAYS as i32)
    .execute(db)
    .await?;
    Ok(token)
}

/// The user behind a live token.
pub async fn user_for_token(state: &AppState, token: &str) -> sqlx::Result<Option<CurrentUser>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    user_for_credential(state, Credential::ApiToken, token_hash(token)).await
}

/// The user's columns and whether the credential was last used over a minute ago.
struct Found {
    app_user_id: i64,
    email: String,
    display_name: String,
    role: Role,
    unit_id: Option<i64>,
    email_verified_at: Option<DateTime<Utc>>,
    stale: bool,
}

impl Found {
    fn user(self) -> CurrentUser {
        CurrentUser {
            app_user_id: self.app_user_id,
            email: self.email,
            display_name: self.display_name,
            role: self.role,
            unit_id: self.unit_id,
            email_verified_at: self.email_verified_at,
        }
    }
}

/// The user a live credential's hash names. Compile-checked: these are the statements every
/// request of a signed-in user or API client runs.
async fn lookup(db: &PgPool, credential: Credential, hash: &[u8]) -> sqlx::Result<Option<Found>> {
    match credential {
        Credential::ApiToken => {
            sqlx::query_as!(
                Found,
                r#"select u.app_user_id, u.email::text as "email!", u.display_name,
                          u.role as "role: Role", u.unit_id, u.email_verified_at,
                          t.last_used_at is null or t.last_used_at < now() - interval '1 minute' as "stale!"
                   from api_token t join app_user u using (app_user_id)
                   where t.token_hash = $1 and t.expires_at > now()"#,
                hash
            )
            .fetch_optional(db)
            .await
        }
        Credential::WebSession => {
            sqlx::query_as!(
                Found,
                r#"select u.app_user_id, u.email::text as "email!", u.display_name,
                          u.role as "role: Role", u.unit_id, u.email_verified_at,
                          s.last_seen_at < now() - interval '1 minute' as "stale!"
                   from web_session s join app_user u using (app_user_id)
                   where s.session_hash = $1 and s.expires_at > now()"#,
                hash
            )
            .fetch_optional(db)
            .await
        }
    }
}

/// The user a live credential names. Only reads: its use is recorded later
/// (`state.touches`, a [`Toucher`]).
pub async fn user_for_credential(
    state: &AppState,
    credential: Credential,
    hash: Vec<u8>,
) -> sqlx::Result<Option<CurrentUser>> {
    let Some(found) = lookup(&state.db, credential, &hash).await? else {
        return Ok(None);
    };
    if found.stale {
        state.touches.touch_later(&state.db, credential, hash);
    }
    Ok(Some(found.user()))
}

pub async fn user_by_id(db: impl PgExecutor<'_>, id: i64) -> sqlx::Result<Option<CurrentUser>> {
    sqlx::query_as(
        "select app_user_id, email::text as email, display_name, role, unit_id, email_verified_at
         from app_user where app_user_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(user.clone());
        }
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        let user = user_for_token(state, token)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}
