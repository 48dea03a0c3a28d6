//! Livestreams of a contest: organizers attach YouTube, Facebook or HLS streams with a
//! schedule (pages and JSON API); the public stream page (player, entry on stage, live vote,
//! live tally), the OBS overlay, the QR screen, the `.ics` calendar and the "live now" banner.

pub mod ics;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;
use serde_json::json;

use crate::domain::access::manages;
use crate::domain::contests::{self, ContestRow};
use crate::domain::streams::repo::{self, NewStream};
pub use crate::domain::streams::repo::{LiveNow, StreamRow, for_contest, live_now};
use crate::domain::streams::source::{self, Platform};
use crate::format::{datetime_local, parse_time};
use crate::live::state::{self as live_state, StageEntry};
use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contests/{slug}/streams/{id}", get(stream_page))
        .route("/contests/{slug}/streams/{id}/overlay", get(overlay_page))
        .route("/contests/{slug}/streams/{id}/screen", get(screen_page))
        .route("/contests/{slug}/streams/{id}/qr.svg", get(qr))
        .route("/contests/{slug}/streams.ics", get(calendar))
        .route(
            "/organize/contests/{slug}/streams",
            get(streams_admin_page).post(create_from_form),
        )
        .route(
            "/organize/contests/{slug}/streams/{id}/delete",
            post(delete_from_form),
        )
        .route(
            "/api/v1/contests/{slug}/streams",
            get(api_list).post(api_create),
        )
        .route("/api/v1/contests/{slug}/streams/{id}", delete(api_delete))
}

/// The longest a scheduled stream may run.
const MAX_DURATION: chrono::Duration = chrono::Duration::days(7);

// ---------- access ----------

/// The contest and the signed-in user, who must organize it (admin, or organizer of its
/// unit or a unit above it).
pub(crate) async fn organizer_page(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
) -> Result<(CurrentUser, ContestRow), PageError> {
    let user = ctx.user.clone().ok_or(PageError::SignIn)?;
    let c = contests::by_slug(&state.db, slug)
        .await?
        .ok_or(PageError::NotFound)?;
    if !manages(&state.db, &user, c.unit_id).await? {
        return Err(PageError::Forbidden);
    }
    Ok((user, c))
}

/// The contest, if `user` organizes it; 404 / 403 otherwise.
pub(crate) async fn organizer_api(
    state: &AppState,
    user: &CurrentUser,
    slug: &str,
) -> Result<ContestRow, ApiError> {
    let c = contest_api(state, slug).await?;
    if !manages(&state.db, user, c.unit_id).await? {
        return Err(ApiError::forbidden(
            "only organizers of the contest's unit manage its streams and live state",
        ));
    }
    Ok(c)
}

pub(crate) async fn contest_api(state: &AppState, slug: &str) -> Result<ContestRow, ApiError> {
    if slug.len() > 63 {
        return Err(ApiError::not_found("the contest"));
    }
    contests::by_slug(&state.db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))
}

async fn contest_page(state: &AppState, slug: &str) -> Result<ContestRow, PageError> {
    if slug.len() > 63 {
        return Err(PageError::NotFound);
    }
    contests::by_slug(&state.db, slug)
        .await?
        .ok_or(PageError::NotFound)
}

async fn stream_of(
    state: &AppState,
    slug: &str,
    id: &str,
) -> Result<(ContestRow, StreamRow), PageError> {
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    let c = contest_page(state, slug).await?;
    let s = repo::by_id(&state.db, c.contest_id, id)
        .await?
        .ok_or(PageError::NotFound)?;
    Ok((c, s))
}

// ---------- validation ----------

/// What an organizer sends for a stream (form fields and JSON alike). Times are RFC 3339 or
/// a local time in Vietnam (what `<input type="datetime-local">` sends).
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

impl StreamInput {
    pub fn validate(&self, now: DateTime<Utc>) -> Result<NewStream, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut err = |field, code| errors.push(FieldError { field, code });
        let title = self.title.trim();
        if title.is_empty() {
            err("title", "stream-title-required");
        } else if title.chars().count() > 200 || title.chars().any(char::is_control) {
            err("title", "stream-title-too-long");
        }
        let source = source::parse(&self.url)
            .map_err(|e| err("url", e.code()))
            .ok();
        let starts = parse_time(&self.starts_at);
        if starts.is_none() {
            err("starts_at", "stream-starts-invalid");
        }
        let ends = parse_time(&self.ends_at);
        if ends.is_none() {
            err("ends_at", "stream-ends-invalid");
        }
        if let (Some(s), Some(e)) = (starts, ends) {
            if e <= s {
                err("ends_at", "stream-ends-before-starts");
            } else if e - s > MAX_DURATION {
                err("ends_at", "stream-too-long");
            } else if e <= now {
                err("ends_at", "stream-ended");
            }
        }
        match (source, starts, ends) {
            (Some(source), Some(starts_at), Some(ends_at)) if errors.is_empty() => Ok(NewStream {
                title: title.to_owned(),
                source,
                starts_at,
                ends_at,
            }),
            _ => Err(errors),
        }
    }
}

fn field_message(code: &str) -> &'static str {
    match code {
        "stream-title-required" => "give the stream a title",
        "stream-title-too-long" => "the title has at most 200 characters and no control characters",
        "stream-starts-invalid" => "starts_at is not a time",
        "stream-ends-invalid" => "ends_at is not a time",
        "stream-ends-before-starts" => "ends_at must be after starts_at",
        "stream-too-long" => "a stream lasts at most 7 days",
        "stream-ended" => "ends_at is in the past",
        _ => "the stream URL is not accepted",
    }
}

fn url_message(code: &str) -> &'static str {
    [
        source::SourceError::Required,
        source::SourceError::TooLong,
        source::SourceError::Invalid,
        source::SourceError::NotHttps,
        source::SourceError::Credentials,
        source::SourceError::Port,
        source::SourceError::PrivateHost,
        source::SourceError::YouTubeId,
        source::SourceError::FacebookVideo,
        source::SourceError::ShortLink,
        source::SourceError::Unsupported,
    ]
    .into_iter()
    .find(|e| e.code() == code)
    .map_or_else(|| field_message(code), source::SourceError::message)
}

// ---------- CSP ----------

/// The site's policy with exactly what this stream needs: its embed origin as `frame-src`,
/// or its HLS host for media and fetches (hls.js loads playlists and segments with fetch).
pub fn csp_for(platform: Platform, embed: &str) -> String {
    let mut directives: Vec<(String, String)> = crate::security::CSP
        .split(';')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| match d.split_once(' ') {
            Some((k, v)) => (k.to_owned(), v.to_owned()),
            None => (d.to_owned(), String::new()),
        })
        .collect();
    let mut set = |name: &str, value: String| match directives.iter_mut().find(|(k, _)| k == name) {
        Some(d) => d.1 = value,
        None => directives.push((name.to_owned(), value)),
    };
    match (platform, source::csp_origin(platform, embed)) {
        (Platform::YouTube | Platform::Facebook, Some(origin)) => set("frame-src", origin),
        (Platform::Hls, Some(origin)) => {
            set("media-src", format!("'self' blob: {origin}"));
            set("connect-src", format!("'self' {origin}"));
        }
        _ => {}
    }
    directives
        .into_iter()
        .map(|(k, v)| if v.is_empty() { k } else { format!("{k} {v}") })
        .collect::<Vec<_>>()
        .join("; ")
}

fn with_csp(mut res: Response, s: &StreamRow) -> Response {
    if let Ok(v) = HeaderValue::from_str(&csp_for(s.platform(), &s.embed_url)) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
    }
    res
}

// ---------- JSON API ----------

fn stream_json(slug: &str, s: &StreamRow) -> serde_json::Value {
    let page = format!("/contests/{slug}/streams/{}", s.contest_stream_id);
    json!({
        "id": s.contest_stream_id,
        "title": s.title,
        "platform": s.platform,
        "url": s.source_url,
        "embed_url": s.embed_url,
        "starts_at": s.starts_at,
        "ends_at": s.ends_at,
        "live": s.is_live(),
        "page_url": page,
        "overlay_url": format!("{page}/overlay"),
        "screen_url": format!("{page}/screen"),
    })
}

async fn api_list(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let c = contest_api(&state, &slug).await?;
    let rows = repo::for_contest(&state.db, c.contest_id).await?;
    Ok(Json(json!({
        "streams": rows.iter().map(|s| stream_json(&c.slug, s)).collect::<Vec<_>>(),
        "calendar_url": format!("/contests/{}/streams.ics", c.slug),
    })))
}

fn field_errors(errors: &[FieldError]) -> Response {
    let first = errors[0];
    let fields: Vec<_> = errors
        .iter()
        .map(|e| json!({"field": e.field, "code": e.code}))
        .collect();
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Json(json!({"error": {
            "code": first.code,
            "message": format!("{}: {}", first.field, url_message(first.code)),
            "fields": fields,
        }})),
    )
        .into_response()
}

async fn api_create(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let c = organizer_api(&state, &user, &slug).await?;
    let input: StreamInput = serde_json::from_slice(&body).map_err(|e| {
        ApiError::invalid("invalid-body", format!("the JSON body is not valid: {e}"))
    })?;
    match input.validate(Utc::now()) {
        Ok(new) => {
            let row = repo::insert(&state.db, c.contest_id, &new, user.app_user_id).await?;
            tracing::info!(contest = %c.slug, stream = row.contest_stream_id, platform = %row.platform, "stream added");
            Ok((StatusCode::CREATED, Json(stream_json(&c.slug, &row))).into_response())
        }
        Err(errors) => Ok(field_errors(&errors)),
    }
}

async fn api_delete(
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let c = organizer_api(&state, &user, &slug).await?;
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("the stream"))?;
    if !repo::delete(&state.db, c.contest_id, id).await? {
        return Err(ApiError::not_found("the stream"));
    }
    tracing::info!(contest = %c.slug, stream = id, "stream removed");
    Ok(StatusCode::NO_CONTENT.into_response())
}

// ---------- organizer pages ----------

#[derive(Template)]
#[template(path = "streams/manage.html")]
struct StreamsAdminPage {
    page: Page,
    c: ContestRow,
    streams: Vec<StreamRow>,
    form: StreamInput,
    errors: Vec<(&'static str, String)>,
}

impl StreamsAdminPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
}

async fn streams_admin(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    status: StatusCode,
    form: StreamInput,
    errors: Vec<(&'static str, String)>,
) -> Result<Response, PageError> {
    let (_, c) = organizer_page(state, ctx, slug).await?;
    let streams = repo::for_contest(&state.db, c.contest_id).await?;
    let mut page = ctx.page("streams.manage.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(render(
        status,
        &StreamsAdminPage {
            page,
            c,
            streams,
            form,
            errors,
        },
    ))
}

async fn streams_admin_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let now = Utc::now();
    let form = StreamInput {
        starts_at: datetime_local(&(now + chrono::Duration::hours(1))),
        ends_at: datetime_local(&(now + chrono::Duration::hours(3))),
        ..StreamInput::default()
    };
    streams_admin(&state, &ctx, &slug, StatusCode::OK, form, vec![]).await
}

#[derive(Debug, Deserialize)]
struct StreamFormFields {
    #[serde(default)]
    title: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    starts_at: String,
    #[serde(default)]
    ends_at: String,
}

async fn create_from_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(fields): Form<StreamFormFields>,
) -> Result<Response, PageError> {
    let (user, c) = organizer_page(&state, &ctx, &slug).await?;
    let input = StreamInput {
        title: fields.title,
        url: fields.url,
        starts_at: fields.starts_at,
        ends_at: fields.ends_at,
    };
    match input.validate(Utc::now()) {
        Ok(new) => {
            let row = repo::insert(&state.db, c.contest_id, &new, user.app_user_id).await?;
            tracing::info!(contest = %c.slug, stream = row.contest_stream_id, "stream added");
            Ok(Redirect::to(&format!("/organize/contests/{slug}/streams")).into_response())
        }
        Err(errors) => {
            let errors = errors
                .into_iter()
                .map(|e| {
                    (
                        e.field,
                        ctx.t(&format!("streams.error.{}", e.code)).to_owned(),
                    )
                })
                .collect();
            streams_admin(
                &state,
                &ctx,
                &slug,
                StatusCode::UNPROCESSABLE_ENTITY,
                input,
                errors,
            )
            .await
        }
    }
}

async fn delete_from_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (_, c) = organizer_page(&state, &ctx, &slug).await?;
    let id: i64 = id.parse().map_err(|_| PageError::NotFound)?;
    if !repo::delete(&state.db, c.contest_id, id).await? {
        return Err(PageError::NotFound);
    }
    tracing::info!(contest = %c.slug, stream = id, "stream removed");
    Ok(Redirect::to(&format!("/organize/contests/{slug}/streams")).into_response())
}

// ---------- public pages ----------

/// What the stream page, the overlay and the screen show of the live state at render time;
/// `web/static/js/live.js` keeps it current from the event stream.
pub(crate) struct LiveView {
    pub stage: Option<StageEntry>,
    pub live_voting: bool,
    /// The on-stage entry's votes; `None` while the contest hides its totals.
    pub votes: Option<i64>,
    pub hidden: bool,
}

impl LiveView {
    pub fn stage_id(&self) -> String {
        self.stage
            .as_ref()
            .map(|s| s.id.to_string())
            .unwrap_or_default()
    }

    pub fn stage_title(&self) -> &str {
        self.stage.as_ref().map_or("", |s| s.title.as_str())
    }

    pub fn votes_text(&self) -> String {
        self.votes.map(|v| v.to_string()).unwrap_or_default()
    }
}

/// A stream page's contest, stream and live state.
async fn live_page(
    state: &AppState,
    slug: &str,
    id: &str,
) -> Result<(ContestRow, StreamRow, LiveView), PageError> {
    let (c, s) = stream_of(state, slug, id).await?;
    let live = live_view(state, &c).await?;
    Ok((c, s, live))
}

pub(crate) async fn live_view(state: &AppState, c: &ContestRow) -> Result<LiveView, PageError> {
    let snap = live_state::snapshot(&state.db, c.contest_id).await?;
    let (stage, live_voting) = snap.map_or((None, false), |s| (s.stage, s.live_voting));
    let hidden = crate::live::totals_hidden(&c.settings, c.voting_closes_at);
    let votes = match (&stage, hidden) {
        (Some(st), false) => Some(
            crate::domain::voting::repo::tally(&state.db, c.contest_id)
                .await?
                .entries
                .iter()
                .find(|e| e.id == st.id)
                .map_or(0, |e| e.votes),
        ),
        _ => None,
    };
    Ok(LiveView {
        stage,
        live_voting,
        votes,
        hidden,
    })
}

#[derive(Template)]
#[template(path = "streams/stream.html")]
struct StreamPage {
    page: Page,
    c: ContestRow,
    s: StreamRow,
    live: LiveView,
    others: Vec<StreamRow>,
    can_control: bool,
    login_href: String,
}

async fn stream_page(
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    State(state): State<AppState>,
) -> Result<Response, PageError> {
    let (c, s, live) = live_page(&state, &slug, &id).await?;
    let others = repo::for_contest(&state.db, c.contest_id)
        .await?
        .into_iter()
        .filter(|o| o.contest_stream_id != s.contest_stream_id && o.ends_at > Utc::now())
        .collect();
    let can_control = match &ctx.user {
        Some(u) => manages(&state.db, u, c.unit_id).await?,
        None => false,
    };
    let mut page = ctx.page("streams.title");
    page.title = format!("{} · {}", s.title, c.title);
    let login_href = format!(
        "/login?next=/contests/{}/streams/{}",
        c.slug, s.contest_stream_id
    );
    let res = render(
        StatusCode::OK,
        &StreamPage {
            page,
            live,
            others,
            can_control,
            login_href,
            c,
            s: s.clone(),
        },
    );
    Ok(with_csp(res, &s))
}

#[derive(Template)]
#[template(path = "streams/overlay.html")]
struct OverlayPage {
    page: Page,
    c: ContestRow,
    live: LiveView,
}

/// For OBS as a browser source: transparent, big, no interaction; updated by the events.
async fn overlay_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (c, s, live) = live_page(&state, &slug, &id).await?;
    let mut page = ctx.page("streams.overlay.title");
    page.title.clone_from(&s.title);
    Ok(render(StatusCode::OK, &OverlayPage { page, c, live }))
}

#[derive(Template)]
#[template(path = "streams/screen.html")]
struct ScreenPage {
    page: Page,
    c: ContestRow,
    s: StreamRow,
    live: LiveView,
    url: String,
}

/// For a hall's screen or a stream's scene: the QR code to the vote page, large.
async fn screen_page(
    headers: HeaderMap,
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (c, s, live) = live_page(&state, &slug, &id).await?;
    let url = stream_url(&state, &headers, &c, &s);
    let mut page = ctx.page("streams.screen.title");
    page.title.clone_from(&s.title);
    Ok(render(
        StatusCode::OK,
        &ScreenPage {
            page,
            c,
            s,
            live,
            url,
        },
    ))
}

fn stream_url(state: &AppState, headers: &HeaderMap, c: &ContestRow, s: &StreamRow) -> String {
    format!(
        "{}/contests/{}/streams/{}",
        crate::mail::base_url(state, headers),
        c.slug,
        s.contest_stream_id
    )
}

async fn qr(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let (c, s) = stream_of(&state, &slug, &id).await?;
    crate::page::qr_svg(&stream_url(&state, &headers, &c, &s))
        .map_err(|e| PageError::Internal(anyhow::anyhow!("QR code: {e}")))
}

/// The contest's streams that have not ended, as an iCalendar file.
async fn calendar(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = contest_page(&state, &slug).await?;
    let rows = repo::upcoming(&state.db, c.contest_id).await?;
    let base = crate::mail::base_url(&state, &headers);
    let host = base
        .split_once("://")
        .map_or(base.as_str(), |(_, h)| h)
        .to_owned();
    let urls: Vec<String> = rows
        .iter()
        .map(|s| format!("{base}/contests/{}/streams/{}", c.slug, s.contest_stream_id))
        .collect();
    let events: Vec<ics::Event<'_>> = rows
        .iter()
        .zip(&urls)
        .map(|(s, url)| ics::Event {
            uid: format!("stream-{}@{host}", s.contest_stream_id),
            title: &s.title,
            description: &c.title,
            url,
            starts_at: s.starts_at,
            ends_at: s.ends_at,
            updated_at: s.updated_at,
        })
        .collect();
    let body = ics::calendar(&c.title, &events);
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_owned(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.ics\"", c.slug),
            ),
        ],
        body,
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csp_of_a_stream_page_allows_exactly_its_embed_origin() {
        let yt = csp_for(
            Platform::YouTube,
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
        );
        assert!(
            yt.ends_with("; frame-src https://www.youtube-nocookie.com"),
            "{yt}"
        );
        assert!(yt.contains("connect-src 'self';"), "{yt}");
        assert!(yt.contains("frame-ancestors 'none'"), "{yt}");
        let fb = csp_for(
            Platform::Facebook,
            "https://www.facebook.com/plugins/video.php?href=x",
        );
        assert!(fb.ends_with("; frame-src https://www.facebook.com"), "{fb}");
        let hls = csp_for(Platform::Hls, "https://cdn.example.vn/live/a.m3u8?t=1");
        assert!(
            hls.contains("media-src 'self' blob: https://cdn.example.vn;"),
            "{hls}"
        );
        assert!(
            hls.contains("connect-src 'self' https://cdn.example.vn;"),
            "{hls}"
        );
        assert!(!hls.contains("frame-src"), "{hls}");
        assert!(hls.contains("worker-src 'self' blob:"), "{hls}");
    }

    #[test]
    fn a_stream_needs_a_title_a_good_url_and_a_sane_schedule() {
        let now = Utc::now();
        let input = |title: &str, url: &str, s: &str, e: &str| StreamInput {
            title: title.into(),
            url: url.into(),
            starts_at: s.into(),
            ends_at: e.into(),
        };
        let ok = input(
            "  Đêm chung kết ",
            "https://youtu.be/dQw4w9WgXcQ",
            "2099-12-01T19:00",
            "2099-12-01T21:30",
        )
        .validate(now)
        .unwrap();
        assert_eq!(ok.title, "Đêm chung kết");
        assert_eq!(ok.starts_at.to_rfc3339(), "2099-12-01T12:00:00+00:00");
        let codes = |i: StreamInput| -> Vec<&'static str> {
            i.validate(now)
                .unwrap_err()
                .iter()
                .map(|e| e.code)
                .collect()
        };
        assert_eq!(
            codes(input("", "javascript:alert(1)", "mai", "")),
            [
                "stream-title-required",
                "stream-url-not-https",
                "stream-starts-invalid",
                "stream-ends-invalid"
            ]
        );
        assert_eq!(
            codes(input(
                "x\u{7}",
                "https://youtu.be/dQw4w9WgXcQ",
                "2099-12-01T19:00",
                "2099-12-01T18:00"
            )),
            ["stream-title-too-long", "stream-ends-before-starts"]
        );
        assert_eq!(
            codes(input(
                "x",
                "https://youtu.be/dQw4w9WgXcQ",
                "2099-12-01T19:00",
                "2099-12-09T19:00"
            )),
            ["stream-too-long"]
        );
        assert_eq!(
            codes(input(
                "x",
                "https://youtu.be/dQw4w9WgXcQ",
                "2020-12-01T19:00",
                "2020-12-01T20:00"
            )),
            ["stream-ended"]
        );
    }
}
