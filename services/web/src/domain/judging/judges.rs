//! Judges of a contest: invitations by email (bound to the verified account of the address,
//! never to whoever typed it), accepting an invitation link, who acts as a judge, and the
//! organizer's list of judges with their progress.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JudgeRow {
    pub email: String,
    /// The account that accepted the invitation; `None` while it is pending.
    pub app_user_id: Option<i64>,
    pub display_name: Option<String>,
    pub unit_name: Option<String>,
    pub assigned: i64,
    pub submitted: i64,
    pub reminded_at: Option<DateTime<Utc>>,
}

impl JudgeRow {
    pub fn remaining(&self) -> i64 {
        self.assigned - self.submitted
    }
}

pub async fn judges(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    round_id: i64,
) -> sqlx::Result<Vec<JudgeRow>> {
    sqlx::query_as(
        "select cj.email::text as email, u.app_user_id, u.display_name, un.name as unit_name,
                count(a.judge_assignment_id) filter (where a.active) as assigned,
                count(a.judge_assignment_id) filter (where a.active and a.submitted_at is not null) as submitted,
                cj.reminded_at
         from contest_judge cj
         left join app_user u on u.app_user_id = cj.app_user_id
         left join unit un on un.unit_id = u.unit_id
         left join judge_assignment a on a.judge_id = u.app_user_id and a.judging_round_id = $2
         where cj.contest_id = $1
         group by cj.email, u.app_user_id, u.display_name, un.name, cj.reminded_at
         order by cj.email",
    )
    .bind(contest_id)
    .bind(round_id)
    .fetch_all(db)
    .await
}

/// How long an invitation link can be accepted.
pub const INVITE_DAYS: i32 = 14;

/// What inviting did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invited {
    /// The address belongs to a verified account, which is now (or already was) the judge;
    /// `new` when it was not before.
    Accepted { new: bool },
    /// Nobody has proved the address yet: the judge is whoever accepts this link's token
    /// signed in as the verified account of the address. A new invitation replaces the
    /// previous link.
    Pending { token: String },
}

/// The SQL condition that account `u` acts as the judge of invitation `cj`: the invitation
/// was accepted by that account, the account still has the invited address, and it is
/// verified. Typing an address at registration grants nothing.
pub const ACTS_AS_JUDGE: &str = "u.app_user_id = cj.app_user_id and u.email = cj.email
    and u.email_verified_at is not null";

pub fn invite_token_hash(token: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(token.as_bytes()).to_vec()
}

/// Adds (or renews) a judge invitation by email, in the caller's transaction.
pub async fn invite(
    conn: &mut PgConnection,
    contest_id: i64,
    email: &str,
    conflict_unit_ids: &[i64],
    by: i64,
) -> sqlx::Result<Invited> {
    let was_accepted: bool = sqlx::query_scalar(
        "insert into contest_judge (contest_id, email, conflict_unit_ids, invited_by) values ($1, $2, $3, $4)
         on conflict (contest_id, email) do update set conflict_unit_ids = excluded.conflict_unit_ids
         returning app_user_id is not null",
    )
    .bind(contest_id)
    .bind(email)
    .bind(conflict_unit_ids)
    .bind(by)
    .fetch_one(&mut *conn)
    .await?;
    if was_accepted {
        return Ok(Invited::Accepted { new: false });
    }
    // The address's owner proved it already: nothing more to prove by mail.
    let bound: Option<i64> = sqlx::query_scalar(
        "update contest_judge cj set app_user_id = u.app_user_id, accepted_at = now(),
                invite_token_hash = null, invite_expires_at = null
         from app_user u
         where cj.contest_id = $1 and cj.email = $2 and cj.app_user_id is null
           and u.email = cj.email and u.email_verified_at is not null
         returning u.app_user_id",
    )
    .bind(contest_id)
    .bind(email)
    .fetch_optional(&mut *conn)
    .await?;
    if bound.is_some() {
        return Ok(Invited::Accepted { new: true });
    }
    let mut raw = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut raw);
    let token = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, raw);
    sqlx::query(
        "update contest_judge set invite_token_hash = $3,
                invite_expires_at = now() + make_interval(days => $4)
         where contest_id = $1 and email = $2",
    )
    .bind(contest_id)
    .bind(email)
    .bind(invite_token_hash(&token))
    .bind(INVITE_DAYS)
    .execute(&mut *conn)
    .await?;
    Ok(Invited::Pending { token })
}

/// A live (unexpired, unaccepted) invitation of the contest `slug` by its token: the
/// contest and the invited address.
pub async fn pending_invite(
    db: impl PgExecutor<'_>,
    slug: &str,
    token: &str,
) -> sqlx::Result<Option<(i64, String)>> {
    if token.is_empty() || token.len() > 128 {
        return Ok(None);
    }
    sqlx::query_as(
        "select cj.contest_id, cj.email::text from contest_judge cj join contest c using (contest_id)
         where cj.invite_token_hash = $1 and c.slug = $2 and cj.app_user_id is null
           and cj.invite_expires_at > now()",
    )
    .bind(invite_token_hash(token))
    .bind(slug)
    .fetch_optional(db)
    .await
}

/// Accepts a live invitation for `user_id`, only when that account is verified and has the
/// invited address; the token is spent. `false` when nothing was accepted.
pub async fn accept_invite(
    db: impl PgExecutor<'_>,
    slug: &str,
    token: &str,
    user_id: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "update contest_judge cj set app_user_id = u.app_user_id, accepted_at = now(),
                invite_token_hash = null, invite_expires_at = null
         from app_user u, contest c
         where cj.invite_token_hash = $1 and cj.invite_expires_at > now() and cj.app_user_id is null
           and c.contest_id = cj.contest_id and c.slug = $2
           and u.app_user_id = $3 and u.email = cj.email and u.email_verified_at is not null",
    )
    .bind(invite_token_hash(token))
    .bind(slug)
    .bind(user_id)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// The entries of contest `contest_id` with these numbers; `None` when a number is no entry.
pub async fn entries_by_number(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    numbers: &[i32],
) -> sqlx::Result<Option<Vec<uuid::Uuid>>> {
    let found: Vec<uuid::Uuid> =
        sqlx::query_scalar("select entry_id from entry where contest_id = $1 and number = any($2)")
            .bind(contest_id)
            .bind(numbers)
            .fetch_all(db)
            .await?;
    let mut distinct = numbers.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    Ok((found.len() == distinct.len()).then_some(found))
}

/// The entries of contest `contest_id` in its category `slug` (withdrawn and drafts left
/// out); `None` when the contest has no such category.
pub async fn entries_of_category(
    db: &sqlx::PgPool,
    contest_id: i64,
    slug: &str,
) -> sqlx::Result<Option<Vec<uuid::Uuid>>> {
    let Some(k) = crate::domain::contests::categories::by_slug(db, contest_id, slug).await? else {
        return Ok(None);
    };
    let found = sqlx::query_scalar(
        "select entry_id from entry where contest_id = $1 and category_id = $2
           and status not in ('draft', 'withdrawn')",
    )
    .bind(contest_id)
    .bind(k.category_id)
    .fetch_all(db)
    .await?;
    Ok(Some(found))
}

/// Remembers what to assign the judge `email` of `contest_id` when they accept: round
/// `round_id`, these entries (`None`: every entry they may score).
pub async fn assign_on_accept(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    email: &str,
    round_id: i64,
    entries: Option<&[uuid::Uuid]>,
) -> sqlx::Result<()> {
    sqlx::query(
        "update contest_judge set assign_round_id = $3, assign_entries = $4
         where contest_id = $1 and email = $2",
    )
    .bind(contest_id)
    .bind(email)
    .bind(round_id)
    .bind(entries)
    .execute(db)
    .await
    .map(drop)
}

/// What to assign the judge `user_id` of `contest_id` now that they accepted (taken once):
/// the round, the judge's address, and the entries (`None`: all they may score).
pub async fn take_assign_on_accept(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    user_id: i64,
) -> sqlx::Result<Option<(i64, String, Option<Vec<uuid::Uuid>>)>> {
    sqlx::query_as(
        "update contest_judge cj set assign_round_id = null, assign_entries = null
         from (select contest_id, email, assign_round_id, assign_entries from contest_judge
               where contest_id = $1 and app_user_id = $2 and assign_round_id is not null
               for update) old
         where cj.contest_id = old.contest_id and cj.email = old.email
         returning old.assign_round_id, old.email::text, old.assign_entries",
    )
    .bind(contest_id)
    .bind(user_id)
    .fetch_optional(db)
    .await
}

/// Whether `user_id` is a judge of the contest (see `ACTS_AS_JUDGE`).
pub async fn is_judge(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    user_id: i64,
) -> sqlx::Result<bool> {
    sqlx::query_scalar(&format!(
        "select exists (select 1 from contest_judge cj join app_user u on {ACTS_AS_JUDGE}
          where cj.contest_id = $1 and u.app_user_id = $2)"
    ))
    .bind(contest_id)
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// The judge of the round's contest invited as `email`, if that invitation acts.
pub(super) async fn judge_by_email(
    db: impl PgExecutor<'_>,
    round_id: i64,
    email: &str,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar(&format!(
        "select u.app_user_id from judging_round r
         join contest_judge cj on cj.contest_id = r.contest_id
         join app_user u on {ACTS_AS_JUDGE}
         where r.judging_round_id = $1 and cj.email = $2"
    ))
    .bind(round_id)
    .bind(email.trim())
    .fetch_optional(db)
    .await
}

/// The contests `user_id` judges, the latest submission period first.
pub async fn contests_judged(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<Vec<i64>> {
    sqlx::query_scalar(&format!(
        "select cj.contest_id from contest_judge cj join contest c using (contest_id)
             join app_user u on {ACTS_AS_JUDGE}
             where u.app_user_id = $1 order by c.submission_opens_at desc"
    ))
    .bind(user_id)
    .fetch_all(db)
    .await
}

/// Whether `user_id` judges any contest: the navigation's "Chấm thi" link (one indexed
/// look-up per page).
pub async fn judges_any(db: impl PgExecutor<'_>, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(&format!(
        "select exists (select 1 from contest_judge cj join app_user u on {ACTS_AS_JUDGE}
                        where cj.app_user_id = $1)"
    ))
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// The account with an address (any role): the judges a reassignment names.
pub async fn account_by_email(db: impl PgExecutor<'_>, email: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select app_user_id from app_user where email = $1")
        .bind(email.trim())
        .fetch_optional(db)
        .await
}

/// Unit ids of unit slugs (blank ones skipped); `None` when one is unknown.
pub async fn unit_ids(db: &sqlx::PgPool, slugs: &[String]) -> sqlx::Result<Option<Vec<i64>>> {
    let mut ids = Vec::new();
    for slug in slugs.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        match sqlx::query_scalar("select unit_id from unit where slug = $1")
            .bind(slug)
            .fetch_optional(db)
            .await?
        {
            Some(id) => ids.push(id),
            None => return Ok(None),
        }
    }
    Ok(Some(ids))
}

/// Notes that the judge invited as `email` was reminded now.
pub async fn mark_reminded(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    email: &str,
) -> sqlx::Result<()> {
    sqlx::query("update contest_judge set reminded_at = now() where contest_id = $1 and email = $2")
        .bind(contest_id)
        .bind(email)
        .execute(db)
        .await
        .map(drop)
}

/// SQL condition, true when judge `j` (app_user) may score entry `e` of round `r` with
/// author `au` and contest judge row `cj`: not their own entry, not their own unit's (when
/// the round has the rule), not a unit on their explicit list.
pub const NO_CONFLICT: &str = "e.author_id <> j.app_user_id
    and not (r.conflict_own_unit and au.unit_id is not null and au.unit_id is not distinct from j.unit_id)
    and not (au.unit_id is not null and au.unit_id = any(cj.conflict_unit_ids))";
