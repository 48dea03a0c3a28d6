//! The organizer's form of a new contest: flat as HTML sends it (sizes in MB, Vietnam local
//! times), read into the same `ContestSpec` as the API and `create-contest`.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use serde::Deserialize;

use crate::access::author::Staff;
use crate::domain::contests::create::create;
use crate::domain::contests::refusal::{ContestRefusal, FieldError};
use crate::domain::contests::spec::{ContestSpec, Limits, Phases, Window};
use crate::page::{Ctx, Page, PageError, render};

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
    #[serde(default)]
    pub max_team_members: String,
    #[serde(default)]
    pub max_series_photos: String,
    pub requires_moderation: Option<String>,
    pub hide_author: Option<String>,
    pub requires_birth_date: Option<String>,
    #[serde(default)]
    pub retention_days: String,
    pub voting_overlaps_submission: Option<String>,
}

/// A number as typed (dots and commas between thousands allowed); empty is `None`.
fn number(s: &str, field: &'static str, errors: &mut Vec<FieldError>) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    let n = s.replace(['.', ','], "").parse::<i64>();
    if n.is_err() {
        errors.push(FieldError::new(field, ContestRefusal::InvalidNumber));
    }
    n.ok()
}

/// A count as the spec takes it: out-of-range numbers stay out of range, for the spec's
/// own bounds check to report.
fn count(n: Option<i64>) -> Option<i32> {
    n.map(|n| i32::try_from(n.clamp(-1, i64::from(i32::MAX))).unwrap_or(i32::MAX))
}

fn window(opens: &str, closes: &str) -> Option<Window> {
    (!opens.trim().is_empty() || !closes.trim().is_empty()).then(|| Window {
        opens_at: opens.to_owned(),
        closes_at: closes.to_owned(),
    })
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
            max_team_members: "0".into(),
            max_series_photos: "1".into(),
            requires_moderation: Some("on".into()),
            ..Self::default()
        }
    }

    fn limits(&self, errors: &mut Vec<FieldError>) -> Limits {
        let mib = |n: i64| n.saturating_mul(1024 * 1024);
        Limits {
            max_photo_bytes: number(&self.max_photo_mb, "max_photo_bytes", errors).map(mib),
            max_video_bytes: number(&self.max_video_mb, "max_video_bytes", errors).map(mib),
            max_video_seconds: count(number(&self.max_video_seconds, "max_video_seconds", errors)),
            max_entries_per_member: count(number(
                &self.max_entries_per_member,
                "max_entries_per_member",
                errors,
            )),
            upload_grace_minutes: count(number(
                &self.upload_grace_minutes,
                "upload_grace_minutes",
                errors,
            )),
            max_team_members: count(number(&self.max_team_members, "max_team_members", errors)),
            max_series_photos: count(number(&self.max_series_photos, "max_series_photos", errors)),
        }
    }

    fn phases(&self) -> Phases {
        Phases {
            submission: Window {
                opens_at: self.submission_opens_at.clone(),
                closes_at: self.submission_closes_at.clone(),
            },
            judging: window(&self.judging_opens_at, &self.judging_closes_at),
            voting: window(&self.voting_opens_at, &self.voting_closes_at),
            results_at: Some(self.results_at.clone()),
        }
    }

    /// The spec, plus errors of fields that are not even numbers.
    pub(crate) fn to_spec(&self) -> (ContestSpec, Vec<FieldError>) {
        let mut errors = Vec::new();
        let limits = self.limits(&mut errors);
        let kinds = [("video", &self.kind_video), ("photo", &self.kind_photo)]
            .into_iter()
            .filter(|(_, on)| on.is_some())
            .map(|(kind, _)| kind.to_owned())
            .collect();
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
            phases: self.phases(),
            limits: Some(limits),
            requires_moderation: Some(self.requires_moderation.is_some()),
            blind_judging: None,
            hide_author: Some(self.hide_author.is_some()),
            requires_birth_date: Some(self.requires_birth_date.is_some()),
            retention_days: number(&self.retention_days, "retention_days", &mut errors)
                .map(|d| i32::try_from(d).unwrap_or(i32::MAX)),
            criteria: None,
            weights: None,
            vote_policy: None,
            voting_overlaps_submission: Some(self.voting_overlaps_submission.is_some()),
            categories: None,
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

/// The form's message for each broken rule, under the form's own field names.
pub(crate) fn form_errors(ctx: &Ctx, errors: Vec<FieldError>) -> Vec<(&'static str, String)> {
    errors
        .into_iter()
        .map(|e| {
            // The form takes sizes in MB under its own names.
            let field = match e.field {
                "max_photo_bytes" => "max_photo_mb",
                "max_video_bytes" => "max_video_mb",
                f => f,
            };
            (field, ctx.t(&e.refusal.key()).to_owned())
        })
        .collect()
}

pub async fn new_form(
    State(state): State<AppState>,
    ctx: Ctx,
    _: Staff,
) -> Result<Response, PageError> {
    Ok(render(
        StatusCode::OK,
        &NewContestPage {
            page: ctx.page("contest.new.title"),
            form: ContestForm::defaults(),
            units: crate::domain::people::units::unit_choices(&state.db).await?,
            errors: vec![],
        },
    ))
}

/// Creates the contest and opens its organizer page; broken rules show the form again with
/// what was typed.
pub async fn create_from_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Staff(user): Staff,
    Form(form): Form<ContestForm>,
) -> Result<Response, PageError> {
    let (spec, mut errors) = form.to_spec();
    if errors.is_empty() {
        match create(&state.db, Some(&user), &spec).await? {
            Ok(_) => {
                let to = format!("/organize/contests/{}", spec.slug.trim());
                return Ok(Redirect::to(&to).into_response());
            }
            Err(e) => errors = e,
        }
    }
    Ok(render(
        StatusCode::UNPROCESSABLE_ENTITY,
        &NewContestPage {
            page: ctx.page("contest.new.title"),
            errors: form_errors(&ctx, errors),
            form,
            units: crate::domain::people::units::unit_choices(&state.db).await?,
        },
    ))
}
