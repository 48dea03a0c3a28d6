//! A voter's member number (mã đoàn viên): a contest's roster may list member numbers rather
//! than emails, and a voter states theirs once — on a page from the vote page, or through the
//! API. A stated number is only a claim: it passes a contest's roster when the roster gives
//! that number with the voter's own verified email, or when the contest's organizer confirms
//! it (`claims`); until then it is pending, and several accounts may claim one number (the
//! organizer settles it) so a squatter cannot lock the real member out. A number, once
//! stated, is changed only by an administrator (otherwise a voter could try numbers in turn).

use hoithi_core::auth::CurrentUser;

use super::refusal::VoteRefusal;
use super::roster::member_number;

/// Why a number was not taken, and the number the account holds already (if that is why).
#[derive(Debug)]
pub struct Unclaimed {
    pub refusal: VoteRefusal,
    pub held: Option<String>,
}

impl Unclaimed {
    fn refused(refusal: VoteRefusal) -> Self {
        Self {
            refusal,
            held: None,
        }
    }
}

/// Records `number` as the user's claimed member number: Ok when it is now their claim (also
/// when it already was). Whether the claim passes a roster is `standing`'s question.
pub async fn claim(
    db: &sqlx::PgPool,
    user: &CurrentUser,
    number: &str,
) -> sqlx::Result<Result<String, Unclaimed>> {
    let number = number.trim();
    if !user.is_verified() {
        return Ok(Err(Unclaimed::refused(VoteRefusal::NotEligible)));
    }
    if !member_number(number) {
        return Ok(Err(Unclaimed::refused(VoteRefusal::InvalidMemberNumber)));
    }
    let held: Option<String> = sqlx::query_scalar(
        "update app_user set member_number = coalesce(member_number, $2)
         where app_user_id = $1
         returning member_number",
    )
    .bind(user.app_user_id)
    .bind(number)
    .fetch_optional(db)
    .await?;
    match held {
        Some(held) if held.eq_ignore_ascii_case(number) => Ok(Ok(held)),
        Some(held) => Ok(Err(Unclaimed {
            refusal: VoteRefusal::MemberNumberSet,
            held: Some(held),
        })),
        None => Err(sqlx::Error::RowNotFound),
    }
}

/// Where a voter's claim stands in one contest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// The voter passes the contest's roster.
    Confirmed,
    /// The roster lists the claimed number, but nothing proves it is the voter's yet: the
    /// organizer must confirm it.
    Pending,
    /// The organizer decided the number is not the voter's (or is another account's).
    Refused,
    /// The roster does not list the claimed number (or the voter claimed none).
    NotListed,
}

impl Standing {
    pub fn code(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Pending => "pending",
            Self::Refused => "refused",
            Self::NotListed => "not-listed",
        }
    }
}

/// The voter's standing in the contest's roster, by the same rule the vote statement uses.
pub async fn standing(db: &sqlx::PgPool, contest_id: i64, user_id: i64) -> sqlx::Result<Standing> {
    let (admitted, refused, listed): (bool, bool, bool) = sqlx::query_as(
        "select voter_on_roster($1, $2),
                exists (select 1 from member_decision d join app_user u
                          on d.member_number = u.member_number::citext
                        where d.contest_id = $1 and u.app_user_id = $2
                          and ((d.app_user_id = u.app_user_id and d.decision = 'rejected')
                               or (d.app_user_id <> u.app_user_id and d.decision = 'confirmed'))),
                exists (select 1 from vote_roster r join app_user u on r.value = u.member_number::citext
                        where r.contest_id = $1 and r.kind = 'member' and u.app_user_id = $2)",
    )
    .bind(contest_id)
    .bind(user_id)
    .fetch_one(db)
    .await?;
    Ok(if admitted {
        Standing::Confirmed
    } else if refused {
        Standing::Refused
    } else if listed {
        Standing::Pending
    } else {
        Standing::NotListed
    })
}

/// The id of the contest `slug`.
pub async fn contest_id(db: &sqlx::PgPool, slug: &str) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar("select contest_id from contest where slug = $1")
        .bind(slug)
        .fetch_optional(db)
        .await
}

/// `hoithi admin set-member-number`: gives the account of `email` the member number
/// `number`, or none, whatever it had (the way to mend a number stated by mistake). Another
/// account stating the same number is named rather than joined (the administrator clears it
/// there first; contest organizers settle competing claims on their claims page). Returns
/// the line to print.
pub async fn set_member_number(
    db: &sqlx::PgPool,
    email: &str,
    number: Option<&str>,
) -> anyhow::Result<String> {
    let number = number.map(str::trim);
    if let Some(n) = number.filter(|n| !member_number(n)) {
        anyhow::bail!(
            "{n:?} is not a member number: 1 to 40 letters, digits and . _ / -, starting with a letter or digit"
        );
    }
    if let Some(n) = number {
        let holder: Option<String> = sqlx::query_scalar(
            "select email::text from app_user
             where lower(member_number) = lower($1) and email <> $2::citext
             order by app_user_id limit 1",
        )
        .bind(n)
        .bind(email.trim())
        .fetch_optional(db)
        .await?;
        if let Some(holder) = holder {
            anyhow::bail!(
                "the member number {n} is already the account {holder}'s: clear it there first (--clear)"
            );
        }
    }
    let set = sqlx::query_scalar::<_, i64>(
        "update app_user set member_number = $2 where email = $1 returning app_user_id",
    )
    .bind(email.trim())
    .bind(number)
    .fetch_optional(db)
    .await?;
    match set {
        Some(_) => Ok(match number {
            Some(n) => format!("{email}: member number {n}"),
            None => format!("{email}: no member number"),
        }),
        None => anyhow::bail!("there is no account with the email {email}"),
    }
}
