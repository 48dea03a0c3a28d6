//! The S3 side of an upload: one multipart upload per tus upload, and temporary tail objects
//! under `uploads/{upload_id}/` holding bytes that do not fill a part yet (as tusd's S3 store).

use anyhow::Context;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use hoithi_core::storage::Storage;
use uuid::Uuid;

/// The largest part: a body longer than this is cut into parts of this size (boto3's and
/// the AWS CLI's default part size). A multiple of 64 keeps the resumable SHA-256 on whole
/// blocks. It is also the per-request memory bound.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// The smallest part S3 accepts (but for the last): what a PATCH leaves in the buffer becomes
/// a part of its own from this size on, so clients' usual chunks (tus-js-client's, tuspy's,
/// our uploader's 5 MiB) need no temporary tail object.
pub const MIN_PART: usize = 5 * 1024 * 1024;

pub fn temp_prefix(upload_id: Uuid) -> String {
    format!("uploads/{upload_id}/")
}

pub fn new_tail_key(upload_id: Uuid) -> String {
    format!("{}tail-{}", temp_prefix(upload_id), Uuid::new_v4().simple())
}

pub async fn create_multipart(
    s: &Storage,
    key: &str,
    content_type: &str,
) -> anyhow::Result<String> {
    let out = s
        .client
        .create_multipart_upload()
        .bucket(&s.bucket)
        .key(key)
        .content_type(content_type)
        .send()
        .await
        .map_err(|e| hoithi_core::storage::describe(e, "configured"))
        .context("create the multipart upload")?;
    out.upload_id()
        .map(str::to_owned)
        .context("the object store returned no upload id")
}

pub async fn upload_part(
    s: &Storage,
    key: &str,
    s3_upload_id: &str,
    part_number: i32,
    data: Bytes,
) -> anyhow::Result<String> {
    let out = s
        .client
        .upload_part()
        .bucket(&s.bucket)
        .key(key)
        .upload_id(s3_upload_id)
        .part_number(part_number)
        .content_length(data.len() as i64)
        .body(ByteStream::from(data))
        .send()
        .await
        .map_err(|e| hoithi_core::storage::describe(e, "configured"))
        .with_context(|| format!("upload part {part_number}"))?;
    out.e_tag()
        .map(str::to_owned)
        .context("the object store returned no ETag for a part")
}

/// How long a completion may take before its answer: the store copies the parts into one
/// object (the embedded one on the same disk, a few at a time, so twenty 1 GiB uploads ending
/// together queue), which the client's usual 60 s read timeout does not cover. A minute plus
/// a second for every 4 MiB.
pub fn completion_timeout(length: i64) -> std::time::Duration {
    let length = u64::try_from(length).unwrap_or(0);
    std::time::Duration::from_secs(60 + length / (4 * 1024 * 1024))
}

/// Completes the multipart upload. A repeat after an earlier success (the upload id is gone
/// but the object has the full length) counts as success.
pub async fn complete(
    s: &Storage,
    key: &str,
    s3_upload_id: &str,
    parts: &[(i32, String)],
    length: i64,
) -> anyhow::Result<()> {
    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(n, etag)| CompletedPart::builder().part_number(*n).e_tag(etag).build())
                .collect(),
        ))
        .build();
    let result = s
        .client
        .complete_multipart_upload()
        .bucket(&s.bucket)
        .key(key)
        .upload_id(s3_upload_id)
        .multipart_upload(completed)
        .customize()
        .config_override(
            aws_sdk_s3::config::Builder::default().timeout_config(
                TimeoutConfig::builder()
                    .read_timeout(completion_timeout(length))
                    .build(),
            ),
        )
        .send()
        .await;
    match result {
        Ok(_) => Ok(()),
        Err(err) => {
            if object_size(s, key).await? == Some(length) {
                return Ok(());
            }
            Err(hoithi_core::storage::describe(err, "configured"))
                .context("complete the multipart upload")
        }
    }
}

pub async fn object_size(s: &Storage, key: &str) -> anyhow::Result<Option<i64>> {
    match s
        .client
        .head_object()
        .bucket(&s.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(out) => Ok(out.content_length()),
        Err(err)
            if err
                .raw_response()
                .is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(None)
        }
        Err(err) => Err(hoithi_core::storage::describe(err, "configured")).context("head object"),
    }
}

pub async fn put(s: &Storage, key: &str, data: Bytes) -> anyhow::Result<()> {
    s.client
        .put_object()
        .bucket(&s.bucket)
        .key(key)
        .content_length(data.len() as i64)
        .body(ByteStream::from(data))
        .send()
        .await
        .map_err(|e| hoithi_core::storage::describe(e, "configured"))
        .context("store the tail of an upload")?;
    Ok(())
}

pub async fn get(s: &Storage, key: &str) -> anyhow::Result<Bytes> {
    let out = s
        .client
        .get_object()
        .bucket(&s.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| hoithi_core::storage::describe(e, "configured"))
        .context("read the tail of an upload")?;
    Ok(out
        .body
        .collect()
        .await
        .context("read the tail of an upload")?
        .into_bytes())
}

pub async fn delete(s: &Storage, key: &str) -> anyhow::Result<()> {
    s.client
        .delete_object()
        .bucket(&s.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| hoithi_core::storage::describe(e, "configured"))
        .context("delete an object")?;
    Ok(())
}

/// Aborts the multipart upload (its parts go) and deletes every temporary object of the upload,
/// and the assembled object too: a dead upload's object is attached to no media asset (an
/// upload refused after its bytes were assembled has one).
pub async fn discard(
    s: &Storage,
    upload_id: Uuid,
    key: &str,
    s3_upload_id: Option<&str>,
) -> anyhow::Result<()> {
    if let Some(id) = s3_upload_id {
        let r = s
            .client
            .abort_multipart_upload()
            .bucket(&s.bucket)
            .key(key)
            .upload_id(id)
            .send()
            .await;
        if let Err(err) = r
            && err.code() != Some("NoSuchUpload")
            && err
                .raw_response()
                .is_none_or(|r| r.status().as_u16() != 404)
        {
            return Err(hoithi_core::storage::describe(err, "configured"))
                .context("abort the multipart upload");
        }
    }
    delete_if_exists(s, key).await?;
    delete_temporaries(s, upload_id).await
}

/// Deletes `key`; a key that is not there is fine (S3 says so with 204, some stores with 404).
async fn delete_if_exists(s: &Storage, key: &str) -> anyhow::Result<()> {
    match s
        .client
        .delete_object()
        .bucket(&s.bucket)
        .key(key)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(err)
            if err.code() == Some("NoSuchKey")
                || err
                    .raw_response()
                    .is_some_and(|r| r.status().as_u16() == 404) =>
        {
            Ok(())
        }
        Err(err) => {
            Err(hoithi_core::storage::describe(err, "configured")).context("delete an object")
        }
    }
}

/// Deletes the temporary objects under `uploads/{upload_id}/`.
pub async fn delete_temporaries(s: &Storage, upload_id: Uuid) -> anyhow::Result<()> {
    let listed = s
        .client
        .list_objects_v2()
        .bucket(&s.bucket)
        .prefix(temp_prefix(upload_id))
        .send()
        .await
        .map_err(|e| hoithi_core::storage::describe(e, "configured"))
        .context("list the temporary objects of an upload")?;
    for obj in listed.contents() {
        if let Some(k) = obj.key() {
            delete(s, k).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::completion_timeout;
    use std::time::Duration;

    #[test]
    fn a_completion_may_take_a_minute_plus_a_second_per_4_mib() {
        assert_eq!(completion_timeout(0), Duration::from_secs(60));
        assert_eq!(completion_timeout(-5), Duration::from_secs(60));
        assert_eq!(completion_timeout(1 << 30), Duration::from_secs(60 + 256));
        assert_eq!(completion_timeout(8 << 30), Duration::from_secs(60 + 2048));
    }
}
