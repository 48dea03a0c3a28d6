//! Every "no" of livestreams: a field of a stream an organizer sent that is not accepted.
//! Each has a stable code (the JSON API's `error.code` and `fields[].code`) and a sentence in
//! both catalogs under `refusal.<code>` (web/i18n/areas/voting.*.toml).

use hoithi_core::api_error::Refusal;
use http::StatusCode;

use super::source::SourceError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamRefusal {
    TitleRequired,
    TitleTooLong,
    /// The URL, for the reason the parser gives.
    Url(SourceError),
    StartsInvalid,
    EndsInvalid,
    EndsBeforeStarts,
    TooLong,
    Ended,
}

impl Refusal for StreamRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::TitleRequired => "stream-title-required",
            Self::TitleTooLong => "stream-title-too-long",
            Self::Url(e) => e.code(),
            Self::StartsInvalid => "stream-starts-invalid",
            Self::EndsInvalid => "stream-ends-invalid",
            Self::EndsBeforeStarts => "stream-ends-before-starts",
            Self::TooLong => "stream-too-long",
            Self::Ended => "stream-ended",
        }
    }

    fn status(&self) -> StatusCode {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// A refused field of a stream: which one, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub refusal: StreamRefusal,
}

impl FieldError {
    pub fn code(&self) -> &'static str {
        self.refusal.code()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hoithi_core::i18n::{self, Lang};

    #[test]
    fn every_refusal_has_a_sentence_in_both_languages() {
        let urls = [
            SourceError::Required,
            SourceError::TooLong,
            SourceError::Invalid,
            SourceError::NotHttps,
            SourceError::Credentials,
            SourceError::Port,
            SourceError::PrivateHost,
            SourceError::YouTubeId,
            SourceError::FacebookVideo,
            SourceError::ShortLink,
            SourceError::Unsupported,
        ];
        let all = [
            StreamRefusal::TitleRequired,
            StreamRefusal::TitleTooLong,
            StreamRefusal::StartsInvalid,
            StreamRefusal::EndsInvalid,
            StreamRefusal::EndsBeforeStarts,
            StreamRefusal::TooLong,
            StreamRefusal::Ended,
        ]
        .into_iter()
        .chain(urls.map(StreamRefusal::Url));
        for r in all {
            for lang in [Lang::Vi, Lang::En] {
                let key = r.key();
                assert_ne!(i18n::text(lang, &key), key, "{key} in {lang:?}");
            }
        }
    }
}
