//! The author's changes to an entry while the contest takes entries: the edit form (an edit
//! of a public entry waits for review, `domain::entries::revision`) and the withdrawal.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;

use super::refusal::FormErrors;
use super::submit::EntryForm;
use crate::access::author::{AuthorOf, OnEntry};
use crate::domain::entries::EntryRow;
use crate::domain::entries::lifecycle::{check_author_may_change, withdraw as withdraw_entry};
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
    Ok(Redirect::to(&format!("/entries/{id}")).into_response())
}

/// Withdraws the entry for good (it leaves the gallery, the queue and judging).
pub async fn withdraw(
    State(state): State<AppState>,
    author: AuthorOf,
) -> Result<Response, PageError> {
    let on = changeable(author)?;
    withdraw_entry(&state.db, &on.entry).await?;
    Ok(Redirect::to("/me/entries").into_response())
}
