//! The CSRF rule of the API (uploads included): SameSite=Lax does not stop a cross-site
//! `fetch(…, {method: "POST", credentials: "include", mode: "no-cors"})` with a text/plain
//! body, and the handlers read their JSON whatever the content type. A request with an
//! Authorization header cannot be sent cross-site without a CORS preflight, so bearer
//! clients are left alone.

use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;

use super::cookies::{cookie, csrf_cookie_name};
use super::csrf::{csrf_token_valid, same};

/// The `scheme://host[:port]` of an absolute URL (an Origin header is already one).
fn origin_of(url: &str) -> Option<&str> {
    let (scheme, rest) = url.split_once("://")?;
    if !scheme.eq_ignore_ascii_case("http") && !scheme.eq_ignore_ascii_case("https") {
        return None;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    if end == 0 {
        return None;
    }
    Some(&url[..scheme.len() + 3 + end])
}

/// Whether `origin` is this site: the configured public URL's origin, or the host the
/// browser addressed (a victim's browser sets Host to this site, never to the attacker's).
fn is_own_origin(state: &AppState, headers: &HeaderMap, uri: &Uri, origin: &str) -> bool {
    let Some(origin) = origin_of(origin) else {
        // `null` (sandboxed frames, data: URLs), or not a web origin at all.
        return false;
    };
    if state
        .config
        .public_url
        .as_deref()
        .and_then(origin_of)
        .is_some_and(|own| own.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| uri.authority().map(|a| a.as_str()));
    let authority = origin.split_once("://").map_or("", |(_, a)| a);
    host.is_some_and(|h| h.eq_ignore_ascii_case(authority))
}

/// Where the browser says an API write comes from: its Origin, else its Referer's origin.
/// `Some("null")` for a value that cannot be this site.
fn claimed_origin(headers: &HeaderMap) -> Option<String> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        return Some(origin.to_str().unwrap_or("null").to_owned());
    }
    let referer = headers.get(header::REFERER)?;
    Some(
        referer
            .to_str()
            .ok()
            .and_then(origin_of)
            .unwrap_or("null")
            .to_owned(),
    )
}

/// The rule for an unsafe API request without an Authorization header: a foreign Origin (or
/// Referer) is refused for everyone, so a cross-site page can neither use a visitor's session
/// nor make the site mail codes or check passwords on its behalf. With a session cookie the
/// request must also prove it comes from the site's own script: the CSRF token in
/// `x-csrf-token` (pages put it in `<meta name="csrf-token">`), or a JSON body (which a
/// cross-site page cannot send without a preflight) with this site's Origin or Referer.
pub(crate) async fn api_write_allowed(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    by_cookie: bool,
    secure: bool,
) -> anyhow::Result<bool> {
    let claimed = claimed_origin(headers);
    if let Some(origin) = &claimed
        && !is_own_origin(state, headers, uri, origin)
    {
        return Ok(false);
    }
    if !by_cookie {
        return Ok(true);
    }
    if let Some(sent) = headers
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())
    {
        let key = state.secrets.get(&state.db, "csrf").await?;
        let ok = cookie(headers, csrf_cookie_name(secure))
            .is_some_and(|expected| csrf_token_valid(&key, &expected) && same(sent, &expected));
        return Ok(ok);
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    Ok(json && claimed.is_some())
}

pub(crate) fn cross_site_refused() -> Response {
    hoithi_core::api_error::ApiError::new(
        StatusCode::FORBIDDEN,
        "cross-site-request",
        "refused as a cross-site request: send the page's x-csrf-token header, or a JSON body \
         from this site's own origin, or use Authorization: Bearer TOKEN",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_origin_of_a_url_is_its_scheme_host_and_port_and_nothing_else_is_one() {
        assert_eq!(
            origin_of("https://thi.example.vn"),
            Some("https://thi.example.vn")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/contests/x?y#z"),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(origin_of("HTTPS://A.vn?q"), Some("HTTPS://A.vn"));
        for not_one in [
            "null",
            "",
            "file:///etc",
            "https://",
            "//evil.example",
            "javascript:x",
        ] {
            assert_eq!(origin_of(not_one), None, "{not_one}");
        }
    }
}
