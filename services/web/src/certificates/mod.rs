//! Certificates over HTTP (issue 20): the holder downloads their PDF
//! (`/contests/{slug}/certificate`), a holder or an organizer downloads one by its code
//! (`/certificates/{code}`), organizers download them all as one ZIP and turn participant
//! certificates on or off, and anyone checks a code (`/verify`, `/verify/{code}`). The rules
//! and the PDF are `crate::domain::certificates`.

mod download;
mod organize;
mod verify;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use hoithi_core::AppState;

use crate::access::author::SignedIn;
use crate::domain::certificates::{self, CertificateRefusal, code};
use crate::domain::contests;
use crate::page::PageError;
use download::{pdf_bytes, pdf_response};

crate::page_refusals!(CertificateRefusal);

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/contests/{slug}/certificate", get(mine))
        .route("/certificates/{code}", get(by_code))
        .route("/verify", get(verify::form))
        .route("/verify/{code}", get(verify::page))
        .route(
            "/organize/contests/{slug}/certificates.zip",
            get(organize::zip),
        )
        .route(
            "/organize/contests/{slug}/certificates/settings",
            post(organize::settings),
        )
}

/// "Tải giấy chứng nhận": the signed-in person's certificate of a contest, issued at the
/// first download. To an entrant without one (before results, or no award) a sentence; to
/// anyone else the contest's certificates are not found.
async fn mine(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let c = contests::by_slug(&state.db, &slug)
        .await?
        .ok_or(PageError::NotFound)?;
    // Someone who did not enter learns nothing about the contest, not even its phase.
    if !certificates::is_entrant(&state.db, c.contest_id, user.app_user_id).await? {
        return Err(PageError::NotFound);
    }
    let cert = certificates::issue_for(&state.db, c.contest_id, user.app_user_id).await??;
    let bytes = pdf_bytes(&state, cert.clone()).await?;
    Ok(pdf_response(&cert, bytes))
}

/// A certificate by its code, for its holder and the contest's organizers; anyone else is
/// told it does not exist.
async fn by_code(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    Path(raw): Path<String>,
) -> Result<Response, PageError> {
    let code = code::normalize(&raw).ok_or(PageError::NotFound)?;
    let cert = certificates::by_code(&state.db, &code)
        .await?
        .ok_or(PageError::NotFound)?;
    if cert.app_user_id != user.app_user_id {
        let c = contests::by_id(&state.db, cert.contest_id)
            .await?
            .ok_or(PageError::NotFound)?;
        if !crate::domain::access::organizes(&state.db, &user, &c).await? {
            return Err(PageError::NotFound);
        }
    }
    let bytes = pdf_bytes(&state, cert.clone()).await?;
    Ok(pdf_response(&cert, bytes))
}
