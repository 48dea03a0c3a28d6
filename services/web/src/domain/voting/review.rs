//! The organizers' view of a contest's voting: the fraud review (votes per minute per entry,
//! concentration by address and network, voters' account age, the share of new accounts),
//! the invalidations and the audit, and the stored vote policy.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;

use super::policy::VotePolicy;
use super::roster;

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
    let ages: Vec<(String, i64)> = rows(db, AGES, contest_id).await?;
    let new: i64 = ages
        .iter()
        .filter(|(b, _)| b == "hour" || b == "day")
        .map(|(_, n)| n)
        .sum();
    Ok(Review {
        votes,
        valid,
        per_minute: rows(db, PER_MINUTE, contest_id).await?,
        networks: rows(db, NETWORKS, contest_id).await?,
        ips: rows(db, IPS, contest_id).await?,
        new_account_percent: if valid > 0 {
            (new as f64 * 1000.0 / valid as f64).round() / 10.0
        } else {
            0.0
        },
        ages,
        voters: rows(db, VOTERS, contest_id).await?,
    })
}

/// The rows of one of the review's queries of a contest.
async fn rows<T>(db: &PgPool, sql: &'static str, contest_id: i64) -> sqlx::Result<Vec<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    sqlx::query_as(sql).bind(contest_id).fetch_all(db).await
}

/// The busiest minutes of the last hour of voting.
const PER_MINUTE: &str = "select date_trunc('minute', v.created_at), e.title, count(*)
     from vote v join entry e using (entry_id)
     where v.contest_id = $1 and v.valid
       and v.created_at > (select max(created_at) from vote where contest_id = $1) - interval '1 hour'
     group by 1, 2 order by 3 desc, 1 desc limit 30";

const NETWORKS: &str = "select ip_network::text, count(*), count(distinct voter_id) from vote
     where contest_id = $1 and valid and ip_network is not null
     group by ip_network order by 2 desc limit 20";

const IPS: &str = "select host(ip), count(*), count(distinct voter_id) from vote
     where contest_id = $1 and valid and ip is not null
     group by ip order by 2 desc limit 20";

/// Votes by the age of the voter's account when voting.
const AGES: &str = "select b, count(*) from (
         select case when v.created_at - u.created_at < interval '1 hour' then 'hour'
                     when v.created_at - u.created_at < interval '1 day' then 'day'
                     when v.created_at - u.created_at < interval '7 days' then 'week'
                     else 'older' end as b
         from vote v join app_user u on u.app_user_id = v.voter_id
         where v.contest_id = $1 and v.valid) t
     group by b order by array_position(array['hour', 'day', 'week', 'older'], b)";

const VOTERS: &str = "select v.voter_id, u.email::text, count(*) from vote v
     join app_user u on u.app_user_id = v.voter_id
     where v.contest_id = $1 and v.valid
     group by 1, 2 order by 3 desc, 1 limit 20";

/// One invalidation as the organizers' page lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct InvalidationRow {
    pub vote_invalidation_id: i64,
    pub summary: String,
    pub reason: String,
    pub votes: i32,
    pub created_at: DateTime<Utc>,
    pub restored_at: Option<DateTime<Utc>>,
}

/// One line of a contest's vote audit.
#[derive(Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub action: String,
    pub actor: Option<String>,
    pub reason: String,
    pub votes: i32,
    pub created_at: DateTime<Utc>,
}

/// The latest invalidations of a contest, newest first.
pub async fn invalidations(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<InvalidationRow>> {
    sqlx::query_as(
        "select vote_invalidation_id,
                concat_ws(' · ', 'voter ' || voter_id, ip_network::text,
                          to_char(from_at at time zone 'Asia/Ho_Chi_Minh', 'DD/MM HH24:MI') || ' →',
                          '→ ' || to_char(until_at at time zone 'Asia/Ho_Chi_Minh', 'DD/MM HH24:MI')) as summary,
                reason, votes, created_at, restored_at
         from vote_invalidation where contest_id = $1 order by created_at desc limit 100",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

/// The latest audit lines of a contest, newest first.
pub async fn audit(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<AuditRow>> {
    sqlx::query_as(
        "select a.action, u.email::text as actor, a.reason, a.votes, a.created_at
         from vote_audit a left join app_user u on u.app_user_id = a.actor_id
         where a.contest_id = $1 order by a.created_at desc, a.vote_audit_id desc limit 100",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await
}

/// Stores a checked policy under `settings.voting` and audits the change.
pub async fn save_policy(
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
