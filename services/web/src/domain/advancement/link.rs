//! The link of a child contest to its parent: which contest, N, the basis, and where each of
//! the child's categories goes. Set by whoever organizes the child (an organizer of its unit or
//! of a unit above, so the province's organizers can set it too), only while the child's
//! results are unpublished, and only to a contest of a unit strictly above the child's.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};

use super::{AdvancementRefusal as R, Basis, MAX_TOP};
use crate::domain::contests::categories::{self, Category};
use crate::domain::contests::{ContestRow, by_slug};

/// What the organizer asks for.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkSpec {
    /// The parent contest's slug: a contest of a unit strictly above this one's (422
    /// `advancement-parent-unknown`, `advancement-parent-not-above`).
    pub parent: String,
    /// N of "top N per category" (422 `advancement-top-out-of-range`).
    #[schema(minimum = 1, maximum = 20)]
    pub top: i32,
    /// What the entries are ranked by (422 `advancement-basis-invalid`).
    #[schema(value_type = Basis)]
    pub basis: String,
    /// This contest's category slug → the parent's category slug, for names that do not
    /// match; without it a category goes to the parent's of the same slug, else of the same
    /// name (422 `advancement-category-unmatched`).
    #[serde(default)]
    pub categories: BTreeMap<String, String>,
}

/// A stored link, with what its pages show of the parent.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
pub struct Link {
    #[serde(skip)]
    pub contest_id: i64,
    #[serde(skip)]
    pub parent_contest_id: i64,
    #[serde(rename = "parent")]
    pub parent_slug: String,
    pub parent_title: String,
    pub parent_unit: Option<String>,
    #[serde(rename = "top")]
    pub top_n: i32,
    #[schema(value_type = Basis)]
    pub basis: String,
    /// When the results were published and the top entries nominated (null before).
    pub nominated_at: Option<DateTime<Utc>>,
}

/// The link of contest `contest_id`, if it has one.
pub async fn of(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<Option<Link>> {
    sqlx::query_as(
        "select a.contest_id, a.parent_contest_id, p.slug as parent_slug, p.title as parent_title,
                u.name as parent_unit, a.top_n, a.basis, a.nominated_at
         from contest_advancement a join contest p on p.contest_id = a.parent_contest_id
         left join unit u on u.unit_id = p.unit_id where a.contest_id = $1",
    )
    .bind(contest_id)
    .fetch_optional(db)
    .await
}

/// Whether any results of the contest are published (the link is then locked).
pub async fn results_published(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from judging_result where contest_id = $1)")
        .bind(contest_id)
        .fetch_one(db)
        .await
}

/// Contests a child of unit `unit_id` may link to: those of units strictly above it, nearest
/// unit first (slug, title, unit name).
pub async fn candidates(
    db: impl PgExecutor<'_>,
    unit_id: Option<i64>,
) -> sqlx::Result<Vec<(String, String, String)>> {
    sqlx::query_as(
        "select c.slug, c.title, u.name from contest c join unit u on u.unit_id = c.unit_id, unit me
         where me.unit_id = $1 and me.path like u.path || '/%'
         order by length(u.path) desc, c.submission_opens_at desc limit 100",
    )
    .bind(unit_id)
    .fetch_all(db)
    .await
}

/// The explicit category mapping of a link: child category slug → parent category slug.
pub async fn explicit(
    db: impl PgExecutor<'_>,
    contest_id: i64,
) -> sqlx::Result<BTreeMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select k.slug, p.slug from contest_advancement_category m
         join contest_category k on k.category_id = m.category_id
         join contest_category p on p.category_id = m.parent_category_id
         where m.contest_id = $1",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().collect())
}

fn folded(s: &str) -> String {
    s.trim().to_lowercase()
}

/// Where each child category goes (child category id → parent category id): the explicit
/// choice, else the parent's category of the same slug, else of the same name. A parent
/// without categories takes every entry as it is (an empty map). `Err` when a child category
/// has nowhere to go, or the child has no categories and the parent does.
pub fn resolve(
    child: &[Category],
    parent: &[Category],
    explicit: &BTreeMap<String, String>,
) -> Result<HashMap<i64, i64>, R> {
    if parent.is_empty() {
        return Ok(HashMap::new());
    }
    if child.is_empty() {
        return Err(R::CategoryUnmatched);
    }
    let mut out = HashMap::new();
    for k in child {
        let found = match explicit.get(&k.slug) {
            Some(p) => parent.iter().find(|x| &x.slug == p),
            None => parent
                .iter()
                .find(|x| x.slug == k.slug)
                .or_else(|| parent.iter().find(|x| folded(&x.name) == folded(&k.name))),
        };
        out.insert(
            k.category_id,
            found.ok_or(R::CategoryUnmatched)?.category_id,
        );
    }
    Ok(out)
}

/// Locks the child contest's row (the row publishing locks) and says whether its results are
/// out.
async fn lock(conn: &mut PgConnection, contest_id: i64) -> sqlx::Result<bool> {
    sqlx::query("select 1 from contest where contest_id = $1 for no key update")
        .bind(contest_id)
        .execute(&mut *conn)
        .await?;
    results_published(&mut *conn, contest_id).await
}

/// Sets (or replaces) the link of `child`.
pub async fn set(
    db: &sqlx::PgPool,
    child: &ContestRow,
    spec: &LinkSpec,
    by: i64,
) -> sqlx::Result<Result<Link, R>> {
    // Once results are out nothing about the link changes, whatever was sent.
    if results_published(db, child.contest_id).await? {
        return Ok(Err(R::Locked));
    }
    let Some(basis) = Basis::parse(&spec.basis) else {
        return Ok(Err(R::BasisInvalid));
    };
    if !(1..=MAX_TOP).contains(&spec.top) {
        return Ok(Err(R::TopOutOfRange));
    }
    let Some(parent) = by_slug(db, spec.parent.trim()).await? else {
        return Ok(Err(R::ParentUnknown));
    };
    let above: bool = match (child.unit_id, parent.unit_id) {
        (Some(c), Some(p)) if c != p => crate::domain::people::units::is_within(db, c, p).await?,
        _ => false,
    };
    if !above {
        return Ok(Err(R::ParentNotAbove));
    }
    let child_cats = categories::list(db, child.contest_id).await?;
    let parent_cats = categories::list(db, parent.contest_id).await?;
    let map = match resolve(&child_cats, &parent_cats, &spec.categories) {
        Ok(m) => m,
        Err(r) => return Ok(Err(r)),
    };
    let mut tx = db.begin().await?;
    if lock(&mut tx, child.contest_id).await? {
        return Ok(Err(R::Locked));
    }
    sqlx::query(
        "insert into contest_advancement (contest_id, parent_contest_id, top_n, basis, created_by)
         values ($1, $2, $3, $4, $5)
         on conflict (contest_id) do update set parent_contest_id = excluded.parent_contest_id,
             top_n = excluded.top_n, basis = excluded.basis, created_by = excluded.created_by,
             updated_at = now()",
    )
    .bind(child.contest_id)
    .bind(parent.contest_id)
    .bind(spec.top)
    .bind(basis.as_str())
    .bind(by)
    .execute(&mut *tx)
    .await?;
    sqlx::query("delete from contest_advancement_category where contest_id = $1")
        .bind(child.contest_id)
        .execute(&mut *tx)
        .await?;
    // Only the explicit choices are stored: a matching slug or name follows renames.
    let chosen = child_cats
        .iter()
        .filter(|k| spec.categories.contains_key(&k.slug))
        .filter_map(|k| Some((k.category_id, *map.get(&k.category_id)?)));
    for (category, parent_category) in chosen {
        sqlx::query(
            "insert into contest_advancement_category (contest_id, category_id, parent_category_id)
             values ($1, $2, $3)",
        )
        .bind(child.contest_id)
        .bind(category)
        .bind(parent_category)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    tracing::info!(contest = %child.slug, parent = %parent.slug, top = spec.top, basis = basis.as_str(), "advancement linked");
    let link = of(db, child.contest_id)
        .await?
        .ok_or(sqlx::Error::RowNotFound)?;
    Ok(Ok(link))
}

/// Removes the link of `child`; `Ok(false)` when there was none.
pub async fn remove(db: &sqlx::PgPool, child: &ContestRow) -> sqlx::Result<Result<bool, R>> {
    let mut tx = db.begin().await?;
    if lock(&mut tx, child.contest_id).await? {
        return Ok(Err(R::Locked));
    }
    let gone = sqlx::query("delete from contest_advancement where contest_id = $1")
        .bind(child.contest_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    tx.commit().await?;
    Ok(Ok(gone))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(id: i64, slug: &str, name: &str) -> Category {
        Category {
            category_id: id,
            slug: slug.into(),
            name: name.into(),
            position: 0,
            kinds: vec!["photo".into()],
            max_entries_per_member: None,
            max_photo_bytes: None,
            max_video_bytes: None,
            max_video_seconds: None,
            max_series_photos: None,
        }
    }

    #[test]
    fn categories_go_by_explicit_choice_then_slug_then_name_or_not_at_all() {
        let child = [k(1, "anh", "Ảnh đẹp"), k(2, "clip", "Video Clip")];
        let parent = [k(10, "anh", "Ảnh"), k(11, "video", "video clip")];
        let map = resolve(&child, &parent, &BTreeMap::new()).unwrap();
        assert_eq!(map[&1], 10);
        assert_eq!(map[&2], 11);
        let chosen = BTreeMap::from([("anh".to_owned(), "video".to_owned())]);
        assert_eq!(resolve(&child, &parent, &chosen).unwrap()[&1], 11);
        let wrong = BTreeMap::from([("anh".to_owned(), "khong-co".to_owned())]);
        assert_eq!(resolve(&child, &parent, &wrong), Err(R::CategoryUnmatched));
        assert_eq!(
            resolve(&[k(3, "khac", "Khác")], &parent, &BTreeMap::new()),
            Err(R::CategoryUnmatched)
        );
        assert_eq!(
            resolve(&[], &parent, &BTreeMap::new()),
            Err(R::CategoryUnmatched)
        );
        assert!(resolve(&child, &[], &BTreeMap::new()).unwrap().is_empty());
    }
}
