//! The access rule of `domain::access` as extractors: a handler that names `OrganizerOf` (page)
//! or `ApiOrganizerOf` (JSON API) in its arguments runs only for someone who organizes the
//! contest of the route's `{slug}`, and receives that person and contest. The refusals are the
//! ones `domain::access` writes down: 404 for a contest one does not organize (as for one that
//! does not exist), the sign-in page (pages) or 401 (API) for nobody signed in.
//!
//! Judges and authors have their own extractors beside this one (`judge`, `author`).

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use hoithi_core::AppState;

use crate::domain::access::organizes;
use crate::domain::contests::{ContestRow, by_slug};

/// A page extractor `$page` and an API extractor `$api` of the route's contest `{slug}`,
/// letting through whom `$rule(db, user, contest)` allows: each receives that person and the
/// contest. Nobody signed in: the sign-in page (pages) or 401 (API); anyone the rule refuses:
/// 404, as for a contest that does not exist.
macro_rules! contest_extractors {
    ($(#[$page_doc:meta])* $page:ident, $(#[$api_doc:meta])* $api:ident, $rule:path) => {
        $(#[$page_doc])*
        #[derive(Debug, Clone)]
        pub struct $page {
            pub user: hoithi_core::auth::CurrentUser,
            pub contest: $crate::domain::contests::ContestRow,
        }

        impl axum::extract::FromRequestParts<hoithi_core::AppState> for $page {
            type Rejection = $crate::page::PageError;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &hoithi_core::AppState,
            ) -> Result<Self, Self::Rejection> {
                use $crate::page::PageError;
                let user = parts
                    .extensions
                    .get::<hoithi_core::auth::CurrentUser>()
                    .cloned()
                    .ok_or(PageError::SignIn)?;
                let contest = $crate::access::route_contest(parts, state)
                    .await?
                    .ok_or(PageError::NotFound)?;
                if !$rule(&state.db, &user, &contest).await? {
                    return Err(PageError::NotFound);
                }
                Ok(Self { user, contest })
            }
        }

        $(#[$api_doc])*
        #[derive(Debug, Clone)]
        pub struct $api {
            pub user: hoithi_core::auth::CurrentUser,
            pub contest: $crate::domain::contests::ContestRow,
        }

        impl axum::extract::FromRequestParts<hoithi_core::AppState> for $api {
            type Rejection = hoithi_core::api_error::ApiError;

            async fn from_request_parts(
                parts: &mut axum::http::request::Parts,
                state: &hoithi_core::AppState,
            ) -> Result<Self, Self::Rejection> {
                use hoithi_core::api_error::ApiError;
                let user =
                    hoithi_core::auth::CurrentUser::from_request_parts(parts, state).await?;
                let not_found = || ApiError::not_found("the contest");
                let contest = $crate::access::route_contest(parts, state)
                    .await?
                    .ok_or_else(not_found)?;
                if !$rule(&state.db, &user, &contest).await? {
                    return Err(not_found());
                }
                Ok(Self { user, contest })
            }
        }
    };
}

pub mod admin;
pub mod author;
pub mod client;
pub mod judge;
pub mod public;

contest_extractors!(
    /// An organizer's page of the contest `{slug}`.
    OrganizerOf,
    /// An organizer's API call on the contest `{slug}` (session or bearer token).
    ApiOrganizerOf,
    organizes
);

/// The contest of the route's `{slug}`, if there is one.
pub async fn route_contest(
    parts: &mut Parts,
    state: &AppState,
) -> sqlx::Result<Option<ContestRow>> {
    match route_param(parts, state, "slug").await {
        Some(slug) => by_slug(&state.db, &slug).await,
        None => Ok(None),
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
