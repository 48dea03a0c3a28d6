//! The organizer's judging set-up page and its forms: a round's criteria, formula and
//! tie-break (refused once the round opens), opening the round, inviting judges by email,
//! assigning (all, by unit, even spread with a quorum), reassigning a late judge's entries,
//! reminders, and reopening a submitted sheet.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;
use uuid::Uuid;

use super::math::{JudgeBasis, TieBreak, VoteScaling};
use super::repo::{self, CriterionRow, JudgeRow, Mode, RoundRow, Setup};
use super::results::{RoundQuery, pick_round};
use crate::domain::contests::ContestRow;
use crate::page::{Ctx, Page, PageError, render};

/// Unit ids of slugs; `None` when one is unknown.
pub async fn unit_ids(db: &sqlx::PgPool, slugs: &[String]) -> sqlx::Result<Option<Vec<i64>>> {
    let mut ids = Vec::new();
    for slug in slugs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match sqlx::query_scalar("select unit_id from unit where slug = $1")
            .bind(slug)
            .fetch_optional(db)
            .await?
        {
            Some(id) => ids.push(id),
            None => return Ok(None),
        }
    }
    Ok(Some(ids))
}

/// Adds a judge and mails them (through the outbox): a link to their queue when the address
/// already belongs to a verified account (the first time only), otherwise an invitation link
/// with a single-use token that only the verified account of that address can accept (sent
/// again, with a new token, each time the organizer invites a judge still pending).
pub async fn invite_judge(
    state: &AppState,
    headers: &HeaderMap,
    c: &ContestRow,
    email: &str,
    conflict_unit_ids: &[i64],
    by: &CurrentUser,
) -> sqlx::Result<repo::Invited> {
    let mut tx = state.db.begin().await?;
    let invited = repo::invite(
        &mut tx,
        c.contest_id,
        email,
        conflict_unit_ids,
        by.app_user_id,
    )
    .await?;
    let t = |k: &'static str| hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, k);
    let base = crate::mail::base_url(state, headers);
    let mail = match &invited {
        repo::Invited::Accepted { new: false } => None,
        repo::Invited::Accepted { new: true } => Some((
            t("judging.mail.invite.body"),
            format!("{base}/judging/{}", c.slug),
        )),
        repo::Invited::Pending { token } => Some((
            t("judging.mail.invite-link.body"),
            format!("{base}/judging/{}/invite/{token}", c.slug),
        )),
    };
    if let Some((text, link)) = mail {
        let body = format!("{text}\n\n{}\n\n{link}\n", c.title);
        let subject = format!("{}: {}", t("judging.mail.invite.subject"), c.title);
        crate::mail::queue(&mut *tx, email, "judge-invite", &subject, &body).await?;
    }
    tx.commit().await?;
    Ok(invited)
}

/// A criterion's tie-break option: `criterion:#<position>` (stable while the form is edited).
pub struct TieOption {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "judging/setup.html")]
struct SetupPage {
    page: Page,
    c: ContestRow,
    round: RoundRow,
    rounds: Vec<RoundRow>,
    criteria: Vec<CriterionRow>,
    blank_rows: Vec<usize>,
    tie_options: Vec<TieOption>,
    tie_selected: Vec<String>,
    judges: Vec<JudgeRow>,
    sheets: Vec<SheetLine>,
    entries: i64,
    units: Vec<(String, String)>,
    message: String,
    error: String,
}

impl SetupPage {
    fn tie_is(&self, step: &usize, value: &str) -> bool {
        self.tie_selected.get(*step).is_some_and(|v| v == value)
    }
}

pub struct SheetLine {
    pub entry_id: Uuid,
    pub title: String,
    pub judge_id: i64,
    pub judge: String,
    pub submitted: bool,
}

async fn render_page(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    number: Option<i32>,
    status: StatusCode,
    message: String,
    error: String,
) -> Result<Response, PageError> {
    let (_, c) = super::organizer_contest(&state.db, ctx, slug).await?;
    let round = pick_round(&state.db, c.contest_id, number).await?;
    repo::sync_first_round(&state.db, round.judging_round_id).await?;
    let rounds = repo::rounds(&state.db, c.contest_id).await?;
    let criteria = repo::criteria(&state.db, round.judging_round_id).await?;
    let judges = repo::judges(&state.db, c.contest_id, round.judging_round_id).await?;
    let entries: i64 =
        sqlx::query_scalar("select count(*) from round_entry where judging_round_id = $1")
            .bind(round.judging_round_id)
            .fetch_one(&state.db)
            .await?;
    let sheets = repo::full_sheets(&state.db, round.judging_round_id).await?;
    let titles: HashMap<Uuid, String> = repo::result_entries(&state.db, round.judging_round_id)
        .await?
        .into_iter()
        .map(|e| (e.entry_id, e.title))
        .collect();
    let sheets = sheets
        .into_iter()
        .map(|s| SheetLine {
            title: titles.get(&s.entry).cloned().unwrap_or_default(),
            entry_id: s.entry,
            judge_id: s.judge,
            judge: s.judge_name,
            submitted: s.submitted_at.is_some(),
        })
        .collect();
    let mut tie_options: Vec<TieOption> = ["judges", "votes", "earlier"]
        .iter()
        .map(|s| TieOption {
            value: (*s).to_owned(),
            label: ctx.t(&format!("judging.tie.{s}")).to_owned(),
        })
        .collect();
    for (i, cr) in criteria.iter().enumerate() {
        tie_options.push(TieOption {
            value: format!("criterion:#{i}"),
            label: format!("{}: {}", ctx.t("judging.criterion"), cr.name),
        });
    }
    let tie_selected = round
        .formula()
        .tie_break
        .iter()
        .map(|t| match t {
            TieBreak::Criterion(id) => criteria
                .iter()
                .position(|c| c.judging_criterion_id == *id)
                .map_or_else(String::new, |i| format!("criterion:#{i}")),
            other => other.code(),
        })
        .collect();
    let blank_rows = (criteria.len()..(criteria.len() + 3).min(20)).collect();
    let mut page = ctx.page("judging.setup.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(render(
        status,
        &SetupPage {
            page,
            units: crate::accounts::unit_choices(&state.db).await?,
            c,
            round,
            rounds,
            criteria,
            blank_rows,
            tie_options,
            tie_selected,
            judges,
            sheets,
            entries,
            message,
            error,
        },
    ))
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Query(q): Query<RoundQuery>,
) -> Result<Response, PageError> {
    render_page(
        &state,
        &ctx,
        &slug,
        q.round,
        StatusCode::OK,
        String::new(),
        String::new(),
    )
    .await
    .map(crate::page::no_store)
}

type Fields = HashMap<String, String>;

fn field<'a>(f: &'a Fields, k: &str) -> &'a str {
    f.get(k).map_or("", |s| s.trim())
}

fn round_of(f: &Fields) -> Option<i32> {
    field(f, "round").parse().ok()
}

/// Re-renders the page with a message key (an error when `status` is not 2xx/3xx).
async fn answer(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    round: Option<i32>,
    status: StatusCode,
    key: &str,
) -> Result<Response, PageError> {
    let text = ctx.t(key).to_owned();
    let (message, error) = if status.is_success() {
        (text, String::new())
    } else {
        (String::new(), text)
    };
    render_page(state, ctx, slug, round, status, message, error).await
}

fn back(slug: &str, round: i32) -> Response {
    Redirect::to(&format!("/organize/contests/{slug}/judging?round={round}")).into_response()
}

/// The set-up form, checked; the error is a message key.
fn parse_setup(f: &Fields) -> Result<Setup, &'static str> {
    let name = field(f, "name");
    if name.is_empty() || name.chars().count() > 200 {
        return Err("judging.error.round-name");
    }
    let mut criteria = Vec::new();
    for i in 0..20 {
        let cname = field(f, &format!("crit_name_{i}"));
        let max = field(f, &format!("crit_max_{i}"));
        if cname.is_empty() && max.is_empty() {
            continue;
        }
        if cname.is_empty() || cname.chars().count() > 200 {
            return Err("judging.error.criterion-name");
        }
        let max = super::parse_number(max)
            .filter(|m| *m > 0.0 && *m <= 1000.0)
            .ok_or("judging.error.criterion-max")?;
        let weight = match field(f, &format!("crit_weight_{i}")) {
            "" => 1.0,
            w => super::parse_number(w)
                .filter(|w| *w > 0.0 && *w <= 1000.0)
                .ok_or("judging.error.criterion-weight")?,
        };
        let description = field(f, &format!("crit_desc_{i}"));
        if description.chars().count() > 2000 {
            return Err("judging.error.criterion-description");
        }
        let id = field(f, &format!("crit_id_{i}")).parse().ok();
        criteria.push((id, cname.to_owned(), description.to_owned(), max, weight));
    }
    let judges_weight: i32 = field(f, "judges_weight")
        .parse()
        .ok()
        .filter(|w| (0..=100).contains(w))
        .ok_or("judging.error.judges-weight")?;
    let vote_scaling =
        VoteScaling::parse(field(f, "vote_scaling")).ok_or("judging.error.invalid")?;
    let judge_basis = JudgeBasis::parse(field(f, "judge_basis")).ok_or("judging.error.invalid")?;
    let mut tie_break: Vec<String> = Vec::new();
    for i in 0..4 {
        let t = field(f, &format!("tie_{i}"));
        if t.is_empty() {
            continue;
        }
        let ok = t.starts_with("criterion:#") || TieBreak::parse(t).is_some();
        if !ok {
            return Err("judging.error.invalid");
        }
        if !tie_break.iter().any(|x| x == t) {
            tie_break.push(t.to_owned());
        }
    }
    let on = |k: &str| f.contains_key(k);
    Ok(Setup {
        name: name.to_owned(),
        criteria,
        judges_weight,
        vote_scaling,
        judge_basis,
        tie_break,
        half_points: on("half_points"),
        conflict_own_unit: on("conflict_own_unit"),
        public_shortlist: on("public_shortlist"),
        blind: on("blind"),
    })
}

pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let (_, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let round = pick_round(&state.db, c.contest_id, round_of(&f)).await?;
    if round.locked() {
        return answer(
            &state,
            &ctx,
            &slug,
            Some(round.number),
            StatusCode::CONFLICT,
            "judging.error.locked",
        )
        .await;
    }
    match parse_setup(&f) {
        Err(key) => {
            answer(
                &state,
                &ctx,
                &slug,
                Some(round.number),
                StatusCode::UNPROCESSABLE_ENTITY,
                key,
            )
            .await
        }
        Ok(setup) => {
            if repo::save_setup(&state.db, round.judging_round_id, &setup).await? {
                Ok(back(&slug, round.number))
            } else {
                answer(
                    &state,
                    &ctx,
                    &slug,
                    Some(round.number),
                    StatusCode::CONFLICT,
                    "judging.error.locked",
                )
                .await
            }
        }
    }
}

pub async fn open(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let (_, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let round = pick_round(&state.db, c.contest_id, round_of(&f)).await?;
    match repo::open_round(&state.db, &round).await? {
        Ok(()) => {
            tracing::info!(contest = %c.slug, round = round.number, "judging round opened");
            Ok(back(&slug, round.number))
        }
        Err(code) => {
            answer(
                &state,
                &ctx,
                &slug,
                Some(round.number),
                StatusCode::CONFLICT,
                &format!("judging.error.{code}"),
            )
            .await
        }
    }
}

pub async fn invite(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let (user, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let n = round_of(&f);
    let Ok(email) = hoithi_core::domain::Email::parse(field(&f, "email")) else {
        return answer(
            &state,
            &ctx,
            &slug,
            n,
            StatusCode::UNPROCESSABLE_ENTITY,
            "judging.error.invalid-email",
        )
        .await;
    };
    let slugs: Vec<String> = field(&f, "conflict_units")
        .split(',')
        .map(str::to_owned)
        .collect();
    let Some(conflict) = unit_ids(&state.db, &slugs).await? else {
        return answer(
            &state,
            &ctx,
            &slug,
            n,
            StatusCode::UNPROCESSABLE_ENTITY,
            "judging.error.unknown-unit",
        )
        .await;
    };
    invite_judge(&state, &headers, &c, email.as_str(), &conflict, &user).await?;
    answer(&state, &ctx, &slug, n, StatusCode::OK, "judging.invited").await
}

pub async fn assign(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let (_, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let round = pick_round(&state.db, c.contest_id, round_of(&f)).await?;
    let n = Some(round.number);
    let mode = match field(&f, "mode") {
        "all" => Mode::All,
        "even" => match field(&f, "quorum").parse::<usize>() {
            Ok(q) if (1..=50).contains(&q) => Mode::Even { quorum: q },
            _ => {
                return answer(
                    &state,
                    &ctx,
                    &slug,
                    n,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "judging.error.quorum",
                )
                .await;
            }
        },
        "unit" => {
            let Some(ids) = unit_ids(&state.db, &[field(&f, "unit").to_owned()])
                .await?
                .filter(|i| i.len() == 1)
            else {
                return answer(
                    &state,
                    &ctx,
                    &slug,
                    n,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "judging.error.unknown-unit",
                )
                .await;
            };
            Mode::Unit {
                email: field(&f, "email").to_owned(),
                unit_id: ids[0],
            }
        }
        _ => {
            return answer(
                &state,
                &ctx,
                &slug,
                n,
                StatusCode::UNPROCESSABLE_ENTITY,
                "judging.error.invalid",
            )
            .await;
        }
    };
    let (_, short) = repo::assign(&state.db, round.judging_round_id, &mode).await?;
    if short.is_empty() {
        answer(&state, &ctx, &slug, n, StatusCode::OK, "judging.assigned").await
    } else {
        answer(
            &state,
            &ctx,
            &slug,
            n,
            StatusCode::OK,
            "judging.quorum-short",
        )
        .await
    }
}

async fn user_by_email(db: &sqlx::PgPool, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select app_user_id from app_user where email = $1")
        .bind(email.trim())
        .fetch_optional(db)
        .await
}

pub async fn reassign(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let (user, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let round = pick_round(&state.db, c.contest_id, round_of(&f)).await?;
    let n = Some(round.number);
    // A refusal of this form: the reassign section again, with `key` as its error.
    let refuse = |key: &'static str| {
        answer(
            &state,
            &ctx,
            &slug,
            n,
            StatusCode::UNPROCESSABLE_ENTITY,
            key,
        )
    };
    let Some(from) = user_by_email(&state.db, field(&f, "from")).await? else {
        return refuse("judging.error.unknown-judge").await;
    };
    let to = match field(&f, "to") {
        "" => None,
        email => match user_by_email(&state.db, email).await? {
            Some(id) => Some(id),
            None => return refuse("judging.error.unknown-judge").await,
        },
    };
    let entry = match field(&f, "entry") {
        "" => None,
        e => match Uuid::parse_str(e) {
            Ok(id) => Some(id),
            Err(_) => return refuse("judging.error.invalid").await,
        },
    };
    let (_, stuck) = repo::reassign(
        &state.db,
        round.judging_round_id,
        from,
        entry,
        to,
        user.app_user_id,
    )
    .await?;
    let key = if stuck.is_empty() {
        "judging.reassigned"
    } else {
        "judging.reassign-stuck"
    };
    answer(&state, &ctx, &slug, n, StatusCode::OK, key).await
}

pub async fn remind(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(slug): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let (_, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let round = pick_round(&state.db, c.contest_id, round_of(&f)).await?;
    let judges = repo::judges(&state.db, c.contest_id, round.judging_round_id).await?;
    let t = |k: &'static str| hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, k);
    let link = format!(
        "{}/judging/{}",
        crate::mail::base_url(&state, &headers),
        c.slug
    );
    let mut tx = state.db.begin().await?;
    for j in judges.iter().filter(|j| j.remaining() > 0) {
        let body = format!(
            "{}\n\n{}: {}\n\n{link}\n",
            t("judging.mail.remind.body"),
            c.title,
            j.remaining()
        );
        let subject = format!("{}: {}", t("judging.mail.remind.subject"), c.title);
        crate::mail::queue(&mut *tx, &j.email, "judge-reminder", &subject, &body).await?;
        sqlx::query(
            "update contest_judge set reminded_at = now() where contest_id = $1 and email = $2",
        )
        .bind(c.contest_id)
        .bind(&j.email)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    answer(
        &state,
        &ctx,
        &slug,
        Some(round.number),
        StatusCode::OK,
        "judging.reminded",
    )
    .await
}

pub async fn reopen(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let (user, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let round = pick_round(&state.db, c.contest_id, round_of(&f)).await?;
    let entry = Uuid::parse_str(field(&f, "entry")).ok();
    let judge = field(&f, "judge").parse::<i64>().ok();
    let (Some(entry), Some(judge)) = (entry, judge) else {
        return answer(
            &state,
            &ctx,
            &slug,
            Some(round.number),
            StatusCode::UNPROCESSABLE_ENTITY,
            "judging.error.invalid",
        )
        .await;
    };
    if repo::reopen_sheet(
        &state.db,
        round.judging_round_id,
        entry,
        judge,
        user.app_user_id,
    )
    .await?
    {
        Ok(back(&slug, round.number))
    } else {
        answer(
            &state,
            &ctx,
            &slug,
            Some(round.number),
            StatusCode::CONFLICT,
            "judging.error.not-submitted",
        )
        .await
    }
}
