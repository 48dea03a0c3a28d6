//! The person's own requests from the account page: withdrawing consent (which withdraws
//! their entries, as the page says beforehand).

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;

use crate::access::author::SignedIn;
use crate::access::client::ClientIp;
use crate::domain::privacy::consent;
use crate::page::PageError;

pub async fn withdraw(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ClientIp(ip): ClientIp,
) -> Result<Response, PageError> {
    consent::withdraw_all(&state.db, user.app_user_id, ip).await?;
    Ok(Redirect::to("/account?notice=consent-withdrawn").into_response())
}
