//! Contests: phases from dates (with early closes and reopens, logged), the organizer's form
//! and dashboard, the public contest page with its gallery, and the JSON API.

pub mod spec;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Role;
use serde::Deserialize;
use serde_json::json;

use crate::domain::access::manages;
use crate::domain::contests::{ContestRow, Phase, all, by_id, by_slug};
use crate::domain::entries::gallery::{GalleryItem, gallery};
use crate::format::{datetime_local, parse_time};
use crate::page::{Ctx, Page, PageError, render};
use spec::{ContestSpec, FieldError, InsertError, Limits, Phases, Window};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contests/{slug}", get(contest_page))
        .route("/organize", get(dashboard))
        .route(
            "/organize/contests/new",
            get(new_form).post(create_from_form),
        )
        .route("/organize/contests/{slug}", get(manage_page))
        .route("/organize/contests/{slug}/phase", post(change_phase))
        .route("/api/v1/contests", get(api_list).post(api_create))
        .route("/api/v1/contests/{slug}", get(api_get))
}

// ---------- JSON API ----------

async fn api_list(State(state): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = all(&state.db).await?;
    Ok(Json(
        json!({"contests": rows.iter().map(ContestRow::json).collect::<Vec<_>>()}),
    ))
}

async fn api_get(
    State(state): State<AppState>,
    Path(slug): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let row = by_slug(&state.db, &slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    Ok(Json(row.json()))
}

/// Creates a contest from a spec for `user` (organizer in scope, or admin). Shared by the
/// API and the form.
pub async fn create(
    db: &sqlx::PgPool,
    user: Option<&CurrentUser>,
    spec: &ContestSpec,
) -> Result<Result<i64, Vec<FieldError>>, sqlx::Error> {
    let mut valid = match spec.validate() {
        Ok(v) => v,
        Err(errors) => return Ok(Err(errors)),
    };
    if valid.unit.is_none()
        && let Some(u) = user.filter(|u| u.role == Role::Organizer)
        && let Some(uid) = u.unit_id
    {
        valid.unit = sqlx::query_scalar("select slug from unit where unit_id = $1")
            .bind(uid)
            .fetch_optional(db)
            .await?;
    }
    let mut tx = db.begin().await?;
    let unit = match spec::resolve_unit(&mut tx, &valid).await {
        Ok(u) => u,
        Err(InsertError::Field(f)) => return Ok(Err(vec![f])),
        Err(InsertError::Other(e)) => return Err(e),
    };
    if let Some(user) = user
        && !manages(&mut *tx, user, unit).await?
    {
        return Ok(Err(vec![FieldError {
            field: "unit",
            code: "unit-out-of-scope",
        }]));
    }
    match spec::insert(&mut tx, &valid, unit, user.map(|u| u.app_user_id)).await {
        Ok(id) => {
            tx.commit().await?;
            Ok(Ok(id))
        }
        Err(InsertError::Field(f)) => Ok(Err(vec![f])),
        Err(InsertError::Other(e)) => Err(e),
    }
}

fn require_organizer_api(user: &CurrentUser) -> Result<(), ApiError> {
    if matches!(user.role, Role::Admin | Role::Organizer) {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "only organizers and admins manage contests",
        ))
    }
}

async fn api_create(
    State(state): State<AppState>,
    user: CurrentUser,
    body: Result<Json<ContestSpec>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    require_organizer_api(&user)?;
    let Json(spec) = body.map_err(|e| ApiError::invalid("invalid-json", e.body_text()))?;
    match create(&state.db, Some(&user), &spec).await? {
        Ok(id) => {
            let row = by_id(&state.db, id)
                .await?
                .ok_or_else(|| ApiError::not_found("the contest"))?;
            Ok((StatusCode::CREATED, Json(row.json())).into_response())
        }
        Err(errors) => {
            let first = errors[0].clone();
            let status = match first.code {
                "slug-taken" => StatusCode::CONFLICT,
                "unit-out-of-scope" => StatusCode::FORBIDDEN,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let fields: Vec<_> = errors
                .iter()
                .map(|e| json!({"field": e.field, "code": e.code}))
                .collect();
            Ok((
                status,
                Json(json!({"error": {
                    "code": first.code,
                    "message": format!("{}: {}", first.field, first.code),
                    "fields": fields,
                }})),
            )
                .into_response())
        }
    }
}

// ---------- pages ----------

#[derive(Template)]
#[template(path = "contests/contest.html")]
struct ContestPage {
    page: Page,
    c: ContestRow,
    phase: &'static str,
    next_change: Option<DateTime<Utc>>,
    can_enter: bool,
    can_manage: bool,
    entries: Vec<GalleryItem>,
    units: Vec<(String, String)>,
    q: String,
    unit: String,
    live_now: Vec<crate::domain::streams::repo::LiveNow>,
}

#[derive(Debug, Default, Deserialize)]
struct GalleryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    unit: String,
}

async fn contest_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(query): Query<GalleryQuery>,
) -> Result<Response, PageError> {
    let c = by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let now = Utc::now();
    let phase = c.phase_at(now);
    let can_manage = match &ctx.user {
        Some(u) => manages(&state.db, u, c.unit_id).await?,
        None => false,
    };
    let q: String = query.q.trim().chars().take(100).collect();
    let authors =
        crate::domain::entries::author::AuthorPolicy::load(&state.db, ctx.user.as_ref(), &c)
            .await?;
    let hidden = !authors.sees_all();
    let unit = if hidden {
        String::new()
    } else {
        query.unit.trim().to_owned()
    };
    let mut entries = gallery(&state.db, c.contest_id, &authors, &q, &unit).await?;
    // While voting, each voter sees the entries in their own order (position bias).
    let seed = ctx.visitor_seed();
    let voting_open =
        c.voting_opens_at.is_some_and(|o| o <= now) && c.voting_closes_at.is_none_or(|x| now < x);
    crate::domain::voting::policy::shuffle_for_voter(
        &c.settings,
        voting_open,
        &seed,
        &mut entries,
        |e| e.id,
    );
    let units = if hidden {
        Vec::new()
    } else {
        crate::accounts::unit_choices(&state.db).await?
    };
    let live_now = crate::domain::streams::repo::live_now(&state.db, Some(c.contest_id)).await?;
    let mut page = ctx.page("contest.title");
    page.title.clone_from(&c.title);
    Ok(render(
        StatusCode::OK,
        &ContestPage {
            page,
            phase: phase.as_str(),
            next_change: c.next_change(now),
            can_enter: phase == Phase::Submission,
            can_manage,
            c,
            entries,
            units,
            q,
            unit,
            live_now,
        },
    ))
}

fn require_organizer(ctx: &Ctx) -> Result<&CurrentUser, PageError> {
    match &ctx.user {
        None => Err(PageError::SignIn),
        Some(u) if matches!(u.role, Role::Admin | Role::Organizer) => Ok(u),
        Some(_) => Err(PageError::Forbidden),
    }
}

#[derive(Template)]
#[template(path = "contests/dashboard.html")]
struct DashboardPage {
    page: Page,
    contests: Vec<(ContestRow, &'static str, i64)>,
}

async fn dashboard(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = require_organizer(&ctx)?;
    let mut contests = Vec::new();
    for c in all(&state.db).await? {
        if manages(&state.db, user, c.unit_id).await? {
            let pending: i64 = sqlx::query_scalar(
                "select count(*) from entry where contest_id = $1 and status = 'pending_review'",
            )
            .bind(c.contest_id)
            .fetch_one(&state.db)
            .await?;
            let phase = c.phase().as_str();
            contests.push((c, phase, pending));
        }
    }
    Ok(render(
        StatusCode::OK,
        &DashboardPage {
            page: ctx.page("organize.title"),
            contests,
        },
    ))
}

/// The organizer's form, flat as HTML sends it; times are Vietnam local times.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct ContestForm {
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub rules: String,
    #[serde(default)]
    pub cover_url: String,
    #[serde(default)]
    pub unit: String,
    /// Comma-separated unit slugs.
    #[serde(default)]
    pub eligible_units: String,
    pub kind_video: Option<String>,
    pub kind_photo: Option<String>,
    #[serde(default)]
    pub submission_opens_at: String,
    #[serde(default)]
    pub submission_closes_at: String,
    #[serde(default)]
    pub judging_opens_at: String,
    #[serde(default)]
    pub judging_closes_at: String,
    #[serde(default)]
    pub voting_opens_at: String,
    #[serde(default)]
    pub voting_closes_at: String,
    #[serde(default)]
    pub results_at: String,
    #[serde(default)]
    pub max_photo_mb: String,
    #[serde(default)]
    pub max_video_mb: String,
    #[serde(default)]
    pub max_video_seconds: String,
    #[serde(default)]
    pub max_entries_per_member: String,
    #[serde(default)]
    pub upload_grace_minutes: String,
    pub requires_moderation: Option<String>,
    pub hide_author: Option<String>,
}

impl ContestForm {
    fn defaults() -> Self {
        Self {
            kind_video: Some("on".into()),
            kind_photo: Some("on".into()),
            max_photo_mb: "30".into(),
            max_video_mb: "1536".into(),
            max_video_seconds: "180".into(),
            max_entries_per_member: "1".into(),
            upload_grace_minutes: "30".into(),
            requires_moderation: Some("on".into()),
            ..Self::default()
        }
    }

    /// The spec, plus errors of fields that are not even numbers.
    fn to_spec(&self) -> (ContestSpec, Vec<FieldError>) {
        let mut errors = Vec::new();
        let mut num = |s: &str, field: &'static str| -> Option<i64> {
            let s = s.trim();
            if s.is_empty() {
                return None;
            }
            match s.replace(['.', ','], "").parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    errors.push(FieldError {
                        field,
                        code: "invalid-number",
                    });
                    None
                }
            }
        };
        let limits = Limits {
            max_photo_bytes: num(&self.max_photo_mb, "max_photo_bytes")
                .map(|n| n.saturating_mul(1024 * 1024)),
            max_video_bytes: num(&self.max_video_mb, "max_video_bytes")
                .map(|n| n.saturating_mul(1024 * 1024)),
            max_video_seconds: num(&self.max_video_seconds, "max_video_seconds")
                .map(|n| n.clamp(-1, i64::from(i32::MAX)) as i32),
            max_entries_per_member: num(&self.max_entries_per_member, "max_entries_per_member")
                .map(|n| n.clamp(-1, i64::from(i32::MAX)) as i32),
            upload_grace_minutes: num(&self.upload_grace_minutes, "upload_grace_minutes")
                .map(|n| n.clamp(-1, i64::from(i32::MAX)) as i32),
        };
        let w = |o: &str, c: &str| {
            (!o.trim().is_empty() || !c.trim().is_empty()).then(|| Window {
                opens_at: o.to_owned(),
                closes_at: c.to_owned(),
            })
        };
        let mut kinds = Vec::new();
        if self.kind_video.is_some() {
            kinds.push("video".to_owned());
        }
        if self.kind_photo.is_some() {
            kinds.push("photo".to_owned());
        }
        let spec = ContestSpec {
            slug: self.slug.clone(),
            title: self.title.clone(),
            description: Some(self.description.clone()),
            rules: Some(self.rules.clone()),
            cover_url: Some(self.cover_url.clone()),
            unit: Some(self.unit.clone()),
            eligible_units: Some(
                self.eligible_units
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
            kinds,
            phases: Phases {
                submission: Window {
                    opens_at: self.submission_opens_at.clone(),
                    closes_at: self.submission_closes_at.clone(),
                },
                judging: w(&self.judging_opens_at, &self.judging_closes_at),
                voting: w(&self.voting_opens_at, &self.voting_closes_at),
                results_at: Some(self.results_at.clone()),
            },
            limits: Some(limits),
            requires_moderation: Some(self.requires_moderation.is_some()),
            blind_judging: None,
            hide_author: Some(self.hide_author.is_some()),
            criteria: None,
            weights: None,
            vote_policy: None,
        };
        (spec, errors)
    }
}

#[derive(Template)]
#[template(path = "contests/new.html")]
struct NewContestPage {
    page: Page,
    form: ContestForm,
    units: Vec<(String, String)>,
    errors: Vec<(&'static str, String)>,
}

impl NewContestPage {
    fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    fn selected(&self, slug: &str) -> bool {
        self.form.unit == slug
    }
}

async fn new_form(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    require_organizer(&ctx)?;
    Ok(render(
        StatusCode::OK,
        &NewContestPage {
            page: ctx.page("contest.new.title"),
            form: ContestForm::defaults(),
            units: crate::accounts::unit_choices(&state.db).await?,
            errors: vec![],
        },
    ))
}

async fn create_from_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Form(form): Form<ContestForm>,
) -> Result<Response, PageError> {
    let user = require_organizer(&ctx)?;
    let (spec, mut errors) = form.to_spec();
    if errors.is_empty() {
        match create(&state.db, Some(user), &spec).await? {
            Ok(_) => {
                return Ok(
                    Redirect::to(&format!("/organize/contests/{}", spec.slug.trim()))
                        .into_response(),
                );
            }
            Err(e) => errors = e,
        }
    }
    let errors = errors
        .into_iter()
        .map(|e| {
            // The form takes sizes in MB under its own names.
            let field = match e.field {
                "max_photo_bytes" => "max_photo_mb",
                "max_video_bytes" => "max_video_mb",
                f => f,
            };
            (
                field,
                ctx.t(&format!("contest.error.{}", e.code)).to_owned(),
            )
        })
        .collect();
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &NewContestPage {
            page: ctx.page("contest.new.title"),
            form,
            units: crate::accounts::unit_choices(&state.db).await?,
            errors,
        },
    ))
}

#[derive(Template)]
#[template(path = "contests/manage.html")]
struct ManagePage {
    page: Page,
    c: ContestRow,
    phase: &'static str,
    log: Vec<(String, String, DateTime<Utc>, Option<String>)>,
    pending: i64,
    error: String,
    reopen_default: String,
}

async fn manage(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    status: StatusCode,
    error: String,
) -> Result<Response, PageError> {
    let user = require_organizer(ctx)?;
    let c = by_slug(&state.db, slug).await?.ok_or(PageError::NotFound)?;
    if !manages(&state.db, user, c.unit_id).await? {
        return Err(PageError::NotFound);
    }
    let log = sqlx::query_as(
        "select l.phase, l.action, l.created_at, u.display_name
         from contest_phase_log l left join app_user u using (app_user_id)
         where l.contest_id = $1 order by l.created_at desc",
    )
    .bind(c.contest_id)
    .fetch_all(&state.db)
    .await?;
    let pending = sqlx::query_scalar(
        "select count(*) from entry where contest_id = $1 and status = 'pending_review'",
    )
    .bind(c.contest_id)
    .fetch_one(&state.db)
    .await?;
    let mut page = ctx.page("organize.title");
    page.title.clone_from(&c.title);
    Ok(render(
        status,
        &ManagePage {
            page,
            phase: c.phase().as_str(),
            reopen_default: datetime_local(&(Utc::now() + chrono::Duration::days(1))),
            c,
            log,
            pending,
            error,
        },
    ))
}

async fn manage_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    manage(&state, &ctx, &slug, StatusCode::OK, String::new()).await
}

#[derive(Debug, Deserialize)]
struct PhaseForm {
    #[serde(default)]
    phase: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    until: String,
}

/// Closes a phase now, or reopens it until a new date; why it may not is a message code.
pub async fn change_phase_of(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    c: &ContestRow,
    phase: &str,
    action: &str,
    until: Option<DateTime<Utc>>,
) -> Result<Result<(), &'static str>, sqlx::Error> {
    let now = Utc::now();
    let (opens, closes, column) = match phase {
        "submission" => (
            Some(c.submission_opens_at),
            Some(c.submission_closes_at),
            "submission_closes_at",
        ),
        "judging" => (c.judging_opens_at, c.judging_closes_at, "judging_closes_at"),
        "voting" => (c.voting_opens_at, c.voting_closes_at, "voting_closes_at"),
        _ => return Ok(Err("invalid-phase")),
    };
    let (Some(opens), Some(closes)) = (opens, closes) else {
        return Ok(Err("phase-not-scheduled"));
    };
    let new_closes = match action {
        "close" => {
            if !(opens <= now && now < closes) {
                return Ok(Err("phase-not-open"));
            }
            now
        }
        "reopen" => {
            let Some(until) = until else {
                return Ok(Err("invalid-time"));
            };
            if until <= now || until <= opens {
                return Ok(Err("until-in-past"));
            }
            if now < opens {
                return Ok(Err("phase-not-started"));
            }
            // Reopening submission may not run into judging or voting.
            if phase == "submission"
                && [c.judging_opens_at, c.voting_opens_at]
                    .into_iter()
                    .flatten()
                    .any(|o| until > o)
            {
                return Ok(Err("overlaps-next-phase"));
            }
            until
        }
        _ => return Ok(Err("invalid-action")),
    };
    let mut tx = db.begin().await?;
    sqlx::query(&format!(
        "update contest set {column} = $2 where contest_id = $1"
    ))
    .bind(c.contest_id)
    .bind(new_closes)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into contest_phase_log (contest_id, phase, action, old_closes_at, new_closes_at, app_user_id)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(c.contest_id)
    .bind(phase)
    .bind(action)
    .bind(closes)
    .bind(new_closes)
    .bind(user.app_user_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(contest = %c.slug, phase, action, "phase changed early");
    Ok(Ok(()))
}

async fn change_phase(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<PhaseForm>,
) -> Result<Response, PageError> {
    let user = require_organizer(&ctx)?;
    let c = by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    if !manages(&state.db, user, c.unit_id).await? {
        return Err(PageError::NotFound);
    }
    let until = parse_time(&form.until);
    match change_phase_of(&state.db, user, &c, &form.phase, &form.action, until).await? {
        Ok(()) => Ok(Redirect::to(&format!("/organize/contests/{slug}")).into_response()),
        Err(code) => {
            let msg = ctx.t(&format!("contest.error.{code}")).to_owned();
            manage(&state, &ctx, &slug, StatusCode::UNPROCESSABLE_ENTITY, msg).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn row(now: DateTime<Utc>) -> ContestRow {
        ContestRow {
            contest_id: 1,
            slug: "x".into(),
            title: "X".into(),
            description: String::new(),
            rules: String::new(),
            cover_url: None,
            unit_id: None,
            unit_slug: None,
            unit_name: None,
            eligible_unit_ids: None,
            kinds: vec!["photo".into()],
            submission_opens_at: now + Duration::days(1),
            submission_closes_at: now + Duration::days(10),
            judging_opens_at: Some(now + Duration::days(11)),
            judging_closes_at: Some(now + Duration::days(15)),
            voting_opens_at: Some(now + Duration::days(12)),
            voting_closes_at: Some(now + Duration::days(14)),
            results_at: Some(now + Duration::days(16)),
            max_photo_bytes: 1,
            max_video_bytes: 1,
            max_video_seconds: 1,
            max_entries_per_member: 1,
            requires_moderation: true,
            blind_judging: false,
            hide_author: false,
            settings: json!({}),
            upload_grace_minutes: 30,
        }
    }

    #[test]
    fn phases_follow_the_dates_in_order() {
        let now = Utc::now();
        let c = row(now);
        let at = |days: f64| c.phase_at(now + Duration::seconds((days * 86400.0) as i64));
        assert_eq!(at(0.0), Phase::Upcoming);
        assert_eq!(at(1.5), Phase::Submission);
        assert_eq!(at(10.5), Phase::Between);
        assert_eq!(at(11.5), Phase::Judging);
        assert_eq!(
            at(12.5),
            Phase::Voting,
            "voting shows while judging runs too"
        );
        assert_eq!(at(14.5), Phase::Judging);
        assert_eq!(at(15.5), Phase::Between);
        assert_eq!(at(16.5), Phase::Results);
        assert_eq!(
            c.next_change(now + Duration::days(2)),
            Some(c.submission_closes_at)
        );
    }
}
