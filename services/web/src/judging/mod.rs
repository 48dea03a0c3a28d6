//! Judging and results: organizers set up rounds (criteria, formula, tie-break — locked once a
//! round opens), invite and assign judges; judges score their assigned entries (blind where
//! the contest says so, never a conflict of interest); every score write is audited; results
//! are previewed, published as a frozen snapshot, exported, and advance entries to a next round.

mod api;
mod export;
mod judge;
pub mod math;
pub mod repo;
mod results;
mod setup;

use axum::Router;
use axum::routing::{get, post};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;

use uuid::Uuid;

use crate::domain::access::organizes;
use crate::domain::contests::{self, ContestRow};
use crate::page::{Ctx, PageError};
use repo::{SaveRefusal, SheetChange, SheetRow};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/organize/contests/{slug}/judging", get(setup::page))
        .route("/organize/contests/{slug}/judging/setup", post(setup::save))
        .route("/organize/contests/{slug}/judging/open", post(setup::open))
        .route(
            "/organize/contests/{slug}/judging/judges",
            post(setup::invite),
        )
        .route(
            "/organize/contests/{slug}/judging/assign",
            post(setup::assign),
        )
        .route(
            "/organize/contests/{slug}/judging/reassign",
            post(setup::reassign),
        )
        .route(
            "/organize/contests/{slug}/judging/remind",
            post(setup::remind),
        )
        .route(
            "/organize/contests/{slug}/judging/reopen",
            post(setup::reopen),
        )
        .route("/organize/contests/{slug}/results", get(results::preview))
        .route(
            "/organize/contests/{slug}/results/publish",
            post(results::publish_form),
        )
        .route(
            "/organize/contests/{slug}/results/advance",
            post(results::advance_form),
        )
        .route(
            "/organize/contests/{slug}/export/{file}",
            get(export::download),
        )
        .route("/contests/{slug}/results", get(results::public_page))
        .route("/judging", get(judge::contests))
        .route("/judging/{slug}", get(judge::queue))
        .route(
            "/judging/{slug}/invite/{token}",
            get(judge::invite_page).post(judge::accept_invite),
        )
        .route(
            "/judging/{slug}/entries/{id}",
            get(judge::sheet).post(judge::save),
        )
        .route("/api/v1/contests/{slug}/judges", post(api::invite))
        .route("/api/v1/contests/{slug}/judging/queue", get(api::queue))
        .route(
            "/api/v1/entries/{id}/scores",
            get(api::sheet).put(api::save),
        )
        .route("/api/v1/contests/{slug}/results", get(api::results))
        .route(
            "/api/v1/contests/{slug}/results/publish",
            post(api::publish),
        )
}

/// The contest of an organizer's page; anyone else gets "not found" (or the sign-in page).
async fn organizer_contest(
    db: &sqlx::PgPool,
    ctx: &Ctx,
    slug: &str,
) -> Result<(CurrentUser, ContestRow), PageError> {
    let user = ctx.user.clone().ok_or(PageError::SignIn)?;
    let c = contests::by_slug(db, slug)
        .await?
        .ok_or(PageError::NotFound)?;
    if !organizes(db, &user, &c).await? {
        return Err(PageError::NotFound);
    }
    Ok((user, c))
}

async fn organizer_contest_api(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    slug: &str,
) -> Result<ContestRow, ApiError> {
    let c = contests::by_slug(db, slug)
        .await?
        .ok_or_else(|| ApiError::not_found("the contest"))?;
    if !organizes(db, user, &c).await? {
        return Err(ApiError::not_found("the contest"));
    }
    Ok(c)
}

/// Why a sheet change was refused: a stable code (API) and message key `judging.error.<code>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetError {
    UnknownCriterion,
    OutOfRange,
    NotAStep,
    CommentTooLong,
    Submitted,
    Incomplete,
}

impl SheetError {
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownCriterion => "unknown-criterion",
            Self::OutOfRange => "score-out-of-range",
            Self::NotAStep => "score-not-a-step",
            Self::CommentTooLong => "comment-too-long",
            Self::Submitted => "sheet-submitted",
            Self::Incomplete => "scores-incomplete",
        }
    }
}

/// A sheet change as typed (API or form), before it is checked.
#[derive(Debug, Default)]
pub struct RawChange {
    pub scores: Vec<(String, Option<f64>)>,
    pub comment: Option<String>,
    pub comment_to_entrant: Option<String>,
    pub submit: bool,
}

/// Checks a change against the round's criteria and writes it (with its audit rows).
pub async fn apply_change(
    db: &sqlx::PgPool,
    sheet: &SheetRow,
    raw: RawChange,
    actor: i64,
) -> Result<Result<(), SheetError>, sqlx::Error> {
    let round = repo::round(db, sheet.judging_round_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    let criteria = repo::criteria(db, round.judging_round_id).await?;
    let mut change = SheetChange {
        submit: raw.submit,
        ..SheetChange::default()
    };
    for (id, value) in raw.scores {
        let Some(c) = id
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|id| criteria.iter().find(|c| c.judging_criterion_id == id))
        else {
            return Ok(Err(SheetError::UnknownCriterion));
        };
        let value = match value {
            None => None,
            Some(v) => match math::check_score(v, c.max_score, round.half_points) {
                Ok(v) => Some(v),
                Err(math::ScoreError::OutOfRange) => return Ok(Err(SheetError::OutOfRange)),
                Err(math::ScoreError::NotAStep) => return Ok(Err(SheetError::NotAStep)),
            },
        };
        change.scores.push((c.judging_criterion_id, value));
    }
    for text in [&raw.comment, &raw.comment_to_entrant]
        .into_iter()
        .flatten()
    {
        if text.chars().count() > 5000 {
            return Ok(Err(SheetError::CommentTooLong));
        }
    }
    change.comment = raw.comment.map(|s| s.trim().to_owned());
    change.comment_to_entrant = raw.comment_to_entrant.map(|s| s.trim().to_owned());
    let ids: Vec<i64> = criteria.iter().map(|c| c.judging_criterion_id).collect();
    Ok(
        match repo::save_sheet(db, sheet, &ids, &change, actor).await? {
            Ok(()) => Ok(()),
            Err(SaveRefusal::Submitted) => Err(SheetError::Submitted),
            Err(SaveRefusal::Incomplete) => Err(SheetError::Incomplete),
        },
    )
}

/// The judge's sheet of an entry, or `None` for anything the judge may not score.
pub async fn judge_sheet(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    entry: &str,
) -> sqlx::Result<Option<SheetRow>> {
    let Ok(id) = Uuid::parse_str(entry) else {
        return Ok(None);
    };
    repo::sheet_for(db, user.app_user_id, id).await
}

/// A number as typed: "7", "7.5" or "7,5".
pub fn parse_number(s: &str) -> Option<f64> {
    let s = s.trim().replace(',', ".");
    if s.is_empty() || s.len() > 12 {
        return None;
    }
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// One or two decimals, the Vietnamese way (a comma) or the English way.
pub fn show(lang: hoithi_core::i18n::Lang, x: f64) -> String {
    let s = format!("{:.2}", math::round2(x));
    match lang {
        hoithi_core::i18n::Lang::Vi => s.replace('.', ","),
        hoithi_core::i18n::Lang::En => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_take_a_comma_or_a_dot() {
        assert_eq!(parse_number("7,5"), Some(7.5));
        assert_eq!(parse_number(" 8 "), Some(8.0));
        assert_eq!(parse_number(""), None);
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(show(hoithi_core::i18n::Lang::Vi, 7.456), "7,46");
    }
}
