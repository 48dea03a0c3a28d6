//! Every "no" of judging: a sheet change the rules refuse, a set-up or assignment form that
//! does not pass, and a round in the wrong state. Each has a stable code (the JSON API's
//! `error.code`, and `refusal.<code>` in the catalogs: Vietnamese on pages, English in the
//! API) and a status: 409 for a state that forbids it now, 422 for a value that is wrong.

use hoithi_core::api_error::Refusal;
use http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JudgingRefusal {
    // A judge's sheet.
    UnknownCriterion,
    ScoreOutOfRange,
    ScoreNotAStep,
    CommentTooLong,
    SheetSubmitted,
    ScoresIncomplete,
    // The organizer's set-up form.
    RoundNameInvalid,
    CriterionNameInvalid,
    CriterionMaxInvalid,
    CriterionWeightInvalid,
    CriterionDescriptionTooLong,
    JudgesWeightInvalid,
    /// A choice the form does not offer (a vote scaling, a tie-break step, a mode, an id).
    ChoiceInvalid,
    // A round's state.
    RoundLocked,
    CriteriaRequired,
    RoundAlreadyOpen,
    RoundNotOpen,
    AdvanceRuleRequired,
    AlreadyPublished,
    SheetNotSubmitted,
    /// Publishing while the public vote is open, without confirming to end it now.
    VotingOpen,
    /// Opening judging before the contest stops taking entries.
    SubmissionStillOpen,
    // Judges and assignment.
    InvalidEmail,
    UnknownUnit,
    UnknownJudge,
    QuorumInvalid,
}

impl Refusal for JudgingRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownCriterion => "unknown-criterion",
            Self::ScoreOutOfRange => "score-out-of-range",
            Self::ScoreNotAStep => "score-not-a-step",
            Self::CommentTooLong => "comment-too-long",
            Self::SheetSubmitted => "sheet-submitted",
            Self::ScoresIncomplete => "scores-incomplete",
            Self::RoundNameInvalid => "round-name-invalid",
            Self::CriterionNameInvalid => "criterion-name-invalid",
            Self::CriterionMaxInvalid => "criterion-max-invalid",
            Self::CriterionWeightInvalid => "criterion-weight-invalid",
            Self::CriterionDescriptionTooLong => "criterion-description-too-long",
            Self::JudgesWeightInvalid => "judges-weight-invalid",
            Self::ChoiceInvalid => "judging-choice-invalid",
            Self::RoundLocked => "round-locked",
            Self::CriteriaRequired => "round-criteria-required",
            Self::RoundAlreadyOpen => "round-already-open",
            Self::RoundNotOpen => "round-not-open",
            Self::AdvanceRuleRequired => "advance-rule-required",
            Self::AlreadyPublished => "already-published",
            Self::SheetNotSubmitted => "sheet-not-submitted",
            Self::VotingOpen => "voting-still-open",
            Self::SubmissionStillOpen => "submission-still-open",
            Self::InvalidEmail => "invalid-email",
            Self::UnknownUnit => "unknown-unit",
            Self::UnknownJudge => "unknown-judge",
            Self::QuorumInvalid => "quorum-invalid",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::SheetSubmitted
            | Self::RoundLocked
            | Self::CriteriaRequired
            | Self::RoundAlreadyOpen
            | Self::RoundNotOpen
            | Self::AlreadyPublished
            | Self::SheetNotSubmitted
            | Self::VotingOpen
            | Self::SubmissionStillOpen => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_refusal_has_a_sentence_in_both_languages() {
        use hoithi_core::i18n::{Lang, text};
        let all = [
            JudgingRefusal::UnknownCriterion,
            JudgingRefusal::ScoreOutOfRange,
            JudgingRefusal::ScoreNotAStep,
            JudgingRefusal::CommentTooLong,
            JudgingRefusal::SheetSubmitted,
            JudgingRefusal::ScoresIncomplete,
            JudgingRefusal::RoundNameInvalid,
            JudgingRefusal::CriterionNameInvalid,
            JudgingRefusal::CriterionMaxInvalid,
            JudgingRefusal::CriterionWeightInvalid,
            JudgingRefusal::CriterionDescriptionTooLong,
            JudgingRefusal::JudgesWeightInvalid,
            JudgingRefusal::ChoiceInvalid,
            JudgingRefusal::RoundLocked,
            JudgingRefusal::CriteriaRequired,
            JudgingRefusal::RoundAlreadyOpen,
            JudgingRefusal::RoundNotOpen,
            JudgingRefusal::AdvanceRuleRequired,
            JudgingRefusal::AlreadyPublished,
            JudgingRefusal::SheetNotSubmitted,
            JudgingRefusal::VotingOpen,
            JudgingRefusal::SubmissionStillOpen,
            JudgingRefusal::InvalidEmail,
            JudgingRefusal::UnknownUnit,
            JudgingRefusal::UnknownJudge,
            JudgingRefusal::QuorumInvalid,
        ];
        for r in all {
            for lang in [Lang::Vi, Lang::En] {
                let key = r.key();
                assert_ne!(text(lang, &key), key, "{key} in {lang:?}");
            }
        }
    }
}
