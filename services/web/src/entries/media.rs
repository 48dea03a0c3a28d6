//! Serves an entry's media renditions to whoever may see the entry.

use aws_sdk_s3::operation::get_object::GetObjectOutput;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use uuid::Uuid;

use crate::domain::entries::{media, visible_entry};
use crate::security::MaybeUser;

/// Whether `user` may see an entry that shows a media asset: the one it was uploaded to, or
/// one nominated from it (the judges of a higher round see the same files).
async fn visible_asset(
    state: &AppState,
    user: Option<&CurrentUser>,
    asset: Uuid,
) -> sqlx::Result<bool> {
    for entry in media::entries_of(&state.db, asset).await? {
        if visible_entry(&state.db, user, entry).await?.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// How long a shared cache may keep a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caching {
    /// A rendition of an approved entry under its current versioned URL: the bytes under
    /// that URL never change (a changed rendition gets a new version), so any cache keeps it.
    Immutable,
    /// Anything else (an entry not approved, an old or unversioned URL): checked per request
    /// and kept by nobody.
    Private,
}

impl Caching {
    const fn header(self) -> &'static str {
        match self {
            Self::Immutable => "public, max-age=31536000, immutable",
            Self::Private => "private, no-store",
        }
    }
}

/// Serves a rendition to whoever may see its entry, passing `Range` through so videos seek.
/// A rendition of an approved entry under its current version (`/media/{asset}/v/{version}/…`,
/// the URLs pages write) is public and immutable; everything else keeps the entry's access
/// check and is not stored. (The session layer sets no CSRF cookie on `/media/`.)
pub async fn serve(
    State(state): State<AppState>,
    MaybeUser(user): MaybeUser,
    Path((asset, file)): Path<(Uuid, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if file.contains("..") || file.starts_with('/') || file.len() > 300 {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let (version, name) = media::split_version(&file);
    if name.is_empty() || name.starts_with('/') {
        return Ok(StatusCode::NOT_FOUND.into_response());
    }
    let Some((public, current)) = media::public_version(&state.db, asset).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let caching = if public && version == Some(current.as_str()) {
        Caching::Immutable
    } else if visible_asset(&state, user.as_ref(), asset).await? {
        Caching::Private
    } else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    Ok(rendition(&state, asset, name, &headers, caching).await)
}

/// The rendition `file` of `asset` from the object store, streamed (404 when absent).
async fn rendition(
    state: &AppState,
    asset: Uuid,
    file: &str,
    headers: &HeaderMap,
    caching: Caching,
) -> Response {
    let key = format!("{}{file}", hoithi_core::media::renditions_prefix(asset));
    let mut req = state
        .storage
        .client
        .get_object()
        .bucket(&state.storage.bucket)
        .key(&key);
    if let Some(range) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        req = req.range(range);
    }
    match req.send().await {
        Ok(obj) => stream(obj, file, caching),
        Err(e) => {
            if !e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                tracing::warn!(error = %e, key, "rendition read failed");
            }
            StatusCode::NOT_FOUND.into_response()
        }
    }
}

/// The object as a response: its type from the file name, its length and range.
fn stream(obj: GetObjectOutput, file: &str, caching: Caching) -> Response {
    let status = if obj.content_range().is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mime = if file.ends_with(".m3u8") {
        "application/vnd.apple.mpegurl".to_owned()
    } else {
        mime_guess::from_path(file)
            .first_or_octet_stream()
            .essence_str()
            .to_owned()
    };
    let mut res = Response::builder().status(status);
    if let Some(h) = res.headers_mut() {
        if let Ok(v) = HeaderValue::from_str(&mime) {
            h.insert(header::CONTENT_TYPE, v);
        }
        h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(caching.header()),
        );
        if let Some(v) = obj
            .content_length()
            .and_then(|n| HeaderValue::try_from(n.to_string()).ok())
        {
            h.insert(header::CONTENT_LENGTH, v);
        }
        if let Some(v) = obj
            .content_range()
            .and_then(|r| HeaderValue::from_str(r).ok())
        {
            h.insert(header::CONTENT_RANGE, v);
        }
    }
    let stream = tokio_util::io::ReaderStream::new(obj.body.into_async_read());
    res.body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
