//! `JudgeOf` (pages) and `ApiJudgeOf` (JSON API): a handler that names one of them runs only
//! for a judge of the contest of the route's `{slug}` (an invitation accepted by the verified
//! account of the invited address, `domain::judging::judges::is_judge`), and receives that
//! person and contest. The refusals are `OrganizerOf`'s: 404 for a contest one does not judge
//! (as for one that does not exist), the sign-in page (pages) or 401 (API) for nobody.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;

use super::route_param;
use crate::domain::contests::{ContestRow, by_slug};
use crate::domain::judging::judges::is_judge;
use crate::page::PageError;

/// A judge's page of the contest `{slug}`.
#[derive(Debug, Clone)]
pub struct JudgeOf {
    pub user: CurrentUser,
    pub contest: ContestRow,
}

impl FromRequestParts<AppState> for JudgeOf {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let user = parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(PageError::SignIn)?;
        let contest = judged(parts, state, &user)
            .await?
            .ok_or(PageError::NotFound)?;
        Ok(Self { user, contest })
    }
}

/// A judge's API call on the contest `{slug}` (session or bearer token).
#[derive(Debug, Clone)]
pub struct ApiJudgeOf {
    pub user: CurrentUser,
    pub contest: ContestRow,
}

impl FromRequestParts<AppState> for ApiJudgeOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let contest = judged(parts, state, &user)
            .await?
            .ok_or_else(|| ApiError::not_found("the contest"))?;
        Ok(Self { user, contest })
    }
}

/// The contest of the route's `{slug}` when `user` judges it.
async fn judged(
    parts: &mut Parts,
    state: &AppState,
    user: &CurrentUser,
) -> sqlx::Result<Option<ContestRow>> {
    let Some(slug) = route_param(parts, state, "slug").await else {
        return Ok(None);
    };
    let Some(contest) = by_slug(&state.db, &slug).await? else {
        return Ok(None);
    };
    let judges = is_judge(&state.db, contest.contest_id, user.app_user_id).await?;
    Ok(judges.then_some(contest))
}
