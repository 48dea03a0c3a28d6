//! Live updates: `GET /api/v1/contests/{slug}/events` (SSE) sends the tally, `stage` and
//! `phase` events of a contest as the live hub (`domain::voting::hub`) publishes them;
//! `control` is the organizer's side of it.

pub mod control;

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{self, Stream, StreamExt};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::domain::voting::hub::Update;
use crate::domain::voting::live::{self, LiveSnapshot, totals_hidden};
use crate::domain::voting::refusal::VoteRefusal;
use crate::domain::voting::repo::{self, Tally};
use crate::domain::voting::runtime::Runtime;

/// This part's operations of the JSON API, from their handlers' annotations (the OpenAPI
/// document merges every part's).
#[derive(utoipa::OpenApi)]
#[openapi(paths(events, control::api_get, control::api_change))]
pub(crate) struct ApiDoc;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contests/{slug}/events", get(events))
        .merge(control::router())
}

/// What a client has seen, as the ids of its events say: `{tally version}` while the contest
/// was never live (the form older clients know), else `{tally version}/{live key}`. Events
/// carry the whole pair, so a client that reconnects with `Last-Event-ID` gets again only
/// what changed since.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Seen {
    tally: Option<String>,
    live: Option<String>,
}

impl Seen {
    fn parse(id: &str) -> Self {
        match id.split_once('/') {
            Some((t, l)) => Self {
                tally: (!t.is_empty()).then(|| t.to_owned()),
                live: (!l.is_empty()).then(|| l.to_owned()),
            },
            None => Self {
                tally: (!id.is_empty()).then(|| id.to_owned()),
                live: None,
            },
        }
    }

    fn id(&self) -> String {
        let tally = self.tally.as_deref().unwrap_or("");
        match &self.live {
            None => tally.to_owned(),
            Some(live) => format!("{tally}/{live}"),
        }
    }
}

fn tally_event(tally: &Tally, seen: &Seen) -> Event {
    let data = serde_json::to_string(tally).unwrap_or_else(|_| "{}".to_owned());
    Event::default().event("tally").id(seen.id()).data(data)
}

/// The `stage` and/or `phase` events that bring a client from `before` to `now`.
fn live_events(before: Option<&LiveSnapshot>, now: &LiveSnapshot, seen: &Seen) -> Vec<Event> {
    let mut out = Vec::new();
    let stage_changed = before.is_none_or(|b| {
        (&b.stage, b.live_voting, b.version) != (&now.stage, now.live_voting, now.version)
    });
    if stage_changed {
        out.push(
            Event::default()
                .event("stage")
                .id(seen.id())
                .data(now.stage_json().to_string()),
        );
    }
    if before.is_none_or(|b| (b.phase, b.next_change) != (now.phase, now.next_change)) {
        out.push(
            Event::default()
                .event("phase")
                .id(seen.id())
                .data(now.phase_json().to_string()),
        );
    }
    out
}

/// One client's stream: what it has seen, and events waiting to go out.
struct Conn {
    rx: broadcast::Receiver<Update>,
    shutdown: CancellationToken,
    seen: Seen,
    live: Option<Arc<LiveSnapshot>>,
    hidden: bool,
    pending: VecDeque<Event>,
}

impl Conn {
    async fn next(mut self) -> Option<(Event, Self)> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Some((e, self));
            }
            let got = tokio::select! {
                () = self.shutdown.cancelled() => return None,
                got = self.rx.recv() => got,
            };
            match got {
                Ok(Update::Tally(_)) if self.hidden => {}
                Ok(Update::Tally(tally)) => {
                    self.seen.tally = Some(tally.version.clone());
                    return Some((tally_event(&tally, &self.seen), self));
                }
                Ok(Update::Live(snap)) => {
                    if self.live.as_deref() != Some(&*snap) {
                        self.seen.live = snap.key();
                        let events = live_events(self.live.as_deref(), &snap, &self.seen);
                        self.pending.extend(events);
                        self.live = Some(snap);
                    }
                }
                // Each event is a full snapshot: a skipped one is replaced by the next.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }
}

/// One open live stream in `hoithi_sse_clients`.
struct SseClient;

impl SseClient {
    fn new() -> Self {
        hoithi_core::metrics::METRICS.sse_clients.inc();
        Self
    }
}

impl Drop for SseClient {
    fn drop(&mut self) {
        hoithi_core::metrics::METRICS.sse_clients.dec();
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/events",
    operation_id = "contest_events",
    summary = "text/event-stream: `tally` (the Tally, at most one a second), `stage` ({entry: {id, title} | null, live_voting, version}) and `phase` ({phase, next_change}) events, each a full snapshot. Event ids are `{tally version}` or `{tally version}/{live version}`; reconnect with Last-Event-ID to get only what changed",
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "an event stream", content_type = "text/event-stream"),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
async fn events(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let hub = Runtime::of(&state).ok_or(VoteRefusal::Unavailable)?.hub();
    let contest = repo::contest_by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    let hidden = totals_hidden(&contest.settings, contest.voting_closes_at);
    // A client that reconnects with the id of the snapshots it has gets no copy of them again.
    let mut seen = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| v.len() <= 128)
        .map(Seen::parse)
        .unwrap_or_default();
    let rx = hub.subscribe(contest.contest_id);
    let First { pending, live } =
        first_events(&state, contest.contest_id, hidden, &mut seen).await?;
    let conn = Conn {
        rx,
        shutdown: hub.shutdown().clone(),
        seen,
        live,
        hidden,
        pending,
    };
    let updates = stream::unfold(conn, Conn::next);
    // Counted while the stream lives: the guard drops with the stream when the client goes.
    let open = SseClient::new();
    let events: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(updates.map(move |e| {
            let _ = &open;
            Ok(e)
        }));
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(hub.keep_alive()))
        .into_response();
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // nginx must pass events through as they come.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(response)
}

/// What a new stream starts with: the events of what changed since the client's `seen`, and
/// the live state it now has.
struct First {
    pending: VecDeque<Event>,
    live: Option<Arc<LiveSnapshot>>,
}

async fn first_events(
    state: &AppState,
    contest_id: i64,
    hidden: bool,
    seen: &mut Seen,
) -> sqlx::Result<First> {
    let mut first = VecDeque::new();
    if !hidden {
        let tally = repo::tally(&state.db, contest_id).await?;
        if seen.tally.as_deref() != Some(tally.version.as_str()) {
            seen.tally = Some(tally.version.clone());
            first.push_back(tally_event(&tally, seen));
        }
    }
    let live = live::snapshot(&state.db, contest_id).await?.map(Arc::new);
    if let Some(snap) = &live
        && snap.key().is_some()
        && snap.key() != seen.live
    {
        seen.live = snap.key();
        first.extend(live_events(None, snap, seen));
    }
    Ok(First {
        pending: first,
        live,
    })
}
