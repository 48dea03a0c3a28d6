//! One media job, parent side: download the original, run the sandboxed child on it, upload
//! the outputs under `media/{asset_id}/` (fixed keys: a retry overwrites), record the result.

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};
use aws_sdk_s3::primitives::ByteStream;
use hoithi_core::AppState;
use hoithi_core::contest::EntryStatus;
use hoithi_core::entry_lifecycle::{self, Actor};
use hoithi_core::media::MediaStatus;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::protocol::{EXIT_REFUSED, Line, MediaKind};

/// How a job attempt ended.
#[derive(Debug)]
pub enum Outcome {
    Done,
    /// Permanent: the input is refused; the message is `code: sentence`.
    Refused(String),
    /// Transient: try again later.
    Failed(anyhow::Error),
    /// The worker is stopping or lost its lease: the attempt does not count.
    Cancelled,
}

pub struct Settings {
    pub exe: PathBuf,
    pub timeout: Duration,
}

struct Asset {
    media_asset_id: Uuid,
    kind: MediaKind,
    original_key: String,
    max_video_seconds: i32,
}

pub async fn run_job(
    state: &AppState,
    settings: &Settings,
    job_id: i64,
    worker_id: &str,
    asset_id: Uuid,
    cancel: CancellationToken,
) -> Outcome {
    let asset = match load_asset(state, asset_id).await {
        Ok(Some(a)) => a,
        Ok(None) => {
            return Outcome::Refused(format!(
                "asset-missing: media asset {asset_id} does not exist"
            ));
        }
        Err(e) => return Outcome::Failed(e),
    };
    let work = match tempfile::Builder::new().prefix("hoithi-media-").tempdir() {
        Ok(d) => d,
        Err(e) => return Outcome::Failed(e.into()),
    };
    let input = work.path().join("input");
    let output = work.path().join("out");
    if let Err(e) = std::fs::create_dir_all(&output) {
        return Outcome::Failed(e.into());
    }
    if let Err(e) = download(state, &asset.original_key, &input).await {
        return Outcome::Failed(e.context("cannot download the original"));
    }
    let result = match run_child(state, settings, &asset, &input, &output, job_id, cancel).await {
        Ok(ChildEnd::Result(v)) => v,
        Ok(ChildEnd::Refused(reason)) => return Outcome::Refused(reason),
        Ok(ChildEnd::Cancelled) => return Outcome::Cancelled,
        Err(e) => return Outcome::Failed(e),
    };
    let prefix = hoithi_core::media::renditions_prefix(asset.media_asset_id);
    if let Err(e) = upload_dir(state, &output, &prefix).await {
        return Outcome::Failed(e.context("cannot upload the renditions"));
    }
    match record_success(state, &asset, &prefix, &result, job_id, worker_id).await {
        Ok(true) => Outcome::Done,
        Ok(false) => Outcome::Cancelled,
        Err(e) => Outcome::Failed(e),
    }
}

async fn load_asset(state: &AppState, id: Uuid) -> anyhow::Result<Option<Asset>> {
    let row: Option<(Uuid, String, String, i32)> = sqlx::query_as(
        "select m.media_asset_id, m.kind::text, m.original_key,
                coalesce(k.max_video_seconds, c.max_video_seconds)
         from media_asset m join entry e using (entry_id) join contest c using (contest_id)
         left join contest_category k on k.category_id = e.category_id
         where m.media_asset_id = $1",
    )
    .bind(id)
    .fetch_optional(&state.db)
    .await?;
    let Some((media_asset_id, kind, original_key, max_video_seconds)) = row else {
        return Ok(None);
    };
    // The SQL enum has exactly these values; a new one must be taught to the child first.
    let kind = MediaKind::parse(&kind).ok_or_else(|| anyhow!("unknown media kind {kind:?}"))?;
    Ok(Some(Asset {
        media_asset_id,
        kind,
        original_key,
        max_video_seconds,
    }))
}

/// Streams the original to a local file (never whole in memory).
async fn download(state: &AppState, key: &str, to: &Path) -> anyhow::Result<()> {
    let obj = state
        .storage
        .client
        .get_object()
        .bucket(&state.storage.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| hoithi_core::storage::describe(e, "configured"))?;
    let mut reader = obj.body.into_async_read();
    let mut file = tokio::fs::File::create(to).await?;
    tokio::io::copy(&mut reader, &mut file).await?;
    file.sync_all().await?;
    Ok(())
}

enum ChildEnd {
    Result(Value),
    Refused(String),
    Cancelled,
}

/// What the child said on stdout before it closed it.
#[derive(Default)]
struct Said {
    result: Option<Value>,
    refused: Option<String>,
}

/// Runs the child on `input` within the wall-clock limit, storing its progress as it goes.
async fn run_child(
    state: &AppState,
    settings: &Settings,
    asset: &Asset,
    input: &Path,
    output: &Path,
    job_id: i64,
    cancel: CancellationToken,
) -> anyhow::Result<ChildEnd> {
    let mut child = spawn_child(settings, asset, input, output)?;
    let stdout = child.stdout.take().context("child stdout")?;
    let stderr = child.stderr.take().context("child stderr")?;
    let stderr_task = tokio::spawn(stderr_tail(stderr));
    let mut lines = BufReader::new(stdout).lines();
    let deadline = tokio::time::Instant::now() + settings.timeout;
    let mut said = Said::default();
    let mut last_progress_write = Instant::now() - Duration::from_secs(10);
    loop {
        tokio::select! {
            line = lines.next_line() => match line? {
                Some(line) => match Line::parse(&line) {
                    Line::Progress(Some(p)) => {
                        if last_progress_write.elapsed() >= Duration::from_millis(500) {
                            last_progress_write = Instant::now();
                            set_progress(state, asset.media_asset_id, job_id, p.clamp(0, 99)).await;
                        }
                    }
                    Line::Result(json) => {
                        said.result = Some(serde_json::from_str::<Value>(json).context("child result")?);
                    }
                    Line::Refused(reason) => said.refused = Some(reason),
                    Line::Progress(None) | Line::Other => {}
                },
                None => break,
            },
            () = tokio::time::sleep_until(deadline) => {
                let _ = child.kill().await;
                return Ok(ChildEnd::Refused(format!(
                    "media-timeout: Processing took longer than {} seconds and was stopped.",
                    settings.timeout.as_secs()
                )));
            }
            () = cancel.cancelled() => {
                let _ = child.kill().await;
                return Ok(ChildEnd::Cancelled);
            }
        }
    }
    let status = tokio::select! {
        s = child.wait() => s?,
        () = tokio::time::sleep_until(deadline) => {
            let _ = child.kill().await;
            return Ok(ChildEnd::Refused("media-timeout: Processing took too long and was stopped.".into()));
        }
    };
    let stderr_tail = stderr_task.await.unwrap_or_default();
    judge_exit(status, said, &stderr_tail)
}

/// Starts `hoithi media-job` on the asset with nothing but its arguments.
fn spawn_child(
    settings: &Settings,
    asset: &Asset,
    input: &Path,
    output: &Path,
) -> anyhow::Result<tokio::process::Child> {
    let mut cmd = tokio::process::Command::new(&settings.exe);
    cmd.arg("media-job")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output)
        .arg("--kind")
        .arg(asset.kind.as_str())
        .arg("--max-seconds")
        .arg(asset.max_video_seconds.to_string())
        // No credentials, no settings: the child sees only its arguments.
        .env_clear()
        .env("MALLOC_ARENA_MAX", "2")
        .current_dir(output)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd.spawn().context("cannot start the media-job child")
}

/// The last 20 lines the child wrote on stderr, for the error of a failed attempt.
async fn stderr_tail(stderr: tokio::process::ChildStderr) -> String {
    let mut lines = BufReader::new(stderr).lines();
    let mut tail = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        if tail.len() == 20 {
            tail.remove(0);
        }
        tail.push(line);
    }
    tail.join("\n")
}

/// How the child ended, from its exit status and what it said.
fn judge_exit(status: ExitStatus, said: Said, stderr_tail: &str) -> anyhow::Result<ChildEnd> {
    if let Some(r) = said.refused
        && status.code() == Some(EXIT_REFUSED)
    {
        return Ok(ChildEnd::Refused(r));
    }
    if status.success()
        && let Some(v) = said.result
    {
        return Ok(ChildEnd::Result(v));
    }
    match status.signal() {
        // The kernel enforces the sandbox's limits with these signals: the input needs more
        // CPU or memory than any phone video or photo should, so it is not retried.
        Some(9 | 24) => Ok(ChildEnd::Refused(
            "media-limits: The file needed more processing time or memory than allowed.".into(),
        )),
        Some(6 | 11) => Ok(ChildEnd::Refused(
            "media-crashed: The file could not be processed (the decoder crashed).".into(),
        )),
        _ => Err(anyhow!(
            "media-job exited with {status}: {}",
            stderr_tail.trim()
        )),
    }
}

async fn set_progress(state: &AppState, asset_id: Uuid, job_id: i64, p: i16) {
    let res = sqlx::query(
        "with a as (update media_asset set progress = $2 where media_asset_id = $1 and status = $4)
         update job set progress = $2 where job_id = $3",
    )
    .bind(asset_id)
    .bind(p)
    .bind(job_id)
    .bind(MediaStatus::Processing)
    .execute(&state.db)
    .await;
    if let Err(e) = res {
        tracing::warn!(error = %e, "cannot store progress");
    }
}

fn content_type(path: &Path) -> (&'static str, &'static str) {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "m3u8" => ("application/vnd.apple.mpegurl", "public, max-age=60"),
        "m4s" => ("video/iso.segment", "public, max-age=31536000, immutable"),
        "mp4" => ("video/mp4", "public, max-age=31536000, immutable"),
        "jpg" => ("image/jpeg", "public, max-age=31536000, immutable"),
        "webp" => ("image/webp", "public, max-age=31536000, immutable"),
        _ => ("application/octet-stream", "public, max-age=3600"),
    }
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            files_under(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

async fn upload_dir(state: &AppState, dir: &Path, prefix: &str) -> anyhow::Result<()> {
    let mut files = Vec::new();
    files_under(dir, &mut files)?;
    files.sort();
    for path in files {
        let rel = path
            .strip_prefix(dir)?
            .to_str()
            .context("non-UTF-8 output name")?;
        let key = format!("{prefix}{rel}");
        let (ctype, cache) = content_type(&path);
        let body = ByteStream::from_path(&path).await?;
        state
            .storage
            .client
            .put_object()
            .bucket(&state.storage.bucket)
            .key(&key)
            .content_type(ctype)
            .cache_control(cache)
            .body(body)
            .send()
            .await
            .map_err(|e| hoithi_core::storage::describe(e, "configured"))
            .with_context(|| format!("cannot upload {key}"))?;
    }
    Ok(())
}

/// Turns the child's relative paths into bucket keys and `/media/…` URLs.
pub fn keyed_renditions(prefix: &str, result: &Value) -> Value {
    fn walk(prefix: &str, v: &Value, key: Option<&str>) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), walk(prefix, v, Some(k))))
                    .collect(),
            ),
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| walk(prefix, v, key)).collect())
            }
            Value::String(s)
                if matches!(key, Some("hls" | "playlist" | "path" | "jpeg" | "webp")) =>
            {
                let k = format!("{prefix}{s}");
                serde_json::json!({"key": k, "url": format!("/{k}")})
            }
            other => other.clone(),
        }
    }
    walk(prefix, &result["renditions"], None)
}

/// The size and length a pipeline measured (`VideoResult`/`PhotoResult` carry them at the
/// top); a member that is missing or out of range is stored as NULL.
#[derive(Debug, Default, PartialEq, serde::Deserialize)]
struct Measured {
    #[serde(default, deserialize_with = "lenient")]
    width: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    height: Option<i32>,
    #[serde(default, deserialize_with = "lenient")]
    duration_s: Option<f64>,
}

/// A value of the wanted type, or `None` for anything else (as the untyped reading did).
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let v = <Value as serde::Deserialize>::deserialize(d)?;
    Ok(serde_json::from_value(v).ok())
}

impl Measured {
    fn of(result: &Value) -> Self {
        serde_json::from_value(result.clone()).unwrap_or_default()
    }
}

/// Records a finished job: asset ready, entry on to review (or approved when the contest does
/// not moderate) once none of its files is still processing (a photo series), job done — in one transaction, only if we still hold the lease.
async fn record_success(
    state: &AppState,
    asset: &Asset,
    prefix: &str,
    result: &Value,
    job_id: i64,
    worker_id: &str,
) -> anyhow::Result<bool> {
    let mut tx = state.db.begin().await?;
    if !crate::queue::complete(&mut *tx, job_id, worker_id).await? {
        tx.rollback().await?;
        return Ok(false);
    }
    let renditions = keyed_renditions(prefix, result);
    let mut metadata = result.clone();
    if let Some(m) = metadata.as_object_mut() {
        m.remove("renditions");
    }
    let mut renditions = renditions;
    renditions["source"] = metadata;
    let measured = Measured::of(result);
    // The entry row first, locked: of a series' photos finishing at once, the last to commit
    // sees all the others ready and moves the entry on (the entrant's hand-in locks it too).
    sqlx::query(
        "select 1 from entry where entry_id = (select entry_id from media_asset where media_asset_id = $1)
         for update",
    )
    .bind(asset.media_asset_id)
    .execute(&mut *tx)
    .await?;
    let entry_id: Uuid = sqlx::query_scalar(
        "update media_asset set status = $6, progress = 100, error = null,
                width = $2, height = $3, duration_s = $4, renditions = $5
         where media_asset_id = $1 returning entry_id",
    )
    .bind(asset.media_asset_id)
    .bind(measured.width)
    .bind(measured.height)
    .bind(measured.duration_s)
    .bind(&renditions)
    .bind(MediaStatus::Ready)
    .fetch_one(&mut *tx)
    .await?;
    entry_lifecycle::move_on_when_processed(&mut *tx, entry_id).await?;
    tx.commit().await?;
    Ok(true)
}

/// Records a final failure: asset failed with a readable error; the entry goes back to
/// `draft` with that reason, so the member can upload another file.
pub async fn record_failure(
    state: &AppState,
    asset_id: Uuid,
    job_id: i64,
    worker_id: &str,
    error: &str,
) -> anyhow::Result<()> {
    let mut tx = state.db.begin().await?;
    crate::queue::bury(&mut *tx, job_id, worker_id, error).await?;
    let entry_id: Option<Uuid> = sqlx::query_scalar(
        "update media_asset set status = $3, error = $2 where media_asset_id = $1 returning entry_id",
    )
    .bind(asset_id)
    .bind(error)
    .bind(MediaStatus::Failed)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(entry_id) = entry_id {
        let to = EntryStatus::Draft;
        sqlx::query(
            "update entry set status = $3, reason = $2 where entry_id = $1 and status = any($4)",
        )
        .bind(entry_id)
        .bind(error)
        .bind(to)
        .bind(entry_lifecycle::sources(Actor::Worker, to))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod measured_tests {
    use super::*;

    #[test]
    fn the_measured_size_is_read_from_a_result_and_nonsense_is_null() {
        let m = Measured::of(
            &serde_json::json!({"width": 640, "height": 360, "duration_s": 2.5, "kind": "video"}),
        );
        assert_eq!(
            m,
            Measured {
                width: Some(640),
                height: Some(360),
                duration_s: Some(2.5)
            }
        );
        let photo = Measured::of(&serde_json::json!({"width": 800, "height": 600}));
        assert_eq!(photo.duration_s, None);
        let odd = Measured::of(&serde_json::json!({"width": "wide", "height": 1.5}));
        assert_eq!(odd, Measured::default());
    }
}
