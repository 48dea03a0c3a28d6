//! The admin's page of the youth-union unit tree: add, rename, move (never below itself) and
//! remove units, and import many from a CSV (pasted or picked from a file: a preview names
//! every bad line with its reason, then the admin confirms). The tree, the CSV reader (the
//! CLI's `hoithi admin import-units` uses it too) and the rules are `domain::people::units`.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use serde::Deserialize;

use crate::access::admin::Admin;
use crate::domain::people::refusal::UnitRefusal;
use crate::domain::people::units::{
    self, BadLine, UnitSummary, add_unit, all_units, delete_unit, move_unit, read_csv, rename_unit,
    unknown_parents,
};
use crate::page::{Ctx, Page, PageError, render};

// The CSV import, as the CLI and the tests name it.
pub use crate::domain::people::units::{UnitError, UnitRow, import, parse_csv, recompute_paths};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/units", get(list).post(add))
        .route("/admin/units/import", post(import_csv))
        .route("/admin/units/{slug}/delete", post(delete))
        .route("/admin/units/{slug}/rename", post(rename))
        .route("/admin/units/{slug}/move", post(move_to))
}

/// What the CSV part of the page shows: the text, and after a preview its rows and bad lines.
#[derive(Debug, Default)]
struct CsvPreview {
    text: String,
    shown: bool,
    rows: Vec<(usize, UnitRow)>,
    bad: Vec<BadLine>,
}

#[derive(Template)]
#[template(path = "admin/units.html")]
struct UnitsPage {
    page: Page,
    units: Vec<UnitSummary>,
    form: UnitForm,
    error: String,
    notice: String,
    csv: CsvPreview,
}

impl UnitsPage {
    /// The sentence of a bad line: "Dòng 3: …".
    fn bad_line(&self, b: &BadLine) -> String {
        self.page
            .t("unit.csv.line")
            .replace("{line}", &b.line.to_string())
            .replace(
                "{reason}",
                self.page.t(&format!("unit.csv.{}", b.problem.code())),
            )
    }

    fn parent_name(&self, slug: &Option<String>) -> String {
        slug.as_deref().map_or_else(
            || "—".to_owned(),
            |s| {
                self.units
                    .iter()
                    .find(|u| u.slug == s)
                    .map_or_else(|| s.to_owned(), |u| u.name.clone())
            },
        )
    }
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

/// The page with the tree, the forms, and the sentence of `refusal` if a change was refused.
async fn units_page(
    state: &AppState,
    ctx: &Ctx,
    form: UnitForm,
    refusal: Option<UnitRefusal>,
    notice: String,
    csv: CsvPreview,
) -> Result<Response, PageError> {
    let units = all_units(&state.db).await?;
    let (mut status, error) = match refusal {
        None => (StatusCode::OK, String::new()),
        Some(r) => (r.status(), ctx.t(&r.key()).to_owned()),
    };
    if !csv.bad.is_empty() {
        status = StatusCode::UNPROCESSABLE_ENTITY;
    }
    Ok(render(
        status,
        &UnitsPage {
            page: ctx.page("unit.title"),
            units,
            form,
            error,
            notice,
            csv,
        },
    ))
}

#[derive(Debug, Default, Deserialize)]
struct NoticeQuery {
    notice: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Query(q): Query<NoticeQuery>,
) -> Result<Response, PageError> {
    let notice = match q.notice.as_deref() {
        Some(n @ ("saved" | "imported")) => ctx.t(&format!("unit.notice.{n}")).to_owned(),
        _ => String::new(),
    };
    units_page(
        &state,
        &ctx,
        UnitForm::default(),
        None,
        notice,
        CsvPreview::default(),
    )
    .await
}

fn saved() -> Response {
    Redirect::to("/admin/units?notice=saved").into_response()
}

async fn add(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Form(form): Form<UnitForm>,
) -> Result<Response, PageError> {
    match add_unit(&state.db, &form.slug, &form.name, &form.parent).await? {
        Ok(()) => Ok(saved()),
        Err(refusal) => {
            units_page(
                &state,
                &ctx,
                form,
                Some(refusal),
                String::new(),
                CsvPreview::default(),
            )
            .await
        }
    }
}

/// A refused change shows the page again with its sentence; an unknown unit is a 404.
async fn answer(
    state: &AppState,
    ctx: &Ctx,
    result: Result<bool, UnitRefusal>,
) -> Result<Response, PageError> {
    match result {
        Ok(true) => Ok(saved()),
        Ok(false) => Err(PageError::NotFound),
        Err(refusal) => {
            units_page(
                state,
                ctx,
                UnitForm::default(),
                Some(refusal),
                String::new(),
                CsvPreview::default(),
            )
            .await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let result = delete_unit(&state.db, &slug).await?;
    answer(&state, &ctx, result).await
}

#[derive(Debug, Deserialize)]
struct RenameForm {
    #[serde(default)]
    name: String,
}

async fn rename(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<RenameForm>,
) -> Result<Response, PageError> {
    let result = rename_unit(&state.db, &slug, &form.name).await?;
    answer(&state, &ctx, result).await
}

#[derive(Debug, Deserialize)]
struct MoveForm {
    #[serde(default)]
    parent: String,
}

async fn move_to(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, PageError> {
    let result = move_unit(&state.db, &slug, &form.parent).await?;
    answer(&state, &ctx, result).await
}

#[derive(Debug, Deserialize)]
struct CsvForm {
    #[serde(default)]
    csv: String,
    /// Set by the preview's confirm button: import what was previewed.
    #[serde(default)]
    confirm: String,
}

/// The CSV's preview (every row, every bad line with its reason), or, confirmed and with no
/// bad line, the import.
async fn import_csv(
    State(state): State<AppState>,
    _admin: Admin,
    ctx: Ctx,
    Form(form): Form<CsvForm>,
) -> Result<Response, PageError> {
    let (rows, mut bad) = read_csv(&form.csv);
    bad.extend(unknown_parents(&state.db, &rows).await?);
    bad.sort_by_key(|b| b.line);
    if bad.is_empty() && !rows.is_empty() && form.confirm == "1" {
        let plain: Vec<UnitRow> = rows.iter().map(|(_, r)| r.clone()).collect();
        let mut tx = state.db.begin().await?;
        if units::import(&mut tx, &plain).await.is_ok() {
            tx.commit().await?;
            return Ok(Redirect::to("/admin/units?notice=imported").into_response());
        }
        // The file's parents form a loop (or move a unit below its own child).
        drop(tx);
        return units_page(
            &state,
            &ctx,
            UnitForm::default(),
            Some(UnitRefusal::Cycle),
            String::new(),
            CsvPreview {
                text: form.csv,
                shown: true,
                rows,
                bad,
            },
        )
        .await;
    }
    units_page(
        &state,
        &ctx,
        UnitForm::default(),
        None,
        String::new(),
        CsvPreview {
            text: form.csv,
            shown: true,
            rows,
            bad,
        },
    )
    .await
}
