//! A contest's roster: the emails or member numbers of the people allowed to vote when its
//! policy says `"roster": true`. Organizers upload it as CSV (one per line, first column; a
//! member number may carry the member's email in the second column, which is what lets a
//! member's claim of that number count at once); every bad line is named, and nothing is
//! stored unless the whole file is good.

use hoithi_core::domain::Email;
use sqlx::PgPool;

/// The largest roster file (the page's form is bounded lower, by the session layer).
pub const MAX_BYTES: usize = 1024 * 1024;
pub const MAX_LINES: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Member {
    Email(String),
    /// A member number and, when the line gave one, the member's email: only the verified
    /// account of that email passes by the number without an organizer's confirmation.
    Number(String, Option<String>),
}

/// A refused line: its number (from 1) and a stable code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: usize,
    pub code: &'static str,
}

/// Whether `s` has the shape of a member number.
pub fn member_number(s: &str) -> bool {
    let b = s.as_bytes();
    (1..=40).contains(&b.len())
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._/-".contains(c))
}

/// Parses the CSV: the first field of each line, an email when it has `@`, else a member
/// number, whose line may give the member's email as its second field (a second field
/// without `@`, such as a name, is ignored). Blank lines and a header line (`email`,
/// `member_number`, …) are skipped; repeated people are kept once, but one number with two
/// different emails is refused.
pub fn parse(text: &str) -> Result<Vec<Member>, Vec<LineError>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if n > MAX_LINES {
            errors.push(LineError {
                line: n,
                code: "roster-too-long",
            });
            break;
        }
        let member = match parse_line(n, line) {
            Ok(Some(member)) => member,
            Ok(None) => continue,
            Err(code) => {
                errors.push(LineError { line: n, code });
                continue;
            }
        };
        let key = match &member {
            Member::Email(e) => format!("e:{e}"),
            Member::Number(m, _) => format!("m:{}", m.to_lowercase()),
        };
        match seen.get(&key) {
            None => {
                seen.insert(key, out.len());
                out.push(member);
            }
            // A number listed twice: the lines must not name two different members.
            Some(&at) => {
                if let Err(code) = merge(&mut out[at], &member) {
                    errors.push(LineError { line: n, code });
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if out.is_empty() {
        return Err(vec![LineError {
            line: 0,
            code: "roster-empty",
        }]);
    }
    Ok(out)
}

/// The member of line `n`; `None` for a blank or header line; else the refusal's code.
fn parse_line(n: usize, line: &str) -> Result<Option<Member>, &'static str> {
    let mut fields = line
        .split([',', ';', '\t'])
        .map(|f| f.trim().trim_matches('"').trim());
    let field = fields.next().unwrap_or("");
    let second = fields.next().unwrap_or("");
    if field.is_empty() {
        return Ok(None);
    }
    let lower = field.to_lowercase();
    if n == 1
        && matches!(
            lower.as_str(),
            "email" | "e-mail" | "member_number" | "member" | "ma_doan_vien" | "mã đoàn viên"
        )
    {
        return Ok(None);
    }
    let email = |s: &str| {
        Email::parse(s)
            .map(|e| e.as_str().to_owned())
            .map_err(|_| "invalid-email")
    };
    if field.contains('@') {
        return email(field).map(|e| Some(Member::Email(e)));
    }
    if !member_number(field) {
        return Err("invalid-member-number");
    }
    let bound = if second.contains('@') {
        Some(email(second)?)
    } else {
        None
    };
    Ok(Some(Member::Number(field.to_owned(), bound)))
}

/// A repeated line: an email it adds to a number is kept; two different emails are refused.
fn merge(kept: &mut Member, repeated: &Member) -> Result<(), &'static str> {
    if let (Member::Number(_, Some(new)), Member::Number(_, old)) = (repeated, kept) {
        match old {
            None => *old = Some(new.clone()),
            Some(o) if o == new => {}
            Some(_) => return Err("member-number-repeated"),
        }
    }
    Ok(())
}

/// Replaces the contest's roster and records who did it, in one transaction.
pub async fn replace(
    db: &PgPool,
    contest_id: i64,
    members: &[Member],
    actor: i64,
) -> sqlx::Result<()> {
    let mut kinds = Vec::with_capacity(members.len());
    let mut values = Vec::with_capacity(members.len());
    let mut emails = Vec::with_capacity(members.len());
    for m in members {
        let (kind, value, email) = match m {
            Member::Email(e) => ("email", e.as_str(), None),
            Member::Number(n, e) => ("member", n.as_str(), e.as_deref()),
        };
        kinds.push(kind);
        values.push(value);
        emails.push(email);
    }
    let mut tx = db.begin().await?;
    sqlx::query("delete from vote_roster where contest_id = $1")
        .bind(contest_id)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "insert into vote_roster (contest_id, kind, value, email)
         select $1, k, v, e from unnest($2::text[], $3::text[], $4::text[]) as t(k, v, e)
         on conflict do nothing",
    )
    .bind(contest_id)
    .bind(&kinds)
    .bind(&values)
    .bind(&emails)
    .execute(&mut *tx)
    .await?;
    audit(
        &mut tx,
        contest_id,
        "roster",
        actor,
        &format!("{} people", members.len()),
    )
    .await?;
    tx.commit().await
}

/// An audit row for an action that is not an invalidation.
pub async fn audit(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    contest_id: i64,
    action: &str,
    actor: i64,
    reason: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into vote_audit (contest_id, action, actor_id, reason, votes)
         values ($1, $2, $3, $4, 0)",
    )
    .bind(contest_id)
    .bind(action)
    .bind(actor)
    .bind(reason)
    .execute(&mut **tx)
    .await
    .map(drop)
}

pub async fn size(db: &PgPool, contest_id: i64) -> sqlx::Result<i64> {
    sqlx::query_scalar("select count(*) from vote_roster where contest_id = $1")
        .bind(contest_id)
        .fetch_one(db)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_roster_takes_emails_and_member_numbers_and_skips_headers_and_repeats() {
        let got = parse(
            "\u{feff}email\nAn@Example.vn\n\n\"DV-0001\",Nguyễn Văn A\nan@example.vn\ndv-0001\n",
        )
        .unwrap();
        assert_eq!(
            got,
            vec![
                Member::Email("an@example.vn".into()),
                Member::Number("DV-0001".into(), None)
            ]
        );
    }

    #[test]
    fn a_member_number_line_may_bind_the_number_to_an_email() {
        let got =
            parse("member_number,email\nDV-1,An@Example.vn\ndv-1\nDV-2;b@example.vn\n").unwrap();
        assert_eq!(
            got,
            vec![
                Member::Number("DV-1".into(), Some("an@example.vn".into())),
                Member::Number("DV-2".into(), Some("b@example.vn".into())),
            ]
        );
        let errors = parse("DV-1,a@example.vn\nDV-1,b@example.vn\nDV-3,x@\n").unwrap_err();
        assert_eq!(
            errors,
            vec![
                LineError {
                    line: 2,
                    code: "member-number-repeated"
                },
                LineError {
                    line: 3,
                    code: "invalid-email"
                },
            ]
        );
    }

    #[test]
    fn every_bad_line_is_named_and_nothing_is_accepted() {
        let errors = parse("a@example.vn\nkhông phải@\n<script>\nb@example.vn\n").unwrap_err();
        assert_eq!(
            errors,
            vec![
                LineError {
                    line: 2,
                    code: "invalid-email"
                },
                LineError {
                    line: 3,
                    code: "invalid-member-number"
                },
            ]
        );
        assert_eq!(parse("\n\n").unwrap_err()[0].code, "roster-empty");
        let long = "x1\n".repeat(MAX_LINES + 5);
        assert!(
            parse(&long)
                .unwrap_err()
                .iter()
                .any(|e| e.code == "roster-too-long")
        );
    }
}
