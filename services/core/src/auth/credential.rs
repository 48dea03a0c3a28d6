//! What a user is found by, apart from the lookups, so the touch writer below `auth` can name
//! it too.

/// A credential a user is found by: its hash is the key of its table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    /// A bearer token of an API client (`api_token`).
    ApiToken,
    /// A signed-in browser's session cookie (`web_session`).
    WebSession,
}
