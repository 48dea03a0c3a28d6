//! Member-number claims in a contest: the numbers its roster lists that someone claimed
//! without proof (no roster email, or not theirs) or that several accounts claim, and the
//! organizer's decisions on them — confirm (this account is the member), clear (it is not)
//! and reassign (the number goes to the verified account of an email). Every decision is
//! audited; the roster rule (`voter_on_roster`) reads them.

use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};

use super::refusal::VoteRefusal;
use super::roster::{self, member_number};

/// One account's claim of a listed number.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ClaimRow {
    pub member_number: String,
    /// The email the roster gives for the number, if any.
    pub roster_email: Option<String>,
    pub app_user_id: i64,
    pub email: String,
    pub display_name: String,
    pub verified: bool,
    #[serde(skip)]
    decision: Option<String>,
    #[serde(skip)]
    other_confirmed: bool,
    /// How many accounts claim this number.
    pub claimants: i64,
    /// `pending`, `confirmed`, `refused`, `by-email` (the roster's email is theirs) or
    /// `superseded` (another account was confirmed).
    #[sqlx(skip)]
    pub state: String,
}

impl ClaimRow {
    fn state(&self) -> &'static str {
        match self.decision.as_deref() {
            Some("confirmed") => "confirmed",
            Some(_) => "refused",
            None if self.other_confirmed => "superseded",
            None if self.verified
                && self
                    .roster_email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&self.email)) =>
            {
                "by-email"
            }
            None => "pending",
        }
    }
}

/// The most claims listed at once (the oldest numbers first).
const MAX_ROWS: usize = 500;

/// Claims needing the organizer: every unproven claim, and every claim of a disputed number.
pub async fn claims(db: &PgPool, contest_id: i64) -> sqlx::Result<Vec<ClaimRow>> {
    let rows: Vec<ClaimRow> = sqlx::query_as(
        "select r.value::text as member_number, r.email::text as roster_email, u.app_user_id,
                u.email::text as email, u.display_name, u.email_verified_at is not null as verified,
                d.decision,
                exists (select 1 from member_decision o
                        where o.contest_id = r.contest_id and o.member_number = r.value
                          and o.decision = 'confirmed' and o.app_user_id <> u.app_user_id) as other_confirmed,
                count(*) over (partition by r.value) as claimants
         from vote_roster r
         join app_user u on lower(u.member_number) = lower(r.value::text)
         left join member_decision d
           on d.contest_id = r.contest_id and d.member_number = r.value and d.app_user_id = u.app_user_id
         where r.contest_id = $1 and r.kind = 'member'
         order by lower(r.value::text), u.app_user_id",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|mut r| {
            r.state = r.state().to_owned();
            r
        })
        .filter(|r| r.state != "by-email" || r.claimants > 1)
        .take(MAX_ROWS)
        .collect())
}

/// What the organizer decides about a number.
#[derive(Debug, Clone)]
pub enum Decision {
    /// This claimant is the member.
    Confirm { user_id: i64 },
    /// This claimant is not the member.
    Clear { user_id: i64 },
    /// The verified account of this email is the member (its number is set when it has none).
    Reassign { email: String },
}

/// Records a decision on `number` in the contest, with its audit row, in one transaction.
/// Decisions on one number are serialized by locking its roster line.
pub async fn decide(
    db: &PgPool,
    contest_id: i64,
    number: &str,
    decision: &Decision,
    actor: i64,
) -> sqlx::Result<Result<(), VoteRefusal>> {
    let number = number.trim();
    if !member_number(number) {
        return Ok(Err(VoteRefusal::InvalidMemberNumber));
    }
    let mut tx = db.begin().await?;
    let listed: Option<String> = sqlx::query_scalar(
        "select value::text from vote_roster
         where contest_id = $1 and kind = 'member' and value = $2::citext for update",
    )
    .bind(contest_id)
    .bind(number)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(number) = listed else {
        return Ok(Err(VoteRefusal::NotListed));
    };
    let decided = match decision {
        Decision::Confirm { user_id } | Decision::Clear { user_id } => {
            let confirm = matches!(decision, Decision::Confirm { .. });
            claimant(&mut tx, &number, *user_id, confirm).await?
        }
        Decision::Reassign { email } => reassign(&mut tx, &number, email).await?,
    };
    let (user_id, confirm, summary) = match decided {
        Ok(d) => d,
        Err(refusal) => return Ok(Err(refusal)),
    };
    record(&mut tx, contest_id, &number, user_id, confirm, actor).await?;
    roster::audit(&mut tx, contest_id, "member-number", actor, &summary).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Who a decision is about, whether it confirms them, and the audit line.
type Decided = Result<(i64, bool, String), VoteRefusal>;

/// A confirm or clear of one claimant of `number`.
async fn claimant(
    tx: &mut Transaction<'_, Postgres>,
    number: &str,
    user_id: i64,
    confirm: bool,
) -> sqlx::Result<Decided> {
    let email: Option<String> = sqlx::query_scalar(
        "select email::text from app_user
         where app_user_id = $1 and lower(member_number) = lower($2)",
    )
    .bind(user_id)
    .bind(number)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(email) = email else {
        return Ok(Err(VoteRefusal::NotAClaimant));
    };
    let verb = if confirm { "confirm" } else { "clear" };
    Ok(Ok((user_id, confirm, format!("{verb} {number}: {email}"))))
}

/// `number` given to the verified account of `email` (its number is set when it has none).
async fn reassign(
    tx: &mut Transaction<'_, Postgres>,
    number: &str,
    email: &str,
) -> sqlx::Result<Decided> {
    let row: Option<(i64, bool, Option<String>)> = sqlx::query_as(
        "select app_user_id, email_verified_at is not null, member_number from app_user
         where email = $1::citext for update",
    )
    .bind(email.trim())
    .fetch_optional(&mut **tx)
    .await?;
    let Some((user_id, verified, held)) = row else {
        return Ok(Err(VoteRefusal::UnknownAccount));
    };
    // Only an account that proved its address can be given a member's vote.
    if !verified {
        return Ok(Err(VoteRefusal::AccountUnverified));
    }
    match held {
        Some(h) if !h.eq_ignore_ascii_case(number) => {
            return Ok(Err(VoteRefusal::MemberNumberSet));
        }
        Some(_) => {}
        None => {
            sqlx::query("update app_user set member_number = $2 where app_user_id = $1")
                .bind(user_id)
                .bind(number)
                .execute(&mut **tx)
                .await?;
        }
    }
    let summary = format!("reassign {number}: {}", email.trim().to_lowercase());
    Ok(Ok((user_id, true, summary)))
}

/// Stores the decision; a confirmation takes the number from whoever was confirmed before.
async fn record(
    tx: &mut Transaction<'_, Postgres>,
    contest_id: i64,
    number: &str,
    user_id: i64,
    confirm: bool,
    actor: i64,
) -> sqlx::Result<()> {
    if confirm {
        sqlx::query(
            "delete from member_decision
             where contest_id = $1 and member_number = $2::citext and decision = 'confirmed'
               and app_user_id <> $3",
        )
        .bind(contest_id)
        .bind(number)
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(
        "insert into member_decision (contest_id, member_number, app_user_id, decision, decided_by)
         values ($1, $2, $3, $4, $5)
         on conflict (contest_id, member_number, app_user_id)
         do update set decision = excluded.decision, decided_by = excluded.decided_by, decided_at = now()",
    )
    .bind(contest_id)
    .bind(number)
    .bind(user_id)
    .bind(if confirm { "confirmed" } else { "rejected" })
    .bind(actor)
    .execute(&mut **tx)
    .await
    .map(drop)
}

/// The decision a form or API body names; `None` when it names none.
pub fn decision_of(action: &str, user: Option<i64>, email: &str) -> Option<Decision> {
    match (action, user) {
        ("confirm", Some(user_id)) => Some(Decision::Confirm { user_id }),
        ("clear", Some(user_id)) => Some(Decision::Clear { user_id }),
        ("reassign", _) if !email.trim().is_empty() => Some(Decision::Reassign {
            email: email.trim().to_owned(),
        }),
        _ => None,
    }
}
