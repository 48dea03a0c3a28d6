//! Showing entries: the entry page (public once approved; its author and the organizers see
//! it before), its QR code, and a member's own entries.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;
use hoithi_core::contest::EntryStatus;
use uuid::Uuid;

use crate::access::author::SignedIn;
use crate::domain::contests::ContestRow;
use crate::domain::entries::gallery::BadCursor;
use crate::domain::entries::lifecycle::author_may_change;
use crate::domain::entries::media::{self, MediaView};
use crate::domain::entries::revision::{self, RevisionRow};
use crate::domain::entries::{Access, EntryRow, author, lists, visible_entry};
use crate::page::{Ctx, Page, PageError, qr_svg, render};

#[derive(Template)]
#[template(path = "entries/entry.html")]
struct EntryPage {
    page: Page,
    e: EntryRow,
    c: ContestRow,
    media: Vec<MediaView>,
    access: &'static str,
    can_edit: bool,
    can_upload: bool,
    show_author: bool,
    processing: bool,
    url: String,
    /// The latest edit that waits for review or was refused (author and organizers only).
    revision: Option<RevisionRow>,
}

/// The edit of `id` its viewer may see: a proposed edit is not public, only its author and
/// the organizers see it.
pub async fn visible_revision(
    db: &sqlx::PgPool,
    access: Access,
    id: Uuid,
) -> sqlx::Result<Option<RevisionRow>> {
    match access {
        Access::Public => Ok(None),
        Access::Author | Access::Organizer => revision::latest(db, id).await,
    }
}

/// The layout's share tags (Open Graph, Twitter card) of an entry.
fn share_meta(e: &EntryRow, media: &[MediaView], base: &str, url: &str) -> Vec<(String, String)> {
    let mut meta = vec![
        ("og:type".into(), "article".into()),
        ("og:title".into(), e.title.clone()),
        (
            "og:description".into(),
            e.description.chars().take(200).collect(),
        ),
        ("og:url".into(), url.to_owned()),
        ("twitter:card".into(), "summary_large_image".into()),
        ("twitter:title".into(), e.title.clone()),
    ];
    if let Some(img) = media.iter().find_map(|m| m.largest().map(str::to_owned)) {
        meta.push(("og:image".into(), format!("{base}{img}")));
        meta.push(("twitter:image".into(), format!("{base}{img}")));
    }
    meta
}

pub async fn entry_page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let (e, c, access) = visible_entry(&state.db, ctx.user.as_ref(), id)
        .await?
        .ok_or(PageError::NotFound)?;
    let media = media::for_entry(&state.db, id).await?;
    let show_author = author::may_see_author(&state.db, ctx.user.as_ref(), &c, &e).await?;
    let revision = visible_revision(&state.db, access, id).await?;
    let base = crate::mail::base_url(&state, &headers);
    let url = format!("{base}/entries/{id}");
    let mut page = ctx.page("entry.title");
    page.title.clone_from(&e.title);
    page.meta = share_meta(&e, &media, &base, &url);
    let processing = matches!(e.status, EntryStatus::Uploading | EntryStatus::Processing)
        || media.iter().any(|m| m.status == "processing");
    let can_edit = access == Access::Author && author_may_change(&e, &c);
    Ok(render(
        StatusCode::OK,
        &EntryPage {
            page,
            can_edit,
            // The upload service takes files only for a draft (or one whose upload is
            // under way); once processed, a link would lead to a refusal.
            can_upload: can_edit && matches!(e.status, EntryStatus::Draft | EntryStatus::Uploading),
            show_author,
            revision,
            access: match access {
                Access::Public => "public",
                Access::Author => "author",
                Access::Organizer => "organizer",
            },
            processing,
            media,
            url,
            e,
            c,
        },
    ))
}

/// A QR code of the entry's public address, as SVG, to print for events.
pub async fn qr(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    // A hidden entry is a bare 404, as an image that does not exist would be.
    if visible_entry(&state.db, ctx.user.as_ref(), id)
        .await?
        .is_none()
    {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let url = format!("{}/entries/{id}", crate::mail::base_url(&state, &headers));
    qr_svg(&url).map_err(|e| PageError::Internal(anyhow::anyhow!("QR code: {e}")))
}

#[derive(Template)]
#[template(path = "entries/mine.html")]
struct MinePage {
    page: Page,
    /// Each entry with its contest's slug and title.
    entries: Vec<(EntryRow, String, String)>,
    /// Entries with an edit waiting for review.
    awaiting: Vec<Uuid>,
    /// `?after=…` of the next page, when there is one.
    next: Option<String>,
}

impl MinePage {
    fn awaits(&self, id: &Uuid) -> bool {
        self.awaiting.contains(id)
    }
}

pub async fn my_entries(
    State(state): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Query(page_at): Query<super::review::After>,
) -> Result<Response, PageError> {
    let after = match page_at.after() {
        "" => None,
        s => Some(lists::OwnCursor::parse(s).ok_or(BadCursor)?),
    };
    let (own, next) = lists::by_author(&state.db, user.app_user_id, after).await?;
    let entries = own
        .into_iter()
        .map(|o| (o.entry, o.contest_slug, o.contest_title))
        .collect();
    let next = next.map(|n| format!("after={}", n.encode()));
    let awaiting = lists::with_pending_edit(&state.db, user.app_user_id).await?;
    Ok(render(
        StatusCode::OK,
        &MinePage {
            page: ctx.page("entry.mine.title"),
            entries,
            next,
            awaiting,
        },
    ))
}
