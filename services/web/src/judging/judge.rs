//! The judge's pages, made for a phone: the contests they judge, their list of entries to
//! score with progress and their own average, and one entry's sheet (media, low-bandwidth
//! rendition first; one score per criterion; comments; a draft saved as they type; submit
//! locks it). Authors stay hidden on blind contests; anything not assigned is "not found".

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;

use super::forms::Fields;
use crate::access::judge::JudgeOf;
use crate::domain::contests::{self, ContestRow};
use crate::domain::entries::media::MediaView;
use crate::domain::judging::JudgingRefusal;
use crate::domain::judging::judges;
use crate::domain::judging::math::parse_number;
use crate::domain::judging::rounds::{self, CriterionRow};
use crate::domain::judging::sheets::{self, RawChange, SheetRow, ToScore};
use crate::page::{Ctx, Page, PageError, render};

#[derive(Template)]
#[template(path = "judging/contests.html")]
struct ContestsPage {
    page: Page,
    contests: Vec<(String, String, usize, usize)>,
}

pub async fn contests(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user.as_ref().ok_or(PageError::SignIn)?;
    let mut list = Vec::new();
    for id in judges::contests_judged(&state.db, user.app_user_id).await? {
        if let Some(c) = contests::by_id(&state.db, id).await? {
            let q = sheets::to_score(&state.db, user.app_user_id, c.contest_id).await?;
            list.push((c.slug, c.title, q.done, q.items.len()));
        }
    }
    Ok(crate::page::no_store(render(
        StatusCode::OK,
        &ContestsPage {
            page: ctx.page("judging.mine.title"),
            contests: list,
        },
    )))
}

/// One line of the list to score, with the judge's score as shown.
pub struct ToScoreLine {
    pub id: uuid::Uuid,
    pub title: String,
    pub submitted: bool,
    pub score_text: String,
}

/// The list to score as the page shows it.
pub struct ToScoreView {
    pub items: Vec<ToScoreLine>,
    pub done: usize,
    pub remaining: usize,
}

#[derive(Template)]
#[template(path = "judging/to_score.html")]
struct ToScorePage {
    page: Page,
    c: ContestRow,
    q: ToScoreView,
    average: String,
}

pub async fn to_score(
    State(state): State<AppState>,
    ctx: Ctx,
    JudgeOf { user, contest }: JudgeOf,
) -> Result<Response, PageError> {
    let ToScore {
        items,
        done,
        remaining,
        average,
    } = sheets::to_score(&state.db, user.app_user_id, contest.contest_id).await?;
    let show = |x: f64| super::forms::show(ctx.lang, x);
    let q = ToScoreView {
        items: items
            .into_iter()
            .map(|i| ToScoreLine {
                score_text: i.score.map_or_else(String::new, show),
                id: i.id,
                title: i.title,
                submitted: i.submitted,
            })
            .collect(),
        done,
        remaining,
    };
    let average = average.map_or_else(|| "—".to_owned(), show);
    let mut page = ctx.page("judging.to-score.title");
    page.title = format!("{} · {}", page.title, contest.title);
    Ok(crate::page::no_store(render(
        StatusCode::OK,
        &ToScorePage {
            page,
            c: contest,
            q,
            average,
        },
    )))
}

/// The judge's sheet of an entry of this contest, else "not found".
async fn judged_sheet(state: &AppState, judge: &JudgeOf, id: &str) -> Result<SheetRow, PageError> {
    sheets::judge_sheet(&state.db, judge.user.app_user_id, id)
        .await?
        .filter(|s| s.contest_id == judge.contest.contest_id)
        .ok_or(PageError::NotFound)
}

/// A score as an `<input type=number>` value: "7" or "7.5".
fn plain(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

pub struct CriterionField {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub max: String,
    pub value: String,
}

#[derive(Template)]
#[template(path = "judging/sheet.html")]
struct SheetPage {
    page: Page,
    c: ContestRow,
    s: SheetRow,
    author: Option<String>,
    media: Vec<MediaView>,
    fields: Vec<CriterionField>,
    step: &'static str,
    submitted_at: Option<DateTime<Utc>>,
    next: Option<uuid::Uuid>,
    error: String,
}

/// One field per criterion: what was typed (a refused form), else the stored score.
fn criterion_fields(
    criteria: &[CriterionRow],
    scores: &HashMap<i64, f64>,
    typed: Option<&Fields>,
) -> Vec<CriterionField> {
    criteria
        .iter()
        .map(|cr| CriterionField {
            id: cr.judging_criterion_id,
            name: cr.name.clone(),
            description: cr.description.clone(),
            max: plain(cr.max_score),
            value: typed
                .and_then(|t| {
                    t.get(&format!("score_{}", cr.judging_criterion_id))
                        .cloned()
                })
                .or_else(|| scores.get(&cr.judging_criterion_id).map(|v| plain(*v)))
                .unwrap_or_default(),
        })
        .collect()
}

/// The author as the sheet shows them: nobody on a blind contest.
async fn author_line(
    db: &sqlx::PgPool,
    c: &ContestRow,
    s: &SheetRow,
) -> Result<Option<String>, PageError> {
    if c.blind_judging {
        return Ok(None);
    }
    let e = crate::domain::entries::entry(db, s.entry_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let person = match e.unit_name {
        Some(u) => format!("{} · {u}", e.author_name),
        None => e.author_name,
    };
    // A team entry: the team and its members, then who submitted it.
    Ok(Some(match e.team_name {
        Some(team) => {
            let members = crate::domain::entries::team::members(db, e.entry_id).await?;
            let names = crate::domain::entries::team::names_line(&members);
            if names.is_empty() {
                format!("{team} ({person})")
            } else {
                format!("{team}: {names} ({person})")
            }
        }
        None => person,
    }))
}

/// A form the sheet refused: what was typed, and why.
struct Refused<'a> {
    typed: &'a Fields,
    refusal: JudgingRefusal,
}

async fn sheet_page(
    state: &AppState,
    ctx: &Ctx,
    judge: &JudgeOf,
    mut s: SheetRow,
    refused: Option<Refused<'_>>,
) -> Result<Response, PageError> {
    let db = &state.db;
    let round = rounds::round(db, s.judging_round_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let criteria = rounds::criteria_of_entry(db, s.judging_round_id, s.entry_id).await?;
    let scores = sheets::sheet_scores(db, s.judge_assignment_id).await?;
    let typed = refused.as_ref().map(|r| r.typed);
    let fields = criterion_fields(&criteria, &scores, typed);
    let author = author_line(db, &judge.contest, &s).await?;
    let media = crate::domain::entries::media::for_entry(db, s.entry_id).await?;
    let next = sheets::to_score(db, judge.user.app_user_id, judge.contest.contest_id)
        .await?
        .items
        .into_iter()
        .find(|i| !i.submitted && i.id != s.entry_id)
        .map(|i| i.id);
    if let Some(t) = typed {
        s.comment = t.get("comment").cloned().unwrap_or_default();
        s.comment_to_entrant = t.get("comment_to_entrant").cloned().unwrap_or_default();
    }
    let (status, error) = match &refused {
        Some(r) => (r.refusal.status(), ctx.t(&r.refusal.key()).to_owned()),
        None => (StatusCode::OK, String::new()),
    };
    let mut page = ctx.page("judging.sheet.title");
    page.title = format!("{} · {}", page.title, s.title);
    let view = SheetPage {
        page,
        submitted_at: s.submitted_at,
        c: judge.contest.clone(),
        s,
        author,
        media,
        fields,
        step: if round.half_points { "0.5" } else { "1" },
        next,
        error,
    };
    Ok(render(status, &view))
}

pub async fn sheet(
    State(state): State<AppState>,
    ctx: Ctx,
    judge: JudgeOf,
    Path((_, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    let s = judged_sheet(&state, &judge, &id).await?;
    sheet_page(&state, &ctx, &judge, s, None)
        .await
        .map(crate::page::no_store)
}

/// The sheet's form as a change: scores `score_<criterion>`, comments, and whether the
/// judge submits (`action=submit`). A score that is not a number is refused here.
fn change_of(f: &Fields) -> Result<RawChange, JudgingRefusal> {
    let mut scores = Vec::new();
    for (k, v) in f {
        let Some(cid) = k.strip_prefix("score_") else {
            continue;
        };
        let value = match v.trim() {
            "" => None,
            v => Some(parse_number(v).ok_or(JudgingRefusal::ScoreOutOfRange)?),
        };
        scores.push((cid.to_owned(), value));
    }
    Ok(RawChange {
        scores,
        comment: f.get("comment").cloned(),
        comment_to_entrant: f.get("comment_to_entrant").cloned(),
        submit: f.get("action").is_some_and(|a| a == "submit"),
    })
}

/// The form without JavaScript: save the draft, or submit.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    judge: JudgeOf,
    Path((slug, id)): Path<(String, String)>,
    Form(f): Form<Fields>,
) -> Result<Response, PageError> {
    let s = judged_sheet(&state, &judge, &id).await?;
    let saved = match change_of(&f) {
        Ok(change) => {
            let submit = change.submit;
            let actor = judge.user.app_user_id;
            sheets::apply_change(&state.db, &s, change, actor)
                .await?
                .map(|()| submit)
        }
        Err(refusal) => Err(refusal),
    };
    match saved {
        Ok(true) => Ok(Redirect::to(&format!("/judging/{slug}?saved=sheet")).into_response()),
        Ok(false) => {
            Ok(Redirect::to(&format!("/judging/{slug}/entries/{id}?saved=sheet")).into_response())
        }
        Err(refusal) => {
            let refused = Refused { typed: &f, refusal };
            sheet_page(&state, &ctx, &judge, s, Some(refused)).await
        }
    }
}
