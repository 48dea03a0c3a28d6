//! The contract between the worker and its sandboxed `media-job` child: the kind of job, the
//! stdout line protocol (`progress N`, then `result {json}` or `refused CODE TEXT`), the exit
//! status of a refusal and `Refused` itself. A leaf: it uses no other module of this crate, so
//! the pipelines, the sandbox and the parent can all depend on it without a cycle.

use std::io::Write;

/// Exit status of a refused input: permanent, the parent does not retry it.
pub const EXIT_REFUSED: i32 = 3;

/// A reason to refuse an input, with a stable kebab-case code and a sentence for the member.
#[derive(Debug, Clone)]
pub struct Refused {
    pub code: &'static str,
    pub message: String,
}

impl Refused {
    pub fn new(code: &'static str, message: String) -> Self {
        Self { code, message }
    }
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Refused {}

/// What an asset holds: the SQL `media_kind` enum, and the child's `--kind` argument.
pub use hoithi_core::media::MediaKind;

/// Reports progress (0–100) to the parent.
pub fn progress(percent: u8) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "progress {}", percent.min(100));
    let _ = out.flush();
}

/// Reports the finished job's result; the last lines a successful child writes.
pub fn report_result(value: &serde_json::Value) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "progress 100");
    let _ = writeln!(out, "result {value}");
    let _ = out.flush();
}

/// Reports a refusal on one line (the sentence loses its line breaks).
pub fn report_refused(r: &Refused) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "refused {} {}", r.code, r.message.replace('\n', " "));
    let _ = out.flush();
}

/// One line of the child's stdout, as the parent reads it.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// `progress N`; `None` when N is not a number (ignored, as a progress is only a hint).
    Progress(Option<i16>),
    /// `result {json}`: the JSON text, parsed by the caller.
    Result(&'a str),
    /// `refused CODE TEXT`, as `CODE: TEXT`.
    Refused(String),
    /// Anything else (libraries may print): ignored.
    Other,
}

impl<'a> Line<'a> {
    pub fn parse(line: &'a str) -> Self {
        if let Some(p) = line.strip_prefix("progress ") {
            Line::Progress(p.trim().parse().ok())
        } else if let Some(json) = line.strip_prefix("result ") {
            Line::Result(json)
        } else if let Some(reason) = line.strip_prefix("refused ") {
            let (code, text) = reason.split_once(' ').unwrap_or((reason, ""));
            Line::Refused(format!("{code}: {text}"))
        } else {
            Line::Other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_reads_every_kind_of_line_the_child_writes() {
        assert_eq!(Line::parse("progress 42"), Line::Progress(Some(42)));
        assert_eq!(Line::parse("progress x"), Line::Progress(None));
        assert_eq!(Line::parse("result {\"a\":1}"), Line::Result("{\"a\":1}"));
        assert_eq!(
            Line::parse("refused video-too-long The video is long."),
            Line::Refused("video-too-long: The video is long.".into())
        );
        assert_eq!(Line::parse("refused bare"), Line::Refused("bare: ".into()));
        assert_eq!(Line::parse("[libx264] info"), Line::Other);
    }

    #[test]
    fn media_kinds_round_trip_through_their_sql_names() {
        for kind in [MediaKind::Video, MediaKind::Photo] {
            assert_eq!(MediaKind::parse(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::Value::from(kind.as_str())
            );
        }
        assert_eq!(MediaKind::parse("audio"), None);
    }
}
