//! What every page shares: the language of the request, the layout's texts, and the
//! wrapper that turns an askama template into a response.

use askama::Template;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use hoithi_core::i18n::{self, Lang};

/// The language of a request: the `lang` cookie a visitor chose, else Vietnamese.
#[derive(Debug, Clone, Copy)]
pub struct PageLang(pub Lang);

impl<S: Send + Sync> FromRequestParts<S> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let lang = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix("lang="))
            .find_map(Lang::parse)
            .unwrap_or_default();
        Ok(Self(lang))
    }
}

/// Context of the layout, passed to every page template as `page`.
pub struct Page {
    pub lang: Lang,
    pub title: String,
}

impl Page {
    pub fn new(lang: Lang, title_key: &str) -> Self {
        Self {
            lang,
            title: i18n::text(lang, title_key).to_owned(),
        }
    }

    /// The text for `key` in the page's language.
    pub fn t<'a>(&self, key: &'a str) -> &'a str {
        i18n::text(self.lang, key)
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    pub fn other_lang_code(&self) -> &'static str {
        self.lang.other().code()
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

pub async fn not_found(PageLang(lang): PageLang) -> Response {
    let page = Page::new(lang, "error.not-found");
    let message = page.t("error.not-found").to_owned();
    render(StatusCode::NOT_FOUND, &ErrorPage { page, message })
}
