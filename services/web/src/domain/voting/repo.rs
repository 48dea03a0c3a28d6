//! The SQL of voting: the one statement that checks, inserts and tallies a batch of votes,
//! tallies for reading, invalidation and restore, and the recount behind `check-tallies`.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::policy::{MAX_PER_CONTEST, MAX_PER_DAY, MAX_ROUND};

/// One vote as the handler hands it to the ingest.
#[derive(Debug, Clone)]
pub struct NewVote {
    pub entry_id: Uuid,
    pub voter_id: i64,
    pub ip: Option<String>,
    pub ip_network: Option<String>,
    pub user_agent_hash: Option<Vec<u8>>,
}

/// What happened to one vote of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Counted {
        contest_id: i64,
    },
    AlreadyVoted,
    /// The entry or the contest does not take votes: a stable code.
    Refused(&'static str),
}

fn refusal(code: &str) -> Outcome {
    match code {
        "entry-not-found" => Outcome::Refused("entry-not-found"),
        "entry-not-approved" => Outcome::Refused("entry-not-approved"),
        "voting-not-open" => Outcome::Refused("voting-not-open"),
        "voting-closed" => Outcome::Refused("voting-closed"),
        "not-on-roster" => Outcome::Refused("not-on-roster"),
        "not-shortlisted" => Outcome::Refused("not-shortlisted"),
        "contest-limit-reached" => Outcome::Refused("contest-limit-reached"),
        "round-limit-reached" => Outcome::Refused("round-limit-reached"),
        "category-limit-reached" => Outcome::Refused("category-limit-reached"),
        _ => Outcome::AlreadyVoted,
    }
}

/// The statement of `insert_votes` (its `$n`: the batch as arrays, then the bounds and the
/// writer's shard).
const INSERT_VOTES: &str = "with input as (
         select * from unnest($1::int4[], $2::uuid[], $3::int8[], $4::text[], $5::text[], $6::bytea[])
             as t(idx, entry_id, voter_id, ip, ip_network, user_agent_hash)
     ), checked as (
         select i.idx, i.entry_id, i.voter_id, i.ip, i.ip_network, i.user_agent_hash, e.contest_id,
                e.category_id,
                (now() at time zone 'Asia/Ho_Chi_Minh')::date as vote_day,
                case when e.entry_id is null then 'entry-not-found'
                     when e.status <> 'approved' then 'entry-not-approved'
                     -- A live voting window opens the vote for the entry on stage even
                     -- outside the contest's own window; every other rule still applies.
                     when e.entry_id not in (select entry_id from live_vote_entry)
                          and (c.voting_opens_at is null or now() < c.voting_opens_at) then 'voting-not-open'
                     when e.entry_id not in (select entry_id from live_vote_entry)
                          and c.voting_closes_at is not null and now() >= c.voting_closes_at then 'voting-closed'
                     when c.contest_id in (select contest_id from vote_shortlist)
                          and (c.contest_id, e.entry_id) not in (select contest_id, entry_id from vote_shortlist)
                          then 'not-shortlisted'
                     -- `is not distinct from`: without a setting the roster is not
                     -- consulted at all (a NULL here would still run the function).
                     -- `voter_on_roster` (a migration) admits only verified addresses
                     -- and member numbers proven or confirmed, never a bare claim.
                     when c.settings #> '{voting,roster}' is not distinct from 'true'::jsonb
                          and not voter_on_roster(c.contest_id, i.voter_id) then 'not-on-roster'
                end as refusal,
                -- Nested: CASE is the one place SQL promises the order of evaluation,
                -- so a malformed setting is never cast. The bounds are policy.rs's.
                -- The entry's category may set its own per_day (`CategoryVotePolicy`).
                coalesce(
                case when jsonb_typeof(k.vote_policy -> 'per_day') = 'number' then
                     case when (k.vote_policy ->> 'per_day')::numeric between 1 and $7
                          then trunc((k.vote_policy ->> 'per_day')::numeric)::int
                          end
                     end,
                case when jsonb_typeof(c.settings #> '{voting,per_day}') = 'number' then
                     case when (c.settings #>> '{voting,per_day}')::numeric between 1 and $7
                          then trunc((c.settings #>> '{voting,per_day}')::numeric)::int
                          else 1 end
                     else 1 end) as per_day,
                case when jsonb_typeof(c.settings #> '{voting,per_contest}') = 'number' then
                     case when (c.settings #>> '{voting,per_contest}')::numeric between 1 and $8
                          then trunc((c.settings #>> '{voting,per_contest}')::numeric)::int
                          end
                     end as per_contest,
                case when jsonb_typeof(c.settings #> '{voting,per_round}') = 'number' then
                     case when (c.settings #>> '{voting,per_round}')::numeric between 1 and $8
                          then trunc((c.settings #>> '{voting,per_round}')::numeric)::int
                          end
                     end as per_round,
                case when jsonb_typeof(k.vote_policy -> 'per_category') = 'number' then
                     case when (k.vote_policy ->> 'per_category')::numeric between 1 and $8
                          then trunc((k.vote_policy ->> 'per_category')::numeric)::int
                          end
                     end as per_category,
                case when jsonb_typeof(c.settings #> '{voting,round}') = 'number' then
                     case when (c.settings #>> '{voting,round}')::numeric between 1 and $9
                          then trunc((c.settings #>> '{voting,round}')::numeric)::int
                          else 1 end
                     else 1 end as round
         from input i
         left join entry e on e.entry_id = i.entry_id
         left join contest c on c.contest_id = e.contest_id
         left join contest_category k on k.category_id = e.category_id
     ), slotted as (
         -- With one vote a day (the default) the slot is always 1 and the unique key
         -- alone refuses a second vote: no need to look for the voter's earlier ones.
         select k.*,
                case when k.per_day = 1 then 0
                     else coalesce((select max(v.slot) from vote v
                          where v.contest_id = k.contest_id and v.entry_id = k.entry_id
                            and v.voter_id = k.voter_id and v.vote_day = k.vote_day), 0) end
                + row_number() over (partition by k.entry_id, k.voter_id order by k.idx) as slot
         from checked k
         where k.refusal is null
     ), counted as (
         -- The contest and round limits number a voter's votes like `slot` does (only
         -- when the contest sets them, so the default policy costs nothing here).
         select d.*,
                case when d.per_contest is not null then
                     (select count(*) from vote v
                      where v.contest_id = d.contest_id and v.voter_id = d.voter_id)
                     + row_number() over (partition by d.contest_id, d.voter_id order by d.idx)
                end as contest_slot,
                case when d.per_round is not null then
                     (select count(*) from vote v
                      where v.contest_id = d.contest_id and v.voter_id = d.voter_id
                        and v.round = d.round)
                     + row_number() over (partition by d.contest_id, d.voter_id order by d.idx)
                end as round_slot,
                case when d.per_category is not null then
                     (select count(*) from vote v
                      where v.contest_id = d.contest_id and v.voter_id = d.voter_id
                        and v.category_id = d.category_id)
                     + row_number() over (partition by d.category_id, d.voter_id order by d.idx)
                end as category_slot
         from slotted d
         where d.slot <= d.per_day
     ), inserted as (
         insert into vote (contest_id, entry_id, voter_id, vote_day, slot, ip, ip_network,
                           user_agent_hash, round, contest_slot, round_slot, category_id,
                           category_slot)
         select contest_id, entry_id, voter_id, vote_day, slot, ip::inet, ip_network::cidr,
                user_agent_hash, round, contest_slot, round_slot, category_id, category_slot
         from counted
         where (contest_slot is null or contest_slot <= per_contest)
           and (round_slot is null or round_slot <= per_round)
           and (category_slot is null or category_slot <= per_category)
         on conflict do nothing
         returning contest_id, entry_id, voter_id, slot
     ), tallied as (
         -- Into this writer's own shard: concurrent batches do not queue on one row.
         insert into vote_tally_shard as t (entry_id, shard, contest_id, votes)
         select entry_id, $10, contest_id, count(*) from inserted
         group by entry_id, contest_id
         order by entry_id
         on conflict (entry_id, shard) do update set votes = t.votes + excluded.votes, updated_at = now()
         returning 1
     )
     -- No joins: the refused votes, the votes that tried a slot, and the keys that went
     -- in, matched in Rust (a vote in none of them found no free slot). A join with
     -- `inserted` would be a nested loop over the batch (the planner cannot count a
     -- CTE's rows), and joining back to `checked` cost two hash tables per batch.
     select k.idx, k.refusal, null::int8, null::uuid, null::int8, null::int8, null::bool, null::bool,
            null::bool
     from checked k where k.refusal is not null
     union all
     select ct.idx, null, ct.contest_id, ct.entry_id, ct.voter_id, ct.slot::int8,
            ct.round_slot > ct.per_round, ct.contest_slot > ct.per_contest,
            ct.category_slot > ct.per_category
     from counted ct
     union all
     select -1, null, null, entry_id, voter_id, slot::int8, null, null, null from inserted";

/// Checks, inserts and tallies `votes` in ONE statement, so one commit (synchronous, so the
/// votes are durable when this returns). The entry's state and the contest's window are read
/// in the same statement as the insert. Tally rows are upserted into the writer's `shard`
/// (see the migration `vote_ingest_speed`) in `entry_id` order. A vote
/// beyond the policy finds no free `slot`, or hits the unique key if another batch took the
/// slot at the same moment: either way it is not counted.
pub async fn insert_votes(
    db: &PgPool,
    votes: &[NewVote],
    shard: i16,
) -> sqlx::Result<Vec<Outcome>> {
    let idx: Vec<i32> = (0..votes.len() as i32).collect();
    let entry: Vec<Uuid> = votes.iter().map(|v| v.entry_id).collect();
    let voter: Vec<i64> = votes.iter().map(|v| v.voter_id).collect();
    let ip: Vec<Option<String>> = votes.iter().map(|v| v.ip.clone()).collect();
    let net: Vec<Option<String>> = votes.iter().map(|v| v.ip_network.clone()).collect();
    let ua: Vec<Option<Vec<u8>>> = votes.iter().map(|v| v.user_agent_hash.clone()).collect();
    let rows: Vec<VoteRow> = sqlx::query_as(INSERT_VOTES)
        .bind(&idx)
        .bind(&entry)
        .bind(&voter)
        .bind(&ip)
        .bind(&net)
        .bind(&ua)
        .bind(MAX_PER_DAY)
        .bind(MAX_PER_CONTEST)
        .bind(MAX_ROUND)
        .bind(shard)
        .fetch_all(db)
        .await?;
    Ok(outcomes(votes.len(), rows))
}

/// One row of the vote statement: a vote of the batch (`idx` ≥ 0) with its refusal, or with
/// the slot it tried and whether it was over the round, contest and category limits; or (`idx` = -1) the key of a vote that went in. A vote without a row
/// found no free slot.
type VoteRow = (
    i32,
    Option<String>,
    Option<i64>,
    Option<Uuid>,
    Option<i64>,
    Option<i64>,
    Option<bool>,
    Option<bool>,
    Option<bool>,
);

/// Each vote's outcome: refused for its reason, counted when its key was inserted, otherwise
/// over a round, contest or category limit or already voted.
fn outcomes(n: usize, rows: Vec<VoteRow>) -> Vec<Outcome> {
    let inserted: std::collections::HashSet<(Uuid, i64, i64)> = rows
        .iter()
        .filter(|r| r.0 < 0)
        .filter_map(|r| Some((r.3?, r.4?, r.5?)))
        .collect();
    let mut out = vec![Outcome::AlreadyVoted; n];
    for (
        idx,
        refusal_code,
        contest_id,
        entry,
        voter,
        slot,
        over_round,
        over_contest,
        over_category,
    ) in rows
    {
        let Some(place) = usize::try_from(idx).ok().and_then(|i| out.get_mut(i)) else {
            continue;
        };
        let key = entry.zip(voter).zip(slot).map(|((e, v), s)| (e, v, s));
        *place = match (refusal_code, contest_id, key) {
            (Some(code), _, _) => refusal(&code),
            (None, Some(contest_id), Some(key)) if inserted.contains(&key) => {
                Outcome::Counted { contest_id }
            }
            _ if over_round == Some(true) => Outcome::Refused("round-limit-reached"),
            _ if over_contest == Some(true) => Outcome::Refused("contest-limit-reached"),
            _ if over_category == Some(true) => Outcome::Refused("category-limit-reached"),
            _ => Outcome::AlreadyVoted,
        };
    }
    out
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntryVotes {
    pub id: Uuid,
    pub votes: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Tally {
    pub entries: Vec<EntryVotes>,
    pub as_of: DateTime<Utc>,
    /// Changes whenever any count of the contest changes: `{latest change µs}-{total}`.
    #[serde(skip)]
    pub version: String,
}

/// An entry's votes, when they last changed, and the database's time.
type TallyRow = (Uuid, i64, Option<DateTime<Utc>>, DateTime<Utc>);

/// The tally of a contest's approved entries (entries without votes show 0).
pub async fn tally(db: &PgPool, contest_id: i64) -> sqlx::Result<Tally> {
    let rows: Vec<TallyRow> = sqlx::query_as(
        "select e.entry_id, coalesce(t.votes, 0), t.updated_at, now()
         from entry e left join vote_tally t on t.entry_id = e.entry_id
         where e.contest_id = $1 and e.status = 'approved'
         order by e.entry_id",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    let as_of = match rows.first() {
        Some(r) => r.3,
        None => sqlx::query_scalar("select now()").fetch_one(db).await?,
    };
    let latest = rows
        .iter()
        .filter_map(|r| r.2)
        .max()
        .map_or(0, |t| t.timestamp_micros());
    let total: i64 = rows.iter().map(|r| r.1).sum();
    Ok(Tally {
        entries: rows
            .into_iter()
            .map(|(id, votes, _, _)| EntryVotes { id, votes })
            .collect(),
        as_of,
        version: format!("{latest}-{total}"),
    })
}

/// The contest's fields voting needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VotingContest {
    pub contest_id: i64,
    pub unit_id: Option<i64>,
    pub voting_closes_at: Option<DateTime<Utc>>,
    pub settings: serde_json::Value,
}

pub async fn contest_by_slug(db: &PgPool, slug: &str) -> sqlx::Result<Option<VotingContest>> {
    if slug.is_empty() || slug.len() > 63 {
        return Ok(None);
    }
    sqlx::query_as(
        "select contest_id, unit_id, voting_closes_at, settings
         from contest where slug = $1",
    )
    .bind(slug)
    .fetch_optional(db)
    .await
}

/// Whether an account with this id exists (an invalidation names its voter by id).
pub async fn account_exists(db: &PgPool, id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from app_user where app_user_id = $1)")
        .bind(id)
        .fetch_one(db)
        .await
}

/// Which votes an invalidation covers; at least one criterion is set.
#[derive(Debug, Clone)]
pub struct Criteria {
    pub voter_id: Option<i64>,
    pub ip_network: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
}

/// Marks the valid votes matching `criteria` invalid, lowers the tallies by exactly as many,
/// and records the decision and its audit row, in one transaction. Returns (id, votes).
pub async fn invalidate(
    db: &PgPool,
    contest_id: i64,
    criteria: &Criteria,
    reason: &str,
    actor: i64,
) -> sqlx::Result<(i64, i64)> {
    let mut tx = db.begin().await?;
    let id: i64 = sqlx::query_scalar(
        "insert into vote_invalidation (contest_id, voter_id, ip_network, from_at, until_at, reason, created_by)
         values ($1, $2, network($3::inet), $4, $5, $6, $7) returning vote_invalidation_id",
    )
    .bind(contest_id)
    .bind(criteria.voter_id)
    .bind(&criteria.ip_network)
    .bind(criteria.from)
    .bind(criteria.until)
    .bind(reason)
    .bind(actor)
    .fetch_one(&mut *tx)
    .await?;
    let changed: Vec<(Uuid, i64)> = sqlx::query_as(
        "with hit as (
             update vote v set valid = false, vote_invalidation_id = $2
             from vote_invalidation i
             where i.vote_invalidation_id = $2 and v.contest_id = $1 and v.valid
               and (i.voter_id is null or v.voter_id = i.voter_id)
               and (i.ip_network is null or v.ip <<= i.ip_network)
               and (i.from_at is null or v.created_at >= i.from_at)
               and (i.until_at is null or v.created_at < i.until_at)
             returning v.entry_id
         )
         select entry_id, count(*) from hit group by entry_id order by entry_id",
    )
    .bind(contest_id)
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let total = apply_deltas(&mut tx, &changed, -1).await?;
    finish(&mut tx, contest_id, id, "invalidate", actor, reason, total).await?;
    tx.commit().await?;
    Ok((id, total))
}

#[derive(Debug)]
pub enum RestoreError {
    NotFound,
    AlreadyRestored,
    Db(sqlx::Error),
}

impl From<sqlx::Error> for RestoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(e)
    }
}

/// Makes the votes of invalidation `id` count again, raises the tallies by exactly as many,
/// and records it. Returns (contest_id, votes).
pub async fn restore(
    db: &PgPool,
    id: i64,
    reason: &str,
    actor: i64,
) -> Result<(i64, i64), RestoreError> {
    let mut tx = db.begin().await?;
    let row: Option<(i64, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select contest_id, restored_at from vote_invalidation where vote_invalidation_id = $1 for update",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let contest_id = match row {
        None => return Err(RestoreError::NotFound),
        Some((_, Some(_))) => return Err(RestoreError::AlreadyRestored),
        Some((c, None)) => c,
    };
    let changed: Vec<(Uuid, i64)> = sqlx::query_as(
        "with hit as (
             update vote set valid = true
             where vote_invalidation_id = $1 and not valid
             returning entry_id
         )
         select entry_id, count(*) from hit group by entry_id order by entry_id",
    )
    .bind(id)
    .fetch_all(&mut *tx)
    .await?;
    let total = apply_deltas(&mut tx, &changed, 1).await?;
    sqlx::query(
        "update vote_invalidation set restored_at = now(), restored_by = $2, restore_reason = $3
         where vote_invalidation_id = $1",
    )
    .bind(id)
    .bind(actor)
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    finish(&mut tx, contest_id, id, "restore", actor, reason, total).await?;
    tx.commit().await?;
    Ok((contest_id, total))
}

/// Adds each entry's difference (`changed`: one row per entry) to the entry's shard 0, rows
/// locked in `entry_id` order like a vote batch locks its own shard's rows, so the two cannot
/// deadlock.
async fn apply_deltas(
    tx: &mut Transaction<'_, Postgres>,
    changed: &[(Uuid, i64)],
    sign: i64,
) -> sqlx::Result<i64> {
    let entries: Vec<Uuid> = changed.iter().map(|c| c.0).collect();
    let deltas: Vec<i64> = changed.iter().map(|c| c.1 * sign).collect();
    sqlx::query(
        "insert into vote_tally_shard as t (entry_id, shard, contest_id, votes)
         select d.entry_id, 0, e.contest_id, d.delta
         from unnest($1::uuid[], $2::int8[]) as d(entry_id, delta) join entry e using (entry_id)
         order by d.entry_id
         on conflict (entry_id, shard) do update set votes = t.votes + excluded.votes, updated_at = now()",
    )
    .bind(&entries)
    .bind(&deltas)
    .execute(&mut **tx)
    .await?;
    Ok(changed.iter().map(|c| c.1).sum())
}

async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    contest_id: i64,
    id: i64,
    action: &str,
    actor: i64,
    reason: &str,
    total: i64,
) -> sqlx::Result<()> {
    if action == "invalidate" {
        sqlx::query("update vote_invalidation set votes = $2 where vote_invalidation_id = $1")
            .bind(id)
            .bind(total as i32)
            .execute(&mut **tx)
            .await?;
    }
    sqlx::query(
        "insert into vote_audit (contest_id, vote_invalidation_id, action, actor_id, reason, votes)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(contest_id)
    .bind(id)
    .bind(action)
    .bind(actor)
    .bind(reason)
    .bind(total as i32)
    .execute(&mut **tx)
    .await?;
    // Live pages of every node refresh (delivered at commit).
    sqlx::query("select pg_notify($1, $2)")
        .bind(crate::domain::voting::CHANNEL)
        .bind(contest_id.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// An entry whose tally differs from its count of valid votes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    pub contest_id: i64,
    pub entry_id: Uuid,
    pub tally: i64,
    pub counted: i64,
}

/// Recounts valid votes and compares them with the tallies, in one snapshot so votes arriving
/// meanwhile cannot show up as a difference. Returns (entries checked, differences).
pub async fn check_tallies(
    db: &PgPool,
    contest_id: Option<i64>,
) -> sqlx::Result<(i64, i64, Vec<Difference>)> {
    let mut tx = db.begin().await?;
    sqlx::query("set transaction isolation level repeatable read, read only")
        .execute(&mut *tx)
        .await?;
    let rows: Vec<(i64, Uuid, i64, i64)> = sqlx::query_as(
        "select coalesce(t.contest_id, c.contest_id), coalesce(t.entry_id, c.entry_id),
                coalesce(t.votes, 0), coalesce(c.n, 0)
         from (select * from vote_tally where $1::int8 is null or contest_id = $1) t
         full join (select contest_id, entry_id, count(*) as n from vote
                    where valid and ($1::int8 is null or contest_id = $1)
                    group by contest_id, entry_id) c
           on c.entry_id = t.entry_id
         order by 1, 2",
    )
    .bind(contest_id)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    let checked = rows.len() as i64;
    let votes = rows.iter().map(|r| r.3).sum();
    let differences = rows
        .into_iter()
        .filter(|r| r.2 != r.3)
        .map(|(contest_id, entry_id, tally, counted)| Difference {
            contest_id,
            entry_id,
            tally,
            counted,
        })
        .collect();
    Ok((checked, votes, differences))
}

#[cfg(test)]
mod tests;

/// The valid votes of one entry.
pub async fn entry_votes(db: &PgPool, entry_id: Uuid) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "select coalesce((select votes from vote_tally where entry_id = $1), 0)::int8",
    )
    .bind(entry_id)
    .fetch_one(db)
    .await
}
