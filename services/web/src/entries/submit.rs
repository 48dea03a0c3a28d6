//! Entering a contest on the web: the entry form (title and description saved as a draft
//! first) and the upload page of the draft.

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use serde::Deserialize;

use super::refusal::FormErrors;
use crate::access::author::{AuthorOf, OnEntry, SignedIn};
use crate::access::client::ClientIp;
use crate::domain::contests::categories::{self, Category};
use crate::domain::contests::{self, ContestRow};
use crate::domain::entries::EntryRow;
use crate::domain::entries::media::{self, MediaView};
use crate::domain::entries::refusal::EntryError;
use crate::domain::entries::refusal::EntryRefusal;
use crate::domain::entries::series;
use crate::domain::entries::submit::{Agreement, create_entry, entries_sent, may_enter};
use crate::domain::entries::team::{TeamInput, members_from_text};
use crate::domain::people::units::unit_choices_within;
use crate::domain::privacy::consent;
use crate::domain::privacy::guardian::{self, GuardianLink};
use crate::page::{Ctx, Page, PageError, render};

/// Whether the entry form asks `user_id` for a birth date: only when the contest needs one
/// and the account has none yet (collect the least).
async fn asks_birth_date(state: &AppState, c: &ContestRow, user_id: i64) -> sqlx::Result<bool> {
    if !c.requires_birth_date {
        return Ok(false);
    }
    let none: bool =
        sqlx::query_scalar("select birth_date is null from app_user where app_user_id = $1")
            .bind(user_id)
            .fetch_one(&state.db)
            .await?;
    Ok(none)
}

/// Mails a child's guardian the link that lets the entry go on.
pub async fn mail_guardian(state: &AppState, link: &GuardianLink) -> sqlx::Result<()> {
    let Some(request) = guardian::request(&state.db, &link.token).await? else {
        return Ok(());
    };
    let origin = crate::mail::origin(&state.config);
    let url = format!("{origin}/guardian/{}", link.token);
    let (subject, body) = guardian::mail_text(&request, &url);
    crate::mail::queue(
        &state.db,
        &link.guardian.email,
        "guardian-consent",
        &subject,
        &body,
    )
    .await
}

/// The entry form as HTML sends it (enter and edit).
#[derive(Debug, Default, Clone, Deserialize)]
pub struct EntryForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The consent box (privacy notice and rules); `1` when ticked.
    #[serde(default)]
    pub consent: String,
    #[serde(default)]
    pub birth_date: String,
    #[serde(default)]
    pub guardian_name: String,
    #[serde(default)]
    pub guardian_email: String,
    /// The chosen category's slug (radio buttons, when the contest has categories).
    #[serde(default)]
    pub category: String,
    /// "Bài dự thi của tập thể" ticked: `1`.
    #[serde(default)]
    pub team: String,
    #[serde(default)]
    pub team_name: String,
    /// The slug of the chi đoàn picked, or empty.
    #[serde(default)]
    pub team_unit: String,
    /// One member a line: `Họ tên` or `Họ tên, mã đoàn viên`.
    #[serde(default)]
    pub team_members: String,
    /// "Bộ ảnh" ticked: `1`.
    #[serde(default)]
    pub series: String,
}

impl EntryForm {
    /// The team part of the form for the rules.
    fn team_input(&self) -> TeamInput {
        TeamInput {
            is_team: consent::ticked(&self.team),
            name: self.team_name.clone(),
            unit: self.team_unit.clone(),
            members: members_from_text(&self.team_members),
        }
    }
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
    consent_error: String,
    birth_date_error: String,
    guardian_error: String,
    category_error: String,
    team_error: String,
    /// The chi đoàn a team may enter as: the entrant's unit and the units below it.
    team_units: Vec<(String, String)>,
    /// "Tối đa {max} người." filled in.
    team_hint: String,
    /// "Gửi một bộ ảnh (tối đa N ảnh …)" filled in; empty when the contest takes no series.
    series_label: String,
    /// The contest's categories (none: the form shows no choice).
    categories: Vec<Category>,
    /// The birth date is asked (the contest requires it and the account has none yet).
    ask_birth_date: bool,
    form: EntryForm,
    privacy_version: &'static str,
    rules_version: String,
    /// "Bạn đã gửi 2/3 bài." (empty when the member may not enter at all).
    limit_text: String,
    /// The form is shown: the member may enter and has a place left.
    show_form: bool,
    /// The account's email is not verified: say so, with the resend button, instead of the form.
    verify_first: bool,
}

impl EnterPage {
    fn new(
        ctx: &Ctx,
        c: ContestRow,
        form: EntryForm,
        errors: FormErrors,
        ask_birth_date: bool,
        standing: Standing,
        choices: Choices,
    ) -> Self {
        let Choices {
            categories,
            team_units,
        } = choices;
        let team_hint = ctx
            .t("team.members-hint")
            .replace("{max}", &c.max_team_members.to_string());
        // With categories, the largest series a photo category takes (the chosen category's
        // own limit is checked when the entry is made, and shown on its upload page).
        let series_max = if categories.is_empty() {
            c.max_series_photos
        } else {
            categories
                .iter()
                .filter(|k| k.has_photo())
                .map(|k| k.series_photos(c.max_series_photos))
                .max()
                .unwrap_or(1)
        };
        let series_label = if series::allowed(series_max, &c.kinds) {
            ctx.t("series.choose")
                .replace("{max}", &series_max.to_string())
        } else {
            String::new()
        };
        let max = i64::from(c.max_entries_per_member);
        // With categories each has its own count: the submission says which one is full.
        let full = categories.is_empty() && standing.sent >= max;
        let limit_text = if standing.refusal.is_some() || !categories.is_empty() {
            String::new()
        } else {
            ctx.t("entry.limit.count")
                .replace("{sent}", &standing.sent.to_string())
                .replace("{max}", &max.to_string())
        };
        let errors = if full && errors.blocked.is_empty() {
            FormErrors {
                blocked: ctx.t("entry.limit.reached").to_owned(),
                ..errors
            }
        } else {
            errors
        };
        Self {
            limit_text,
            show_form: standing.refusal.is_none() && !full,
            verify_first: standing.refusal == Some(EntryRefusal::EmailNotVerified),
            page: ctx.page("entry.new.title"),
            rules_version: consent::rules_version(&c.rules),
            privacy_version: consent::PRIVACY_VERSION,
            c,
            title: form.title.clone(),
            description: form.description.clone(),
            title_error: errors.title,
            description_error: errors.description,
            blocked: errors.blocked,
            consent_error: errors.consent,
            birth_date_error: errors.birth_date,
            guardian_error: errors.guardian,
            category_error: errors.category,
            team_error: errors.team,
            team_units,
            team_hint,
            series_label,
            categories,
            ask_birth_date,
            form,
        }
    }
}

/// Where the member stands before the form: why they may not enter at all (if so), and how
/// many entries they have sent.
struct Standing {
    refusal: Option<EntryRefusal>,
    sent: i64,
}

async fn standing(
    state: &AppState,
    user: &hoithi_core::auth::CurrentUser,
    c: &ContestRow,
) -> Result<Standing, PageError> {
    let refusal = match may_enter(&state.db, user, c).await {
        Ok(()) => None,
        Err(EntryError::Refused(r)) => Some(r),
        Err(EntryError::Db(e)) => return Err(e.into()),
    };
    let sent = entries_sent(&state.db, c.contest_id, user.app_user_id).await?;
    Ok(Standing { refusal, sent })
}

/// What the entry form offers to choose from.
struct Choices {
    /// The contest's categories (none: the form shows no choice).
    categories: Vec<Category>,
    /// The chi đoàn a team of the member may enter as: their unit and the units below it
    /// (none when the contest takes no team entries or the account has no unit).
    team_units: Vec<(String, String)>,
}

async fn choices(
    state: &AppState,
    c: &ContestRow,
    user: &hoithi_core::auth::CurrentUser,
) -> sqlx::Result<Choices> {
    let categories = categories::list(&state.db, c.contest_id).await?;
    let team_units = match user.unit_id {
        Some(unit) if c.max_team_members > 0 => unit_choices_within(&state.db, Some(unit)).await?,
        _ => Vec::new(),
    };
    Ok(Choices {
        categories,
        team_units,
    })
}

async fn contest(state: &AppState, slug: &str) -> Result<ContestRow, PageError> {
    contests::by_slug(&state.db, slug)
        .await?
        .ok_or(PageError::NotFound)
}

/// The form, with why the member may not enter (if so) above it.
pub async fn enter_form(
    State(state): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = contest(&state, &slug).await?;
    let standing = standing(&state, &user, &c).await?;
    let errors = standing
        .refusal
        .map(|r| FormErrors::of(&ctx, r))
        .unwrap_or_default();
    let empty = EntryForm::default();
    let ask = asks_birth_date(&state, &c, user.app_user_id).await?;
    let choices = choices(&state, &c, &user).await?;
    Ok(render(
        StatusCode::OK,
        &EnterPage::new(&ctx, c, empty, errors, ask, standing, choices),
    ))
}

/// Saves the draft and goes on to the upload; a refusal shows the form again, text kept.
pub async fn enter(
    State(state): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    ClientIp(ip): ClientIp,
    Path(slug): Path<String>,
    Form(form): Form<EntryForm>,
) -> Result<Response, PageError> {
    let c = contest(&state, &slug).await?;
    let agreement = Agreement {
        consent: consent::ticked(&form.consent),
        ip,
        birth_date: form.birth_date.clone(),
        guardian_name: form.guardian_name.clone(),
        guardian_email: form.guardian_email.clone(),
        category: form.category.clone(),
        team: form.team_input(),
        series: consent::ticked(&form.series),
    };
    let created = create_entry(
        &state.db,
        &user,
        &c,
        &form.title,
        &form.description,
        &agreement,
        &state.config.limits,
    );
    match created.await {
        Ok(created) => {
            if let Some(link) = &created.guardian {
                mail_guardian(&state, link).await?;
            }
            let id = created.entry_id;
            Ok(Redirect::to(&format!("/entries/{id}/upload")).into_response())
        }
        Err(EntryError::Refused(r)) => {
            let status = hoithi_core::api_error::Refusal::status(&r);
            let errors = FormErrors::of(&ctx, r);
            let ask = asks_birth_date(&state, &c, user.app_user_id).await?;
            let standing = standing(&state, &user, &c).await?;
            let choices = choices(&state, &c, &user).await?;
            let page = EnterPage::new(&ctx, c, form, errors, ask, standing, choices);
            Ok(render(status, &page))
        }
        Err(EntryError::Db(e)) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "entries/upload.html")]
struct UploadPage {
    page: Page,
    e: EntryRow,
    c: ContestRow,
    accept: String,
    /// A photo series: its photos so far, in order.
    photos: Vec<MediaView>,
    /// "Đã tải 2/5 ảnh" (empty for an entry of one file).
    series_progress: String,
    /// The series has room for another photo (always true for an entry of one file).
    room: bool,
    /// A ready photo may be handed in (at least one not failed, the entry a draft).
    may_hand_in: bool,
    /// The most photos of the series: its category's limit, else the contest's.
    series_max: i32,
}

/// The upload page of the author's draft: the file kinds the contest (or the entry's
/// category) takes.
pub async fn upload_page(
    State(state): State<AppState>,
    ctx: Ctx,
    author: AuthorOf,
) -> Result<Response, PageError> {
    let AuthorOf(OnEntry {
        entry: e,
        contest: c,
        ..
    }) = author;
    let category = match &e.category_slug {
        Some(slug) => categories::by_slug(&state.db, c.contest_id, slug).await?,
        None => None,
    };
    let series_max = category.as_ref().map_or(c.max_series_photos, |k| {
        k.series_photos(c.max_series_photos)
    });
    let kinds = if e.photo_series {
        vec!["photo".to_owned()]
    } else {
        category.map_or_else(|| c.kinds.clone(), |k| k.kinds)
    };
    let accept: Vec<&str> = [("photo", "image/*"), ("video", "video/*")]
        .into_iter()
        .filter(|(kind, _)| kinds.iter().any(|k| k == kind))
        .map(|(_, mime)| mime)
        .collect();
    let (photos, series_progress, room, may_hand_in) = if e.photo_series {
        let photos: Vec<MediaView> = media::for_entry(&state.db, e.entry_id)
            .await?
            .into_iter()
            .filter(|m| m.status != "failed")
            .collect();
        let n = photos.len();
        let max = usize::try_from(series_max).unwrap_or(1);
        let progress = ctx
            .t("series.progress")
            .replace("{n}", &n.to_string())
            .replace("{max}", &max.to_string());
        let draft = e.status == hoithi_core::contest::EntryStatus::Draft;
        (photos, progress, n < max, draft && n > 0)
    } else {
        (Vec::new(), String::new(), true, false)
    };
    Ok(render(
        StatusCode::OK,
        &UploadPage {
            page: ctx.page("entry.upload.title"),
            accept: accept.join(","),
            photos,
            series_progress,
            room,
            may_hand_in,
            series_max,
            e,
            c,
        },
    ))
}

/// `POST /entries/{id}/series/submit`: the author hands the series in; back to the entry.
pub async fn hand_in(
    State(state): State<AppState>,
    AuthorOf(OnEntry { entry, .. }): AuthorOf,
) -> Result<Response, PageError> {
    series::hand_in(&state.db, &entry).await?;
    Ok(Redirect::to(&format!("/entries/{}", entry.entry_id)).into_response())
}

/// `POST /entries/{id}/series/{asset}/up`: one photo a place earlier; back to the upload page.
pub async fn move_up(
    State(state): State<AppState>,
    AuthorOf(OnEntry { entry, .. }): AuthorOf,
    Path((_, asset)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let asset = uuid::Uuid::parse_str(&asset).map_err(|_| PageError::NotFound)?;
    series::move_up(&state.db, &entry, asset).await?;
    Ok(Redirect::to(&format!("/entries/{}/upload", entry.entry_id)).into_response())
}
