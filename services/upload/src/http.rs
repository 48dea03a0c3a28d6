//! The tus handlers: OPTIONS, POST (creation, creation-with-upload), HEAD, PATCH, DELETE
//! (termination), with the tus and CORS headers every answer carries.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hoithi_core::AppState;
use hoithi_core::api_error::ApiError;
use hoithi_core::auth::CurrentUser;
use hoithi_core::contest::EntryStatus;
use hoithi_core::entry_lifecycle::{self, Actor};
use uuid::Uuid;

use crate::protocol::{self, err, upload_not_found};
use crate::repo::{self, UploadRow, UploadStatus};
use crate::{ending, finish, flow, rules};

/// Refused before a contest is even looked at; each contest sets its own, lower, limits.
pub const MAX_SIZE: i64 = 8 * 1024 * 1024 * 1024;
pub const BASE_PATH: &str = "/api/v1/uploads";

pub(crate) fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub(crate) fn set(resp: &mut Response, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        resp.headers_mut().insert(name, v);
    }
}

/// Adds `Tus-Resumable` and, for the configured site origin only, the CORS headers.
fn decorate(st: &AppState, req: &HeaderMap, mut resp: Response) -> Response {
    set(&mut resp, "tus-resumable", protocol::TUS_VERSION);
    if let Some(origin) = allowed_origin(st, req) {
        set(&mut resp, "access-control-allow-origin", &origin);
        set(&mut resp, "access-control-allow-credentials", "true");
        set(
            &mut resp,
            "access-control-expose-headers",
            protocol::EXPOSE_HEADERS,
        );
    }
    resp.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    resp
}

fn allowed_origin(st: &AppState, req: &HeaderMap) -> Option<String> {
    let origin = req.get(header::ORIGIN)?.to_str().ok()?;
    let public = st.config.public_url.as_deref()?;
    (origin.trim_end_matches('/').eq_ignore_ascii_case(public)).then(|| origin.to_owned())
}

fn tus_discovery(resp: &mut Response) {
    set(resp, "tus-version", protocol::TUS_VERSION);
    set(resp, "tus-extension", protocol::TUS_EXTENSIONS);
    set(resp, "tus-max-size", &MAX_SIZE.to_string());
    set(
        resp,
        "tus-checksum-algorithm",
        protocol::TUS_CHECKSUM_ALGORITHMS,
    );
}

/// tus discovery, and the CORS preflight of a browser on the site's origin.
#[utoipa::path(
    options,
    path = "/api/v1/uploads",
    operation_id = "upload_capabilities",
    summary = "tus discovery: Tus-Version, Tus-Extension, Tus-Max-Size",
    responses(
        (status = 204, description = "tus capabilities"),
    ),
)]
pub async fn options(State(st): State<AppState>, headers: HeaderMap) -> Response {
    let mut resp = StatusCode::NO_CONTENT.into_response();
    tus_discovery(&mut resp);
    if headers.contains_key(header::ACCESS_CONTROL_REQUEST_METHOD)
        && allowed_origin(&st, &headers).is_some()
    {
        set(
            &mut resp,
            "access-control-allow-methods",
            protocol::ALLOW_METHODS,
        );
        set(
            &mut resp,
            "access-control-allow-headers",
            protocol::ALLOW_HEADERS,
        );
        set(&mut resp, "access-control-max-age", "86400");
    }
    decorate(&st, &headers, resp)
}

pub(crate) fn finish_response(
    st: &AppState,
    headers: &HeaderMap,
    result: Result<Response, ApiError>,
) -> Response {
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            let status = e.status;
            let mut r = e.into_response();
            if status == StatusCode::PRECONDITION_FAILED {
                set(&mut r, "tus-version", protocol::TUS_VERSION);
            }
            r
        }
    };
    decorate(st, headers, resp)
}

/// The caller's upload, or the tus answer for a missing, foreign, expired or ended one.
async fn load(st: &AppState, id: &str, user: &CurrentUser) -> Result<UploadRow, ApiError> {
    let id = Uuid::parse_str(id).map_err(|_| upload_not_found())?;
    let row = repo::by_id(&st.db, id)
        .await?
        .filter(|r| r.owner_id == user.app_user_id)
        .ok_or_else(upload_not_found)?;
    if row.is_expired(Utc::now()) {
        return Err(rules::upload_expired());
    }
    match row.status {
        UploadStatus::Terminated => Err(err(
            410,
            "upload-terminated",
            "this upload was cancelled or replaced by a newer one",
        )),
        UploadStatus::Refused => Err(err(
            410,
            "upload-refused",
            "this upload was refused; start a new one with an allowed file",
        )),
        _ => Ok(row),
    }
}

#[utoipa::path(
    head,
    path = "/api/v1/uploads/{id}",
    operation_id = "upload_offset",
    summary = "tus: the stored offset, and Upload-Expires (never later than the contest's submission close plus its grace)",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
        ("Tus-Resumable" = crate::TusVersion, Header, description = "the tus protocol version; 412 when missing or another"),
    ),
    responses(
        (status = 200, description = "Upload-Offset, Upload-Length, Upload-Expires"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "unknown or another user's"),
        (status = 410, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 412, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn head(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let result = async {
        let user = user?;
        protocol::check_resumable(&headers)?;
        let mut row = load(&st, &id, &user).await?;
        if row.status == UploadStatus::Completing {
            finish::finish(&st, row.upload_id).await?;
            row = load(&st, &id, &user).await?;
        }
        let expires = open_until(&st, &row).await?;
        let mut resp = StatusCode::OK.into_response();
        set(&mut resp, "upload-offset", &row.upload_offset.to_string());
        set(&mut resp, "upload-length", &row.upload_length.to_string());
        set(&mut resp, "cache-control", "no-store");
        if !row.metadata.is_empty() {
            set(&mut resp, "upload-metadata", &row.metadata);
        }
        if let Some(t) = expires {
            set(&mut resp, "upload-expires", &http_date(t));
        }
        Ok(resp)
    }
    .await;
    finish_response(&st, &headers, result)
}

#[utoipa::path(
    patch,
    path = "/api/v1/uploads/{id}",
    operation_id = "append_upload",
    summary = "tus: append bytes at Upload-Offset. Bytes are taken only until Upload-Expires (fixed at creation, never moved by a PATCH) and the contest's submission close plus its upload_grace_minutes, and only while the entry waits for this upload; a PATCH is refused with 410 submission-closed, upload-expired or entry-not-uploading otherwise (a PATCH running past that point records nothing more)",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
        ("Tus-Resumable" = crate::TusVersion, Header, description = "the tus protocol version; 412 when missing or another"),
        ("Upload-Offset" = i64, Header, minimum = 0, maximum = 999_999_999_999_999_999_i64, description = "the offset the bytes start at; 409 offset-mismatch unless it is the upload's offset"),
    ),
    request_body(content = crate::TusChunk, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "the new Upload-Offset"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 409, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 410, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 412, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 415, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 423, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 460, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn patch(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    user: Result<CurrentUser, ApiError>,
    body: Body,
) -> Response {
    let mut body = Some(body);
    let result = async {
        let user = user?;
        protocol::check_resumable(&headers)?;
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !content_type
            .trim()
            .eq_ignore_ascii_case(protocol::OFFSET_CONTENT_TYPE)
        {
            return Err(err(
                415,
                "content-type-invalid",
                format!(
                    "a PATCH must have Content-Type: {}",
                    protocol::OFFSET_CONTENT_TYPE
                ),
            ));
        }
        let offset = protocol::number(&headers, "upload-offset")
            .map_err(|m| err(400, "upload-offset-invalid", m))?
            .ok_or_else(|| err(400, "upload-offset-missing", "send Upload-Offset"))?;
        let checksum = protocol::parse_checksum(&headers)?;
        let declared = protocol::number(&headers, "content-length")
            .map_err(|m| err(400, "content-length-invalid", m))?;
        let row = load(&st, &id, &user).await?;
        if row.status != UploadStatus::Active {
            if offset == row.upload_length {
                if row.status == UploadStatus::Completing {
                    finish::finish(&st, row.upload_id).await?;
                }
                let mut resp = StatusCode::NO_CONTENT.into_response();
                set(&mut resp, "upload-offset", &row.upload_length.to_string());
                return Ok(resp);
            }
            return Err(offset_mismatch(row.upload_length));
        }
        // Checked before the body is read; the statements that record bytes check it again.
        let expires = open_until(&st, &row).await?;
        if offset != row.upload_offset {
            return Err(offset_mismatch(row.upload_offset));
        }
        check_fits(&row, declared)?;
        let row = run_append(
            &st,
            row.upload_id,
            offset,
            body.take().unwrap_or_default(),
            checksum,
        )
        .await?;
        let mut resp = StatusCode::NO_CONTENT.into_response();
        set(&mut resp, "upload-offset", &row.upload_offset.to_string());
        if row.status == UploadStatus::Active
            && let Some(t) = expires
        {
            set(&mut resp, "upload-expires", &http_date(t));
        }
        Ok(resp)
    }
    .await;
    drain_unread(result.is_err(), body).await;
    finish_response(&st, &headers, result)
}

/// For an active upload: when it stops taking bytes (the `Upload-Expires` to report, fixed at
/// creation and never later than the contest's cutoff), or the 410 when that has passed or
/// its entry no longer waits for it. `None` for an upload no longer taking bytes anyway.
async fn open_until(st: &AppState, row: &UploadRow) -> Result<Option<DateTime<Utc>>, ApiError> {
    if row.status != UploadStatus::Active {
        return Ok(None);
    }
    let gate = repo::gate(&st.db, row.upload_id)
        .await?
        .ok_or_else(upload_not_found)?;
    match rules::closed(&gate) {
        Some(e) => Err(e),
        None => Ok(Some(gate.expires())),
    }
}

/// An error answered before the body was read: read (and drop) a bounded amount of it, so the
/// client gets the answer rather than a reset connection.
pub(crate) async fn drain_unread(failed: bool, body: Option<Body>) {
    if let (true, Some(body)) = (failed, body) {
        flow::drain(&mut body.into_data_stream()).await;
    }
}

fn offset_mismatch(stored: i64) -> ApiError {
    err(
        409,
        "offset-mismatch",
        format!(
            "Upload-Offset does not match the stored offset {stored}; ask with HEAD and resume from there"
        ),
    )
}

/// A body announced longer than what is left of `Upload-Length` is refused before it is read.
fn check_fits(row: &UploadRow, content_length: Option<i64>) -> Result<(), ApiError> {
    let left = row.upload_length - row.upload_offset;
    match content_length {
        Some(n) if n > left => Err(err(
            413,
            "upload-length-exceeded",
            format!("this request carries {n} bytes but only {left} are left of Upload-Length"),
        )),
        _ => Ok(()),
    }
}

/// Takes the lease and appends in a task of its own: when the client drops the connection the
/// handler future may be dropped, but what arrived is still recorded and the lease released.
pub(crate) async fn run_append(
    st: &AppState,
    id: Uuid,
    offset: i64,
    body: Body,
    checksum: Option<protocol::Checksum>,
) -> Result<UploadRow, ApiError> {
    let token = Uuid::new_v4();
    let row = repo::lease(&st.db, id, token, st.config.jobs.upload_lease)
        .await?
        .ok_or_else(|| {
            err(
                423,
                "upload-locked",
                "another request is writing to this upload; try again in a moment",
            )
        })?;
    let st2 = st.clone();
    let task = tokio::spawn(async move {
        let result = if row.status != UploadStatus::Active || row.upload_offset != offset {
            Err(offset_mismatch(row.upload_offset))
        } else {
            flow::append(&st2, row, token, body, checksum).await
        };
        if let Err(e) = repo::release(&st2.db, id, token).await {
            tracing::warn!(error = %e, upload_id = %id, "cannot release an upload's lease; it expires");
        }
        result
    });
    task.await
        .map_err(|e| ApiError::internal(anyhow::anyhow!("the append task failed: {e}")))?
}

#[utoipa::path(
    delete,
    path = "/api/v1/uploads/{id}",
    operation_id = "terminate_upload",
    summary = "tus termination",
    security(("bearer" = [])),
    params(
        ("id" = String, Path, format = Uuid),
        ("Tus-Resumable" = crate::TusVersion, Header, description = "the tus protocol version; 412 when missing or another"),
    ),
    responses(
        (status = 204, description = "terminated"),
        (status = 400, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 401, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 404, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
        (status = 412, description = "a refusal with a stable code", body = hoithi_core::api_error::ErrorBody),
    ),
)]
pub async fn delete(
    State(st): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    user: Result<CurrentUser, ApiError>,
) -> Response {
    let result = async {
        let user = user?;
        protocol::check_resumable(&headers)?;
        let row = load(&st, &id, &user).await?;
        if row.status != UploadStatus::Active {
            return Err(err(
                409,
                "upload-completed",
                "this upload is complete; its entry is being processed",
            ));
        }
        let token = Uuid::new_v4();
        let Some(_) = repo::lease(&st.db, row.upload_id, token, st.config.jobs.upload_lease).await? else {
            return Err(err(
                423,
                "upload-locked",
                "a request is writing to this upload; try again in a moment",
            ));
        };
        repo::set_status(&st.db, row.upload_id, UploadStatus::Terminated).await?;
        repo::release(&st.db, row.upload_id, token).await?;
        let to = EntryStatus::Draft;
        sqlx::query(
            "update entry set status = $2 where entry_id = $1 and status = any($3)
               and not exists (select 1 from upload where entry_id = $1 and status in ('active', 'completing', 'completed'))",
        )
        .bind(row.entry_id)
        .bind(to)
        .bind(entry_lifecycle::sources(Actor::Upload, to))
        .execute(&st.db)
        .await?;
        ending::cleanup(&st, row.upload_id).await;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await;
    finish_response(&st, &headers, result)
}

/// The method router of unknown methods keeps the tus headers too.
pub async fn method_not_allowed(
    State(st): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    let resp = err(
        405,
        "method-not-allowed",
        format!("{method} is not a tus method here"),
    )
    .into_response();
    decorate(&st, &headers, resp)
}
