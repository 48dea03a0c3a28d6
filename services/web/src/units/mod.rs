//! The youth-union unit tree: the admin's page to add, rename and remove units, the CSV
//! import behind `hoithi admin import-units`, and the subtree checks of organizer scope.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::{Role, Slug};
use serde::Deserialize;
use sqlx::PgConnection;

use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/units", get(list).post(add))
        .route("/admin/units/{slug}/delete", post(delete))
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum UnitError {
    #[error("line {line}: {reason}")]
    Line { line: usize, reason: String },
    #[error("unit {0:?} names a parent that does not exist, or the parents form a loop")]
    Unresolved(String),
}

/// A row of the import: slug, name and the parent's slug (empty for a root).
#[derive(Debug, Clone, PartialEq)]
pub struct UnitRow {
    pub slug: String,
    pub name: String,
    pub parent: Option<String>,
}

/// Parses `slug,name,parent_slug` lines; a header line naming `slug` is skipped. Names may
/// be quoted to hold commas.
pub fn parse_csv(text: &str) -> Result<Vec<UnitRow>, UnitError> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let fields = split_csv_line(line).map_err(|reason| UnitError::Line {
            line: line_no,
            reason,
        })?;
        if i == 0 && fields.first().is_some_and(|f| f.trim() == "slug") {
            continue;
        }
        let bad = |reason: &str| UnitError::Line {
            line: line_no,
            reason: reason.to_owned(),
        };
        if !(2..=3).contains(&fields.len()) {
            return Err(bad("expected slug,name,parent_slug"));
        }
        let slug = Slug::parse(&fields[0])
            .map_err(|_| bad("the slug must be lowercase letters, digits and dashes"))?;
        let name = fields[1].trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(bad("the name must have 1 to 200 characters"));
        }
        let parent = fields
            .get(2)
            .map(|p| p.trim())
            .filter(|p| !p.is_empty())
            .map(|p| {
                Slug::parse(p)
                    .map(|s| s.as_str().to_owned())
                    .map_err(|_| bad("the parent slug is not a slug"))
            })
            .transpose()?;
        rows.push(UnitRow {
            slug: slug.as_str().to_owned(),
            name: name.to_owned(),
            parent,
        });
    }
    Ok(rows)
}

fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', true) => quoted = false,
            ('"', false) if cur.trim().is_empty() => {
                cur.clear();
                quoted = true;
            }
            (',', false) => fields.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    if quoted {
        return Err("a quote is not closed".to_owned());
    }
    fields.push(cur);
    Ok(fields)
}

/// Inserts or updates the rows (by slug) in one transaction, parents before children, then
/// recomputes every path. Returns how many rows were written.
pub async fn import(conn: &mut PgConnection, rows: &[UnitRow]) -> anyhow::Result<usize> {
    let mut known: HashMap<String, i64> =
        sqlx::query_as::<_, (String, i64)>("select slug, unit_id from unit")
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect();
    let mut pending: Vec<&UnitRow> = rows.iter().collect();
    let mut written = 0;
    while !pending.is_empty() {
        let before = pending.len();
        let mut rest = Vec::new();
        for row in pending {
            // A parent must exist (already, or written earlier in this pass) before its child.
            let parent_id = match &row.parent {
                None => None,
                Some(p) => match known.get(p) {
                    Some(id) => Some(*id),
                    None => {
                        rest.push(row);
                        continue;
                    }
                },
            };
            let id: i64 = sqlx::query_scalar(
                "insert into unit (slug, name, parent_id, path) values ($1, $2, $3, $1)
                 on conflict (slug) do update set name = excluded.name, parent_id = excluded.parent_id
                 returning unit_id",
            )
            .bind(&row.slug)
            .bind(&row.name)
            .bind(parent_id)
            .fetch_one(&mut *conn)
            .await?;
            known.insert(row.slug.clone(), id);
            written += 1;
        }
        if rest.len() == before {
            return Err(UnitError::Unresolved(rest[0].slug.clone()).into());
        }
        pending = rest;
    }
    recompute_paths(&mut *conn).await?;
    Ok(written)
}

/// Paths follow parents; loops (a unit below itself) are refused.
pub async fn recompute_paths(conn: &mut PgConnection) -> anyhow::Result<()> {
    let reachable: i64 = sqlx::query_scalar(
        "with recursive t as (select unit_id from unit where parent_id is null
           union all select u.unit_id from unit u join t on u.parent_id = t.unit_id)
         select count(*) from t",
    )
    .fetch_one(&mut *conn)
    .await?;
    let total: i64 = sqlx::query_scalar("select count(*) from unit")
        .fetch_one(&mut *conn)
        .await?;
    if reachable != total {
        anyhow::bail!("the units' parents form a loop");
    }
    sqlx::query(
        "with recursive t as (
             select unit_id, slug::text as p from unit where parent_id is null
             union all
             select u.unit_id, t.p || '/' || u.slug from unit u join t on u.parent_id = t.unit_id)
         update unit set path = t.p from t where unit.unit_id = t.unit_id and unit.path <> t.p",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/units.html")]
struct UnitsPage {
    page: Page,
    units: Vec<UnitView>,
    form: UnitForm,
    error: String,
}

struct UnitView {
    slug: String,
    name: String,
    path: String,
    depth: usize,
    members: i64,
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

fn require_admin(ctx: &Ctx) -> Result<&CurrentUser, PageError> {
    match &ctx.user {
        None => Err(PageError::SignIn),
        Some(u) if u.role == Role::Admin => Ok(u),
        Some(_) => Err(PageError::Forbidden),
    }
}

async fn units_page(
    state: &AppState,
    ctx: &Ctx,
    status: StatusCode,
    form: UnitForm,
    error: String,
) -> Result<Response, PageError> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select u.slug, u.name, u.path, (select count(*) from app_user a where a.unit_id = u.unit_id)
         from unit u order by u.path",
    )
    .fetch_all(&state.db)
    .await?;
    let units = rows
        .into_iter()
        .map(|(slug, name, path, members)| UnitView {
            depth: path.matches('/').count(),
            slug,
            name,
            path,
            members,
        })
        .collect();
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

async fn list(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    require_admin(&ctx)?;
    units_page(
        &state,
        &ctx,
        StatusCode::OK,
        UnitForm::default(),
        String::new(),
    )
    .await
}

async fn add(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<UnitForm>,
) -> Result<Response, PageError> {
    require_admin(&ctx)?;
    let line = format!(
        "{},\"{}\",{}",
        form.slug.trim(),
        form.name.trim().replace('"', "\"\""),
        form.parent.trim()
    );
    let error = match parse_csv(&line) {
        Err(_) => Some("unit.error.invalid"),
        Ok(rows) => {
            let mut tx = state.db.begin().await?;
            match import(&mut tx, &rows).await {
                Ok(_) => {
                    tx.commit().await?;
                    None
                }
                Err(_) => Some("unit.error.parent"),
            }
        }
    };
    match error {
        None => Ok(Redirect::to("/admin/units").into_response()),
        Some(key) => {
            let msg = ctx.t(key).to_owned();
            units_page(&state, &ctx, StatusCode::UNPROCESSABLE_ENTITY, form, msg).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    require_admin(&ctx)?;
    let deleted = sqlx::query("delete from unit where slug = $1")
        .bind(&slug)
        .execute(&state.db)
        .await;
    match deleted {
        Ok(r) if r.rows_affected() == 0 => Err(PageError::NotFound),
        Ok(_) => Ok(Redirect::to("/admin/units").into_response()),
        // Children or contests still point at it: refuse with a message, lose nothing.
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            let msg = ctx.t("unit.error.in-use").to_owned();
            units_page(&state, &ctx, StatusCode::CONFLICT, UnitForm::default(), msg).await
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_read_with_header_quotes_and_empty_parents() {
        let rows = parse_csv(
            "slug,name,parent_slug\nhcm,Thành Đoàn TP.HCM,\nq1,\"Quận 1, TP.HCM\",hcm\n\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].parent, None);
        assert_eq!(rows[1].name, "Quận 1, TP.HCM");
        assert_eq!(rows[1].parent.as_deref(), Some("hcm"));
    }

    #[test]
    fn bad_csv_lines_name_their_line() {
        let err = parse_csv("hcm,A,\nBad Slug,B,hcm").unwrap_err();
        assert!(matches!(err, UnitError::Line { line: 2, .. }), "{err:?}");
        assert!(parse_csv("x,\"open").is_err());
        assert!(parse_csv("x").is_err());
        assert!(parse_csv("x,,").is_err());
    }
}
