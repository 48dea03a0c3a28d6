//! The web's answer to a contest refusal: its HTTP status, and the API's answer to the broken
//! rules of a contest's description (the first one's code, and every one with its field).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoithi_core::api_error::Refusal;
use serde_json::json;

use crate::domain::contests::refusal::{ContestRefusal, FieldError};

impl Refusal for ContestRefusal {
    fn code(&self) -> &'static str {
        Self::code(*self)
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::SlugTaken => StatusCode::CONFLICT,
            // A unit the organizer does not manage: seen in the form's list, not theirs.
            Self::UnitOutOfScope => StatusCode::FORBIDDEN,
            // What entrants, judges or voters already relied on: a conflict with the contest
            // as it stands, not a malformed request.
            Self::SlugLocked
            | Self::KindsLocked
            | Self::LimitTightened
            | Self::MaxEntriesBelowExisting
            | Self::EligibilityNarrowed
            | Self::BirthDateLocked
            | Self::RubricLocked
            | Self::RubricInJudgingSetUp
            | Self::TimePassed
            | Self::ResultsOut
            | Self::CategoryHasEntries => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// `{"error": {"code", "message", "fields": [{field, code}]}}` with the first rule's status.
pub fn field_errors(errors: &[FieldError]) -> Response {
    let Some(first) = errors.first() else {
        return StatusCode::UNPROCESSABLE_ENTITY.into_response();
    };
    let fields: Vec<_> = errors
        .iter()
        .map(|e| json!({"field": e.field, "code": e.code()}))
        .collect();
    (
        first.refusal.status(),
        Json(json!({"error": {
            "code": first.code(),
            // A sentence, as every API error's message; the field and code are beside it.
            "message": hoithi_core::i18n::text(hoithi_core::i18n::Lang::En, &first.refusal.key()),
            "fields": fields,
        }})),
    )
        .into_response()
}
