//! The account page: who you are signed in as, changing the password, the API tokens that act
//! for you (listed by label and dates, never by secret) with a button to revoke each, and
//! signing out everywhere. API clients list and revoke tokens at `/api/v1/me/tokens`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Password;
use serde::Deserialize;

use super::{SignIn, authenticate, end_sessions_and_tokens, no_password, signed_in, wait_page};
use crate::access::client::ClientIp;
use crate::page::{Ctx, Page, PageError, no_store, render};
use crate::security;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route("/account/password", post(change_password))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/api/v1/me/tokens", get(api_tokens))
        .route("/api/v1/me/tokens/{id}", delete(api_revoke))
}

#[derive(sqlx::FromRow, serde::Serialize)]
struct TokenRow {
    #[serde(rename = "id")]
    api_token_id: i64,
    label: Option<String>,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
}

/// The live tokens of `user_id`, newest first (never their secret: only its hash is stored).
async fn tokens_of(db: &sqlx::PgPool, user_id: i64) -> sqlx::Result<Vec<TokenRow>> {
    sqlx::query_as(
        "select api_token_id, label, created_at, last_used_at, expires_at from api_token
         where app_user_id = $1 and expires_at > now() order by created_at desc, api_token_id desc",
    )
    .bind(user_id)
    .fetch_all(db)
    .await
}

#[derive(Template)]
#[template(path = "accounts/account.html")]
struct AccountPage {
    page: Page,
    email: String,
    verified: bool,
    has_password: bool,
    tokens: Vec<TokenRow>,
    notice: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn account_page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    notice: String,
    error: String,
) -> Result<Response, PageError> {
    let Some(user) = &ctx.user else {
        return Err(PageError::SignIn);
    };
    let hash: String =
        sqlx::query_scalar("select password_hash from app_user where app_user_id = $1")
            .bind(user.app_user_id)
            .fetch_one(&state.db)
            .await?;
    let tokens = tokens_of(&state.db, user.app_user_id).await?;
    Ok(no_store(render(
        status,
        &AccountPage {
            page: ctx.page("account.page.title"),
            email: user.email.clone(),
            verified: user.is_verified(),
            has_password: !no_password(&hash),
            tokens,
            notice,
            error,
        },
    )))
}

async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    // Only known notices are shown: the query string is not a way to put text on the page.
    let notice = match q.notice.as_deref() {
        Some("password-changed") => ctx.t("account.page.password-changed").to_owned(),
        Some("token-revoked") => ctx.t("account.page.token-revoked").to_owned(),
        _ => String::new(),
    };
    account_page(&state, &ctx, StatusCode::OK, notice, String::new()).await
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
}

/// A new password, given the current one (checked under the sign-in limits, so a borrowed
/// session cannot guess it). Every session and API token ends; this browser gets a fresh
/// session.
async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    ClientIp(ip): ClientIp,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/login?next=/account").into_response());
    };
    let refuse = |status, key: &str| {
        let error = ctx.t(key).to_owned();
        let state = state.clone();
        let ctx = ctx.clone();
        async move { account_page(&state, &ctx, status, String::new(), error).await }
    };
    let password = match Password::parse(&form.password) {
        Ok(p) => p,
        Err(e) => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("account.error.{}", e.code),
            )
            .await;
        }
    };
    let checked = authenticate(
        &state,
        &user.email,
        &form.current,
        ip,
        Some(user.app_user_id),
    )
    .await;
    match checked? {
        SignIn::Wait(wait) => return Ok(wait_page(&ctx, wait)),
        SignIn::Wrong => {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "account.error.wrong-password",
            )
            .await;
        }
        SignIn::Ok(id) if id == user.app_user_id => {}
        SignIn::Ok(_) => return Err(PageError::Forbidden),
    }
    // The steps fail with different error types; the block gathers them into one.
    let session = async {
        let hash = hoithi_core::password::hash(password.expose())?;
        let mut tx = state.db.begin().await?;
        sqlx::query("update app_user set password_hash = $2 where app_user_id = $1")
            .bind(user.app_user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
        end_sessions_and_tokens(&mut tx, user.app_user_id).await?;
        // A reset link mailed before the change would undo it.
        sqlx::query(
            "update one_time_token set used_at = now()
             where app_user_id = $1 and purpose = 'reset-password' and used_at is null",
        )
        .bind(user.app_user_id)
        .execute(&mut *tx)
        .await?;
        let session = security::create_session(&mut *tx, user.app_user_id).await?;
        tx.commit().await?;
        Ok::<_, anyhow::Error>(session)
    }
    .await?;
    Ok(signed_in(
        &state,
        &headers,
        &session,
        "/account?notice=password-changed",
    ))
}

async fn revoke_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let Some(user) = &ctx.user else {
        return Ok(Redirect::to("/login?next=/account").into_response());
    };
    let deleted = sqlx::query("delete from api_token where api_token_id = $1 and app_user_id = $2")
        .bind(id)
        .bind(user.app_user_id)
        .execute(&state.db)
        .await?;
    // Someone else's token, or one already gone: nothing to say about which.
    if deleted.rows_affected() != 1 {
        return Err(PageError::NotFound);
    }
    Ok(Redirect::to("/account?notice=token-revoked").into_response())
}

async fn api_tokens(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tokens = tokens_of(&state.db, user.app_user_id).await?;
    Ok(Json(serde_json::json!({ "tokens": tokens })))
}

async fn api_revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    let deleted = sqlx::query("delete from api_token where api_token_id = $1 and app_user_id = $2")
        .bind(id)
        .bind(user.app_user_id)
        .execute(&state.db)
        .await?;
    if deleted.rows_affected() == 1 {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token"))
    }
}
