//! The entries' JSON API: create a draft, read an entry, review it or its edit.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, JsonBody};
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::review::{Decided, ReviewBody, decide};
use super::show::visible_revision;
use crate::access::author::{ApiAuthorOf, ApiReviewerOf};
use crate::access::client::ClientIp;
use crate::domain::contests::{self, ContestRow};
use crate::domain::entries::Access;
use crate::domain::entries::media::{self, MediaView};
use crate::domain::entries::revision::RevisionRow;
use crate::domain::entries::series;
use crate::domain::entries::submit::{Agreement, create_entry};
use crate::domain::entries::team::{self, Member, TeamInput};
use crate::domain::entries::{EntryRow, author, entry, visible_entry};
use crate::security::MaybeUser;

/// What the API shows of an entry, and to whom.
struct EntryJson<'a> {
    e: &'a EntryRow,
    c: &'a ContestRow,
    media: &'a [MediaView],
    show_author: bool,
    revision: Option<&'a RevisionRow>,
    /// A team entry's members (shown only where the author is).
    members: &'a [Member],
}

impl EntryJson<'_> {
    /// `title` and `description` are always the reviewed text; the author and organizers
    /// also get the edit that waits for review (or was refused) as `revision`.
    fn json(&self) -> serde_json::Value {
        let e = self.e;
        let mut body = json!({
            "id": e.entry_id,
            "contest": self.c.slug,
            "title": e.title,
            "description": e.description,
            "status": e.status,
            "reason": e.reason,
            "author": if self.show_author { json!({"name": e.author_name, "unit": e.unit_name}) } else { json!(null) },
            "media": self.media,
            "category": e.category_slug.as_ref().map(|slug| json!({"slug": slug, "name": e.category_name})),
            // The team's name is public; its members follow the rule for authors.
            "team": e.team_name.as_ref().map(|name| json!({
                "name": name,
                "members": if self.show_author { json!(self.members) } else { json!(null) },
            })),
            "series": e.photo_series,
        });
        if let Some(r) = self.revision {
            body["revision"] = r.json();
        }
        body
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewEntry {
    #[serde(default)]
    title: String,
    #[serde(default)]
    description: String,
    /// The entrant agreed to the privacy notice and the contest's rules (required).
    #[serde(default)]
    consent: bool,
    /// `YYYY-MM-DD`, when the contest requires a birth date.
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    guardian_name: String,
    #[serde(default)]
    guardian_email: String,
    /// The category's slug, required when the contest has categories.
    #[serde(default)]
    category: String,
    /// A team entry (bài dự thi của tập thể), where the contest's `limits.max_team_members`
    /// is above 0 (422 `team-not-allowed`): the team's name, or the slug of a chi đoàn within
    /// the entrant's unit (422 `team-name-required`), and its members, names only (422
    /// `team-too-many-members`; 422 `team-member-invalid`: a name over 120 characters or a
    /// member number not on the roster).
    #[serde(default)]
    team: Option<NewTeam>,
    /// A photo series (bộ ảnh) of up to the contest's `limits.max_series_photos` photos, each
    /// its own tus upload; the entry stays a draft until handed in with
    /// `POST /api/v1/entries/{id}/series/submit` (422 `series-not-allowed`).
    #[serde(default)]
    series: bool,
}

/// The team of a team entry.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewTeam {
    #[serde(default)]
    name: String,
    /// The slug of the chi đoàn (the entrant's unit or one below it).
    #[serde(default)]
    unit: String,
    #[serde(default)]
    members: Vec<Member>,
}

/// `POST /api/v1/contests/{slug}/entries`: a draft entry (201).
#[utoipa::path(
    post,
    path = "/api/v1/contests/{slug}/entries",
    operation_id = "create_entry",
    summary = "a draft entry (member), saved before any upload",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = NewEntry,
    responses(
        (status = 201, description = "the draft entry {id, …}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn create(
    State(state): State<AppState>,
    user: CurrentUser,
    ClientIp(ip): ClientIp,
    Path(slug): Path<String>,
    JsonBody(body): JsonBody<NewEntry>,
) -> Result<Response, ApiError> {
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    let agreement = Agreement {
        consent: body.consent,
        ip,
        birth_date: body.birth_date.clone(),
        guardian_name: body.guardian_name.clone(),
        guardian_email: body.guardian_email.clone(),
        category: body.category.clone(),
        team: body
            .team
            .as_ref()
            .map_or_else(TeamInput::default, |t| TeamInput {
                is_team: true,
                name: t.name.clone(),
                unit: t.unit.clone(),
                members: t.members.clone(),
            }),
        series: body.series,
    };
    let created = create_entry(
        &state.db,
        &user,
        &c,
        &body.title,
        &body.description,
        &agreement,
        &state.config.limits,
    )
    .await?;
    if let Some(link) = &created.guardian {
        super::submit::mail_guardian(&state, link).await?;
    }
    let id = created.entry_id;
    let e = entry(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    let members = team::members(&state.db, id).await?;
    let view = EntryJson {
        e: &e,
        c: &c,
        media: &[],
        show_author: true,
        revision: None,
        members: &members,
    };
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, format!("/api/v1/entries/{id}"))],
        Json(view.json()),
    )
        .into_response())
}

/// `GET /api/v1/entries/{id}`: the entry, to whoever may see it.
#[utoipa::path(
    get,
    path = "/api/v1/entries/{id}",
    operation_id = "get_entry",
    summary = "an entry with its media and processing progress (author, organizers, assigned judges; anyone once approved). `title` and `description` are always the reviewed text; the author and organizers also get `revision`, the latest edit that waits for review or was refused. `author` is null unless the viewer may see it: the author and organizers always, others not when the contest hides authors, nor on a blind contest until the results of its last round are published",
    params(
        ("id" = String, Path, format = Uuid),
    ),
    responses(
        (status = 200, description = "the entry", body = crate::api_schemas::Entry),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn get(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = Uuid::parse_str(&id).map_err(|_| ApiError::not_found("the entry"))?;
    let (mut e, c, access) = visible_entry(&state.db, user.as_ref(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    // A child's name is shortened for everyone but the child and the organizers.
    if access == Access::Public {
        e.author_name = e.public_author_name();
    }
    let media = media::for_entry(&state.db, id).await?;
    let show_author = author::may_see_author(&state.db, user.as_ref(), &c, &e).await?;
    let revision = visible_revision(&state.db, access, id).await?;
    let members = if e.team_name.is_some() && show_author {
        team::members(&state.db, id).await?
    } else {
        Vec::new()
    };
    let view = EntryJson {
        e: &e,
        c: &c,
        media: &media,
        show_author,
        revision: revision.as_ref(),
        members: &members,
    };
    Ok(Json(view.json()))
}

/// An entry and its status after an operation on it.
#[derive(Serialize, utoipa::ToSchema)]
pub struct EntryStatusAnswer {
    id: Uuid,
    status: EntryStatus,
}

/// `POST /api/v1/entries/{id}/series/submit`: the author hands a photo series in.
#[utoipa::path(
    post,
    path = "/api/v1/entries/{id}/series/submit",
    operation_id = "submit_series",
    summary = "the author hands a photo series in: processing, then review once every photo is processed",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
    ),
    responses(
        (status = 200, description = "the entry's new status", body = EntryStatusAnswer),
        (status = 401, description = "not signed in (`unauthenticated`)", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "`not-editable`: the series was already handed in; `cross-site-request`", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "`not-found`: no such entry, or not the caller's", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "`series-incomplete`: no photo yet, or one still uploading", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "`series-not-allowed`: the entry is not a series", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn hand_in(
    State(state): State<AppState>,
    ApiAuthorOf(on): ApiAuthorOf,
) -> Result<Json<EntryStatusAnswer>, ApiError> {
    series::hand_in(&state.db, &on.entry).await?;
    let e = entry(&state.db, on.entry.entry_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    Ok(Json(EntryStatusAnswer {
        id: e.entry_id,
        status: e.status,
    }))
}

/// `POST /api/v1/entries/{id}/review`: the entry's new status.
#[utoipa::path(
    post,
    path = "/api/v1/entries/{id}/review",
    operation_id = "review_entry",
    summary = "approve or reject an entry (organizer of the contest's unit)",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
    ),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "the entry's new status"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn review_entry(
    state: State<AppState>,
    headers: HeaderMap,
    reviewer: ApiReviewerOf,
    body: JsonBody<ReviewBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    review::<{ super::review::ENTRY }>(state, headers, reviewer, body).await
}

/// `POST /api/v1/entries/{id}/revision/review`: the decided edit.
#[utoipa::path(
    post,
    path = "/api/v1/entries/{id}/revision/review",
    operation_id = "review_entry_edit",
    summary = "approve or reject the author's edit of an approved entry (organizer of the contest's unit). Until approved the entry keeps showing its reviewed text everywhere; approving makes the edit the entry's text, rejecting keeps the old text and mails the reason to the author. 409 codes: no-pending-edit, edit-changed (`seen` names another edit than the one waiting)",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
    ),
    request_body = ReviewBody,
    responses(
        (status = 200, description = "{id, revision: {id, status, title, description, reason, created_at}}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn review_revision(
    state: State<AppState>,
    headers: HeaderMap,
    reviewer: ApiReviewerOf,
    body: JsonBody<ReviewBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    review::<{ super::review::EDIT }>(state, headers, reviewer, body).await
}

/// The review of an entry (`ENTRY`) or of its waiting edit (`EDIT`).
async fn review<const OF_EDIT: bool>(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiReviewerOf(r): ApiReviewerOf,
    JsonBody(body): JsonBody<ReviewBody>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = r.entry.entry_id;
    Ok(Json(
        match decide(&state, &headers, &r, &body, OF_EDIT).await? {
            Decided::Entry(status) => json!({"id": id, "status": status}),
            Decided::Edit(edit) => json!({"id": id, "revision": edit.json()}),
        },
    ))
}
