//! The judging feature's SQL: rounds and criteria, judges and assignments (with the conflict
//! of interest rule in one SQL condition), score sheets with their audit rows, and what the
//! results are computed from.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::math::{self, Criterion, EntryInput, Formula, JudgeBasis, Sheet, TieBreak, VoteScaling};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoundRow {
    pub judging_round_id: i64,
    pub contest_id: i64,
    pub number: i32,
    pub name: String,
    pub judges_weight: i32,
    pub vote_scaling: String,
    pub judge_basis: String,
    pub tie_break: Vec<String>,
    pub half_points: bool,
    pub conflict_own_unit: bool,
    pub public_shortlist: bool,
    pub opened_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl RoundRow {
    pub fn formula(&self) -> Formula {
        Formula {
            judges_weight: u8::try_from(self.judges_weight.clamp(0, 100)).unwrap_or(100),
            vote_scaling: VoteScaling::parse(&self.vote_scaling).unwrap_or(VoteScaling::TopShare),
            judge_basis: JudgeBasis::parse(&self.judge_basis).unwrap_or(JudgeBasis::Raw),
            tie_break: self
                .tie_break
                .iter()
                .filter_map(|s| TieBreak::parse(s))
                .collect(),
        }
    }

    /// Criteria, formula and tie-break can no longer change.
    pub fn locked(&self) -> bool {
        self.opened_at.is_some()
    }

    /// Judges may score.
    pub fn is_open(&self) -> bool {
        self.opened_at.is_some() && self.closed_at.is_none()
    }
}

const ROUND_SQL: &str =
    "select judging_round_id, contest_id, number, name, judges_weight, vote_scaling,
    judge_basis, tie_break, half_points, conflict_own_unit, public_shortlist, opened_at, closed_at
    from judging_round";

pub async fn rounds(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<Vec<RoundRow>> {
    sqlx::query_as(&format!(
        "{ROUND_SQL} where contest_id = $1 order by number"
    ))
    .bind(contest_id)
    .fetch_all(db)
    .await
}

pub async fn round(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<Option<RoundRow>> {
    sqlx::query_as(&format!("{ROUND_SQL} where judging_round_id = $1"))
        .bind(round_id)
        .fetch_optional(db)
        .await
}

/// The latest round of a contest, creating round 1 (criteria taken from the contest's
/// settings, if it was created with some) the first time judging is set up.
pub async fn current_or_first_round(db: &sqlx::PgPool, contest_id: i64) -> sqlx::Result<RoundRow> {
    if let Some(r) = rounds(db, contest_id).await?.pop() {
        return Ok(r);
    }
    let mut tx = db.begin().await?;
    let created: Option<i64> = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name) values ($1, 1, 'Vòng 1')
         on conflict (contest_id, number) do nothing returning judging_round_id",
    )
    .bind(contest_id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(round_id) = created {
        let settings: serde_json::Value =
            sqlx::query_scalar("select settings from contest where contest_id = $1")
                .bind(contest_id)
                .fetch_one(&mut *tx)
                .await?;
        let list = settings
            .get("criteria")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        for (i, c) in list.iter().take(20).enumerate() {
            let name = c.get("name").and_then(|v| v.as_str()).unwrap_or("").trim();
            let max = c
                .get("max")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(10.0);
            let weight = c
                .get("weight")
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(1.0);
            if name.is_empty()
                || name.chars().count() > 200
                || !(max > 0.0 && max <= 1000.0)
                || !(weight > 0.0 && weight <= 1000.0)
            {
                continue;
            }
            insert_criterion(&mut tx, round_id, i, (name, "", max, weight)).await?;
        }
    }
    tx.commit().await?;
    Ok(rounds(db, contest_id)
        .await?
        .pop()
        .ok_or(sqlx::Error::RowNotFound)?)
}

/// Adds a criterion at `position` and returns its id.
async fn insert_criterion(
    conn: &mut PgConnection,
    round_id: i64,
    position: usize,
    c: (&str, &str, f64, f64),
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into judging_criterion (judging_round_id, position, name, description, max_score, weight)
         values ($1, $2, $3, $4, $5, $6) returning judging_criterion_id",
    )
    .bind(round_id)
    .bind(position as i32)
    .bind(c.0)
    .bind(c.1)
    .bind(c.2)
    .bind(c.3)
    .fetch_one(conn)
    .await
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CriterionRow {
    pub judging_criterion_id: i64,
    pub name: String,
    pub description: String,
    pub max_score: f64,
    pub weight: f64,
}

impl CriterionRow {
    pub fn math(&self) -> Criterion {
        Criterion {
            id: self.judging_criterion_id,
            name: self.name.clone(),
            max: self.max_score,
            weight: self.weight,
        }
    }
}

pub async fn criteria(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<Vec<CriterionRow>> {
    sqlx::query_as(
        "select judging_criterion_id, name, description, max_score::float8 as max_score,
                weight::float8 as weight
         from judging_criterion where judging_round_id = $1 order by position, judging_criterion_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await
}

/// What the organizer's set-up form decides for a round.
#[derive(Debug, Clone)]
pub struct Setup {
    pub name: String,
    pub criteria: Vec<(Option<i64>, String, String, f64, f64)>,
    pub judges_weight: i32,
    pub vote_scaling: VoteScaling,
    pub judge_basis: JudgeBasis,
    /// Tie-break steps as typed; `criterion:#n` names the n-th criterion of the form (new
    /// criteria have no id yet) and is resolved here.
    pub tie_break: Vec<String>,
    pub half_points: bool,
    pub conflict_own_unit: bool,
    pub public_shortlist: bool,
    pub blind: bool,
}

/// Saves a round's set-up; `Ok(false)` when the round has opened (nothing is changed).
pub async fn save_setup(db: &sqlx::PgPool, round_id: i64, s: &Setup) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let opened: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "select opened_at from judging_round where judging_round_id = $1 for update",
    )
    .bind(round_id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(None) = opened else {
        return Ok(false);
    };
    let keep: Vec<i64> = s.criteria.iter().filter_map(|c| c.0).collect();
    sqlx::query(
        "delete from judging_criterion where judging_round_id = $1 and not (judging_criterion_id = any($2))",
    )
    .bind(round_id)
    .bind(&keep)
    .execute(&mut *tx)
    .await?;
    let mut ids = Vec::new();
    for (pos, (id, name, description, max, weight)) in s.criteria.iter().enumerate() {
        let id: Option<i64> = match id {
            Some(id) => {
                sqlx::query_scalar(
                    "update judging_criterion set position = $3, name = $4, description = $5,
                        max_score = $6, weight = $7
                     where judging_criterion_id = $1 and judging_round_id = $2
                     returning judging_criterion_id",
                )
                .bind(id)
                .bind(round_id)
                .bind(pos as i32)
                .bind(name)
                .bind(description)
                .bind(max)
                .bind(weight)
                .fetch_optional(&mut *tx)
                .await?
            }
            None => Some(
                insert_criterion(
                    &mut tx,
                    round_id,
                    pos,
                    (name.as_str(), description.as_str(), *max, *weight),
                )
                .await?,
            ),
        };
        ids.push(id);
    }
    let tie_break: Vec<String> = s
        .tie_break
        .iter()
        .filter_map(|t| match t.strip_prefix("criterion:#") {
            Some(n) => n
                .parse::<usize>()
                .ok()
                .and_then(|n| ids.get(n).copied().flatten())
                .map(|id| format!("criterion:{id}")),
            None => TieBreak::parse(t).map(TieBreak::code),
        })
        .collect();
    sqlx::query(
        "update judging_round set name = $2, judges_weight = $3, vote_scaling = $4, judge_basis = $5,
            tie_break = $6, half_points = $7, conflict_own_unit = $8, public_shortlist = $9
         where judging_round_id = $1",
    )
    .bind(round_id)
    .bind(&s.name)
    .bind(s.judges_weight)
    .bind(s.vote_scaling.as_str())
    .bind(s.judge_basis.as_str())
    .bind(&tie_break)
    .bind(s.half_points)
    .bind(s.conflict_own_unit)
    .bind(s.public_shortlist)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update contest set blind_judging = $2 where contest_id = (select contest_id from judging_round where judging_round_id = $1)",
    )
    .bind(round_id)
    .bind(s.blind)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Opens a round for scoring. Round 1 takes the contest's approved entries.
pub async fn open_round(
    db: &sqlx::PgPool,
    round: &RoundRow,
) -> sqlx::Result<Result<(), &'static str>> {
    if round.opened_at.is_some() {
        return Ok(Err("round-already-open"));
    }
    if criteria(db, round.judging_round_id).await?.is_empty() {
        return Ok(Err("criteria-required"));
    }
    sync_first_round(db, round.judging_round_id).await?;
    sqlx::query("update judging_round set opened_at = now() where judging_round_id = $1 and opened_at is null")
        .bind(round.judging_round_id)
        .execute(db)
        .await?;
    Ok(Ok(()))
}

/// Round 1 (while not closed) judges every approved entry: newly approved ones join it.
pub async fn sync_first_round(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<()> {
    sqlx::query(
        "insert into round_entry (judging_round_id, entry_id)
         select r.judging_round_id, e.entry_id from judging_round r join entry e using (contest_id)
         where r.judging_round_id = $1 and r.number = 1 and r.closed_at is null and e.status = 'approved'
         on conflict do nothing",
    )
    .bind(round_id)
    .execute(db)
    .await
    .map(drop)
}

// ---------- judges ----------

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
async fn judge_by_email(
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

/// SQL condition, true when judge `j` (app_user) may score entry `e` of round `r` with
/// author `au` and contest judge row `cj`: not their own entry, not their own unit's (when
/// the round has the rule), not a unit on their explicit list.
const NO_CONFLICT: &str = "e.author_id <> j.app_user_id
    and not (r.conflict_own_unit and au.unit_id is not null and au.unit_id is not distinct from j.unit_id)
    and not (au.unit_id is not null and au.unit_id = any(cj.conflict_unit_ids))";

/// Every (entry, judge) pair of the round that the rules allow, with the author's unit.
async fn eligible_pairs(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<Vec<(Uuid, i64, Option<i64>)>> {
    sqlx::query_as(&format!(
        "select e.entry_id, j.app_user_id, au.unit_id
         from judging_round r
         join round_entry re on re.judging_round_id = r.judging_round_id
         join entry e on e.entry_id = re.entry_id
         join app_user au on au.app_user_id = e.author_id
         join contest_judge cj on cj.contest_id = r.contest_id
         join app_user j on j.app_user_id = cj.app_user_id and j.email = cj.email
              and j.email_verified_at is not null
         where r.judging_round_id = $1 and {NO_CONFLICT}
         order by e.entry_id, j.app_user_id"
    ))
    .bind(round_id)
    .fetch_all(db)
    .await
}

async fn add_assignment(
    conn: &mut PgConnection,
    round_id: i64,
    entry: Uuid,
    judge: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into judge_assignment (judging_round_id, entry_id, judge_id) values ($1, $2, $3)
         on conflict (judging_round_id, entry_id, judge_id) do update set active = true",
    )
    .bind(round_id)
    .bind(entry)
    .bind(judge)
    .execute(conn)
    .await
    .map(drop)
}

/// How to spread entries over judges.
#[derive(Debug, Clone)]
pub enum Mode {
    /// Every judge scores every entry they may.
    All,
    /// One judge (by email) scores the entries of authors within a unit's subtree.
    Unit { email: String, unit_id: i64 },
    /// Explicit entries for one judge.
    Entries { email: String, entries: Vec<Uuid> },
    /// Each entry gets `quorum` judges, the least loaded first.
    Even { quorum: usize },
}

/// Assigns judges; returns how many assignments were added and the entries left short of
/// the quorum (even spread only).
pub async fn assign(
    db: &sqlx::PgPool,
    round_id: i64,
    mode: &Mode,
) -> sqlx::Result<(usize, Vec<Uuid>)> {
    sync_first_round(db, round_id).await?;
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from judging_round where judging_round_id = $1 for update")
        .bind(round_id)
        .execute(&mut *tx)
        .await?;
    let pairs = eligible_pairs(&mut *tx, round_id).await?;
    let existing: Vec<(Uuid, i64)> = sqlx::query_as(
        "select entry_id, judge_id from judge_assignment where judging_round_id = $1 and active",
    )
    .bind(round_id)
    .fetch_all(&mut *tx)
    .await?;
    let existing: HashSet<(Uuid, i64)> = existing.into_iter().collect();
    let mut added = 0;
    let mut short = Vec::new();
    match mode {
        Mode::All => {
            for (e, j, _) in &pairs {
                if !existing.contains(&(*e, *j)) {
                    add_assignment(&mut tx, round_id, *e, *j).await?;
                    added += 1;
                }
            }
        }
        Mode::Unit { email, unit_id } => {
            let Some(judge) = judge_by_email(&mut *tx, round_id, email).await? else {
                return Ok((0, short));
            };
            let in_unit: Vec<Uuid> = sqlx::query_scalar(&format!(
                "select e.entry_id from round_entry re join entry e using (entry_id)
                 join app_user au on au.app_user_id = e.author_id
                 where re.judging_round_id = $1 and {}",
                crate::domain::people::units::subtree_sql("au.unit_id", 2)
            ))
            .bind(round_id)
            .bind(unit_id)
            .fetch_all(&mut *tx)
            .await?;
            for (e, j, _) in &pairs {
                if *j == judge && in_unit.contains(e) && !existing.contains(&(*e, *j)) {
                    add_assignment(&mut tx, round_id, *e, *j).await?;
                    added += 1;
                }
            }
        }
        Mode::Entries { email, entries } => {
            let Some(judge) = judge_by_email(&mut *tx, round_id, email).await? else {
                return Ok((0, short));
            };
            for (e, j, _) in &pairs {
                if *j == judge && entries.contains(e) && !existing.contains(&(*e, *j)) {
                    add_assignment(&mut tx, round_id, *e, *j).await?;
                    added += 1;
                }
            }
        }
        Mode::Even { quorum } => {
            let plan = spread(&pairs, &existing, *quorum);
            for (e, j) in &plan.0 {
                add_assignment(&mut tx, round_id, *e, *j).await?;
            }
            added = plan.0.len();
            short = plan.1;
        }
    }
    tx.commit().await?;
    Ok((added, short))
}

/// The even spread: each entry, in order, takes the eligible judges with the fewest
/// assignments until it has `quorum`. Returns new pairs and the entries left short.
pub fn spread(
    pairs: &[(Uuid, i64, Option<i64>)],
    existing: &HashSet<(Uuid, i64)>,
    quorum: usize,
) -> (Vec<(Uuid, i64)>, Vec<Uuid>) {
    let mut load: HashMap<i64, usize> = HashMap::new();
    for (_, j) in existing {
        *load.entry(*j).or_default() += 1;
    }
    for (_, j, _) in pairs {
        load.entry(*j).or_default();
    }
    let mut by_entry: Vec<(Uuid, Vec<i64>)> = Vec::new();
    for (e, j, _) in pairs {
        match by_entry.last_mut() {
            Some((last, js)) if last == e => js.push(*j),
            _ => by_entry.push((*e, vec![*j])),
        }
    }
    // The most constrained entries (fewest eligible judges) choose first, so a judge who may
    // score only some entries is not used up by entries others could have taken.
    by_entry.sort_by_key(|(e, js)| (js.len(), *e));
    let mut added = Vec::new();
    let mut short = Vec::new();
    for (e, judges) in by_entry {
        let mut have = judges
            .iter()
            .filter(|j| existing.contains(&(e, **j)))
            .count();
        let mut free: Vec<i64> = judges
            .into_iter()
            .filter(|j| !existing.contains(&(e, *j)))
            .collect();
        while have < quorum && !free.is_empty() {
            free.sort_by_key(|j| (load[j], *j));
            let j = free.remove(0);
            *load.entry(j).or_default() += 1;
            added.push((e, j));
            have += 1;
        }
        if have < quorum {
            short.push(e);
        }
    }
    (added, short)
}

/// Moves a late judge's unsubmitted sheets (of one entry, or all) to other eligible judges,
/// the least loaded first, so each entry keeps its number of judges. Returns the entries
/// moved and those that found no other judge.
pub async fn reassign(
    db: &sqlx::PgPool,
    round_id: i64,
    from_judge: i64,
    entry: Option<Uuid>,
    to_judge: Option<i64>,
    actor: i64,
) -> sqlx::Result<(Vec<Uuid>, Vec<Uuid>)> {
    let mut tx = db.begin().await?;
    let late: Vec<(i64, Uuid, i64)> = sqlx::query_as(
        "select a.judge_assignment_id, a.entry_id, r.contest_id from judge_assignment a
         join judging_round r using (judging_round_id)
         where a.judging_round_id = $1 and a.judge_id = $2 and a.active and a.submitted_at is null
           and ($3::uuid is null or a.entry_id = $3)
         order by a.entry_id for update of a",
    )
    .bind(round_id)
    .bind(from_judge)
    .bind(entry)
    .fetch_all(&mut *tx)
    .await?;
    let pairs = eligible_pairs(&mut *tx, round_id).await?;
    let active: Vec<(Uuid, i64)> = sqlx::query_as(
        "select entry_id, judge_id from judge_assignment where judging_round_id = $1 and active",
    )
    .bind(round_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut load: HashMap<i64, usize> = HashMap::new();
    for (_, j) in &active {
        *load.entry(*j).or_default() += 1;
    }
    let mut taken: HashSet<(Uuid, i64)> = active.into_iter().collect();
    let (mut moved, mut stuck) = (Vec::new(), Vec::new());
    for (assignment, e, contest_id) in late {
        let mut candidates: Vec<i64> = pairs
            .iter()
            .filter(|(pe, pj, _)| {
                *pe == e
                    && *pj != from_judge
                    && !taken.contains(&(e, *pj))
                    && to_judge.is_none_or(|t| t == *pj)
            })
            .map(|p| p.1)
            .collect();
        candidates.sort_by_key(|j| (load.get(j).copied().unwrap_or(0), *j));
        let Some(&to) = candidates.first() else {
            stuck.push(e);
            continue;
        };
        sqlx::query("update judge_assignment set active = false where judge_assignment_id = $1")
            .bind(assignment)
            .execute(&mut *tx)
            .await?;
        add_assignment(&mut tx, round_id, e, to).await?;
        audit(
            &mut tx,
            &AuditKey {
                contest_id,
                round_id,
                assignment,
                entry: e,
                judge: from_judge,
            },
            actor,
            "reassign",
            Some(&from_judge.to_string()),
            Some(&to.to_string()),
        )
        .await?;
        *load.entry(to).or_default() += 1;
        taken.insert((e, to));
        moved.push(e);
    }
    tx.commit().await?;
    Ok((moved, stuck))
}

/// Active judges per entry of a round.
pub async fn judges_per_entry(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<HashMap<Uuid, (i64, i64)>> {
    let rows: Vec<(Uuid, i64, i64)> = sqlx::query_as(
        "select re.entry_id, count(a.judge_assignment_id) filter (where a.active),
                count(a.judge_assignment_id) filter (where a.active and a.submitted_at is not null)
         from round_entry re left join judge_assignment a
           on a.judging_round_id = re.judging_round_id and a.entry_id = re.entry_id
         where re.judging_round_id = $1 group by re.entry_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(e, a, s)| (e, (a, s))).collect())
}

// ---------- sheets ----------

/// A judge's sheet of one entry, as the judge's pages and the API show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SheetRow {
    pub judge_assignment_id: i64,
    pub judging_round_id: i64,
    pub contest_id: i64,
    pub entry_id: Uuid,
    pub judge_id: i64,
    pub title: String,
    pub description: String,
    pub comment: String,
    pub comment_to_entrant: String,
    pub submitted_at: Option<DateTime<Utc>>,
}

const SHEET_SQL: &str =
    "select a.judge_assignment_id, a.judging_round_id, r.contest_id, a.entry_id, a.judge_id,
    e.title, e.description, a.comment, a.comment_to_entrant, a.submitted_at
    from judge_assignment a
    join judging_round r on r.judging_round_id = a.judging_round_id
    join entry e on e.entry_id = a.entry_id
    join app_user au on au.app_user_id = e.author_id
    join app_user j on j.app_user_id = a.judge_id and j.email_verified_at is not null
    join contest_judge cj on cj.contest_id = r.contest_id and cj.app_user_id = j.app_user_id
         and cj.email = j.email";

/// The judge's active sheet of an entry in an open round, or `None` (not assigned, not a
/// judge any more, a conflict of interest, or no open round): callers answer 404.
pub async fn sheet_for(
    db: impl PgExecutor<'_>,
    judge: i64,
    entry: Uuid,
) -> sqlx::Result<Option<SheetRow>> {
    sqlx::query_as(&format!(
        "{SHEET_SQL} where a.judge_id = $1 and a.entry_id = $2 and a.active
           and r.opened_at is not null and r.closed_at is null and {NO_CONFLICT}
         order by r.number desc limit 1"
    ))
    .bind(judge)
    .bind(entry)
    .fetch_optional(db)
    .await
}

/// The judge's queue in the contest's open round(s): every active, non-conflicting sheet.
pub async fn queue(
    db: impl PgExecutor<'_>,
    judge: i64,
    contest_id: i64,
) -> sqlx::Result<Vec<SheetRow>> {
    sqlx::query_as(&format!(
        "{SHEET_SQL} where a.judge_id = $1 and r.contest_id = $2 and a.active
           and r.opened_at is not null and r.closed_at is null and {NO_CONFLICT}
         order by a.submitted_at is not null, e.created_at, e.entry_id"
    ))
    .bind(judge)
    .bind(contest_id)
    .fetch_all(db)
    .await
}

pub async fn sheet_scores(
    db: impl PgExecutor<'_>,
    assignment: i64,
) -> sqlx::Result<HashMap<i64, f64>> {
    let rows: Vec<(i64, f64)> = sqlx::query_as(
        "select judging_criterion_id, score::float8 from judge_score where judge_assignment_id = $1",
    )
    .bind(assignment)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

pub struct AuditKey {
    pub contest_id: i64,
    pub round_id: i64,
    pub assignment: i64,
    pub entry: Uuid,
    pub judge: i64,
}

impl AuditKey {
    pub fn of(s: &SheetRow) -> Self {
        Self {
            contest_id: s.contest_id,
            round_id: s.judging_round_id,
            assignment: s.judge_assignment_id,
            entry: s.entry_id,
            judge: s.judge_id,
        }
    }
}

pub async fn audit(
    conn: &mut PgConnection,
    k: &AuditKey,
    actor: i64,
    field: &str,
    old: Option<&str>,
    new: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into judge_score_audit (contest_id, judging_round_id, judge_assignment_id, entry_id,
            judge_id, actor_id, field, old_value, new_value)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(k.contest_id)
    .bind(k.round_id)
    .bind(k.assignment)
    .bind(k.entry)
    .bind(k.judge)
    .bind(actor)
    .bind(field)
    .bind(old)
    .bind(new)
    .execute(conn)
    .await
    .map(drop)
}

/// A change to a sheet, already checked against the criteria.
#[derive(Debug, Default)]
pub struct SheetChange {
    /// `None` clears a score.
    pub scores: Vec<(i64, Option<f64>)>,
    pub comment: Option<String>,
    pub comment_to_entrant: Option<String>,
    pub submit: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveRefusal {
    Submitted,
    Incomplete,
}

fn fmt_score(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// Writes a sheet change and its audit rows in one transaction; a submitted sheet is locked.
pub async fn save_sheet(
    db: &sqlx::PgPool,
    sheet: &SheetRow,
    criteria_ids: &[i64],
    change: &SheetChange,
    actor: i64,
) -> sqlx::Result<Result<(), SaveRefusal>> {
    let mut tx = db.begin().await?;
    let (submitted, comment, to_entrant): (Option<DateTime<Utc>>, String, String) = sqlx::query_as(
        "select submitted_at, comment, comment_to_entrant from judge_assignment
         where judge_assignment_id = $1 for update",
    )
    .bind(sheet.judge_assignment_id)
    .fetch_one(&mut *tx)
    .await?;
    if submitted.is_some() {
        return Ok(Err(SaveRefusal::Submitted));
    }
    let key = AuditKey::of(sheet);
    let old = sheet_scores(&mut *tx, sheet.judge_assignment_id).await?;
    for (criterion, value) in &change.scores {
        let before = old.get(criterion).copied();
        if before == *value {
            continue;
        }
        match value {
            Some(v) => {
                sqlx::query(
                    "insert into judge_score (judge_assignment_id, judging_criterion_id, score) values ($1, $2, $3)
                     on conflict (judge_assignment_id, judging_criterion_id) do update set score = excluded.score, updated_at = now()",
                )
                .bind(sheet.judge_assignment_id)
                .bind(criterion)
                .bind(v)
                .execute(&mut *tx)
                .await?;
            }
            None => {
                sqlx::query("delete from judge_score where judge_assignment_id = $1 and judging_criterion_id = $2")
                    .bind(sheet.judge_assignment_id)
                    .bind(criterion)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        audit(
            &mut tx,
            &key,
            actor,
            &format!("score:{criterion}"),
            before.map(fmt_score).as_deref(),
            value.map(fmt_score).as_deref(),
        )
        .await?;
    }
    for (field, old, new) in [
        ("comment", &comment, &change.comment),
        (
            "comment_to_entrant",
            &to_entrant,
            &change.comment_to_entrant,
        ),
    ] {
        if let Some(new) = new
            && new != old
        {
            sqlx::query(&format!(
                "update judge_assignment set {field} = $2 where judge_assignment_id = $1"
            ))
            .bind(sheet.judge_assignment_id)
            .bind(new)
            .execute(&mut *tx)
            .await?;
            audit(&mut tx, &key, actor, field, Some(old), Some(new)).await?;
        }
    }
    if change.submit {
        let now = sheet_scores(&mut *tx, sheet.judge_assignment_id).await?;
        if criteria_ids.iter().any(|c| !now.contains_key(c)) {
            return Ok(Err(SaveRefusal::Incomplete));
        }
        sqlx::query(
            "update judge_assignment set submitted_at = now() where judge_assignment_id = $1",
        )
        .bind(sheet.judge_assignment_id)
        .execute(&mut *tx)
        .await?;
        audit(&mut tx, &key, actor, "submit", None, None).await?;
    }
    tx.commit().await?;
    Ok(Ok(()))
}

/// An organizer reopens a submitted sheet; `false` when it was not submitted.
pub async fn reopen_sheet(
    db: &sqlx::PgPool,
    round_id: i64,
    entry: Uuid,
    judge: i64,
    actor: i64,
) -> sqlx::Result<bool> {
    let mut tx = db.begin().await?;
    let row: Option<(i64, i64)> = sqlx::query_as(
        "update judge_assignment a set submitted_at = null from judging_round r
         where r.judging_round_id = a.judging_round_id and a.judging_round_id = $1 and a.entry_id = $2
           and a.judge_id = $3 and a.submitted_at is not null
         returning a.judge_assignment_id, r.contest_id",
    )
    .bind(round_id)
    .bind(entry)
    .bind(judge)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((assignment, contest_id)) = row else {
        return Ok(false);
    };
    let key = AuditKey {
        contest_id,
        round_id,
        assignment,
        entry,
        judge,
    };
    audit(&mut tx, &key, actor, "reopen", None, None).await?;
    tx.commit().await?;
    Ok(true)
}

// ---------- results ----------

/// A round's entries with what the results page shows about them.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResultEntry {
    pub entry_id: Uuid,
    pub title: String,
    pub author_name: String,
    pub author_email: String,
    pub unit_name: Option<String>,
    pub votes: i64,
    pub submitted_at: DateTime<Utc>,
    pub advanced: bool,
}

pub async fn result_entries(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<Vec<ResultEntry>> {
    sqlx::query_as(
        "select e.entry_id, e.title, au.display_name as author_name, au.email::text as author_email,
                un.name as unit_name, coalesce(t.votes, 0) as votes,
                coalesce(e.submitted_at, e.created_at) as submitted_at, re.advanced
         from round_entry re join entry e using (entry_id)
         join app_user au on au.app_user_id = e.author_id
         left join unit un on un.unit_id = au.unit_id
         left join vote_tally t on t.entry_id = e.entry_id
         where re.judging_round_id = $1 order by e.created_at",
    )
    .bind(round_id)
    .fetch_all(db)
    .await
}

/// Every active sheet of a round with its scores (submitted or not), for exports and results.
#[derive(Debug, Clone)]
pub struct FullSheet {
    pub entry: Uuid,
    pub judge: i64,
    pub judge_name: String,
    pub judge_email: String,
    pub comment: String,
    pub comment_to_entrant: String,
    pub submitted_at: Option<DateTime<Utc>>,
    pub scores: HashMap<i64, f64>,
}

pub async fn full_sheets(db: &sqlx::PgPool, round_id: i64) -> sqlx::Result<Vec<FullSheet>> {
    let rows: Vec<(i64, Uuid, i64, String, String, String, String, Option<DateTime<Utc>>)> = sqlx::query_as(
        "select a.judge_assignment_id, a.entry_id, a.judge_id, j.display_name, j.email::text, a.comment,
                a.comment_to_entrant, a.submitted_at
         from judge_assignment a join app_user j on j.app_user_id = a.judge_id
         join judging_round r on r.judging_round_id = a.judging_round_id
         -- Only sheets of judges whose invitation acts: a sheet left by an account that
         -- merely typed an invited address (before invitations were bound) counts nowhere.
         join contest_judge cj on cj.contest_id = r.contest_id and cj.app_user_id = j.app_user_id
              and cj.email = j.email and j.email_verified_at is not null
         where a.judging_round_id = $1 and a.active order by a.entry_id, a.judge_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    let scores: Vec<(i64, i64, f64)> = sqlx::query_as(
        "select s.judge_assignment_id, s.judging_criterion_id, s.score::float8 from judge_score s
         join judge_assignment a using (judge_assignment_id) where a.judging_round_id = $1 and a.active",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    let mut by_sheet: HashMap<i64, HashMap<i64, f64>> = HashMap::new();
    for (a, c, s) in scores {
        by_sheet.entry(a).or_default().insert(c, s);
    }
    Ok(rows
        .into_iter()
        .map(
            |(
                a,
                entry,
                judge,
                judge_name,
                judge_email,
                comment,
                comment_to_entrant,
                submitted_at,
            )| FullSheet {
                entry,
                judge,
                judge_name,
                judge_email,
                comment,
                comment_to_entrant,
                submitted_at,
                scores: by_sheet.remove(&a).unwrap_or_default(),
            },
        )
        .collect())
}

/// The math's input from the database: entries with votes, and submitted sheets only.
pub fn inputs(entries: &[ResultEntry], sheets: &[FullSheet]) -> (Vec<EntryInput>, Vec<Sheet>) {
    (
        entries
            .iter()
            .map(|e| EntryInput {
                id: e.entry_id,
                votes: e.votes,
                submitted_at: e.submitted_at,
            })
            .collect(),
        sheets
            .iter()
            .filter(|s| s.submitted_at.is_some())
            .map(|s| Sheet {
                entry: s.entry,
                judge: s.judge,
                scores: s.scores.clone(),
            })
            .collect(),
    )
}

pub async fn published(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<Option<(serde_json::Value, DateTime<Utc>)>> {
    sqlx::query_as("select snapshot, published_at from judging_result where judging_round_id = $1")
        .bind(round_id)
        .fetch_optional(db)
        .await
}

/// The latest published snapshot of a contest.
pub async fn latest_published(
    db: impl PgExecutor<'_>,
    contest_id: i64,
) -> sqlx::Result<Option<(serde_json::Value, DateTime<Utc>)>> {
    sqlx::query_as(
        "select snapshot, published_at from judging_result where contest_id = $1
         order by published_at desc, judging_round_id desc limit 1",
    )
    .bind(contest_id)
    .fetch_optional(db)
    .await
}

/// Freezes a snapshot; `false` when the round was published already.
pub async fn publish(
    db: impl PgExecutor<'_>,
    round: &RoundRow,
    snapshot: &serde_json::Value,
    by: i64,
) -> sqlx::Result<bool> {
    let r = sqlx::query(
        "insert into judging_result (judging_round_id, contest_id, snapshot, published_by) values ($1, $2, $3, $4)
         on conflict (judging_round_id) do nothing",
    )
    .bind(round.judging_round_id)
    .bind(round.contest_id)
    .bind(snapshot)
    .bind(by)
    .execute(db)
    .await?;
    Ok(r.rows_affected() == 1)
}

/// Closes `round`, marks `advancers`, and opens the set-up of the next round with the same
/// criteria and formula and exactly those entries. Returns the new round's number.
pub async fn advance(
    db: &sqlx::PgPool,
    round: &RoundRow,
    advancers: &[Uuid],
) -> sqlx::Result<Result<i32, &'static str>> {
    let mut tx = db.begin().await?;
    let closed: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "select closed_at from judging_round where judging_round_id = $1 for update",
    )
    .bind(round.judging_round_id)
    .fetch_optional(&mut *tx)
    .await?;
    if !matches!(closed, Some(None)) || round.opened_at.is_none() {
        return Ok(Err("round-not-open"));
    }
    let next = round.number + 1;
    let new_id: i64 = sqlx::query_scalar(
        "insert into judging_round (contest_id, number, name, judges_weight, vote_scaling, judge_basis,
            tie_break, half_points, conflict_own_unit)
         select contest_id, $2, 'Vòng ' || $2, judges_weight, vote_scaling, judge_basis, '{}', half_points,
            conflict_own_unit
         from judging_round where judging_round_id = $1 returning judging_round_id",
    )
    .bind(round.judging_round_id)
    .bind(next)
    .fetch_one(&mut *tx)
    .await?;
    // Criterion tie-break steps name the old round's criteria; they are mapped by position.
    let old: Vec<(i64, String, String, f64, f64)> = sqlx::query_as(
        "select judging_criterion_id, name, description, max_score::float8, weight::float8
         from judging_criterion where judging_round_id = $1 order by position, judging_criterion_id",
    )
    .bind(round.judging_round_id)
    .fetch_all(&mut *tx)
    .await?;
    let mut map = HashMap::new();
    for (pos, (id, name, description, max, weight)) in old.iter().enumerate() {
        let new = insert_criterion(
            &mut tx,
            new_id,
            pos,
            (name.as_str(), description.as_str(), *max, *weight),
        )
        .await?;
        map.insert(*id, new);
    }
    let tie_break: Vec<String> = round
        .formula()
        .tie_break
        .into_iter()
        .filter_map(|t| match t {
            TieBreak::Criterion(id) => map.get(&id).map(|n| TieBreak::Criterion(*n).code()),
            other => Some(other.code()),
        })
        .collect();
    sqlx::query("update judging_round set tie_break = $2 where judging_round_id = $1")
        .bind(new_id)
        .bind(&tie_break)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "update round_entry set advanced = (entry_id = any($2)) where judging_round_id = $1",
    )
    .bind(round.judging_round_id)
    .bind(advancers)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "insert into round_entry (judging_round_id, entry_id)
         select $1, entry_id from round_entry where judging_round_id = $2 and entry_id = any($3)",
    )
    .bind(new_id)
    .bind(round.judging_round_id)
    .bind(advancers)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update judging_round set closed_at = now() where judging_round_id = $1")
        .bind(round.judging_round_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(next))
}

/// Which entries advance: the first `top` by rank, or those with a combined score ≥ `cutoff`.
pub fn advancers(
    results: &[math::EntryResult],
    top: Option<usize>,
    cutoff: Option<f64>,
) -> Vec<Uuid> {
    match (top, cutoff) {
        (Some(n), _) => results.iter().take(n).map(|r| r.id).collect(),
        (None, Some(c)) => results
            .iter()
            .filter(|r| r.combined + 1e-9 >= c)
            .map(|r| r.id)
            .collect(),
        (None, None) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spread_reaches_the_quorum_evenly_and_reports_entries_left_short() {
        let e = |n: u128| Uuid::from_u128(n);
        // Judge 3 may score entries 1–2 only; entry 4 has a single eligible judge.
        let mut pairs = Vec::new();
        for entry in 1..=3 {
            for judge in [1, 2] {
                pairs.push((e(entry), judge, None));
            }
            if entry <= 2 {
                pairs.push((e(entry), 3, None));
            }
        }
        pairs.push((e(4), 1, None));
        pairs.sort_by_key(|p| (p.0, p.1));
        let (added, short) = spread(&pairs, &HashSet::new(), 2);
        for entry in 1..=3 {
            assert_eq!(added.iter().filter(|p| p.0 == e(entry)).count(), 2);
        }
        assert_eq!(short, [e(4)]);
        let load = |j: i64| added.iter().filter(|p| p.1 == j).count();
        assert!(load(3) >= 1, "the constrained judge is used");
        // Already assigned pairs count toward the quorum and are not repeated.
        let existing = HashSet::from([(e(1), 1), (e(1), 2)]);
        let (again, _) = spread(&pairs, &existing, 2);
        assert!(again.iter().all(|p| p.0 != e(1)));
    }

    #[test]
    fn advancers_are_exactly_the_top_n_or_those_at_or_above_the_cutoff() {
        let r = |n: u128, combined: f64| math::EntryResult {
            id: Uuid::from_u128(n),
            rank: n as usize,
            judges: vec![],
            judge_score: None,
            judge_score_normalized: None,
            criterion_means: Default::default(),
            votes: 0,
            vote_points: 0.0,
            combined,
            submitted_at: chrono::Utc::now(),
        };
        let results = [r(1, 9.0), r(2, 8.0), r(3, 8.0), r(4, 5.0)];
        assert_eq!(
            advancers(&results, Some(2), None),
            [Uuid::from_u128(1), Uuid::from_u128(2)]
        );
        assert_eq!(advancers(&results, None, Some(8.0)).len(), 3);
        assert!(advancers(&results, None, None).is_empty());
    }
}
