//! Results of a round: computed from submitted sheets and the vote tally for the organizer's
//! preview, frozen into a snapshot on publishing, and the public page that shows the latest
//! published snapshot (and prints cleanly).

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::math::{self, EntryResult, round2};
use super::repo::{self, CriterionRow, ResultEntry, RoundRow};
use crate::domain::contests::{self, ContestRow};
use crate::page::{Ctx, Page, PageError, render};

/// Everything a round's results are made of.
pub struct Computed {
    pub round: RoundRow,
    pub criteria: Vec<CriterionRow>,
    pub entries: Vec<ResultEntry>,
    pub results: Vec<EntryResult>,
    /// Judge ids in a fixed order, so judges appear as "judge 1, 2, …".
    pub judges: Vec<(i64, String)>,
}

impl Computed {
    pub fn entry(&self, id: Uuid) -> Option<&ResultEntry> {
        self.entries.iter().find(|e| e.entry_id == id)
    }

    pub fn judge_no(&self, judge: i64) -> usize {
        self.judges
            .iter()
            .position(|j| j.0 == judge)
            .map_or(0, |i| i + 1)
    }
}

pub async fn compute(db: &sqlx::PgPool, round: RoundRow) -> sqlx::Result<Computed> {
    let criteria = repo::criteria(db, round.judging_round_id).await?;
    let entries = repo::result_entries(db, round.judging_round_id).await?;
    let sheets = repo::full_sheets(db, round.judging_round_id).await?;
    let (inputs, submitted) = repo::inputs(&entries, &sheets);
    let crit: Vec<_> = criteria.iter().map(CriterionRow::math).collect();
    let results = math::compute(&crit, &round.formula(), &inputs, &submitted);
    let mut judges: Vec<(i64, String)> = sheets
        .iter()
        .map(|s| (s.judge, s.judge_name.clone()))
        .collect();
    judges.sort();
    judges.dedup_by_key(|j| j.0);
    Ok(Computed {
        round,
        criteria,
        entries,
        results,
        judges,
    })
}

/// The frozen, public form of a round's results. Judges appear by number only; authors
/// only where the contest shows them.
pub fn snapshot(c: &ContestRow, comp: &Computed) -> Value {
    let f = comp.round.formula();
    let entries: Vec<Value> = comp
        .results
        .iter()
        .filter_map(|r| {
            let e = comp.entry(r.id)?;
            Some(json!({
                "id": r.id,
                "rank": r.rank,
                "title": e.title,
                "author": (!c.hide_author).then(|| e.author_name.clone()),
                "unit": if c.hide_author { None } else { e.unit_name.clone() },
                "judges": r.judges.iter().map(|j| json!({
                    "judge": comp.judge_no(j.judge),
                    "weighted": round2(j.weighted),
                    "normalized": round2(j.normalized),
                })).collect::<Vec<_>>(),
                "judge_score": r.judge_score.map(round2),
                "judge_score_normalized": r.judge_score_normalized.map(round2),
                "votes": r.votes,
                "vote_points": round2(r.vote_points),
                "combined": round2(r.combined),
                "advanced": e.advanced,
            }))
        })
        .collect();
    json!({
        "round": comp.round.number,
        "round_name": comp.round.name,
        // The advanced entries of a shortlisting round are the public vote's shortlist.
        "public_shortlist": comp.round.public_shortlist,
        "formula": {
            "judges_weight": f.judges_weight,
            "public_weight": 100 - f.judges_weight,
            "vote_scaling": f.vote_scaling,
            "judge_basis": f.judge_basis,
            "tie_break": f.tie_break.iter().map(|t| t.code()).collect::<Vec<_>>(),
        },
        "criteria": comp.criteria.iter().map(|c| json!({
            "id": c.judging_criterion_id, "name": c.name, "max": c.max_score, "weight": c.weight,
        })).collect::<Vec<_>>(),
        "entries": entries,
    })
}

/// A results row as the templates show it (from a live computation or a snapshot).
pub struct Row {
    pub rank: i64,
    pub id: String,
    pub title: String,
    pub author: String,
    pub unit: String,
    pub judges: Vec<String>,
    pub raw: String,
    pub normalized: String,
    pub votes: i64,
    pub vote_points: String,
    pub combined: String,
    pub advanced: bool,
    pub progress: String,
}

fn num(lang: hoithi_core::i18n::Lang, v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "—".to_owned(), |x| super::show(lang, x))
}

/// Rows from a snapshot's `entries`.
pub fn rows_of(lang: hoithi_core::i18n::Lang, snapshot: &Value, judge_count: usize) -> Vec<Row> {
    snapshot["entries"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|e| {
                    let mut judges = vec!["—".to_owned(); judge_count];
                    for j in e["judges"].as_array().into_iter().flatten() {
                        let n = j["judge"].as_u64().unwrap_or(0) as usize;
                        if (1..=judge_count).contains(&n) {
                            judges[n - 1] = num(lang, &j["weighted"]);
                        }
                    }
                    Row {
                        rank: e["rank"].as_i64().unwrap_or(0),
                        id: e["id"].as_str().unwrap_or("").to_owned(),
                        title: e["title"].as_str().unwrap_or("").to_owned(),
                        author: e["author"].as_str().unwrap_or("").to_owned(),
                        unit: e["unit"].as_str().unwrap_or("").to_owned(),
                        judges,
                        raw: num(lang, &e["judge_score"]),
                        normalized: num(lang, &e["judge_score_normalized"]),
                        votes: e["votes"].as_i64().unwrap_or(0),
                        vote_points: num(lang, &e["vote_points"]),
                        combined: num(lang, &e["combined"]),
                        advanced: e["advanced"].as_bool().unwrap_or(false),
                        progress: String::new(),
                    }
                })
                .collect()
        })
        .unwrap_or_default()
}

fn judge_count(snapshot: &Value) -> usize {
    snapshot["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["judges"].as_array().into_iter().flatten())
        .filter_map(|j| j["judge"].as_u64())
        .max()
        .unwrap_or(0) as usize
}

#[derive(Template)]
#[template(path = "judging/results.html")]
struct PreviewPage {
    page: Page,
    c: ContestRow,
    round: RoundRow,
    rounds: Vec<RoundRow>,
    judges: Vec<String>,
    rows: Vec<Row>,
    published_at: Option<DateTime<Utc>>,
    formula_text: String,
    message: String,
    error: String,
}

/// "70% judges (raw mean), 30% votes (share of the top entry); ties: …".
pub fn formula_text(
    ctx_lang: hoithi_core::i18n::Lang,
    round: &RoundRow,
    criteria: &[CriterionRow],
) -> String {
    let t = |k: &str| hoithi_core::i18n::text(ctx_lang, k).to_owned();
    let f = round.formula();
    let steps: Vec<String> = f
        .tie_break
        .iter()
        .map(|s| match s {
            math::TieBreak::Criterion(id) => criteria
                .iter()
                .find(|c| c.judging_criterion_id == *id)
                .map_or_else(|| s.code(), |c| c.name.clone()),
            other => t(&format!("judging.tie.{}", other.code())),
        })
        .collect();
    format!(
        "{} {}% ({}) · {} {}% ({}) · {}: {}",
        t("judging.judges"),
        f.judges_weight,
        t(&format!("judging.basis.{}", f.judge_basis.as_str())),
        t("judging.votes"),
        100 - f.judges_weight,
        t(&format!("judging.scaling.{}", f.vote_scaling.as_str())),
        t("judging.tie-break"),
        if steps.is_empty() {
            "—".to_owned()
        } else {
            steps.join(" → ")
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct RoundQuery {
    pub round: Option<i32>,
}

/// The round a page or export is about: `?round=N`, else the latest.
pub async fn pick_round(
    db: &sqlx::PgPool,
    contest_id: i64,
    number: Option<i32>,
) -> Result<RoundRow, PageError> {
    let mut rounds = repo::rounds(db, contest_id).await?;
    if rounds.is_empty() {
        rounds.push(repo::current_or_first_round(db, contest_id).await?);
    }
    match number {
        Some(n) => rounds
            .into_iter()
            .find(|r| r.number == n)
            .ok_or(PageError::NotFound),
        None => rounds.into_iter().last().ok_or(PageError::NotFound),
    }
}

async fn preview_page(
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
    let rounds = repo::rounds(&state.db, c.contest_id).await?;
    let published_at = repo::published(&state.db, round.judging_round_id)
        .await?
        .map(|p| p.1);
    let comp = compute(&state.db, round.clone()).await?;
    let progress = repo::judges_per_entry(&state.db, round.judging_round_id).await?;
    let snap = snapshot(&c, &comp);
    let mut rows = rows_of(ctx.lang, &snap, comp.judges.len());
    // Organizers always see authors, even where the public page hides them.
    for r in &mut rows {
        if let Some(e) = Uuid::parse_str(&r.id).ok().and_then(|id| comp.entry(id)) {
            r.author.clone_from(&e.author_name);
            r.unit = e.unit_name.clone().unwrap_or_default();
            let (assigned, submitted) = progress.get(&e.entry_id).copied().unwrap_or((0, 0));
            r.progress = format!("{submitted}/{assigned}");
        }
    }
    let formula_text = formula_text(ctx.lang, &round, &comp.criteria);
    let mut page = ctx.page("judging.results.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(render(
        status,
        &PreviewPage {
            page,
            judges: comp.judges.iter().map(|j| j.1.clone()).collect(),
            c,
            round,
            rounds,
            rows,
            published_at,
            formula_text,
            message,
            error,
        },
    ))
}

pub async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<RoundQuery>,
) -> Result<Response, PageError> {
    preview_page(
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

/// Publishes the round's results; `Ok(false)` when they were published already.
pub async fn publish_round(
    state: &AppState,
    c: &ContestRow,
    round: RoundRow,
    by: i64,
) -> sqlx::Result<bool> {
    let comp = compute(&state.db, round).await?;
    let snap = snapshot(c, &comp);
    let done = repo::publish(&state.db, &comp.round, &snap, by).await?;
    if done {
        tracing::info!(contest = %c.slug, round = comp.round.number, "results published");
    }
    Ok(done)
}

#[derive(Debug, Default, Deserialize)]
pub struct RoundForm {
    #[serde(default)]
    round: String,
    #[serde(default)]
    top: String,
    #[serde(default)]
    cutoff: String,
}

pub async fn publish_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<RoundForm>,
) -> Result<Response, PageError> {
    let (user, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let number = form.round.trim().parse().ok();
    let round = pick_round(&state.db, c.contest_id, number).await?;
    let n = round.number;
    if publish_round(&state, &c, round, user.app_user_id).await? {
        Ok(Redirect::to(&format!("/organize/contests/{slug}/results?round={n}")).into_response())
    } else {
        let msg = ctx.t("judging.error.already-published").to_owned();
        preview_page(
            &state,
            &ctx,
            &slug,
            Some(n),
            StatusCode::CONFLICT,
            String::new(),
            msg,
        )
        .await
    }
}

pub async fn advance_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<RoundForm>,
) -> Result<Response, PageError> {
    let (_, c) = super::organizer_contest(&state.db, &ctx, &slug).await?;
    let number = form.round.trim().parse().ok();
    let round = pick_round(&state.db, c.contest_id, number).await?;
    let n = round.number;
    let top = form.top.trim().parse::<usize>().ok().filter(|n| *n > 0);
    let cutoff = super::parse_number(&form.cutoff);
    let refuse = |code: &str| ctx.t(&format!("judging.error.{code}")).to_owned();
    if top.is_none() && cutoff.is_none() {
        let msg = refuse("advance-rule-required");
        return preview_page(
            &state,
            &ctx,
            &slug,
            Some(n),
            StatusCode::UNPROCESSABLE_ENTITY,
            String::new(),
            msg,
        )
        .await;
    }
    let comp = compute(&state.db, round.clone()).await?;
    let chosen = repo::advancers(&comp.results, top, cutoff);
    match repo::advance(&state.db, &round, &chosen).await? {
        Ok(next) => Ok(
            Redirect::to(&format!("/organize/contests/{slug}/judging?round={next}"))
                .into_response(),
        ),
        Err(code) => {
            let msg = refuse(code);
            preview_page(
                &state,
                &ctx,
                &slug,
                Some(n),
                StatusCode::CONFLICT,
                String::new(),
                msg,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "judging/public.html")]
struct PublicPage {
    page: Page,
    c: ContestRow,
    rows: Vec<Row>,
    published_at: Option<DateTime<Utc>>,
    round_name: String,
    show_author: bool,
}

pub async fn public_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    let published = repo::latest_published(&state.db, c.contest_id).await?;
    let (rows, published_at, round_name) = match &published {
        Some((snap, at)) => (
            rows_of(ctx.lang, snap, judge_count(snap)),
            Some(*at),
            snap["round_name"].as_str().unwrap_or("").to_owned(),
        ),
        None => (Vec::new(), None, String::new()),
    };
    let authors =
        crate::domain::entries::author::AuthorPolicy::load(&state.db, ctx.user.as_ref(), &c)
            .await?;
    let mut page = ctx.page("judging.public.title");
    page.title = format!("{} · {}", page.title, c.title);
    Ok(render(
        StatusCode::OK,
        &PublicPage {
            page,
            // A published first round does not unblind a contest whose later round is
            // still being judged.
            show_author: authors.sees_all(),
            c,
            rows,
            published_at,
            round_name,
        },
    ))
}

/// Removes authors and units from a snapshot's entries, for viewers the contest does not
/// show them to (see `entries::author`).
pub fn strip_authors(snap: &mut Value) {
    for e in snap["entries"].as_array_mut().into_iter().flatten() {
        e["author"] = Value::Null;
        e["unit"] = Value::Null;
    }
}

/// The API's view of results: organizers get the live computation of the latest round (or
/// `?round=N`), everyone else the latest published snapshot (with authors only where
/// `show_authors`) or 404.
pub async fn api_view(
    state: &AppState,
    c: &ContestRow,
    organizer: bool,
    show_authors: bool,
    number: Option<i32>,
) -> Result<Option<Value>, PageError> {
    if organizer {
        let round = pick_round(&state.db, c.contest_id, number).await?;
        let published = repo::published(&state.db, round.judging_round_id).await?;
        let comp = compute(&state.db, round).await?;
        let mut snap = snapshot(c, &comp);
        snap["published"] = json!(published.is_some());
        snap["published_at"] = json!(published.map(|p| p.1));
        // Organizers see who the judges are and who wrote each entry.
        let names: HashMap<usize, String> = comp
            .judges
            .iter()
            .map(|(id, n)| (comp.judge_no(*id), n.clone()))
            .collect();
        snap["judges"] = json!(
            names
                .iter()
                .map(|(n, name)| json!({"judge": n, "name": name}))
                .collect::<Vec<_>>()
        );
        return Ok(Some(snap));
    }
    Ok(repo::latest_published(&state.db, c.contest_id)
        .await?
        .map(|(mut snap, at)| {
            snap["published"] = json!(true);
            snap["published_at"] = json!(at);
            if !show_authors {
                strip_authors(&mut snap);
            }
            snap
        }))
}
