//! The youth-union unit tree: is one unit within another (the access rule asks), the choices
//! of the forms, the CSV import behind `hoithi admin import-units`, and the admin's changes.

use std::collections::HashMap;

use hoithi_core::domain::Slug;
use sqlx::{PgConnection, PgExecutor, PgPool};

use super::refusal::UnitRefusal;

/// Whether `unit` is `ancestor` or below it. Compile-checked: every organizer route asks it.
pub async fn is_within(db: impl PgExecutor<'_>, unit: i64, ancestor: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from unit u, unit a
            where u.unit_id = $1 and a.unit_id = $2
              and (u.path = a.path or u.path like a.path || '/%')) as "within!""#,
        unit,
        ancestor,
    )
    .fetch_one(db)
    .await
}

/// SQL condition: `col` (a unit id) is in the subtree of the unit `$n`.
pub fn subtree_sql(col: &str, param: usize) -> String {
    format!(
        "{col} in (select u.unit_id from unit u, unit a where a.unit_id = ${param}
                   and (u.path = a.path or u.path like a.path || '/%'))"
    )
}

/// Units a member can pick: (slug, name indented by depth).
pub async fn unit_choices(db: impl PgExecutor<'_>) -> sqlx::Result<Vec<(String, String)>> {
    let rows: Vec<(String, String, String)> =
        sqlx::query_as("select slug, name, path from unit order by path")
            .fetch_all(db)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name, path)| {
            let depth = path.matches('/').count();
            (slug, format!("{}{name}", "— ".repeat(depth)))
        })
        .collect())
}

/// Units of the subtree of `root` (all with `None`) a staff member can pick: (slug, name
/// indented by depth).
pub async fn unit_choices_within(
    db: impl PgExecutor<'_>,
    root: Option<i64>,
) -> sqlx::Result<Vec<(String, String)>> {
    let sql = format!(
        "select u.slug, u.name, u.path from unit u where $1::bigint is null or {} order by u.path",
        subtree_sql("u.unit_id", 1)
    );
    let rows: Vec<(String, String, String)> = sqlx::query_as(&sql).bind(root).fetch_all(db).await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name, path)| {
            let depth = path.matches('/').count();
            (slug, format!("{}{name}", "— ".repeat(depth)))
        })
        .collect())
}

/// Renames the unit `slug`: `Ok(false)` when there is none.
pub async fn rename_unit(
    db: &PgPool,
    slug: &str,
    name: &str,
) -> sqlx::Result<Result<bool, UnitRefusal>> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Ok(Err(UnitRefusal::Invalid));
    }
    let done = sqlx::query("update unit set name = $2 where slug = $1")
        .bind(slug)
        .bind(name)
        .execute(db)
        .await?;
    Ok(Ok(done.rows_affected() > 0))
}

/// Moves the unit `slug` below `parent` (empty: to the top), with its whole subtree.
/// `Ok(false)` when there is no such unit; a unit moved below itself or one of its own
/// descendants is refused.
pub async fn move_unit(
    db: &PgPool,
    slug: &str,
    parent: &str,
) -> sqlx::Result<Result<bool, UnitRefusal>> {
    let mut tx = db.begin().await?;
    // The tree is read and changed by one mover at a time.
    sqlx::query("lock table unit in share row exclusive mode")
        .execute(&mut *tx)
        .await?;
    let Some((id, path)): Option<(i64, String)> =
        sqlx::query_as("select unit_id, path from unit where slug = $1")
            .bind(slug)
            .fetch_optional(&mut *tx)
            .await?
    else {
        return Ok(Ok(false));
    };
    let parent = parent.trim();
    let parent_id = if parent.is_empty() {
        None
    } else {
        let row: Option<(i64, String)> =
            sqlx::query_as("select unit_id, path from unit where slug = $1")
                .bind(parent)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((pid, ppath)) = row else {
            return Ok(Err(UnitRefusal::UnknownParent));
        };
        if ppath == path || ppath.starts_with(&format!("{path}/")) {
            return Ok(Err(UnitRefusal::Cycle));
        }
        Some(pid)
    };
    sqlx::query("update unit set parent_id = $2 where unit_id = $1")
        .bind(id)
        .bind(parent_id)
        .execute(&mut *tx)
        .await?;
    if recompute_paths(&mut tx).await.is_err() {
        return Ok(Err(UnitRefusal::Cycle));
    }
    tx.commit().await?;
    Ok(Ok(true))
}

/// Why a line of a unit CSV cannot be imported (the catalog key `unit.csv.<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvProblem {
    Fields,
    Slug,
    Name,
    ParentSlug,
    Quote,
    ParentUnknown,
    Repeated,
}

impl CsvProblem {
    pub fn code(self) -> &'static str {
        match self {
            Self::Fields => "fields",
            Self::Slug => "slug",
            Self::Name => "name",
            Self::ParentSlug => "parent-slug",
            Self::Quote => "quote",
            Self::ParentUnknown => "parent-unknown",
            Self::Repeated => "repeated",
        }
    }

    /// The English reason (the CLI's).
    fn english(self) -> &'static str {
        match self {
            Self::Fields => "expected slug,name,parent_slug",
            Self::Slug => "the slug must be lowercase letters, digits and dashes",
            Self::Name => "the name must have 1 to 200 characters",
            Self::ParentSlug => "the parent slug is not a slug",
            Self::Quote => "a quote is not closed",
            Self::ParentUnknown => "the parent is neither a unit nor a line of the file",
            Self::Repeated => "the slug is on an earlier line too",
        }
    }
}

/// One line of a unit CSV that cannot be imported: its number (from 1) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub problem: CsvProblem,
}

/// Reads every line of a unit CSV: the rows (with their line numbers) and every bad line.
pub fn read_csv(text: &str) -> (Vec<(usize, UnitRow)>, Vec<BadLine>) {
    let mut rows: Vec<(usize, UnitRow)> = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_start_matches('\u{feff}').trim();
        if line.is_empty() {
            continue;
        }
        let fields = match split_csv_line(line) {
            Ok(f) => f,
            Err(_) => {
                bad.push(BadLine {
                    line: i + 1,
                    problem: CsvProblem::Quote,
                });
                continue;
            }
        };
        if i == 0 && fields.first().is_some_and(|f| f.trim() == "slug") {
            continue;
        }
        match unit_row(&fields) {
            Ok(row) if rows.iter().any(|(_, r)| r.slug == row.slug) => bad.push(BadLine {
                line: i + 1,
                problem: CsvProblem::Repeated,
            }),
            Ok(row) => rows.push((i + 1, row)),
            Err(problem) => bad.push(BadLine {
                line: i + 1,
                problem,
            }),
        }
    }
    (rows, bad)
}

/// The lines of `rows` whose parent is neither an existing unit nor a row of the file.
pub async fn unknown_parents(
    db: impl PgExecutor<'_>,
    rows: &[(usize, UnitRow)],
) -> sqlx::Result<Vec<BadLine>> {
    let parents: Vec<String> = rows.iter().filter_map(|(_, r)| r.parent.clone()).collect();
    let known: Vec<String> = sqlx::query_scalar("select slug from unit where slug = any($1)")
        .bind(&parents)
        .fetch_all(db)
        .await?;
    Ok(rows
        .iter()
        .filter(|(_, r)| {
            r.parent.as_ref().is_some_and(|p| {
                !known.contains(p) && !rows.iter().any(|(_, other)| &other.slug == p)
            })
        })
        .map(|(line, _)| BadLine {
            line: *line,
            problem: CsvProblem::ParentUnknown,
        })
        .collect())
}

/// A unit as the admin's list shows it.
#[derive(Debug, Clone)]
pub struct UnitSummary {
    pub slug: String,
    pub name: String,
    pub path: String,
    pub depth: usize,
    pub members: i64,
}

/// Every unit in tree order, with how many accounts belong to it.
pub async fn all_units(db: &PgPool) -> sqlx::Result<Vec<UnitSummary>> {
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "select u.slug, u.name, u.path, (select count(*) from app_user a where a.unit_id = u.unit_id)
         from unit u order by u.path",
    )
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(slug, name, path, members)| UnitSummary {
            depth: path.matches('/').count(),
            slug,
            name,
            path,
            members,
        })
        .collect())
}

/// Adds (or renames, by slug) one unit below `parent` (empty: a root).
pub async fn add_unit(
    db: &PgPool,
    slug: &str,
    name: &str,
    parent: &str,
) -> sqlx::Result<Result<(), UnitRefusal>> {
    let line = format!(
        "{},\"{}\",{}",
        slug.trim(),
        name.trim().replace('"', "\"\""),
        parent.trim()
    );
    let Ok(rows) = parse_csv(&line) else {
        return Ok(Err(UnitRefusal::Invalid));
    };
    let mut tx = db.begin().await?;
    if import(&mut tx, &rows).await.is_err() {
        return Ok(Err(UnitRefusal::UnknownParent));
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// Deletes the unit `slug`: `Ok(false)` when there is none; refused while child units or
/// contests still point at it (nothing is lost).
pub async fn delete_unit(db: &PgPool, slug: &str) -> sqlx::Result<Result<bool, UnitRefusal>> {
    let deleted = sqlx::query("delete from unit where slug = $1")
        .bind(slug)
        .execute(db)
        .await;
    match deleted {
        Ok(r) => Ok(Ok(r.rows_affected() > 0)),
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            Ok(Err(UnitRefusal::InUse))
        }
        Err(e) => Err(e),
    }
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
/// be quoted to hold commas. The first bad line is the error (`read_csv` names them all).
pub fn parse_csv(text: &str) -> Result<Vec<UnitRow>, UnitError> {
    let (rows, bad) = read_csv(text);
    if let Some(b) = bad.first() {
        return Err(UnitError::Line {
            line: b.line,
            reason: b.problem.english().to_owned(),
        });
    }
    Ok(rows.into_iter().map(|(_, r)| r).collect())
}

/// The row of one line's fields, or why not.
fn unit_row(fields: &[String]) -> Result<UnitRow, CsvProblem> {
    if !(2..=3).contains(&fields.len()) {
        return Err(CsvProblem::Fields);
    }
    let slug = Slug::parse(&fields[0]).map_err(|_| CsvProblem::Slug)?;
    let name = fields[1].trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(CsvProblem::Name);
    }
    let parent = fields
        .get(2)
        .map(|p| p.trim())
        .filter(|p| !p.is_empty())
        .map(|p| {
            Slug::parse(p)
                .map(|s| s.as_str().to_owned())
                .map_err(|_| CsvProblem::ParentSlug)
        })
        .transpose()?;
    Ok(UnitRow {
        slug: slug.as_str().to_owned(),
        name: name.to_owned(),
        parent,
    })
}

pub(crate) fn split_csv_line(line: &str) -> Result<Vec<String>, String> {
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
            let id = upsert(conn, row, parent_id).await?;
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

async fn upsert(
    conn: &mut PgConnection,
    row: &UnitRow,
    parent_id: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into unit (slug, name, parent_id, path) values ($1, $2, $3, $1)
         on conflict (slug) do update set name = excluded.name, parent_id = excluded.parent_id
         returning unit_id",
    )
    .bind(&row.slug)
    .bind(&row.name)
    .bind(parent_id)
    .fetch_one(&mut *conn)
    .await
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

    #[test]
    fn every_bad_line_is_named_with_its_reason() {
        let (rows, bad) =
            read_csv("slug,name,parent\nhcm,A,\nBad Slug,B,hcm\nq1,,hcm\nhcm,C,\nq2,\"open");
        assert_eq!(rows.len(), 1);
        let named: Vec<(usize, CsvProblem)> = bad.iter().map(|b| (b.line, b.problem)).collect();
        assert_eq!(
            named,
            [
                (3, CsvProblem::Slug),
                (4, CsvProblem::Name),
                (5, CsvProblem::Repeated),
                (6, CsvProblem::Quote),
            ]
        );
    }
}
