//! Certificates ("giấy chứng nhận", issue 20): once a contest's results are published, each
//! winner (rank 1–3 of the latest published round, `privacy::retention::WINNERS`) and, where
//! the organizer turns it on, everyone whose entry was in a published round has one. A
//! certificate is issued once per (contest, person, award) — at publication, or at the first
//! download — with the facts of that moment (name, unit, award, contest, date) and an
//! unguessable code (`code`) that the public check page (`/verify/{code}`) resolves. The PDF
//! is `pdf`. When the account is deleted, the name and unit are cleared and the code keeps
//! verifying without them (docs/privacy.md).

pub mod code;
pub mod pdf;
pub mod refusal;
pub mod throttle;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{PgExecutor, PgPool};

pub use refusal::CertificateRefusal;

use crate::domain::privacy::retention::WINNERS;
pub use crate::domain::text::ascii_slug;

/// What a certificate certifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Award {
    First,
    Second,
    Third,
    Participant,
}

impl Award {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::First => "first",
            Self::Second => "second",
            Self::Third => "third",
            Self::Participant => "participant",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "first" => Self::First,
            "second" => Self::Second,
            "third" => Self::Third,
            "participant" => Self::Participant,
            _ => return None,
        })
    }

    /// The award of a rank in the latest published round, `None` below the winners.
    pub fn of_rank(rank: i64) -> Option<Self> {
        match rank {
            1 => Some(Self::First),
            2 => Some(Self::Second),
            r if r == WINNERS => Some(Self::Third),
            _ => None,
        }
    }

    /// How the certificate says it, in Vietnamese (the certificate's language).
    pub fn label_vi(self) -> &'static str {
        match self {
            Self::First => "Giải Nhất",
            Self::Second => "Giải Nhì",
            Self::Third => "Giải Ba",
            Self::Participant => "Đã tham gia",
        }
    }
}

/// A certificate as issued.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CertificateRow {
    pub certificate_id: i64,
    pub code: String,
    pub contest_id: i64,
    pub app_user_id: i64,
    pub award: String,
    /// `None` once the holder's account is deleted.
    pub holder_name: Option<String>,
    pub holder_unit: Option<String>,
    /// A team's certificate: its members' names ("An, Bình"), the team being the holder.
    pub team_members: Option<String>,
    pub entry_title: Option<String>,
    pub contest_title: String,
    pub issuer_name: String,
    pub awarded_on: NaiveDate,
    pub issued_at: DateTime<Utc>,
}

impl CertificateRow {
    pub fn award(&self) -> Award {
        Award::parse(&self.award).unwrap_or(Award::Participant)
    }

    pub fn display_code(&self) -> String {
        code::display(&self.code)
    }

    /// An ASCII file name: `giay-chung-nhan-<name>-<code>.pdf`.
    pub fn file_name(&self) -> String {
        let name = ascii_slug(self.holder_name.as_deref().unwrap_or(""));
        if name.is_empty() {
            format!("giay-chung-nhan-{}.pdf", self.code)
        } else {
            format!("giay-chung-nhan-{name}-{}.pdf", self.code)
        }
    }
}

const COLUMNS: &str = "certificate_id, code, contest_id, app_user_id, award, holder_name,
    holder_unit, team_members, entry_title, contest_title, issuer_name, awarded_on, issued_at";

/// Whether the contest gives certificates to everyone who took part.
pub async fn participants_enabled(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select participant_certificates from contest where contest_id = $1")
        .bind(contest_id)
        .fetch_optional(db)
        .await
        .map(|v| v.unwrap_or(false))
}

pub async fn set_participants(db: &PgPool, contest_id: i64, on: bool) -> sqlx::Result<()> {
    sqlx::query("update contest set participant_certificates = $2 where contest_id = $1")
        .bind(contest_id)
        .bind(on)
        .execute(db)
        .await
        .map(|_| ())
}

/// When the contest's latest results were published, if any were.
pub async fn published_at(
    db: impl PgExecutor<'_>,
    contest_id: i64,
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar("select max(published_at) from judging_result where contest_id = $1")
        .bind(contest_id)
        .fetch_one(db)
        .await
}

/// Who has a certificate in a contest: each author (only `$2` when given) of an entry in a
/// published round, with their best rank in the latest published round and that entry's
/// title. Deleted accounts get no new certificate.
const CANDIDATES: &str = "
with latest as (
    select snapshot from judging_result where contest_id = $1
    order by published_at desc, judging_round_id desc limit 1
), ranked as (
    select (x->>'id')::uuid as entry_id, (x->>'rank')::numeric::bigint as rank
    from latest, jsonb_array_elements(latest.snapshot->'entries') x
), judged as (
    select distinct (x->>'id')::uuid as entry_id
    from judging_result r, jsonb_array_elements(r.snapshot->'entries') x
    where r.contest_id = $1
)
select distinct on (e.author_id) e.author_id, e.title, r.rank,
    coalesce(e.team_name, u.display_name), n.name,
    (select string_agg(m.full_name, ', ' order by m.position) from entry_team_member m
     where m.entry_id = e.entry_id)
from entry e
join judged j on j.entry_id = e.entry_id
join app_user u on u.app_user_id = e.author_id
left join unit n on n.unit_id = u.unit_id
left join ranked r on r.entry_id = e.entry_id
where e.contest_id = $1 and u.deleted_at is null and ($2::bigint is null or e.author_id = $2)
order by e.author_id, r.rank asc nulls last, e.entry_id";

type Candidate = (
    i64,
    String,
    Option<i64>,
    String,
    Option<String>,
    Option<String>,
);

/// The award of a candidate, if they have one.
fn award_of(rank: Option<i64>, participants: bool) -> Option<Award> {
    rank.and_then(Award::of_rank)
        .or(participants.then_some(Award::Participant))
}

/// Issues (or finds) the certificates of a contest: everyone's, or only `person`'s.
/// Idempotent and safe to run twice at once: the unique (contest, person, award) makes the
/// second insert a no-op and both read the one row.
async fn issue(
    db: &PgPool,
    contest_id: i64,
    person: Option<i64>,
) -> sqlx::Result<Result<Vec<CertificateRow>, CertificateRefusal>> {
    let Some(at) = published_at(db, contest_id).await? else {
        return Ok(Err(CertificateRefusal::NotPublished));
    };
    let (title, issuer): (String, Option<String>) = sqlx::query_as(
        "select c.title, u.name from contest c left join unit u on u.unit_id = c.unit_id
         where c.contest_id = $1",
    )
    .bind(contest_id)
    .fetch_one(db)
    .await?;
    let participants = participants_enabled(db, contest_id).await?;
    let candidates: Vec<Candidate> = sqlx::query_as(CANDIDATES)
        .bind(contest_id)
        .bind(person)
        .fetch_all(db)
        .await?;
    let awarded_on = at.with_timezone(&chrono_tz::Asia::Ho_Chi_Minh).date_naive();
    let mut out = Vec::new();
    for (user_id, entry_title, rank, name, unit, members) in candidates {
        let Some(award) = award_of(rank, participants) else {
            continue;
        };
        // Issued here, or (a concurrent first download won the unique key) read back: the
        // insert's own statement cannot see a row committed while it waited, the next one can.
        let inserted: Option<CertificateRow> = sqlx::query_as(&format!(
            "insert into certificate (code, contest_id, app_user_id, award, holder_name,
                holder_unit, entry_title, contest_title, issuer_name, awarded_on, team_members)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             on conflict (contest_id, app_user_id, award) do nothing
             returning {COLUMNS}"
        ))
        .bind(code::generate())
        .bind(contest_id)
        .bind(user_id)
        .bind(award.as_str())
        .bind(&name)
        .bind(&unit)
        .bind(&entry_title)
        .bind(&title)
        .bind(issuer.as_deref().unwrap_or(""))
        .bind(awarded_on)
        .bind(members.map(|m| m.chars().take(4000).collect::<String>()))
        .fetch_optional(db)
        .await?;
        let row = match inserted {
            Some(row) => row,
            None => {
                sqlx::query_as(&format!(
                    "select {COLUMNS} from certificate
                     where contest_id = $1 and app_user_id = $2 and award = $3"
                ))
                .bind(contest_id)
                .bind(user_id)
                .bind(award.as_str())
                .fetch_one(db)
                .await?
            }
        };
        out.push(row);
    }
    if person.is_some() && out.is_empty() {
        return Ok(Err(CertificateRefusal::NoCertificate));
    }
    Ok(Ok(out))
}

/// Every certificate of a contest (issuing the missing ones), by holder's name.
pub async fn issue_all(
    db: &PgPool,
    contest_id: i64,
) -> sqlx::Result<Result<Vec<CertificateRow>, CertificateRefusal>> {
    Ok(issue(db, contest_id, None).await?.map(|mut v| {
        v.sort_by(|a, b| a.holder_name.cmp(&b.holder_name));
        v
    }))
}

/// `user_id`'s certificate in a contest (issued at the first ask).
pub async fn issue_for(
    db: &PgPool,
    contest_id: i64,
    user_id: i64,
) -> sqlx::Result<Result<CertificateRow, CertificateRefusal>> {
    Ok(issue(db, contest_id, Some(user_id)).await?.and_then(|v| {
        v.into_iter()
            .next()
            .ok_or(CertificateRefusal::NoCertificate)
    }))
}

/// A certificate by its (bare) code.
pub async fn by_code(db: impl PgExecutor<'_>, code: &str) -> sqlx::Result<Option<CertificateRow>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from certificate where code = $1"
    ))
    .bind(code)
    .fetch_optional(db)
    .await
}

/// The contests (slug, title) in which `user_id` has a certificate to download: results
/// published, and an award or participant certificates on.
pub async fn contests_of(db: &PgPool, user_id: i64) -> sqlx::Result<Vec<(String, String)>> {
    let contests: Vec<(i64, String, String)> = sqlx::query_as(
        "select distinct c.contest_id, c.slug, c.title from entry e
         join contest c on c.contest_id = e.contest_id
         where e.author_id = $1
           and exists (select 1 from judging_result r where r.contest_id = c.contest_id)
         order by c.title",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?;
    let mut out = Vec::new();
    for (contest_id, slug, title) in contests {
        if has_certificate(db, contest_id, user_id).await? {
            out.push((slug, title));
        }
    }
    Ok(out)
}

/// Whether `user_id` entered the contest (the only people told why they have no certificate;
/// to anyone else the contest's certificates do not exist).
pub async fn is_entrant(db: &PgPool, contest_id: i64, user_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from entry where contest_id = $1 and author_id = $2)",
    )
    .bind(contest_id)
    .bind(user_id)
    .fetch_one(db)
    .await
}

/// Whether `user_id` has a certificate to download in a contest whose results are published.
pub async fn has_certificate(db: &PgPool, contest_id: i64, user_id: i64) -> sqlx::Result<bool> {
    if published_at(db, contest_id).await?.is_none() {
        return Ok(false);
    }
    let participants = participants_enabled(db, contest_id).await?;
    let rows: Vec<Candidate> = sqlx::query_as(CANDIDATES)
        .bind(contest_id)
        .bind(Some(user_id))
        .fetch_all(db)
        .await?;
    Ok(rows.iter().any(|r| award_of(r.2, participants).is_some()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn winners_are_the_first_three_ranks_and_participants_only_when_on() {
        assert_eq!(award_of(Some(1), false), Some(Award::First));
        assert_eq!(award_of(Some(3), false), Some(Award::Third));
        assert_eq!(award_of(Some(4), false), None);
        assert_eq!(award_of(Some(4), true), Some(Award::Participant));
        assert_eq!(award_of(None, true), Some(Award::Participant));
        assert_eq!(award_of(None, false), None);
        for a in [
            Award::First,
            Award::Second,
            Award::Third,
            Award::Participant,
        ] {
            assert_eq!(Award::parse(a.as_str()), Some(a));
        }
    }
}
