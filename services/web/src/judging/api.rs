//! The judging part of the JSON API: inviting and assigning judges, a judge's list to score
//! and sheets (404 for anything not assigned, nothing written), results and publishing.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, JsonBody};
use hoithi_core::auth::CurrentUser;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::forms::RoundQuery;
use super::invite::invite_judge;
use crate::access::ApiOrganizerOf;
use crate::access::judge::ApiJudgeOf;
use crate::domain::contests::{self, ContestRow};
use crate::domain::entries::author::AuthorPolicy;
use crate::domain::judging::JudgingRefusal;
use crate::domain::judging::assign::{self, Mode};
use crate::domain::judging::judges::{self, Invited};
use crate::domain::judging::math::parse_number;
use crate::domain::judging::results;
use crate::domain::judging::rounds::{self, RoundRow};
use crate::domain::judging::sheets::{self, RawChange, SheetRow};
use crate::security::MaybeUser;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    email: String,
    entries: Option<Vec<Uuid>>,
    /// A category's slug: the judge gets that category's entries (not with `entries`).
    category: Option<String>,
    #[serde(default)]
    conflict_units: Vec<String>,
}

/// Invites a judge (mail through the outbox) and assigns them: all entries they may score
/// in the current round, or the listed ones.
pub async fn invite(
    State(state): State<AppState>,
    ApiOrganizerOf { user, contest }: ApiOrganizerOf,
    headers: HeaderMap,
    JsonBody(body): JsonBody<InviteBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let email =
        hoithi_core::domain::Email::parse(&body.email).map_err(|_| JudgingRefusal::InvalidEmail)?;
    let conflict = judges::unit_ids(&state.db, &body.conflict_units)
        .await?
        .ok_or(JudgingRefusal::UnknownUnit)?;
    let invited =
        invite_judge(&state, &headers, &contest, email.as_str(), &conflict, &user).await?;
    let round = rounds::current_or_first_round(&state.db, contest.contest_id).await?;
    rounds::sync_first_round(&state.db, round.judging_round_id).await?;
    let entries = match (body.entries, &body.category) {
        (Some(_), Some(_)) => return Err(JudgingRefusal::ChoiceInvalid.into()),
        (Some(entries), None) => entries,
        (None, Some(slug)) => judges::entries_of_category(&state.db, contest.contest_id, slug)
            .await?
            .ok_or(JudgingRefusal::ChoiceInvalid)?,
        (None, None) => rounds::entries(&state.db, round.judging_round_id).await?,
    };
    let mode = Mode::Entries {
        email: email.as_str().to_owned(),
        entries,
    };
    let added = assign::assign(&state.db, round.judging_round_id, &mode)
        .await?
        .added;
    Ok((
        StatusCode::CREATED,
        // Until the invitation is accepted by the verified account of the address nothing is
        // assigned: the organizer assigns after acceptance (or with "all"/"even" later).
        Json(json!({
            "email": email.as_str(),
            "round": round.number,
            "accepted": matches!(invited, Invited::Accepted { .. }),
            "assigned": added,
        })),
    ))
}

async fn sheet_json(db: &sqlx::PgPool, s: &SheetRow) -> Result<Value, ApiError> {
    let round = rounds::round(db, s.judging_round_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    let criteria = rounds::criteria_of_entry(db, s.judging_round_id, s.entry_id).await?;
    let scores = sheets::sheet_scores(db, s.judge_assignment_id).await?;
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

/// The caller's sheet of entry `id`; 404 for anything they may not score.
async fn own_sheet(db: &sqlx::PgPool, user: &CurrentUser, id: &str) -> Result<SheetRow, ApiError> {
    sheets::judge_sheet(db, user.app_user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))
}

pub async fn sheet(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let s = own_sheet(&state.db, &user, &id).await?;
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

/// A score as the API gives it: a number, a typed string ("7,5"), or null/"" to clear it.
fn score_value(v: Value) -> Result<Option<f64>, JudgingRefusal> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => n.as_f64().map(Some).ok_or(JudgingRefusal::ScoreOutOfRange),
        Value::String(t) if t.trim().is_empty() => Ok(None),
        Value::String(t) => parse_number(&t)
            .map(Some)
            .ok_or(JudgingRefusal::ScoreOutOfRange),
        _ => Err(JudgingRefusal::ScoreOutOfRange),
    }
}

/// Saves a draft (or submits with `"submit": true`). Not assigned, conflicted, or no open
/// round: 404 before anything is read from the body's scores or written.
pub async fn save(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ScoresBody>,
) -> Result<Json<Value>, ApiError> {
    let s = own_sheet(&state.db, &user, &id).await?;
    let mut scores = Vec::new();
    for (k, v) in body.scores {
        scores.push((k, score_value(v)?));
    }
    let change = RawChange {
        scores,
        comment: body.comment,
        comment_to_entrant: body.comment_to_entrant,
        submit: body.submit,
    };
    sheets::apply_change(&state.db, &s, change, user.app_user_id).await??;
    let s = sheets::sheet_for(&state.db, user.app_user_id, s.entry_id)
        .await?
        .ok_or_else(|| ApiError::not_found("the entry"))?;
    Ok(Json(sheet_json(&state.db, &s).await?))
}

/// The judge's list to score in a contest: assigned entries (no author), progress, own
/// average.
pub async fn to_score(
    State(state): State<AppState>,
    ApiJudgeOf { user, contest }: ApiJudgeOf,
) -> Result<Json<Value>, ApiError> {
    let q = sheets::to_score(&state.db, user.app_user_id, contest.contest_id).await?;
    Ok(Json(json!({
        "contest": contest.slug,
        "done": q.done,
        "remaining": q.remaining,
        "average": q.average,
        "entries": q.items.iter().map(|i| json!({
            "id": i.id, "title": i.title, "submitted": i.submitted, "score": i.score,
        })).collect::<Vec<_>>(),
    })))
}

async fn api_round(
    db: &sqlx::PgPool,
    c: &ContestRow,
    number: Option<i32>,
) -> Result<RoundRow, ApiError> {
    rounds::pick(db, c.contest_id, number)
        .await?
        .ok_or_else(|| ApiError::not_found("the round"))
}

/// Organizers get the live standings of the latest round (or `?round=N`), everyone else the
/// latest published snapshot (with authors only for those the contest shows them to) or 404.
/// Public, so the organizer's wider view is decided here with the one access rule.
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
    if organizer {
        let round = api_round(&state.db, &c, q.round).await?;
        return Ok(Json(results::organizer_view(&state.db, &c, round).await?));
    }
    let authors = AuthorPolicy::load(&state.db, user.as_ref(), &c).await?;
    results::public_view(&state.db, c.contest_id, authors.sees_all())
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("published results"))
}

/// `?round=N` (default the latest) and `?end_voting=true`: the caller confirms ending the
/// open voting now to publish (refused with `voting-still-open` without it).
#[derive(Debug, Default, Deserialize)]
pub struct PublishQuery {
    round: Option<i32>,
    #[serde(default)]
    end_voting: bool,
}

pub async fn publish(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiOrganizerOf { user, contest }: ApiOrganizerOf,
    Query(q): Query<PublishQuery>,
) -> Result<Json<Value>, ApiError> {
    let round = api_round(&state.db, &contest, q.round).await?;
    let id = round.judging_round_id;
    results::publish(&state.db, &contest, round, user.app_user_id, q.end_voting).await??;
    super::results::mail_entrants(&state, &headers, &contest, id).await?;
    super::results::nominate_up(&state, &headers, &contest, id).await?;
    results::public_view(&state.db, contest.contest_id, true)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("published results"))
}
