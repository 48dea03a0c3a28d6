//! Edits of entries. An entry's `title` and `description` are always text an organizer let
//! through: an edit of a public (approved) entry of a moderated contest waits as an
//! `entry_revision` until an organizer approves it, and an edit of a rejected entry sends it
//! back to review. Everything that shows an entry reads `entry`, so nothing else needs to know.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use super::{Access, EntryRow, Refusal, ReviewBody, refusal_api, refuse, visible_entry};
use crate::domain::contests::ContestRow;
use crate::page::{Ctx, PageError, message};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RevisionRow {
    pub entry_revision_id: i64,
    pub entry_id: Uuid,
    pub title: String,
    pub description: String,
    /// `pending`, `approved`, `rejected` (never `superseded` here).
    pub status: String,
    pub reason: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl RevisionRow {
    pub fn is_pending(&self) -> bool {
        self.status == "pending"
    }

    pub fn is_rejected(&self) -> bool {
        self.status == "rejected"
    }

    pub fn json(&self) -> serde_json::Value {
        json!({
            "id": self.entry_revision_id,
            "status": self.status,
            "title": self.title,
            "description": self.description,
            "reason": self.reason,
            "created_at": self.created_at,
        })
    }
}

const REVISION_SQL: &str =
    "select r.entry_revision_id, r.entry_id, r.title, r.description, r.status, r.reason,
    r.created_at from entry_revision r";

/// The entry's latest edit that is still of interest (waiting, or refused and not followed by
/// another); `None` when there is none or the latest was approved.
pub async fn latest(db: &PgPool, entry_id: Uuid) -> sqlx::Result<Option<RevisionRow>> {
    let r: Option<RevisionRow> = sqlx::query_as(&format!(
        "{REVISION_SQL} where r.entry_id = $1 and r.status <> 'superseded'
         order by r.entry_revision_id desc limit 1"
    ))
    .bind(entry_id)
    .fetch_optional(db)
    .await?;
    Ok(r.filter(|r| r.is_pending() || r.is_rejected()))
}

/// Edits waiting for review in a contest, with their entries as they are public now.
pub async fn pending_in_contest(
    db: &PgPool,
    contest_id: i64,
) -> sqlx::Result<Vec<(EntryRow, RevisionRow)>> {
    let revisions: Vec<RevisionRow> = sqlx::query_as(&format!(
        "{REVISION_SQL} join entry e using (entry_id)
         where e.contest_id = $1 and r.status = 'pending' and e.status <> 'withdrawn'
         order by r.created_at limit 200"
    ))
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    let mut out = Vec::with_capacity(revisions.len());
    for r in revisions {
        if let Some(e) = super::entry(db, r.entry_id).await? {
            out.push((e, r));
        }
    }
    Ok(out)
}

/// Whether an edit of `e` must wait for review: the entry is public and the contest reviews
/// what is shown. (A contest without moderation publishes new entries unreviewed too, so its
/// edits go live the same way.)
pub fn edits_need_review(e: &EntryRow, c: &ContestRow) -> bool {
    e.status == EntryStatus::Approved && c.requires_moderation
}

/// What became of a saved edit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Saved {
    /// Not public yet: the text changed in place and is reviewed with the entry.
    InPlace,
    /// The entry is public: the edit waits for review, the reviewed text stays public.
    AwaitsReview,
    /// The author went back to the reviewed text: a waiting edit was dropped.
    Unchanged,
    /// A rejected entry, changed: it goes back to the organizers' queue.
    Resubmitted,
}

/// Saves the author's checked text under the rules above. The entry row is locked, so a
/// review deciding at the same moment sees either the old or the new state, never half.
pub async fn save_edit(
    db: &PgPool,
    user: &CurrentUser,
    c: &ContestRow,
    id: Uuid,
    title: &str,
    description: &str,
) -> sqlx::Result<Result<Saved, Refusal>> {
    let mut tx = db.begin().await?;
    let row: Option<(EntryStatus, String, String, i64)> = sqlx::query_as(
        "select status, title, description, author_id from entry where entry_id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((status, old_title, old_description, author)) = row else {
        return Ok(Err(refuse(StatusCode::NOT_FOUND, "not-found")));
    };
    if author != user.app_user_id {
        return Ok(Err(refuse(StatusCode::NOT_FOUND, "not-found")));
    }
    // Whatever was waiting is replaced by what the author saves now.
    sqlx::query(
        "update entry_revision set status = 'superseded' where entry_id = $1 and status = 'pending'",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let saved = match status {
        EntryStatus::Withdrawn => return Ok(Err(refuse(StatusCode::CONFLICT, "not-editable"))),
        EntryStatus::Approved if c.requires_moderation => {
            if old_title == title && old_description == description {
                Saved::Unchanged
            } else {
                sqlx::query(
                    "insert into entry_revision (entry_id, title, description, created_by)
                     values ($1, $2, $3, $4)",
                )
                .bind(id)
                .bind(title)
                .bind(description)
                .bind(user.app_user_id)
                .execute(&mut *tx)
                .await?;
                Saved::AwaitsReview
            }
        }
        EntryStatus::Rejected => {
            sqlx::query(
                "update entry set title = $2, description = $3, status = 'pending_review', reason = null
                 where entry_id = $1",
            )
            .bind(id)
            .bind(title)
            .bind(description)
            .execute(&mut *tx)
            .await?;
            Saved::Resubmitted
        }
        _ => {
            sqlx::query("update entry set title = $2, description = $3 where entry_id = $1")
                .bind(id)
                .bind(title)
                .bind(description)
                .execute(&mut *tx)
                .await?;
            Saved::InPlace
        }
    };
    tx.commit().await?;
    Ok(Ok(saved))
}

/// Approves or rejects the edit waiting on entry `id`. `seen` is the id of the edit the
/// organizer read: a newer one saved in between is not decided unseen.
pub async fn review(
    state: &AppState,
    headers: &HeaderMap,
    user: &CurrentUser,
    id: Uuid,
    decision: &str,
    reason: &str,
    seen: Option<&str>,
) -> sqlx::Result<Result<RevisionRow, Refusal>> {
    let Some((e, c, access)) = visible_entry(&state.db, Some(user), id).await? else {
        return Ok(Err(refuse(StatusCode::NOT_FOUND, "not-found")));
    };
    if access != Access::Organizer {
        return Ok(Err(refuse(StatusCode::FORBIDDEN, "forbidden")));
    }
    let reason = reason.trim();
    let approve = match decision {
        "approve" => true,
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
        "reject" => false,
        _ => {
            return Ok(Err(refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-decision",
            )));
        }
    };
    let seen = match seen.map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => match s.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => return Ok(Err(refuse(StatusCode::CONFLICT, "edit-changed"))),
        },
        None => None,
    };
    let mut tx = state.db.begin().await?;
    // The entry first, then its edit: the same order `save_edit` locks in.
    sqlx::query("select 1 from entry where entry_id = $1 for update")
        .bind(id)
        .execute(&mut *tx)
        .await?;
    let pending: Option<RevisionRow> = sqlx::query_as(&format!(
        "{REVISION_SQL} where r.entry_id = $1 and r.status = 'pending' for update"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(mut r) = pending else {
        return Ok(Err(refuse(StatusCode::CONFLICT, "no-pending-edit")));
    };
    if seen.is_some_and(|s| s != r.entry_revision_id) {
        return Ok(Err(refuse(StatusCode::CONFLICT, "edit-changed")));
    }
    sqlx::query(
        "update entry_revision set status = $2, reason = $3, reviewed_by = $4, reviewed_at = now()
         where entry_revision_id = $1",
    )
    .bind(r.entry_revision_id)
    .bind(if approve { "approved" } else { "rejected" })
    .bind((!approve).then_some(reason))
    .bind(user.app_user_id)
    .execute(&mut *tx)
    .await?;
    if approve {
        sqlx::query("update entry set title = $2, description = $3 where entry_id = $1")
            .bind(id)
            .bind(&r.title)
            .bind(&r.description)
            .execute(&mut *tx)
            .await?;
        r.status = "approved".into();
    } else {
        r.status = "rejected".into();
        r.reason = Some(reason.to_owned());
        let lang = hoithi_core::i18n::Lang::Vi;
        let t = |k| hoithi_core::i18n::text(lang, k);
        let link = format!("{}/entries/{id}", crate::mail::base_url(state, headers));
        let body = format!(
            "{}\n\n{}: {}\n{}: {reason}\n\n{link}\n",
            t("mail.edit-rejected.body"),
            c.title,
            e.title,
            t("entry.reason")
        );
        crate::mail::queue(
            &mut *tx,
            &e.author_email,
            "entry-edit-rejected",
            t("mail.edit-rejected.subject"),
            &body,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(Ok(r))
}

pub(super) async fn api_review(
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
        Ok(r) => Ok(Json(json!({"id": id, "revision": r.json()}))),
        Err(r) if r.code == "not-found" => Err(ApiError::not_found("the entry")),
        Err(r) if r.code == "forbidden" => Err(ApiError::forbidden(
            "only organizers of the contest's unit review edits",
        )),
        Err(r) => Err(refusal_api(r)),
    }
}

pub(super) async fn review_form(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(id): Path<Uuid>,
    Form(form): Form<ReviewBody>,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(Redirect::to(&format!("/login?next=/entries/{id}")).into_response());
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
            let slug: String = sqlx::query_scalar(
                    "select c.slug from contest c join entry e using (contest_id) where e.entry_id = $1",
                )
                .bind(id)
                .fetch_one(&state.db)
                .await?;
            Ok(Redirect::to(&format!("/organize/contests/{slug}/queue")).into_response())
        }
        Err(r) if r.code == "not-found" => Err(PageError::NotFound),
        Err(r) if r.code == "forbidden" => Err(PageError::Forbidden),
        Err(r) => Ok(message(&ctx, r.status, &format!("entry.error.{}", r.code))),
    }
}
