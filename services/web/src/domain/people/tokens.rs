//! Secrets handed out to people: one-time links (email verification, password reset) and API
//! bearer tokens. Only a token's hash is stored, so a copy of the database acts for nobody.

use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgExecutor;

/// What a one-time link is for (the `purpose` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::VerifyEmail => "verify-email",
            Self::ResetPassword => "reset-password",
        }
    }

    /// How long a link stays good.
    fn hours(self) -> i32 {
        match self {
            Self::VerifyEmail => 48,
            Self::ResetPassword => 2,
        }
    }
}

/// 32 random bytes, URL-safe base64: a session, CSRF nonce, link or API token.
pub fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

/// The stored form of a token.
pub fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new one-time link token of `user_id` for `purpose`.
pub async fn new_one_time(
    db: impl PgExecutor<'_>,
    user_id: i64,
    purpose: Purpose,
) -> sqlx::Result<String> {
    let token = random_token();
    sqlx::query(
        "insert into one_time_token (token_hash, app_user_id, purpose, expires_at)
         values ($1, $2, $3, now() + make_interval(hours => $4))",
    )
    .bind(hash(&token))
    .bind(user_id)
    .bind(purpose.as_str())
    .bind(purpose.hours())
    .execute(db)
    .await?;
    Ok(token)
}

/// Uses a one-time token: the user it belongs to, once; a second use or an expired token is `None`.
pub async fn use_one_time(
    db: impl PgExecutor<'_>,
    token: &str,
    purpose: Purpose,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(
        "update one_time_token set used_at = now()
         where token_hash = $1 and purpose = $2 and used_at is null and expires_at > now()
         returning app_user_id",
    )
    .bind(hash(token))
    .bind(purpose.as_str())
    .fetch_optional(db)
    .await
}

/// Ends the unused reset links of `user_id` (a link mailed before a password change or
/// reset would undo it).
pub async fn end_reset_links(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update one_time_token set used_at = now()
         where app_user_id = $1 and purpose = 'reset-password' and used_at is null",
    )
    .bind(user_id)
    .execute(db)
    .await
    .map(drop)
}

/// Ends every unused link of `user_id`, whatever it is for.
pub async fn end_all_links(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "update one_time_token set used_at = now() where app_user_id = $1 and used_at is null",
    )
    .bind(user_id)
    .execute(db)
    .await
    .map(drop)
}

/// The label of an API token: the client's user agent, without control characters, at
/// most 200 characters (the account page lists tokens by it).
pub fn token_label(user_agent: Option<&str>) -> Option<String> {
    user_agent.map(|ua| ua.chars().filter(|c| !c.is_control()).take(200).collect())
}

/// Makes a bearer token for `user_id`; only the token's hash is stored, as in
/// `hoithi_core::auth`.
pub async fn issue_api_token(
    db: impl PgExecutor<'_>,
    user_id: i64,
    label: Option<String>,
) -> sqlx::Result<String> {
    let token = random_token();
    sqlx::query(
        "insert into api_token (token_hash, app_user_id, expires_at, label)
         values ($1, $2, now() + make_interval(days => $3), $4)",
    )
    .bind(hash(&token))
    .bind(user_id)
    .bind(hoithi_core::auth::TOKEN_DAYS as i32)
    .bind(label)
    .execute(db)
    .await?;
    Ok(token)
}

/// A live API token as its owner sees it (never its secret: only its hash is stored).
#[derive(Debug, sqlx::FromRow, serde::Serialize)]
pub struct TokenRow {
    #[serde(rename = "id")]
    pub api_token_id: i64,
    pub label: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: DateTime<Utc>,
}

/// The live tokens of `user_id`, newest first.
pub async fn api_tokens_of(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(
        "select api_token_id, label, created_at, last_used_at, expires_at from api_token
         where app_user_id = $1 and expires_at > now() order by created_at desc, api_token_id desc",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Revokes token `id` of `user_id`; `false` when it is someone else's or already gone.
pub async fn revoke_api_token(
    db: impl PgExecutor<'_>,
    user_id: i64,
    id: i64,
) -> sqlx::Result<bool> {
    let deleted = sqlx::query("delete from api_token where api_token_id = $1 and app_user_id = $2")
        .bind(id)
        .bind(user_id)
        .execute(db)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Revokes every API token of `user_id`.
pub async fn revoke_all_api_tokens(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from api_token where app_user_id = $1")
        .bind(user_id)
        .execute(db)
        .await
        .map(drop)
}
