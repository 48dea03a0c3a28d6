//! Accounts: checking a password under the sign-in limits, proving a mailbox, and the
//! transactions of a password change, a reset and an email verification.
//!
//! An account is only its mailbox's owner's once the mailbox is proven (a verification link,
//! a voter code, a reset link). Until then whoever registered the address may be someone
//! else, so proving it takes everything they set up away (`prove_mailbox`). A password
//! reset or change ends every session and every API token.

use std::net::IpAddr;

use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Password;
use serde_json::json;
use sqlx::{PgConnection, PgPool};

use super::sessions::{self, end_sessions_and_tokens};
use super::throttle;
use super::tokens::{self, Purpose};

/// What a password check came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignIn {
    Ok(i64),
    Wrong,
    /// Too many tries: wait this many seconds.
    Wait(i64),
}

/// The password of an account an organizer invited, until its owner sets one (see
/// `no_password`); proving the mailbox keeps the name and unit the organizer gave it.
pub const INVITED: &str = "!invited";

/// A password hash that is no hash ('!…': an account with no password of its own yet).
pub fn no_password(hash: &str) -> bool {
    hash.starts_with('!')
}

/// A missing account, or one with no password, costs the same hashing time as a real one,
/// so timing does not reveal who exists.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0Nm3Nd4Pg1Jp3j3Y0xvBq3rj4m9u5W4HqvxEnQ2n3fQ";

/// The account of `email` as a sign-in sees it.
struct Candidate {
    id: i64,
    hash: String,
    at_known_address: bool,
}

async fn candidate(
    db: &PgPool,
    email: &str,
    ip: Option<IpAddr>,
) -> sqlx::Result<Option<Candidate>> {
    let row: Option<(i64, String, bool)> = sqlx::query_as(
        "select u.app_user_id, case when u.disabled_at is null then u.password_hash else '!disabled' end,
                exists (select 1 from sign_in_address a
                        where a.app_user_id = u.app_user_id and a.ip = $2::inet)
         from app_user u where u.email = $1",
    )
    .bind(email)
    .bind(ip.map(|ip| ip.to_string()))
    .fetch_optional(db)
    .await?;
    Ok(row.map(|(id, hash, at_known_address)| Candidate {
        id,
        hash,
        at_known_address,
    }))
}

/// Checks a password under the sign-in limits (see `throttle`). `session_user` is the
/// account of the caller's live session, if any: the owner signing in again there, or from an
/// address they signed in from before, is not held back by the account's own counter.
pub async fn authenticate(
    db: &PgPool,
    limits: &throttle::Limits,
    email: &str,
    password: &str,
    ip: Option<IpAddr>,
    session_user: Option<i64>,
) -> sqlx::Result<SignIn> {
    let email = email.trim().to_lowercase();
    let keys = throttle::SignInKeys::new(limits, &email, ip);
    let row = candidate(db, &email, ip).await?;
    let known = row
        .as_ref()
        .is_some_and(|c| c.at_known_address || session_user == Some(c.id));
    if let Some(wait) = keys.blocked_for(db, !known).await? {
        // A try while blocked counts too (and is not checked), so waiting is the only way on.
        let wait = keys.failed(db).await?.unwrap_or(0).max(wait);
        return Ok(SignIn::Wait(wait));
    }
    let has_password = row.as_ref().is_some_and(|c| !no_password(&c.hash));
    let stored = match &row {
        Some(c) if has_password => c.hash.clone(),
        _ => DUMMY_HASH.to_owned(),
    };
    let pw = password.to_owned();
    let (ok, rehash) =
        tokio::task::spawn_blocking(move || hoithi_core::password::verify(&pw, &stored))
            .await
            .unwrap_or((false, false));
    match row {
        Some(c) if ok && has_password => {
            keys.succeeded(db).await?;
            signed_in_from(db, c.id, ip).await?;
            if rehash && let Ok(h) = hoithi_core::password::hash(password) {
                set_password_hash(db, c.id, &h).await?;
            }
            Ok(SignIn::Ok(c.id))
        }
        _ => {
            keys.failed(db).await?;
            Ok(SignIn::Wrong)
        }
    }
}

/// Remembers that `user_id` signed in from `ip` (its owner is not held back there later).
async fn signed_in_from(db: &PgPool, user_id: i64, ip: Option<IpAddr>) -> sqlx::Result<()> {
    let Some(ip) = ip else {
        return Ok(());
    };
    sqlx::query(
        "insert into sign_in_address (app_user_id, ip) values ($1, $2::inet)
         on conflict (app_user_id, ip) do update set last_at = now()",
    )
    .bind(user_id)
    .bind(ip.to_string())
    .execute(db)
    .await
    .map(drop)
}

async fn set_password_hash(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    hash: &str,
) -> sqlx::Result<()> {
    sqlx::query("update app_user set password_hash = $2 where app_user_id = $1")
        .bind(user_id)
        .bind(hash)
        .execute(db)
        .await
        .map(drop)
}

/// Whether `user_id` has a password of its own.
pub async fn has_password(db: &PgPool, user_id: i64) -> sqlx::Result<bool> {
    let hash: String =
        sqlx::query_scalar("select password_hash from app_user where app_user_id = $1")
            .bind(user_id)
            .fetch_one(db)
            .await?;
    Ok(!no_password(&hash))
}

/// The account of `email`, if there is one.
pub async fn id_by_email(db: &PgPool, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select app_user_id from app_user where email = $1")
        .bind(email)
        .fetch_optional(db)
        .await
}

/// The name an account starts over with: the mailbox's local part, at most 60 characters.
pub fn fresh_name(email: &str) -> String {
    let name: String = email
        .split('@')
        .next()
        .unwrap_or("")
        .chars()
        .take(60)
        .collect();
    if name.is_empty() {
        "Thành viên".to_owned()
    } else {
        name
    }
}

/// The mailbox of an account nobody had proven is proven now, by someone who need not be
/// who registered it: an attacker can register the victim's address with a password of
/// their own and wait for the victim to verify it (pre-hijacking). So everything the
/// registrant set up ends here: sessions, API tokens, the password (the account has none
/// until the mailbox's owner sets one), the name and unit they chose, unused mailed links.
/// Marks the email verified. `Ok(false)`: the account was verified already; nothing changed.
pub async fn prove_mailbox(conn: &mut PgConnection, user_id: i64) -> sqlx::Result<bool> {
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
    sqlx::query(
        "update app_user set email_verified_at = now(), password_hash = '!mailbox-proven',
                display_name = case when password_hash = $3 then display_name else $2 end,
                unit_id = case when password_hash = $3 then unit_id end
         where app_user_id = $1",
    )
    .bind(user_id)
    .bind(fresh_name(&email))
    // An organizer's invitation (no registrant chose anything): its name and unit stay.
    .bind(INVITED)
    .execute(&mut *conn)
    .await?;
    end_sessions_and_tokens(conn, user_id).await?;
    tokens::end_all_links(&mut *conn, user_id).await?;
    Ok(true)
}

/// What a verification link did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The link was unknown, used or expired.
    Invalid,
    /// Verified (or already was); nothing else changed.
    Done,
    /// Verified by someone other than the registrant's browser: the account starts over and
    /// its new owner sets a password with this reset token.
    SetPassword(String),
}

/// Uses a verification link, opened by a browser signed in as `session_user` (if any).
pub async fn verify_email(
    db: &PgPool,
    token: &str,
    session_user: Option<i64>,
) -> sqlx::Result<Verified> {
    let mut tx = db.begin().await?;
    let Some(user_id) = tokens::use_one_time(&mut *tx, token, Purpose::VerifyEmail).await? else {
        return Ok(Verified::Invalid);
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
        Verified::SetPassword(
            tokens::new_one_time(&mut *tx, user_id, Purpose::ResetPassword).await?,
        )
    } else {
        Verified::Done
    };
    tx.commit().await?;
    Ok(verdict)
}

/// Sets a new password with a reset link. `Ok(false)`: the link was unknown, used or
/// expired. A reset proves the mailbox, and whoever knew the old password keeps nothing: no
/// session, no API token, no other reset link mailed before this one.
pub async fn reset_password(db: &PgPool, token: &str, password: &Password) -> anyhow::Result<bool> {
    let hash = hoithi_core::password::hash(password.expose())?;
    let mut tx = db.begin().await?;
    let Some(user_id) = tokens::use_one_time(&mut *tx, token, Purpose::ResetPassword).await? else {
        return Ok(false);
    };
    // An account nobody had proven starts over first.
    prove_mailbox(&mut tx, user_id).await?;
    let email: String = sqlx::query_scalar(
        "update app_user set password_hash = $2 where app_user_id = $1 returning email::text",
    )
    .bind(user_id)
    .bind(hash)
    .fetch_one(&mut *tx)
    .await?;
    end_sessions_and_tokens(&mut tx, user_id).await?;
    tokens::end_reset_links(&mut *tx, user_id).await?;
    tx.commit().await?;
    // The owner is back: the account's sign-in counter an attacker ran up is cleared (its key
    // does not depend on the limits).
    let key = throttle::SignInKeys::new(&throttle::Limits::default(), &email, None)
        .account
        .key;
    throttle::clear(db, &[key.as_str()]).await?;
    Ok(true)
}

/// A new password for `user_id` (its current one checked by the caller): every session and
/// API token ends, and so does every reset link mailed before (it would undo the change).
/// Returns the cookie value of a fresh session for the browser that asked.
pub async fn change_password(
    db: &PgPool,
    user_id: i64,
    password: &Password,
) -> anyhow::Result<String> {
    let hash = hoithi_core::password::hash(password.expose())?;
    let mut tx = db.begin().await?;
    set_password_hash(&mut *tx, user_id, &hash).await?;
    end_sessions_and_tokens(&mut tx, user_id).await?;
    tokens::end_reset_links(&mut *tx, user_id).await?;
    let session = sessions::create_session(&mut *tx, user_id).await?;
    tx.commit().await?;
    Ok(session)
}

/// An account as the JSON API shows it.
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
