//! `Admin`: a page only admins see. Asked through the one access rule (`domain::access`): an
//! admin is who manages what belongs to no unit. Nobody signed in is sent to sign in; anyone
//! else is refused (403: the admin pages are no secret).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use hoithi_core::AppState;
use hoithi_core::auth::CurrentUser;

use crate::domain::access::manages;
use crate::page::PageError;

#[derive(Debug, Clone)]
pub struct Admin(pub CurrentUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, PageError> {
        let Some(user) = parts.extensions.get::<CurrentUser>() else {
            return Err(PageError::SignIn);
        };
        // An admin is who manages what belongs to no unit.
        if manages(&state.db, user, None).await? {
            Ok(Self(user.clone()))
        } else {
            Err(PageError::Forbidden)
        }
    }
}
