//! Domain types parsed from untrusted input. No I/O here: each type's `parse` is the one
//! place its rules live, and the tests below pin them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A rule broken by input, with a stable code for the API and a key of the message catalog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}")]
pub struct Invalid {
    pub code: &'static str,
}

const fn invalid(code: &'static str) -> Invalid {
    Invalid { code }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type)]
#[sqlx(type_name = "user_role", rename_all = "lowercase")]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Organizer,
    Judge,
    Member,
}

impl Role {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        match s.trim() {
            "admin" => Ok(Self::Admin),
            "organizer" => Ok(Self::Organizer),
            "judge" => Ok(Self::Judge),
            "member" => Ok(Self::Member),
            _ => Err(invalid("invalid-role")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Organizer => "organizer",
            Self::Judge => "judge",
            Self::Member => "member",
        }
    }
}

/// An email address, trimmed and lower-cased. Checked for shape only; ownership is proven
/// by the verification mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_lowercase();
        let Some((local, domain)) = s.split_once('@') else {
            return Err(invalid("invalid-email"));
        };
        let ok = (3..=254).contains(&s.len())
            && !local.is_empty()
            && local.len() <= 64
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '<' || c == '>' || c == ',')
            && !domain.contains('@');
        if ok {
            Ok(Self(s))
        } else {
            Err(invalid("invalid-email"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: long enough to resist guessing, short enough not to be a hashing DoS.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_BYTES: usize = 256;

    pub fn parse(s: &str) -> Result<Self, Invalid> {
        if s.chars().count() < Self::MIN_CHARS {
            return Err(invalid("password-too-short"));
        }
        if s.len() > Self::MAX_BYTES {
            return Err(invalid("password-too-long"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A person's name as shown on pages: trimmed, 1–120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let n = s.chars().count();
        if n == 0 {
            return Err(invalid("name-required"));
        }
        if n > 120 || s.chars().any(char::is_control) {
            return Err(invalid("invalid-name"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A URL-safe identifier: lowercase ASCII letters, digits and dashes, 1–63 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        let ok = (1..=63).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(invalid("invalid-slug"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_malformed_ones_refused() {
        assert_eq!(
            Email::parse("  An.Nguyen@Example.VN ").unwrap().as_str(),
            "an.nguyen@example.vn"
        );
        for bad in [
            "",
            "a",
            "a@b",
            "@x.vn",
            "a@.vn",
            "a@x..vn",
            "a b@x.vn",
            "a@x.vn,b@y.vn",
            "a@b@c.vn",
        ] {
            assert_eq!(
                Email::parse(bad),
                Err(Invalid {
                    code: "invalid-email"
                }),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn passwords_need_eight_characters_counted_as_characters_not_bytes() {
        assert!(Password::parse("short").is_err());
        assert!(
            Password::parse("mậtkhẩu1").is_ok(),
            "8 Vietnamese characters are enough"
        );
        assert_eq!(
            Password::parse(&"x".repeat(300)).err(),
            Some(Invalid {
                code: "password-too-long"
            })
        );
    }

    #[test]
    fn names_are_trimmed_and_must_not_be_empty_or_contain_controls() {
        assert_eq!(
            DisplayName::parse(" Nguyễn Văn An ").unwrap().as_str(),
            "Nguyễn Văn An"
        );
        assert_eq!(
            DisplayName::parse("   ").err(),
            Some(Invalid {
                code: "name-required"
            })
        );
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn slugs_allow_only_lowercase_ascii_digits_and_dashes() {
        assert!(Slug::parse("tinh-doan-hcm-2026").is_ok());
        for bad in ["", "Hoa", "xin chào", "-a", "a/b", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Admin, Role::Organizer, Role::Judge, Role::Member] {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
    }
}
