//! The embedded object store's durability layer: `s3s_fs::FileSystem` with every write made
//! durable before its answer, and a multipart completion that cannot lose parts.
//!
//! What s3s-fs 0.14.1 does by itself (read in its `fs.rs` and `s3.rs`): every write goes to a
//! temporary file that is renamed into place, so a reader never sees half an object, but nothing
//! is fsynced (an acknowledged object can vanish in a power cut), and `CompleteMultipartUpload`
//! deletes the upload's record first and each part right after copying it, before the new
//! object is renamed into place — a crash in between, or a refusal such as `EntityTooSmall`
//! found half way, loses parts that were already acknowledged.
//!
//! This layer delegates reads and most writes to s3s-fs and then fsyncs what the write made
//! (the file, its folders up to the store's root, the store's side files), and completes a
//! multipart upload itself: every check first, the object written to a temporary file,
//! fsynced, renamed, the folders fsynced, and only then the parts and the record removed, so a
//! completion interrupted at any point can be retried. Writes are refused with `SlowDown` (503)
//! while the disk has less than the configured reserve free, so a full disk never half-writes an
//! object nor takes the database's room. The bytes of writes still under way are counted as
//! taken (`Reservations`): twenty completions checked at the same instant cannot each count the
//! same free gigabytes. At most `COMPLETIONS` completions copy at once, in arrival order: the
//! disk is the limit, and one at a time each finishes (and frees its parts) sooner.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

use md5::{Digest, Md5};
use s3s::dto::*;
use s3s::{S3, S3Error, S3ErrorCode, S3Request, S3Response, S3Result, s3_error};

use space::{Reservation, Reservations};

mod space;

/// The smallest part S3 accepts for every part but the last.
const MIN_PART: u64 = 5 * 1024 * 1024;

/// Multipart completions that copy their parts at the same time.
const COMPLETIONS: usize = 2;

pub struct DurableFs {
    inner: s3s_fs::FileSystem,
    root: PathBuf,
    min_free: u64,
    reserved: Reservations,
    completions: tokio::sync::Semaphore,
}

impl DurableFs {
    /// `min_free`: bytes that must stay free on the store's disk after a write.
    pub fn new(root: &Path, min_free: u64) -> anyhow::Result<Self> {
        let inner = s3s_fs::FileSystem::new(root).map_err(|e| {
            anyhow::anyhow!("cannot open the object folder {}: {e:?}", root.display())
        })?;
        let root = std::fs::canonicalize(root)?;
        let store = Self {
            inner,
            root,
            min_free,
            reserved: Reservations::default(),
            completions: tokio::sync::Semaphore::new(COMPLETIONS),
        };
        store.sweep_orphan_parts();
        Ok(store)
    }

    fn object_path(&self, bucket: &str, key: &str) -> S3Result<PathBuf> {
        inside(&self.root, &Path::new(bucket).join(key))
            .ok_or_else(|| s3_error!(InvalidArgument, "the key leaves the store"))
    }

    fn side_file(&self, bucket: &str, key: &str, what: &str) -> PathBuf {
        let encode = |s: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
        };
        self.root.join(format!(
            ".bucket-{}.object-{}{what}",
            encode(bucket),
            encode(key)
        ))
    }

    fn part_path(&self, upload_id: &str, part: i32) -> PathBuf {
        self.root
            .join(format!(".upload_id-{upload_id}.part-{part}"))
    }

    fn upload_record(&self, upload_id: &str) -> PathBuf {
        self.root.join(format!(".upload-{upload_id}.json"))
    }

    /// Removes part files whose upload has no record any more: what a crash between a completion's
    /// removal of the record and of its parts left behind. Nothing can reach them: the upload is
    /// unknown to every request.
    fn sweep_orphan_parts(&self) {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(upload) = name
                .to_str()
                .and_then(|n| n.strip_prefix(".upload_id-"))
                .and_then(|n| n.split_once(".part-"))
                .map(|(upload, _)| upload.to_owned())
            else {
                continue;
            };
            if !self.upload_record(&upload).exists() {
                match std::fs::remove_file(entry.path()) {
                    Ok(()) => tracing::info!(upload, "removed a part of a finished upload"),
                    Err(e) => tracing::warn!(upload, error = %e, "cannot remove an orphan part"),
                }
            }
        }
    }

    /// Refuses a write of `bytes` that would leave less than the reserve free.
    /// Keep the answer until the write is on the disk: its bytes count as taken meanwhile.
    async fn room_for(&self, bytes: u64) -> S3Result<Reservation> {
        let root = self.root.clone();
        let free = blocking(move || {
            let stat = nix::sys::statvfs::statvfs(&root).map_err(std::io::Error::from)?;
            Ok(stat.blocks_available().saturating_mul(stat.fragment_size()))
        })
        .await?;
        self.reserved
            .take(bytes, free, self.min_free)
            .ok_or_else(|| {
                tracing::warn!(
                    free,
                    needed = bytes,
                    under_way = self.reserved.taken(),
                    reserve = self.min_free,
                    "embedded S3: write refused, the disk is nearly full"
                );
                s3_error!(SlowDown, "the object store's disk is full; try again later")
            })
    }

    /// Makes an object and its side files durable: the file, its folders up to the root, the
    /// side files and the root itself.
    async fn sync_object(&self, bucket: &str, key: &str) -> S3Result<()> {
        let object = self.object_path(bucket, key)?;
        let sides = [
            self.side_file(bucket, key, ".metadata.json"),
            self.side_file(bucket, key, ".internal.json"),
        ];
        let root = self.root.clone();
        blocking(move || {
            sync_file(&object)?;
            for side in &sides {
                if side.exists() {
                    sync_file(side)?;
                }
            }
            sync_folders(&object, &root)
        })
        .await
    }

    async fn sync_in_root(&self, files: Vec<PathBuf>) -> S3Result<()> {
        let root = self.root.clone();
        blocking(move || {
            for file in &files {
                if file.exists() {
                    sync_file(file)?;
                }
            }
            sync_file(&root)
        })
        .await
    }

    async fn complete(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        let CompleteMultipartUploadInput {
            multipart_upload,
            bucket,
            key,
            upload_id,
            ..
        } = req.input;
        let upload = uuid::Uuid::parse_str(&upload_id)
            .map_err(|_| s3_error!(NoSuchUpload))?
            .to_string();
        let record = self.upload_record(&upload);
        let owner = req.credentials.as_ref().map(|c| c.access_key.clone());
        let recorded: Option<Option<String>> = match tokio::fs::read(&record).await {
            Ok(bytes) => serde_json::from_slice(&bytes).ok(),
            Err(_) => None,
        };
        match recorded {
            None => return Err(s3_error!(NoSuchUpload)),
            Some(ak) if ak != owner => return Err(s3_error!(AccessDenied)),
            Some(_) => {}
        }

        let numbers: Vec<i32> = multipart_upload
            .and_then(|m| m.parts)
            .unwrap_or_default()
            .iter()
            .map(|p| p.part_number.unwrap_or(0))
            .collect();
        if numbers.is_empty() {
            return Err(s3_error!(InvalidPart, "You must specify at least one part"));
        }
        let mut parts = Vec::with_capacity(numbers.len());
        let mut total = 0u64;
        for (i, &number) in numbers.iter().enumerate() {
            if usize::try_from(number).ok() != Some(i + 1) {
                return Err(s3_error!(
                    InvalidPartOrder,
                    "parts must be numbered 1, 2, 3 …"
                ));
            }
            let path = self.part_path(&upload, number);
            let len = match tokio::fs::metadata(&path).await {
                Ok(meta) => meta.len(),
                Err(_) => return Err(s3_error!(InvalidPart, "part {number} was not uploaded")),
            };
            if i + 1 < numbers.len() && len < MIN_PART {
                return Err(s3_error!(EntityTooSmall));
            }
            total += len;
            parts.push(path);
        }
        // In arrival order, COMPLETIONS at a time; the free space is checked once it is this
        // one's turn, after the completions before it removed their parts.
        let _turn = self
            .completions
            .acquire()
            .await
            .map_err(|_| s3_error!(ServiceUnavailable, "the store is stopping"))?;
        let _room = self.room_for(total).await?;

        let object = self.object_path(&bucket, &key)?;
        let temp = self
            .root
            .join(format!(".tmp.{}.internal.part", uuid::Uuid::new_v4()));
        let metadata_of_upload =
            self.side_file(&bucket, &key, &format!(".upload-{upload}.metadata.json"));
        let metadata = self.side_file(&bucket, &key, ".metadata.json");
        let internal = self.side_file(&bucket, &key, ".internal.json");
        let root = self.root.clone();
        let parts_for_write = parts.clone();
        let e_tag = blocking(move || {
            let written = concatenate(&parts_for_write, &temp);
            let e_tag = match written {
                Ok(e_tag) => e_tag,
                Err(err) => {
                    let _ = std::fs::remove_file(&temp);
                    return Err(err);
                }
            };
            if let Some(folder) = object.parent() {
                std::fs::create_dir_all(folder)?;
            }
            std::fs::rename(&temp, &object)?;
            sync_folders(&object, &root)?;
            if metadata_of_upload.exists() {
                std::fs::rename(&metadata_of_upload, &metadata)?;
                sync_file(&metadata)?;
            } else if metadata.exists() {
                std::fs::remove_file(&metadata)?;
            }
            let info = serde_json::json!({ "e_tag": e_tag });
            write_durably(&internal, info.to_string().as_bytes(), &root)?;
            sync_file(&root)?;
            Ok(e_tag)
        })
        .await?;

        // The object is durable: only now may the record and the parts go. A crash before this
        // point leaves the upload as it was, and the client's retry completes it again. The
        // record goes first: a retry after it is gone answers `NoSuchUpload` (the object is
        // whole), never `InvalidPart` for a part removed just before a crash; parts such a
        // crash leaves behind are swept at the next start (`sweep_orphan_parts`).
        let _ = tokio::fs::remove_file(&record).await;
        for part in &parts {
            let _ = tokio::fs::remove_file(part).await;
        }
        Ok(S3Response::new(CompleteMultipartUploadOutput {
            bucket: Some(bucket),
            key: Some(key),
            e_tag: Some(ETag::Strong(e_tag)),
            ..Default::default()
        }))
    }
}

/// `rel` joined to `root` without leaving it (`..` resolved lexically).
fn inside(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut out = root.to_path_buf();
    let mut depth = 0usize;
    for part in rel.components() {
        match part {
            Component::Normal(name) => {
                out.push(name);
                depth += 1;
            }
            Component::CurDir => {}
            Component::ParentDir if depth > 0 => {
                out.pop();
                depth -= 1;
            }
            _ => return None,
        }
    }
    (depth > 0).then_some(out)
}

/// Writes the parts one after the other into `temp`, fsynced; returns the multipart ETag.
fn concatenate(parts: &[PathBuf], temp: &Path) -> std::io::Result<String> {
    let mut out = std::fs::File::create(temp)?;
    let mut digests = Md5::new();
    let mut buf = vec![0u8; 1 << 20];
    for part in parts {
        let mut input = std::fs::File::open(part)?;
        let mut digest = Md5::new();
        loop {
            let n = input.read(&mut buf)?;
            if n == 0 {
                break;
            }
            digest.update(&buf[..n]);
            out.write_all(&buf[..n])?;
        }
        digests.update(digest.finalize());
    }
    out.sync_all()?;
    Ok(format!(
        "{}-{}",
        hex::encode(digests.finalize()),
        parts.len()
    ))
}

fn write_durably(path: &Path, bytes: &[u8], root: &Path) -> std::io::Result<()> {
    let temp = root.join(format!(".tmp.{}.internal.part", uuid::Uuid::new_v4()));
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temp, path)?;
    sync_file(path)
}

/// fsync of a file or a folder (a folder's fsync makes the names in it durable).
fn sync_file(path: &Path) -> std::io::Result<()> {
    std::fs::File::open(path)?.sync_all()
}

/// fsync of every folder from `path`'s parent up to `root`, both included; folders that do
/// not exist (a delete of a key that never was) are passed over.
fn sync_folders(path: &Path, root: &Path) -> std::io::Result<()> {
    let mut folder = path.parent();
    while let Some(dir) = folder {
        match sync_file(dir) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            other => other?,
        }
        if dir == root || !dir.starts_with(root) {
            break;
        }
        folder = dir.parent();
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> S3Result<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(io_error(&err)),
        Err(err) => Err(S3Error::with_message(
            S3ErrorCode::InternalError,
            format!("durability task failed: {err}"),
        )),
    }
}

fn io_error(err: &std::io::Error) -> S3Error {
    if err.raw_os_error() == Some(nix::libc::ENOSPC) {
        return s3_error!(SlowDown, "the object store's disk is full; try again later");
    }
    tracing::error!(error = %err, "embedded S3: write failed");
    S3Error::with_message(S3ErrorCode::InternalError, err.to_string())
}

/// Methods answered by s3s-fs as they are.
macro_rules! delegate {
    ($($name:ident($input:ident) -> $output:ident;)*) => {$(
        fn $name<'life0, 'async_trait>(
            &'life0 self,
            req: S3Request<$input>,
        ) -> std::pin::Pin<
            Box<dyn std::future::Future<Output = S3Result<S3Response<$output>>> + Send + 'async_trait>,
        >
        where
            'life0: 'async_trait,
            Self: 'async_trait,
        {
            self.inner.$name(req)
        }
    )*};
}

#[async_trait::async_trait]
impl S3 for DurableFs {
    delegate! {
        delete_bucket(DeleteBucketInput) -> DeleteBucketOutput;
        delete_objects(DeleteObjectsInput) -> DeleteObjectsOutput;
        get_bucket_location(GetBucketLocationInput) -> GetBucketLocationOutput;
        get_object(GetObjectInput) -> GetObjectOutput;
        head_bucket(HeadBucketInput) -> HeadBucketOutput;
        head_object(HeadObjectInput) -> HeadObjectOutput;
        list_buckets(ListBucketsInput) -> ListBucketsOutput;
        list_objects(ListObjectsInput) -> ListObjectsOutput;
        list_objects_v2(ListObjectsV2Input) -> ListObjectsV2Output;
        list_parts(ListPartsInput) -> ListPartsOutput;
        abort_multipart_upload(AbortMultipartUploadInput) -> AbortMultipartUploadOutput;
    }

    async fn create_bucket(
        &self,
        req: S3Request<CreateBucketInput>,
    ) -> S3Result<S3Response<CreateBucketOutput>> {
        let bucket = req.input.bucket.clone();
        let res = self.inner.create_bucket(req).await?;
        let folder = self.object_path(&bucket, "")?;
        let root = self.root.clone();
        blocking(move || {
            sync_file(&folder)?;
            sync_file(&root)
        })
        .await?;
        Ok(res)
    }

    async fn put_object(
        &self,
        req: S3Request<PutObjectInput>,
    ) -> S3Result<S3Response<PutObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let _room = self.room_for(length(req.input.content_length)).await?;
        let res = self.inner.put_object(req).await?;
        if !key.ends_with('/') {
            self.sync_object(&bucket, &key).await?;
        }
        Ok(res)
    }

    async fn copy_object(
        &self,
        req: S3Request<CopyObjectInput>,
    ) -> S3Result<S3Response<CopyObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let res = self.inner.copy_object(req).await?;
        self.sync_object(&bucket, &key).await?;
        Ok(res)
    }

    async fn delete_object(
        &self,
        req: S3Request<DeleteObjectInput>,
    ) -> S3Result<S3Response<DeleteObjectOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let res = self.inner.delete_object(req).await?;
        let object = self.object_path(&bucket, &key)?;
        let root = self.root.clone();
        blocking(move || sync_folders(&object, &root)).await?;
        Ok(res)
    }

    async fn create_multipart_upload(
        &self,
        req: S3Request<CreateMultipartUploadInput>,
    ) -> S3Result<S3Response<CreateMultipartUploadOutput>> {
        let (bucket, key) = (req.input.bucket.clone(), req.input.key.clone());
        let res = self.inner.create_multipart_upload(req).await?;
        if let Some(upload) = res.output.upload_id.clone() {
            let files = vec![
                self.upload_record(&upload),
                self.side_file(&bucket, &key, &format!(".upload-{upload}.metadata.json")),
            ];
            self.sync_in_root(files).await?;
        }
        Ok(res)
    }

    async fn upload_part(
        &self,
        req: S3Request<UploadPartInput>,
    ) -> S3Result<S3Response<UploadPartOutput>> {
        let part = self.part_path(&req.input.upload_id, req.input.part_number);
        let _room = self.room_for(length(req.input.content_length)).await?;
        let res = self.inner.upload_part(req).await?;
        self.sync_in_root(vec![part]).await?;
        Ok(res)
    }

    async fn upload_part_copy(
        &self,
        req: S3Request<UploadPartCopyInput>,
    ) -> S3Result<S3Response<UploadPartCopyOutput>> {
        let part = self.part_path(&req.input.upload_id, req.input.part_number);
        let res = self.inner.upload_part_copy(req).await?;
        self.sync_in_root(vec![part]).await?;
        Ok(res)
    }

    async fn complete_multipart_upload(
        &self,
        req: S3Request<CompleteMultipartUploadInput>,
    ) -> S3Result<S3Response<CompleteMultipartUploadOutput>> {
        if req.input.if_match.is_some() || req.input.if_none_match.is_some() {
            // Conditional completion is not used by the product; s3s-fs keeps its semantics.
            return self.inner.complete_multipart_upload(req).await;
        }
        self.complete(req).await
    }
}

fn length(content_length: Option<i64>) -> u64 {
    content_length
        .and_then(|n| u64::try_from(n).ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_stay_inside_the_root() {
        let root = Path::new("/srv/objects");
        assert_eq!(
            inside(root, Path::new("b/a/../k")),
            Some(PathBuf::from("/srv/objects/b/k"))
        );
        assert_eq!(inside(root, Path::new("b/../../etc/passwd")), None);
        assert_eq!(inside(root, Path::new("/etc/passwd")), None);
        assert_eq!(inside(root, Path::new("")), None);
    }
}
