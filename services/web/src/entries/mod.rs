//! Entries: a member's draft (saved before any upload), the upload and status pages, edit and
//! withdraw while submission is open, the organizer's moderation queue and review, the public
//! entry page with its player, share meta and QR code, and the JSON API.

pub mod media;
pub mod revision;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};

use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use hoithi_core::domain::Role;
use serde::Deserialize;
use serde_json::json;

use uuid::Uuid;

use crate::domain::access::manages;
use crate::domain::contests::{self, ContestRow, Phase};
use crate::page::{Ctx, Page, PageError, message, qr_svg, render};
use crate::security::MaybeUser;

use crate::domain::entries::media::MediaView;
use crate::domain::entries::{Access, ENTRY_SQL, EntryRow, entry, visible_entry};
use revision::RevisionRow;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contests/{slug}/enter", get(enter_form).post(enter))
        .route("/entries/{id}", get(entry_page))
        .route("/entries/{id}/upload", get(upload_page))
        .route("/entries/{id}/edit", get(edit_form).post(edit))
        .route("/entries/{id}/withdraw", post(withdraw))
        .route("/entries/{id}/review", post(review_form))
        .route("/entries/{id}/revision/review", post(revision::review_form))
        .route("/entries/{id}/qr.svg", get(qr))
        .route("/me/entries", get(my_entries))
        .route("/organize/contests/{slug}/queue", get(queue))
        .route("/media/{asset}/{*file}", get(media::serve))
        .route("/api/v1/contests/{slug}/entries", post(api_create))
        .route("/api/v1/entries/{id}", get(api_get))
        .route("/api/v1/entries/{id}/review", post(api_review))
        .route(
            "/api/v1/entries/{id}/revision/review",
            post(revision::api_review),
        )
}

/// Why an entry may not be created or changed: a stable code (API) and message key (pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub code: &'static str,
}

const fn refuse(status: StatusCode, code: &'static str) -> Refusal {
    Refusal { status, code }
}

fn check_text(title: &str, description: &str) -> Result<(String, String), Refusal> {
    let title = title.trim();
    if title.is_empty() {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "title-required"));
    }
    if title.chars().count() > 200 || title.chars().any(char::is_control) {
        return Err(refuse(StatusCode::UNPROCESSABLE_ENTITY, "title-too-long"));
    }
    if description.chars().count() > 5000 {
        return Err(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "description-too-long",
        ));
    }
    Ok((title.to_owned(), description.trim().to_owned()))
}

/// Whether `user` may enter `c` at all (before counting entries).
async fn may_enter(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    c: &ContestRow,
) -> Result<Result<(), Refusal>, sqlx::Error> {
    if !user.is_verified() {
        return Ok(Err(refuse(StatusCode::FORBIDDEN, "email-not-verified")));
    }
    if c.phase() != Phase::Submission {
        return Ok(Err(refuse(StatusCode::CONFLICT, "submission-closed")));
    }
    if let Some(eligible) = &c.eligible_unit_ids
        && !eligible.is_empty()
    {
        let Some(unit) = user.unit_id else {
            return Ok(Err(refuse(StatusCode::FORBIDDEN, "not-eligible")));
        };
        let mut ok = false;
        for e in eligible {
            if crate::domain::people::units::is_within(db, unit, *e).await? {
                ok = true;
                break;
            }
        }
        if !ok {
            return Ok(Err(refuse(StatusCode::FORBIDDEN, "not-eligible")));
        }
    }
    Ok(Ok(()))
}

/// Creates a draft entry under every rule; the contest row is locked so two tabs cannot
/// both take the last free place.
pub async fn create_entry(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    c: &ContestRow,
    title: &str,
    description: &str,
) -> Result<Result<Uuid, Refusal>, sqlx::Error> {
    let (title, description) = match check_text(title, description) {
        Ok(t) => t,
        Err(r) => return Ok(Err(r)),
    };
    if let Err(r) = may_enter(db, user, c).await? {
        return Ok(Err(r));
    }
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from contest where contest_id = $1 for update")
        .bind(c.contest_id)
        .execute(&mut *tx)
        .await?;
    let count: i64 = sqlx::query_scalar(
        "select count(*) from entry where contest_id = $1 and author_id = $2 and status <> 'withdrawn'",
    )
    .bind(c.contest_id)
    .bind(user.app_user_id)
    .fetch_one(&mut *tx)
    .await?;
    if count >= i64::from(c.max_entries_per_member) {
        return Ok(Err(refuse(StatusCode::CONFLICT, "max-entries-reached")));
    }
    let id = hoithi_core::contest::create_draft_entry(
        &mut *tx,
        c.contest_id,
        user.app_user_id,
        &title,
        &description,
    )
    .await?;
    tx.commit().await?;
    Ok(Ok(id))
}

/// The entry as the API shows it. `title` and `description` are always the reviewed text;
/// the author and organizers also get the edit that waits for review (or was refused) as
/// `revision`.
fn entry_json(
    e: &EntryRow,
    c: &ContestRow,
    media: &[MediaView],
    show_author: bool,
    revision: Option<&RevisionRow>,
) -> serde_json::Value {
    let mut body = json!({
        "id": e.entry_id,
        "contest": c.slug,
        "title": e.title,
        "description": e.description,
        "status": e.status,
        "reason": e.reason,
        "author": if show_author { json!({"name": e.author_name, "unit": e.unit_name}) } else { json!(null) },
        "media": media,
    });
    if let Some(r) = revision {
        body["revision"] = r.json();
    }
    body
}

pub(crate) fn refusal_api(r: Refusal) -> ApiError {
    let message = match r.code {
        "title-required" => "a title is required",
        "title-too-long" => "the title has more than 200 characters",
        "description-too-long" => "the description has more than 5000 characters",
        "email-not-verified" => "verify your email address first",
        "submission-closed" => "the contest does not take entries now",
        "not-eligible" => "members of your unit may not enter this contest",
        "max-entries-reached" => "you have reached this contest's number of entries",
        "not-editable" => "the entry can no longer be changed",
        "not-reviewable" => "the entry is not waiting for review",
        "reason-required" => "a rejection needs a reason",
        "reason-too-long" => "the reason has more than 2000 characters",
        "invalid-decision" => "decision must be approve or reject",
        "entry-changed" => "the author changed the entry since you read it: read it again",
        "no-pending-edit" => "no edit of this entry waits for review",
        "edit-changed" => "the author changed the edit since you read it: read it again",
        _ => "refused",
    };
    ApiError::new(r.status, r.code, message)
}

#[derive(Debug, Deserialize)]
struct NewEntry {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    body: Result<Json<NewEntry>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::invalid("invalid-json", e.body_text()))?;
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    let id = create_entry(&state.db, &user, &c, &body.title, &body.description)
        .await?
        .map_err(refusal_api)?;
    let e = entry(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/entries/{id}"))],
        Json(entry_json(&e, &c, &[], true, None)),
    )
        .into_response())
}

async fn api_get(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("the entry"))?;
    let (e, c, access) = visible_entry(&state.db, user.as_ref(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    let media = crate::domain::entries::media::for_entry(&state.db, id).await?;
    let show_author =
        crate::domain::entries::author::may_see_author(&state.db, user.as_ref(), &c, &e).await?;
    // A proposed edit is not public: only its author and the organizers see it.
    let revision = match access {
        Access::Public => None,
        Access::Author | Access::Organizer => revision::latest(&state.db, id).await?,
    };
    Ok(Json(entry_json(
        &e,
        &c,
        &media,
        show_author,
        revision.as_ref(),
    )))
}

/// Approves or rejects an entry waiting for review; a rejection's reason is mailed.
pub async fn review(
    state: &AppState,
    headers: &HeaderMap,
    user: &CurrentUser,
    id: Uuid,
    decision: &str,
    reason: &str,
    seen: Option<&str>,
) -> Result<Result<EntryStatus, Refusal>, sqlx::Error> {
    let Some((e, c, access)) = visible_entry(&state.db, Some(user), id).await? else {
        return Ok(Err(refuse(StatusCode::NOT_FOUND, "not-found")));
    };
    if access != Access::Organizer {
        return Ok(Err(refuse(StatusCode::FORBIDDEN, "forbidden")));
    }
    let reason = reason.trim();
    let new = match decision {
        "approve" => EntryStatus::Approved,
        "reject" if reason.is_empty() => {
            return Ok(Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "reason-required",
            )));
        }
        "reject" if reason.chars().count() > 2000 => {
            return Ok(Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "reason-too-long",
            )));
        }
        "reject" => EntryStatus::Rejected,
        _ => {
            return Ok(Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-decision",
            )));
        }
    };
    let seen = seen.map(str::trim).filter(|s| !s.is_empty());
    // The decision is about the text the organizer read (`seen`): if the author saved an edit
    // in between, nothing is decided and the organizer reads it again.
    let updated = sqlx::query(
        "update entry set status = $2, reason = $3
         where entry_id = $1 and status in ('pending_review', 'approved', 'rejected')
           and ($4::text is null or md5(title || chr(31) || description) = $4)",
    )
    .bind(id)
    .bind(new)
    .bind((new == EntryStatus::Rejected).then_some(reason))
    .bind(seen)
    .execute(&state.db)
    .await?;
    if updated.rows_affected() == 0 {
        let changed = match (seen, entry(&state.db, id).await?) {
            (Some(seen), Some(now)) => {
                now.text_digest != seen
                    && matches!(
                        now.status,
                        EntryStatus::PendingReview | EntryStatus::Approved | EntryStatus::Rejected
                    )
            }
            _ => false,
        };
        let code = if changed {
            "entry-changed"
        } else {
            "not-reviewable"
        };
        return Ok(Err(refuse(StatusCode::CONFLICT, code)));
    }
    let lang = hoithi_core::i18n::Lang::Vi;
    let t = |k| hoithi_core::i18n::text(lang, k);
    let link = format!("{}/entries/{id}", crate::mail::base_url(state, headers));
    let (kind, subject, body) = if new == EntryStatus::Rejected {
        (
            "entry-rejected",
            t("mail.rejected.subject"),
            format!(
                "{}\n\n{}: {}\n{}: {reason}\n\n{link}\n",
                t("mail.rejected.body"),
                c.title,
                e.title,
                t("entry.reason")
            ),
        )
    } else {
        (
            "entry-approved",
            t("mail.approved.subject"),
            format!(
                "{}\n\n{}: {}\n\n{link}\n",
                t("mail.approved.body"),
                c.title,
                e.title
            ),
        )
    };
    crate::mail::queue(&state.db, &e.author_email, kind, subject, &body).await?;
    Ok(Ok(new))
}

#[derive(Debug, Deserialize)]
pub(crate) struct ReviewBody {
    #[serde(default)]
    pub decision: String,
    #[serde(default)]
    pub reason: String,
    /// `text_digest` of the entry (or the id of the edit) the reviewer read; optional in the
    /// API, always sent by the pages.
    #[serde(default)]
    pub seen: Option<String>,
}

async fn api_review(
    State(state): State<AppState>,
    headers: HeaderMap,
    user: CurrentUser,
    Path(id): Path<String>,
    body: Result<Json<ReviewBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Json(body) = body.map_err(|e| ApiError::invalid("invalid-json", e.body_text()))?;
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("the entry"))?;
    match review(
        &state,
        &headers,
        &user,
        id,
        &body.decision,
        &body.reason,
        body.seen.as_deref(),
    )
    .await?
    {
        Ok(status) => Ok(Json(json!({"id": id, "status": status}))),
        Err(r) if r.code == "not-found" => Err(ApiError::not_found("the entry")),
        Err(r) if r.code == "forbidden" => Err(ApiError::forbidden(
            "only organizers of the contest's unit review entries",
        )),
        Err(r) => Err(refusal_api(r)),
    }
}

// ---------- pages ----------

fn signed_in(ctx: &Ctx, back: &str) -> Result<CurrentUser, Response> {
    ctx.user
        .clone()
        .ok_or_else(|| Redirect::to(&format!("/login?next={}", urlencode(back))).into_response())
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[derive(Template)]
#[template(path = "entries/enter.html")]
struct EnterPage {
    page: Page,
    c: ContestRow,
    title: String,
    description: String,
    title_error: String,
    description_error: String,
    blocked: String,
}

async fn enter_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/contests/{slug}/enter")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let blocked = match may_enter(&state.db, &user, &c).await? {
        Ok(()) => String::new(),
        Err(r) => ctx.t(&format!("entry.error.{}", r.code)).to_owned(),
    };
    Ok(render(
        StatusCode::OK,
        &EnterPage {
            page: ctx.page("entry.new.title"),
            c,
            title: String::new(),
            description: String::new(),
            title_error: String::new(),
            description_error: String::new(),
            blocked,
        },
    ))
}

#[derive(Debug, Deserialize)]
struct EntryForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
}

async fn enter(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/contests/{slug}/enter")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    match create_entry(&state.db, &user, &c, &form.title, &form.description).await? {
        Ok(id) => Ok(Redirect::to(&format!("/entries/{id}/upload")).into_response()),
        Err(r) => {
            let msg = ctx.t(&format!("entry.error.{}", r.code)).to_owned();
            let (mut title_error, mut description_error, mut blocked) =
                (String::new(), String::new(), String::new());
            match r.code {
                "title-required" | "title-too-long" => title_error = msg,
                "description-too-long" => description_error = msg,
                _ => blocked = msg,
            }
            Ok(render(
                r.status,
                &EnterPage {
                    page: ctx.page("entry.new.title"),
                    c,
                    title: form.title,
                    description: form.description,
                    title_error,
                    description_error,
                    blocked,
                },
            ))
        }
    }
}

#[derive(Template)]
#[template(path = "entries/upload.html")]
struct UploadPage {
    page: Page,
    e: EntryRow,
    c: ContestRow,
    accept: String,
}

async fn upload_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/entries/{id}/upload")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let (e, c, _) = visible_entry(&state.db, Some(&user), id)
        .await?
        .ok_or(PageError::NotFound)?;
    if e.author_id != user.app_user_id {
        return Err(PageError::NotFound);
    }
    let mut accept = Vec::new();
    if c.kinds.iter().any(|k| k == "photo") {
        accept.push("image/*");
    }
    if c.kinds.iter().any(|k| k == "video") {
        accept.push("video/*");
    }
    Ok(render(
        StatusCode::OK,
        &UploadPage {
            page: ctx.page("entry.upload.title"),
            accept: accept.join(","),
            e,
            c,
        },
    ))
}

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

async fn entry_page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, PageError> {
    let id = Uuid::parse_str(&id).map_err(|_| PageError::NotFound)?;
    let (e, c, access) = visible_entry(&state.db, ctx.user.as_ref(), id)
        .await?
        .ok_or(PageError::NotFound)?;
    let media = crate::domain::entries::media::for_entry(&state.db, id).await?;
    let show_author =
        crate::domain::entries::author::may_see_author(&state.db, ctx.user.as_ref(), &c, &e)
            .await?;
    let revision = match access {
        Access::Public => None,
        Access::Author | Access::Organizer => revision::latest(&state.db, id).await?,
    };
    let url = format!("{}/entries/{id}", crate::mail::base_url(&state, &headers));
    let mut page = ctx.page("entry.title");
    page.title.clone_from(&e.title);
    page.meta = vec![
        ("og:type".into(), "article".into()),
        ("og:title".into(), e.title.clone()),
        (
            "og:description".into(),
            e.description.chars().take(200).collect(),
        ),
        ("og:url".into(), url.clone()),
        ("twitter:card".into(), "summary_large_image".into()),
        ("twitter:title".into(), e.title.clone()),
    ];
    let base = crate::mail::base_url(&state, &headers);
    if let Some(img) = media.iter().find_map(|m| m.largest().map(str::to_owned)) {
        page.meta.push(("og:image".into(), format!("{base}{img}")));
        page.meta
            .push(("twitter:image".into(), format!("{base}{img}")));
    }
    let processing = matches!(e.status, EntryStatus::Uploading | EntryStatus::Processing)
        || media.iter().any(|m| m.status == "processing");
    Ok(render(
        StatusCode::OK,
        &EntryPage {
            page,
            can_edit: access == Access::Author && editable(&e, &c),
            // The upload service takes files only for a draft (or one whose upload is
            // under way); once processed, a link would lead to a refusal.
            can_upload: access == Access::Author
                && editable(&e, &c)
                && matches!(e.status, EntryStatus::Draft | EntryStatus::Uploading),
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

fn editable(e: &EntryRow, c: &ContestRow) -> bool {
    e.status != EntryStatus::Withdrawn && c.phase() == Phase::Submission
}

#[derive(Template)]
#[template(path = "entries/edit.html")]
struct EditPage {
    page: Page,
    e: EntryRow,
    /// The entry is public: what is saved waits for the organizers' review.
    reviewed: bool,
    title: String,
    description: String,
    title_error: String,
    description_error: String,
}

async fn author_entry(
    state: &AppState,
    user: &CurrentUser,
    id: Uuid,
) -> Result<(EntryRow, ContestRow), PageError> {
    let (e, c, _) = visible_entry(&state.db, Some(user), id)
        .await?
        .ok_or(PageError::NotFound)?;
    if e.author_id != user.app_user_id {
        return Err(PageError::NotFound);
    }
    if !editable(&e, &c) {
        return Err(PageError::Forbidden);
    }
    Ok((e, c))
}

async fn edit_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/entries/{id}/edit")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let (e, c) = author_entry(&state, &user, id).await?;
    // An edit still waiting for review is what the author goes on from.
    let (title, description) = match revision::latest(&state.db, id).await? {
        Some(r) if r.is_pending() => (r.title, r.description),
        _ => (e.title.clone(), e.description.clone()),
    };
    Ok(render(
        StatusCode::OK,
        &EditPage {
            page: ctx.page("entry.edit.title"),
            reviewed: revision::edits_need_review(&e, &c),
            title,
            description,
            e,
            title_error: String::new(),
            description_error: String::new(),
        },
    ))
}

async fn edit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/entries/{id}/edit")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let (e, c) = author_entry(&state, &user, id).await?;
    match check_text(&form.title, &form.description) {
        Ok((title, description)) => {
            match revision::save_edit(&state.db, &user, &c, id, &title, &description).await? {
                Ok(_) => Ok(Redirect::to(&format!("/entries/{id}")).into_response()),
                Err(r) => Ok(message(&ctx, r.status, &format!("entry.error.{}", r.code))),
            }
        }
        Err(r) => {
            let msg = ctx.t(&format!("entry.error.{}", r.code)).to_owned();
            let is_desc = r.code == "description-too-long";
            Ok(render(
                r.status,
                &EditPage {
                    page: ctx.page("entry.edit.title"),
                    reviewed: revision::edits_need_review(&e, &c),
                    e,
                    title: form.title,
                    description: form.description,
                    title_error: if is_desc { String::new() } else { msg.clone() },
                    description_error: if is_desc { msg } else { String::new() },
                },
            ))
        }
    }
}

async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<Uuid>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/entries/{id}")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    author_entry(&state, &user, id).await?;
    sqlx::query("update entry set status = 'withdrawn' where entry_id = $1")
        .bind(id)
        .execute(&state.db)
        .await?;
    Ok(Redirect::to("/me/entries").into_response())
}

async fn review_form(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(form): Form<ReviewBody>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/entries/{id}")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    match review(
        &state,
        &headers,
        &user,
        id,
        &form.decision,
        &form.reason,
        form.seen.as_deref(),
    )
    .await?
    {
        Ok(_) => {
            let e = entry(&state.db, id).await?.ok_or(PageError::NotFound)?;
            let slug: String = sqlx::query_scalar("select slug from contest where contest_id = $1")
                .bind(e.contest_id)
                .fetch_one(&state.db)
                .await?;
            Ok(Redirect::to(&format!("/organize/contests/{slug}/queue")).into_response())
        }
        Err(r) if r.code == "not-found" => Err(PageError::NotFound),
        Err(r) if r.code == "forbidden" => Err(PageError::Forbidden),
        Err(r) => Ok(message(&ctx, r.status, &format!("entry.error.{}", r.code))),
    }
}

#[derive(Template)]
#[template(path = "entries/queue.html")]
struct QueuePage {
    page: Page,
    c: ContestRow,
    entries: Vec<(EntryRow, Vec<MediaView>)>,
    /// Edits of public entries waiting for review: the entry (its reviewed text) and the edit.
    edits: Vec<(EntryRow, RevisionRow)>,
}

async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, &format!("/organize/contests/{slug}/queue")) {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    if !matches!(user.role, Role::Admin | Role::Organizer) {
        return Err(PageError::Forbidden);
    }
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    if !manages(&state.db, &user, c.unit_id).await? {
        return Err(PageError::NotFound);
    }
    let rows: Vec<EntryRow> = sqlx::query_as(&format!(
            "{ENTRY_SQL} where e.contest_id = $1 and e.status = 'pending_review' order by e.created_at limit 200"
        ))
        .bind(c.contest_id)
        .fetch_all(&state.db)
        .await?;
    let mut entries = Vec::new();
    for e in rows {
        let m = crate::domain::entries::media::for_entry(&state.db, e.entry_id).await?;
        entries.push((e, m));
    }
    let edits = revision::pending_in_contest(&state.db, c.contest_id).await?;
    let mut page = ctx.page("moderation.title");
    page.title = format!("{} · {}", page.t("moderation.title"), c.title);
    Ok(render(
        StatusCode::OK,
        &QueuePage {
            page,
            c,
            entries,
            edits,
        },
    ))
}

#[derive(Template)]
#[template(path = "entries/mine.html")]
struct MinePage {
    page: Page,
    entries: Vec<(EntryRow, String, String)>,
    /// Entries with an edit waiting for review.
    awaiting: Vec<Uuid>,
}

impl MinePage {
    fn awaits(&self, id: &Uuid) -> bool {
        self.awaiting.contains(id)
    }
}

async fn my_entries(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = match signed_in(&ctx, "/me/entries") {
        Ok(u) => u,
        Err(r) => return Ok(r),
    };
    let rows: Vec<EntryRow> = sqlx::query_as(&format!(
        "{ENTRY_SQL} where e.author_id = $1 order by e.created_at desc limit 200"
    ))
    .bind(user.app_user_id)
    .fetch_all(&state.db)
    .await?;
    let mut entries = Vec::new();
    for e in rows {
        let (slug, title): (String, String) =
            sqlx::query_as("select slug, title from contest where contest_id = $1")
                .bind(e.contest_id)
                .fetch_one(&state.db)
                .await?;
        entries.push((e, slug, title));
    }
    let awaiting = sqlx::query_scalar(
        "select r.entry_id from entry_revision r join entry e using (entry_id)
             where e.author_id = $1 and r.status = 'pending'",
    )
    .bind(user.app_user_id)
    .fetch_all(&state.db)
    .await?;
    Ok(render(
        StatusCode::OK,
        &MinePage {
            page: ctx.page("entry.mine.title"),
            entries,
            awaiting,
        },
    ))
}

/// A QR code of the entry's public address, as SVG, to print for events.
async fn qr(
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
