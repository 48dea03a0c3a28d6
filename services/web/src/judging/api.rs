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

#[derive(Debug, Deserialize, utoipa::ToSchema)]
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
#[utoipa::path(
    post,
    path = "/api/v1/contests/{slug}/judges",
    operation_id = "invite_judge",
    summary = "invite a judge by email (mailed through the outbox). When the address belongs to a verified account, that account is the judge at once and is assigned the listed entries, or every entry of the current round it may score (never its own unit's or a listed conflict unit's). Otherwise the mail carries a single-use link (/judging/{slug}/invite/{token}, 14 days; inviting again sends a new one) that only the signed-in account of that address, once verified, can accept; nothing is assigned and no queue or sheet answers until then (404)",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = InviteBody,
    responses(
        (status = 201, description = "{email, round, accepted, assigned}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
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

#[utoipa::path(
    get,
    path = "/api/v1/entries/{id}/scores",
    operation_id = "get_score_sheet",
    summary = "the judge's own sheet of an assigned entry: entry (title, description, media — never the author or file names), criteria, scores, comments, submitted",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
    ),
    responses(
        (status = 200, description = "the sheet"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn sheet(
    State(state): State<AppState>,
    user: CurrentUser,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let s = own_sheet(&state.db, &user, &id).await?;
    Ok(Json(sheet_json(&state.db, &s).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoresBody {
    /// Criterion id → score (0..max; halves where the round allows them); null clears.
    #[serde(default)]
    #[schema(value_type = Object)]
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
#[utoipa::path(
    put,
    path = "/api/v1/entries/{id}/scores",
    operation_id = "save_score_sheet",
    summary = "save the judge's draft (every write audited); submit: true locks it until an organizer reopens it. 404 when not assigned or a conflict of interest, and nothing is written",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
    ),
    request_body = ScoresBody,
    responses(
        (status = 200, description = "the sheet"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/judging/queue",
    operation_id = "judging_queue",
    summary = "the judge's assigned entries in open rounds (no author on blind contests), done/remaining and their own average",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    responses(
        (status = 200, description = "{contest, done, remaining, average, entries: [{id, title, submitted, score}]}"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/contests/{slug}/results",
    operation_id = "get_results",
    summary = "results: anyone gets the latest published snapshot (404 before publishing; `author` and `unit` are null where the contest hides authors, and on a blind contest while a later round is still unpublished); organizers get the live computation of a round with judge names. Entries rank within their category; `categories` lists the categories in order, each with `judges_weight` and `public_weight` when it combines on its own weights (the others follow `formula`)",
    params(
        ("slug" = String, Path),
        ("round" = Option<i64>, Query, minimum = 1, maximum = 2147483647, description = "a round number; default the latest"),
    ),
    responses(
        (status = 200, description = "{round, round_name, published, published_at, formula, criteria, categories: [{slug, name}], entries: [{id, rank, category: {slug, name} | null, title, author, unit, judges: [{judge, weighted, normalized}], judge_score, judge_score_normalized, votes, vote_points, combined, advanced}]}; in a contest with categories the entries are grouped by category (in the categories' order) and ranked 1, 2, … within each"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
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

#[utoipa::path(
    post,
    path = "/api/v1/contests/{slug}/results/publish",
    operation_id = "publish_results",
    summary = "freeze and publish a round's results (once); refused with voting-still-open (409) while the contest's voting is open unless end_voting=true, which closes voting at that moment (logged) and publishes; each entrant is mailed once",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
        ("round" = Option<i64>, Query, minimum = 1, maximum = 2147483647, description = "a round number; default the latest"),
        ("end_voting" = Option<bool>, Query, description = "the caller confirms ending the open voting now to publish"),
    ),
    responses(
        (status = 200, description = "the published snapshot"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
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
