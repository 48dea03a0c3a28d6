//! What an organizer sends for a stream (form fields and JSON alike), checked into a new
//! stream or the refused fields.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::streams::refusal::{FieldError, StreamRefusal};
use crate::domain::streams::repo::NewStream;
use crate::domain::streams::source;
use crate::format::parse_time;

/// The longest a scheduled stream may run.
const MAX_DURATION: chrono::Duration = chrono::Duration::days(7);

/// Times are RFC 3339 or a local time in Vietnam (what `<input type="datetime-local">` sends).
#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
}

/// The page's form: the same fields, beside the others a form carries (its CSRF token).
#[derive(Debug, Deserialize)]
pub struct StreamFormFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
}

impl From<StreamFormFields> for StreamInput {
    fn from(f: StreamFormFields) -> Self {
        Self {
            title: f.title,
            url: f.url,
            starts_at: f.starts_at,
            ends_at: f.ends_at,
        }
    }
}

impl StreamInput {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<NewStream, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field, refusal| errors.push(FieldError { field, refusal });
        let title = self.title.trim();
        if title.is_empty() {
            err("title", StreamRefusal::TitleRequired);
        } else if title.chars().count() > 200 || title.chars().any(char::is_control) {
            err("title", StreamRefusal::TitleTooLong);
        }
        let source = source::parse(&self.url)
            .map_err(|e| err("url", StreamRefusal::Url(e)))
            .ok();
        let starts = parse_time(&self.starts_at);
        if starts.is_none() {
            err("starts_at", StreamRefusal::StartsInvalid);
        }
        let ends = parse_time(&self.ends_at);
        if ends.is_none() {
            err("ends_at", StreamRefusal::EndsInvalid);
        }
        if let (Some(s), Some(e)) = (starts, ends) {
            if e <= s {
                err("ends_at", StreamRefusal::EndsBeforeStarts);
            } else if e - s > MAX_DURATION {
                err("ends_at", StreamRefusal::TooLong);
            } else if e <= now {
                err("ends_at", StreamRefusal::Ended);
            }
        }
        match (source, starts, ends) {
            (Some(source), Some(starts_at), Some(ends_at)) if errors.is_empty() => Ok(NewStream {
                title: title.to_owned(),
                source,
                starts_at,
                ends_at,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_needs_a_title_a_good_url_and_a_sane_schedule() {
        let now = Utc::now();
        let input = |title: &str, url: &str, s: &str, e: &str| StreamInput {
            title: title.into(),
            url: url.into(),
            starts_at: s.into(),
            ends_at: e.into(),
        };
        let ok = input(
            "  Đêm chung kết ",
            "https://youtu.be/dQw4w9WgXcQ",
            "2099-12-01T19:00",
            "2099-12-01T21:30",
        )
        .validate(now)
        .unwrap();
        assert_eq!(ok.title, "Đêm chung kết");
        assert_eq!(ok.starts_at.to_rfc3339(), "2099-12-01T12:00:00+00:00");
        let codes = |i: StreamInput| -> Vec<&'static str> {
            i.validate(now)
                .unwrap_err()
                .iter()
                .map(FieldError::code)
                .collect()
        };
        assert_eq!(
            codes(input("", "javascript:alert(1)", "mai", "")),
            [
                "stream-title-required",
                "stream-url-not-https",
                "stream-starts-invalid",
                "stream-ends-invalid"
            ]
        );
        assert_eq!(
            codes(input(
                "x\u{7}",
                "https://youtu.be/dQw4w9WgXcQ",
                "2099-12-01T19:00",
                "2099-12-01T18:00"
            )),
            ["stream-title-too-long", "stream-ends-before-starts"]
        );
        assert_eq!(
            codes(input(
                "x",
                "https://youtu.be/dQw4w9WgXcQ",
                "2099-12-01T19:00",
                "2099-12-09T19:00"
            )),
            ["stream-too-long"]
        );
        assert_eq!(
            codes(input(
                "x",
                "https://youtu.be/dQw4w9WgXcQ",
                "2020-12-01T19:00",
                "2020-12-01T20:00"
            )),
            ["stream-ended"]
        );
    }
}
