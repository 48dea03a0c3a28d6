//! Reading the union's spreadsheet: XLSX or CSV into checked rows, each bad row named with
//! its number and why, and the checked rows written back as CSV for the confirm step. No I/O.

use std::collections::HashSet;

use crate::domain::people::units::split_csv_line;
use crate::domain::text::ascii_slug;

/// The largest spreadsheet accepted.
pub const MAX_BYTES: usize = 5 * 1024 * 1024;
/// The most rows of one import.
pub const MAX_ROWS: usize = 5000;

/// Why a row (or the whole file, row 0) cannot be imported: the catalog key
/// `roster.problem.<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// The file is neither an XLSX workbook nor UTF-8 text.
    Unreadable,
    /// The first row does not name a full-name and a unit column.
    Header,
    TooMany,
    Quote,
    Name,
    /// Neither an email nor a phone.
    Contact,
    Email,
    Phone,
    MemberNumber,
    Unit,
    UnitUnknown,
    /// A unit outside the importer's own unit and the units below it.
    UnitOutside,
    /// The same email or member number on an earlier row.
    Repeated,
}

impl Problem {
    pub fn code(self) -> &'static str {
        match self {
            Self::Unreadable => "unreadable",
            Self::Header => "header",
            Self::TooMany => "too-many",
            Self::Quote => "quote",
            Self::Name => "name",
            Self::Contact => "contact",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::MemberNumber => "member-number",
            Self::Unit => "unit",
            Self::UnitUnknown => "unit-unknown",
            Self::UnitOutside => "unit-outside",
            Self::Repeated => "repeated",
        }
    }

    pub const ALL: [Self; 13] = [
        Self::Unreadable,
        Self::Header,
        Self::TooMany,
        Self::Quote,
        Self::Name,
        Self::Contact,
        Self::Email,
        Self::Phone,
        Self::MemberNumber,
        Self::Unit,
        Self::UnitUnknown,
        Self::UnitOutside,
        Self::Repeated,
    ];
}

/// A bad row: its number in the sheet (from 1; 0 for the whole file) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadRow {
    pub row: usize,
    pub problem: Problem,
}

/// A row as read (checked, the unit not resolved yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub row: usize,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub member_number: Option<String>,
    /// The unit as written: its name or slug.
    pub unit: String,
}

/// A row whose unit is known and within the importer's units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ready {
    pub row: Row,
    pub unit_id: i64,
    pub unit_slug: String,
    pub unit_name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Name,
    Email,
    Phone,
    Member,
    Unit,
}

/// The column a header cell names, whatever its case and marks.
fn column(header: &str) -> Option<Column> {
    Some(match ascii_slug(header).as_str() {
        "ho-va-ten" | "ho-ten" | "ten" | "full-name" | "name" | "ho-va-ten-doan-vien" => {
            Column::Name
        }
        "email" | "e-mail" | "thu-dien-tu" | "dia-chi-email" => Column::Email,
        "so-dien-thoai" | "dien-thoai" | "sdt" | "phone" | "so-dt" => Column::Phone,
        "so-the-doan-vien" | "so-the" | "ma-doan-vien" | "ma-so-doan-vien" | "member-number"
        | "so-the-dv" => Column::Member,
        "don-vi" | "chi-doan" | "unit" | "co-so-doan" => Column::Unit,
        _ => return None,
    })
}

/// Reads a spreadsheet: XLSX when it is a ZIP (`PK…`), else UTF-8 CSV.
pub fn read(bytes: &[u8]) -> (Vec<Row>, Vec<BadRow>) {
    let sheet = if bytes.starts_with(b"PK\x03\x04") {
        xlsx_cells(bytes)
    } else {
        std::str::from_utf8(bytes)
            .ok()
            .map(|t| csv_cells(t.trim_start_matches('\u{feff}')))
    };
    match sheet {
        Some(Ok(cells)) => read_cells(cells),
        Some(Err(row)) => (
            Vec::new(),
            vec![BadRow {
                row,
                problem: Problem::Quote,
            }],
        ),
        None => (Vec::new(), vec![file_problem(Problem::Unreadable)]),
    }
}

fn file_problem(problem: Problem) -> BadRow {
    BadRow { row: 0, problem }
}

type Cells = Vec<(usize, Vec<String>)>;

/// The non-empty lines of a CSV with their numbers; `Err(line)` for an unclosed quote.
fn csv_cells(text: &str) -> Result<Cells, usize> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = split_csv_line(line).map_err(|_| i + 1)?;
        out.push((i + 1, fields));
    }
    Ok(out)
}

/// The first sheet's non-empty rows with their numbers; `None` when it cannot be read.
fn xlsx_cells(bytes: &[u8]) -> Option<Result<Cells, usize>> {
    use calamine::{Data, Reader, Xlsx};
    let mut book = Xlsx::new(std::io::Cursor::new(bytes)).ok()?;
    let range = book.worksheet_range_at(0)?.ok()?;
    let first = range.start().map_or(0, |(r, _)| r as usize);
    let cell = |d: &Data| match d {
        // Numbers typed into a sheet (phones, member numbers) come back as floats.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Empty => String::new(),
        other => other.to_string(),
    };
    Some(Ok(range
        .rows()
        .enumerate()
        .map(|(i, r)| (first + i + 1, r.iter().map(cell).collect::<Vec<_>>()))
        .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
        .collect()))
}

/// The rows of a sheet whose first row names its columns.
fn read_cells(cells: Cells) -> (Vec<Row>, Vec<BadRow>) {
    let mut lines = cells.into_iter();
    let Some((_, header)) = lines.next() else {
        return (Vec::new(), vec![file_problem(Problem::Header)]);
    };
    let columns: Vec<Option<Column>> = header.iter().map(|h| column(h)).collect();
    let at = |c: Column| columns.iter().position(|x| *x == Some(c));
    let (Some(name_at), Some(unit_at)) = (at(Column::Name), at(Column::Unit)) else {
        return (Vec::new(), vec![file_problem(Problem::Header)]);
    };
    let (email_at, phone_at, member_at) =
        (at(Column::Email), at(Column::Phone), at(Column::Member));
    let mut rows: Vec<Row> = Vec::new();
    let mut bad = Vec::new();
    let mut emails = HashSet::new();
    let mut members = HashSet::new();
    for (n, (row, fields)) in lines.enumerate() {
        if n >= MAX_ROWS {
            bad.push(file_problem(Problem::TooMany));
            break;
        }
        let get = |i: Option<usize>| {
            i.and_then(|i| fields.get(i))
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        };
        match check(
            row,
            get(Some(name_at)),
            get(email_at),
            get(phone_at),
            get(member_at),
            get(Some(unit_at)),
        ) {
            Ok(r) => {
                let again = r.email.as_ref().is_some_and(|e| !emails.insert(e.clone()))
                    || r.member_number
                        .as_ref()
                        .is_some_and(|m| !members.insert(m.clone()));
                if again {
                    bad.push(BadRow {
                        row,
                        problem: Problem::Repeated,
                    });
                } else {
                    rows.push(r);
                }
            }
            Err(problem) => bad.push(BadRow { row, problem }),
        }
    }
    (rows, bad)
}

/// A phone as digits (a leading + kept); a 9-digit number lost its leading 0 in a sheet.
fn phone(s: &str) -> Option<String> {
    let plus = s.starts_with('+');
    if !s
        .chars()
        .all(|c| c.is_ascii_digit() || " .-+()".contains(c))
    {
        return None;
    }
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    if !(9..=15).contains(&digits.len()) {
        return None;
    }
    Some(match (plus, digits.len()) {
        (true, _) => format!("+{digits}"),
        (false, 9) => format!("0{digits}"),
        _ => digits,
    })
}

pub(crate) fn member_number_ok(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && s.len() <= 40
        && chars.all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
}

fn check(
    row: usize,
    name: Option<String>,
    email: Option<String>,
    phone_text: Option<String>,
    member: Option<String>,
    unit: Option<String>,
) -> Result<Row, Problem> {
    let name = name
        .map(|n| n.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|n| n.chars().count() <= 120)
        .ok_or(Problem::Name)?;
    if email.is_none() && phone_text.is_none() {
        return Err(Problem::Contact);
    }
    let email = email
        .map(|e| {
            hoithi_core::domain::Email::parse(&e)
                .map(|e| e.as_str().to_owned())
                .map_err(|_| Problem::Email)
        })
        .transpose()?;
    let phone = phone_text
        .map(|p| phone(&p).ok_or(Problem::Phone))
        .transpose()?;
    if member.as_deref().is_some_and(|m| !member_number_ok(m)) {
        return Err(Problem::MemberNumber);
    }
    let unit = unit.ok_or(Problem::Unit)?;
    Ok(Row {
        row,
        name,
        email,
        phone,
        member_number: member,
        unit,
    })
}

/// The checked rows as a CSV, kept for the confirm step (which `read`s it again).
pub fn to_csv(rows: &[Ready]) -> String {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::from("Họ và tên,Email,Số điện thoại,Số thẻ đoàn viên,Đơn vị\n");
    for r in rows {
        let o = |v: &Option<String>| q(v.as_deref().unwrap_or(""));
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            q(&r.row.name),
            o(&r.row.email),
            o(&r.row.phone),
            o(&r.row.member_number),
            q(&r.unit_slug)
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_matched_whatever_their_marks_and_case() {
        assert_eq!(column("Họ và tên"), Some(Column::Name));
        assert_eq!(column(" SỐ ĐIỆN THOẠI "), Some(Column::Phone));
        assert_eq!(column("Số thẻ đoàn viên"), Some(Column::Member));
        assert_eq!(column("Đơn vị"), Some(Column::Unit));
        assert_eq!(column("E-mail"), Some(Column::Email));
        assert_eq!(column("Ghi chú"), None);
    }

    #[test]
    fn every_bad_row_is_named_with_its_number() {
        let csv = "Họ và tên,Email,Số điện thoại,Số thẻ đoàn viên,Đơn vị\n\
                   Nguyễn Văn An,an@example.vn,,DV-1,q1\n\
                   ,b@example.vn,,,q1\n\
                   Lê Bình,,,,q1\n\
                   Trần Cúc,not-an-email,,,q1\n\
                   Phạm Dũng,,12ab,,q1\n\
                   Vũ Em,e@example.vn,,bad number!,q1\n\
                   Hồ Giang,g@example.vn,,,\n\
                   Lý Hạnh,AN@example.vn,,,q1\n\
                   \n\
                   Mai Khôi,,912345678,,q1\n";
        let (rows, bad) = read(csv.as_bytes());
        let named: Vec<(usize, &str)> = bad.iter().map(|b| (b.row, b.problem.code())).collect();
        assert_eq!(
            named,
            [
                (3, "name"),
                (4, "contact"),
                (5, "email"),
                (6, "phone"),
                (7, "member-number"),
                (8, "unit"),
                (9, "repeated"),
            ]
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].phone.as_deref(), Some("0912345678"));
        assert_eq!(rows[1].row, 11);
    }

    #[test]
    fn a_file_without_its_columns_or_readable_text_is_refused_whole() {
        assert_eq!(read(b"a,b,c\n1,2,3").1[0].problem, Problem::Header);
        assert_eq!(read(b"").1[0].problem, Problem::Header);
        assert_eq!(read(&[0xff, 0xfe, 0x00]).1[0].problem, Problem::Unreadable);
        assert_eq!(read(b"PK\x03\x04garbage").1[0].problem, Problem::Unreadable);
        assert_eq!(
            read("Họ tên,Đơn vị\n\"open,q1".as_bytes()).1[0].problem,
            Problem::Quote
        );
    }
}
