//! The author's "Đổi hạng mục" page (`/entries/{id}/category`): radio buttons of the
//! contest's categories; the move is allowed only while submission is open
//! (`domain::entries::submit::change_category`).

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use serde::Deserialize;

use crate::access::author::{AuthorOf, OnEntry};
use crate::domain::contests::ContestRow;
use crate::domain::contests::categories::{self, Category};
use crate::domain::entries::EntryRow;
use crate::domain::entries::refusal::EntryError;
use crate::domain::entries::submit::change_category;
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "entries/category.html")]
struct CategoryPage {
    page: Page,
    e: EntryRow,
    c: ContestRow,
    categories: Vec<Category>,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    category: String,
}

/// `GET /entries/{id}/category`.
pub async fn form(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthorOf(OnEntry { entry, contest, .. }): AuthorOf,
) -> Result<Response, PageError> {
    let list = categories::list(&state.db, contest.contest_id).await?;
    if list.is_empty() {
        return Err(PageError::NotFound);
    }
    Ok(render(
        StatusCode::OK,
        &CategoryPage {
            page: ctx.page("category.change"),
            e: entry,
            c: contest,
            categories: list,
            error: String::new(),
        },
    ))
}

/// `POST /entries/{id}/category`: back to the entry, or the form with why not.
pub async fn change(
    State(state): State<AppState>,
    ctx: Ctx,
    AuthorOf(OnEntry { entry, contest, .. }): AuthorOf,
    Form(sent): Form<CategoryForm>,
) -> Result<Response, PageError> {
    match change_category(&state.db, &entry, &contest, &sent.category).await {
        Ok(()) => Ok(Redirect::to(&format!("/entries/{}", entry.entry_id)).into_response()),
        Err(EntryError::Refused(r)) => {
            let status = r.status();
            let list = categories::list(&state.db, contest.contest_id).await?;
            Ok(render(
                status,
                &CategoryPage {
                    page: ctx.page("category.change"),
                    error: ctx.t(&r.key()).to_owned(),
                    e: entry,
                    c: contest,
                    categories: list,
                },
            ))
        }
        Err(EntryError::Db(e)) => Err(e.into()),
    }
}
