//! The CSRF check of every page form: each browser gets a signed token in the `…csrf`
//! cookie, and every unsafe page request must carry the same token, in the `_csrf` form field
//! or the `x-csrf-token` header. Pages read it from the request (`CsrfToken`).

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use hmac::{Hmac, Mac};
use hoithi_core::AppState;
use sha2::Sha256;

use super::cookies::{cookie, cookie_header, csrf_cookie_name};
use crate::domain::people::tokens::random_token;

/// Largest page form body the CSRF check reads.
const FORM_LIMIT: usize = 256 * 1024;
/// How long the browser keeps its CSRF cookie.
const COOKIE_SECONDS: i64 = 60 * 60 * 24 * 365;

/// The CSRF token forms of this request must carry (also in the `…csrf` cookie).
#[derive(Debug, Clone)]
pub struct CsrfToken(pub String);

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

pub(crate) fn csrf_token_valid(key: &[u8], token: &str) -> bool {
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
pub(crate) fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

pub(crate) fn unsafe_method(m: &Method) -> bool {
    !matches!(*m, Method::GET | Method::HEAD | Method::OPTIONS)
}

#[cfg(test)]
fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Percent-decodes one part of a form body (`+` is a space; a broken `%` stays).
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

/// Decodes `application/x-www-form-urlencoded` (the CSRF check reads one field of it).
fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
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

/// What the check of a page request came to.
pub(crate) enum PageCsrf {
    /// Passed; the token is in the request. `Some`: a new token for the browser's cookie.
    Pass(Option<String>),
    /// Refused with this response.
    Refused(Response),
}

/// The CSRF check of a page request (see the module's doc). A form body it reads is put
/// back into the request for the handler.
pub(crate) async fn check_page(
    state: &AppState,
    request: &mut Request,
    secure: bool,
) -> anyhow::Result<PageCsrf> {
    let key = state.secrets.get(&state.db, "csrf").await?;
    let existing =
        cookie(request.headers(), csrf_cookie_name(secure)).filter(|t| csrf_token_valid(&key, t));
    if unsafe_method(request.method()) {
        let Some(expected) = existing.as_deref() else {
            return Ok(PageCsrf::Refused(forbidden_csrf()));
        };
        if let Err(refused) = carries(request, expected).await {
            return Ok(PageCsrf::Refused(refused));
        }
    }
    let (token, fresh) = match existing {
        Some(t) => (t, None),
        None => {
            let t = new_csrf_token(&key);
            (t.clone(), Some(t))
        }
    };
    request.extensions_mut().insert(CsrfToken(token));
    Ok(PageCsrf::Pass(fresh))
}

/// Largest multipart page form (a file upload: the roster spreadsheet) the CSRF check reads.
pub const MULTIPART_LIMIT: usize = crate::domain::people::roster::MAX_BYTES + 64 * 1024;

/// The `_csrf` field of a multipart form (a file upload) must be `expected`; the body is put
/// back for the handler.
async fn carries_multipart(
    request: &mut Request,
    content_type: &str,
    expected: &str,
) -> Result<(), Response> {
    let Ok(boundary) = multer::parse_boundary(content_type) else {
        return Err(forbidden_csrf());
    };
    let body = std::mem::take(request.body_mut());
    let Ok(bytes) = to_bytes(body, MULTIPART_LIMIT).await else {
        return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    };
    let stream =
        futures_util::stream::once(std::future::ready(Ok::<_, std::io::Error>(bytes.clone())));
    let mut parts = multer::Multipart::new(stream, boundary);
    let mut ok = false;
    while let Ok(Some(field)) = parts.next_field().await {
        if field.name() == Some("_csrf") {
            ok = match field.text().await {
                Ok(t) => same(t.as_str(), expected),
                Err(_) => false,
            };
            break;
        }
    }
    if !ok {
        return Err(forbidden_csrf());
    }
    *request.body_mut() = Body::from(bytes);
    Ok(())
}

/// Whether an unsafe page request carries `expected`: in `x-csrf-token`, else in the `_csrf`
/// field of a form body (URL-encoded, or multipart for a file upload). `Err`: the response that refuses it.
async fn carries(request: &mut Request, expected: &str) -> Result<(), Response> {
    if let Some(sent) = request
        .headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
    {
        return if same(sent, expected) {
            Ok(())
        } else {
            Err(forbidden_csrf())
        };
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    if content_type.starts_with("multipart/form-data") {
        return carries_multipart(request, &content_type, expected).await;
    }
    let is_form = content_type.starts_with("application/x-www-form-urlencoded");
    if !is_form {
        return Err(forbidden_csrf());
    }
    let body = std::mem::take(request.body_mut());
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
    };
    let pairs = form_urlencoded_pairs(&bytes);
    let ok = pairs
        .iter()
        .find(|(k, _)| k == "_csrf")
        .is_some_and(|(_, t)| same(t, expected));
    if !ok {
        return Err(forbidden_csrf());
    }
    // PostgreSQL cannot store a NUL in text: refused here with a sentence, not a 500 later.
    if pairs
        .iter()
        .any(|(k, v)| k.contains('\0') || v.contains('\0'))
    {
        return Err(crate::security::nul_refused(false));
    }
    *request.body_mut() = Body::from(bytes);
    Ok(())
}

/// Gives the browser its new CSRF cookie.
pub(crate) fn set_cookie(headers: &mut HeaderMap, token: &str, secure: bool) {
    let c = cookie_header(csrf_cookie_name(secure), token, COOKIE_SECONDS, secure);
    if let Ok(v) = HeaderValue::from_str(&c) {
        headers.append(header::SET_COOKIE, v);
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
    fn form_fields_are_percent_decoded() {
        let body = b"a=1&_csrf=ab%2Ecd+e&x";
        assert_eq!(form_field(body, "_csrf").as_deref(), Some("ab.cd e"));
        assert_eq!(form_field(body, "x").as_deref(), Some(""));
        assert_eq!(form_field(b"%zz=%", "%zz").as_deref(), Some("%"));
    }
}
