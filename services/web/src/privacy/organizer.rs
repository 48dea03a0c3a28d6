//! Organizers acting on a request for someone else (a parent who phoned, a letter): find the
//! person by email among the units they manage, download their data or ask for the
//! deletion of their account (with the reason, audited under the organizer's name).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use hoithi_core::AppState;
use serde::Deserialize;

use super::account::zip_response;
use crate::access::author::Staff;
use crate::domain::access::manages;
use crate::domain::privacy::erase;
use crate::page::{Ctx, Page, PageError, no_store, render};

#[derive(Template)]
#[template(path = "privacy/organizer.html")]
struct OrganizerPage {
    page: Page,
    email: String,
    notice: String,
    error: String,
}

fn show(ctx: &Ctx, status: StatusCode, email: String, notice: &str, error: &str) -> Response {
    no_store(render(
        status,
        &OrganizerPage {
            page: ctx.page("privacy.admin.title"),
            email,
            notice: if notice.is_empty() {
                String::new()
            } else {
                ctx.t(notice).to_owned()
            },
            error: if error.is_empty() {
                String::new()
            } else {
                ctx.t(error).to_owned()
            },
        },
    ))
}

pub async fn page(ctx: Ctx, Staff(_): Staff) -> Response {
    show(&ctx, StatusCode::OK, String::new(), "", "")
}

#[derive(Debug, Deserialize)]
pub struct PersonForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    reason: String,
}

/// The account with `email` if the organizer manages its unit (admins: any account); an
/// account outside their units is answered like one that does not exist.
async fn person(
    state: &AppState,
    staff: &hoithi_core::auth::CurrentUser,
    email: &str,
) -> Result<Option<i64>, PageError> {
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "select app_user_id, unit_id from app_user where email = $1 and deleted_at is null",
    )
    .bind(email.trim())
    .fetch_optional(&state.db)
    .await?;
    let Some((id, unit)) = row else {
        return Ok(None);
    };
    Ok(manages(&state.db, staff, unit).await?.then_some(id))
}

pub async fn export(
    State(state): State<AppState>,
    ctx: Ctx,
    Staff(staff): Staff,
    Form(form): Form<PersonForm>,
) -> Result<Response, PageError> {
    match person(&state, &staff, &form.email).await? {
        Some(id) => zip_response(&state, id, staff.app_user_id).await,
        None => Ok(show(
            &ctx,
            StatusCode::NOT_FOUND,
            form.email,
            "",
            "privacy.admin.not-found",
        )),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Staff(staff): Staff,
    Form(form): Form<PersonForm>,
) -> Result<Response, PageError> {
    let Some(id) = person(&state, &staff, &form.email).await? else {
        return Ok(show(
            &ctx,
            StatusCode::NOT_FOUND,
            form.email,
            "",
            "privacy.admin.not-found",
        ));
    };
    let reason: String = form.reason.trim().chars().take(500).collect();
    erase::request(&state.db, id, staff.app_user_id, &reason).await?;
    Ok(show(
        &ctx,
        StatusCode::OK,
        String::new(),
        "privacy.admin.done",
        "",
    ))
}
