//! Cookies: whether they must be `Secure`, their names, reading one and writing one.

use axum::http::{HeaderMap, header};
use hoithi_core::AppState;

/// Whether cookies must be `Secure` (and use the `__Host-` prefix): the site is served over
/// https, either by its public URL or by the proxy's word. Plain-http localhost is not.
pub fn is_secure(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .config
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"))
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"https"))
}

pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-hoithi" } else { "hoithi" }
}

pub fn csrf_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-hoithi-csrf"
    } else {
        "hoithi-csrf"
    }
}

/// The value of cookie `name`, if the request has it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

pub fn cookie_header(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let mut c = format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax");
    if secure {
        c.push_str("; Secure");
    }
    c
}

/// Where a signed-out visitor was going (an invitation link) while they register and prove
/// their mailbox: the verification link brings them back there. A day, the life of the trip.
pub fn return_to_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-hoithi-return-to"
    } else {
        "hoithi-return-to"
    }
}

/// The `Set-Cookie` value that remembers `path` (a same-site path) for the way back.
pub fn return_to_cookie(path: &str, secure: bool) -> String {
    use base64::Engine;
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(path);
    cookie_header(return_to_cookie_name(secure), &value, 86400, secure)
}

/// The `Set-Cookie` value that forgets the way back.
pub fn clear_return_to_cookie(secure: bool) -> String {
    cookie_header(return_to_cookie_name(secure), "", 0, secure)
}

/// The remembered way back of the request: only a same-site path (`page::safe_next`), never
/// the site's root (nothing to return to).
pub fn return_to(headers: &HeaderMap, secure: bool) -> Option<String> {
    use base64::Engine;
    let raw = cookie(headers, return_to_cookie_name(secure))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let path = String::from_utf8(bytes).ok()?;
    (same_site_path(&path) && path != "/" && path.len() <= 500).then_some(path)
}

/// Whether `p` is a path of this site to send a browser to: never an absolute URL a visitor
/// could craft, never one with a control character (a decoded `%0A` cannot go into a
/// `Location` header). `page::safe_next` and the way back of `return_to` both ask it.
pub fn same_site_path(p: &str) -> bool {
    p.starts_with('/')
        && !p.starts_with("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control)
}

/// The email a voter asked a sign-in code for on an entry page, kept until the code is used
/// so the page (any entry's) shows the code field; 10 minutes, the code's life.
pub fn vote_email_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-hoithi-vote-email"
    } else {
        "hoithi-vote-email"
    }
}

/// A note a vote form leaves for the entry page it returns to (`page::Note`), shown once.
pub fn vote_note_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-hoithi-vote-note"
    } else {
        "hoithi-vote-note"
    }
}

/// The pending voter email of the request (see `vote_email_cookie_name`).
pub fn vote_email(headers: &HeaderMap, secure: bool) -> Option<String> {
    use base64::Engine;
    let raw = cookie(headers, vote_email_cookie_name(secure))?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    String::from_utf8(bytes)
        .ok()
        .filter(|e| e.len() <= 254 && e.contains('@'))
}

/// The `Set-Cookie` value keeping `email` (empty: clearing it).
pub fn vote_email_cookie(email: &str, secure: bool) -> String {
    use base64::Engine;
    let value = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(email);
    let max_age = if email.is_empty() { 0 } else { 600 };
    cookie_header(vote_email_cookie_name(secure), &value, max_age, secure)
}
