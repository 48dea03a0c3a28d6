//! The organizer's certificates of a contest: all of them as one ZIP (one PDF per person,
//! ASCII file names, written to a temporary file and streamed), and whether everyone who
//! took part gets one (a form on the results page).

use std::io::Write;

use axum::Form;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use hoithi_core::AppState;
use serde::Deserialize;
use zip::write::SimpleFileOptions;

use super::download::pdf_bytes;
use crate::access::OrganizerOf;
use crate::domain::certificates::{self, ascii_slug};
use crate::page::{PageError, no_store};

/// "Tải tất cả giấy chứng nhận (ZIP)".
pub async fn zip(
    State(state): State<AppState>,
    OrganizerOf { contest, .. }: OrganizerOf,
) -> Result<Response, PageError> {
    let all = certificates::issue_all(&state.db, contest.contest_id).await??;
    let file = tempfile::tempfile().map_err(|e| PageError::Internal(e.into()))?;
    let mut zip = zip::ZipWriter::new(file);
    // PDFs compress little: stored, not deflated.
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    let mut names = std::collections::HashSet::new();
    for c in all {
        let mut name = c.file_name();
        if !names.insert(name.clone()) {
            name = format!("{}-{}.pdf", name.trim_end_matches(".pdf"), c.certificate_id);
            names.insert(name.clone());
        }
        let bytes = pdf_bytes(&state, c).await?;
        zip.start_file(name, options)
            .map_err(|e| PageError::Internal(e.into()))?;
        zip.write_all(&bytes)
            .map_err(|e| PageError::Internal(e.into()))?;
    }
    let mut file = zip.finish().map_err(|e| PageError::Internal(e.into()))?;
    std::io::Seek::rewind(&mut file).map_err(|e| PageError::Internal(e.into()))?;
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let slug = ascii_slug(&contest.slug);
    Ok(no_store(
        (
            StatusCode::OK,
            [
                (header::CONTENT_TYPE, "application/zip".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"giay-chung-nhan-{slug}.zip\""),
                ),
            ],
            Body::from_stream(stream),
        )
            .into_response(),
    ))
}

#[derive(Debug, Default, Deserialize)]
pub struct SettingsForm {
    /// `on` when the box is ticked (absent otherwise).
    #[serde(default)]
    participants: String,
    #[serde(default)]
    round: String,
}

/// Turns participant certificates on or off; back to the results page.
pub async fn settings(
    State(state): State<AppState>,
    OrganizerOf { contest, .. }: OrganizerOf,
    Form(form): Form<SettingsForm>,
) -> Result<Response, PageError> {
    let on = form.participants == "on";
    certificates::set_participants(&state.db, contest.contest_id, on).await?;
    let round = form
        .round
        .trim()
        .parse::<i32>()
        .map(|n| format!("round={n}&"))
        .unwrap_or_default();
    let to = format!(
        "/organize/contests/{}/results?{round}saved=certificates",
        contest.slug
    );
    Ok(Redirect::to(&to).into_response())
}
