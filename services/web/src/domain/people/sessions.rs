//! Cookie sessions as rows: a browser's session cookie is a random token of which only the
//! hash is stored; the security layer looks it up like a bearer token (`hoithi_core::auth::Credential::WebSession`).

use sqlx::{PgConnection, PgExecutor};

use super::tokens;

/// How long a browser stays signed in without coming back.
pub const SESSION_DAYS: i32 = 30;

/// Makes a session for `user_id`; returns the cookie value (only its hash is stored).
pub async fn create_session(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<String> {
    let token = tokens::random_token();
    sqlx::query(
        "insert into web_session (session_hash, app_user_id, expires_at)
         values ($1, $2, now() + make_interval(days => $3))",
    )
    .bind(tokens::hash(&token))
    .bind(user_id)
    .bind(SESSION_DAYS)
    .execute(db)
    .await?;
    Ok(token)
}

pub async fn delete_session(db: impl PgExecutor<'_>, hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("delete from web_session where session_hash = $1")
        .bind(hash)
        .execute(db)
        .await
        .map(drop)
}

pub async fn delete_all_sessions(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from web_session where app_user_id = $1")
        .bind(user_id)
        .execute(db)
        .await
        .map(drop)
}

/// Ends everything that can act for `user_id`: its cookie sessions and its API tokens.
pub async fn end_sessions_and_tokens(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<()> {
    delete_all_sessions(&mut *conn, user_id).await?;
    tokens::revoke_all_api_tokens(&mut *conn, user_id).await
}

/// Replaces the browser's previous session (if any) by a new one of `user_id`: a session id
/// planted before sign-in is worthless after it. Returns the new cookie value.
pub async fn replace_session(
    db: &sqlx::PgPool,
    old: Option<&[u8]>,
    user_id: i64,
) -> sqlx::Result<String> {
    if let Some(old) = old {
        delete_session(db, old).await?;
    }
    create_session(db, user_id).await
}
