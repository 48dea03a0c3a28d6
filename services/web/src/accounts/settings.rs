//! The account page: who you are signed in as, changing the password, the API tokens that act
//! for you (listed by label and dates, never by secret) with a button to revoke each, and
//! signing out everywhere. API clients list and revoke tokens at `/api/v1/me/tokens`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, Refusal};
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Password;
use serde::Deserialize;

use super::wait::wait_page;
use crate::access::client::ClientIp;
use crate::domain::people::accounts::{self, SignIn, authenticate};
use crate::domain::people::refusal::AccountRefusal;
use crate::domain::people::tokens::{self, TokenRow};
use crate::domain::privacy::consent::{self, ConsentRow};
use crate::domain::privacy::erase;
use crate::page::{Ctx, Page, PageError, no_store, render};
use crate::security::sessions::Browser;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(page))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/api/v1/me/tokens", get(api_tokens))
        .route("/api/v1/me/tokens/{id}", delete(api_revoke))
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
    consents: Vec<ConsentRow>,
    /// When the asked deletion of the account will be carried out.
    deletion_at: Option<chrono::DateTime<chrono::Utc>>,
    grace_days: i64,
    /// A token just made: shown this once (only its hash is kept).
    new_token: Option<String>,
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
    account_page_with(state, ctx, status, notice, error, None).await
}

async fn account_page_with(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    notice: String,
    error: String,
    new_token: Option<String>,
) -> Result<Response, PageError> {
    let Some(user) = &ctx.user else {
        return Err(PageError::SignIn);
    };
    let has_password = accounts::has_password(&state.db, user.app_user_id).await?;
    let tokens = tokens::api_tokens_of(&state.db, user.app_user_id).await?;
    let consents = consent::of_user(&state.db, user.app_user_id).await?;
    let grace = state.config.account_deletion_days;
    let deletion_at = erase::scheduled(&state.db, user.app_user_id, grace).await?;
    Ok(no_store(render(
        status,
        &AccountPage {
            page: ctx.page("account.page.title"),
            email: user.email.clone(),
            verified: user.is_verified(),
            has_password,
            tokens,
            notice,
            error,
            consents,
            deletion_at,
            grace_days: grace,
            new_token,
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
        Some("consent-withdrawn") => ctx.t("privacy.account.withdrawn-done").to_owned(),
        Some("delete-asked") => ctx.t("privacy.account.delete-asked").to_owned(),
        Some("delete-cancelled") => ctx.t("privacy.account.delete-cancelled").to_owned(),
        Some("delete-wrong-password") => ctx.t("refusal.wrong-password").to_owned(),
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
    browser: Browser,
    ClientIp(ip): ClientIp,
    Form(form): Form<PasswordForm>,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/login?next=/account").into_response());
    };
    let (st, cx) = (&state, &ctx);
    let refuse = move |status, error: String| account_page(st, cx, status, String::new(), error);
    let password = match Password::parse(&form.password) {
        Ok(p) => p,
        Err(e) => {
            let error = ctx.t(&format!("account.error.{}", e.code)).to_owned();
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, error).await;
        }
    };
    let checked = authenticate(
        &state.db,
        &state.config.limits,
        &user.email,
        &form.current,
        ip,
        Some(user.app_user_id),
    )
    .await;
    match checked? {
        SignIn::Wait(wait) => return Ok(wait_page(&ctx, wait)),
        SignIn::Wrong => {
            let refusal = AccountRefusal::WrongPassword;
            return refuse(refusal.status(), ctx.t(&refusal.key()).to_owned()).await;
        }
        SignIn::Ok(id) if id == user.app_user_id => {}
        SignIn::Ok(_) => return Err(PageError::Forbidden),
    }
    let session = accounts::change_password(&state.db, user.app_user_id, &password).await?;
    Ok(browser.signed_in(&session, "/account?notice=password-changed"))
}

#[derive(Debug, Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

/// A new API token named by its owner, shown on the page this once.
async fn create_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<TokenForm>,
) -> Result<Response, PageError> {
    let Some(user) = &ctx.user else {
        return Ok(Redirect::to("/login?next=/account").into_response());
    };
    let label = tokens::token_label(Some(form.name.trim())).filter(|l| !l.is_empty());
    let token = tokens::issue_api_token(&state.db, user.app_user_id, label).await?;
    let notice = ctx.t("account.page.token-made").to_owned();
    account_page_with(
        &state,
        &ctx,
        StatusCode::OK,
        notice,
        String::new(),
        Some(token),
    )
    .await
}

async fn revoke_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let Some(user) = &ctx.user else {
        return Ok(Redirect::to("/login?next=/account").into_response());
    };
    // Someone else's token, or one already gone: nothing to say about which.
    if !tokens::revoke_api_token(&state.db, user.app_user_id, id).await? {
        return Err(PageError::NotFound);
    }
    Ok(Redirect::to("/account?notice=token-revoked").into_response())
}

#[utoipa::path(
    get,
    path = "/api/v1/me/tokens",
    operation_id = "list_tokens",
    summary = "the caller's live API tokens, newest first: {tokens: [{id, label (the User-Agent that signed in), created_at, last_used_at, expires_at}]}; never a token's secret",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "{tokens}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_tokens(
    State(state): State<AppState>,
    user: CurrentUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    let tokens = tokens::api_tokens_of(&state.db, user.app_user_id).await?;
    Ok(Json(serde_json::json!({ "tokens": tokens })))
}

#[utoipa::path(
    delete,
    path = "/api/v1/me/tokens/{id}",
    operation_id = "revoke_token",
    summary = "revoke one of the caller's API tokens (404 for another account's or an unknown one)",
    security(("bearer" = [])),
    params(
        ("id" = i64, Path, minimum = 1, maximum = 9223372036854775807_i64),
    ),
    responses(
        (status = 204, description = "revoked"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn api_revoke(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    if tokens::revoke_api_token(&state.db, user.app_user_id, id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("token"))
    }
}
