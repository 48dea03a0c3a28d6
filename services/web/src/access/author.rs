//! Extractors of the entry of the route (`{id}`), deciding once who may act on it:
//! - [`AuthorOf`] / [`ApiAuthorOf`]: its author, and nobody else (edit, withdraw, upload).
//!   Anyone else gets 404, as for an entry that does not exist.
//! - [`ReviewerOf`] / [`ApiReviewerOf`]: an organizer of its contest (the review). An entry the
//!   person cannot see is 404; one they can see (their own) but may not review is 403.
//!
//! Besides them, the signed-in checks of the pages: [`SignedIn`] (sends a visitor to sign in
//! and back), and [`Staff`] / [`ApiStaff`] for the organizer pages that answer **403** to
//! members and judges before `OrganizerOf` decides about the contest: the tests and the
//! navigation treat "organizer pages are not for you" (a role) apart from "this contest is not
//! yours" (404, which hides the contest).

use axum::extract::FromRequestParts;
use axum::http::Method;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::domain::Role;
use uuid::Uuid;

use super::route_param;
use crate::domain::contests::ContestRow;
use crate::domain::entries::{Access, EntryRow, visible_entry};
use crate::page::PageError;

/// The signed-in user of a page; a visitor is sent to sign in and brought back: to the page
/// itself, or for a form posted to an entry (withdraw, review) to the entry's page.
#[derive(Debug, Clone)]
pub struct SignedIn(pub CurrentUser);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = PageDenied;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageDenied> {
        if let Some(user) = parts.extensions.get::<CurrentUser>() {
            return Ok(Self(user.clone()));
        }
        let entry = route_param(parts, state, "id").await;
        let back = match entry {
            Some(id) if parts.method != Method::GET => format!("/entries/{id}"),
            _ => parts.uri.path().to_owned(),
        };
        Err(PageDenied::SignIn { back })
    }
}

/// A page refused before its handler runs: the visitor is sent to sign in (and brought back
/// to `back`), or gets the error page.
#[derive(Debug)]
pub enum PageDenied {
    SignIn { back: String },
    Error(PageError),
}

impl IntoResponse for PageDenied {
    fn into_response(self) -> Response {
        match self {
            Self::SignIn { back } => {
                Redirect::to(&format!("/login?next={}", urlencode(&back))).into_response()
            }
            Self::Error(e) => e.into_response(),
        }
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Someone acting on the entry of the route, with the entry and its contest.
#[derive(Debug, Clone)]
pub struct OnEntry {
    pub user: CurrentUser,
    pub entry: EntryRow,
    pub contest: ContestRow,
}

/// Why someone may not act on the entry of the route.
enum Denied {
    /// Not found, or not theirs to see: 404, so existence does not leak.
    Hidden,
    /// They see the entry but may not do this: 403.
    Refused,
    Failed(sqlx::Error),
}

impl Denied {
    fn page(self) -> PageDenied {
        PageDenied::Error(match self {
            Self::Hidden => PageError::NotFound,
            Self::Refused => PageError::Forbidden,
            Self::Failed(e) => PageError::from(e),
        })
    }

    fn api(self) -> ApiError {
        match self {
            Self::Hidden => ApiError::not_found("the entry"),
            Self::Refused => ApiError::forbidden(
                "only organizers of the contest's unit review entries and their edits",
            ),
            Self::Failed(e) => e.into(),
        }
    }
}

/// Who may act: the author alone; anyone else does not learn the entry exists.
fn author_rule(user: &CurrentUser, e: &EntryRow, _: Access) -> Result<(), Denied> {
    if e.author_id == user.app_user_id {
        Ok(())
    } else {
        Err(Denied::Hidden)
    }
}

/// Who may review: an organizer of the contest; an author who sees their entry is refused.
fn reviewer_rule(_: &CurrentUser, _: &EntryRow, access: Access) -> Result<(), Denied> {
    if access == Access::Organizer {
        Ok(())
    } else {
        Err(Denied::Refused)
    }
}

type Rule = fn(&CurrentUser, &EntryRow, Access) -> Result<(), Denied>;

/// The entry of the route (`{id}`) if `user` may see it and `rule` lets them act on it.
async fn on_entry(
    parts: &mut Parts,
    state: &AppState,
    user: CurrentUser,
    rule: Rule,
) -> Result<OnEntry, Denied> {
    let Some(id) = route_param(parts, state, "id")
        .await
        .and_then(|id| Uuid::parse_str(&id).ok())
    else {
        return Err(Denied::Hidden);
    };
    let found = visible_entry(&state.db, Some(&user), id)
        .await
        .map_err(Denied::Failed)?;
    let (entry, contest, access) = found.ok_or(Denied::Hidden)?;
    rule(&user, &entry, access)?;
    Ok(OnEntry {
        user,
        entry,
        contest,
    })
}

async fn page_on_entry(
    parts: &mut Parts,
    state: &AppState,
    rule: Rule,
) -> Result<OnEntry, PageDenied> {
    let SignedIn(user) = SignedIn::from_request_parts(parts, state).await?;
    on_entry(parts, state, user, rule)
        .await
        .map_err(Denied::page)
}

async fn api_on_entry(
    parts: &mut Parts,
    state: &AppState,
    rule: Rule,
) -> Result<OnEntry, ApiError> {
    let user = CurrentUser::from_request_parts(parts, state).await?;
    on_entry(parts, state, user, rule)
        .await
        .map_err(Denied::api)
}

/// `pub struct $name(pub OnEntry)` as an extractor: the entry of the route under `$rule`,
/// refused the way `$on` refuses (a page or the API).
macro_rules! on_entry_extractor {
    ($(#[$doc:meta])* $name:ident, $rejection:ty, $on:ident, $rule:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub OnEntry);

        impl FromRequestParts<AppState> for $name {
            type Rejection = $rejection;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, $rejection> {
                $on(parts, state, $rule).await.map(Self)
            }
        }
    };
}

on_entry_extractor!(
    /// The author's page of the entry `{id}`.
    AuthorOf, PageDenied, page_on_entry, author_rule
);
on_entry_extractor!(
    /// The author's API call on the entry `{id}` (401 signed out, 404 for anyone else).
    ApiAuthorOf, ApiError, api_on_entry, author_rule
);
on_entry_extractor!(
    /// An organizer's review (page) of the entry `{id}` or of its edit.
    ReviewerOf, PageDenied, page_on_entry, reviewer_rule
);
on_entry_extractor!(
    /// An organizer's review (API) of the entry `{id}` or of its edit.
    ApiReviewerOf, ApiError, api_on_entry, reviewer_rule
);

fn is_staff(user: &CurrentUser) -> bool {
    matches!(user.role, Role::Admin | Role::Organizer)
}

/// An organizer or admin on an organizer page: signed out, sent to sign in; a member or a
/// judge, 403.
#[derive(Debug, Clone)]
pub struct Staff(pub CurrentUser);

impl FromRequestParts<AppState> for Staff {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, PageError> {
        match parts.extensions.get::<CurrentUser>() {
            None => Err(PageError::SignIn),
            Some(u) if is_staff(u) => Ok(Self(u.clone())),
            Some(_) => Err(PageError::Forbidden),
        }
    }
}

/// An organizer or admin calling the organizer API: 401 signed out, 403 for anyone else.
#[derive(Debug, Clone)]
pub struct ApiStaff(pub CurrentUser);

impl FromRequestParts<AppState> for ApiStaff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let user = CurrentUser::from_request_parts(parts, state).await?;
        if is_staff(&user) {
            Ok(Self(user))
        } else {
            Err(ApiError::forbidden(
                "only organizers and admins manage contests",
            ))
        }
    }
}
