//! Showing entries: the entry page (public once approved; its author and the organizers see
//! it before), its QR code, and a member's own entries.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;
use hoithi_core::contest::EntryStatus;
use uuid::Uuid;

use super::vote_panel::VotePanel;
use crate::access::author::SignedIn;
use crate::domain::contests::ContestRow;
use crate::domain::entries::gallery::BadCursor;
use crate::domain::entries::lifecycle::{author_may_change, results_published};
use crate::domain::entries::media::{self, MediaView};
use crate::domain::entries::revision::{self, RevisionRow};
use crate::domain::entries::team::{self, Member};
use crate::domain::entries::{Access, EntryRow, author, lists, visible_entry};
use crate::domain::judging::feedback::{self, Feedback};
use crate::page::{Ctx, Page, PageError, no_store, qr_svg, render};
use crate::security::cookies::vote_note_cookie_name;

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
    /// Approved: shown to everyone, so it has share buttons and its vote panel.
    public: bool,
    vote: Option<VotePanel>,
    /// The author may withdraw it (a link to the confirm step, apart from "edit").
    can_withdraw: bool,
    /// The author may bring it back (withdrawn, results not published).
    can_restore: bool,
    /// The judges' comments to the author, once results are published (the author only).
    feedback: Vec<Feedback>,
    /// The author has a certificate of this contest to download.
    certificate: bool,
    /// A team entry's members, where the author may be seen.
    members: Vec<Member>,
    /// "Bộ ảnh · 5 ảnh" for a photo series (its photos not failed); empty otherwise.
    series_label: String,
}

/// The page of an entry its visitor may not see (withdrawn, refused, waiting for review, or
/// no such entry): a 404 that says so and leads to the contest, without the entry's title or
/// media.
#[derive(Template)]
#[template(path = "entries/hidden.html")]
struct HiddenPage {
    page: Page,
    /// The contest of an entry that exists.
    contest: Option<(String, String)>,
}

async fn hidden_page(state: &AppState, ctx: &Ctx, id: Option<Uuid>) -> Result<Response, PageError> {
    let contest = match id {
        Some(id) => match crate::domain::entries::entry(&state.db, id).await? {
            Some(e) => crate::domain::contests::by_id(&state.db, e.contest_id)
                .await?
                .map(|c| (c.slug, c.title)),
            None => None,
        },
        None => None,
    };
    Ok(no_store(render(
        StatusCode::NOT_FOUND,
        &HiddenPage {
            page: ctx.page("entry.hidden.title"),
            contest,
        },
    )))
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
    if let Some(img) = media.iter().find_map(share_image) {
        meta.push(("og:image".into(), format!("{base}{img}")));
        meta.push(("twitter:image".into(), format!("{base}{img}")));
    }
    meta
}

/// The picture a shared link shows: a video's poster, or the photo's rendition closest to
/// 1280 px wide (the widest below it, else the narrowest above).
fn share_image(m: &MediaView) -> Option<String> {
    if !m.is_ready() {
        return None;
    }
    if let Some(p) = &m.poster_url {
        return Some(p.clone());
    }
    let below = m
        .images
        .iter()
        .filter(|i| i.width <= 1280)
        .max_by_key(|i| i.width);
    let above = m
        .images
        .iter()
        .filter(|i| i.width > 1280)
        .min_by_key(|i| i.width);
    below.or(above).map(|i| i.url.clone())
}

pub async fn entry_page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let Ok(id) = Uuid::parse_str(&id) else {
        return hidden_page(&state, &ctx, None).await;
    };
    let Some((mut e, c, access)) = visible_entry(&state.db, ctx.user.as_ref(), id).await? else {
        return hidden_page(&state, &ctx, Some(id)).await;
    };
    let public = e.status == EntryStatus::Approved;
    // A child's name is shortened for everyone but the child and the organizers.
    if access == Access::Public {
        e.author_name = e.public_author_name();
    }
    let media = media::for_entry(&state.db, id).await?;
    let show_author = author::may_see_author(&state.db, ctx.user.as_ref(), &c, &e).await?;
    let revision = visible_revision(&state.db, access, id).await?;
    let members = if e.team_name.is_some() && show_author {
        team::members(&state.db, id).await?
    } else {
        Vec::new()
    };
    let series_label = if e.photo_series {
        let n = media.iter().filter(|m| m.status != "failed").count();
        ctx.t("series.count").replace("{n}", &n.to_string())
    } else {
        String::new()
    };
    let base = crate::mail::base_url(&state, &headers);
    let url = format!("{base}/entries/{id}");
    let mut page = ctx.page("entry.title");
    page.title.clone_from(&e.title);
    if public {
        page.meta = share_meta(&e, &media, &base, &url);
    }
    let (vote, had_note) = if public {
        let (panel, had_note) =
            VotePanel::load(&state, &headers, ctx.user.as_ref(), ctx.lang, &e, &c).await?;
        (Some(panel), had_note)
    } else {
        (None, false)
    };
    let processing = matches!(e.status, EntryStatus::Uploading | EntryStatus::Processing)
        || media.iter().any(|m| m.status == "processing");
    let can_edit = access == Access::Author && author_may_change(&e, &c);
    let (can_withdraw, can_restore, feedback) = if access == Access::Author {
        let published = results_published(&state.db, c.contest_id).await?;
        (
            can_edit && !published,
            e.status == EntryStatus::Withdrawn && e.withdrawn_from.is_some() && !published,
            feedback::for_entry(&state.db, id).await?,
        )
    } else {
        (false, false, Vec::new())
    };
    let certificate = match (access, ctx.user.as_ref()) {
        (Access::Author, Some(u)) => {
            crate::domain::certificates::has_certificate(&state.db, c.contest_id, u.app_user_id)
                .await?
        }
        _ => false,
    };
    let mut res = render(
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
            public,
            vote,
            can_withdraw,
            can_restore,
            feedback,
            certificate,
            members,
            series_label,
            e,
            c,
        },
    );
    if had_note {
        // The note is shown once; the page is the visitor's own then.
        let secure = crate::security::is_secure(&state, &headers);
        let gone = crate::security::cookie_header(vote_note_cookie_name(secure), "", 0, secure);
        if let Ok(v) = HeaderValue::from_str(&gone) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
        res = no_store(res);
    }
    Ok(res)
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
    /// The judges' comments on these entries, once results are published.
    feedback: BTreeMap<Uuid, Vec<Feedback>>,
    /// Contests (slug, title) with a certificate to download.
    certificates: Vec<(String, String)>,
    /// Nominated entries ("Bài được đề cử"): the lower round's title and the rank there.
    nominated: std::collections::HashMap<Uuid, (String, i32)>,
}

impl MinePage {
    fn awaits(&self, id: &Uuid) -> bool {
        self.awaiting.contains(id)
    }

    fn nominated_from(&self, id: &Uuid) -> Option<&(String, i32)> {
        self.nominated.get(id)
    }

    fn feedback_of(&self, id: &Uuid) -> &[Feedback] {
        self.feedback.get(id).map_or(&[], Vec::as_slice)
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
    let entries: Vec<(EntryRow, String, String)> = own
        .into_iter()
        .map(|o| (o.entry, o.contest_slug, o.contest_title))
        .collect();
    let ids: Vec<Uuid> = entries.iter().map(|(e, _, _)| e.entry_id).collect();
    let feedback = feedback::for_author(&state.db, user.app_user_id, &ids).await?;
    let next = next.map(|n| format!("after={}", n.encode()));
    let awaiting = lists::with_pending_edit(&state.db, user.app_user_id).await?;
    Ok(render(
        StatusCode::OK,
        &MinePage {
            page: ctx.page("entry.mine.title"),
            entries,
            next,
            awaiting,
            feedback,
            certificates: crate::domain::certificates::contests_of(&state.db, user.app_user_id)
                .await?,
            nominated: crate::domain::advancement::nominate::provenance(&state.db, &ids).await?,
        },
    ))
}
