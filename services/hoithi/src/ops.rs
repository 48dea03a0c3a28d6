//! Operator commands around the data: `serve-s3` (the embedded S3 endpoint as its own process,
//! shared by several nodes in development and tests), `backup` and `restore` of a whole site —
//! the database with pg_dump/pg_restore and every object of the bucket.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;

use anyhow::{Context, bail};
use aws_sdk_s3::primitives::ByteStream;
use hoithi_core::config::Config;
use hoithi_core::embedded::s3::EmbeddedS3;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio_util::sync::CancellationToken;

use crate::services::Services;

/// Serves `HOITHI_DATA/objects` over S3 until SIGINT/SIGTERM.
pub async fn serve_s3(config: Config, listen: SocketAddr) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    crate::cancel_on_signal(shutdown.clone());
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data folder {}; set HOITHI_DATA",
            config.data_dir.display()
        )
    })?;
    let credentials = config.data_dir.join("s3-credentials.json");
    let s3 = EmbeddedS3::start(
        &config.data_dir.join("objects"),
        &credentials,
        &config.embedded_bucket,
        listen,
        config.s3_min_free_bytes,
    )
    .await?;
    let storage = hoithi_core::storage::Storage::new(&s3.settings);
    storage.ensure_bucket(&s3.settings.endpoint).await?;
    println!(
        "S3 endpoint listening on {} (bucket {}, access key {}, credentials in {})",
        s3.settings.endpoint,
        s3.settings.bucket,
        s3.settings.access_key_id,
        credentials.display()
    );
    shutdown.cancelled().await;
    s3.stop();
    Ok(())
}

const DUMP_FILE: &str = "database.dump";
const OBJECTS_DIR: &str = "objects";

/// pg_dump/pg_restore from the newest PostgreSQL install (at least as new as the server),
/// else from PATH.
fn pg_tool(config: &Config, name: &str) -> PathBuf {
    let dir = config.pg_bin_dir.clone().or_else(|| {
        let mut dirs: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
            .collect();
        dirs.sort();
        dirs.pop().map(|(_, d)| d)
    });
    match dir {
        Some(d) if d.join(name).is_file() => d.join(name),
        _ => PathBuf::from(name),
    }
}

async fn run_tool(mut cmd: tokio::process::Command, what: &str) -> anyhow::Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .await
        .with_context(|| format!("cannot run {what}; install postgresql-client"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        bail!(
            "{what} failed: {}",
            err.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("no output")
        );
    }
    Ok(())
}

/// Writes the database and every object into `out` (which must not exist yet).
pub async fn backup(config: Config, out: &Path) -> anyhow::Result<()> {
    if out.exists() {
        bail!(
            "{} exists already; choose a new folder for the backup",
            out.display()
        );
    }
    std::fs::create_dir_all(out.join(OBJECTS_DIR))
        .with_context(|| format!("cannot create {}", out.display()))?;
    let services = Services::open_as_is(&config).await?;
    let result = async {
        let mut dump = tokio::process::Command::new(pg_tool(&config, "pg_dump"));
        dump.args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
            .arg(out.join(DUMP_FILE))
            .arg(&services.database_url);
        run_tool(dump, "pg_dump").await?;

        let storage = services.storage()?;
        let (mut count, mut bytes) = (0u64, 0u64);
        let mut pages = storage
            .client
            .list_objects_v2()
            .bucket(&storage.bucket)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.context("listing the bucket failed")?;
            for object in page.contents() {
                let key = object.key().context("an object without a key")?;
                let path = out.join(OBJECTS_DIR).join(safe_relative(key)?);
                if let Some(parent) = path.parent() {
                    tokio::fs::create_dir_all(parent).await?;
                }
                let res = storage
                    .client
                    .get_object()
                    .bucket(&storage.bucket)
                    .key(key)
                    .send()
                    .await
                    .with_context(|| format!("reading {key} failed"))?;
                let mut body = res.body.into_async_read();
                let mut file = tokio::fs::File::create(&path).await?;
                bytes += tokio::io::copy(&mut body, &mut file).await?;
                file.flush().await?;
                count += 1;
            }
        }
        let manifest = json!({
            "format": 1,
            "created_at": chrono_now(),
            "database": DUMP_FILE,
            "objects": count,
            "object_bytes": bytes,
        });
        std::fs::write(
            out.join("manifest.json"),
            serde_json::to_vec_pretty(&manifest)?,
        )?;
        println!(
            "backup written to {}: database and {count} objects ({bytes} bytes)",
            out.display()
        );
        anyhow::Ok(())
    }
    .await;
    services.stop().await;
    result
}

/// Replaces the site's database and objects with those of the backup in `from`.
pub async fn restore(config: Config, from: &Path) -> anyhow::Result<()> {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(from.join("manifest.json")).with_context(|| {
            format!(
                "{} is not a hoithi backup (no manifest.json)",
                from.display()
            )
        })?)
        .context("the backup's manifest.json is damaged")?;
    if manifest["format"] != 1 {
        bail!("unknown backup format {}", manifest["format"]);
    }
    let services = Services::open_as_is(&config).await?;
    let result = async {
        replace_database(&config, &services.database_url, &from.join(DUMP_FILE)).await?;

        let storage = services.storage()?;
        let root = from.join(OBJECTS_DIR);
        let mut count = 0u64;
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let entry = entry?;
                let path = entry.path();
                if entry.file_type()?.is_dir() {
                    stack.push(path);
                    continue;
                }
                let key = path
                    .strip_prefix(&root)?
                    .to_str()
                    .context("an object path that is not UTF-8")?
                    .to_owned();
                storage
                    .client
                    .put_object()
                    .bucket(&storage.bucket)
                    .key(&key)
                    .body(ByteStream::from_path(&path).await?)
                    .send()
                    .await
                    .with_context(|| format!("writing {key} failed"))?;
                count += 1;
            }
        }
        println!(
            "restored the database and {count} objects from {}",
            from.display()
        );
        anyhow::Ok(())
    }
    .await;
    services.stop().await;
    result
}

/// Makes the database exactly the dump's, in one transaction: the `public` schema is dropped
/// and the dump, turned into SQL by pg_restore, replayed by psql. Tables a newer version added
/// do not stay behind (they would break the next upgrade's migrations). The COMMIT is sent
/// only once pg_restore has read the whole dump: a damaged or cut dump, or any failing
/// statement, leaves the database as it was.
async fn replace_database(config: &Config, database_url: &str, dump: &Path) -> anyhow::Result<()> {
    let mut script = tokio::process::Command::new(pg_tool(config, "pg_restore"))
        .args(["--no-owner", "--no-privileges", "--file", "-"])
        .arg(dump)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run pg_restore; install postgresql-client")?;
    let mut psql = tokio::process::Command::new(pg_tool(config, "psql"))
        .args([
            "--no-psqlrc",
            "--quiet",
            "--set",
            "ON_ERROR_STOP=1",
            "--dbname",
        ])
        .arg(database_url)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run psql; install postgresql-client")?;
    let mut sql = script.stdout.take().context("pg_restore gave no output")?;
    let mut to_psql = psql.stdin.take().context("psql takes no input")?;
    // A write error means psql stopped at a failing statement: its own message says which.
    let fed = async {
        to_psql
            .write_all(b"set client_min_messages = warning;\nbegin;\ndrop schema public cascade;\ncreate schema public;\n")
            .await?;
        tokio::io::copy(&mut sql, &mut to_psql).await?;
        std::io::Result::Ok(())
    }
    .await;
    let dumped = script.wait_with_output().await?;
    if fed.is_ok() && dumped.status.success() {
        // Only now: whatever went before commits together or not at all.
        let _ = to_psql.write_all(b"commit;\n").await;
    }
    drop(to_psql);
    let replayed = psql.wait_with_output().await?;
    if !dumped.status.success() {
        bail!(
            "pg_restore could not read the backup, the database was left as it was: {}",
            last_line(&dumped.stderr)
        );
    }
    if !replayed.status.success() || fed.is_err() {
        bail!(
            "psql failed to replay the backup, the database was left as it was: {}",
            last_line(&replayed.stderr)
        );
    }
    Ok(())
}

fn last_line(output: &[u8]) -> String {
    String::from_utf8_lossy(output)
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("no output")
        .to_owned()
}

/// A bucket key as a relative path; keys are server-made, but a backup never writes outside
/// its folder whatever a bucket holds.
fn safe_relative(key: &str) -> anyhow::Result<PathBuf> {
    let path = PathBuf::from(key);
    if key.is_empty() || !path.components().all(|c| matches!(c, Component::Normal(_))) {
        bail!("refusing to back up an object with the unsafe key {key:?}");
    }
    Ok(path)
}

fn chrono_now() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}", now.as_secs())
}

#[cfg(test)]
mod tests {
    use super::safe_relative;

    #[test]
    fn object_keys_that_would_leave_the_backup_folder_are_refused() {
        assert!(safe_relative("media/abc/360p.m3u8").is_ok());
        for bad in ["", "/etc/passwd", "../x", "media/../../x", "./x"] {
            assert!(safe_relative(bad).is_err(), "{bad:?}");
        }
    }
}
