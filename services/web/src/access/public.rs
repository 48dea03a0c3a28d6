//! Organizer routes of a PUBLIC contest: its voting review and policy, its roster and
//! member-number claims, its streams and its live control. The contest itself is no secret
//! there (its vote page, streams and tally are public), so hiding it behind a 404 would hide
//! nothing: someone signed in who does not organize it is told **403** ("not yours"), as
//! `domain::access` writes down for "may see but not change". A contest that does not exist
//! is 404, nobody signed in is sent to sign in (pages) or 401 (API) — as `OrganizerOf`.
//! The rule is the one of `domain::access::organizes`.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;

use super::{ApiOrganizerOf, OrganizerOf, route_param};
use crate::domain::access::organizes;
use crate::domain::contests::{ContestRow, by_slug};
use crate::page::PageError;

/// An organizer's page of the public contest `{slug}`: 403 for someone else.
#[derive(Debug, Clone)]
pub struct PublicOrganizerOf {
    pub user: CurrentUser,
    pub contest: ContestRow,
}

impl FromRequestParts<AppState> for PublicOrganizerOf {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        match OrganizerOf::from_request_parts(parts, state).await {
            Ok(OrganizerOf { user, contest }) => Ok(Self { user, contest }),
            Err(PageError::NotFound) if exists(parts, state).await? => Err(PageError::Forbidden),
            Err(e) => Err(e),
        }
    }
}

/// An organizer's API call on the public contest `{slug}`: 403 `forbidden` for someone else.
#[derive(Debug, Clone)]
pub struct ApiPublicOrganizerOf {
    pub user: CurrentUser,
    pub contest: ContestRow,
}

impl FromRequestParts<AppState> for ApiPublicOrganizerOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match ApiOrganizerOf::from_request_parts(parts, state).await {
            Ok(ApiOrganizerOf { user, contest }) => Ok(Self { user, contest }),
            Err(e) if e.status == StatusCode::NOT_FOUND && exists(parts, state).await? => {
                Err(not_yours())
            }
            Err(e) => Err(e),
        }
    }
}

/// Whether the contest of the route exists (after the rule said "not yours or not there").
async fn exists(parts: &mut Parts, state: &AppState) -> sqlx::Result<bool> {
    let Some(slug) = route_param(parts, state, "slug").await else {
        return Ok(false);
    };
    Ok(slug.len() <= 63 && by_slug(&state.db, &slug).await?.is_some())
}

fn not_yours() -> ApiError {
    ApiError::forbidden("only the contest's organizers may do this")
}

/// The public contest `slug` if `user` organizes it; `None` if there is no such contest, the
/// API's 403 if it is not theirs (for routes that find the contest by something else).
pub async fn organizer_of_public(
    state: &AppState,
    user: &CurrentUser,
    slug: &str,
) -> Result<Option<ContestRow>, ApiError> {
    let Some(contest) = by_slug(&state.db, slug).await? else {
        return Ok(None);
    };
    if !organizes(&state.db, user, &contest).await? {
        return Err(not_yours());
    }
    Ok(Some(contest))
}
