//! The security headers of every response.

use axum::http::{HeaderMap, HeaderValue, header};

/// The Content-Security-Policy of every response that does not set its own.
/// `worker-src blob:`: hls.js (browsers without native HLS) transmuxes in a Web Worker it
/// starts from a blob: URL; without it the CSP blocks the worker and logs an error.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob: https:; \
     media-src 'self' blob: https:; worker-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Puts the security headers on a response; HSTS only when the site is served over https.
pub fn apply(headers: &mut HeaderMap, secure: bool) {
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
}
