//! Email verification: the mailed link, what opening it does, and sending it again.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;

use super::wait::wait_page;
use crate::access::client::ClientIp;
use crate::domain::people::accounts::{self, Verified};
use crate::domain::people::refusal::AccountRefusal;
use crate::domain::people::throttle;
use crate::domain::people::tokens::{self, Purpose};
use crate::page::{Ctx, PageError, message, no_store};
use crate::security::{cookies, is_secure};

/// A mail that carries a one-time link: its kind in the outbox, the link's path, and the
/// catalog keys of its subject and of the sentence above the link.
pub struct LinkMail {
    kind: &'static str,
    path: &'static str,
    subject: &'static str,
    body: &'static str,
}

const VERIFY_MAIL: LinkMail = LinkMail {
    kind: "verify-email",
    path: "/verify-email/",
    subject: "mail.verify.subject",
    body: "mail.verify.body",
};

pub const RESET_MAIL: LinkMail = LinkMail {
    kind: "reset-password",
    path: "/reset-password/",
    subject: "mail.reset.subject",
    body: "mail.reset.body",
};

/// Mails `to` the link of `token` (built on the configured origin, never on request headers).
pub async fn mail_link(
    state: &AppState,
    ctx: &Ctx,
    to: &str,
    mail: &LinkMail,
    token: &str,
) -> sqlx::Result<()> {
    let origin = crate::mail::origin(&state.config);
    let link = format!("{origin}{}{token}", mail.path);
    let body = format!("{}\n\n{link}\n", ctx.t(mail.body));
    crate::mail::queue(&state.db, to, mail.kind, ctx.t(mail.subject), &body).await
}

/// Mails `email` the link that verifies it.
pub async fn send_verification(
    state: &AppState,
    user_id: i64,
    email: &str,
    ctx: &Ctx,
) -> sqlx::Result<()> {
    let token = tokens::new_one_time(&state.db, user_id, Purpose::VerifyEmail).await?;
    mail_link(state, ctx, email, &VERIFY_MAIL, &token).await
}

pub async fn verify_email(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let session_user = ctx.user.as_ref().map(|u| u.app_user_id);
    match accounts::verify_email(&state.db, &token, session_user).await? {
        // Back to where the visitor was going before registering (an invitation link).
        Verified::Done => match cookies::return_to(&headers, is_secure(&state, &headers)) {
            Some(to) => {
                let mut res = no_store(Redirect::to(&to).into_response());
                let clear = cookies::clear_return_to_cookie(is_secure(&state, &headers));
                if let Ok(v) = HeaderValue::from_str(&clear) {
                    res.headers_mut().append(header::SET_COOKIE, v);
                }
                Ok(res)
            }
            None => Ok(message(&ctx, StatusCode::OK, "account.verified")),
        },
        Verified::SetPassword(reset) => Ok(no_store(
            Redirect::to(&format!("/reset-password/{reset}?verified=1")).into_response(),
        )),
        Verified::Invalid => Err(AccountRefusal::LinkInvalid.into()),
    }
}

#[derive(askama::Template)]
#[template(path = "accounts/check_email.html")]
struct CheckEmailPage {
    page: crate::page::Page,
    email: String,
}

/// After registering: "check your email to verify your account", with the address the
/// link went to and a button that sends it again. A verified account goes home.
pub async fn check_email(ctx: Ctx) -> Response {
    let Some(user) = ctx.user.clone() else {
        return Redirect::to("/login").into_response();
    };
    if user.is_verified() {
        return Redirect::to("/").into_response();
    }
    let page = ctx.page("account.check-email.title");
    no_store(crate::page::render(
        StatusCode::OK,
        &CheckEmailPage {
            page,
            email: user.email,
        },
    ))
}

pub async fn resend_verification(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to("/login").into_response());
    };
    if user.is_verified() {
        return Ok(message(&ctx, StatusCode::OK, "account.verified"));
    }
    let counters = throttle::mail_counters(&state.config.limits, &user.email, ip);
    if let Some(wait) = throttle::take(&state.db, &counters).await? {
        return Ok(wait_page(&ctx, wait));
    }
    send_verification(&state, user.app_user_id, &user.email, &ctx).await?;
    Ok(message(&ctx, StatusCode::OK, "account.verify-sent"))
}
