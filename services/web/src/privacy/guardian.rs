//! The page a child's parent or guardian opens from the mail: whose entry, which contest,
//! what will be public, and one button to agree. Nobody needs an account for it; the link's
//! token is the only key (stored hashed, expiring).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use hoithi_core::AppState;

use crate::access::client::ClientIp;
use crate::domain::privacy::guardian::{self, Request};
use crate::page::{Ctx, Page, PageError, message, no_store, render};

#[derive(Template)]
#[template(path = "privacy/guardian.html")]
struct GuardianPage {
    page: Page,
    r: Request,
    public_name: String,
    token: String,
    done: bool,
}

async fn show(
    state: &AppState,
    ctx: &Ctx,
    token: String,
    done: bool,
) -> Result<Response, PageError> {
    let Some(r) = guardian::request(&state.db, &token).await? else {
        return Ok(no_store(message(
            ctx,
            StatusCode::NOT_FOUND,
            "privacy.guardian.dead",
        )));
    };
    Ok(no_store(render(
        StatusCode::OK,
        &GuardianPage {
            page: ctx.page("privacy.guardian.title"),
            public_name: r.public_name(),
            done: done || r.given,
            r,
            token,
        },
    )))
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    show(&state, &ctx, token, false).await
}

/// The guardian agrees (a form post, so a mail scanner following the link agrees to nothing).
pub async fn agree(
    State(state): State<AppState>,
    ctx: Ctx,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    if guardian::give(&state.db, &token, ip).await?.is_none() {
        return Ok(no_store(message(
            &ctx,
            StatusCode::NOT_FOUND,
            "privacy.guardian.dead",
        )));
    }
    show(&state, &ctx, token, true).await
}
