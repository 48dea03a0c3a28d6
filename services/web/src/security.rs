//! The layer around every route: cookie sessions (the signed-in user goes into the request
//! as `CurrentUser`, so pages, the API and uploads all see it), the CSRF check of every
//! page form, and the security headers.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use base64::Engine;
use hmac::{Hmac, Mac};
use hoithi_core::AppState;
use hoithi_core::auth::{Credential, CurrentUser, user_for_credential};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgExecutor;

/// How long a browser stays signed in without coming back.
pub const SESSION_DAYS: i32 = 30;
/// Largest page form body the CSRF check reads.
const FORM_LIMIT: usize = 256 * 1024;

/// The CSRF token forms of this request must carry (also in the `…csrf` cookie).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

/// The hash of the session cookie of a signed-in request.
#[derive(Debug, Clone)]
pub struct SessionHash(pub Vec<u8>);

/// Wraps the whole application (every role's routes) in sessions, CSRF and headers.
/// Error pages are rendered inside the guard, so they see the request's user and CSRF token.
pub fn layers(router: Router, state: AppState) -> Router {
    router
        .layer(middleware::map_response(crate::page::render_errors))
        .layer(middleware::from_fn_with_state(state, guard))
}

/// The Content-Security-Policy of every response that does not set its own.
/// `worker-src blob:`: hls.js (browsers without native HLS) transmuxes in a Web Worker it
/// starts from a blob: URL; without it the CSP blocks the worker and logs an error.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; \
     media-src 'self' blob: https:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

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

fn csrf_cookie_name(secure: bool) -> &'static str {
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

fn random_token() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn sha256(s: &str) -> Vec<u8> {
    Sha256::digest(s.as_bytes()).to_vec()
}

/// Makes a session for `user_id`; returns the cookie value (only its hash is stored).
pub async fn create_session(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<String> {
    let token = random_token();
    sqlx::query(
        "insert into web_session (session_hash, app_user_id, expires_at)
         values ($1, $2, now() + make_interval(days => $3))",
    )
    .bind(sha256(&token))
    .bind(user_id)
    .bind(SESSION_DAYS)
    .execute(db)
    .await?;
    Ok(token)
}

pub async fn delete_session(db: impl PgExecutor<'_>, hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query("delete from web_session where session_hash = $1")
        .bind(hash)
        .execute(db)
        .await
        .map(drop)
}

pub async fn delete_all_sessions(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<()> {
    sqlx::query("delete from web_session where app_user_id = $1")
        .bind(user_id)
        .execute(db)
        .await
        .map(drop)
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    #[expect(clippy::unwrap_used, reason = "HMAC takes keys of any length")]
    Hmac::<Sha256>::new_from_slice(key).unwrap()
}

/// A token `random.signature`: a forged or planted cookie without the key does not verify.
fn new_csrf_token(key: &[u8]) -> String {
    let nonce = random_token();
    let mut m = mac(key);
    m.update(nonce.as_bytes());
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(m.finalize().into_bytes());
    format!("{nonce}.{sig}")
}

fn csrf_token_valid(key: &[u8], token: &str) -> bool {
    let Some((nonce, sig)) = token.split_once('.') else {
        return false;
    };
    let Ok(sig) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig) else {
        return false;
    };
    let mut m = mac(key);
    m.update(nonce.as_bytes());
    m.verify_slice(&sig).is_ok()
}

/// Compares in constant time, so the check does not leak how much of a guess was right.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Decodes `application/x-www-form-urlencoded` (the CSRF check reads one field of it).
fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    let hi = (bytes[i + 1] as char).to_digit(16);
                    let lo = (bytes[i + 2] as char).to_digit(16);
                    match (hi, lo) {
                        (Some(h), Some(l)) => {
                            out.push((h * 16 + l) as u8);
                            i += 2;
                        }
                        _ => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    String::from_utf8_lossy(body)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn forbidden_csrf() -> Response {
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, "error.csrf").to_owned(),
    )
        .into_response()
}

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
fn is_own_origin(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    origin: &str,
) -> bool {
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
async fn api_write_allowed(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
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

fn cross_site_refused() -> Response {
    hoithi_core::api_error::ApiError::new(
        StatusCode::FORBIDDEN,
        "cross-site-request",
        "refused as a cross-site request: send the page's x-csrf-token header, or a JSON body \
         from this site's own origin, or use Authorization: Bearer TOKEN",
    )
    .into_response()
}

async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    match guarded(state, request, next).await {
        Ok(r) => r,
        Err(err) => {
            tracing::error!(error = format!("{err:#}"), "session layer failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

async fn guarded(state: AppState, mut request: Request, next: Next) -> anyhow::Result<Response> {
    let secure = is_secure(&state, request.headers());
    let path = request.uri().path().to_owned();
    let is_api = path.starts_with("/api/");
    let is_static = path.starts_with("/static/") || path == "/healthz" || path == "/readyz";

    // The session: a cookie that names a live session puts its user into the request.
    let mut by_cookie = false;
    if let Some(value) = cookie(request.headers(), session_cookie_name(secure)) {
        let hash = sha256(&value);
        if let Some(user) =
            user_for_credential(&state, Credential::WebSession, hash.clone()).await?
        {
            request.extensions_mut().insert(user);
            request.extensions_mut().insert(SessionHash(hash));
            by_cookie = true;
        }
    }

    // CSRF for the API (uploads included): SameSite=Lax does not stop a cross-site
    // `fetch(…, {method: "POST", credentials: "include", mode: "no-cors"})` with a text/plain
    // body, and the handlers read their JSON whatever the content type. A request with an
    // Authorization header cannot be sent cross-site without a CORS preflight, so bearer
    // clients are left alone.
    if is_api
        && unsafe_method(request.method())
        && !request.headers().contains_key(header::AUTHORIZATION)
        && !api_write_allowed(&state, request.headers(), request.uri(), by_cookie, secure).await?
    {
        return Ok(cross_site_refused());
    }

    // CSRF for pages: every unsafe request must carry the signed token of the csrf cookie,
    // in the `_csrf` form field or the `x-csrf-token` header.
    let mut set_csrf_cookie = None;
    if !is_static && !is_api {
        let key = state.secrets.get(&state.db, "csrf").await?;
        let existing = cookie(request.headers(), csrf_cookie_name(secure))
            .filter(|t| csrf_token_valid(&key, t));
        if unsafe_method(request.method()) {
            let Some(expected) = existing.clone() else {
                return Ok(forbidden_csrf());
            };
            let header_token = request
                .headers()
                .get("x-csrf-token")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let ok = match header_token {
                Some(t) => same(&t, &expected),
                None => {
                    let is_form = request
                        .headers()
                        .get(header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok())
                        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
                    if !is_form {
                        return Ok(forbidden_csrf());
                    }
                    let (parts, body) = request.into_parts();
                    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
                        return Ok(StatusCode::PAYLOAD_TOO_LARGE.into_response());
                    };
                    let ok = form_field(&bytes, "_csrf").is_some_and(|t| same(&t, &expected));
                    request = Request::from_parts(parts, Body::from(bytes));
                    ok
                }
            };
            if !ok {
                return Ok(forbidden_csrf());
            }
        }
        let token = match existing {
            Some(t) => t,
            None => {
                let t = new_csrf_token(&key);
                set_csrf_cookie = Some(t.clone());
                t
            }
        };
        request.extensions_mut().insert(CsrfToken(token));
    }

    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if let Some(token) = set_csrf_cookie {
        let c = cookie_header(csrf_cookie_name(secure), &token, 60 * 60 * 24 * 365, secure);
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
    // A route that embeds a stream sets its own policy (this one plus exactly its origins).
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    if secure {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    Ok(response)
}

/// The caller if any: a session's user, or a bearer token's (a bad token is still a 401,
/// so a client learns its token is wrong instead of silently seeing public data).
#[derive(Debug, Clone)]
pub struct MaybeUser(pub Option<CurrentUser>);

impl axum::extract::FromRequestParts<AppState> for MaybeUser {
    type Rejection = hoithi_core::api_error::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if parts.extensions.get::<CurrentUser>().is_some()
            || parts.headers.contains_key(header::AUTHORIZATION)
        {
            return <CurrentUser as axum::extract::FromRequestParts<AppState>>::from_request_parts(
                parts, state,
            )
            .await
            .map(|u| Self(Some(u)));
        }
        Ok(Self(None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csrf_token_verifies_only_with_its_key_and_unchanged() {
        let t = new_csrf_token(b"key-one");
        assert!(csrf_token_valid(b"key-one", &t));
        assert!(!csrf_token_valid(b"key-two", &t));
        assert!(!csrf_token_valid(b"key-one", &format!("x{t}")));
        assert!(!csrf_token_valid(b"key-one", "no-dot"));
    }

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

    #[test]
    fn form_fields_are_percent_decoded() {
        let body = b"a=1&_csrf=ab%2Ecd+e&x";
        assert_eq!(form_field(body, "_csrf").as_deref(), Some("ab.cd e"));
        assert_eq!(form_field(body, "x").as_deref(), Some(""));
        assert_eq!(form_field(b"%zz=%", "%zz").as_deref(), Some("%"));
    }
}
