//! Cookie sessions over HTTP: the session cookie of a request puts its user into the request
//! (`CurrentUser`, so pages, the API and uploads all see it), the responses that set and
//! clear the cookie, and `MaybeUser` for routes open to everyone.

use std::convert::Infallible;

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::{Credential, CurrentUser, user_for_credential};
use sqlx::PgPool;

use super::cookies::{cookie, cookie_header, is_secure, session_cookie_name};
use crate::domain::people::sessions::{SESSION_DAYS, delete_session, replace_session};
use crate::domain::people::tokens;
use crate::page::no_store;

/// The hash of the session cookie of a signed-in request.
#[derive(Debug, Clone)]
pub struct SessionHash(pub Vec<u8>);

/// A cookie that names a live session puts its user (and the session's hash) into the
/// request. `true` when it did.
pub(crate) async fn attach_user(
    state: &AppState,
    request: &mut Request,
    secure: bool,
) -> anyhow::Result<bool> {
    let Some(value) = cookie(request.headers(), session_cookie_name(secure)) else {
        return Ok(false);
    };
    let hash = tokens::hash(&value);
    let Some(user) = user_for_credential(state, Credential::WebSession, hash.clone()).await? else {
        return Ok(false);
    };
    request.extensions_mut().insert(user);
    request.extensions_mut().insert(SessionHash(hash));
    Ok(true)
}

fn with_cookie(mut res: Response, cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, v);
    }
    res
}

/// Redirects to `to` with the session cookie `token`.
fn session_redirect(secure: bool, token: &str, to: &str) -> Response {
    let cookie = cookie_header(
        session_cookie_name(secure),
        token,
        i64::from(SESSION_DAYS) * 86400,
        secure,
    );
    no_store(with_cookie(Redirect::to(to).into_response(), &cookie))
}

/// Redirects home and clears the session cookie.
fn sign_out_redirect(secure: bool) -> Response {
    let cookie = cookie_header(session_cookie_name(secure), "", 0, secure);
    with_cookie(Redirect::to("/").into_response(), &cookie)
}

/// Redirects to `to` with a fresh session cookie (the session `token` was made by the caller).
pub fn signed_in(state: &AppState, headers: &HeaderMap, token: &str, to: &str) -> Response {
    session_redirect(is_secure(state, headers), token, to)
}

/// The browser of a request that signs in or out: whether its cookies must be `Secure`, and
/// the session it has now, if any.
#[derive(Debug, Clone)]
pub struct Browser {
    secure: bool,
    session: Option<Vec<u8>>,
}

impl FromRequestParts<AppState> for Browser {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Infallible> {
        Ok(Self {
            secure: is_secure(state, &parts.headers),
            session: parts.extensions.get::<SessionHash>().map(|h| h.0.clone()),
        })
    }
}

impl Browser {
    /// Signs the browser in as `user_id` and sends it to `to`. The session it had (another
    /// account's, or one planted before sign-in) ends, so it is worthless after it.
    pub async fn sign_in(&self, db: &PgPool, user_id: i64, to: &str) -> sqlx::Result<Response> {
        let token = replace_session(db, self.session.as_deref(), user_id).await?;
        Ok(session_redirect(self.secure, &token, to))
    }

    /// Gives the browser the session `token` (made by the caller) and sends it to `to`.
    pub fn signed_in(&self, token: &str, to: &str) -> Response {
        session_redirect(self.secure, token, to)
    }

    /// Ends the browser's session, if it has one, and sends it home.
    pub async fn sign_out(&self, db: &PgPool) -> sqlx::Result<Response> {
        if let Some(hash) = &self.session {
            delete_session(db, hash).await?;
        }
        Ok(self.signed_out())
    }

    /// Clears the session cookie and sends the browser home.
    pub fn signed_out(&self) -> Response {
        sign_out_redirect(self.secure)
    }
}

/// The caller if any: a session's user, or a bearer token's (a bad token is still a 401,
/// so a client learns its token is wrong instead of silently seeing public data).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl FromRequestParts<AppState> for MaybeUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if parts.extensions.get::<CurrentUser>().is_some()
            || parts.headers.contains_key(header::AUTHORIZATION)
        {
            return CurrentUser::from_request_parts(parts, state)
                .await
                .map(|u| Self(Some(u)));
        }
        Ok(Self(None))
    }
}

/// Makes a bearer token for `user_id` labelled with the client's user agent (the account
/// page lists tokens by it).
pub async fn issue_token(
    db: impl sqlx::PgExecutor<'_>,
    user_id: i64,
    headers: &HeaderMap,
) -> sqlx::Result<String> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok());
    tokens::issue_api_token(db, user_id, tokens::token_label(agent)).await
}
