//! The organizer's pages: the dashboard of the contests one manages, and a contest's page
//! with its phases, their early closes and reopens, and the log of those.
//!
//! Members and judges get **403** on these pages (`Staff`: organizer pages are not for their
//! role, and the navigation never links them there); an organizer of another unit gets
//! **404** for a contest (`OrganizerOf`: the contest is not theirs, and stays hidden).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use serde::Deserialize;

use crate::access::OrganizerOf;
use crate::access::author::Staff;
use crate::domain::access::organizes;
use crate::domain::contests::phases::{self, Action, PhaseChange, Window};
use crate::domain::contests::refusal::ContestRefusal;
use crate::domain::contests::{ContestRow, all};
use crate::domain::entries::lists::awaiting_review_count;
use crate::format::{datetime_local, parse_time};
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "contests/dashboard.html")]
struct DashboardPage {
    page: Page,
    /// Each contest with its phase and the number of entries waiting for review.
    contests: Vec<(ContestRow, &'static str, i64)>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    Staff(user): Staff,
) -> Result<Response, PageError> {
    let mut contests = Vec::new();
    for c in all(&state.db).await? {
        if organizes(&state.db, &user, &c).await? {
            let waiting = awaiting_review_count(&state.db, c.contest_id).await?;
            let phase = c.phase().as_str();
            contests.push((c, phase, waiting));
        }
    }
    Ok(render(
        StatusCode::OK,
        &DashboardPage {
            page: ctx.page("organize.title"),
            contests,
        },
    ))
}

#[derive(Template)]
#[template(path = "contests/manage.html")]
struct ManagePage {
    page: Page,
    c: ContestRow,
    phase: &'static str,
    history: Vec<super::edit::HistoryView>,
    pending: i64,
    error: String,
    reopen_default: String,
    /// The phase whose early close waits for confirmation (empty: none).
    confirm_close: &'static str,
}

/// The contest's organizer page, with `error` above the phase form, or the confirm step
/// of closing the phase `confirm_close` now.
async fn manage(
    state: &AppState,
    ctx: &Ctx,
    c: ContestRow,
    status: StatusCode,
    error: String,
    confirm_close: Option<Window>,
) -> Result<Response, PageError> {
    let history = super::edit::history_view(state, ctx, &c).await?;
    let pending = awaiting_review_count(&state.db, c.contest_id).await?;
    let mut page = ctx.page("organize.title");
    page.title.clone_from(&c.title);
    Ok(render(
        status,
        &ManagePage {
            page,
            phase: c.phase().as_str(),
            reopen_default: datetime_local(&(Utc::now() + chrono::Duration::days(1))),
            c,
            history,
            pending,
            error,
            confirm_close: confirm_close.map_or("", Window::as_str),
        },
    ))
}

pub async fn manage_page(
    State(state): State<AppState>,
    ctx: Ctx,
    _: Staff,
    OrganizerOf { contest, .. }: OrganizerOf,
) -> Result<Response, PageError> {
    manage(&state, &ctx, contest, StatusCode::OK, String::new(), None).await
}

#[derive(Debug, Deserialize)]
pub struct PhaseForm {
    #[serde(default)]
    phase: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    until: String,
    /// `1` from the confirm step of an early close.
    #[serde(default)]
    confirm: String,
}

impl PhaseForm {
    fn change(&self, by: i64) -> Result<PhaseChange, ContestRefusal> {
        Ok(PhaseChange {
            window: Window::parse(&self.phase)?,
            action: Action::parse(&self.action, parse_time(&self.until))?,
            by,
        })
    }
}

/// Closes a phase now once confirmed (the first press shows what closing does; a phase that
/// is not open is refused at once), or reopens it until a new date; a refusal shows the page
/// again with why.
pub async fn change_phase(
    State(state): State<AppState>,
    ctx: Ctx,
    _: Staff,
    OrganizerOf { user, contest }: OrganizerOf,
    Form(form): Form<PhaseForm>,
) -> Result<Response, PageError> {
    let refusal = match form.change(user.app_user_id) {
        Ok(change) if change.action == Action::Close && form.confirm != "1" => {
            match phases::new_close(&contest, change.window, change.action, Utc::now()) {
                Ok(_) => {
                    let window = Some(change.window);
                    let ok = StatusCode::OK;
                    return manage(&state, &ctx, contest, ok, String::new(), window).await;
                }
                Err(r) => Some(r),
            }
        }
        Ok(change) => {
            let link = super::edit::contest_link(&state, &contest);
            phases::change(&state.db, &contest, &change, &link)
                .await?
                .err()
        }
        Err(r) => Some(r),
    };
    match refusal {
        None => {
            let to = format!("/organize/contests/{}?saved=phase", contest.slug);
            Ok(Redirect::to(&to).into_response())
        }
        Some(r) => {
            let msg = ctx.t(&r.key()).to_owned();
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            manage(&state, &ctx, contest, status, msg, None).await
        }
    }
}
