//! The home page: contests taking entries, in voting, and live now; and the language switch.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::i18n::Lang;

use crate::domain::contests::{ContestRow, Phase, all};
use crate::domain::streams::repo::{LiveNow, live_now};
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    page: Page,
    open: Vec<ContestRow>,
    voting: Vec<ContestRow>,
    upcoming: Vec<ContestRow>,
    live_now: Vec<LiveNow>,
}

pub async fn home(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let rows = all(&state.db).await?;
    let (mut open, mut voting, mut upcoming) = (Vec::new(), Vec::new(), Vec::new());
    for c in rows {
        match c.phase() {
            Phase::Submission => open.push(c),
            Phase::Voting => voting.push(c),
            Phase::Upcoming => upcoming.push(c),
            _ => {}
        }
    }
    let live_now = live_now(&state.db, None).await?;
    Ok(render(
        StatusCode::OK,
        &HomePage {
            page: ctx.page("home.title"),
            open,
            voting,
            upcoming,
            live_now,
        },
    ))
}

/// Stores the chosen language in a cookie for a year and goes back to where the visitor was.
pub async fn switch_language(Path(code): Path<String>, headers: HeaderMap) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    // Only a same-site path is followed back, never an absolute URL from the header.
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.split_once("://").map(|(_, rest)| rest))
        .and_then(|rest| rest.find('/').map(|i| &rest[i..]))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or("/")
        .to_owned();
    let cookie = format!(
        "lang={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang.code()
    );
    ([(header::SET_COOKIE, cookie)], Redirect::to(&back)).into_response()
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    async fn get(uri: &str, cookie: Option<&str>) -> (StatusCode, String) {
        let env = hoithi_core::testing::TestEnv::new().await;
        let mut req = Request::get(uri);
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        let res = crate::app(env.state())
            .oneshot(req.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = res.status();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        (status, String::from_utf8(body.to_vec()).unwrap())
    }

    use super::*;

    #[tokio::test]
    async fn the_home_page_speaks_vietnamese_by_default_and_links_its_stylesheet() {
        let (status, html) = get("/", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains(r#"<html lang="vi""#), "{html}");
        assert!(html.contains("Các hội thi"), "{html}");
        assert!(html.contains("/static/css/site.css"), "{html}");
    }

    #[tokio::test]
    async fn the_language_cookie_switches_the_page_to_english() {
        let (_, html) = get("/", Some("theme=x; lang=en")).await;
        assert!(html.contains(r#"<html lang="en""#), "{html}");
        assert!(html.contains("Contests"), "{html}");
    }

    #[tokio::test]
    async fn an_unknown_path_gets_a_vietnamese_404_page() {
        let (status, html) = get("/khong-co", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(html.contains("Không tìm thấy"), "{html}");
    }

    #[tokio::test]
    async fn switching_language_never_redirects_off_site() {
        let env = hoithi_core::testing::TestEnv::new().await;
        let req = Request::get("/lang/en")
            .header(header::REFERER, "https://evil.example//attacker.example/x")
            .body(Body::empty())
            .unwrap();
        let res = crate::app(env.state()).oneshot(req).await.unwrap();
        assert_eq!(res.headers()[header::LOCATION], "/");
        assert!(
            res.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("lang=en;")
        );
    }
}
