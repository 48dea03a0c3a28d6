//! The admin's mail outbox: what the platform sent (or would send, with no SMTP configured).

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use hoithi_core::AppState;

use crate::access::admin::Admin;
use crate::domain::people::outbox::{self, Mail};
use crate::page::{Ctx, Page, PageError, no_store, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/outbox", get(outbox_page))
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

async fn outbox_page(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
) -> Result<Response, PageError> {
    let mails = outbox::recent(&state.db).await?;
    Ok(no_store(render(
        StatusCode::OK,
        &OutboxPage {
            page: ctx.page("outbox.title"),
            mails,
        },
    )))
}
