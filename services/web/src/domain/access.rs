//! The one access rule of the platform: who manages a contest (or anything else that belongs
//! to a unit). Every page and API route asks here, through the extractors of `crate::access`
//! or, where a route loads the contest itself, through [`organizes`].
//!
//! The rule: an admin manages everything; an organizer manages what belongs to their own unit
//! or to a unit below it; a thing with no unit belongs to admins only; judges and members
//! manage nothing. Having created a contest gives no right of its own: a contest belongs to
//! its unit, so an organizer moved to another unit leaves its contests behind.
//!
//! What a refusal answers (written down in `docs/architecture.md`): a contest's organizer pages
//! and organizer API answer **404** to everyone who does not manage it, the same answer as for
//! a contest that does not exist, so nobody learns which drafts and unit contests exist. A
//! signed-out visitor of a page is sent to sign in; of the API, 401. **403** is kept for an
//! action on something the person may see but not change (a judge's closed sheet, a vote
//! outside the voting window, an unverified account).

use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Role;
use sqlx::PgExecutor;

use super::contests::ContestRow;
use super::people::units::is_within;

/// Whether `user` manages things of `unit_id` (the rule above).
pub async fn manages(
    db: impl PgExecutor<'_>,
    user: &CurrentUser,
    unit_id: Option<i64>,
) -> sqlx::Result<bool> {
    match user.role {
        Role::Admin => Ok(true),
        Role::Organizer => match (user.unit_id, unit_id) {
            (Some(scope), Some(unit)) => is_within(db, unit, scope).await,
            _ => Ok(false),
        },
        Role::Judge | Role::Member => Ok(false),
    }
}

/// Whether `user` organizes contest `c`.
pub async fn organizes(
    db: impl PgExecutor<'_>,
    user: &CurrentUser,
    c: &ContestRow,
) -> sqlx::Result<bool> {
    manages(db, user, c.unit_id).await
}
