//! Who is calling: bearer tokens of API clients (stored as hashes) and the `CurrentUser`
//! extractor. Pages add cookie sessions on top of the same extractor.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgExecutor, PgPool, Row};

use crate::AppState;
use crate::api_error::ApiError;
use crate::domain::Role;

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
pub async fn user_for_token(db: &PgPool, token: &str) -> sqlx::Result<Option<CurrentUser>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    user_for_credential(db, &API_TOKEN, token_hash(token)).await
}

/// How to find a user by the hash of a credential (a bearer token, a session cookie) and how
/// to record its use. `lookup` returns the user's columns and `stale` (last use over a minute
/// ago); `touch` takes `$1::bytea[]`.
pub struct Credential {
    pub lookup: &'static str,
    pub touch: &'static str,
}

pub const API_TOKEN: Credential = Credential {
    lookup: "select u.app_user_id, u.email::text as email, u.display_name, u.role, u.unit_id, u.email_verified_at,
                    t.last_used_at is null or t.last_used_at < now() - interval '1 minute' as stale
             from api_token t join app_user u using (app_user_id)
             where t.token_hash = $1 and t.expires_at > now()",
    touch: "update api_token set last_used_at = now() where token_hash = any($1::bytea[])",
};

/// The user a live credential names. Only reads: its use is recorded later (`touch_later`).
pub async fn user_for_credential(
    db: &PgPool,
    credential: &Credential,
    hash: Vec<u8>,
) -> sqlx::Result<Option<CurrentUser>> {
    let Some(row) = sqlx::query(credential.lookup)
        .bind(&hash)
        .fetch_optional(db)
        .await?
    else {
        return Ok(None);
    };
    if row.try_get::<bool, _>("stale")? {
        touch_later(db, credential.touch, hash);
    }
    CurrentUser::from_row(&row).map(Some)
}

/// Keys whose "last used" time is due, waiting for the next write.
struct Touches {
    /// When the pending write was scheduled. A write whose runtime ended before it ran
    /// (a test's) is scheduled again after a few seconds.
    scheduled: Option<std::time::Instant>,
    due: Vec<(PgPool, &'static str, Vec<u8>)>,
}

static TOUCHES: std::sync::Mutex<Touches> = std::sync::Mutex::new(Touches {
    scheduled: None,
    due: Vec::new(),
});

/// At most this many keys wait for a write; beyond it a "last used" time is skipped.
const MAX_TOUCHES: usize = 100_000;

/// Records "last used" of a token or session off the request's path: keys gather for a second
/// and are written with one statement per kind (`sql` takes `$1::bytea[]`), without waiting
/// for the disk (`synchronous_commit = off`; losing it in a crash costs nothing). A request
/// that only reads commits nothing, and a spike of first-time voters costs one write a
/// second instead of one per voter.
pub fn touch_later(db: &PgPool, sql: &'static str, key: Vec<u8>) {
    let mut touches = TOUCHES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if touches.due.len() >= MAX_TOUCHES {
        return;
    }
    touches.due.push((db.clone(), sql, key));
    let now = std::time::Instant::now();
    if touches
        .scheduled
        .is_none_or(|at| now.duration_since(at) > std::time::Duration::from_secs(5))
    {
        touches.scheduled = Some(now);
        tokio::spawn(write_touches());
    }
}

async fn write_touches() {
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let due = {
        let mut touches = TOUCHES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        touches.scheduled = None;
        std::mem::take(&mut touches.due)
    };
    // One statement per database and kind of key.
    let mut groups: Vec<(PgPool, &'static str, Vec<Vec<u8>>)> = Vec::new();
    for (db, sql, key) in due {
        let same = |g: &&mut (PgPool, &'static str, Vec<Vec<u8>>)| {
            g.1 == sql && std::sync::Arc::ptr_eq(&g.0.connect_options(), &db.connect_options())
        };
        match groups.iter_mut().find(same) {
            Some(g) => g.2.push(key),
            None => groups.push((db, sql, vec![key])),
        }
    }
    for (db, sql, mut keys) in groups {
        keys.sort_unstable();
        keys.dedup();
        let written = async {
            let mut tx = db.begin().await?;
            sqlx::query("set local synchronous_commit = off")
                .execute(&mut *tx)
                .await?;
            sqlx::query(sql).bind(&keys).execute(&mut *tx).await?;
            tx.commit().await
        };
        if let Err(err) = written.await {
            tracing::debug!(error = %err, "cannot record when tokens or sessions were last used");
        }
    }
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
        let user = user_for_token(&state.db, token)
            .await?
            .ok_or_else(ApiError::unauthenticated)?;
        parts.extensions.insert(user.clone());
        Ok(user)
    }
}
