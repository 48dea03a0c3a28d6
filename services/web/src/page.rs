//! What every page shares: the language of the request, the signed-in user and the CSRF
//! token (both put into the request by `security`), the layout's texts, and the wrapper
//! that turns an askama template into a response.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Role;
use hoithi_core::i18n::{self, Lang};

use crate::security::csrf::CsrfToken;

/// The language of a request: the `lang` cookie a visitor chose, else Vietnamese.
#[derive(Debug, Clone, Copy)]
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let lang = crate::security::cookies::cookie(&parts.headers, "lang")
            .and_then(|v| Lang::parse(&v))
            .unwrap_or_default();
        Ok(Self(lang))
    }
}

/// Whether the signed-in person judges a contest (put into page requests by `security`).
#[derive(Debug, Clone, Copy)]
pub struct Judges(pub bool);

/// Everything a page handler needs about the request: language, user (if signed in), and
/// the CSRF token its forms carry.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    /// Whether the user judges a contest (the navigation's judging link).
    pub judges: bool,
    /// What a form just saved, from `?saved=<what>` after its redirect: the catalog key
    /// `saved.<what>`, only when the catalog has it (a crafted link shows no other text).
    pub saved: Option<String>,
}

/// The notice of `?saved=<what>` in `query`: `saved.<what>` when the catalog has that key.
fn saved_notice(lang: Lang, query: Option<&str>) -> Option<String> {
    let what = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("saved="))?;
    let fine = !what.is_empty()
        && what.len() <= 40
        && what.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
    let key = format!("saved.{what}");
    (fine && i18n::text(lang, &key) != key).then_some(key)
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let PageLang(lang) = PageLang::from_request_parts(parts, state).await?;
        Ok(Self {
            lang,
            saved: saved_notice(lang, parts.uri.query()),
            user: parts.extensions.get::<CurrentUser>().cloned(),
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            judges: parts.extensions.get::<Judges>().is_some_and(|j| j.0),
        })
    }
}

impl Ctx {
    pub fn page(&self, title_key: &str) -> Page {
        Page {
            lang: self.lang,
            title: i18n::text(self.lang, title_key).to_owned(),
            user: self.user.clone(),
            csrf: self.csrf.clone(),
            meta: Vec::new(),
            judges: self.judges,
            saved: self
                .saved
                .as_deref()
                .map(|k| i18n::text(self.lang, k).to_owned())
                .unwrap_or_default(),
        }
    }

    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::text(self.lang, key)
    }

    /// The seed of a visitor's own order of entries: the account, else the browser's
    /// long-lived CSRF cookie.
    pub fn visitor_seed(&self) -> String {
        match &self.user {
            Some(u) => format!("user:{}", u.app_user_id),
            None => format!("browser:{}", self.csrf.split('.').next().unwrap_or("")),
        }
    }

    pub fn role(&self) -> Option<Role> {
        self.user.as_ref().map(|u| u.role)
    }
}

/// Context of the layout, passed to every page template as `page`.
pub struct Page {
    pub lang: Lang,
    pub title: String,
    pub user: Option<CurrentUser>,
    pub csrf: String,
    /// `<meta property=… content=…>` pairs (Open Graph, Twitter cards).
    pub meta: Vec<(String, String)>,
    /// Whether the user judges a contest: the navigation links to their sheets.
    pub judges: bool,
    /// "Đã lưu …": what the form before this page saved (empty for none).
    pub saved: String,
}

impl Page {
    pub fn new(lang: Lang, title_key: &str) -> Self {
        Self {
            lang,
            title: i18n::text(lang, title_key).to_owned(),
            user: None,
            csrf: String::new(),
            meta: Vec::new(),
            judges: false,
            saved: String::new(),
        }
    }

    /// The text for `key` in the page's language.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::text(self.lang, key)
    }

    /// The text for `prefix` + `suffix`, e.g. an error code's message.
    pub fn tk(&self, prefix: &str, suffix: &str) -> String {
        let key = format!("{prefix}{suffix}");
        let text = i18n::text(self.lang, &key);
        if text == key {
            suffix.to_owned()
        } else {
            text.to_owned()
        }
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn other_lang_code(&self) -> &'static str {
        self.lang.other().code()
    }

    pub fn signed_in(&self) -> bool {
        self.user.is_some()
    }

    pub fn user_name(&self) -> &str {
        self.user.as_ref().map_or("", |u| u.display_name.as_str())
    }

    pub fn is_admin(&self) -> bool {
        self.user.as_ref().is_some_and(|u| u.role == Role::Admin)
    }

    /// Whether the people pages are theirs: an admin, or an organizer of a unit.
    pub fn manages_people(&self) -> bool {
        self.user.as_ref().is_some_and(|u| {
            u.role == Role::Admin || (u.role == Role::Organizer && u.unit_id.is_some())
        })
    }

    pub fn is_organizer(&self) -> bool {
        self.user
            .as_ref()
            .is_some_and(|u| matches!(u.role, Role::Admin | Role::Organizer))
    }

    /// A date and time the Vietnamese way (dd/mm/yyyy HH:MM, Asia/Ho_Chi_Minh).
    pub fn datetime(&self, at: impl Value<DateTime<Utc>>) -> String {
        crate::format::datetime(self.lang, &at.value())
    }

    pub fn number(&self, n: impl Value<i64>) -> String {
        crate::format::number(self.lang, n.value())
    }

    /// Bytes as whole mebibytes, the way limits are typed in the form.
    pub fn mib(&self, n: impl Value<i64>) -> String {
        crate::format::number(self.lang, n.value() / (1024 * 1024))
    }
}

/// A copyable value however many references templates put around it.
pub trait Value<T> {
    fn value(&self) -> T;
}

impl Value<DateTime<Utc>> for DateTime<Utc> {
    fn value(&self) -> DateTime<Utc> {
        *self
    }
}

impl Value<i64> for i64 {
    fn value(&self) -> i64 {
        *self
    }
}

impl<T, V: Value<T> + ?Sized> Value<T> for &V {
    fn value(&self) -> T {
        (**self).value()
    }
}

/// Renders a template; a rendering failure is logged once and shown as a plain error page.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => (status, Html(html)).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "template rendering failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Html(i18n::text(Lang::Vi, "error.internal").to_owned()),
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    message: String,
}

/// A page with one message (from the catalog) and the given status.
pub fn message(ctx: &Ctx, status: StatusCode, key: &str) -> Response {
    let page = ctx.page(key);
    let message = page.t(key).to_owned();
    render(status, &ErrorPage { page, message })
}

pub async fn not_found(ctx: Ctx) -> Response {
    message(&ctx, StatusCode::NOT_FOUND, "error.not-found")
}

/// A page error: not found, forbidden, or an internal failure (logged once here).
#[derive(Debug)]
pub enum PageError {
    NotFound,
    Forbidden,
    SignIn,
    /// A refusal of the rules (`hoithi_core::api_error::Refusal`): its status, and the page
    /// says its sentence (`Refusal::key`) in the visitor's language.
    Refused {
        status: StatusCode,
        area: Option<&'static str>,
        code: &'static str,
    },
    Internal(anyhow::Error),
}

impl PageError {
    pub fn refused(refusal: &impl hoithi_core::api_error::Refusal) -> Self {
        Self::Refused {
            status: refusal.status(),
            area: refusal.area(),
            code: refusal.code(),
        }
    }
}

/// `From` conversions into `PageError` for refusal enums, so page handlers use `?` on them:
/// `page_refusals!(SheetError, VoteRefusal);` (a blanket impl would clash with the
/// conversions from `sqlx::Error` and `anyhow::Error`).
#[macro_export]
macro_rules! page_refusals {
    ($($refusal:ty),+ $(,)?) => {$(
        impl From<$refusal> for $crate::page::PageError {
            fn from(refusal: $refusal) -> Self {
                $crate::page::PageError::refused(&refusal)
            }
        }
    )+};
}

impl From<sqlx::Error> for PageError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl From<anyhow::Error> for PageError {
    fn from(e: anyhow::Error) -> Self {
        Self::Internal(e)
    }
}

/// What a `PageError` response carries until `render_errors` turns it into the error page:
/// the handler does not need the visitor's language, the layer reads it from the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ErrorKind {
    NotFound,
    Forbidden,
    Refused(Option<&'static str>, &'static str),
    Internal,
}

impl ErrorKind {
    fn key(self) -> String {
        match self {
            Self::NotFound => "error.not-found".to_owned(),
            Self::Forbidden => "error.forbidden".to_owned(),
            Self::Refused(area, code) => hoithi_core::api_error::refusal_key(area, code),
            Self::Internal => "error.internal".to_owned(),
        }
    }
}

/// A bare response with the status and the error's kind; `render_errors` (in
/// `security::layers`) renders the page. An internal failure is logged here, once, with its
/// cause chain.
impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, kind) = match self {
            Self::SignIn => return axum::response::Redirect::to("/login").into_response(),
            Self::NotFound => (StatusCode::NOT_FOUND, ErrorKind::NotFound),
            Self::Forbidden => (StatusCode::FORBIDDEN, ErrorKind::Forbidden),
            Self::Refused { status, area, code } => (status, ErrorKind::Refused(area, code)),
            Self::Internal(err) => {
                tracing::error!(error = format!("{err:#}"), "page failed");
                (StatusCode::INTERNAL_SERVER_ERROR, ErrorKind::Internal)
            }
        };
        let mut res = status.into_response();
        res.extensions_mut().insert(kind);
        res
    }
}

/// The layer that renders the page of a `PageError` response in the request's language, with
/// the layout of the signed-in user. Headers the handler set around the error (e.g.
/// `no_store`) are kept; any other response passes untouched.
pub async fn render_errors(ctx: Ctx, res: Response) -> Response {
    let Some(kind) = res.extensions().get::<ErrorKind>().copied() else {
        return res;
    };
    let (mut parts, _) = res.into_parts();
    parts.extensions.remove::<ErrorKind>();
    let (page, body) = message(&ctx, parts.status, &kind.key()).into_parts();
    parts.status = page.status;
    parts.headers.extend(page.headers);
    Response::from_parts(parts, body)
}

/// Only a same-site path is followed, never an absolute URL a visitor could craft, and
/// never one with a control character (a decoded `%0A` cannot go into a `Location` header).
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|p| crate::security::cookies::same_site_path(p))
        .unwrap_or("/")
        .to_owned()
}

/// A note a form leaves for the page it redirects to, shown there once (what became of a
/// vote cast from an entry page): the thing it is about, a catalogue key and one number for
/// the sentence's placeholder, in a short-lived cookie `{scope}:{key}:{arg}`. Only keys under
/// `NOTE_PREFIXES` are read back, so a planted cookie cannot show other texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub scope: String,
    pub key: String,
    pub arg: i64,
}

/// The catalogue keys a note may name.
const NOTE_PREFIXES: [&str; 3] = ["entry-vote.", "voter.error.", "refusal.vote."];

impl Note {
    pub fn new(scope: impl std::fmt::Display, key: &str, arg: i64) -> Self {
        Self {
            scope: scope.to_string(),
            key: key.to_owned(),
            arg,
        }
    }

    pub fn cookie_value(&self) -> String {
        format!("{}:{}:{}", self.scope, self.key, self.arg)
    }

    pub fn parse(value: &str) -> Option<Self> {
        let mut parts = value.splitn(3, ':');
        let scope = parts.next()?;
        let key = parts.next()?;
        let arg = parts.next()?.parse().ok()?;
        let fine = |s: &str| {
            !s.is_empty()
                && s.len() <= 80
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        (fine(scope) && fine(key) && NOTE_PREFIXES.iter().any(|p| key.starts_with(p)))
            .then(|| Self::new(scope, key, arg))
    }

    /// Whether the note is one of good news (else a refusal or a mistake).
    pub fn is_success(&self) -> bool {
        self.key == "entry-vote.counted"
    }
}

pub fn no_store(mut res: Response) -> Response {
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    res
}

/// A QR code of `url` as an SVG response (entry pages and stream screens show them).
pub fn qr_svg(url: &str) -> Result<Response, qrcode::types::QrError> {
    let svg = qrcode::QrCode::new(url.as_bytes())?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Ok(([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response())
}

#[cfg(test)]
mod tests {
    use super::{PageError, no_store, render_errors, safe_next};
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use axum::response::{IntoResponse, Response};
    use axum::routing::get;
    use axum::{Router, middleware};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    /// One route answering `error`, behind the error layer alone (no database needed).
    async fn answer(
        error: fn() -> Result<Response, PageError>,
        cookie: Option<&str>,
    ) -> (Response, String) {
        let app = Router::new()
            .route(
                "/",
                get(move || async move { error().map_err(|e| no_store(e.into_response())) }),
            )
            .layer(middleware::map_response(render_errors));
        let mut req = Request::get("/");
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let res = app.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
        let (parts, body) = res.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            Response::from_parts(parts, Body::empty()),
            String::from_utf8(body.to_vec()).unwrap(),
        )
    }

    #[tokio::test]
    async fn a_page_error_becomes_the_error_page_in_the_visitors_language() {
        let (res, html) = answer(|| Err(PageError::NotFound), Some("lang=en")).await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert!(html.contains("We could not find that page."), "{html}");
        assert!(
            res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        // What the handler put around the error stays.
        assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");

        let (res, html) = answer(|| Err(PageError::Forbidden), None).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(html.contains("Bạn không có quyền xem trang này."), "{html}");

        let (res, html) = answer(|| Err(anyhow::anyhow!("disk on fire").into()), None).await;
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(!html.contains("disk on fire"), "the cause stays in the log");
    }

    #[tokio::test]
    async fn sign_in_redirects_and_other_responses_pass_untouched() {
        let (res, _) = answer(|| Err(PageError::SignIn), None).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(res.headers()[header::LOCATION], "/login");

        let (res, body) = answer(
            || Ok((StatusCode::NOT_FOUND, "plain").into_response()),
            None,
        )
        .await;
        assert_eq!(res.status(), StatusCode::NOT_FOUND);
        assert_eq!(body, "plain");
    }

    #[test]
    fn next_is_a_same_site_path_without_control_characters() {
        assert_eq!(
            safe_next(Some("/contests/a/vote?x=1")),
            "/contests/a/vote?x=1"
        );
        assert_eq!(safe_next(Some("/đoàn")), "/đoàn");
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil",
            "/a\nLocation: x",
            "/a\r",
            "",
        ] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
