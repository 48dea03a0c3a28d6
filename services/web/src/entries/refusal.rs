//! The web's answer to an entry refusal: its HTTP status (the API's `error.code` and the
//! page's sentence come from the code), and where the entry form shows it.

use axum::http::StatusCode;
use hoithi_core::api_error::{ApiError, Refusal};

use crate::domain::entries::gallery::BadCursor;
use crate::domain::entries::refusal::{EntryError, EntryRefusal};
use crate::page::{Ctx, PageError};

impl Refusal for EntryRefusal {
    fn code(&self) -> &'static str {
        Self::code(*self)
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::TitleRequired
            | Self::TitleTooLong
            | Self::DescriptionTooLong
            | Self::ReasonRequired
            | Self::ReasonTooLong
            | Self::InvalidDecision
            | Self::ConsentRequired
            | Self::BirthDateRequired
            | Self::GuardianRequired
            | Self::CategoryRequired
            | Self::UnknownCategory
            | Self::CategoryKindMismatch
            | Self::TeamNotAllowed
            | Self::TeamNameRequired
            | Self::TeamTooManyMembers
            | Self::TeamMemberInvalid
            | Self::SeriesNotAllowed => StatusCode::UNPROCESSABLE_ENTITY,
            // Something the person sees but may not change (`domain::access`).
            Self::EmailNotVerified | Self::NotEligible | Self::NotEditable => StatusCode::FORBIDDEN,
            Self::SubmissionClosed
            | Self::MaxEntriesReached
            | Self::NotReviewable
            | Self::EntryChanged
            | Self::NoPendingEdit
            | Self::EditChanged
            | Self::GuardianPending
            | Self::ResultsPublished
            | Self::NotWithdrawn
            | Self::NotRestorable
            | Self::SeriesIncomplete => StatusCode::CONFLICT,
            Self::TooManyMails => StatusCode::TOO_MANY_REQUESTS,
        }
    }
}

/// A page cursor (`?after=`) this server did not write: a clear 400 page, not a failure.
impl Refusal for BadCursor {
    fn code(&self) -> &'static str {
        "bad-cursor"
    }

    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

crate::page_refusals!(EntryRefusal, BadCursor);

impl From<EntryError> for PageError {
    fn from(e: EntryError) -> Self {
        match e {
            EntryError::Refused(r) => r.into(),
            EntryError::Db(e) => e.into(),
        }
    }
}

impl From<EntryError> for ApiError {
    fn from(e: EntryError) -> Self {
        match e {
            EntryError::Refused(r) => r.into(),
            EntryError::Db(e) => e.into(),
        }
    }
}

/// The messages of the entry form (enter and edit): under the field a refusal is about, or
/// above the form for a refusal of the whole entry.
#[derive(Debug, Default)]
pub struct FormErrors {
    pub title: String,
    pub description: String,
    pub blocked: String,
    pub consent: String,
    pub birth_date: String,
    pub guardian: String,
    pub category: String,
    pub team: String,
}

impl FormErrors {
    pub fn of(ctx: &Ctx, r: EntryRefusal) -> Self {
        let message = ctx.t(&r.key()).to_owned();
        match r {
            EntryRefusal::TitleRequired | EntryRefusal::TitleTooLong => Self {
                title: message,
                ..Self::default()
            },
            EntryRefusal::DescriptionTooLong => Self {
                description: message,
                ..Self::default()
            },
            EntryRefusal::ConsentRequired => Self {
                consent: message,
                ..Self::default()
            },
            EntryRefusal::BirthDateRequired => Self {
                birth_date: message,
                ..Self::default()
            },
            EntryRefusal::GuardianRequired | EntryRefusal::TooManyMails => Self {
                guardian: message,
                ..Self::default()
            },
            EntryRefusal::CategoryRequired
            | EntryRefusal::UnknownCategory
            | EntryRefusal::CategoryKindMismatch => Self {
                category: message,
                ..Self::default()
            },
            EntryRefusal::TeamNotAllowed
            | EntryRefusal::TeamNameRequired
            | EntryRefusal::TeamTooManyMembers
            | EntryRefusal::TeamMemberInvalid
            | EntryRefusal::SeriesNotAllowed => Self {
                team: message,
                ..Self::default()
            },
            _ => Self {
                blocked: message,
                ..Self::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::domain::contests::refusal::ContestRefusal;
    use crate::domain::entries::refusal::EntryRefusal;
    use hoithi_core::api_error::Refusal;
    use hoithi_core::i18n::{Lang, text};

    #[test]
    fn every_entry_and_contest_refusal_has_a_sentence_in_both_languages() {
        let keys = EntryRefusal::ALL
            .iter()
            .map(Refusal::key)
            .chain(ContestRefusal::ALL.iter().map(Refusal::key));
        for key in keys {
            for lang in [Lang::Vi, Lang::En] {
                assert_ne!(text(lang, &key), key, "{lang:?} {key}");
            }
            assert_ne!(text(Lang::Vi, &key), text(Lang::En, &key), "{key}");
        }
    }
}
