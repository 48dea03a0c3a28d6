//! How a child's name is shown on public pages: the family name whole and every other name
//! shortened to its initial ("Nguyễn Văn An" → "Nguyễn V. A."), so a school's pages still read
//! naturally and a stranger cannot look the child up by full name.

use chrono::{Datelike, NaiveDate};

/// Below this age a contest that asks for a birth date needs a guardian's consent.
pub const GUARDIAN_BELOW: u32 = 16;

/// The age in whole years on `today` of someone born on `born`.
pub fn age_on(born: NaiveDate, today: NaiveDate) -> u32 {
    let mut years = today.year() - born.year();
    if (today.month(), today.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    u32::try_from(years).unwrap_or(0)
}

/// Whether someone born on `born` is a child needing a guardian on `today`.
pub fn is_minor(born: Option<NaiveDate>, today: NaiveDate) -> bool {
    born.is_some_and(|b| age_on(b, today) < GUARDIAN_BELOW)
}

/// The public form of a child's name: the first word (the family name in Vietnamese order)
/// whole, every other word shortened to its first letter and a dot: "Nguyễn Văn An" →
/// "Nguyễn V. A.". A single word is shortened too ("An" → "A."), so nothing whole but the
/// family name ever shows.
pub fn shortened(name: &str) -> String {
    let words: Vec<&str> = name.split_whitespace().collect();
    match words.as_slice() {
        [] => String::new(),
        [only] => initial(only),
        [family, rest @ ..] => {
            let mut out = (*family).to_owned();
            for w in rest {
                out.push(' ');
                out.push_str(&initial(w));
            }
            out
        }
    }
}

fn initial(word: &str) -> String {
    word.chars()
        .next()
        .map(|c| format!("{}.", c.to_uppercase()))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::{age_on, is_minor, shortened};

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_childs_name_keeps_only_the_family_name_whole() {
        assert_eq!(shortened("Nguyễn Văn An"), "Nguyễn V. A.");
        assert_eq!(shortened("  Trần   thị  ánh  Dương "), "Trần T. Á. D.");
        assert_eq!(shortened("Lê Ý"), "Lê Ý.");
        assert_eq!(shortened("An"), "A.");
        assert_eq!(shortened("   "), "");
        assert_eq!(shortened("Đặng Đức"), "Đặng Đ.");
    }

    #[test]
    fn age_counts_whole_years_and_birthdays() {
        let today = d(2026, 12, 6);
        assert_eq!(age_on(d(2012, 12, 6), today), 14);
        assert_eq!(age_on(d(2010, 12, 7), today), 15);
        assert_eq!(age_on(d(2010, 12, 6), today), 16);
        assert_eq!(age_on(d(2030, 1, 1), today), 0);
        assert!(is_minor(Some(d(2012, 1, 1)), today));
        assert!(!is_minor(Some(d(2010, 12, 6)), today));
        assert!(!is_minor(None, today));
    }
}
