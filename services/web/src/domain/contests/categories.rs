//! Categories (hạng mục / bảng) inside one contest: each has its own kinds and may override
//! the contest's limits, rubric and vote policy. A contest without categories works as
//! before; with them, every new entry names one (`domain::entries::submit`).

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

use super::refusal::{ContestRefusal as R, FieldError};

/// A category as `POST /api/v1/contests` and `create-contest` describe it.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub kinds: Vec<String>,
    #[serde(default)]
    pub limits: Option<CategoryLimits>,
    /// The category's own rubric [{name, max, weight}]: its entries' sheets and results use
    /// it instead of the round's criteria.
    #[serde(default)]
    pub criteria: Option<Vec<serde_json::Value>>,
    /// The category's own share of judges and public votes in its combined ranking, as
    /// relative numbers ({judges: 3, public: 1} is 75 % judges); absent: the round's formula.
    /// Shown in the results as judges_weight and public_weight on the category. Refused with
    /// invalid-category-weights when negative, both 0 or with other fields.
    #[serde(default)]
    #[schema(value_type = Option<CategoryWeightsDoc>)]
    pub weights: Option<serde_json::Value>,
    /// The category's own vote limits, applied by the vote ingest on top of the contest's
    /// policy; refused with invalid-category-vote-policy when out of bounds or with other
    /// fields.
    #[serde(default)]
    #[schema(value_type = Option<CategoryVotePolicyDoc>)]
    pub vote_policy: Option<serde_json::Value>,
}

/// The shape `weights` is checked against (the document's; the field stays JSON as stored).
#[derive(utoipa::ToSchema)]
#[schema(as = CategoryWeights)]
#[allow(dead_code)]
pub struct CategoryWeightsDoc {
    #[schema(minimum = 0)]
    judges: Option<f64>,
    #[schema(minimum = 0)]
    public: Option<f64>,
}

/// The shape `vote_policy` is checked against.
#[derive(utoipa::ToSchema)]
#[schema(as = CategoryVotePolicy)]
#[allow(dead_code)]
pub struct CategoryVotePolicyDoc {
    /// Votes per voter per entry per day in this category, instead of the contest's per_day.
    #[schema(minimum = 1, maximum = 100)]
    per_day: Option<i32>,
    /// Votes per voter in this category in the whole contest; a vote beyond it is refused
    /// with 409 category-limit-reached, exactly, also under concurrent votes.
    #[schema(minimum = 1, maximum = 10000)]
    per_category: Option<i32>,
}

/// Limits of a category; each absent one is the contest's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryLimits {
    pub max_photo_bytes: Option<i64>,
    pub max_video_bytes: Option<i64>,
    pub max_video_seconds: Option<i32>,
    pub max_entries_per_member: Option<i32>,
    /// Photos one series (bộ ảnh) of this category may hold (1: no series); absent: the
    /// contest's max_series_photos. One photo more is refused with 409 series-full.
    #[schema(minimum = 1, maximum = 10)]
    pub max_series_photos: Option<i32>,
}

/// A category that passed validation.
#[derive(Debug, Clone)]
pub struct ValidCategory {
    pub slug: String,
    pub name: String,
    pub kinds: Vec<String>,
    pub limits: CategoryLimits,
    pub criteria: Option<serde_json::Value>,
    pub weights: Option<serde_json::Value>,
    pub vote_policy: Option<serde_json::Value>,
}

const MIB: i64 = 1024 * 1024;

/// Checks the categories of a contest whose kinds are `contest_kinds`: slugs valid and unique,
/// names of 1 to 200 characters, kinds among the contest's, limits within the contest's own
/// bounds. Broken rules are reported on the field `categories`.
pub fn validate(
    specs: &[CategorySpec],
    contest_kinds: &[String],
    errors: &mut Vec<FieldError>,
) -> Vec<ValidCategory> {
    let mut out: Vec<ValidCategory> = Vec::new();
    let mut broken = false;
    for s in specs {
        let slug = s.slug.trim().to_owned();
        let name = s.name.trim().to_owned();
        let mut kinds: Vec<String> = s.kinds.iter().map(|k| k.trim().to_owned()).collect();
        kinds.sort();
        kinds.dedup();
        if hoithi_core::domain::Slug::parse(&slug).is_err()
            || out.iter().any(|c| c.slug == slug)
            || name.is_empty()
            || name.chars().count() > 200
            || name.chars().any(char::is_control)
            || kinds.is_empty()
        {
            broken = true;
            continue;
        }
        if kinds.iter().any(|k| !contest_kinds.iter().any(|c| c == k)) {
            errors.push(FieldError::new("categories", R::CategoryKindsOutside));
            return Vec::new();
        }
        if s.vote_policy
            .as_ref()
            .is_some_and(|v| !vote_policy_valid(v))
        {
            errors.push(FieldError::new("categories", R::InvalidCategoryVotePolicy));
            return Vec::new();
        }
        if s.weights
            .as_ref()
            .is_some_and(|w| judges_share(w).is_none())
        {
            errors.push(FieldError::new("categories", R::InvalidCategoryWeights));
            return Vec::new();
        }
        let limits = s.limits.clone().unwrap_or_default();
        let fits = limits
            .max_photo_bytes
            .is_none_or(|b| (1..=2048 * MIB).contains(&b))
            && limits
                .max_video_bytes
                .is_none_or(|b| (1..=10 * 1024 * MIB).contains(&b))
            && limits
                .max_video_seconds
                .is_none_or(|s| (1..=4 * 3600).contains(&s))
            && limits
                .max_entries_per_member
                .is_none_or(|n| (1..=100).contains(&n))
            && limits
                .max_series_photos
                .is_none_or(|n| (1..=10).contains(&n));
        if !fits {
            broken = true;
            continue;
        }
        out.push(ValidCategory {
            slug,
            name,
            kinds,
            limits,
            criteria: s.criteria.clone().map(serde_json::Value::Array),
            weights: s.weights.clone(),
            vote_policy: s.vote_policy.clone(),
        });
    }
    if broken {
        errors.push(FieldError::new("categories", R::InvalidCategory));
        return Vec::new();
    }
    out
}

/// Whether `v` is a category's own vote policy: an object of `per_day` (votes per voter per
/// entry per day, replacing the contest's, 1 to `MAX_PER_DAY`) and `per_category` (votes per
/// voter within the category, 1 to `MAX_PER_CONTEST`), both optional integers. The vote
/// ingest (`voting::repo::insert_votes`) reads the same fields with the same bounds.
pub fn vote_policy_valid(v: &serde_json::Value) -> bool {
    use crate::domain::voting::policy::{MAX_PER_CONTEST, MAX_PER_DAY};
    v.as_object().is_some_and(|fields| {
        fields.iter().all(|(k, x)| {
            let max = match k.as_str() {
                "per_day" => MAX_PER_DAY,
                "per_category" => MAX_PER_CONTEST,
                _ => return false,
            };
            x.as_i64().is_some_and(|n| (1..=max).contains(&n))
        })
    })
}

/// The judges' share, in percent, of a category's `weights` `{judges, public}` (numbers of
/// at least 0, not both 0, as relative shares: `{judges: 3, public: 1}` is 75 %). `None` for
/// anything else. Results of the category use it instead of the round's share.
pub fn judges_share(w: &serde_json::Value) -> Option<u8> {
    let fields = w.as_object()?;
    if fields.keys().any(|k| k != "judges" && k != "public") {
        return None;
    }
    let part = |k: &str| fields.get(k).map_or(Some(0.0), serde_json::Value::as_f64);
    let (judges, public) = (part("judges")?, part("public")?);
    let total = judges + public;
    if !(judges >= 0.0 && public >= 0.0 && total > 0.0 && total.is_finite()) {
        return None;
    }
    u8::try_from((judges * 100.0 / total).round() as i64).ok()
}

/// The judges' share (percent) of each category of the contest that sets its own weights.
pub async fn judges_shares(
    db: impl PgExecutor<'_>,
    contest_id: i64,
) -> sqlx::Result<std::collections::HashMap<i64, u8>> {
    let rows: Vec<(i64, serde_json::Value)> = sqlx::query_as(
        "select category_id, weights from contest_category
         where contest_id = $1 and weights is not null",
    )
    .bind(contest_id)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, w)| Some((id, judges_share(&w)?)))
        .collect())
}

/// Stores the categories of a new contest, in the order given.
pub async fn insert_all(
    conn: &mut PgConnection,
    contest_id: i64,
    categories: &[ValidCategory],
) -> sqlx::Result<()> {
    for (i, c) in categories.iter().enumerate() {
        insert_all_at(conn, contest_id, i32::try_from(i).unwrap_or(i32::MAX), c).await?;
    }
    Ok(())
}

/// Stores one new category at `position`.
async fn insert_all_at(
    conn: &mut PgConnection,
    contest_id: i64,
    position: i32,
    c: &ValidCategory,
) -> sqlx::Result<()> {
    {
        sqlx::query(
            "insert into contest_category (contest_id, slug, name, position, kinds,
                max_entries_per_member, max_photo_bytes, max_video_bytes, max_video_seconds,
                criteria, weights, vote_policy, max_series_photos)
             values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
        )
        .bind(contest_id)
        .bind(&c.slug)
        .bind(&c.name)
        .bind(position)
        .bind(&c.kinds)
        .bind(c.limits.max_entries_per_member)
        .bind(c.limits.max_photo_bytes)
        .bind(c.limits.max_video_bytes)
        .bind(c.limits.max_video_seconds)
        .bind(&c.criteria)
        .bind(&c.weights)
        .bind(&c.vote_policy)
        .bind(c.limits.max_series_photos)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A stored category.
#[derive(Debug, Clone, sqlx::FromRow, Serialize)]
pub struct Category {
    #[serde(skip)]
    pub category_id: i64,
    pub slug: String,
    pub name: String,
    #[serde(skip)]
    pub position: i32,
    pub kinds: Vec<String>,
    pub max_entries_per_member: Option<i32>,
    pub max_photo_bytes: Option<i64>,
    pub max_video_bytes: Option<i64>,
    pub max_video_seconds: Option<i32>,
    pub max_series_photos: Option<i32>,
}

impl Category {
    pub fn allows(&self, kind: &str) -> bool {
        self.kinds.iter().any(|k| k == kind)
    }

    /// "video, ảnh" for the entry form's radio buttons.
    pub fn has_video(&self) -> bool {
        self.allows("video")
    }

    pub fn has_photo(&self) -> bool {
        self.allows("photo")
    }

    /// Photos one series of the category may hold: its own limit, else the contest's.
    pub fn series_photos(&self, contest_max: i32) -> i32 {
        self.max_series_photos.unwrap_or(contest_max)
    }
}

const COLUMNS: &str = "category_id, slug, name, position, kinds, max_entries_per_member,
    max_photo_bytes, max_video_bytes, max_video_seconds, max_series_photos";

/// The categories of a contest, in their order (none: the contest has no categories).
pub async fn list(db: impl PgExecutor<'_>, contest_id: i64) -> sqlx::Result<Vec<Category>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from contest_category where contest_id = $1 order by position, category_id"
    ))
    .bind(contest_id)
    .fetch_all(db)
    .await
}

/// The category `slug` of contest `contest_id` (another contest's slug finds nothing).
pub async fn by_slug(
    db: impl PgExecutor<'_>,
    contest_id: i64,
    slug: &str,
) -> sqlx::Result<Option<Category>> {
    sqlx::query_as(&format!(
        "select {COLUMNS} from contest_category where contest_id = $1 and slug = $2"
    ))
    .bind(contest_id)
    .bind(slug)
    .fetch_optional(db)
    .await
}

/// What a category holds that the fairness locks look at: its entries (any state but
/// withdrawn), whether any entry (withdrawn too) points at it, and the most one member has.
#[derive(Debug, Clone, Copy, Default)]
struct Held {
    entries: i64,
    any: bool,
    most_by_one: i64,
}

async fn held(conn: &mut PgConnection, category_id: i64) -> sqlx::Result<Held> {
    let (entries, any, most_by_one): (i64, bool, i64) = sqlx::query_as(
        "select count(*) filter (where status <> 'withdrawn'), count(*) > 0,
                coalesce((select max(n) from (select count(*) as n from entry
                    where category_id = $1 and status <> 'withdrawn' group by author_id) x), 0)
         from entry where category_id = $1",
    )
    .bind(category_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(Held {
        entries,
        any,
        most_by_one,
    })
}

/// The contest's own limits, which a category's absent limits fall back to.
#[derive(Debug, Clone, Copy)]
pub struct ContestLimits {
    pub max_photo_bytes: i64,
    pub max_video_bytes: i64,
    pub max_video_seconds: i32,
    pub max_entries_per_member: i32,
    pub max_series_photos: i32,
}

/// The fairness locks of the contest's edit (docs/organizers.md), for one category: once it
/// has entries its kinds stay and its upload limits only grow; its entries per member never
/// go below what one member already has in it.
fn locks(
    old: &Category,
    new: &ValidCategory,
    contest: &ContestLimits,
    held: Held,
    errors: &mut Vec<FieldError>,
) {
    let grew_or_kept =
        |o: Option<i64>, n: Option<i64>, base: i64| n.unwrap_or(base) >= o.unwrap_or(base);
    if held.entries > 0 {
        let mut kinds = old.kinds.clone();
        kinds.sort();
        if kinds != new.kinds {
            errors.push(FieldError::new("categories", R::KindsLocked));
        }
        let tightened = !grew_or_kept(
            old.max_photo_bytes,
            new.limits.max_photo_bytes,
            contest.max_photo_bytes,
        ) || !grew_or_kept(
            old.max_video_bytes,
            new.limits.max_video_bytes,
            contest.max_video_bytes,
        ) || !grew_or_kept(
            old.max_video_seconds.map(i64::from),
            new.limits.max_video_seconds.map(i64::from),
            i64::from(contest.max_video_seconds),
        ) || !grew_or_kept(
            old.max_series_photos.map(i64::from),
            new.limits.max_series_photos.map(i64::from),
            i64::from(contest.max_series_photos),
        );
        if tightened {
            errors.push(FieldError::new("categories", R::LimitTightened));
        }
    }
    let max = new
        .limits
        .max_entries_per_member
        .unwrap_or(contest.max_entries_per_member);
    if i64::from(max) < held.most_by_one {
        errors.push(FieldError::new("categories", R::MaxEntriesBelowExisting));
    }
}

/// A category as one line of the contest's history.
fn summary(
    slug: &str,
    name: &str,
    position: i32,
    kinds: &[String],
    limits: &CategoryLimits,
) -> String {
    let mut s = format!("{slug}: {name} #{} ({})", position + 1, kinds.join(", "));
    for (label, v) in [
        (
            "max_entries_per_member",
            limits.max_entries_per_member.map(i64::from),
        ),
        ("max_photo_bytes", limits.max_photo_bytes),
        ("max_video_bytes", limits.max_video_bytes),
        ("max_video_seconds", limits.max_video_seconds.map(i64::from)),
        ("max_series_photos", limits.max_series_photos.map(i64::from)),
    ] {
        if let Some(v) = v {
            s.push_str(&format!(" {label}={v}"));
        }
    }
    s
}

fn limits_of(c: &Category) -> CategoryLimits {
    CategoryLimits {
        max_photo_bytes: c.max_photo_bytes,
        max_video_bytes: c.max_video_bytes,
        max_video_seconds: c.max_video_seconds,
        max_entries_per_member: c.max_entries_per_member,
        max_series_photos: c.max_series_photos,
    }
}

/// One change of the categories: (old summary, new summary); `None` on a side for an added
/// or deleted category.
pub type CategoryChange = (Option<String>, Option<String>);

/// Makes the contest's categories `specs` (the whole list, in order): new slugs are added,
/// known ones renamed, moved and re-limited under the locks, missing ones deleted (refused
/// while an entry is in one). Refusals come back with nothing written by this function
/// (the caller's transaction is rolled back on them anyway).
pub async fn replace(
    conn: &mut PgConnection,
    contest_id: i64,
    contest_kinds: &[String],
    contest: &ContestLimits,
    specs: &[CategorySpec],
) -> sqlx::Result<Result<Vec<CategoryChange>, Vec<FieldError>>> {
    let mut errors = Vec::new();
    let wanted = validate(specs, contest_kinds, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let existing = list(&mut *conn, contest_id).await?;
    let mut plan: Vec<(Option<&Category>, &ValidCategory)> = Vec::new();
    for w in &wanted {
        let old = existing.iter().find(|c| c.slug == w.slug);
        if let Some(old) = old {
            let held = held(conn, old.category_id).await?;
            locks(old, w, contest, held, &mut errors);
        }
        plan.push((old, w));
    }
    let mut gone = Vec::new();
    for old in &existing {
        if !wanted.iter().any(|w| w.slug == old.slug) {
            if held(conn, old.category_id).await?.any {
                errors.push(FieldError::new("categories", R::CategoryHasEntries));
            }
            gone.push(old);
        }
    }
    if !errors.is_empty() {
        errors.dedup();
        return Ok(Err(errors));
    }
    let mut changes = Vec::new();
    for old in gone {
        sqlx::query("delete from contest_category where category_id = $1")
            .bind(old.category_id)
            .execute(&mut *conn)
            .await?;
        changes.push((
            Some(summary(
                &old.slug,
                &old.name,
                old.position,
                &old.kinds,
                &limits_of(old),
            )),
            None,
        ));
    }
    for (i, (old, w)) in plan.into_iter().enumerate() {
        let position = i32::try_from(i).unwrap_or(i32::MAX);
        let new = summary(&w.slug, &w.name, position, &w.kinds, &w.limits);
        match old {
            Some(old) => {
                let before = summary(
                    &old.slug,
                    &old.name,
                    old.position,
                    &old.kinds,
                    &limits_of(old),
                );
                if before == new {
                    continue;
                }
                sqlx::query(
                    "update contest_category set name = $2, position = $3, kinds = $4,
                        max_entries_per_member = $5, max_photo_bytes = $6, max_video_bytes = $7,
                        max_video_seconds = $8, max_series_photos = $9
                     where category_id = $1",
                )
                .bind(old.category_id)
                .bind(&w.name)
                .bind(position)
                .bind(&w.kinds)
                .bind(w.limits.max_entries_per_member)
                .bind(w.limits.max_photo_bytes)
                .bind(w.limits.max_video_bytes)
                .bind(w.limits.max_video_seconds)
                .bind(w.limits.max_series_photos)
                .execute(&mut *conn)
                .await?;
                changes.push((Some(before), Some(new)));
            }
            None => {
                insert_all_at(conn, contest_id, position, w).await?;
                changes.push((None, Some(new)));
            }
        }
    }
    Ok(Ok(changes))
}

/// The categories' kinds still fit the contest's (after an edit of the contest's kinds).
pub async fn kinds_fit(
    conn: &mut PgConnection,
    contest_id: i64,
    contest_kinds: &[String],
) -> sqlx::Result<bool> {
    let outside: bool = sqlx::query_scalar(
        "select exists (select 1 from contest_category where contest_id = $1 and not kinds <@ $2)",
    )
    .bind(contest_id)
    .bind(contest_kinds)
    .fetch_one(&mut *conn)
    .await?;
    Ok(!outside)
}

#[cfg(test)]
mod tests;
