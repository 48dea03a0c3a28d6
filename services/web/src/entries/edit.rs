//! The author's changes to an entry while the contest takes entries: the edit form (an edit
//! of a public entry waits for review, `domain::entries::revision`) and the withdrawal.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use serde::Deserialize;

use super::refusal::FormErrors;
use super::submit::EntryForm;
use crate::access::author::{AuthorOf, OnEntry};
use crate::domain::entries::EntryRow;
use crate::domain::entries::lifecycle::{
    check_author_may_change, restore as restore_entry, results_published,
    withdraw as withdraw_entry,
};
use crate::domain::entries::refusal::EntryRefusal;
use crate::domain::entries::revision::{self, edits_need_review, save_edit};
use crate::domain::entries::submit::EntryText;
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "entries/edit.html")]
struct EditPage {
    page: Page,
    e: EntryRow,
    /// The entry is public: what is saved waits for the organizers' review.
    reviewed: bool,
    title: String,
    description: String,
    title_error: String,
    description_error: String,
}

/// The author's entry, if they may still change it.
fn changeable(AuthorOf(on): AuthorOf) -> Result<OnEntry, EntryRefusal> {
    check_author_may_change(&on.entry, &on.contest)?;
    Ok(on)
}

/// The edit form with `form`'s text and, after a refusal, its message.
fn edit_page(ctx: &Ctx, on: OnEntry, form: EntryForm, refusal: Option<EntryRefusal>) -> Response {
    let errors = refusal.map(|r| FormErrors::of(ctx, r)).unwrap_or_default();
    let status = refusal.map_or(StatusCode::OK, |r| r.status());
    let page = EditPage {
        page: ctx.page("entry.edit.title"),
        reviewed: edits_need_review(&on.entry, &on.contest),
        e: on.entry,
        title: form.title,
        description: form.description,
        title_error: errors.title,
        description_error: errors.description,
    };
    render(status, &page)
}

/// The form, filled with the edit still waiting for review if there is one (the author goes
/// on from it), else the entry's text.
pub async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    author: AuthorOf,
) -> Result<Response, PageError> {
    let on = changeable(author)?;
    let (title, description) = match revision::latest(&state.db, on.entry.entry_id).await? {
        Some(r) if r.is_pending() => (r.title, r.description),
        _ => (on.entry.title.clone(), on.entry.description.clone()),
    };
    let form = EntryForm {
        title,
        description,
        ..EntryForm::default()
    };
    Ok(edit_page(&ctx, on, form, None))
}

/// Saves the edit and goes back to the entry; a text that breaks a rule shows the form again.
pub async fn edit(
    State(state): State<AppState>,
    ctx: Ctx,
    author: AuthorOf,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    let on = changeable(author)?;
    let text = match EntryText::parse(&form.title, &form.description) {
        Ok(text) => text,
        Err(r) => return Ok(edit_page(&ctx, on, form, Some(r))),
    };
    let id = on.entry.entry_id;
    save_edit(&state.db, on.user.app_user_id, &on.contest, id, &text).await?;
    Ok(Redirect::to(&format!("/entries/{id}?saved=entry")).into_response())
}

#[derive(Template)]
#[template(path = "entries/withdraw.html")]
struct WithdrawPage {
    page: Page,
    e: EntryRow,
    /// Judges have scored it or people voted for it: what is kept, hidden, is said.
    scored: bool,
}

/// A form that acts only once confirmed: `confirm=1` from the confirm step's button.
#[derive(Debug, Default, Deserialize)]
pub struct Confirm {
    #[serde(default)]
    confirm: String,
}

impl Confirm {
    pub fn given(&self) -> bool {
        self.confirm == "1"
    }
}

/// The confirm step of a withdrawal: what it does (leaves the gallery, the queue and
/// judging; scores and votes kept but hidden; restorable until results are published).
async fn withdraw_step(state: &AppState, ctx: &Ctx, on: OnEntry) -> Result<Response, PageError> {
    let scored =
        crate::domain::entries::lifecycle::scored_or_voted(&state.db, on.entry.entry_id).await?;
    let mut page = ctx.page("entry.withdraw.title");
    page.title = format!("{} · {}", page.title, on.entry.title);
    Ok(render(
        StatusCode::OK,
        &WithdrawPage {
            page,
            e: on.entry,
            scored,
        },
    ))
}

/// `GET …/withdraw`: the confirm step.
pub async fn withdraw_form(
    State(state): State<AppState>,
    ctx: Ctx,
    author: AuthorOf,
) -> Result<Response, PageError> {
    let on = changeable(author)?;
    if results_published(&state.db, on.contest.contest_id).await? {
        return Err(EntryRefusal::ResultsPublished.into());
    }
    withdraw_step(&state, &ctx, on).await
}

/// Withdraws the entry once confirmed (else shows the confirm step); it can be restored
/// until results are published.
pub async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    author: AuthorOf,
    Form(confirm): Form<Confirm>,
) -> Result<Response, PageError> {
    let on = changeable(author)?;
    if !confirm.given() {
        return withdraw_step(&state, &ctx, on).await;
    }
    withdraw_entry(&state.db, &on.entry).await?;
    let id = on.entry.entry_id;
    Ok(Redirect::to(&format!("/entries/{id}?saved=withdrawn")).into_response())
}

/// Brings a withdrawn entry back to the status it had (until results are published).
pub async fn restore(
    State(state): State<AppState>,
    AuthorOf(on): AuthorOf,
) -> Result<Response, PageError> {
    restore_entry(&state.db, &on.entry, &on.contest).await?;
    let id = on.entry.entry_id;
    Ok(Redirect::to(&format!("/entries/{id}?saved=restored")).into_response())
}
