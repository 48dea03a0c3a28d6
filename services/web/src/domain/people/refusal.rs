//! The decided "no"s of the people area, each with a stable code (the JSON API's
//! `error.code`), a status, and the sentence `refusal.<code>` in both catalogs
//! (`web/i18n/areas/people.*.toml`).
//!
//! A refusal to wait (too many tries, too much mail) is not one of them: it carries how long
//! to wait, in `Retry-After` and in its sentence (`accounts::wait`).

use hoithi_core::api_error::Refusal;
use http::StatusCode;

/// Why an account flow said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountRefusal {
    /// Sign-in: no account with this email and password.
    BadCredentials,
    /// Password change: the current password given is not the account's.
    WrongPassword,
    /// A verification or reset link that is unknown, used or expired.
    LinkInvalid,
}

impl Refusal for AccountRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::BadCredentials => "bad-credentials",
            Self::WrongPassword => "wrong-password",
            Self::LinkInvalid => "mail-link-invalid",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::BadCredentials => StatusCode::UNAUTHORIZED,
            Self::WrongPassword => StatusCode::UNPROCESSABLE_ENTITY,
            Self::LinkInvalid => StatusCode::GONE,
        }
    }
}

/// Why the admin's unit tree refused a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitRefusal {
    /// A slug or name that breaks the rules.
    Invalid,
    /// The parent named does not exist (or the parents would form a loop).
    UnknownParent,
    /// Child units or contests still belong to it.
    InUse,
    /// A unit moved below itself or one of its own descendants.
    Cycle,
}

impl Refusal for UnitRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::Invalid => "unit-invalid",
            Self::UnknownParent => "unit-parent-unknown",
            Self::InUse => "unit-in-use",
            Self::Cycle => "unit-cycle",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::Invalid | Self::UnknownParent | Self::Cycle => StatusCode::UNPROCESSABLE_ENTITY,
            Self::InUse => StatusCode::CONFLICT,
        }
    }
}

/// Why a change to a person (the people pages) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeopleRefusal {
    /// The change would leave no active admin (the last one demoting or disabling themself).
    LastAdmin,
    /// Only an admin makes someone an admin (or changes an admin).
    AdminOnly,
    /// The unit chosen is not within the organizer's own unit (or does not exist).
    UnitOutOfScope,
    /// An organizer needs a unit to organize.
    OrganizerWithoutUnit,
    /// Nobody disables their own account from here.
    DisableSelf,
    /// A member number that breaks the rules.
    InvalidMemberNumber,
    /// An invitation's email is not an address.
    InvalidEmail,
    /// An invitation to an address that already has an account.
    AlreadyRegistered,
    /// The account has proven its email already.
    AlreadyVerified,
    /// Too much mail to this address lately: later.
    TooMuchMail,
}

impl Refusal for PeopleRefusal {
    fn code(&self) -> &'static str {
        match self {
            Self::LastAdmin => "last-admin",
            Self::AdminOnly => "admin-only",
            Self::UnitOutOfScope => "person-unit-out-of-scope",
            Self::OrganizerWithoutUnit => "organizer-without-unit",
            Self::DisableSelf => "disable-self",
            Self::InvalidMemberNumber => "person-member-number-invalid",
            Self::InvalidEmail => "person-email-invalid",
            Self::AlreadyRegistered => "person-already-registered",
            Self::AlreadyVerified => "person-already-verified",
            Self::TooMuchMail => "person-too-much-mail",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            Self::LastAdmin | Self::AlreadyRegistered | Self::AlreadyVerified => {
                StatusCode::CONFLICT
            }
            Self::AdminOnly | Self::DisableSelf => StatusCode::FORBIDDEN,
            Self::TooMuchMail => StatusCode::TOO_MANY_REQUESTS,
            Self::UnitOutOfScope
            | Self::OrganizerWithoutUnit
            | Self::InvalidMemberNumber
            | Self::InvalidEmail => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}

/// Every variant, for the tests that every one has its sentences.
pub const PEOPLE_REFUSALS: [PeopleRefusal; 10] = [
    PeopleRefusal::LastAdmin,
    PeopleRefusal::AdminOnly,
    PeopleRefusal::UnitOutOfScope,
    PeopleRefusal::OrganizerWithoutUnit,
    PeopleRefusal::DisableSelf,
    PeopleRefusal::InvalidMemberNumber,
    PeopleRefusal::InvalidEmail,
    PeopleRefusal::AlreadyRegistered,
    PeopleRefusal::AlreadyVerified,
    PeopleRefusal::TooMuchMail,
];

#[cfg(test)]
mod tests {
    use hoithi_core::i18n::{Lang, text};

    use super::*;

    #[test]
    fn every_refusal_has_a_stable_code_and_a_sentence_in_both_languages() {
        let accounts = [
            AccountRefusal::BadCredentials,
            AccountRefusal::WrongPassword,
            AccountRefusal::LinkInvalid,
        ];
        let units = [
            UnitRefusal::Invalid,
            UnitRefusal::UnknownParent,
            UnitRefusal::InUse,
            UnitRefusal::Cycle,
        ];
        let all: Vec<(&str, String)> = accounts
            .iter()
            .map(|r| (r.code(), r.key()))
            .chain(units.iter().map(|r| (r.code(), r.key())))
            .chain(PEOPLE_REFUSALS.iter().map(|r| (r.code(), r.key())))
            .collect();
        assert_eq!(
            all[0].0, "bad-credentials",
            "the API's code of a wrong password"
        );
        for (code, key) in &all {
            assert_eq!(*key, format!("refusal.{code}"));
            for lang in [Lang::Vi, Lang::En] {
                assert_ne!(text(lang, key), key.as_str(), "{key} in {lang:?}");
            }
        }
    }
}
