//! The organizers' voting page of a contest: the vote policy, the roster, and the fraud
//! review (votes per minute per entry, concentration by address and network, voters' account
//! age, the share of new accounts) with forms that invalidate votes by voter, network or time
//! window and restore them, through the same audited functions as the API.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Form, Json, Router};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::PgPool;

use super::InvalidationForm;
use super::roster::{self, organized};
use crate::domain::voting::policy::VotePolicy;
use crate::domain::voting::repo;
use crate::page::{Ctx, Page, PageError, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/contests/{slug}/vote-policy", put(api_policy))
        .route("/api/v1/contests/{slug}/vote-review", get(api_review))
        .route("/organize/contests/{slug}/voting", get(review_page))
        .route("/organize/contests/{slug}/voting/policy", post(policy_form))
        .route("/organize/contests/{slug}/voting/roster", post(roster_form))
        .route(
            "/organize/contests/{slug}/voting/invalidate",
            post(invalidate_form),
        )
        .route(
            "/organize/contests/{slug}/voting/restore",
            post(restore_form),
        )
}

/// What the fraud review shows.
#[derive(Debug, Default, Serialize)]
pub struct Review {
    pub votes: i64,
    pub valid: i64,
    /// The busiest minutes of the last hour of voting: (minute, entry title, votes).
    pub per_minute: Vec<(DateTime<Utc>, String, i64)>,
    /// (network, votes, voters), most votes first.
    pub networks: Vec<(String, i64, i64)>,
    /// (address, votes, voters), most votes first.
    pub ips: Vec<(String, i64, i64)>,
    /// Votes by the age of the voter's account when voting: (bucket, votes).
    pub ages: Vec<(String, i64)>,
    /// Percent of votes from accounts made less than a day before they voted.
    pub new_account_percent: f64,
    /// (voter id, email, votes), most votes first.
    pub voters: Vec<(i64, String, i64)>,
}

pub async fn review(db: &PgPool, contest_id: i64) -> sqlx::Result<Review> {
    let (votes, valid): (i64, i64) = sqlx::query_as(
        "select count(*), count(*) filter (where valid) from vote where contest_id = $1",
    )
    .bind(contest_id)
    .fetch_one(db)
    .await?;
    let per_minute = sqlx::query_as(
        "select date_trunc('minute', v.created_at), e.title, count(*)
         from vote v join entry e using (entry_id)
         where v.contest_id = $1 and v.valid
           and v.created_at > (select max(created_at) from vote where contest_id = $1) - interval '1 hour'
         group by 1, 2 order by 3 desc, 1 desc limit 30",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    let networks = sqlx::query_as(
        "select ip_network::text, count(*), count(distinct voter_id) from vote
         where contest_id = $1 and valid and ip_network is not null
         group by ip_network order by 2 desc limit 20",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    let ips = sqlx::query_as(
        "select host(ip), count(*), count(distinct voter_id) from vote
         where contest_id = $1 and valid and ip is not null
         group by ip order by 2 desc limit 20",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    let ages: Vec<(String, i64)> = sqlx::query_as(
        "select b, count(*) from (
             select case when v.created_at - u.created_at < interval '1 hour' then 'hour'
                         when v.created_at - u.created_at < interval '1 day' then 'day'
                         when v.created_at - u.created_at < interval '7 days' then 'week'
                         else 'older' end as b
             from vote v join app_user u on u.app_user_id = v.voter_id
             where v.contest_id = $1 and v.valid) t
         group by b order by array_position(array['hour', 'day', 'week', 'older'], b)",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    let new: i64 = ages
        .iter()
        .filter(|(b, _)| b == "hour" || b == "day")
        .map(|(_, n)| n)
        .sum();
    let voters = sqlx::query_as(
        "select v.voter_id, u.email::text, count(*) from vote v
         join app_user u on u.app_user_id = v.voter_id
         where v.contest_id = $1 and v.valid
         group by 1, 2 order by 3 desc, 1 limit 20",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    Ok(Review {
        votes,
        valid,
        per_minute,
        networks,
        ips,
        new_account_percent: if valid > 0 {
            (new as f64 * 1000.0 / valid as f64).round() / 10.0
        } else {
            0.0
        },
        ages,
        voters,
    })
}

#[derive(Debug, sqlx::FromRow)]
struct InvalidationRow {
    vote_invalidation_id: i64,
    summary: String,
    reason: String,
    votes: i32,
    created_at: DateTime<Utc>,
    restored_at: Option<DateTime<Utc>>,
}

#[derive(Debug, sqlx::FromRow)]
struct AuditRow {
    action: String,
    actor: Option<String>,
    reason: String,
    votes: i32,
    created_at: DateTime<Utc>,
}

#[derive(Template)]
#[template(path = "voting/organize.html")]
struct ReviewPage {
    page: Page,
    slug: String,
    title: String,
    policy: VotePolicy,
    roster_size: i64,
    review: Review,
    invalidations: Vec<InvalidationRow>,
    audit: Vec<AuditRow>,
    notice: String,
    errors: Vec<String>,
    roster_text: String,
}

impl ReviewPage {
    fn opt(&self, n: &Option<i64>) -> String {
        n.map(|n| n.to_string()).unwrap_or_default()
    }

    fn age_text(&self, bucket: &str) -> String {
        self.page.tk("vote.review.age.", bucket)
    }
}

/// The page itself, with a notice after a change or the errors of a refused form.
async fn show(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    status: StatusCode,
    notice: &str,
    errors: Vec<String>,
    roster_text: String,
) -> Result<Response, PageError> {
    let (_, contest) = organizer(state, ctx, slug).await?;
    let title: String = sqlx::query_scalar("select title from contest where contest_id = $1")
        .bind(contest.contest_id)
        .fetch_one(&state.db)
        .await?;
    let invalidations = sqlx::query_as(
        "select vote_invalidation_id,
                concat_ws(' · ', 'voter ' || voter_id, ip_network::text,
                          to_char(from_at at time zone 'Asia/Ho_Chi_Minh', 'DD/MM HH24:MI') || ' →',
                          '→ ' || to_char(until_at at time zone 'Asia/Ho_Chi_Minh', 'DD/MM HH24:MI')) as summary,
                reason, votes, created_at, restored_at
         from vote_invalidation where contest_id = $1 order by created_at desc limit 100",
    )
    .bind(contest.contest_id)
    .fetch_all(&state.db)
    .await?;
    let audit = sqlx::query_as(
        "select a.action, u.email::text as actor, a.reason, a.votes, a.created_at
         from vote_audit a left join app_user u on u.app_user_id = a.actor_id
         where a.contest_id = $1 order by a.created_at desc, a.vote_audit_id desc limit 100",
    )
    .bind(contest.contest_id)
    .fetch_all(&state.db)
    .await?;
    let mut page = ctx.page("vote.review.title");
    page.title = format!("{} — {title}", page.title);
    let notice = if notice.is_empty() {
        String::new()
    } else {
        page.tk("vote.review.notice.", notice)
    };
    Ok(render(
        status,
        &ReviewPage {
            page,
            slug: slug.to_owned(),
            title,
            policy: VotePolicy::from_settings(&contest.settings),
            roster_size: roster::size(&state.db, contest.contest_id).await?,
            review: review(&state.db, contest.contest_id).await?,
            invalidations,
            audit,
            notice,
            errors,
            roster_text,
        },
    ))
}

pub(super) async fn organizer(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
) -> Result<(CurrentUser, repo::VotingContest), PageError> {
    let user = ctx.user.clone().ok_or(PageError::SignIn)?;
    match organized(&state.db, &user, slug).await {
        Ok(c) => Ok((user, c)),
        Err(e) if e.code == "not-found" => Err(PageError::NotFound),
        Err(e) if e.code == "forbidden" => Err(PageError::Forbidden),
        Err(e) => Err(PageError::Internal(anyhow::anyhow!("{}", e.message))),
    }
}

#[derive(Debug, Deserialize)]
struct Notice {
    notice: Option<String>,
}

async fn review_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    axum::extract::Query(q): axum::extract::Query<Notice>,
) -> Result<Response, PageError> {
    let notice = q.notice.filter(|n| n.len() <= 20).unwrap_or_default();
    show(
        &state,
        &ctx,
        &slug,
        StatusCode::OK,
        &notice,
        vec![],
        String::new(),
    )
    .await
}

fn done(slug: &str, notice: &str) -> Response {
    Redirect::to(&format!("/organize/contests/{slug}/voting?notice={notice}")).into_response()
}

/// A refused form: the page again with the errors (422).
async fn refused(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    errors: Vec<String>,
    roster_text: String,
) -> Result<Response, PageError> {
    show(
        state,
        ctx,
        slug,
        StatusCode::UNPROCESSABLE_ENTITY,
        "",
        errors,
        roster_text,
    )
    .await
}

/// Stores a checked policy under `settings.voting` and audits the change.
async fn save_policy(
    db: &PgPool,
    contest_id: i64,
    policy: &VotePolicy,
    actor: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "update contest set settings = jsonb_set(coalesce(settings, '{}'::jsonb), '{voting}', $2)
         where contest_id = $1",
    )
    .bind(contest_id)
    .bind(policy.to_json())
    .execute(&mut *tx)
    .await?;
    roster::audit(
        &mut tx,
        contest_id,
        "policy",
        actor,
        &policy.to_json().to_string(),
    )
    .await?;
    tx.commit().await
}

#[derive(Debug, Deserialize)]
struct PolicyForm {
    #[serde(default)]
    per_day: String,
    #[serde(default)]
    per_contest: String,
    #[serde(default)]
    per_round: String,
    #[serde(default)]
    round: String,
    hide_totals: Option<String>,
    shuffle: Option<String>,
    roster: Option<String>,
}

/// A whole number from a form field; empty is `None`, anything else not a number is `Some(0)`
/// (out of bounds, so refused with the field's message).
fn number(s: &str) -> Option<i64> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.parse().unwrap_or(0))
}

async fn policy_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<PolicyForm>,
) -> Result<Response, PageError> {
    let (user, contest) = organizer(&state, &ctx, &slug).await?;
    let policy = VotePolicy {
        per_day: number(&form.per_day).unwrap_or(1),
        per_contest: number(&form.per_contest),
        per_round: number(&form.per_round),
        round: number(&form.round).unwrap_or(1),
        hide_totals: form.hide_totals.is_some(),
        shuffle: form.shuffle.is_some(),
        roster: form.roster.is_some(),
    };
    if let Err(errors) = policy.validate() {
        let errors = errors
            .iter()
            .map(|(_, code)| ctx.t(&format!("vote.error.{code}")).to_owned())
            .collect();
        return refused(&state, &ctx, &slug, errors, String::new()).await;
    }
    save_policy(&state.db, contest.contest_id, &policy, user.app_user_id).await?;
    Ok(done(&slug, "policy"))
}

#[derive(Debug, Deserialize)]
struct RosterForm {
    #[serde(default)]
    csv: String,
}

async fn roster_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<RosterForm>,
) -> Result<Response, PageError> {
    let (user, contest) = organizer(&state, &ctx, &slug).await?;
    match roster::parse(&form.csv) {
        Ok(members) => {
            roster::replace(&state.db, contest.contest_id, &members, user.app_user_id).await?;
            Ok(done(&slug, "roster"))
        }
        Err(errors) => {
            let errors = errors
                .iter()
                .take(50)
                .map(|e| {
                    ctx.t("vote.error.roster-line")
                        .replace("{line}", &e.line.to_string())
                        .replace("{message}", ctx.t(&format!("vote.error.{}", e.code)))
                })
                .collect();
            refused(&state, &ctx, &slug, errors, form.csv).await
        }
    }
}

#[derive(Debug, Deserialize)]
struct InvalidateForm {
    /// A voter's id or email.
    #[serde(default)]
    voter: String,
    #[serde(default)]
    ip_network: String,
    /// `datetime-local` values, in Vietnam's time.
    #[serde(default)]
    from: String,
    #[serde(default)]
    until: String,
    #[serde(default)]
    reason: String,
}

/// A `datetime-local` value read as Asia/Ho_Chi_Minh time (UTC+7, no daylight saving).
fn local_time(s: &str) -> Result<Option<DateTime<Utc>>, ()> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| ())?;
    let vn = FixedOffset::east_opt(7 * 3600).ok_or(())?;
    vn.from_local_datetime(&naive)
        .single()
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or(())
}

async fn invalidate_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<InvalidateForm>,
) -> Result<Response, PageError> {
    let (user, contest) = organizer(&state, &ctx, &slug).await?;
    let error = |code: &str| ctx.t(&format!("vote.error.{code}")).to_owned();
    let voter = form.voter.trim();
    let voter_id = if voter.is_empty() {
        None
    } else if let Ok(id) = voter.parse::<i64>() {
        Some(id)
    } else {
        let id: Option<i64> =
            sqlx::query_scalar("select app_user_id from app_user where email = $1")
                .bind(voter.to_lowercase())
                .fetch_optional(&state.db)
                .await?;
        match id {
            Some(id) => Some(id),
            None => {
                let errors = vec![error("unknown-voter")];
                return refused(&state, &ctx, &slug, errors, String::new()).await;
            }
        }
    };
    let (Ok(from), Ok(until)) = (local_time(&form.from), local_time(&form.until)) else {
        let errors = vec![error("invalid-time")];
        return refused(&state, &ctx, &slug, errors, String::new()).await;
    };
    let checked = InvalidationForm {
        voter_id,
        ip_network: Some(form.ip_network.trim().to_owned()).filter(|s| !s.is_empty()),
        from,
        until,
        reason: form.reason.clone(),
    }
    .checked();
    let (criteria, reason) = match checked {
        Ok(c) => c,
        Err(e) => {
            let errors = vec![error(e.code)];
            return refused(&state, &ctx, &slug, errors, String::new()).await;
        }
    };
    repo::invalidate(
        &state.db,
        contest.contest_id,
        &criteria,
        &reason,
        user.app_user_id,
    )
    .await?;
    Ok(done(&slug, "invalidated"))
}

#[derive(Debug, Deserialize)]
struct RestoreForm {
    id: i64,
    #[serde(default)]
    reason: String,
}

async fn restore_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    Form(form): Form<RestoreForm>,
) -> Result<Response, PageError> {
    let (user, contest) = organizer(&state, &ctx, &slug).await?;
    let error = |code: &str| vec![ctx.t(&format!("vote.error.{code}")).to_owned()];
    let belongs: bool = sqlx::query_scalar(
            "select exists (select 1 from vote_invalidation where vote_invalidation_id = $1 and contest_id = $2)",
        )
        .bind(form.id)
        .bind(contest.contest_id)
        .fetch_one(&state.db)
        .await?;
    if !belongs {
        return Err(PageError::NotFound);
    }
    let reason = match super::reason(&form.reason) {
        Ok(r) => r,
        Err(e) => return refused(&state, &ctx, &slug, error(e.code), String::new()).await,
    };
    match repo::restore(&state.db, form.id, &reason, user.app_user_id).await {
        Ok(_) => Ok(done(&slug, "restored")),
        Err(repo::RestoreError::NotFound) => Err(PageError::NotFound),
        Err(repo::RestoreError::AlreadyRestored) => {
            refused(
                &state,
                &ctx,
                &slug,
                error("already-restored"),
                String::new(),
            )
            .await
        }
        Err(repo::RestoreError::Db(e)) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyBody {
    per_day: Option<i64>,
    per_contest: Option<i64>,
    per_round: Option<i64>,
    round: Option<i64>,
    hide_totals: Option<bool>,
    shuffle: Option<bool>,
    roster: Option<bool>,
}

/// Replaces the policy: fields left out take their defaults.
async fn api_policy(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    user: CurrentUser,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let contest = organized(&state.db, &user, &slug).await?;
    let b: PolicyBody = super::json_body(&body)?;
    let d = VotePolicy::default();
    let policy = VotePolicy {
        per_day: b.per_day.unwrap_or(d.per_day),
        per_contest: b.per_contest,
        per_round: b.per_round,
        round: b.round.unwrap_or(d.round),
        hide_totals: b.hide_totals.unwrap_or(d.hide_totals),
        shuffle: b.shuffle.unwrap_or(d.shuffle),
        roster: b.roster.unwrap_or(d.roster),
    };
    if let Err(errors) = policy.validate() {
        let (field, code) = errors[0];
        return Err(ApiError::invalid(code, format!("{field} is out of bounds")));
    }
    save_policy(&state.db, contest.contest_id, &policy, user.app_user_id).await?;
    Ok(Json(policy.to_json()).into_response())
}

async fn api_review(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    user: CurrentUser,
) -> Result<Response, ApiError> {
    let contest = organized(&state.db, &user, &slug).await?;
    let r = review(&state.db, contest.contest_id).await?;
    Ok(Json(json!({
        "votes": r.votes,
        "valid": r.valid,
        "per_minute": r.per_minute.iter().map(|(m, t, n)| json!({"minute": m, "entry": t, "votes": n})).collect::<Vec<_>>(),
        "networks": r.networks.iter().map(|(k, n, v)| json!({"network": k, "votes": n, "voters": v})).collect::<Vec<_>>(),
        "ips": r.ips.iter().map(|(k, n, v)| json!({"ip": k, "votes": n, "voters": v})).collect::<Vec<_>>(),
        "account_age": r.ages.iter().map(|(b, n)| json!({"bucket": b, "votes": n})).collect::<Vec<_>>(),
        "new_account_percent": r.new_account_percent,
        "voters": r.voters.iter().map(|(id, e, n)| json!({"id": id, "email": e, "votes": n})).collect::<Vec<_>>(),
    }))
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_times_are_vietnam_time() {
        let t = local_time("2026-11-30T10:00").unwrap().unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-30T03:00:00+00:00");
        assert_eq!(local_time(" ").unwrap(), None);
        assert!(local_time("30/11/2026").is_err());
        assert_eq!(number("x"), Some(0));
        assert_eq!(number(""), None);
    }
}
