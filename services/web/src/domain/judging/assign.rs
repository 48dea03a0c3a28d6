//! Who scores what: the conflict of interest rule (one SQL condition), assigning judges to a
//! round's entries (all, one judge by unit or by list, an even spread with a quorum), and
//! moving a late judge's unfinished sheets to other eligible judges.

use std::collections::{HashMap, HashSet};

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::judges::{NO_CONFLICT, judge_by_email};
use super::rounds::sync_first_round;
use super::sheets::{AuditKey, audit};
use crate::domain::people::units::subtree_sql;

/// An (entry, judge) pair the rules allow, with the author's unit.
pub type Pair = (Uuid, i64, Option<i64>);

/// Every (entry, judge) pair of the round that the rules allow, with the author's unit.
async fn eligible_pairs(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<Vec<Pair>> {
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

/// The active (entry, judge) assignments of a round.
async fn active_assignments(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<Vec<(Uuid, i64)>> {
    sqlx::query_as(
        "select entry_id, judge_id from judge_assignment where judging_round_id = $1 and active",
    )
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
    /// One judge (by email) scores every entry they may.
    Judge { email: String },
    /// Each entry gets `quorum` judges, the least loaded first.
    Even { quorum: usize },
}

/// What assigning did: how many assignments were added, and the entries left short of the
/// quorum (even spread only).
#[derive(Debug, Default)]
pub struct Assigned {
    pub added: usize,
    pub short: Vec<Uuid>,
}

/// Assigns judges as `mode` says.
pub async fn assign(db: &sqlx::PgPool, round_id: i64, mode: &Mode) -> sqlx::Result<Assigned> {
    sync_first_round(db, round_id).await?;
    let mut tx = db.begin().await?;
    sqlx::query("select 1 from judging_round where judging_round_id = $1 for update")
        .bind(round_id)
        .execute(&mut *tx)
        .await?;
    let pairs = eligible_pairs(&mut *tx, round_id).await?;
    let existing: HashSet<(Uuid, i64)> = active_assignments(&mut *tx, round_id)
        .await?
        .into_iter()
        .collect();
    let (new, short) = match mode {
        Mode::All => (pairs.iter().map(|p| (p.0, p.1)).collect(), Vec::new()),
        Mode::Unit { email, unit_id } => {
            let Some(judge) = judge_by_email(&mut *tx, round_id, email).await? else {
                return Ok(Assigned::default());
            };
            let in_unit = entries_in_unit(&mut tx, round_id, *unit_id).await?;
            (of_judge(&pairs, judge, &in_unit), Vec::new())
        }
        Mode::Entries { email, entries } => {
            let Some(judge) = judge_by_email(&mut *tx, round_id, email).await? else {
                return Ok(Assigned::default());
            };
            (of_judge(&pairs, judge, entries), Vec::new())
        }
        Mode::Judge { email } => {
            let Some(judge) = judge_by_email(&mut *tx, round_id, email).await? else {
                return Ok(Assigned::default());
            };
            let mine = pairs
                .iter()
                .filter(|(_, j, _)| *j == judge)
                .map(|p| (p.0, p.1))
                .collect();
            (mine, Vec::new())
        }
        Mode::Even { quorum } => spread(&pairs, &existing, *quorum),
    };
    let mut added = 0;
    for (e, j) in new.into_iter().filter(|p| !existing.contains(p)) {
        add_assignment(&mut tx, round_id, e, j).await?;
        added += 1;
    }
    tx.commit().await?;
    Ok(Assigned { added, short })
}

/// The pairs of `judge` for the listed entries.
fn of_judge(pairs: &[Pair], judge: i64, entries: &[Uuid]) -> Vec<(Uuid, i64)> {
    pairs
        .iter()
        .filter(|(e, j, _)| *j == judge && entries.contains(e))
        .map(|p| (p.0, p.1))
        .collect()
}

/// The round's entries whose authors belong to the unit or a unit below it.
async fn entries_in_unit(
    tx: &mut PgConnection,
    round_id: i64,
    unit_id: i64,
) -> sqlx::Result<Vec<Uuid>> {
    sqlx::query_scalar(&format!(
        "select e.entry_id from round_entry re join entry e using (entry_id)
         join app_user au on au.app_user_id = e.author_id
         where re.judging_round_id = $1 and {}",
        subtree_sql("au.unit_id", 2)
    ))
    .bind(round_id)
    .bind(unit_id)
    .fetch_all(tx)
    .await
}

/// The even spread: each entry, in order, takes the eligible judges with the fewest
/// assignments until it has `quorum`. Returns new pairs and the entries left short.
pub fn spread(
    pairs: &[Pair],
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

/// A reassignment: whose unfinished sheets (of one entry, or all) go to whom (`None`: the
/// least loaded eligible judge), done by `actor`.
#[derive(Debug, Clone, Copy)]
pub struct Reassignment {
    pub round_id: i64,
    pub from_judge: i64,
    pub entry: Option<Uuid>,
    pub to_judge: Option<i64>,
    pub actor: i64,
}

/// What a reassignment did: the entries moved, and those that found no other judge.
#[derive(Debug, Default)]
pub struct Reassigned {
    pub moved: Vec<Uuid>,
    pub stuck: Vec<Uuid>,
}

/// Judges' loads and taken pairs while a reassignment picks new judges.
struct Board {
    pairs: Vec<Pair>,
    load: HashMap<i64, usize>,
    taken: HashSet<(Uuid, i64)>,
}

impl Board {
    /// The judge entry `e` moves to: eligible, not `from`, not already on it, the least loaded.
    fn pick(&self, e: Uuid, r: &Reassignment) -> Option<i64> {
        self.pairs
            .iter()
            .filter(|(pe, pj, _)| {
                *pe == e
                    && *pj != r.from_judge
                    && !self.taken.contains(&(e, *pj))
                    && r.to_judge.is_none_or(|t| t == *pj)
            })
            .map(|p| p.1)
            .min_by_key(|j| (self.load.get(j).copied().unwrap_or(0), *j))
    }
}

/// Moves a late judge's unsubmitted sheets to other eligible judges, the least loaded first,
/// so each entry keeps its number of judges. Every move is audited.
pub async fn reassign(db: &sqlx::PgPool, r: &Reassignment) -> sqlx::Result<Reassigned> {
    let mut tx = db.begin().await?;
    let late: Vec<(i64, Uuid, i64)> = sqlx::query_as(
        "select a.judge_assignment_id, a.entry_id, r.contest_id from judge_assignment a
         join judging_round r using (judging_round_id)
         where a.judging_round_id = $1 and a.judge_id = $2 and a.active and a.submitted_at is null
           and ($3::uuid is null or a.entry_id = $3)
         order by a.entry_id for update of a",
    )
    .bind(r.round_id)
    .bind(r.from_judge)
    .bind(r.entry)
    .fetch_all(&mut *tx)
    .await?;
    let pairs = eligible_pairs(&mut *tx, r.round_id).await?;
    let active = active_assignments(&mut *tx, r.round_id).await?;
    let mut load: HashMap<i64, usize> = HashMap::new();
    for (_, j) in &active {
        *load.entry(*j).or_default() += 1;
    }
    let mut board = Board {
        pairs,
        load,
        taken: active.into_iter().collect(),
    };
    let mut done = Reassigned::default();
    for (assignment, e, contest_id) in late {
        let Some(to) = board.pick(e, r) else {
            done.stuck.push(e);
            continue;
        };
        let key = AuditKey {
            contest_id,
            round_id: r.round_id,
            assignment,
            entry: e,
            judge: r.from_judge,
        };
        move_sheet(&mut tx, &key, to, r.actor).await?;
        *board.load.entry(to).or_default() += 1;
        board.taken.insert((e, to));
        done.moved.push(e);
    }
    tx.commit().await?;
    Ok(done)
}

/// Deactivates the assignment of `key`, assigns its entry to `to`, and audits the move.
async fn move_sheet(
    tx: &mut PgConnection,
    key: &AuditKey,
    to: i64,
    actor: i64,
) -> sqlx::Result<()> {
    sqlx::query("update judge_assignment set active = false where judge_assignment_id = $1")
        .bind(key.assignment)
        .execute(&mut *tx)
        .await?;
    add_assignment(&mut *tx, key.round_id, key.entry, to).await?;
    audit(
        &mut *tx,
        key,
        actor,
        "reassign",
        Some(&key.judge.to_string()),
        Some(&to.to_string()),
    )
    .await
}

/// Active judges per entry of a round: (assigned, submitted).
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
}
