//! Entering a contest on the web: the entry form (title and description saved as a draft
//! first) and the upload page of the draft.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use serde::Deserialize;

use super::refusal::FormErrors;
use crate::access::author::{AuthorOf, OnEntry, SignedIn};
use crate::domain::contests::{self, ContestRow};
use crate::domain::entries::EntryRow;
use crate::domain::entries::refusal::EntryError;
use crate::domain::entries::submit::{create_entry, may_enter};
use crate::page::{Ctx, Page, PageError, render};

/// The entry form as HTML sends it (enter and edit).
#[derive(Debug, Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Template)]
#[template(path = "entries/enter.html")]
struct EnterPage {
    page: Page,
    c: ContestRow,
    title: String,
    description: String,
    title_error: String,
    description_error: String,
    blocked: String,
}

impl EnterPage {
    fn new(ctx: &Ctx, c: ContestRow, form: EntryForm, errors: FormErrors) -> Self {
        Self {
            page: ctx.page("entry.new.title"),
            c,
            title: form.title,
            description: form.description,
            title_error: errors.title,
            description_error: errors.description,
            blocked: errors.blocked,
        }
    }
}

async fn contest(state: &AppState, slug: &str) -> Result<ContestRow, PageError> {
    contests::by_slug(&state.db, slug)
        .await?
        .ok_or(PageError::NotFound)
}

/// The form, with why the member may not enter (if so) above it.
pub async fn enter_form(
    State(state): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = contest(&state, &slug).await?;
    let errors = match may_enter(&state.db, &user, &c).await {
        Ok(()) => FormErrors::default(),
        Err(EntryError::Refused(r)) => FormErrors::of(&ctx, r),
        Err(EntryError::Db(e)) => return Err(e.into()),
    };
    let empty = EntryForm {
        title: String::new(),
        description: String::new(),
    };
    Ok(render(
        StatusCode::OK,
        &EnterPage::new(&ctx, c, empty, errors),
    ))
}

/// Saves the draft and goes on to the upload; a refusal shows the form again, text kept.
pub async fn enter(
    State(state): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Path(slug): Path<String>,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    let c = contest(&state, &slug).await?;
    match create_entry(&state.db, &user, &c, &form.title, &form.description).await {
        Ok(id) => Ok(Redirect::to(&format!("/entries/{id}/upload")).into_response()),
        Err(EntryError::Refused(r)) => {
            let status = hoithi_core::api_error::Refusal::status(&r);
            let errors = FormErrors::of(&ctx, r);
            Ok(render(status, &EnterPage::new(&ctx, c, form, errors)))
        }
        Err(EntryError::Db(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "entries/upload.html")]
struct UploadPage {
    page: Page,
    e: EntryRow,
    c: ContestRow,
    accept: String,
}

/// The upload page of the author's draft: the file kinds the contest takes.
pub async fn upload_page(ctx: Ctx, author: AuthorOf) -> Response {
    let AuthorOf(OnEntry {
        entry: e,
        contest: c,
        ..
    }) = author;
    let accept: Vec<&str> = [("photo", "image/*"), ("video", "video/*")]
        .into_iter()
        .filter(|(kind, _)| c.kinds.iter().any(|k| k == kind))
        .map(|(_, mime)| mime)
        .collect();
    render(
        StatusCode::OK,
        &UploadPage {
            page: ctx.page("entry.upload.title"),
            accept: accept.join(","),
            e,
            c,
        },
    )
}
