//! The review on the web: an organizer approves or rejects an entry, or an edit of a public
//! entry (pages and API share `decide`, which also queues the author's mail in the same
//! transaction), and the moderation queue: the list of what waits for it.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::contest::EntryStatus;
use serde::Deserialize;

use crate::access::OrganizerOf;
use crate::access::author::{OnEntry, ReviewerOf, Staff};
use crate::domain::contests::ContestRow;
use crate::domain::entries::gallery::BadCursor;
use crate::domain::entries::media::MediaView;
use crate::domain::entries::refusal::EntryError;
use crate::domain::entries::review::{self, Decision};
use crate::domain::entries::revision::{self, RevisionRow};
use crate::domain::entries::{EntryRow, lists};
use crate::page::{Ctx, Page, PageError, render};

/// A decision as the form and the API send it.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReviewBody {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    /// What the reviewer read: the entry's `text_digest`, or the id of the edit. Optional in
    /// the API, always sent by the pages.
    #[serde(default)]
    pub seen: Option<String>,
}

fn entry_link(state: &AppState, headers: &HeaderMap, e: &EntryRow) -> String {
    format!(
        "{}/entries/{}",
        crate::mail::base_url(state, headers),
        e.entry_id
    )
}

/// Which review a route decides: of the entry itself, or of the edit waiting on it (the
/// handlers are generic over it, `review_form::<ENTRY>`).
pub const ENTRY: bool = false;
pub const EDIT: bool = true;

/// What a review decided.
pub enum Decided {
    /// The entry's new status.
    Entry(EntryStatus),
    /// The decided edit.
    Edit(RevisionRow),
}

/// Approves or rejects the entry (the author is mailed either way) or, with `edit`, its
/// waiting edit (a refused edit is mailed).
pub async fn decide(
    state: &AppState,
    headers: &HeaderMap,
    r: &OnEntry,
    body: &ReviewBody,
    edit: bool,
) -> Result<Decided, EntryError> {
    let decision = Decision::parse(&body.decision, &body.reason)?;
    let (e, c) = (&r.entry, &r.contest);
    let seen = body.seen.as_deref();
    let link = entry_link(state, headers, e);
    let mut tx = state.db.begin().await?;
    let (decided, notice) = if edit {
        let row =
            revision::decide(&mut tx, r.user.app_user_id, e.entry_id, &decision, seen).await?;
        let notice = match &decision {
            Decision::Reject(reason) => Some(review::edit_rejected_notice(e, c, reason, &link)),
            Decision::Approve => None,
        };
        (Decided::Edit(row), notice)
    } else {
        let status = review::decide(&mut tx, e.entry_id, &decision, seen).await?;
        let notice = review::decision_notice(e, c, &decision, &link);
        (Decided::Entry(status), Some(notice))
    };
    if let Some(n) = notice {
        crate::mail::queue(&mut *tx, &e.author_email, n.kind, n.subject, &n.body).await?;
    }
    tx.commit().await?;
    Ok(decided)
}

/// The review form of the entry page and the moderation queue; back to the queue after.
pub async fn review_form<const OF_EDIT: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    ReviewerOf(r): ReviewerOf,
    Form(form): Form<ReviewBody>,
) -> Result<Response, PageError> {
    decide(&state, &headers, &r, &form, OF_EDIT).await?;
    let queue = format!("/organize/contests/{}/queue?saved=review", r.contest.slug);
    Ok(Redirect::to(&queue).into_response())
}

#[derive(Template)]
#[template(path = "entries/moderation_queue.html")]
struct ModerationQueuePage {
    page: Page,
    c: ContestRow,
    /// Entries waiting for review, with their media.
    entries: Vec<(EntryRow, Vec<MediaView>)>,
    /// `?after=…` of the next page of the queue, when there is one.
    next: Option<String>,
    /// Edits of public entries waiting for review: the entry (its reviewed text) and the edit.
    edits: Vec<(EntryRow, RevisionRow)>,
}

/// `?after=` of a list's later page.
#[derive(Debug, Default, serde::Deserialize)]
pub struct After {
    #[serde(default)]
    after: String,
}

impl After {
    pub fn after(&self) -> &str {
        self.after.trim()
    }
}

/// The moderation queue of a contest, a page at a time. Members and judges get 403 (organizer pages are not
/// theirs, `Staff`); an organizer of another unit gets 404 (`OrganizerOf`).
pub async fn moderation_queue(
    State(state): State<AppState>,
    ctx: Ctx,
    _: Staff,
    OrganizerOf { contest: c, .. }: OrganizerOf,
    Query(page_at): Query<After>,
) -> Result<Response, PageError> {
    let after = match page_at.after() {
        "" => None,
        s => Some(s.parse::<i32>().ok().filter(|n| *n > 0).ok_or(BadCursor)?),
    };
    let (queued, next) = lists::awaiting_review(&state.db, c.contest_id, after).await?;
    let entries = queued.into_iter().map(|q| (q.entry, q.media)).collect();
    let next = next.map(|n| format!("after={n}"));
    let edits = revision::pending_in_contest(&state.db, c.contest_id)
        .await?
        .into_iter()
        .map(|p| (p.entry, p.edit))
        .collect();
    let mut page = ctx.page("moderation.title");
    page.title = format!("{} · {}", page.t("moderation.title"), c.title);
    Ok(render(
        StatusCode::OK,
        &ModerationQueuePage {
            page,
            c,
            entries,
            next,
            edits,
        },
    ))
}
