//! Judges' comments to entrants (`judge_assignment.comment_to_entrant`), as their entrants
//! read them: only from submitted sheets of rounds whose results are published (never
//! before), only to the entry's own author (the callers decide who asks), and without the
//! judge's name where judging is blind. Also who is mailed when a round is published.

use std::collections::BTreeMap;

use sqlx::PgExecutor;
use uuid::Uuid;

/// One judge's comment to the entrant of an entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Feedback {
    pub entry_id: Uuid,
    pub round_name: String,
    /// The judge's name; `None` where judging is blind.
    pub judge: Option<String>,
    pub text: String,
}

const FEEDBACK_SQL: &str = "select a.entry_id, r.name as round_name,
        case when c.blind_judging then null else u.display_name end as judge,
        a.comment_to_entrant as text
    from judge_assignment a
    join judging_round r on r.judging_round_id = a.judging_round_id
    join judging_result p on p.judging_round_id = r.judging_round_id
    join contest c on c.contest_id = r.contest_id
    join entry e on e.entry_id = a.entry_id
    left join app_user u on u.app_user_id = a.judge_id
    where a.active and a.submitted_at is not null and a.comment_to_entrant <> ''";

/// The comments to the entrant of `entry` from published rounds, in round order.
pub async fn for_entry(db: impl PgExecutor<'_>, entry: Uuid) -> sqlx::Result<Vec<Feedback>> {
    sqlx::query_as(&format!(
        "{FEEDBACK_SQL} and a.entry_id = $1 order by r.number, a.judge_assignment_id"
    ))
    .bind(entry)
    .fetch_all(db)
    .await
}

/// The comments to `author` on the entries `entries` (their own list), by entry.
pub async fn for_author(
    db: impl PgExecutor<'_>,
    author: i64,
    entries: &[Uuid],
) -> sqlx::Result<BTreeMap<Uuid, Vec<Feedback>>> {
    let rows: Vec<Feedback> = sqlx::query_as(&format!(
        "{FEEDBACK_SQL} and e.author_id = $1 and a.entry_id = any($2)
         order by r.number, a.judge_assignment_id"
    ))
    .bind(author)
    .bind(entries)
    .fetch_all(db)
    .await?;
    let mut by_entry: BTreeMap<Uuid, Vec<Feedback>> = BTreeMap::new();
    for f in rows {
        by_entry.entry(f.entry_id).or_default().push(f);
    }
    Ok(by_entry)
}

/// An entry of a published round, as its author's results mail names it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EntrantLine {
    pub author_email: String,
    pub entry_id: Uuid,
    pub title: String,
}

/// The entries a round judged (not withdrawn), by author email: one mail per entrant.
pub async fn entrants(
    db: impl PgExecutor<'_>,
    round_id: i64,
) -> sqlx::Result<BTreeMap<String, Vec<EntrantLine>>> {
    let rows: Vec<EntrantLine> = sqlx::query_as(
        "select a.email::text as author_email, e.entry_id, e.title
         from round_entry re join entry e using (entry_id) join app_user a on a.app_user_id = e.author_id
         where re.judging_round_id = $1 and e.status <> 'withdrawn'
         order by a.email, e.number",
    )
    .bind(round_id)
    .fetch_all(db)
    .await?;
    let mut by_author: BTreeMap<String, Vec<EntrantLine>> = BTreeMap::new();
    for l in rows {
        by_author.entry(l.author_email.clone()).or_default().push(l);
    }
    Ok(by_author)
}
