//! `JudgeOf` (pages) and `ApiJudgeOf` (JSON API): a handler that names one of them runs only
//! for a judge of the contest of the route's `{slug}` (an invitation accepted by the verified
//! account of the invited address, `domain::judging::judges::is_judge`), and receives that
//! person and contest. The refusals are `OrganizerOf`'s: 404 for a contest one does not judge
//! (as for one that does not exist), the sign-in page (pages) or 401 (API) for nobody.

use crate::domain::judging::judges::is_judge;

contest_extractors!(
    /// A judge's page of the contest `{slug}`.
    JudgeOf,
    /// A judge's API call on the contest `{slug}` (session or bearer token).
    ApiJudgeOf,
    judges
);

/// Whether `user` judges `contest`.
async fn judges(
    db: &sqlx::PgPool,
    user: &hoithi_core::auth::CurrentUser,
    contest: &crate::domain::contests::ContestRow,
) -> sqlx::Result<bool> {
    is_judge(db, contest.contest_id, user.app_user_id).await
}
