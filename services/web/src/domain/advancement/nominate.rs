//! Nominations: when a child contest's results are published, its top N of each category
//! (by the link's basis, ranked by the results' own code) become entries of the parent
//! contest. A nominated entry has no files of its own: it shows its source's media
//! (`entry.media_entry_id`), so nothing is uploaded or copied again, and the source keeps
//! owning the files for erasure and retention. Each nominee is mailed through the outbox.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use hoithi_core::contest::EntryStatus;
use serde::Serialize;
use sqlx::PgExecutor;
use uuid::Uuid;

use super::Basis;
use super::link::{self, resolve};
use crate::domain::contests::{ContestRow, by_id, categories};
use crate::domain::judging::results::ranked_by_category;
use crate::domain::judging::rounds::{self, RoundRow};
use crate::domain::judging::standings::{Computed, compute, compute_with};
use crate::domain::people::outbox;

/// The round's standings with the judges' share of the combined score set for `basis`, so
/// the results' ranking (combined score, then the round's tie-break) ranks by it: combined
/// is the results' own (the categories' weights too), judges or votes alone override them.
async fn ranked_on(db: &sqlx::PgPool, mut round: RoundRow, basis: Basis) -> sqlx::Result<Computed> {
    match basis {
        Basis::Judges => round.judges_weight = 100,
        Basis::Votes => round.judges_weight = 0,
        Basis::Combined => return compute(db, round).await,
    }
    compute_with(db, round, Default::default()).await
}

#[derive(sqlx::FromRow)]
struct Source {
    entry_id: Uuid,
    author_id: i64,
    author_email: String,
    title: String,
    description: String,
    category_id: Option<i64>,
    category_name: Option<String>,
    guardian_pending: bool,
    media_from: Uuid,
    approved: bool,
}

/// Nominates the top entries of `child`'s published round `round_id` into its parent, if
/// the child is linked to one and has not nominated yet. Idempotent: the link's row is locked
/// while deciding and marked in the same transaction, and an entry already nominated is not
/// nominated again (the `nomination_once` key holds this across any race). Returns how many
/// entries were nominated now.
pub async fn nominate(
    db: &sqlx::PgPool,
    child: &ContestRow,
    round_id: i64,
    base_url: &str,
) -> sqlx::Result<usize> {
    let Some(link) = link::of(db, child.contest_id).await? else {
        return Ok(0);
    };
    let Some(round) = rounds::round(db, round_id).await? else {
        return Ok(0);
    };
    let Some(parent) = by_id(db, link.parent_contest_id).await? else {
        return Ok(0);
    };
    let basis = Basis::parse(&link.basis).unwrap_or(Basis::Combined);
    let comp = ranked_on(db, round, basis).await?;
    let top = usize::try_from(link.top_n).unwrap_or(0);
    // Rank ≤ N within each category: entries tied at N all go. Nobody advances on nothing:
    // by judges an entry needs a submitted sheet, by votes a vote.
    let chosen: Vec<(Uuid, usize)> = ranked_by_category(&comp)
        .into_iter()
        .filter(|(r, rank)| {
            *rank <= top
                && match basis {
                    Basis::Judges => r.judge_score.is_some(),
                    Basis::Votes => r.votes > 0,
                    Basis::Combined => r.judge_score.is_some() || r.votes > 0,
                }
        })
        .map(|(r, rank)| (r.id, rank))
        .collect();
    let ids: Vec<Uuid> = chosen.iter().map(|c| c.0).collect();
    let child_cats = categories::list(db, child.contest_id).await?;
    let parent_cats = categories::list(db, parent.contest_id).await?;
    let explicit = link::explicit(db, child.contest_id).await?;
    let map = resolve(&child_cats, &parent_cats, &explicit).unwrap_or_default();

    let mut tx = db.begin().await?;
    // One nomination at a time per link: a second publish (or a retry) waits, then finds
    // every entry already there.
    let done: Option<Option<DateTime<Utc>>> = sqlx::query_scalar(
        "select nominated_at from contest_advancement where contest_id = $1 for update",
    )
    .bind(child.contest_id)
    .fetch_optional(&mut *tx)
    .await?;
    // The first published results nominate; a later round's publication does not add more.
    if !matches!(done, Some(None)) {
        return Ok(0);
    }
    let sources: Vec<Source> = sqlx::query_as(
        "select e.entry_id, e.author_id, u.email::text as author_email, e.title, e.description,
                e.category_id, k.name as category_name, e.guardian_pending,
                coalesce(e.media_entry_id, e.entry_id) as media_from, e.status = 'approved' as approved
         from entry e join app_user u on u.app_user_id = e.author_id
         left join contest_category k on k.category_id = e.category_id
         where e.entry_id = any($1) and u.deleted_at is null
           and not exists (select 1 from nomination n
                           where n.parent_contest_id = $2 and n.source_entry_id = e.entry_id)",
    )
    .bind(&ids)
    .bind(parent.contest_id)
    .fetch_all(&mut *tx)
    .await?;
    let status = if parent.requires_moderation {
        EntryStatus::PendingReview
    } else {
        EntryStatus::Approved
    };
    let mut made = 0;
    for (id, rank) in &chosen {
        let Some(s) = sources.iter().find(|s| s.entry_id == *id) else {
            continue;
        };
        if !s.approved {
            continue;
        }
        let category = match s.category_id {
            _ if parent_cats.is_empty() => None,
            Some(k) => match map.get(&k) {
                Some(p) => Some(*p),
                None => {
                    tracing::warn!(contest = %child.slug, entry = %s.entry_id, "nominee's category has no match in the parent; left out");
                    continue;
                }
            },
            None => continue,
        };
        let entry: Uuid = sqlx::query_scalar(
            "insert into entry (contest_id, author_id, title, description, status, submitted_at,
                                category_id, media_entry_id, guardian_pending)
             values ($1, $2, $3, $4, $5, now(), $6, $7, $8) returning entry_id",
        )
        .bind(parent.contest_id)
        .bind(s.author_id)
        .bind(&s.title)
        .bind(&s.description)
        .bind(status)
        .bind(category)
        .bind(s.media_from)
        .bind(s.guardian_pending)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "insert into nomination (entry_id, parent_contest_id, source_entry_id, source_contest_id, rank, basis)
             values ($1, $2, $3, $4, $5, $6)",
        )
        .bind(entry)
        .bind(parent.contest_id)
        .bind(s.entry_id)
        .bind(child.contest_id)
        .bind(i32::try_from(*rank).unwrap_or(i32::MAX))
        .bind(basis.as_str())
        .execute(&mut *tx)
        .await?;
        // A team's entry goes up as the team: its name, chi đoàn, members and series flag.
        sqlx::query(
            "update entry n set team_name = s.team_name, team_unit_id = s.team_unit_id,
                    photo_series = s.photo_series
             from entry s where n.entry_id = $1 and s.entry_id = $2",
        )
        .bind(entry)
        .bind(s.entry_id)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "insert into entry_team_member (entry_id, position, full_name, member_number)
             select $1, position, full_name, member_number from entry_team_member
             where entry_id = $2",
        )
        .bind(entry)
        .bind(s.entry_id)
        .execute(&mut *tx)
        .await?;
        let (subject, body) = mail(
            child,
            &parent,
            s,
            *rank,
            &format!("{base_url}/entries/{entry}"),
        );
        outbox::queue(&mut *tx, &s.author_email, "nomination", &subject, &body).await?;
        made += 1;
    }
    sqlx::query(
        "update contest_advancement set nominated_at = coalesce(nominated_at, now()) where contest_id = $1",
    )
    .bind(child.contest_id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(contest = %child.slug, parent = %parent.slug, nominated = made, "nominations made");
    Ok(made)
}

/// The nominee's mail, in Vietnamese.
fn mail(
    child: &ContestRow,
    parent: &ContestRow,
    s: &Source,
    rank: usize,
    link: &str,
) -> (String, String) {
    let subject = format!("Bài dự thi của bạn được đề cử lên «{}»", parent.title);
    let within = s
        .category_name
        .as_ref()
        .map(|k| format!(" trong hạng mục «{k}»"))
        .unwrap_or_default();
    let body = format!(
        "Chúc mừng bạn! Bài «{}» đạt hạng {rank}{within} ở «{}» và được đề cử lên vòng trên: «{}».\n\n\
         Bài được đề cử mang theo ảnh/video bạn đã gửi, bạn không cần gửi lại. Ban tổ chức vòng \
         trên sẽ duyệt và chấm bài như các bài khác.\n\n{link}\n",
        s.title, child.title, parent.title
    );
    (subject, body)
}

/// A nominated entry as the parent's organizers see it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Nominee {
    /// The entry in this contest (showing the source entry's media).
    pub entry_id: Uuid,
    pub title: String,
    pub author_name: String,
    #[schema(value_type = EntryStatus)]
    pub status: String,
    pub category_name: Option<String>,
    pub source_entry_id: Uuid,
    pub source_slug: String,
    pub source_title: String,
    pub source_unit: Option<String>,
    /// Its rank in its category of the source contest.
    pub rank: i32,
    #[schema(value_type = Basis)]
    pub basis: String,
    pub created_at: DateTime<Utc>,
}

/// The entries nominated into `parent_id`, by child contest, then category and rank.
pub async fn into_contest(db: impl PgExecutor<'_>, parent_id: i64) -> sqlx::Result<Vec<Nominee>> {
    sqlx::query_as(
        "select n.entry_id, e.title, a.display_name as author_name, e.status::text as status,
                k.name as category_name, n.source_entry_id, c.slug as source_slug,
                c.title as source_title, u.name as source_unit, n.rank, n.basis, n.created_at
         from nomination n join entry e on e.entry_id = n.entry_id
         join app_user a on a.app_user_id = e.author_id
         join contest c on c.contest_id = n.source_contest_id
         left join unit u on u.unit_id = c.unit_id
         left join contest_category k on k.category_id = e.category_id
         where n.parent_contest_id = $1
         order by c.title, c.contest_id, k.position nulls first, n.rank, e.created_at",
    )
    .bind(parent_id)
    .fetch_all(db)
    .await
}

/// A child contest linked to a parent, as the parent's organizers see it.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Feeder {
    pub slug: String,
    pub title: String,
    pub unit: Option<String>,
    pub top: i32,
    #[schema(value_type = Basis)]
    pub basis: String,
    /// Null until its results are published.
    pub nominated_at: Option<DateTime<Utc>>,
}

/// The contests linked to `parent_id`, whether they nominated yet or not.
pub async fn feeders(db: impl PgExecutor<'_>, parent_id: i64) -> sqlx::Result<Vec<Feeder>> {
    sqlx::query_as(
        "select c.slug, c.title, u.name as unit, a.top_n as top, a.basis, a.nominated_at
         from contest_advancement a join contest c on c.contest_id = a.contest_id
         left join unit u on u.unit_id = c.unit_id
         where a.parent_contest_id = $1 order by c.title, c.contest_id",
    )
    .bind(parent_id)
    .fetch_all(db)
    .await
}

/// Where each of `entries` was nominated from (source contest title and rank), for the
/// author's "Bài dự thi của tôi": one statement for the page.
pub async fn provenance(
    db: impl PgExecutor<'_>,
    entries: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, (String, i32)>> {
    let rows: Vec<(Uuid, String, i32)> = sqlx::query_as(
        "select n.entry_id, c.title, n.rank from nomination n
         join contest c on c.contest_id = n.source_contest_id where n.entry_id = any($1)",
    )
    .bind(entries)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(e, t, r)| (e, (t, r))).collect())
}

/// Nominations into a parent counted per child contest slug.
pub fn counts(nominees: &[Nominee]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for n in nominees {
        *out.entry(n.source_slug.clone()).or_insert(0) += 1;
    }
    out
}
