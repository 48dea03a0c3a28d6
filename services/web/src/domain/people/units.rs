//! The youth-union unit tree as the rules use it: is one unit within another.

use sqlx::PgExecutor;

/// Whether `unit` is `ancestor` or below it.
pub async fn is_within(db: impl PgExecutor<'_>, unit: i64, ancestor: i64) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from unit u, unit a
          where u.unit_id = $1 and a.unit_id = $2 and (u.path = a.path or u.path like a.path || '/%'))",
    )
    .bind(unit)
    .bind(ancestor)
    .fetch_one(db)
    .await
}

/// SQL condition: `col` (a unit id) is in the subtree of the unit `$n`.
pub fn subtree_sql(col: &str, param: usize) -> String {
    format!(
        "{col} in (select u.unit_id from unit u, unit a where a.unit_id = ${param}
                   and (u.path = a.path or u.path like a.path || '/%'))"
    )
}
