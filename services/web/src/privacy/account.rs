//! The person's own requests from the account page: withdrawing consent (which withdraws
//! their entries, as the page says beforehand), downloading their data, and deleting the
//! account (asked with the password, carried out after the grace period, cancellable until
//! then).

use axum::Form;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use serde::Deserialize;

use crate::access::author::SignedIn;
use crate::access::client::ClientIp;
use crate::domain::people::accounts::{self, SignIn, authenticate};
use crate::domain::privacy::{consent, erase, export};
use crate::page::{Ctx, PageError, message, no_store};

pub async fn withdraw(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> Result<Response, PageError> {
    consent::withdraw_all(&state.db, user.app_user_id).await?;
    Ok(Redirect::to("/account?notice=consent-withdrawn").into_response())
}

/// The ZIP of `subject`'s data as a download, audited with who asked (`actor`).
pub async fn zip_response(
    state: &AppState,
    subject: i64,
    actor: i64,
) -> Result<Response, PageError> {
    // Audited first, so the export lists itself too.
    sqlx::query(
        "insert into privacy_audit (subject_id, actor_id, action) values ($1, $2, 'export')",
    )
    .bind(subject)
    .bind(actor)
    .execute(&state.db)
    .await?;
    let origin = crate::mail::origin(&state.config);
    let file = tempfile::tempfile().map_err(|e| PageError::Internal(e.into()))?;
    let mut file = export::write_zip(&state.db, subject, &origin, file)
        .await
        .map_err(PageError::Internal)?;
    std::io::Seek::rewind(&mut file).map_err(|e| PageError::Internal(e.into()))?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    Ok(no_store(
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/zip".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"du-lieu-hoithi-{subject}.zip\""),
                ),
            ],
            Body::from_stream(stream),
        )
            .into_response(),
    ))
}

/// "Tải dữ liệu của tôi".
pub async fn download(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
) -> Result<Response, PageError> {
    zip_response(&state, user.app_user_id, user.app_user_id).await
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    #[serde(default)]
    password: String,
}

/// "Xóa tài khoản": asked with the password (when the account has one, so a borrowed
/// session cannot delete it), carried out after the grace period.
pub async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
    ClientIp(ip): ClientIp,
    Form(form): Form<DeleteForm>,
) -> Result<Response, PageError> {
    if accounts::has_password(&state.db, user.app_user_id).await? {
        let checked = authenticate(
            &state.db,
            &state.config.limits,
            &user.email,
            &form.password,
            ip,
            Some(user.app_user_id),
        )
        .await?;
        match checked {
            SignIn::Ok(id) if id == user.app_user_id => {}
            SignIn::Ok(_) => return Err(PageError::Forbidden),
            SignIn::Wrong | SignIn::Wait(_) => {
                return Ok(
                    Redirect::to("/account?notice=delete-wrong-password#privacy").into_response(),
                );
            }
        }
    }
    let _ = ctx;
    erase::request(&state.db, user.app_user_id, user.app_user_id, "").await?;
    Ok(Redirect::to("/account?notice=delete-asked#privacy").into_response())
}

pub async fn cancel(
    State(state): State<AppState>,
    ctx: Ctx,
    SignedIn(user): SignedIn,
) -> Result<Response, PageError> {
    if !erase::cancel(&state.db, user.app_user_id, user.app_user_id).await? {
        return Ok(message(
            &ctx,
            StatusCode::CONFLICT,
            "privacy.account.nothing-to-cancel",
        ));
    }
    Ok(Redirect::to("/account?notice=delete-cancelled#privacy").into_response())
}
