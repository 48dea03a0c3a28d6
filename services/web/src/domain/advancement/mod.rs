//! Levels that feed each other: a contest of a commune or school ("Vòng cấp xã/trường") is
//! linked to a contest of a unit above it ("Vòng cấp tỉnh") with a rule fixed in advance (top
//! N of each category by judges, votes or combined). The link (`link`) is set by whoever
//! organizes the child contest and locks with its results; publishing them nominates the top
//! entries into the parent (`nominate`).

pub mod link;
pub mod nominate;

use hoithi_core::api_error::Refusal;
use http::StatusCode;

/// What the child's entries are ranked by when they are nominated. Each is the results'
/// own ranking (`domain::judging::standings`) with the judges' share of the combined score
/// set to 100 % (judges), 0 % (votes), or the round's own (combined).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    Judges,
    Votes,
    Combined,
}

impl Basis {
    pub const ALL: [Self; 3] = [Self::Combined, Self::Judges, Self::Votes];

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "judges" => Some(Self::Judges),
            "votes" => Some(Self::Votes),
            "combined" => Some(Self::Combined),
            _ => None,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Judges => "judges",
            Self::Votes => "votes",
            Self::Combined => "combined",
        }
    }
}

/// The largest N of "top N per category".
pub const MAX_TOP: i32 = 20;

/// Every "no" of advancement, with its stable code and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdvancementRefusal {
    /// No contest has the parent's address.
    ParentUnknown,
    /// The parent contest does not belong to a unit above the child's own.
    ParentNotAbove,
    /// N outside 1..=MAX_TOP.
    TopOutOfRange,
    BasisInvalid,
    /// The child's results are published: the rule that chose its nominees stays as it was.
    Locked,
    /// A category of the child has no category of the parent to go to.
    CategoryUnmatched,
}

impl Refusal for AdvancementRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::ParentUnknown => "advancement-parent-unknown",
            Self::ParentNotAbove => "advancement-parent-not-above",
            Self::TopOutOfRange => "advancement-top-out-of-range",
            Self::BasisInvalid => "advancement-basis-invalid",
            Self::Locked => "advancement-locked",
            Self::CategoryUnmatched => "advancement-category-unmatched",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Locked => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_basis_reads_back_as_itself_and_nothing_else_parses() {
        for b in Basis::ALL {
            assert_eq!(Basis::parse(b.as_str()), Some(b));
        }
        assert_eq!(Basis::parse("random"), None);
        assert_eq!(Basis::parse(""), None);
    }
}
