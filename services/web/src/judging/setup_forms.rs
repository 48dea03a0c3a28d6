//! The forms of the organizer's set-up page: saving a round's set-up (refused once the
//! round opens), opening the round, inviting a judge by email, assigning (all, by unit, even
//! spread with a quorum), reassigning a late judge's entries, reminding judges, and reopening
//! a submitted sheet. Each answers with the page again (what it did, or why not) or, where
//! the page shows the change itself, a redirect back to it.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;
use uuid::Uuid;

use super::forms::{Fields, ModeChoice, field, parse_mode, parse_setup, round_of};
use super::invite::invite_judge;
use super::setup::{Notice, render_page};
use crate::access::OrganizerOf;
use crate::domain::contests::ContestRow;
use crate::domain::judging::JudgingRefusal;
use crate::domain::judging::assign::{self, Mode, Reassignment};
use crate::domain::judging::judges;
use crate::domain::judging::rounds::{self, RoundRow};
use crate::domain::judging::sheets;
use crate::page::{Ctx, PageError};

/// What a form did: back to the page of a round (a redirect), or the page again saying so.
enum Done {
    /// Back to the round's page, saying what was saved (`saved.<what>`).
    Back(i32, &'static str),
    Said(&'static str),
    /// The confirm step of opening the round: what it does, and a button that does it.
    ConfirmOpen,
}

/// Why a form stopped: a refusal (the page again, with its sentence) or a failure.
enum Stop {
    Refused(JudgingRefusal),
    Failed(PageError),
}

impl From<JudgingRefusal> for Stop {
    fn from(r: JudgingRefusal) -> Self {
        Self::Refused(r)
    }
}

impl From<PageError> for Stop {
    fn from(e: PageError) -> Self {
        Self::Failed(e)
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Self::Failed(e.into())
    }
}

/// The page's answer to a form about round `number`.
async fn finish(
    state: &AppState,
    ctx: &Ctx,
    c: &ContestRow,
    number: Option<i32>,
    outcome: Result<Done, Stop>,
) -> Result<Response, PageError> {
    let notice = match outcome {
        Ok(Done::Back(round, saved)) => {
            let to = format!(
                "/organize/contests/{}/judging?round={round}&saved={saved}",
                c.slug
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Ok(Done::Said(key)) => Notice::Said(key),
        Ok(Done::ConfirmOpen) => Notice::ConfirmOpen,
        Err(Stop::Refused(r)) => Notice::Refused(r),
        Err(Stop::Failed(e)) => return Err(e),
    };
    render_page(state, ctx, c, number, notice).await
}

/// The round the form names (the latest when it names none).
async fn round(state: &AppState, c: &ContestRow, f: &Fields) -> Result<RoundRow, PageError> {
    rounds::pick(&state.db, c.contest_id, round_of(f))
        .await?
        .ok_or(PageError::NotFound)
}

/// The forms of the set-up page that act on a round, by the last segment of their path.
#[derive(Debug, Clone, Copy)]
enum RoundForm {
    Setup,
    Open,
    Assign,
    Reassign,
    Remind,
    Reopen,
}

impl RoundForm {
    fn parse(segment: &str) -> Option<Self> {
        Some(match segment {
            "setup" => Self::Setup,
            "open" => Self::Open,
            "assign" => Self::Assign,
            "reassign" => Self::Reassign,
            "remind" => Self::Remind,
            "reopen" => Self::Reopen,
            _ => return None,
        })
    }
}

/// `POST …/judging/{form}`: a form about the round it names (the latest when none).
pub async fn round_form(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    OrganizerOf { user, contest }: OrganizerOf,
    Path((_, form)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let form = RoundForm::parse(&form).ok_or(PageError::NotFound)?;
    let round = round(&state, &contest, &f).await?;
    let outcome = match form {
        RoundForm::Setup => save_setup(&state, &round, &f).await,
        RoundForm::Open => open_round(&state, &contest, &round, &f).await,
        RoundForm::Assign => assign_by_form(&state, &round, &f).await,
        RoundForm::Reassign => reassign_by_form(&state, &round, &user, &f).await,
        RoundForm::Remind => remind_judges(&state, &headers, &contest, &round).await,
        RoundForm::Reopen => reopen_sheet(&state, &round, &user, &f).await,
    };
    finish(&state, &ctx, &contest, Some(round.number), outcome).await
}

async fn save_setup(state: &AppState, round: &RoundRow, f: &Fields) -> Result<Done, Stop> {
    if round.locked() {
        return Err(JudgingRefusal::RoundLocked.into());
    }
    let setup = parse_setup(f)?;
    rounds::save_setup(&state.db, round.judging_round_id, &setup).await??;
    Ok(Done::Back(round.number, "judging-setup"))
}

/// Opens the round once confirmed; refused at once (no confirm step) when it may not open.
async fn open_round(
    state: &AppState,
    c: &ContestRow,
    round: &RoundRow,
    f: &Fields,
) -> Result<Done, Stop> {
    rounds::check_open(&state.db, c, round).await??;
    if field(f, "confirm") != "1" {
        return Ok(Done::ConfirmOpen);
    }
    rounds::open_round(&state.db, c, round).await??;
    tracing::info!(contest = %c.slug, round = round.number, "judging round opened");
    Ok(Done::Back(round.number, "judging-opened"))
}

pub async fn invite(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    OrganizerOf { user, contest }: OrganizerOf,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let outcome = invite_by_form(&state, &headers, &contest, &user, &f).await;
    finish(&state, &ctx, &contest, round_of(&f), outcome).await
}

async fn invite_by_form(
    state: &AppState,
    headers: &HeaderMap,
    c: &ContestRow,
    by: &CurrentUser,
    f: &Fields,
) -> Result<Done, Stop> {
    let email = hoithi_core::domain::Email::parse(field(f, "email"))
        .map_err(|_| JudgingRefusal::InvalidEmail)?;
    let slugs: Vec<String> = field(f, "conflict_units")
        .split(',')
        .map(str::to_owned)
        .collect();
    let conflict = judges::unit_ids(&state.db, &slugs)
        .await?
        .ok_or(JudgingRefusal::UnknownUnit)?;
    // What to assign in the same step: nothing yet, every entry, or the entries numbered.
    let entries = match field(f, "assign") {
        "" => None,
        "all" => Some(None),
        "entries" => {
            let numbers: Option<Vec<i32>> = field(f, "entries")
                .split(|ch: char| ch == ',' || ch.is_whitespace())
                .filter(|n| !n.is_empty())
                .map(|n| n.trim_start_matches('#').parse().ok())
                .collect();
            let numbers = numbers
                .filter(|n| !n.is_empty())
                .ok_or(JudgingRefusal::ChoiceInvalid)?;
            let found = judges::entries_by_number(&state.db, c.contest_id, &numbers)
                .await?
                .ok_or(JudgingRefusal::ChoiceInvalid)?;
            Some(Some(found))
        }
        // The entries of one category (hạng mục): a judge per category.
        "category" => {
            let found = judges::entries_of_category(&state.db, c.contest_id, field(f, "category"))
                .await?
                .ok_or(JudgingRefusal::ChoiceInvalid)?;
            Some(Some(found))
        }
        _ => return Err(JudgingRefusal::ChoiceInvalid.into()),
    };
    // No round set up yet: nothing to assign in (the page says to assign later).
    let round = match entries {
        Some(_) => rounds::pick(&state.db, c.contest_id, round_of(f)).await?,
        None => None,
    };
    let invited = invite_judge(state, headers, c, email.as_str(), &conflict, by).await?;
    let (Some(entries), Some(round)) = (entries, round) else {
        return Ok(Done::Said("judging.invited"));
    };
    let email = email.as_str().to_owned();
    if let judges::Invited::Pending { .. } = invited {
        judges::assign_on_accept(
            &state.db,
            c.contest_id,
            &email,
            round.judging_round_id,
            entries.as_deref(),
        )
        .await?;
        return Ok(Done::Said("judging.invited-assign-on-accept"));
    }
    let mode = match entries {
        None => Mode::Judge { email },
        Some(entries) => Mode::Entries { email, entries },
    };
    assign::assign(&state.db, round.judging_round_id, &mode).await?;
    Ok(Done::Said("judging.invited-assigned"))
}

/// The assignment form's mode, with a unit's slug looked up.
async fn mode(state: &AppState, f: &Fields) -> Result<Mode, Stop> {
    Ok(match parse_mode(f)? {
        ModeChoice::Ready(mode) => mode,
        ModeChoice::Unit { email, unit } => {
            let ids = judges::unit_ids(&state.db, &[unit])
                .await?
                .filter(|ids| ids.len() == 1)
                .ok_or(JudgingRefusal::UnknownUnit)?;
            Mode::Unit {
                email,
                unit_id: ids[0],
            }
        }
    })
}

async fn assign_by_form(state: &AppState, round: &RoundRow, f: &Fields) -> Result<Done, Stop> {
    let mode = mode(state, f).await?;
    let done = assign::assign(&state.db, round.judging_round_id, &mode).await?;
    Ok(Done::Said(if done.short.is_empty() {
        "judging.assigned"
    } else {
        "judging.quorum-short"
    }))
}

/// The account of a judge named by email in the reassign form.
async fn judge_named(state: &AppState, email: &str) -> Result<i64, Stop> {
    judges::account_by_email(&state.db, email)
        .await?
        .ok_or_else(|| JudgingRefusal::UnknownJudge.into())
}

async fn reassign_by_form(
    state: &AppState,
    round: &RoundRow,
    by: &CurrentUser,
    f: &Fields,
) -> Result<Done, Stop> {
    let from_judge = judge_named(state, field(f, "from")).await?;
    let to_judge = match field(f, "to") {
        "" => None,
        email => Some(judge_named(state, email).await?),
    };
    let entry = match field(f, "entry") {
        "" => None,
        e => Some(Uuid::parse_str(e).map_err(|_| JudgingRefusal::ChoiceInvalid)?),
    };
    let r = Reassignment {
        round_id: round.judging_round_id,
        from_judge,
        entry,
        to_judge,
        actor: by.app_user_id,
    };
    let done = assign::reassign(&state.db, &r).await?;
    Ok(Done::Said(if done.stuck.is_empty() {
        "judging.reassigned"
    } else {
        "judging.reassign-stuck"
    }))
}

/// Mails every judge with sheets left in the round (through the outbox) and notes when.
async fn remind_judges(
    state: &AppState,
    headers: &HeaderMap,
    c: &ContestRow,
    round: &RoundRow,
) -> Result<Done, Stop> {
    let judges = judges::judges(&state.db, c.contest_id, round.judging_round_id).await?;
    let t = |k: &'static str| hoithi_core::i18n::text(hoithi_core::i18n::Lang::Vi, k);
    let link = format!(
        "{}/judging/{}",
        crate::mail::base_url(state, headers),
        c.slug
    );
    let subject = format!("{}: {}", t("judging.mail.remind.subject"), c.title);
    let mut tx = state.db.begin().await?;
    for j in judges.iter().filter(|j| j.remaining() > 0) {
        let body = format!(
            "{}\n\n{}: {}\n\n{link}\n",
            t("judging.mail.remind.body"),
            c.title,
            j.remaining()
        );
        crate::mail::queue(&mut *tx, &j.email, "judge-reminder", &subject, &body).await?;
        judges::mark_reminded(&mut *tx, c.contest_id, &j.email).await?;
    }
    tx.commit().await?;
    Ok(Done::Said("judging.reminded"))
}

async fn reopen_sheet(
    state: &AppState,
    round: &RoundRow,
    by: &CurrentUser,
    f: &Fields,
) -> Result<Done, Stop> {
    let entry = Uuid::parse_str(field(f, "entry")).ok();
    let judge = field(f, "judge").parse::<i64>().ok();
    let (Some(entry), Some(judge)) = (entry, judge) else {
        return Err(JudgingRefusal::ChoiceInvalid.into());
    };
    let id = round.judging_round_id;
    sheets::reopen_sheet(&state.db, id, entry, judge, by.app_user_id).await??;
    Ok(Done::Back(round.number, "sheet-reopened"))
}
