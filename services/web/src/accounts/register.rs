//! Registration: a new member account, its verification mail, and a session for it.

use std::net::IpAddr;

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use hoithi_core::AppState;
use hoithi_core::account::{CreateUserError, NewUser, create_user};
use hoithi_core::domain::{DisplayName, Email, Invalid, Password, Role};
use serde::Deserialize;

use super::email::send_verification;
use super::wait::wait_page;
use crate::access::client::ClientIp;
use crate::domain::people::throttle;
use crate::domain::people::units::unit_choices;
use crate::domain::privacy::consent::{self, Kind};
use crate::page::{Ctx, Page, PageError, render};
use crate::security::sessions::Browser;

#[derive(Template)]
#[template(path = "accounts/register.html")]
struct RegisterPage {
    page: Page,
    form: RegisterForm,
    units: Vec<(String, String)>,
    errors: Vec<(&'static str, String)>,
    privacy_version: &'static str,
}

impl RegisterPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct RegisterForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    unit: String,
    /// The privacy notice's box: `1` when ticked.
    #[serde(default)]
    consent: String,
}

/// The form again with `errors` beside its fields (the password is the one thing not sent
/// back into the page).
async fn form_page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    form: RegisterForm,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    let units = unit_choices(&state.db).await?;
    let form = RegisterForm {
        password: String::new(),
        ..form
    };
    Ok(render(
        status,
        &RegisterPage {
            page: ctx.page("account.register.title"),
            form,
            units,
            errors,
            privacy_version: consent::PRIVACY_VERSION,
        },
    ))
}

pub async fn register_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    form_page(
        &state,
        &ctx,
        StatusCode::OK,
        RegisterForm::default(),
        vec![],
    )
    .await
}

/// The new account as the form gives it, or the errors of its fields.
fn parse_form(ctx: &Ctx, form: &RegisterForm) -> Result<NewUser, Vec<(&'static str, String)>> {
    let mut errors = Vec::new();
    let mut check = |field: &'static str, e: Invalid| {
        errors.push((
            field,
            ctx.t(&format!("account.error.{}", e.code)).to_owned(),
        ));
    };
    let email = Email::parse(&form.email)
        .map_err(|e| check("email", e))
        .ok();
    let name = DisplayName::parse(&form.name)
        .map_err(|e| check("name", e))
        .ok();
    let password = Password::parse(&form.password)
        .map_err(|e| check("password", e))
        .ok();
    if !consent::ticked(&form.consent) {
        errors.push(("consent", ctx.t("privacy.consent.required").to_owned()));
    }
    let (Some(email), Some(name), Some(password), true) =
        (email, name, password, errors.is_empty())
    else {
        return Err(errors);
    };
    Ok(NewUser {
        email,
        password,
        name,
        role: Role::Member,
        unit_slug: Some(form.unit.trim().to_owned()).filter(|s| !s.is_empty()),
        email_verified: false,
    })
}

pub async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    browser: Browser,
    Form(form): Form<RegisterForm>,
) -> Result<Response, PageError> {
    let new = match parse_form(&ctx, &form) {
        Ok(new) => new,
        Err(errors) => {
            return form_page(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await;
        }
    };
    if let Some(wait) = take_budget(&state, new.email.as_str(), ip).await? {
        return Ok(wait_page(&ctx, wait));
    }
    let email = new.email.as_str().to_owned();
    let error = match create_user(&state.db, new).await {
        Ok(user_id) => {
            let v = consent::PRIVACY_VERSION;
            consent::record(&state.db, user_id, Kind::Privacy, v, None, None, ip).await?;
            send_verification(&state, user_id, &email, &ctx).await?;
            // The browser's previous session (another account's) ends, as at sign-in.
            // Next: the page that says to open the mailed link (with a way to resend it).
            let to = "/check-email";
            return Ok(browser.sign_in(&state.db, user_id, to).await?);
        }
        Err(CreateUserError::EmailTaken(_)) => ("email", "account.error.email-taken"),
        Err(CreateUserError::UnknownUnit(_)) => ("unit", "account.error.unknown-unit"),
        Err(CreateUserError::Other(e)) => return Err(PageError::Internal(e)),
    };
    let errors = vec![(error.0, ctx.t(error.1).to_owned())];
    form_page(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, form, errors).await
}

/// Registrations from one address, and the verification mail each one sends, are limited
/// like every other mail (the count is kept whether or not the address is taken, so the
/// limit says nothing about who has an account). `Some(seconds)` to wait.
async fn take_budget(
    state: &AppState,
    email: &str,
    ip: Option<IpAddr>,
) -> sqlx::Result<Option<i64>> {
    let mut counters = throttle::registration_counters(&state.config.limits, ip);
    counters.extend(throttle::mail_counters(&state.config.limits, email, ip));
    throttle::take(&state.db, &counters).await
}
