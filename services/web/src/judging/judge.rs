//! The judge's pages, made for a phone: the contests they judge, their queue with progress
//! and their own average, and one entry's sheet (media, low-bandwidth rendition first; one
//! score per criterion; comments; a draft saved as they type; submit locks it). Authors stay
//! hidden on blind contests; anything not assigned is "not found".

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;

use super::math;
use super::repo::{self, CriterionRow, SheetRow};
use super::{RawChange, SheetError};
use crate::domain::contests::{self, ContestRow};
use crate::domain::entries::media::MediaView;
use crate::page::{Ctx, Page, PageError, render};

pub struct QueueItem {
    pub id: uuid::Uuid,
    pub title: String,
    pub submitted: bool,
    pub score: Option<f64>,
    pub score_text: String,
}

pub struct Queue {
    pub items: Vec<QueueItem>,
    pub done: usize,
    pub remaining: usize,
    pub average: Option<f64>,
}

/// The judge's queue in a contest with their weighted score per sheet and their average.
pub async fn queue_of(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    c: &ContestRow,
) -> sqlx::Result<Queue> {
    let sheets = repo::queue(db, user.app_user_id, c.contest_id).await?;
    let mut criteria_of: HashMap<i64, Vec<math::Criterion>> = HashMap::new();
    let mut items = Vec::new();
    for s in &sheets {
        if !criteria_of.contains_key(&s.judging_round_id) {
            let cs = repo::criteria(db, s.judging_round_id).await?;
            criteria_of.insert(
                s.judging_round_id,
                cs.iter().map(CriterionRow::math).collect(),
            );
        }
        let crit = &criteria_of[&s.judging_round_id];
        let score = if s.submitted_at.is_some() {
            Some(math::weighted(
                crit,
                &repo::sheet_scores(db, s.judge_assignment_id).await?,
            ))
        } else {
            None
        };
        items.push(QueueItem {
            id: s.entry_id,
            title: s.title.clone(),
            submitted: s.submitted_at.is_some(),
            score: score.map(math::round2),
            score_text: String::new(),
        });
    }
    let done = items.iter().filter(|i| i.submitted).count();
    let scores: Vec<f64> = items.iter().filter_map(|i| i.score).collect();
    let average = (!scores.is_empty())
        .then(|| math::round2(scores.iter().sum::<f64>() / scores.len() as f64));
    Ok(Queue {
        remaining: items.len() - done,
        items,
        done,
        average,
    })
}

fn signed_in(ctx: &Ctx) -> Result<&CurrentUser, PageError> {
    ctx.user.as_ref().ok_or(PageError::SignIn)
}

/// A contest the signed-in user judges, else "not found".
async fn judged_contest(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    slug: &str,
) -> Result<ContestRow, PageError> {
    let c = contests::by_slug(db, slug)
        .await?
        .ok_or(PageError::NotFound)?;
    if !repo::is_judge(db, c.contest_id, user.app_user_id).await? {
        return Err(PageError::NotFound);
    }
    Ok(c)
}

/// The signed-in judge's sheet of an entry of this contest, else "not found".
async fn judged_sheet<'a>(
    state: &AppState,
    ctx: &'a Ctx,
    slug: &str,
    id: &str,
) -> Result<(&'a CurrentUser, ContestRow, SheetRow), PageError> {
    let user = signed_in(ctx)?;
    let c = judged_contest(&state.db, user, slug).await?;
    let s = super::judge_sheet(&state.db, user, id)
        .await?
        .filter(|s| s.contest_id == c.contest_id)
        .ok_or(PageError::NotFound)?;
    Ok((user, c, s))
}

#[derive(Template)]
#[template(path = "judging/contests.html")]
struct ContestsPage {
    page: Page,
    contests: Vec<(String, String, usize, usize)>,
}

pub async fn contests(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = signed_in(&ctx)?;
    let rows: Vec<(i64,)> = sqlx::query_as(&format!(
        "select cj.contest_id from contest_judge cj join contest c using (contest_id)
             join app_user u on {}
             where u.app_user_id = $1 order by c.submission_opens_at desc",
        repo::ACTS_AS_JUDGE
    ))
    .bind(user.app_user_id)
    .fetch_all(&state.db)
    .await?;
    let mut list = Vec::new();
    for (id,) in rows {
        if let Some(c) = contests::by_id(&state.db, id).await? {
            let q = queue_of(&state.db, user, &c).await?;
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

#[derive(Template)]
#[template(path = "judging/queue.html")]
struct QueuePage {
    page: Page,
    c: ContestRow,
    q: Queue,
    average: String,
}

pub async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let user = signed_in(&ctx)?;
    let c = judged_contest(&state.db, user, &slug).await?;
    let mut q = queue_of(&state.db, user, &c).await?;
    for i in &mut q.items {
        i.score_text = i
            .score
            .map_or_else(String::new, |s| super::show(ctx.lang, s));
    }
    let average = q
        .average
        .map_or_else(|| "—".to_owned(), |a| super::show(ctx.lang, a));
    let mut page = ctx.page("judging.queue.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(crate::page::no_store(render(
        StatusCode::OK,
        &QueuePage {
            page,
            c,
            q,
            average,
        },
    )))
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

async fn sheet_page(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    id: &str,
    status: StatusCode,
    error: String,
    typed: Option<&HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (user, c, s) = judged_sheet(state, ctx, slug, id).await?;
    let round = repo::round(&state.db, s.judging_round_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let criteria = repo::criteria(&state.db, s.judging_round_id).await?;
    let scores = repo::sheet_scores(&state.db, s.judge_assignment_id).await?;
    let fields = criteria
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
        .collect();
    let author = if c.blind_judging {
        None
    } else {
        let e = crate::domain::entries::entry(&state.db, s.entry_id)
            .await?
            .ok_or(PageError::NotFound)?;
        Some(match e.unit_name {
            Some(u) => format!("{} · {u}", e.author_name),
            None => e.author_name,
        })
    };
    let media = crate::domain::entries::media::for_entry(&state.db, s.entry_id).await?;
    let next = queue_of(&state.db, user, &c)
        .await?
        .items
        .into_iter()
        .find(|i| !i.submitted && i.id != s.entry_id)
        .map(|i| i.id);
    let mut s = s;
    if let Some(t) = typed {
        s.comment = t.get("comment").cloned().unwrap_or_default();
        s.comment_to_entrant = t.get("comment_to_entrant").cloned().unwrap_or_default();
    }
    let mut page = ctx.page("judging.sheet.title");
    page.title = format!("{} · {}", page.title, s.title);
    Ok(render(
        status,
        &SheetPage {
            page,
            submitted_at: s.submitted_at,
            c,
            s,
            author,
            media,
            fields,
            step: if round.half_points { "0.5" } else { "1" },
            next,
            error,
        },
    ))
}

pub async fn sheet(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, PageError> {
    sheet_page(
        &state,
        &ctx,
        &slug,
        &id,
        StatusCode::OK,
        String::new(),
        None,
    )
    .await
    .map(crate::page::no_store)
}

/// The form without JavaScript: save the draft, or submit.
pub async fn save(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, String)>,
    Form(f): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let (user, _, s) = judged_sheet(&state, &ctx, &slug, &id).await?;
    let mut scores = Vec::new();
    for (k, v) in &f {
        let Some(cid) = k.strip_prefix("score_") else {
            continue;
        };
        let value = if v.trim().is_empty() {
            None
        } else {
            match super::parse_number(v) {
                Some(x) => Some(x),
                None => {
                    let msg = ctx.t("judging.error.score-out-of-range").to_owned();
                    return sheet_page(
                        &state,
                        &ctx,
                        &slug,
                        &id,
                        StatusCode::UNPROCESSABLE_ENTITY,
                        msg,
                        Some(&f),
                    )
                    .await;
                }
            }
        };
        scores.push((cid.to_owned(), value));
    }
    let submit = f.get("action").is_some_and(|a| a == "submit");
    let change = RawChange {
        scores,
        comment: f.get("comment").cloned(),
        comment_to_entrant: f.get("comment_to_entrant").cloned(),
        submit,
    };
    match super::apply_change(&state.db, &s, change, user.app_user_id).await? {
        Ok(()) if submit => Ok(Redirect::to(&format!("/judging/{slug}")).into_response()),
        Ok(()) => Ok(Redirect::to(&format!("/judging/{slug}/entries/{id}")).into_response()),
        Err(e) => {
            let status = if e == SheetError::Submitted {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            let msg = ctx.t(&format!("judging.error.{}", e.code())).to_owned();
            sheet_page(&state, &ctx, &slug, &id, status, msg, Some(&f)).await
        }
    }
}

#[derive(Template)]
#[template(path = "judging/invite.html")]
struct InvitePage {
    page: Page,
    slug: String,
    token: String,
    contest_title: String,
    /// `sign-in`, `other-account`, `verify-first` or `accept`.
    state: &'static str,
    here_encoded: String,
}

/// The invitation link's page: who may accept it, and the button that does. Visiting it
/// changes nothing (mail scanners open links); only the signed-in, verified account of the
/// invited address can accept, so a leaked link or an unverified look-alike account gains
/// nothing.
async fn invite_answer(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    token: &str,
) -> Result<Response, PageError> {
    let Some((contest_id, email)) = repo::pending_invite(&state.db, slug, token).await? else {
        return Ok(crate::page::message(
            ctx,
            StatusCode::GONE,
            "judging.invite.invalid",
        ));
    };
    let c = contests::by_id(&state.db, contest_id)
        .await?
        .ok_or(PageError::NotFound)?;
    let (status, which) = match &ctx.user {
        None => (StatusCode::OK, "sign-in"),
        Some(u) if !u.email.eq_ignore_ascii_case(&email) => {
            (StatusCode::FORBIDDEN, "other-account")
        }
        Some(u) if !u.is_verified() => (StatusCode::FORBIDDEN, "verify-first"),
        Some(_) => (StatusCode::OK, "accept"),
    };
    let here = format!("/judging/{slug}/invite/{token}");
    Ok(crate::page::no_store(render(
        status,
        &InvitePage {
            page: ctx.page("judging.invite.title"),
            slug: c.slug,
            token: token.to_owned(),
            contest_title: c.title,
            state: which,
            here_encoded: url::form_urlencoded::byte_serialize(here.as_bytes()).collect(),
        },
    )))
}

pub async fn invite_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    invite_answer(&state, &ctx, &slug, &token).await
}

pub async fn accept_invite(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, token)): Path<(String, String)>,
) -> Result<Response, PageError> {
    if let Some(user) = &ctx.user
        && repo::accept_invite(&state.db, &slug, &token, user.app_user_id).await?
    {
        tracing::info!(contest = %slug, judge = user.app_user_id, "judge invitation accepted");
        return Ok(Redirect::to(&format!("/judging/{slug}")).into_response());
    }
    // Not accepted: the page says why (and the token stays for the right account).
    invite_answer(&state, &ctx, &slug, &token).await
}
