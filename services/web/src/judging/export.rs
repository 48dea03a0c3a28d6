//! Exports for organizers: results, every score per judge and criterion with comments, and
//! entries with authors and units, as CSV (UTF-8 with a BOM, so Excel reads Vietnamese
//! correctly) or XLSX, with Vietnamese column headers. A contest's tables are small (its
//! entries × judges), so each file is built in memory.

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::i18n::{Lang, text};

use super::forms::RoundQuery;
use crate::access::OrganizerOf;
use crate::domain::contests::ContestRow;
use crate::domain::entries::team;
use crate::domain::judging::math;
use crate::domain::judging::rounds::{self, CriterionRow, RoundRow};
use crate::domain::judging::standings::{self, compute};
use crate::page::PageError;

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Num(f64),
    Empty,
}

pub struct Table {
    pub sheet: String,
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

fn h(key: &str) -> String {
    text(Lang::Vi, key).to_owned()
}

fn opt(x: Option<f64>) -> Cell {
    x.map_or(Cell::Empty, |v| Cell::Num(math::round2(v)))
}

fn time(t: DateTime<Utc>) -> Cell {
    Cell::Text(crate::format::datetime(Lang::Vi, &t))
}

/// A text cell that a spreadsheet will not run as a formula (titles are typed by members).
fn safe(s: &str) -> Cell {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        Cell::Text(format!("'{s}"))
    } else {
        Cell::Text(s.to_owned())
    }
}

/// CSV with a UTF-8 BOM and CRLF line ends, the form Excel opens without mangling "Đ".
pub fn csv(t: &Table) -> Vec<u8> {
    fn field(out: &mut String, s: &str) {
        if s.contains([',', '"', '\n', '\r']) {
            out.push('"');
            out.push_str(&s.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(s);
        }
    }
    let mut out = String::from("\u{feff}");
    let mut line = |cells: Vec<String>| {
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, c);
        }
        out.push_str("\r\n");
    };
    line(t.headers.clone());
    for row in &t.rows {
        line(
            row.iter()
                .map(|c| match c {
                    Cell::Text(s) => s.clone(),
                    Cell::Num(x) => format!("{x}"),
                    Cell::Empty => String::new(),
                })
                .collect(),
        );
    }
    out.into_bytes()
}

pub fn xlsx(t: &Table) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name(&t.sheet)?;
    for (c, name) in t.headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, name, &bold)?;
        ws.set_column_width(c as u16, (name.chars().count().max(10) + 2) as f64)?;
    }
    ws.set_freeze_panes(1, 0)?;
    for (r, row) in t.rows.iter().enumerate() {
        let r = (r + 1) as u32;
        for (c, cell) in row.iter().enumerate() {
            match cell {
                Cell::Text(s) => {
                    ws.write_string(r, c as u16, s)?;
                }
                Cell::Num(x) => {
                    ws.write_number(r, c as u16, *x)?;
                }
                Cell::Empty => {}
            }
        }
    }
    wb.save_to_buffer()
}

/// Column headers: catalog keys, then columns named at run time, then catalog keys again.
fn headers(before: &[&str], middle: impl Iterator<Item = String>, after: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = before.iter().map(|k| h(k)).collect();
    out.extend(middle);
    out.extend(after.iter().map(|k| h(k)));
    out
}

async fn results_table(db: &sqlx::PgPool, round: RoundRow) -> sqlx::Result<Table> {
    let comp = compute(db, round).await?;
    // With categories, ranks count within each and a last column names it.
    let by_category = comp.entries.iter().any(|e| e.category_slug.is_some());
    let mut headers = headers(
        &[
            "judging.col.rank",
            "judging.col.entry-id",
            "judging.col.title",
            "judging.col.author",
            "judging.col.email",
            "judging.col.unit",
        ],
        comp.judges
            .iter()
            .map(|(_, name)| format!("{} {name}", h("judging.col.judge"))),
        &[
            "judging.col.raw",
            "judging.col.normalized",
            "judging.col.votes",
            "judging.col.vote-points",
            "judging.col.combined",
            "judging.col.advanced",
        ],
    );
    if by_category {
        headers.push(h("category.label"));
    }
    let ids: Vec<uuid::Uuid> = comp.entries.iter().map(|e| e.entry_id).collect();
    let teams = team::teams_of(db, &ids).await?;
    team_headers(&teams, &mut headers);
    let mut rows = Vec::new();
    for (r, rank) in crate::domain::judging::results::ranked_by_category(&comp) {
        let Some(e) = comp.entry(r.id) else { continue };
        let mut row = vec![
            Cell::Num(rank as f64),
            Cell::Text(r.id.to_string()),
            safe(&e.title),
            safe(&e.author_name),
            safe(&e.author_email),
            e.unit_name.as_deref().map_or(Cell::Empty, safe),
        ];
        for (judge, _) in &comp.judges {
            row.push(opt(r
                .judges
                .iter()
                .find(|j| j.judge == *judge)
                .map(|j| j.weighted)));
        }
        row.extend([
            opt(r.judge_score),
            opt(r.judge_score_normalized),
            Cell::Num(r.votes as f64),
            opt(Some(r.vote_points)),
            opt(Some(r.combined)),
            Cell::Text(h(if e.advanced {
                "judging.yes"
            } else {
                "judging.no"
            })),
        ]);
        if by_category {
            row.push(e.category_name.as_deref().map_or(Cell::Empty, safe));
        }
        team_cells(&teams, r.id, &mut row);
        rows.push(row);
    }
    Ok(Table {
        sheet: h("judging.export.results"),
        headers,
        rows,
    })
}

async fn scores_table(db: &sqlx::PgPool, round: RoundRow) -> sqlx::Result<Table> {
    let criteria = rounds::criteria(db, round.judging_round_id).await?;
    let entries = standings::result_entries(db, round.judging_round_id).await?;
    let sheets = standings::full_sheets(db, round.judging_round_id).await?;
    let crit: Vec<_> = criteria.iter().map(CriterionRow::math).collect();
    let headers = headers(
        &[
            "judging.col.entry-id",
            "judging.col.title",
            "judging.col.judge",
            "judging.col.judge-email",
        ],
        criteria
            .iter()
            .map(|c| format!("{} (/{})", c.name, c.max_score)),
        &[
            "judging.col.weighted",
            "judging.col.submitted-at",
            "judging.col.comment",
            "judging.col.comment-to-entrant",
        ],
    );
    let mut rows = Vec::new();
    for s in &sheets {
        let title = entries
            .iter()
            .find(|e| e.entry_id == s.entry)
            .map_or("", |e| e.title.as_str());
        let mut row = vec![
            Cell::Text(s.entry.to_string()),
            safe(title),
            safe(&s.judge_name),
            safe(&s.judge_email),
        ];
        row.extend(
            criteria
                .iter()
                .map(|c| opt(s.scores.get(&c.judging_criterion_id).copied())),
        );
        row.extend([
            if s.submitted_at.is_some() {
                opt(Some(math::weighted(&crit, &s.scores)))
            } else {
                Cell::Empty
            },
            s.submitted_at.map_or(Cell::Empty, time),
            safe(&s.comment),
            safe(&s.comment_to_entrant),
        ]);
        rows.push(row);
    }
    Ok(Table {
        sheet: h("judging.export.scores"),
        headers,
        rows,
    })
}

/// With team entries among them, two last columns: the team's name and its members.
fn team_headers(teams: &Teams, headers: &mut Vec<String>) {
    if !teams.is_empty() {
        headers.push(h("team.name"));
        headers.push(h("team.members"));
    }
}

fn team_cells(teams: &Teams, entry: uuid::Uuid, row: &mut Vec<Cell>) {
    if teams.is_empty() {
        return;
    }
    match teams.get(&entry) {
        Some((name, members)) => {
            row.push(safe(name));
            row.push(safe(&team::names_line(members)));
        }
        None => row.extend([Cell::Empty, Cell::Empty]),
    }
}

type Teams = std::collections::HashMap<uuid::Uuid, (String, Vec<team::Member>)>;

async fn entries_table(db: &sqlx::PgPool, contest_id: i64) -> sqlx::Result<Table> {
    let list = standings::listed_entries(db, contest_id).await?;
    // With categories, a last column names each entry's.
    let by_category = list.iter().any(|e| e.category_name.is_some());
    let mut headers: Vec<String> = [
        "judging.col.entry-id",
        "judging.col.title",
        "judging.col.author",
        "judging.col.email",
        "judging.col.unit",
        "judging.col.status",
        "judging.col.submitted-at",
        "judging.col.votes",
        "privacy.col.consent",
    ]
    .iter()
    .map(|k| h(k))
    .collect();
    if by_category {
        headers.push(h("category.label"));
    }
    let ids: Vec<uuid::Uuid> = list.iter().map(|e| e.entry_id).collect();
    let teams = team::teams_of(db, &ids).await?;
    team_headers(&teams, &mut headers);
    let rows = list
        .into_iter()
        .map(|e| {
            let mut row = vec![
                Cell::Text(e.entry_id.to_string()),
                safe(&e.title),
                safe(&e.author_name),
                safe(&e.author_email),
                e.unit_name.as_deref().map_or(Cell::Empty, safe),
                Cell::Text(h(&format!("status.{}", e.status))),
                time(e.submitted_at),
                Cell::Num(e.votes as f64),
                Cell::Text(h(&format!("privacy.consent-state.{}", e.consent))),
            ];
            if by_category {
                row.push(e.category_name.as_deref().map_or(Cell::Empty, safe));
            }
            team_cells(&teams, e.entry_id, &mut row);
            row
        })
        .collect();
    Ok(Table {
        sheet: h("judging.export.entries"),
        headers,
        rows,
    })
}

/// The table of an export file's name (`results`, `scores`, `entries`); `None` for another.
async fn table(
    db: &sqlx::PgPool,
    c: &ContestRow,
    name: &str,
    number: Option<i32>,
) -> Result<Option<Table>, PageError> {
    if name == "entries" {
        return Ok(Some(entries_table(db, c.contest_id).await?));
    }
    if name != "results" && name != "scores" {
        return Ok(None);
    }
    let round = rounds::pick(db, c.contest_id, number)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok(Some(if name == "results" {
        results_table(db, round).await?
    } else {
        scores_table(db, round).await?
    }))
}

pub async fn download(
    State(state): State<AppState>,
    OrganizerOf { contest: c, .. }: OrganizerOf,
    Path((_, file)): Path<(String, String)>,
    Query(q): Query<RoundQuery>,
) -> Result<Response, PageError> {
    let (name, ext) = file.rsplit_once('.').ok_or(PageError::NotFound)?;
    if ext != "csv" && ext != "xlsx" {
        return Err(PageError::NotFound);
    }
    let table = table(&state.db, &c, name, q.round)
        .await?
        .ok_or(PageError::NotFound)?;
    let (body, mime) = if ext == "csv" {
        (csv(&table), "text/csv; charset=utf-8")
    } else {
        (
            xlsx(&table).map_err(|e| PageError::Internal(e.into()))?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    };
    let disposition = format!("attachment; filename=\"{}-{name}.{ext}\"", c.slug);
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, mime.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            sheet: "Kết quả".into(),
            headers: vec!["Hạng".into(), "Tên bài".into(), "Điểm".into()],
            rows: vec![
                vec![
                    Cell::Num(1.0),
                    Cell::Text("Đêm \"trăng\", quê".into()),
                    Cell::Num(8.5),
                ],
                vec![Cell::Num(2.0), safe("=HYPERLINK(\"x\")"), Cell::Empty],
            ],
        }
    }

    #[test]
    fn csv_starts_with_a_bom_quotes_what_needs_it_and_defuses_formulas() {
        let bytes = csv(&table());
        assert_eq!(&bytes[..3], b"\xEF\xBB\xBF");
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0], "Hạng,Tên bài,Điểm");
        assert_eq!(lines[1], "1,\"Đêm \"\"trăng\"\", quê\",8.5");
        assert_eq!(lines[2], "2,\"'=HYPERLINK(\"\"x\"\")\",");
    }

    #[test]
    fn xlsx_is_a_zip_with_the_vietnamese_sheet_name_and_strings() {
        let bytes = xlsx(&table()).unwrap();
        assert_eq!(&bytes[..2], b"PK");
        // The shared strings are stored compressed; the sheet name lives in workbook.xml,
        // also compressed, so check the archive lists the worksheet.
        let listing = String::from_utf8_lossy(&bytes);
        assert!(listing.contains("xl/worksheets/sheet1.xml"));
    }
}
