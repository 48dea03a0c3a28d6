//! Dates and numbers the Vietnamese way (dd/mm/yyyy, 1.234.567), always in Asia/Ho_Chi_Minh,
//! which is where contests run whatever the server's clock zone is.

use chrono::{DateTime, Utc};
use chrono_tz::Asia::Ho_Chi_Minh;
use hoithi_core::i18n::Lang;

pub fn datetime(lang: Lang, at: &DateTime<Utc>) -> String {
    let local = at.with_timezone(&Ho_Chi_Minh);
    match lang {
        Lang::Vi => local.format("%H:%M %d/%m/%Y").to_string(),
        Lang::En => local.format("%d %b %Y, %H:%M").to_string(),
    }
}

/// The value of an `<input type="datetime-local">` for `at`.
pub fn datetime_local(at: &DateTime<Utc>) -> String {
    at.with_timezone(&Ho_Chi_Minh)
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A time as typed (the rule lives with contests, whose dates it reads).
pub use crate::domain::contests::time::parse_time;

pub fn number(lang: Lang, n: i64) -> String {
    let sep = match lang {
        Lang::Vi => '.',
        Lang::En => ',',
    };
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(sep);
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_use_dots_in_vietnamese_and_commas_in_english() {
        assert_eq!(number(Lang::Vi, 1_234_567), "1.234.567");
        assert_eq!(number(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(number(Lang::Vi, 999), "999");
        assert_eq!(number(Lang::Vi, -1000), "-1.000");
    }

    #[test]
    fn times_are_shown_and_read_in_vietnam_time() {
        let t = parse_time("2026-12-01T08:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-12-01T01:00:00+00:00");
        assert_eq!(datetime(Lang::Vi, &t), "08:00 01/12/2026");
        assert_eq!(datetime_local(&t), "2026-12-01T08:00");
        assert_eq!(
            parse_time("2026-12-01T08:00:00+07:00"),
            Some(t),
            "RFC 3339 with an offset"
        );
        assert_eq!(parse_time("mai"), None);
    }
}
