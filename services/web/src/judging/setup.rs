//! The organizer's judging set-up page: a round's criteria, formula and tie-break, its
//! judges with their progress, the assignment forms and the score sheets. The forms
//! (`setup_forms`) come back here with what they did or why they were refused.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use uuid::Uuid;

use super::forms::RoundQuery;
use crate::access::OrganizerOf;
use crate::domain::contests::ContestRow;
use crate::domain::judging::JudgingRefusal;
use crate::domain::judging::judges::{self, JudgeRow};
use crate::domain::judging::math::TieBreak;
use crate::domain::judging::rounds::{self, CriterionRow, RoundRow};
use crate::domain::judging::standings;
use crate::page::{Ctx, Page, PageError, render};

/// A criterion's tie-break option: `criterion:#<position>` (stable while the form is edited).
pub struct TieOption {
    pub value: String,
    pub label: String,
}

pub struct SheetLine {
    pub entry_id: Uuid,
    pub title: String,
    pub judge_id: i64,
    pub judge: String,
    pub submitted: bool,
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
    /// The contest's categories: a judge can be given one.
    categories: Vec<crate::domain::contests::categories::Category>,
    message: String,
    error: String,
    /// The confirm step of opening the round is shown in place of its button.
    confirm_open: bool,
}

impl SetupPage {
    fn tie_is(&self, step: &usize, value: &str) -> bool {
        self.tie_selected.get(*step).is_some_and(|v| v == value)
    }
}

/// What the page says above its forms after one was sent.
pub enum Notice {
    None,
    /// Done: the sentence of this catalog key.
    Said(&'static str),
    Refused(JudgingRefusal),
    /// Opening the round waits for its confirmation.
    ConfirmOpen,
}

impl Notice {
    fn status(&self) -> StatusCode {
        match self {
            Self::Refused(r) => r.status(),
            Self::None | Self::Said(_) | Self::ConfirmOpen => StatusCode::OK,
        }
    }

    /// (message, error) in the page's language.
    fn texts(&self, ctx: &Ctx) -> (String, String) {
        match self {
            Self::None | Self::ConfirmOpen => (String::new(), String::new()),
            Self::Said(key) => (ctx.t(key).to_owned(), String::new()),
            Self::Refused(r) => (String::new(), ctx.t(&r.key()).to_owned()),
        }
    }
}

/// The sheets of a round, titled.
async fn sheet_lines(db: &sqlx::PgPool, round_id: i64) -> sqlx::Result<Vec<SheetLine>> {
    let sheets = standings::full_sheets(db, round_id).await?;
    let titles: HashMap<Uuid, String> = standings::result_entries(db, round_id)
        .await?
        .into_iter()
        .map(|e| (e.entry_id, e.title))
        .collect();
    Ok(sheets
        .into_iter()
        .map(|s| SheetLine {
            title: titles.get(&s.entry).cloned().unwrap_or_default(),
            entry_id: s.entry,
            judge_id: s.judge,
            judge: s.judge_name,
            submitted: s.submitted_at.is_some(),
        })
        .collect())
}

/// The tie-break choices (fixed steps, then each criterion by position) and the round's
/// steps in the same terms.
fn tie_break_choices(
    ctx: &Ctx,
    round: &RoundRow,
    criteria: &[CriterionRow],
) -> (Vec<TieOption>, Vec<String>) {
    let mut options: Vec<TieOption> = ["judges", "votes", "earlier"]
        .iter()
        .map(|s| TieOption {
            value: (*s).to_owned(),
            label: ctx.t(&format!("judging.tie.{s}")).to_owned(),
        })
        .collect();
    for (i, cr) in criteria.iter().enumerate() {
        options.push(TieOption {
            value: format!("criterion:#{i}"),
            label: format!("{}: {}", ctx.t("judging.criterion"), cr.name),
        });
    }
    let selected = round
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
    (options, selected)
}

/// The set-up page of round `number` (the latest when `None`) with `notice`.
pub async fn render_page(
    state: &AppState,
    ctx: &Ctx,
    c: &ContestRow,
    number: Option<i32>,
    notice: Notice,
) -> Result<Response, PageError> {
    let db = &state.db;
    let round = rounds::pick(db, c.contest_id, number)
        .await?
        .ok_or(PageError::NotFound)?;
    rounds::sync_first_round(db, round.judging_round_id).await?;
    let criteria = rounds::criteria(db, round.judging_round_id).await?;
    let (tie_options, tie_selected) = tie_break_choices(ctx, &round, &criteria);
    let (message, mut error) = notice.texts(ctx);
    if matches!(notice, Notice::Refused(JudgingRefusal::SubmissionStillOpen)) {
        // Say when it may open: when the contest stops taking entries.
        error = format!(
            "{error} {} {}.",
            ctx.t("judging.submission-closes-at"),
            crate::format::datetime(ctx.lang, &c.submission_closes_at)
        );
    }
    let mut page = ctx.page("judging.setup.title");
    page.title = format!("{} · {}", page.title, c.title);
    let view = SetupPage {
        page,
        units: crate::domain::people::units::unit_choices(db).await?,
        categories: crate::domain::contests::categories::list(db, c.contest_id).await?,
        c: c.clone(),
        rounds: rounds::rounds(db, c.contest_id).await?,
        judges: judges::judges(db, c.contest_id, round.judging_round_id).await?,
        entries: rounds::entry_count(db, round.judging_round_id).await?,
        sheets: sheet_lines(db, round.judging_round_id).await?,
        blank_rows: (criteria.len()..(criteria.len() + 3).min(20)).collect(),
        round,
        criteria,
        tie_options,
        tie_selected,
        message,
        error,
        confirm_open: matches!(notice, Notice::ConfirmOpen),
    };
    Ok(render(notice.status(), &view))
}

pub async fn page(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { contest, .. }: OrganizerOf,
    Query(q): Query<RoundQuery>,
) -> Result<Response, PageError> {
    render_page(&state, &ctx, &contest, q.round, Notice::None)
        .await
        .map(crate::page::no_store)
}
