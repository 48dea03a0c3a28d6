//! "Nhập danh sách đoàn viên": an admin or an organizer uploads the union's member list
//! (XLSX or CSV); the preview names every bad row with its number and why, and shows the
//! rows that would be written; confirmed, the rows are written (`domain::people::roster`)
//! and each new account is mailed its invitation link through the outbox. The checked rows
//! wait (as CSV, `roster_upload`) for the confirm step, which reads and checks them again with
//! the same parser.

use askama::Template;
use axum::Form;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use serde::Deserialize;

use super::invitation::mail_verification;
use crate::access::author::Staff;
use crate::domain::people::directory::Scope;
use crate::domain::people::roster::{self, BadRow, Ready};
use crate::page::{Ctx, Page, PageError, no_store, render};

/// The importer's units; members, judges and organizers without a unit have no such page.
fn scope(user: &hoithi_core::auth::CurrentUser) -> Result<Scope, PageError> {
    Scope::of(user).ok_or(PageError::Forbidden)
}

#[derive(Template)]
#[template(path = "admin/roster.html")]
struct RosterPage {
    page: Page,
    /// A file was read: the preview is shown.
    shown: bool,
    ready: Vec<Ready>,
    bad: Vec<BadRow>,
    /// The kept upload the confirm step names.
    upload: String,
    notice: String,
    /// People of the roster within the importer's units.
    count: i64,
}

impl RosterPage {
    fn bad_row(&self, b: &BadRow) -> String {
        let key = format!("roster.problem.{}", b.problem.code());
        let why = self.page.t(&key);
        if b.row == 0 {
            why.to_owned()
        } else {
            format!("{} {}: {why}", self.page.t("roster.row"), b.row)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct NoticeQuery {
    #[serde(default)]
    invited: Option<usize>,
    #[serde(default)]
    updated: Option<usize>,
    #[serde(default)]
    unchanged: Option<usize>,
    #[serde(default)]
    roster_only: Option<usize>,
}

async fn roster_page(
    state: &AppState,
    ctx: &Ctx,
    user: &hoithi_core::auth::CurrentUser,
    preview: Option<(Vec<Ready>, Vec<BadRow>)>,
    notice: String,
) -> Result<Response, PageError> {
    let scope = scope(user)?;
    let count = roster::count_within(&state.db, scope).await?;
    let shown = preview.is_some();
    let (ready, bad) = preview.unwrap_or_default();
    let status = if bad.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let upload = if bad.is_empty() && !ready.is_empty() {
        roster::keep(&state.db, user.app_user_id, &ready)
            .await?
            .to_string()
    } else {
        String::new()
    };
    Ok(no_store(render(
        status,
        &RosterPage {
            page: ctx.page("roster.title"),
            shown,
            ready,
            bad,
            upload,
            notice,
            count,
        },
    )))
}

pub async fn page(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let notice = match (q.invited, q.updated, q.unchanged, q.roster_only) {
        (Some(i), Some(u), Some(n), Some(r)) => format!(
            "{} {i} · {} {u} · {} {n} · {} {r}",
            ctx.t("roster.done.invited"),
            ctx.t("roster.done.updated"),
            ctx.t("roster.done.unchanged"),
            ctx.t("roster.done.roster-only"),
        ),
        _ => String::new(),
    };
    roster_page(&state, &ctx, &user, None, notice).await
}

/// Reads and checks the rows of `bytes` within the importer's units.
async fn check(
    state: &AppState,
    user: &hoithi_core::auth::CurrentUser,
    bytes: &[u8],
) -> Result<(Vec<Ready>, Vec<BadRow>), PageError> {
    let scope = scope(user)?;
    let (rows, mut bad) = roster::read(bytes);
    let (ready, outside) = roster::resolve(&state.db, scope, rows).await?;
    bad.extend(outside);
    bad.sort_by_key(|b| b.row);
    Ok((ready, bad))
}

/// The upload: the preview of the file's rows.
pub async fn upload(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    mut form: Multipart,
) -> Result<Response, PageError> {
    let mut file = Vec::new();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| PageError::Internal(e.into()))?
    {
        if field.name() == Some("file") {
            file = field
                .bytes()
                .await
                .map_err(|e| PageError::Internal(e.into()))?
                .to_vec();
        }
    }
    let preview = check(&state, &user, &file).await?;
    roster_page(&state, &ctx, &user, Some(preview), String::new()).await
}

#[derive(Debug, Default, Deserialize)]
pub struct ConfirmForm {
    #[serde(default)]
    upload: String,
}

/// The confirm step: the rows checked again, then written; new accounts are mailed.
pub async fn confirm(
    State(state): State<AppState>,
    Staff(user): Staff,
    ctx: Ctx,
    Form(form): Form<ConfirmForm>,
) -> Result<Response, PageError> {
    let id = uuid::Uuid::parse_str(form.upload.trim()).map_err(|_| PageError::NotFound)?;
    // Another importer's upload, a confirmed or an expired one: not found.
    let csv = roster::take(&state.db, user.app_user_id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    let (ready, bad) = check(&state, &user, csv.as_bytes()).await?;
    if !bad.is_empty() || ready.is_empty() {
        return roster_page(&state, &ctx, &user, Some((ready, bad)), String::new()).await;
    }
    let out = roster::apply(&state.db, &user, &ready).await?;
    for (id, email) in &out.invited {
        mail_verification(&state, &ctx, *id, email, true).await?;
    }
    let to = format!(
        "/admin/people/import?invited={}&updated={}&unchanged={}&roster_only={}",
        out.invited.len(),
        out.updated,
        out.unchanged,
        out.roster_only
    );
    Ok(Redirect::to(&to).into_response())
}
