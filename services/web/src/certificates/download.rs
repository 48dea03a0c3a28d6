//! A certificate as a download: its PDF (made off the async threads) with an ASCII file
//! name, and the address of its check page that the PDF prints.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;

use crate::domain::certificates::{CertificateRow, pdf};
use crate::page::{PageError, no_store};

/// The check page's address of a certificate.
pub fn verify_url(state: &AppState, c: &CertificateRow) -> String {
    format!(
        "{}/verify/{}",
        crate::mail::origin(&state.config),
        c.display_code()
    )
}

/// The PDF of `c`, made off the async threads.
pub async fn pdf_bytes(state: &AppState, c: CertificateRow) -> Result<Vec<u8>, PageError> {
    let url = verify_url(state, &c);
    tokio::task::spawn_blocking(move || pdf::render(&c, &url))
        .await
        .map_err(|e| PageError::Internal(e.into()))?
        .map_err(PageError::Internal)
}

pub fn pdf_response(c: &CertificateRow, bytes: Vec<u8>) -> Response {
    no_store(
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{}\"", c.file_name()),
                ),
            ],
            Body::from(bytes),
        )
            .into_response(),
    )
}
