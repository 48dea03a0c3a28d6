//! Categories (hạng mục / bảng) inside one contest: each has its own kinds and may override
//! the contest's limits, rubric and vote policy. A contest without categories works as
//! before; with them, every new entry names one (`domain::entries::submit`).

use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgExecutor};

use super::refusal::{ContestRefusal as R, FieldError};

/// A category as `POST /api/v1/contests` and `create-contest` describe it.
#[derive(Debug, Clone, Default, Deserialize)]
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
    #[serde(default)]
    pub criteria: Option<Vec<serde_json::Value>>,
    #[serde(default)]
    pub weights: Option<serde_json::Value>,
    #[serde(default)]
    pub vote_policy: Option<serde_json::Value>,
}

/// Limits of a category; each absent one is the contest's.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CategoryLimits {
    pub max_photo_bytes: Option<i64>,
    pub max_video_bytes: Option<i64>,
    pub max_video_seconds: Option<i32>,
    pub max_entries_per_member: Option<i32>,
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
                .is_none_or(|n| (1..=100).contains(&n));
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

/// Stores the categories of a new contest, in the order given.
pub async fn insert_all(
    conn: &mut PgConnection,
    contest_id: i64,
    categories: &[ValidCategory],
) -> sqlx::Result<()> {
    for (i, c) in categories.iter().enumerate() {
        sqlx::query(
            "insert into contest_category (contest_id, slug, name, position, kinds,
                max_entries_per_member, max_photo_bytes, max_video_bytes, max_video_seconds,
                criteria, weights, vote_policy)
             values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)",
        )
        .bind(contest_id)
        .bind(&c.slug)
        .bind(&c.name)
        .bind(i32::try_from(i).unwrap_or(i32::MAX))
        .bind(&c.kinds)
        .bind(c.limits.max_entries_per_member)
        .bind(c.limits.max_photo_bytes)
        .bind(c.limits.max_video_bytes)
        .bind(c.limits.max_video_seconds)
        .bind(&c.criteria)
        .bind(&c.weights)
        .bind(&c.vote_policy)
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
}

const COLUMNS: &str = "category_id, slug, name, position, kinds, max_entries_per_member,
    max_photo_bytes, max_video_bytes, max_video_seconds";

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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(slug: &str, kinds: &[&str]) -> CategorySpec {
        CategorySpec {
            slug: slug.into(),
            name: "Ảnh đẹp".into(),
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            ..CategorySpec::default()
        }
    }

    #[test]
    fn categories_are_checked_against_the_contest() {
        let kinds = vec!["photo".to_owned(), "video".to_owned()];
        let mut e = Vec::new();
        let ok = validate(
            &[spec("anh", &["photo"]), spec("video", &["video"])],
            &kinds,
            &mut e,
        );
        assert!(e.is_empty());
        assert_eq!(ok.len(), 2);
        let mut e = Vec::new();
        validate(
            &[spec("anh", &["photo"]), spec("anh", &["video"])],
            &kinds,
            &mut e,
        );
        assert_eq!(e[0].code(), "invalid-category");
        let mut e = Vec::new();
        validate(&[spec("anh", &["photo"])], &["video".to_owned()], &mut e);
        assert_eq!(e[0].code(), "category-kinds-outside");
    }
}
