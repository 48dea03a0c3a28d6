//! What an organizer asks to invalidate (a voter, a network, a time window, with a reason),
//! checked the same way for the API and the page, and the lookups around a restore.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgPool;

use super::policy;
use super::refusal::VoteRefusal;
use super::repo::Criteria;

/// The API's body, and what the page's form becomes.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvalidationRequest {
    pub voter_id: Option<i64>,
    pub ip_network: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub reason: String,
}

impl InvalidationRequest {
    /// The criteria and reason, or what is wrong with them.
    pub fn checked(&self) -> Result<(Criteria, String), VoteRefusal> {
        let reason = reason(&self.reason)?;
        let ip_network = match self.ip_network.as_deref() {
            None => None,
            Some(s) => Some(policy::parse_network(s).ok_or(VoteRefusal::InvalidNetwork)?),
        };
        if let (Some(f), Some(u)) = (self.from, self.until)
            && f >= u
        {
            return Err(VoteRefusal::InvalidWindow);
        }
        let criteria = Criteria {
            voter_id: self.voter_id,
            ip_network,
            from: self.from,
            until: self.until,
        };
        if criteria.voter_id.is_none()
            && criteria.ip_network.is_none()
            && criteria.from.is_none()
            && criteria.until.is_none()
        {
            return Err(VoteRefusal::CriteriaRequired);
        }
        Ok((criteria, reason))
    }
}

/// The reason of an invalidation or a restore: 1 to 1000 characters, trimmed.
pub fn reason(text: &str) -> Result<String, VoteRefusal> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 1000 {
        return Err(VoteRefusal::ReasonRequired);
    }
    Ok(text.to_owned())
}

/// The slug of the contest of invalidation `id`.
pub async fn contest_slug(db: &PgPool, id: i64) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar(
        "select c.slug from vote_invalidation i join contest c using (contest_id)
         where i.vote_invalidation_id = $1",
    )
    .bind(id)
    .fetch_optional(db)
    .await
}

/// Whether invalidation `id` is one of contest `contest_id`.
pub async fn belongs(db: &PgPool, id: i64, contest_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from vote_invalidation
                        where vote_invalidation_id = $1 and contest_id = $2)",
    )
    .bind(id)
    .bind(contest_id)
    .fetch_one(db)
    .await
}

/// The account of `email` (an organizer names a voter by id or email).
pub async fn voter_by_email(db: &PgPool, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select app_user_id from app_user where email = $1")
        .bind(email.to_lowercase())
        .fetch_optional(db)
        .await
}
