//! The access rule of `domain::access` as extractors: a handler that names `OrganizerOf` (page)
//! or `ApiOrganizerOf` (JSON API) in its arguments runs only for someone who organizes the
//! contest of the route's `{slug}`, and receives that person and contest. The refusals are the
//! ones `domain::access` writes down: 404 for a contest one does not organize (as for one that
//! does not exist), the sign-in page (pages) or 401 (API) for nobody signed in.
//!
//! Judges and authors have their own extractors beside this one (`judge`, `author`).

pub mod admin;
pub mod author;
pub mod client;
pub mod judge;
pub mod public;

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;

use crate::domain::access::organizes;
use crate::domain::contests::{ContestRow, by_slug};
use crate::page::PageError;

/// An organizer's page of the contest `{slug}`.
#[derive(Debug, Clone)]
pub struct OrganizerOf {
    pub user: CurrentUser,
    pub contest: ContestRow,
}

impl FromRequestParts<AppState> for OrganizerOf {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let user = parts
            .extensions
            .get::<CurrentUser>()
            .cloned()
            .ok_or(PageError::SignIn)?;
        let slug = route_param(parts, state, "slug")
            .await
            .ok_or(PageError::NotFound)?;
        let contest = by_slug(&state.db, &slug)
            .await?
            .ok_or(PageError::NotFound)?;
        if !organizes(&state.db, &user, &contest).await? {
            return Err(PageError::NotFound);
        }
        Ok(Self { user, contest })
    }
}

/// An organizer's API call on the contest `{slug}` (session or bearer token).
#[derive(Debug, Clone)]
pub struct ApiOrganizerOf {
    pub user: CurrentUser,
    pub contest: ContestRow,
}

impl FromRequestParts<AppState> for ApiOrganizerOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        let slug = route_param(parts, state, "slug")
            .await
            .ok_or_else(|| ApiError::not_found("the contest"))?;
        let contest = by_slug(&state.db, &slug)
            .await?
            .ok_or_else(|| ApiError::not_found("the contest"))?;
        if !organizes(&state.db, &user, &contest).await? {
            return Err(ApiError::not_found("the contest"));
        }
        Ok(Self { user, contest })
    }
}

/// One named parameter of the matched route (`{slug}`, `{entry_id}`), percent-decoded.
pub async fn route_param(parts: &mut Parts, state: &AppState, name: &str) -> Option<String> {
    let params = RawPathParams::from_request_parts(parts, state).await.ok()?;
    params
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}
