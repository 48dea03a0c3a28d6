//! Password reset: asking for a link by email, and setting a new password with it.

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hoithi_core::AppState;
use hoithi_core::domain::{Email, Password};
use serde::Deserialize;

use super::email::{RESET_MAIL, mail_link};
use super::wait::wait_page;
use crate::access::client::ClientIp;
use crate::domain::people::accounts;
use crate::domain::people::refusal::AccountRefusal;
use crate::domain::people::throttle;
use crate::domain::people::tokens::{self, Purpose};
use crate::page::{Ctx, Page, PageError, message, no_store, render};

#[derive(Template)]
#[template(path = "accounts/forgot.html")]
struct ForgotPage {
    page: Page,
    email: String,
    error: String,
}

pub async fn forgot_form(ctx: Ctx) -> Response {
    render(
        StatusCode::OK,
        &ForgotPage {
            page: ctx.page("account.forgot.title"),
            email: String::new(),
            error: String::new(),
        },
    )
}

#[derive(Debug, Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

pub async fn forgot(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Form(form): Form<ForgotForm>,
) -> Result<Response, PageError> {
    let Ok(email) = Email::parse(&form.email) else {
        return Ok(render(
            StatusCode::UNPROCESSABLE_ENTITY,
            &ForgotPage {
                page: ctx.page("account.forgot.title"),
                email: form.email,
                error: ctx.t("account.error.invalid-email").to_owned(),
            },
        ));
    };
    // Counted for unknown addresses too: the answer is the same either way.
    let counters = throttle::mail_counters(&state.config.limits, email.as_str(), ip);
    if let Some(wait) = throttle::take(&state.db, &counters).await? {
        return Ok(wait_page(&ctx, wait));
    }
    if let Some(id) = accounts::id_by_email(&state.db, email.as_str()).await? {
        let token = tokens::new_one_time(&state.db, id, Purpose::ResetPassword).await?;
        mail_link(&state, &ctx, email.as_str(), &RESET_MAIL, &token).await?;
    }
    // The same answer whether or not the account exists.
    Ok(message(&ctx, StatusCode::OK, "account.reset-sent"))
}

#[derive(Template)]
#[template(path = "accounts/reset.html")]
struct ResetPage {
    page: Page,
    token: String,
    error: String,
    /// Arrived from a verification link that started the account over.
    verified: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResetQuery {
    verified: Option<String>,
}

pub async fn reset_form(
    ctx: Ctx,
    Path(token): Path<String>,
    Query(q): Query<ResetQuery>,
) -> Response {
    no_store(render(
        StatusCode::OK,
        &ResetPage {
            page: ctx.page("account.reset.title"),
            token,
            error: String::new(),
            verified: q.verified.is_some(),
        },
    ))
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    password: String,
}

pub async fn reset(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, PageError> {
    let password = match Password::parse(&form.password) {
        Ok(p) => p,
        Err(e) => {
            return Ok(render(
                StatusCode::UNPROCESSABLE_ENTITY,
                &ResetPage {
                    page: ctx.page("account.reset.title"),
                    token,
                    error: ctx.t(&format!("account.error.{}", e.code)).to_owned(),
                    verified: false,
                },
            ));
        }
    };
    if !accounts::reset_password(&state.db, &token, &password).await? {
        return Err(AccountRefusal::LinkInvalid.into());
    }
    Ok(message(&ctx, StatusCode::OK, "account.reset-done"))
}
