//! Published results: a round's standings frozen into a snapshot (judges by number only,
//! authors only where the contest shows them), the latest snapshot a visitor sees, and the
//! organizer's live view of the same shape.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sqlx::PgExecutor;

use super::math::round2;
use super::refusal::JudgingRefusal;
use super::rounds::RoundRow;
use super::standings::{Computed, compute};
use crate::domain::contests::ContestRow;
use crate::domain::contests::phases::{end_voting_now, is_open};

/// A frozen snapshot and when it was published.
pub type Published = (Value, DateTime<Utc>);

pub async fn published(db: impl PgExecutor<'_>, round_id: i64) -> sqlx::Result<Option<Published>> {
    sqlx::query_as("select snapshot, published_at from judging_result where judging_round_id = $1")
        .bind(round_id)
        .fetch_optional(db)
        .await
}

/// The latest published snapshot of a contest.
pub async fn latest_published(
    db: impl PgExecutor<'_>,
    contest_id: i64,
) -> sqlx::Result<Option<Published>> {
    sqlx::query_as(
        "select snapshot, published_at from judging_result where contest_id = $1
         order by published_at desc, judging_round_id desc limit 1",
    )
    .bind(contest_id)
    .fetch_optional(db)
    .await
}

/// Freezes a snapshot; `false` when the round was published already.
async fn insert_snapshot(
    db: impl PgExecutor<'_>,
    round: &RoundRow,
    snapshot: &Value,
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

/// Publishes the round's results as they stand; refused when they were published already,
/// and while the contest's voting is open unless `end_voting` (the organizer confirmed
/// ending it now: voting closes at this moment, logged, and the results count the votes
/// cast until then). The contest row is locked while this is decided, so two requests at
/// the same instant publish once.
pub async fn publish(
    db: &sqlx::PgPool,
    c: &ContestRow,
    round: RoundRow,
    by: i64,
    end_voting: bool,
) -> sqlx::Result<Result<(), JudgingRefusal>> {
    let mut tx = db.begin().await?;
    let (opens, closes): (Option<DateTime<Utc>>, Option<DateTime<Utc>>) = sqlx::query_as(
        "select voting_opens_at, voting_closes_at from contest where contest_id = $1 for no key update",
    )
    .bind(c.contest_id)
    .fetch_one(&mut *tx)
    .await?;
    if published(&mut *tx, round.judging_round_id).await?.is_some() {
        return Ok(Err(JudgingRefusal::AlreadyPublished));
    }
    if is_open(opens, closes, Utc::now()) {
        if !end_voting {
            return Ok(Err(JudgingRefusal::VotingOpen));
        }
        end_voting_now(&mut tx, c.contest_id, by).await?;
    }
    tx.commit().await?;
    let comp = compute(db, round).await?;
    let snap = snapshot(c, &comp);
    if !insert_snapshot(db, &comp.round, &snap, by).await? {
        return Ok(Err(JudgingRefusal::AlreadyPublished));
    }
    tracing::info!(contest = %c.slug, round = comp.round.number, "results published");
    Ok(Ok(()))
}

/// Whether publishing `c` now would end its voting (the confirm step says so).
pub fn ends_voting(c: &ContestRow) -> bool {
    is_open(c.voting_opens_at, c.voting_closes_at, Utc::now())
}

/// One entry's line of a snapshot.
fn entry_line(
    c: &ContestRow,
    comp: &Computed,
    r: &super::math::EntryResult,
    rank: usize,
) -> Option<Value> {
    let e = comp.entry(r.id)?;
    Some(json!({
        "id": r.id,
        "rank": rank,
        "category": e.category_slug.as_ref().map(|slug| json!({"slug": slug, "name": e.category_name})),
        "title": e.title,
        "author": (!c.hide_author).then(|| if e.author_minor {
            crate::domain::privacy::names::shortened(&e.author_name)
        } else {
            e.author_name.clone()
        }),
        "unit": if c.hide_author { None } else { e.unit_name.clone() },
        "judges": r.judges.iter().map(|j| json!({
            "judge": comp.judge_no(j.judge),
            "weighted": round2(j.weighted),
            "normalized": round2(j.normalized),
        })).collect::<Vec<_>>(),
        "judge_score": r.judge_score.map(round2),
        "judge_score_normalized": r.judge_score_normalized.map(round2),
        "votes": r.votes,
        "vote_points": round2(r.vote_points),
        "combined": round2(r.combined),
        "advanced": e.advanced,
    }))
}

/// The frozen, public form of a round's results. Judges appear by number only; authors
/// only where the contest shows them.
pub fn snapshot(c: &ContestRow, comp: &Computed) -> Value {
    let f = comp.round.formula();
    let entries: Vec<Value> = ranked_by_category(comp)
        .into_iter()
        .filter_map(|(r, rank)| entry_line(c, comp, r, rank))
        .collect();
    let mut categories: Vec<(i32, String, String, Option<u8>)> = comp
        .entries
        .iter()
        .filter_map(|e| {
            Some((
                e.category_position?,
                e.category_slug.clone()?,
                e.category_name.clone()?,
                e.category_id.and_then(|k| comp.shares.get(&k).copied()),
            ))
        })
        .collect();
    categories.sort();
    categories.dedup();
    json!({
        "round": comp.round.number,
        "round_name": comp.round.name,
        // The advanced entries of a shortlisting round are the public vote's shortlist.
        "public_shortlist": comp.round.public_shortlist,
        "formula": {
            "judges_weight": f.judges_weight,
            "public_weight": 100 - f.judges_weight,
            "vote_scaling": f.vote_scaling,
            "judge_basis": f.judge_basis,
            "tie_break": f.tie_break.iter().map(|t| t.code()).collect::<Vec<_>>(),
        },
        "criteria": comp.criteria.iter().map(|c| json!({
            "id": c.judging_criterion_id, "name": c.name, "max": c.max_score, "weight": c.weight,
        })).collect::<Vec<_>>(),
        // A category with its own weights says so; the others follow `formula`.
        "categories": categories.iter().map(|(_, slug, name, share)| match share {
            Some(j) => json!({"slug": slug, "name": name, "judges_weight": j, "public_weight": 100 - j}),
            None => json!({"slug": slug, "name": name}),
        }).collect::<Vec<_>>(),
        "entries": entries,
    })
}

/// The results grouped by category (in the categories' order; entries without one first),
/// each with its rank within its category: 1, 2, … in each, ties keeping one rank. In a
/// contest without categories this is the math's own order and ranks.
pub fn ranked_by_category(comp: &Computed) -> Vec<(&super::math::EntryResult, usize)> {
    let rows = grouped(comp);
    let mut out = Vec::with_capacity(rows.len());
    // (the category, its last math rank, its last category rank, how many so far)
    type Last = (Option<(i32, String)>, usize, usize, usize);
    let mut last: Option<Last> = None;
    for (key, r) in rows {
        let (seen, rank) = match &last {
            Some((k, math, rank, seen)) if *k == key => {
                (seen + 1, if *math == r.rank { *rank } else { seen + 1 })
            }
            _ => (1, 1),
        };
        out.push((r, rank));
        last = Some((key, r.rank, rank, seen));
    }
    out
}

/// A category's place in its contest's order and its address; `None` for no category.
pub type CategoryKey = Option<(i32, String)>;

/// The results grouped by category (in the categories' order; entries without one first),
/// in the math's rank order within each: what ranks and "Chuyển vòng" count within.
pub fn grouped(comp: &Computed) -> Vec<(CategoryKey, &super::math::EntryResult)> {
    let mut rows: Vec<_> = comp
        .results
        .iter()
        .map(|r| {
            let e = comp.entry(r.id);
            let key = e.and_then(|e| e.category_position.zip(e.category_slug.clone()));
            (key, r)
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.rank.cmp(&b.1.rank)));
    rows
}

/// Removes authors and units from a snapshot's entries, for viewers the contest does not
/// show them to (see `domain::entries::author`).
pub fn strip_authors(snap: &mut Value) {
    for e in snap["entries"].as_array_mut().into_iter().flatten() {
        e["author"] = Value::Null;
        e["unit"] = Value::Null;
    }
}

/// The organizer's view of a round: the live standings in the snapshot's shape, whether
/// they are published, and who the numbered judges are.
pub async fn organizer_view(
    db: &sqlx::PgPool,
    c: &ContestRow,
    round: RoundRow,
) -> sqlx::Result<Value> {
    let published = published(db, round.judging_round_id).await?;
    let comp = compute(db, round).await?;
    let mut snap = snapshot(c, &comp);
    snap["published"] = json!(published.is_some());
    snap["published_at"] = json!(published.map(|p| p.1));
    let names: HashMap<usize, String> = comp
        .judges
        .iter()
        .map(|(id, n)| (comp.judge_no(*id), n.clone()))
        .collect();
    snap["judges"] = json!(
        names
            .iter()
            .map(|(n, name)| json!({"judge": n, "name": name}))
            .collect::<Vec<_>>()
    );
    Ok(snap)
}

/// Everyone else's view: the latest published snapshot (with authors only where
/// `show_authors`), or `None` before anything is published.
pub async fn public_view(
    db: &sqlx::PgPool,
    contest_id: i64,
    show_authors: bool,
) -> sqlx::Result<Option<Value>> {
    Ok(latest_published(db, contest_id)
        .await?
        .map(|(mut snap, at)| {
            snap["published"] = json!(true);
            snap["published_at"] = json!(at);
            if !show_authors {
                strip_authors(&mut snap);
            }
            snap
        }))
}
