//! The admin's page of the youth-union unit tree: add, rename and remove units. The tree,
//! its CSV import (`hoithi admin import-units`) and its rules are in `domain::people::units`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use serde::Deserialize;

use crate::access::admin::Admin;
use crate::domain::people::refusal::UnitRefusal;
use crate::domain::people::units::{UnitSummary, add_unit, all_units, delete_unit};
use crate::page::{Ctx, Page, PageError, render};

// The CSV import, as the CLI and the tests name it.
pub use crate::domain::people::units::{UnitError, UnitRow, import, parse_csv, recompute_paths};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/units", get(list).post(add))
        .route("/admin/units/{slug}/delete", post(delete))
}

#[derive(Template)]
#[template(path = "admin/units.html")]
struct UnitsPage {
    page: Page,
    units: Vec<UnitSummary>,
    form: UnitForm,
    error: String,
}

#[derive(Debug, Default, Deserialize)]
struct UnitForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent: String,
}

/// The page with the tree, the form, and the sentence of `refusal` if a change was refused.
async fn units_page(
    state: &AppState,
    ctx: &Ctx,
    form: UnitForm,
    refusal: Option<UnitRefusal>,
) -> Result<Response, PageError> {
    let units = all_units(&state.db).await?;
    let (status, error) = match refusal {
        None => (StatusCode::OK, String::new()),
        Some(r) => (r.status(), ctx.t(&r.key()).to_owned()),
    };
    Ok(render(
        status,
        &UnitsPage {
            page: ctx.page("unit.title"),
            units,
            form,
            error,
        },
    ))
}

async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
) -> Result<Response, PageError> {
    units_page(&state, &ctx, UnitForm::default(), None).await
}

async fn add(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Form(form): Form<UnitForm>,
) -> Result<Response, PageError> {
    match add_unit(&state.db, &form.slug, &form.name, &form.parent).await? {
        Ok(()) => Ok(Redirect::to("/admin/units").into_response()),
        Err(refusal) => units_page(&state, &ctx, form, Some(refusal)).await,
    }
}

async fn delete(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    match delete_unit(&state.db, &slug).await? {
        Ok(true) => Ok(Redirect::to("/admin/units").into_response()),
        Ok(false) => Err(PageError::NotFound),
        Err(refusal) => units_page(&state, &ctx, UnitForm::default(), Some(refusal)).await,
    }
}
