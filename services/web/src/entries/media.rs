//! Serves an entry's media renditions to whoever may see the entry.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hoithi_core::AppState;
use uuid::Uuid;

/// Serves a rendition to whoever may see its entry, passing `Range` through so videos seek.
pub async fn serve(
    State(state): State<AppState>,
    crate::security::MaybeUser(user): crate::security::MaybeUser,
    Path((asset, file)): Path<(Uuid, String)>,
    headers: HeaderMap,
) -> Response {
    if file.contains("..") || file.starts_with('/') || file.len() > 300 {
        return StatusCode::NOT_FOUND.into_response();
    }
    let entry: Option<Uuid> =
        match sqlx::query_scalar("select entry_id from media_asset where media_asset_id = $1")
            .bind(asset)
            .fetch_optional(&state.db)
            .await
        {
            Ok(e) => e,
            Err(e) => return hoithi_core::api_error::ApiError::from(e).into_response(),
        };
    let Some(entry) = entry else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match super::visible_entry(&state.db, user.as_ref(), entry).await {
        Ok(Some(_)) => {}
        Ok(None) => return StatusCode::NOT_FOUND.into_response(),
        Err(e) => return hoithi_core::api_error::ApiError::from(e).into_response(),
    }
    let key = format!("{}{file}", hoithi_core::media::renditions_prefix(asset));
    let mut req = state
        .storage
        .client
        .get_object()
        .bucket(&state.storage.bucket)
        .key(&key);
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    if let Some(r) = &range {
        req = req.range(r);
    }
    let obj = match req.send().await {
        Ok(o) => o,
        Err(e) => {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                return StatusCode::NOT_FOUND.into_response();
            }
            tracing::warn!(error = %e, key, "rendition read failed");
            return StatusCode::NOT_FOUND.into_response();
        }
    };
    let status = if obj.content_range().is_some() {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let mime = mime_guess::from_path(&file).first_or_octet_stream();
    let mime = if file.ends_with(".m3u8") {
        "application/vnd.apple.mpegurl".to_owned()
    } else {
        mime.essence_str().to_owned()
    };
    let mut res = Response::builder().status(status);
    let h = res.headers_mut().expect("builder has headers");
    if let Ok(v) = HeaderValue::from_str(&mime) {
        h.insert(header::CONTENT_TYPE, v);
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=300"),
    );
    if let Some(len) = obj.content_length()
        && let Ok(v) = HeaderValue::from_str(&len.to_string())
    {
        h.insert(header::CONTENT_LENGTH, v);
    }
    if let Some(cr) = obj.content_range()
        && let Ok(v) = HeaderValue::from_str(cr)
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    let stream = tokio_util::io::ReaderStream::new(obj.body.into_async_read());
    res.body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
