//! The organizer's results of a round: the live standings (with authors and each entry's
//! progress), publishing them as a frozen snapshot, and advancing entries to the next round.
//! Also the rows both results pages show, made from a snapshot.

use askama::Template;
use axum::Form;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::Refusal;
use hoithi_core::i18n::{self, Lang};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::forms::RoundQuery;
use crate::access::OrganizerOf;
use crate::domain::certificates;
use crate::domain::contests::ContestRow;
use crate::domain::judging::JudgingRefusal;
use crate::domain::judging::assign::judges_per_entry;
use crate::domain::judging::math::{TieBreak, parse_number};
use crate::domain::judging::results::{self, published, snapshot};
use crate::domain::judging::rounds::{self, CriterionRow, RoundRow};
use crate::domain::judging::standings::{self, advancers};
use crate::page::{Ctx, Page, PageError, render};

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
    /// The entry's category (hạng mục); ranks count within it.
    pub category: String,
}

fn num(lang: Lang, v: &Value) -> String {
    v.as_f64()
        .map_or_else(|| "—".to_owned(), |x| super::forms::show(lang, x))
}

/// One row from a snapshot's entry, with a column per judge number.
fn row_of(lang: Lang, e: &Value, judge_count: usize) -> Row {
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
        category: e["category"]["name"].as_str().unwrap_or("").to_owned(),
    }
}

/// Rows grouped by category, in the snapshot's order (one group, named "", without
/// categories).
pub fn grouped(rows: Vec<Row>) -> Vec<(String, Vec<Row>)> {
    let mut out: Vec<(String, Vec<Row>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((k, group)) if *k == r.category => group.push(r),
            _ => out.push((r.category.clone(), vec![r])),
        }
    }
    out
}

/// Rows from a snapshot's `entries`.
pub fn rows_of(lang: Lang, snapshot: &Value, judge_count: usize) -> Vec<Row> {
    snapshot["entries"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| row_of(lang, e, judge_count))
        .collect()
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
    /// The confirm step of publishing is shown in place of its button.
    confirm_publish: bool,
    /// Voting is open until then: publishing ends it (the confirm step says so).
    voting_closes: Option<DateTime<Utc>>,
    /// Everyone who took part gets a certificate, not only the winners.
    participant_certificates: bool,
}

/// "70% judges (raw mean), 30% votes (share of the top entry); ties: …".
pub fn formula_text(lang: Lang, round: &RoundRow, criteria: &[CriterionRow]) -> String {
    let t = |k: &str| i18n::text(lang, k).to_owned();
    let f = round.formula();
    let steps: Vec<String> = f
        .tie_break
        .iter()
        .map(|s| match s {
            TieBreak::Criterion(id) => criteria
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

/// The round of a page or form: `number`, else the latest; "not found" for another number.
async fn round(
    db: &sqlx::PgPool,
    c: &ContestRow,
    number: Option<i32>,
) -> Result<RoundRow, PageError> {
    rounds::pick(db, c.contest_id, number)
        .await?
        .ok_or(PageError::NotFound)
}

/// What the preview page shows above its forms.
enum Step {
    Plain,
    Refused(JudgingRefusal),
    /// The confirm step of publishing.
    ConfirmPublish,
}

/// The preview page of `round` at `step`.
async fn preview_page(
    state: &AppState,
    ctx: &Ctx,
    c: &ContestRow,
    round: RoundRow,
    step: Step,
) -> Result<Response, PageError> {
    let confirm_publish = matches!(
        step,
        Step::ConfirmPublish | Step::Refused(JudgingRefusal::VotingOpen)
    );
    let refused = match step {
        Step::Refused(r) => Some(r),
        Step::Plain | Step::ConfirmPublish => None,
    };
    let db = &state.db;
    let published_at = published(db, round.judging_round_id).await?.map(|p| p.1);
    let progress = judges_per_entry(db, round.judging_round_id).await?;
    let comp = standings::compute(db, round.clone()).await?;
    let mut rows = rows_of(ctx.lang, &snapshot(c, &comp), comp.judges.len());
    // Organizers always see authors, even where the public page hides them.
    for r in &mut rows {
        if let Some(e) = Uuid::parse_str(&r.id).ok().and_then(|id| comp.entry(id)) {
            r.author.clone_from(&e.author_name);
            r.unit = e.unit_name.clone().unwrap_or_default();
            let (assigned, submitted) = progress.get(&e.entry_id).copied().unwrap_or((0, 0));
            r.progress = format!("{submitted}/{assigned}");
        }
    }
    let (status, error) = match refused {
        Some(r) => (r.status(), ctx.t(&r.key()).to_owned()),
        None => (StatusCode::OK, String::new()),
    };
    let mut page = ctx.page("judging.results.title");
    page.title = format!("{} · {}", page.title, c.title);
    let view = PreviewPage {
        page,
        formula_text: formula_text(ctx.lang, &round, &comp.criteria),
        judges: comp.judges.iter().map(|j| j.1.clone()).collect(),
        c: c.clone(),
        rounds: rounds::rounds(db, c.contest_id).await?,
        round,
        rows,
        published_at,
        message: String::new(),
        error,
        confirm_publish,
        voting_closes: results::ends_voting(c)
            .then_some(c.voting_closes_at)
            .flatten(),
        participant_certificates: certificates::participants_enabled(db, c.contest_id).await?,
    };
    Ok(render(status, &view))
}

pub async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { contest, .. }: OrganizerOf,
    Query(q): Query<RoundQuery>,
) -> Result<Response, PageError> {
    let round = round(&state.db, &contest, q.round).await?;
    preview_page(&state, &ctx, &contest, round, Step::Plain)
        .await
        .map(crate::page::no_store)
}

#[derive(Debug, Default, Deserialize)]
pub struct RoundForm {
    #[serde(default)]
    round: String,
    #[serde(default)]
    top: String,
    #[serde(default)]
    cutoff: String,
    /// `1` from a confirm step's button.
    #[serde(default)]
    confirm: String,
    /// `1`: the organizer confirmed ending the open voting now to publish.
    #[serde(default)]
    end_voting: String,
}

impl RoundForm {
    fn number(&self) -> Option<i32> {
        self.round.trim().parse().ok()
    }
}

/// Publishes once confirmed: the first press shows what publishing does (and that it ends
/// the open voting now, if it is open); the confirm step's button publishes.
pub async fn publish_form(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    OrganizerOf { user, contest }: OrganizerOf,
    Form(form): Form<RoundForm>,
) -> Result<Response, PageError> {
    let round = round(&state.db, &contest, form.number()).await?;
    if published(&state.db, round.judging_round_id)
        .await?
        .is_some()
    {
        let step = Step::Refused(JudgingRefusal::AlreadyPublished);
        return preview_page(&state, &ctx, &contest, round, step).await;
    }
    if form.confirm != "1" {
        return preview_page(&state, &ctx, &contest, round, Step::ConfirmPublish).await;
    }
    let n = round.number;
    let end_voting = form.end_voting == "1";
    let id = round.judging_round_id;
    match results::publish(
        &state.db,
        &contest,
        round.clone(),
        user.app_user_id,
        end_voting,
    )
    .await?
    {
        Ok(()) => {
            mail_entrants(&state, &headers, &contest, id).await?;
            nominate_up(&state, &headers, &contest, id).await?;
            // The certificates are issued now, with the facts of this moment; a refusal
            // cannot happen right after publishing.
            let _ = certificates::issue_all(&state.db, contest.contest_id).await?;
            let to = format!(
                "/organize/contests/{}/results?round={n}&saved=published",
                contest.slug
            );
            Ok(Redirect::to(&to).into_response())
        }
        Err(refusal) => {
            // The contest may have changed (voting opened meanwhile): read it again.
            let contest = crate::domain::contests::by_id(&state.db, contest.contest_id)
                .await?
                .ok_or(PageError::NotFound)?;
            preview_page(&state, &ctx, &contest, round, Step::Refused(refusal)).await
        }
    }
}

/// Nominates the published round's top entries into the higher round ("Đề cử lên vòng
/// trên"), when the contest is linked to one; nothing otherwise.
pub async fn nominate_up(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    c: &ContestRow,
    round_id: i64,
) -> sqlx::Result<()> {
    let base = crate::mail::base_url(state, headers);
    crate::domain::advancement::nominate::nominate(&state.db, c, round_id, &base)
        .await
        .map(drop)
}

/// Mails each entrant of the published round once (through the outbox): their entries,
/// each with its link and the judges' comments to them.
pub async fn mail_entrants(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    c: &ContestRow,
    round_id: i64,
) -> sqlx::Result<()> {
    use crate::domain::judging::feedback;
    let t = |k: &'static str| i18n::text(Lang::Vi, k);
    let base = crate::mail::base_url(state, headers);
    let entrants = feedback::entrants(&state.db, round_id).await?;
    let subject = format!("{}: {}", t("results.mail.subject"), c.title);
    let mut tx = state.db.begin().await?;
    for (email, lines) in entrants {
        let mut body = format!(
            "{}

{}
",
            t("results.mail.body"),
            c.title
        );
        for l in &lines {
            body.push_str(&format!(
                "
{}
{base}/entries/{}
",
                l.title, l.entry_id
            ));
            for f in feedback::for_entry(&mut *tx, l.entry_id).await? {
                let who = f.judge.unwrap_or_else(|| t("feedback.judge").to_owned());
                body.push_str(&format!(
                    "  {who}: {}
",
                    f.text
                ));
            }
        }
        body.push_str(&format!(
            "
{}: {base}/contests/{}/results
",
            t("results.mail.ranking"),
            c.slug
        ));
        crate::mail::queue(&mut *tx, &email, "results-published", &subject, &body).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Closes the round and moves its chosen entries (the top N of each category, or those at
/// or above a cutoff) to the next round; returns the new round's number.
async fn advance(
    db: &sqlx::PgPool,
    round: &RoundRow,
    form: &RoundForm,
) -> sqlx::Result<Result<i32, JudgingRefusal>> {
    let top = form.top.trim().parse::<usize>().ok().filter(|n| *n > 0);
    let cutoff = parse_number(&form.cutoff);
    if top.is_none() && cutoff.is_none() {
        return Ok(Err(JudgingRefusal::AdvanceRuleRequired));
    }
    let comp = standings::compute(db, round.clone()).await?;
    // Top N of each category (of all entries in a contest without categories).
    let chosen = advancers(&results::grouped(&comp), top, cutoff);
    rounds::advance(db, round, &chosen).await
}

pub async fn advance_form(
    State(state): State<AppState>,
    ctx: Ctx,
    OrganizerOf { contest, .. }: OrganizerOf,
    Form(form): Form<RoundForm>,
) -> Result<Response, PageError> {
    let round = round(&state.db, &contest, form.number()).await?;
    match advance(&state.db, &round, &form).await? {
        Ok(next) => {
            let to = format!("/organize/contests/{}/judging?round={next}", contest.slug);
            Ok(Redirect::to(&to).into_response())
        }
        Err(refusal) => preview_page(&state, &ctx, &contest, round, Step::Refused(refusal)).await,
    }
}
