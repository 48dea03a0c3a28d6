//! An iCalendar (RFC 5545) file of a contest's upcoming streams: CRLF line ends, lines
//! folded at 75 octets without splitting a UTF-8 character, TEXT values escaped, times in
//! UTC. Pure: the caller passes the rows and the site's address.

use chrono::{DateTime, Utc};

/// One stream as a calendar event.
pub struct Event<'a> {
    /// Stable across exports: the same stream keeps its UID when its title or time changes.
    pub uid: String,
    pub title: &'a str,
    pub description: &'a str,
    pub url: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma, and line breaks.
/// Other control characters have no place in a calendar and are dropped.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds one content line: at most 75 octets per physical line, continuation lines start
/// with a space, and a multi-byte character is never split.
pub fn fold(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 70 * 3 + 2);
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
    out
}

fn utc(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// The whole calendar.
pub fn calendar(name: &str, events: &[Event<'_>]) -> String {
    let mut out = String::new();
    let mut line = |l: String| out.push_str(&fold(&l));
    line("BEGIN:VCALENDAR".into());
    line("VERSION:2.0".into());
    line("PRODID:-//Hoi Thi//Livestreams//VI".into());
    line("CALSCALE:GREGORIAN".into());
    line(format!("X-WR-CALNAME:{}", escape(name)));
    line("X-WR-TIMEZONE:Asia/Ho_Chi_Minh".into());
    for e in events {
        line("BEGIN:VEVENT".into());
        line(format!("UID:{}", escape(&e.uid)));
        line(format!("DTSTAMP:{}", utc(e.updated_at)));
        line(format!("DTSTART:{}", utc(e.starts_at)));
        line(format!("DTEND:{}", utc(e.ends_at)));
        line(format!("SUMMARY:{}", escape(e.title)));
        if !e.description.is_empty() {
            line(format!("DESCRIPTION:{}", escape(e.description)));
        }
        // A URI value is not TEXT: only characters a URL may hold get here (it is built from
        // the site's address and ids), so it needs no escaping.
        line(format!("URL:{}", e.url));
        line("END:VEVENT".into());
    }
    line("END:VCALENDAR".into());
    out
}

/// Test helpers: unfold and read back what `calendar` wrote, the way a calendar client does.
#[cfg(test)]
pub(crate) mod read {
    /// Unfolds the physical lines into content lines, checking CRLF and widths on the way.
    pub fn unfold(ics: &str) -> Vec<String> {
        assert!(ics.ends_with("\r\n"), "ends with CRLF");
        let mut lines: Vec<String> = Vec::new();
        for physical in ics[..ics.len() - 2].split("\r\n") {
            assert!(
                !physical.contains('\n') && !physical.contains('\r'),
                "{physical:?}"
            );
            assert!(
                physical.len() <= 75,
                "{} octets: {physical:?}",
                physical.len()
            );
            match physical.strip_prefix(' ') {
                Some(rest) => lines.last_mut().expect("a first line").push_str(rest),
                None => lines.push(physical.to_owned()),
            }
        }
        lines
    }

    pub fn unescape(v: &str) -> String {
        let mut out = String::new();
        let mut chars = v.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n' | 'N') => out.push('\n'),
                    Some(o) => out.push(o),
                    None => panic!("a lone backslash ends {v:?}"),
                }
            } else {
                assert!(c != ';' && c != ',', "unescaped {c} in {v:?}");
                out.push(c);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::read::{unescape, unfold};
    use super::*;

    #[test]
    fn text_is_escaped_and_long_vietnamese_lines_fold_between_characters() {
        assert_eq!(escape("a,b;c\\d\r\ne\nf\u{7}"), "a\\,b\\;c\\\\d\\ne\\nf");
        let long = "Đêm chung kết Hội thi Tiếng hát Tuổi trẻ — ".repeat(5);
        let folded = fold(&format!("SUMMARY:{}", escape(&long)));
        for physical in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(physical.len() <= 75, "{}", physical.len());
        }
        assert!(folded.contains("\r\n "));
        assert_eq!(unfold(&folded), vec![format!("SUMMARY:{}", escape(&long))]);
    }

    #[test]
    fn a_calendar_reads_back_with_its_hostile_title_intact() {
        let t = DateTime::parse_from_rfc3339("2026-12-01T13:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let hostile = "Chung kết, phần 1; \\ BEGIN:VEVENT\r\nEND:VCALENDAR";
        let ics = calendar(
            "Hội thi, 2026",
            &[Event {
                uid: "stream-7@hoithi.example".into(),
                title: hostile,
                description: "",
                url: "https://hoithi.example/contests/x/streams/7",
                starts_at: t,
                ends_at: t + chrono::Duration::hours(2),
                updated_at: t,
            }],
        );
        let lines = unfold(&ics);
        assert_eq!(lines.first().unwrap(), "BEGIN:VCALENDAR");
        assert_eq!(lines.last().unwrap(), "END:VCALENDAR");
        let begins = lines.iter().filter(|l| *l == "BEGIN:VEVENT").count();
        assert_eq!(begins, 1, "the title did not start an event: {lines:?}");
        let get = |name: &str| {
            lines
                .iter()
                .find_map(|l| l.strip_prefix(&format!("{name}:")))
                .unwrap_or_else(|| panic!("no {name}"))
                .to_owned()
        };
        assert_eq!(unescape(&get("SUMMARY")), hostile.replace("\r\n", "\n"));
        assert_eq!(get("DTSTART"), "20261201T130000Z");
        assert_eq!(get("DTEND"), "20261201T150000Z");
        assert_eq!(get("UID"), "stream-7@hoithi.example");
        assert_eq!(unescape(&get("X-WR-CALNAME")), "Hội thi, 2026");
        assert!(lines.iter().any(|l| l.starts_with("DTSTAMP:2026")));
        assert!(lines.contains(&"VERSION:2.0".to_owned()));
    }
}
