//! The layer around every route: cookie sessions (the signed-in user goes into the request
//! as `CurrentUser`, so pages, the API and uploads all see it), the CSRF check of every
//! page form and API write, and the security headers.
//!
//! - `cookies`: reading and writing cookies, and whether they must be `Secure`;
//! - `sessions`: the session cookie → `CurrentUser`, the sign-in/out responses, `MaybeUser`;
//! - `csrf`: the signed token of page forms; `origin`: the rule for API writes;
//! - `headers`: CSP, HSTS and the other headers of every response.

mod api_rejections;
pub mod cookies;
pub mod csrf;
pub mod headers;
mod origin;
pub mod sessions;

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::{Router, middleware};
use hoithi_core::AppState;

pub use self::cookies::{cookie, cookie_header, is_secure, session_cookie_name};
pub use self::csrf::CsrfToken;
pub use self::headers::CSP;
pub use self::sessions::{MaybeUser, SessionHash, signed_in};
pub use crate::domain::people::sessions::{
    SESSION_DAYS, create_session, delete_all_sessions, delete_session,
};

/// Wraps the whole application (every role's routes) in sessions, CSRF and headers.
/// Error pages are rendered inside the guard, so they see the request's user and CSRF token.
pub fn layers(router: Router, state: AppState) -> Router {
    router
        .layer(middleware::map_response(crate::page::render_errors))
        .layer(middleware::map_response(api_rejections::as_json))
        .layer(middleware::from_fn_with_state(state, guard))
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
    let path = request.uri().path();
    let is_api = path.starts_with("/api/");
    // Media takes no form and needs no CSRF token: no cookie is set on its responses, so a
    // shared cache may keep the public ones (`entries::media`).
    let is_static = path.starts_with("/static/")
        || path.starts_with("/media/")
        || path == "/healthz"
        || path == "/readyz";

    if has_nul(request.uri()) {
        return Ok(nul_refused(is_api));
    }

    let by_cookie = sessions::attach_user(&state, &mut request, secure).await?;
    // A page for a signed-in person shows "Chấm thi" in its navigation to judges.
    if by_cookie && !is_api && !is_static && request.method() == axum::http::Method::GET {
        let judges = match request.extensions().get::<hoithi_core::auth::CurrentUser>() {
            Some(u) => crate::domain::judging::judges::judges_any(&state.db, u.app_user_id).await?,
            None => false,
        };
        request.extensions_mut().insert(crate::page::Judges(judges));
    }

    if is_api
        && csrf::unsafe_method(request.method())
        && !request.headers().contains_key(header::AUTHORIZATION)
        && !origin::api_write_allowed(&state, request.headers(), request.uri(), by_cookie, secure)
            .await?
    {
        return Ok(origin::cross_site_refused());
    }

    let mut new_csrf_cookie = None;
    if !is_static && !is_api {
        match csrf::check_page(&state, &mut request, secure).await? {
            csrf::PageCsrf::Pass(fresh) => new_csrf_cookie = fresh,
            csrf::PageCsrf::Refused(response) => return Ok(response),
        }
    }

    let mut response = next.run(request).await;
    if let Some(token) = new_csrf_cookie {
        csrf::set_cookie(response.headers_mut(), &token, secure);
    }
    headers::apply(response.headers_mut(), secure);
    Ok(response)
}

/// Whether the path or query carries an escaped NUL (`%00`), which decodes to a character
/// PostgreSQL cannot store in text: every such request is refused before any handler.
fn has_nul(uri: &axum::http::Uri) -> bool {
    let contains = |s: &str| {
        s.as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
    };
    contains(uri.path()) || uri.query().is_some_and(contains)
}

/// 400 for text with a NUL in it: the API's error, or a sentence for a page.
pub(crate) fn nul_refused(api: bool) -> Response {
    if api {
        return hoithi_core::api_error::ApiError::new(
            StatusCode::BAD_REQUEST,
            "nul-character",
            "text may not contain the NUL character",
        )
        .into_response();
    }
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, "error.nul-character").to_owned(),
    )
        .into_response()
}
