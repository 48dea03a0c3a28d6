//! The judging part of the JSON API: inviting and assigning judges, a judge's queue and
//! sheets (404 for anything not assigned, nothing written), results and publishing.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::repo::{self, Mode, SheetRow};
use super::results::{self, RoundQuery};
use super::{RawChange, SheetError};
use crate::domain::contests;
use crate::page::PageError;
use crate::security::MaybeUser;

fn page_error(e: PageError) -> ApiError {
    match e {
        PageError::NotFound => ApiError::not_found("the round"),
        PageError::Forbidden => ApiError::forbidden("not allowed"),
        PageError::SignIn => ApiError::unauthenticated(),
        PageError::Refused { status, code } => ApiError::new(
            status,
            code,
            hoithi_core::i18n::text(hoithi_core::i18n::Lang::En, &format!("refusal.{code}")),
        ),
        PageError::Internal(e) => ApiError::internal(e),
    }
}

fn sheet_error(e: SheetError) -> ApiError {
    let (status, message) = match e {
        SheetError::UnknownCriterion => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "no such criterion in this round",
        ),
        SheetError::OutOfRange => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "a score is outside 0..max",
        ),
        SheetError::NotAStep => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "scores are whole points (or halves where allowed)",
        ),
        SheetError::CommentTooLong => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "a comment has more than 5000 characters",
        ),
        SheetError::Submitted => (
            StatusCode::CONFLICT,
            "the sheet is submitted; an organizer can reopen it",
        ),
        SheetError::Incomplete => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "every criterion needs a score before submitting",
        ),
    };
    ApiError::new(status, e.code(), message)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    email: String,
    entries: Option<Vec<Uuid>>,
    #[serde(default)]
    conflict_units: Vec<String>,
}

/// Invites a judge (mail through the outbox) and assigns them: all entries they may score
/// in the current round, or the listed ones.
pub async fn invite(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    headers: axum::http::HeaderMap,
    body: Result<Json<InviteBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let c = super::organizer_contest_api(&state.db, &user, &slug).await?;
    let Json(body) = body.map_err(|e| ApiError::invalid("invalid-json", e.body_text()))?;
    let email = hoithi_core::domain::Email::parse(&body.email)
        .map_err(|_| ApiError::invalid("invalid-email", "not an email address"))?;
    let conflict = super::setup::unit_ids(&state.db, &body.conflict_units)
        .await?
        .ok_or_else(|| ApiError::invalid("unknown-unit", "a conflict unit does not exist"))?;
    let invited =
        super::setup::invite_judge(&state, &headers, &c, email.as_str(), &conflict, &user).await?;
    let round = repo::current_or_first_round(&state.db, c.contest_id).await?;
    repo::sync_first_round(&state.db, round.judging_round_id).await?;
    let entries = match body.entries {
        Some(entries) => entries,
        None => {
            sqlx::query_scalar("select entry_id from round_entry where judging_round_id = $1")
                .bind(round.judging_round_id)
                .fetch_all(&state.db)
                .await?
        }
    };
    let mode = Mode::Entries {
        email: email.as_str().to_owned(),
        entries,
    };
    let added = repo::assign(&state.db, round.judging_round_id, &mode)
        .await?
        .0;
    Ok((
        StatusCode::CREATED,
        // Until the invitation is accepted by the verified account of the address nothing is
        // assigned: the organizer assigns after acceptance (or with "all"/"even" later).
        Json(json!({
            "email": email.as_str(),
            "round": round.number,
            "accepted": matches!(invited, repo::Invited::Accepted { .. }),
            "assigned": added,
        })),
    )
        .into_response())
}

async fn sheet_json(db: &sqlx::PgPool, s: &SheetRow) -> Result<Value, ApiError> {
    let round = repo::round(db, s.judging_round_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    let criteria = repo::criteria(db, s.judging_round_id).await?;
    let scores = repo::sheet_scores(db, s.judge_assignment_id).await?;
    let media = crate::domain::entries::media::for_entry(db, s.entry_id).await?;
    Ok(json!({
        "entry": {"id": s.entry_id, "title": s.title, "description": s.description, "media": media},
        "round": round.number,
        "half_points": round.half_points,
        "criteria": criteria.iter().map(|c| json!({
            "id": c.judging_criterion_id, "name": c.name, "description": c.description,
            "max": c.max_score, "weight": c.weight,
        })).collect::<Vec<_>>(),
        "scores": scores.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "comment": s.comment,
        "comment_to_entrant": s.comment_to_entrant,
        "submitted": s.submitted_at.is_some(),
        "submitted_at": s.submitted_at,
    }))
}

pub async fn sheet(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let s = super::judge_sheet(&state.db, &user, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    Ok(Json(sheet_json(&state.db, &s).await?))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoresBody {
    #[serde(default)]
    scores: serde_json::Map<String, Value>,
    comment: Option<String>,
    comment_to_entrant: Option<String>,
    #[serde(default)]
    submit: bool,
}

/// Saves a draft (or submits with `"submit": true`). Not assigned, conflicted, or no open
/// round: 404 before anything is read from the body's scores or written.
pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    body: Result<Json<ScoresBody>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let s = super::judge_sheet(&state.db, &user, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    let Json(body) = body.map_err(|e| ApiError::invalid("invalid-json", e.body_text()))?;
    let mut scores = Vec::new();
    for (k, v) in body.scores {
        let value = match v {
            Value::Null => None,
            Value::Number(n) => Some(
                n.as_f64()
                    .ok_or_else(|| sheet_error(SheetError::OutOfRange))?,
            ),
            Value::String(t) if t.trim().is_empty() => None,
            Value::String(t) => {
                Some(super::parse_number(&t).ok_or_else(|| sheet_error(SheetError::OutOfRange))?)
            }
            _ => return Err(sheet_error(SheetError::OutOfRange)),
        };
        scores.push((k, value));
    }
    let change = RawChange {
        scores,
        comment: body.comment,
        comment_to_entrant: body.comment_to_entrant,
        submit: body.submit,
    };
    super::apply_change(&state.db, &s, change, user.app_user_id)
        .await?
        .map_err(sheet_error)?;
    let s = repo::sheet_for(&state.db, user.app_user_id, s.entry_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    Ok(Json(sheet_json(&state.db, &s).await?))
}

/// The judge's queue in a contest: assigned entries (no author), progress, own average.
pub async fn queue(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    if !repo::is_judge(&state.db, c.contest_id, user.app_user_id).await? {
        return Err(ApiError::not_found("the contest"));
    }
    let q = super::judge::queue_of(&state.db, &user, &c).await?;
    Ok(Json(json!({
        "contest": c.slug,
        "done": q.done,
        "remaining": q.remaining,
        "average": q.average,
        "entries": q.items.iter().map(|i| json!({
            "id": i.id, "title": i.title, "submitted": i.submitted, "score": i.score,
        })).collect::<Vec<_>>(),
    })))
}

pub async fn results(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path(slug): Path<String>,
    Query(q): Query<RoundQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    let organizer = match &user {
        Some(u) => crate::domain::access::organizes(&state.db, u, &c).await?,
        None => false,
    };
    let authors =
        crate::domain::entries::author::AuthorPolicy::load(&state.db, user.as_ref(), &c).await?;
    match results::api_view(&state, &c, organizer, authors.sees_all(), q.round)
        .await
        .map_err(page_error)?
    {
        Some(v) => Ok(Json(v)),
        None => Err(ApiError::not_found("published results")),
    }
}

pub async fn publish(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(slug): Path<String>,
    Query(q): Query<RoundQuery>,
) -> Result<Json<Value>, ApiError> {
    let c = super::organizer_contest_api(&state.db, &user, &slug).await?;
    let round = results::pick_round(&state.db, c.contest_id, q.round)
        .await
        .map_err(page_error)?;
    if !results::publish_round(&state, &c, round, user.app_user_id).await? {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "already-published",
            "these results are published already",
        ));
    }
    results::api_view(&state, &c, false, true, None)
        .await
        .map_err(page_error)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("published results"))
}
