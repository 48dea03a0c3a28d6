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
