//! Editing a contest after its creation: the organizer's edit page
//! (`/organize/contests/{slug}/edit`) and `PATCH /api/v1/contests/{slug}`. Both make a
//! `ContestPatch` and hand it to `domain::contests::edit`, which validates it as the creation
//! does, applies the fairness locks and records the history. The page sends only the fields
//! the organizer changed (what it showed is compared with what comes back), so a form open
//! for an hour does not put back what someone else saved meanwhile.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Json};
use chrono::Utc;
use hoithi_core::AppState;
use hoithi_core::api_error::{ApiError, JsonBody};
use hoithi_core::auth::CurrentUser;
use hoithi_core::i18n::Lang;
use serde::Deserialize;

use super::form::{ContestForm, form_errors};
use super::refusal::field_errors;
use crate::access::{ApiOrganizerOf, OrganizerOf};
use crate::domain::contests::ContestRow;
use crate::domain::contests::edit::{
    self, ContestPatch, EditError, Edited, Facts, HistoryLine, PhasesPatch, WindowPatch,
};
use crate::domain::contests::refusal::FieldError;
use crate::domain::contests::spec::Limits;
use crate::format::datetime_local;
use crate::page::{Ctx, Page, PageError, render};

/// The public address of the contest's page (for the entrants' mail).
pub fn contest_link(state: &AppState, c: &ContestRow) -> String {
    format!("{}/contests/{}", crate::mail::origin(&state.config), c.slug)
}

/// Applies `patch` in a transaction of its own: what was done, or the broken rules.
pub(crate) async fn save(
    state: &AppState,
    user: &CurrentUser,
    contest: &ContestRow,
    patch: &ContestPatch,
) -> Result<Result<Edited, Vec<FieldError>>, sqlx::Error> {
    let link = contest_link(state, contest);
    let mut tx = state.db.begin().await?;
    let now = Utc::now();
    match edit::apply(&mut tx, user, contest.contest_id, patch, &link, now).await {
        Ok(done) => {
            tx.commit().await?;
            Ok(Ok(done))
        }
        Err(EditError::Fields(errors)) => Ok(Err(errors)),
        Err(EditError::Db(e)) => Err(e),
    }
}

/// `PATCH /api/v1/contests/{slug}`: the contest as `GET` shows it (200), or every broken rule
/// with its field.
#[utoipa::path(
    patch,
    path = "/api/v1/contests/{slug}",
    operation_id = "edit_contest",
    summary = "edit a contest (organizer of its unit, admin): any subset of the creation fields; the same validation as creation, the fairness locks, the change history",
    security(("bearer" = [])),
    params(
        ("slug" = String, Path),
    ),
    request_body = ContestPatch,
    responses(
        (status = 200, description = "the contest, as GET shows it"),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 403, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 422, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn api_patch(
    State(state): State<AppState>,
    ApiOrganizerOf { user, contest }: ApiOrganizerOf,
    JsonBody(patch): JsonBody<ContestPatch>,
) -> Result<Response, ApiError> {
    match save(&state, &user, &contest, &patch).await? {
        Ok(done) => Ok(Json(done.contest.json()).into_response()),
        Err(errors) => Ok(field_errors(&errors)),
    }
}

/// The form as the page shows a contest: what the organizer sees, and what a field left as
/// it was is compared against.
fn form_of(c: &ContestRow, eligible: &str) -> ContestForm {
    let on = |b: bool| b.then(|| "on".to_owned());
    let opt = |d: Option<chrono::DateTime<Utc>>| d.map(|d| datetime_local(&d)).unwrap_or_default();
    let mib = |b: i64| (b / (1024 * 1024)).to_string();
    ContestForm {
        slug: c.slug.clone(),
        title: c.title.clone(),
        description: c.description.clone(),
        rules: c.rules.clone(),
        cover_url: c.cover_url.clone().unwrap_or_default(),
        unit: c.unit_slug.clone().unwrap_or_default(),
        eligible_units: eligible.to_owned(),
        kind_video: on(c.kinds.iter().any(|k| k == "video")),
        kind_photo: on(c.kinds.iter().any(|k| k == "photo")),
        submission_opens_at: datetime_local(&c.submission_opens_at),
        submission_closes_at: datetime_local(&c.submission_closes_at),
        judging_opens_at: opt(c.judging_opens_at),
        judging_closes_at: opt(c.judging_closes_at),
        voting_opens_at: opt(c.voting_opens_at),
        voting_closes_at: opt(c.voting_closes_at),
        results_at: opt(c.results_at),
        max_photo_mb: mib(c.max_photo_bytes),
        max_video_mb: mib(c.max_video_bytes),
        max_video_seconds: c.max_video_seconds.to_string(),
        max_entries_per_member: c.max_entries_per_member.to_string(),
        upload_grace_minutes: c.upload_grace_minutes.to_string(),
        max_team_members: c.max_team_members.to_string(),
        max_series_photos: c.max_series_photos.to_string(),
        requires_moderation: on(c.requires_moderation),
        hide_author: on(c.hide_author),
        requires_birth_date: on(c.requires_birth_date),
        retention_days: c.retention_days.map(|d| d.to_string()).unwrap_or_default(),
        voting_overlaps_submission: on(c.voting_overlaps_submission),
    }
}

/// The edit form as HTML sends it: the creation form's fields, and "dời các vòng sau theo".
#[derive(Debug, Deserialize)]
pub struct EditForm {
    #[serde(flatten)]
    form: ContestForm,
    shift_later: Option<String>,
}

/// The patch of what differs between the form as shown and as sent, with the errors of
/// fields that are not even numbers. Locked parts the page does not send (disabled boxes)
/// are left out.
fn patch_of(
    sent: &ContestForm,
    shown: &ContestForm,
    shift: bool,
) -> (ContestPatch, Vec<FieldError>) {
    let (spec, errors) = sent.to_spec();
    let changed = |a: &String, b: &String| a.trim() != b.trim();
    let text = |a: &String, b: &String| changed(a, b).then(|| a.clone());
    let mut p = ContestPatch {
        title: text(&sent.title, &shown.title),
        description: text(&sent.description, &shown.description),
        rules: text(&sent.rules, &shown.rules),
        cover_url: changed(&sent.cover_url, &shown.cover_url).then(|| Some(sent.cover_url.clone())),
        eligible_units: changed(&sent.eligible_units, &shown.eligible_units)
            .then(|| spec.eligible_units.clone().unwrap_or_default()),
        shift_later: shift,
        ..ContestPatch::default()
    };
    if (sent.kind_video.is_some(), sent.kind_photo.is_some())
        != (shown.kind_video.is_some(), shown.kind_photo.is_some())
    {
        p.kinds = Some(spec.kinds.clone());
    }
    p.phases = phases_patch(sent, shown);
    let limits = spec.limits.clone().unwrap_or_default();
    let l = Limits {
        max_photo_bytes: limits
            .max_photo_bytes
            .filter(|_| changed(&sent.max_photo_mb, &shown.max_photo_mb)),
        max_video_bytes: limits
            .max_video_bytes
            .filter(|_| changed(&sent.max_video_mb, &shown.max_video_mb)),
        max_video_seconds: limits
            .max_video_seconds
            .filter(|_| changed(&sent.max_video_seconds, &shown.max_video_seconds)),
        max_entries_per_member: limits
            .max_entries_per_member
            .filter(|_| changed(&sent.max_entries_per_member, &shown.max_entries_per_member)),
        upload_grace_minutes: limits
            .upload_grace_minutes
            .filter(|_| changed(&sent.upload_grace_minutes, &shown.upload_grace_minutes)),
        max_team_members: limits
            .max_team_members
            .filter(|_| changed(&sent.max_team_members, &shown.max_team_members)),
        max_series_photos: limits
            .max_series_photos
            .filter(|_| changed(&sent.max_series_photos, &shown.max_series_photos)),
    };
    p.limits = Some(l);
    let flag = |a: &Option<String>, b: &Option<String>| {
        (a.is_some() != b.is_some()).then_some(a.is_some())
    };
    p.requires_moderation = flag(&sent.requires_moderation, &shown.requires_moderation);
    p.hide_author = flag(&sent.hide_author, &shown.hide_author);
    p.requires_birth_date = flag(&sent.requires_birth_date, &shown.requires_birth_date);
    p.voting_overlaps_submission = flag(
        &sent.voting_overlaps_submission,
        &shown.voting_overlaps_submission,
    );
    if changed(&sent.retention_days, &shown.retention_days) {
        p.retention_days = Some(spec.retention_days);
    }
    (p, errors)
}

/// The dates the organizer changed; a phase whose two dates are emptied is removed.
fn phases_patch(sent: &ContestForm, shown: &ContestForm) -> Option<PhasesPatch> {
    let changed = |a: &String, b: &String| (a.trim() != b.trim()).then(|| a.clone());
    let window = |o: (&String, &String), c: (&String, &String)| {
        let (opens_at, closes_at) = (changed(o.0, o.1), changed(c.0, c.1));
        if opens_at.is_none() && closes_at.is_none() {
            return None;
        }
        if o.0.trim().is_empty() && c.0.trim().is_empty() {
            return Some(None);
        }
        Some(Some(WindowPatch {
            opens_at,
            closes_at,
        }))
    };
    let submission = window(
        (&sent.submission_opens_at, &shown.submission_opens_at),
        (&sent.submission_closes_at, &shown.submission_closes_at),
    )
    .map(Option::unwrap_or_default);
    let judging = window(
        (&sent.judging_opens_at, &shown.judging_opens_at),
        (&sent.judging_closes_at, &shown.judging_closes_at),
    );
    let voting = window(
        (&sent.voting_opens_at, &shown.voting_opens_at),
        (&sent.voting_closes_at, &shown.voting_closes_at),
    );
    let results_at = changed(&sent.results_at, &shown.results_at)
        .map(|r| Some(r).filter(|r| !r.trim().is_empty()));
    let p = PhasesPatch {
        submission,
        judging,
        voting,
        results_at,
    };
    (p.submission.is_some() || p.judging.is_some() || p.voting.is_some() || p.results_at.is_some())
        .then_some(p)
}

#[derive(Template)]
#[template(path = "contests/edit.html")]
struct EditPage {
    page: Page,
    c: ContestRow,
    form: ContestForm,
    shift_later: bool,
    errors: Vec<(&'static str, String)>,
    facts: Facts,
}

impl EditPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    fn kinds_locked(&self) -> bool {
        self.facts.entries > 0
    }
}

async fn eligible_text(state: &AppState, c: &ContestRow) -> sqlx::Result<String> {
    let ids = c.eligible_unit_ids.clone().unwrap_or_default();
    let slugs: Vec<String> = sqlx::query_scalar(
        "select u.slug from unnest($1::int8[]) with ordinality as x(id, n)
         join unit u on u.unit_id = x.id order by x.n",
    )
    .bind(&ids)
    .fetch_all(&state.db)
    .await?;
    Ok(slugs.join(", "))
}

async fn facts(state: &AppState, c: &ContestRow) -> sqlx::Result<Facts> {
    let mut conn = state.db.acquire().await?;
    edit::facts(&mut conn, c.contest_id).await
}

/// `GET /organize/contests/{slug}/edit`: the contest's fields, what is locked and why.
pub async fn edit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { contest, .. }: OrganizerOf,
) -> Result<Response, PageError> {
    let eligible = eligible_text(&state, &contest).await?;
    let facts = facts(&state, &contest).await?;
    let mut page = ctx.page("contest.edit.title");
    page.title = format!("{} — {}", page.title, contest.title);
    Ok(crate::page::no_store(render(
        StatusCode::OK,
        &EditPage {
            page,
            form: form_of(&contest, &eligible),
            c: contest,
            shift_later: false,
            errors: vec![],
            facts,
        },
    )))
}

/// `POST /organize/contests/{slug}/edit`: saves what changed and comes back to the page with
/// "Đã lưu"; broken rules show the form again with what was typed.
pub async fn edit_save(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { user, contest }: OrganizerOf,
    Form(mut sent): Form<EditForm>,
) -> Result<Response, PageError> {
    let eligible = eligible_text(&state, &contest).await?;
    let shown = form_of(&contest, &eligible);
    let shift = sent.shift_later.is_some();
    let facts = facts(&state, &contest).await?;
    // Locked boxes are shown disabled, and a browser sends nothing for them.
    if facts.entries > 0 {
        sent.form.kind_video.clone_from(&shown.kind_video);
        sent.form.kind_photo.clone_from(&shown.kind_photo);
        sent.form
            .requires_birth_date
            .clone_from(&shown.requires_birth_date);
    }
    let (patch, mut errors) = patch_of(&sent.form, &shown, shift);
    if errors.is_empty() {
        match save(&state, &user, &contest, &patch).await? {
            Ok(_) => {
                let to = format!("/organize/contests/{}/edit?saved=contest", contest.slug);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => errors = e,
        }
    }
    let mut page = ctx.page("contest.edit.title");
    page.title = format!("{} — {}", page.title, contest.title);
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &EditPage {
            page,
            errors: form_errors(&ctx, errors),
            form: sent.form,
            c: contest,
            shift_later: shift,
            facts,
        },
    ))
}

/// A line of the history as the manage page shows it.
pub struct HistoryView {
    pub at: String,
    pub who: String,
    pub field: String,
    pub old: String,
    pub new: String,
}

/// A stored value the way a person reads it: dates in Vietnam time, sizes in MB, yes/no.
fn shown_value(lang: Lang, field: &str, value: Option<&str>) -> String {
    let Some(v) = value else {
        return "—".to_owned();
    };
    if field.ends_with("_at")
        && let Ok(t) = chrono::DateTime::parse_from_rfc3339(v)
    {
        return crate::format::datetime(lang, &t.with_timezone(&Utc));
    }
    if field.ends_with("_bytes")
        && let Ok(n) = v.parse::<i64>()
    {
        return format!("{} MB", crate::format::number(lang, n / (1024 * 1024)));
    }
    match v {
        "true" => hoithi_core::i18n::text(lang, "contest.change.yes").to_owned(),
        "false" => hoithi_core::i18n::text(lang, "contest.change.no").to_owned(),
        _ if v.chars().count() > 120 => format!("{}…", v.chars().take(120).collect::<String>()),
        _ => v.to_owned(),
    }
}

/// The history of a contest for its manage page, newest first.
pub async fn history_view(
    state: &AppState,
    ctx: &Ctx,
    c: &ContestRow,
) -> sqlx::Result<Vec<HistoryView>> {
    let lines: Vec<HistoryLine> = edit::history(&state.db, c.contest_id).await?;
    Ok(lines
        .into_iter()
        .map(|l| {
            let key = format!("contest.change.{}", l.field);
            let label = ctx.t(&key);
            HistoryView {
                at: crate::format::datetime(ctx.lang, &l.created_at),
                who: l.display_name.unwrap_or_default(),
                field: if label == key {
                    l.field.clone()
                } else {
                    label.to_owned()
                },
                old: shown_value(ctx.lang, &l.field, l.old_value.as_deref()),
                new: shown_value(ctx.lang, &l.field, l.new_value.as_deref()),
            }
        })
        .collect())
}
