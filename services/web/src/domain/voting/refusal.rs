//! Every "no" of voting, as one enum: the vote itself, tallies, invalidations, the roster,
//! member-number claims and the organizers' decisions on them. Each has a stable code (the
//! JSON API's `error.code`, asserted by clients) and a sentence in both catalogs under
//! `refusal.<code>` (web/i18n/areas/voting.*.toml).

use hoithi_core::api_error::Refusal;
use http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VoteRefusal {
    /// The vote runtime (batcher, hub) is not running in this process.
    Unavailable,
    /// Only a verified email votes (or states a member number).
    NotEligible,
    RateLimited,
    /// The batcher's queue is full.
    Overloaded,
    /// The batch was not written: the client may retry safely.
    NotSaved,
    AlreadyVoted,
    NotOnRoster,
    EntryNotApproved,
    VotingNotOpen,
    VotingClosed,
    NotShortlisted,
    ContestLimitReached,
    RoundLimitReached,
    /// The voter used every vote the entry's category allows (`per_category`).
    CategoryLimitReached,
    TotalsHidden,
    InvalidNetwork,
    InvalidWindow,
    CriteriaRequired,
    ReasonRequired,
    AlreadyRestored,
    RosterTooLarge,
    RosterNotUtf8,
    InvalidDecision,
    InvalidMemberNumber,
    NotListed,
    NotAClaimant,
    UnknownAccount,
    UnknownVoter,
    AccountUnverified,
    MemberNumberSet,
}

impl VoteRefusal {
    /// The refusal of a vote the ingest statement refused (`repo::Outcome::Refused`); `None`
    /// for a code that is not a refusal of this enum (`entry-not-found` is a plain 404).
    pub fn of_outcome(code: &str) -> Option<Self> {
        Some(match code {
            "not-on-roster" => Self::NotOnRoster,
            "entry-not-approved" => Self::EntryNotApproved,
            "voting-not-open" => Self::VotingNotOpen,
            "voting-closed" => Self::VotingClosed,
            "not-shortlisted" => Self::NotShortlisted,
            "contest-limit-reached" => Self::ContestLimitReached,
            "round-limit-reached" => Self::RoundLimitReached,
            "category-limit-reached" => Self::CategoryLimitReached,
            _ => return None,
        })
    }
}

impl Refusal for VoteRefusal {
    /// Entries use some of the same codes (`not-eligible`, `reason-required`,
    /// `invalid-decision`) with other sentences: votes' are `refusal.vote.<code>`.
    fn area(&self) -> Option<&'static str> {
        Some("vote")
    }

    fn code(&self) -> &'static str {
        match self {
            Self::Unavailable => "voting-unavailable",
            Self::NotEligible => "not-eligible",
            Self::RateLimited => "rate-limited",
            Self::Overloaded => "overloaded",
            Self::NotSaved => "vote-not-saved",
            Self::AlreadyVoted => "already-voted",
            Self::NotOnRoster => "not-on-roster",
            Self::EntryNotApproved => "entry-not-approved",
            Self::VotingNotOpen => "voting-not-open",
            Self::VotingClosed => "voting-closed",
            Self::NotShortlisted => "not-shortlisted",
            Self::ContestLimitReached => "contest-limit-reached",
            Self::RoundLimitReached => "round-limit-reached",
            Self::CategoryLimitReached => "category-limit-reached",
            Self::TotalsHidden => "totals-hidden",
            Self::InvalidNetwork => "invalid-network",
            Self::InvalidWindow => "invalid-window",
            Self::CriteriaRequired => "criteria-required",
            Self::ReasonRequired => "reason-required",
            Self::AlreadyRestored => "already-restored",
            Self::RosterTooLarge => "roster-too-large",
            Self::RosterNotUtf8 => "roster-not-utf8",
            Self::InvalidDecision => "invalid-decision",
            Self::InvalidMemberNumber => "invalid-member-number",
            Self::NotListed => "not-listed",
            Self::NotAClaimant => "not-a-claimant",
            Self::UnknownAccount => "unknown-account",
            Self::UnknownVoter => "unknown-voter",
            Self::AccountUnverified => "account-unverified",
            Self::MemberNumberSet => "member-number-set",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Unavailable | Self::Overloaded | Self::NotSaved => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::NotEligible | Self::NotOnRoster | Self::TotalsHidden => StatusCode::FORBIDDEN,
            Self::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Self::AlreadyVoted
            | Self::EntryNotApproved
            | Self::VotingNotOpen
            | Self::VotingClosed
            | Self::NotShortlisted
            | Self::ContestLimitReached
            | Self::RoundLimitReached
            | Self::CategoryLimitReached
            | Self::AlreadyRestored
            | Self::AccountUnverified
            | Self::MemberNumberSet => StatusCode::CONFLICT,
            Self::RosterTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::NotListed => StatusCode::NOT_FOUND,
            Self::InvalidNetwork
            | Self::InvalidWindow
            | Self::CriteriaRequired
            | Self::ReasonRequired
            | Self::RosterNotUtf8
            | Self::InvalidDecision
            | Self::InvalidMemberNumber
            | Self::NotAClaimant
            | Self::UnknownAccount
            | Self::UnknownVoter => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// Every refusal, for the test that each has its sentences.
pub const ALL: [VoteRefusal; 30] = [
    VoteRefusal::Unavailable,
    VoteRefusal::NotEligible,
    VoteRefusal::RateLimited,
    VoteRefusal::Overloaded,
    VoteRefusal::NotSaved,
    VoteRefusal::AlreadyVoted,
    VoteRefusal::NotOnRoster,
    VoteRefusal::EntryNotApproved,
    VoteRefusal::VotingNotOpen,
    VoteRefusal::VotingClosed,
    VoteRefusal::NotShortlisted,
    VoteRefusal::ContestLimitReached,
    VoteRefusal::RoundLimitReached,
    VoteRefusal::CategoryLimitReached,
    VoteRefusal::TotalsHidden,
    VoteRefusal::InvalidNetwork,
    VoteRefusal::InvalidWindow,
    VoteRefusal::CriteriaRequired,
    VoteRefusal::ReasonRequired,
    VoteRefusal::AlreadyRestored,
    VoteRefusal::RosterTooLarge,
    VoteRefusal::RosterNotUtf8,
    VoteRefusal::InvalidDecision,
    VoteRefusal::InvalidMemberNumber,
    VoteRefusal::NotListed,
    VoteRefusal::NotAClaimant,
    VoteRefusal::UnknownAccount,
    VoteRefusal::UnknownVoter,
    VoteRefusal::AccountUnverified,
    VoteRefusal::MemberNumberSet,
];

#[cfg(test)]
mod tests {
    use super::*;
    use hoithi_core::i18n::{self, Lang};

    #[test]
    fn every_refusal_has_a_sentence_in_both_languages() {
        for r in ALL {
            for lang in [Lang::Vi, Lang::En] {
                let key = r.key();
                assert_ne!(i18n::text(lang, &key), key, "{key} in {lang:?}");
            }
        }
    }
}
