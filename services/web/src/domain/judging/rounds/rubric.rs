//! A round's criteria: its own general ones, and the categories' own rubrics it carries.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::judging::math::Criterion;

/// The criteria a contest was created with (`settings.criteria`, at most 20), leaving out
/// any that would not pass the set-up form.
pub(crate) fn criteria_of_settings(settings: &serde_json::Value) -> Vec<CriterionDraft> {
    let list = settings
        .get("criteria")
        .and_then(|c| c.as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .take(20)
        .filter_map(|c| {
            let name = c.get("name").and_then(|v| v.as_str()).unwrap_or("").trim();
            let number = |key: &str, default: f64| {
                c.get(key)
                    .and_then(serde_json::Value::as_f64)
                    .unwrap_or(default)
            };
            let (max, weight) = (number("max", 10.0), number("weight", 1.0));
            let valid = !name.is_empty()
                && name.chars().count() <= 200
                && max > 0.0
                && max <= 1000.0
                && weight > 0.0
                && weight <= 1000.0;
            valid.then(|| CriterionDraft {
                id: None,
                name: name.to_owned(),
                description: String::new(),
                max,
                weight,
            })
        })
        .collect()
}

/// A criterion as the set-up form (or a copy) gives it; `id` is `None` for a new one.
#[derive(Debug, Clone, PartialEq)]
pub struct CriterionDraft {
    pub id: Option<i64>,
    pub name: String,
    pub description: String,
    pub max: f64,
    pub weight: f64,
}

/// Adds a criterion at `position` (of `category`'s own rubric, or the round's) and returns
/// its id.
pub(crate) async fn insert_criterion(
    conn: &mut PgConnection,
    round_id: i64,
    position: usize,
    c: &CriterionDraft,
    category: Option<i64>,
) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "insert into judging_criterion (judging_round_id, position, name, description, max_score, weight, category_id)
         values ($1, $2, $3, $4, $5, $6, $7) returning judging_criterion_id",
    )
    .bind(round_id)
    .bind(position as i32)
    .bind(&c.name)
    .bind(&c.description)
    .bind(c.max)
    .bind(c.weight)
    .bind(category)
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
         from judging_criterion where judging_round_id = $1 and category_id is null
         order by position, judging_criterion_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await
}

/// The criteria an entry is scored against in a round: its category's own, when the round
/// has some for it, else the round's general ones.
pub async fn criteria_of_entry(
    db: impl PgExecutor<'_>,
    round_id: i64,
    entry_id: Uuid,
) -> sqlx::Result<Vec<CriterionRow>> {
    sqlx::query_as(
        "with own as (select k.category_id from judging_criterion k join entry e on e.category_id = k.category_id
                      where k.judging_round_id = $1 and e.entry_id = $2 limit 1)
         select judging_criterion_id, name, description, max_score::float8 as max_score,
                weight::float8 as weight
         from judging_criterion where judging_round_id = $1
           and category_id is not distinct from (select category_id from own)
         order by position, judging_criterion_id",
    )
    .bind(round_id)
    .bind(entry_id)
    .fetch_all(db)
    .await
}

/// The categories of a round that have criteria of their own, with them.
pub async fn category_criteria(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<HashMap<i64, Vec<CriterionRow>>> {
    #[derive(sqlx::FromRow)]
    struct Row {
        category_id: i64,
        #[sqlx(flatten)]
        c: CriterionRow,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select category_id, judging_criterion_id, name, description, max_score::float8 as max_score,
                weight::float8 as weight
         from judging_criterion where judging_round_id = $1 and category_id is not null
         order by position, judging_criterion_id",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    let mut out: HashMap<i64, Vec<CriterionRow>> = HashMap::new();
    for r in rows {
        out.entry(r.category_id).or_default().push(r.c);
    }
    Ok(out)
}

/// Makes a round that has not opened carry its contest's category rubrics
/// (`contest_category.criteria`): until it opens they follow the categories' settings; from
/// then on they are the round's, like its general criteria.
pub async fn sync_category_criteria(conn: &mut PgConnection, round_id: i64) -> sqlx::Result<()> {
    let opened: Option<DateTime<Utc>> =
        sqlx::query_scalar("select opened_at from judging_round where judging_round_id = $1")
            .bind(round_id)
            .fetch_one(&mut *conn)
            .await?;
    if opened.is_some() {
        return Ok(());
    }
    sqlx::query(
        "delete from judging_criterion where judging_round_id = $1 and category_id is not null",
    )
    .bind(round_id)
    .execute(&mut *conn)
    .await?;
    let rubrics: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "select k.category_id, k.criteria from contest_category k
         join judging_round r on r.contest_id = k.contest_id
         where r.judging_round_id = $1 and jsonb_typeof(k.criteria) = 'array'
         order by k.position, k.category_id",
    )
    .bind(round_id)
    .fetch_all(&mut *conn)
    .await?;
    for (category, list) in rubrics {
        let drafts = criteria_of_settings(&serde_json::json!({ "criteria": list }));
        for (pos, c) in drafts.iter().enumerate() {
            insert_criterion(&mut *conn, round_id, pos, c, Some(category)).await?;
        }
    }
    Ok(())
}
