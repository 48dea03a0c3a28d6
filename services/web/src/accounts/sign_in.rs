//! Signing in and out: the sign-in page, cookie sessions, signing out everywhere, and the
//! API's token sign-in (`/api/v1/auth/login`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, JsonBody, Refusal};
use serde::Deserialize;
use serde_json::json;

use super::wait::{api_too_many, retry_after, wait_text};
use crate::access::client::ClientIp;
use crate::domain::people::accounts::{SignIn, authenticate, user_json};
use crate::domain::people::refusal::AccountRefusal;
use crate::domain::people::sessions::end_sessions_and_tokens;
use crate::page::{Ctx, Page, PageError, render, safe_next};
use crate::security::sessions::{Browser, issue_token};

#[derive(Template)]
#[template(path = "accounts/sign_in.html")]
struct SignInPage {
    page: Page,
    email: String,
    next: String,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn sign_in_form(ctx: Ctx, Query(q): Query<NextQuery>) -> Response {
    render(
        StatusCode::OK,
        &SignInPage {
            page: ctx.page("account.sign-in.title"),
            email: String::new(),
            next: safe_next(q.next.as_deref()),
            error: String::new(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

pub async fn sign_in(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    browser: Browser,
    Form(form): Form<SignInForm>,
) -> Result<Response, PageError> {
    let next = safe_next(form.next.as_deref());
    let session_user = ctx.user.as_ref().map(|u| u.app_user_id);
    let result = authenticate(
        &state.db,
        &state.config.limits,
        &form.email,
        &form.password,
        ip,
        session_user,
    )
    .await?;
    let page = |status, error: String| {
        render(
            status,
            &SignInPage {
                page: ctx.page("account.sign-in.title"),
                email: form.email.clone(),
                next: next.clone(),
                error,
            },
        )
    };
    Ok(match result {
        SignIn::Wait(wait) => {
            let text = wait_text(&ctx, "account.error.too-many", wait);
            (retry_after(wait), page(StatusCode::TOO_MANY_REQUESTS, text)).into_response()
        }
        SignIn::Wrong => {
            let refusal = AccountRefusal::BadCredentials;
            page(refusal.status(), ctx.t(&refusal.key()).to_owned())
        }
        SignIn::Ok(user_id) => browser.sign_in(&state.db, user_id, &next).await?,
    })
}

pub async fn sign_out(
    State(state): State<AppState>,
    browser: Browser,
) -> Result<Response, PageError> {
    Ok(browser.sign_out(&state.db).await?)
}

pub async fn sign_out_everywhere(
    State(state): State<AppState>,
    browser: Browser,
    ctx: Ctx,
) -> Result<Response, PageError> {
    if let Some(user) = &ctx.user {
        let mut conn = state.db.acquire().await?;
        end_sessions_and_tokens(&mut conn, user.app_user_id).await?;
    }
    Ok(browser.signed_out())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ApiSignIn {
    email: String,
    password: String,
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    operation_id = "sign_in",
    summary = "a bearer token for an email and password, labelled with the client's User-Agent (listed and revocable on the account page). Failed sign-ins are limited per account, per client address and per network; 429 too-many-attempts with Retry-After (tries while waiting count too)",
    request_body = ApiSignIn,
    responses(
        (status = 200, description = "{token, user}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 429, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn api_sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    JsonBody(body): JsonBody<ApiSignIn>,
) -> Result<Response, ApiError> {
    let id = match authenticate(
        &state.db,
        &state.config.limits,
        &body.email,
        &body.password,
        ip,
        None,
    )
    .await?
    {
        SignIn::Wait(wait) => return Ok(api_too_many(wait)),
        SignIn::Wrong => return Err(AccountRefusal::BadCredentials.into()),
        SignIn::Ok(id) => id,
    };
    let token = issue_token(&state.db, id, &headers).await?;
    let user = hoithi_core::auth::user_by_id(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user"))?;
    Ok(Json(json!({"token": token, "user": user_json(&user)})).into_response())
}
