//! The admin's mail outbox: what the platform sent (or would send, with no SMTP configured).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::domain::Role;

use crate::page::{Ctx, Page, PageError, no_store, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/outbox", get(outbox))
}

#[derive(sqlx::FromRow)]
struct Mail {
    to_email: String,
    subject: String,
    body: String,
    kind: String,
    created_at: DateTime<Utc>,
    status: String,
    attempts: i32,
    last_error: Option<String>,
}

impl Mail {
    /// The catalog key of the delivery status.
    fn status_key(&self) -> &'static str {
        match self.status.as_str() {
            "sent" => "ops.outbox.status.sent",
            "failed" => "ops.outbox.status.failed",
            _ => "ops.outbox.status.pending",
        }
    }
}

#[derive(Template)]
#[template(path = "admin/outbox.html")]
struct OutboxPage {
    page: Page,
    mails: Vec<Mail>,
}

async fn outbox(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    match &ctx.user {
        None => return Err(PageError::SignIn),
        Some(u) if u.role != Role::Admin => return Err(PageError::Forbidden),
        Some(_) => {}
    }
    let mails = sqlx::query_as(
        "select to_email, subject, body, kind, created_at, status, attempts, last_error
             from outbox order by outbox_id desc limit 200",
    )
    .fetch_all(&state.db)
    .await?;
    Ok(no_store(render(
        StatusCode::OK,
        &OutboxPage {
            page: ctx.page("outbox.title"),
            mails,
        },
    )))
}
