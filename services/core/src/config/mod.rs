//! Settings read from the environment, once, at the start of the process: every setting of
//! every role is a field of [`Config`], which the roles find in `AppState::config`. Nothing
//! else in the workspace reads the environment. Every setting has a default that runs the
//! whole platform on one machine (embedded PostgreSQL and S3); production sets the external
//! ones. A setting that cannot be read stops the start with a sentence naming it.

mod jobs;
mod limits;
mod network;
mod read;
mod votes;

pub use jobs::{JobSettings, MailSettings};
pub use limits::Limits;
pub use network::IpNetwork;
pub use votes::{Ingest, Rate, Settings};

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, bail};

/// How logs are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Where objects are stored: an external S3-compatible service, or the embedded endpoint.
#[derive(Debug, Clone)]
pub struct S3Settings {
    pub endpoint: String,
    pub bucket: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub region: String,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// `None`: run the private PostgreSQL cluster in `data_dir/pg`.
    pub database_url: Option<String>,
    /// `None`: serve S3 in-process with files in `data_dir/objects`.
    pub s3: Option<S3Settings>,
    /// Bucket name used with the embedded endpoint.
    pub embedded_bucket: String,
    /// Bytes the embedded object store keeps free on its disk (`HOITHI_S3_MIN_FREE_MB`,
    /// default 512): writes that would eat into them are refused with 503 SlowDown.
    pub s3_min_free_bytes: u64,
    /// Where to look for `initdb`/`postgres`; `None` searches `/usr/lib/postgresql/*/bin`.
    pub pg_bin_dir: Option<PathBuf>,
    pub log_format: LogFormat,
    /// The site's public origin, e.g. `https://hoithi.example.vn` (CORS, links in mail).
    pub public_url: Option<String>,
    pub smtp_url: Option<String>,
    /// Heavy media jobs run at once in one worker process.
    pub worker_concurrency: usize,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`TRUSTED_PROXIES`, comma-separated
    /// addresses or CIDR ranges). Empty: the peer address is the client's.
    pub trusted_proxies: Vec<IpNetwork>,
    /// Days after a contest's results during which votes can be disputed; voters' addresses
    /// are erased after it (`HOITHI_VOTE_DISPUTE_DAYS`, default 30).
    pub vote_dispute_days: i64,
    /// Days between a request to delete an account and its deletion, during which it can be
    /// cancelled (`HOITHI_ACCOUNT_DELETION_DAYS`, default 7).
    pub account_deletion_days: i64,
    /// Where `/metrics` (and a detailed `/readyz`) are served for operators, apart from the
    /// public site (`HOITHI_METRICS_LISTEN`, default 127.0.0.1:9464; `off`: nowhere).
    pub metrics_listen: Option<SocketAddr>,
    /// Failed sign-ins, mails and registrations allowed per address and network.
    pub limits: Limits,
    /// Vote ingest, rate limits and live updates (`HOITHI_VOTE_*`, `HOITHI_LIVE_*`).
    pub votes: Settings,
    /// Leases of uploads and media jobs, the media timeout and this node's name.
    pub jobs: JobSettings,
    /// The From address and retry delay of outgoing mail.
    pub mail: MailSettings,
}

/// The default operators' listener: loopback, Prometheus's customary exporter port range.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// The process environment as a lookup: a variable set to blanks counts as not set.
fn environment(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|v| !v.trim().is_empty())
}

/// `HOITHI_LISTEN` (default 127.0.0.1:8080).
fn listen_address(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<SocketAddr> {
    let listen = get("HOITHI_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
    listen
        .trim()
        .parse()
        .with_context(|| format!("HOITHI_LISTEN={listen:?} is not an address like 127.0.0.1:8080"))
}

/// Only the listen address from the environment: `hoithi healthcheck` must neither need the
/// database's password nor fail because some unrelated setting is wrong.
pub fn listen_from_env() -> anyhow::Result<SocketAddr> {
    listen_address(&environment)
}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(environment)
    }

    /// Reads the settings through `get` (a map in tests, the environment in production).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let get = &get;
        Ok(Self {
            listen: listen_address(get)?,
            data_dir: PathBuf::from(get("HOITHI_DATA").unwrap_or_else(|| "./data".to_owned())),
            database_url: get("DATABASE_URL"),
            s3: s3_settings(get)?,
            embedded_bucket: "hoithi".to_owned(),
            s3_min_free_bytes: s3_min_free_bytes(get)?,
            pg_bin_dir: get("HOITHI_PG_BIN_DIR").map(PathBuf::from),
            log_format: log_format(get)?,
            public_url: get("HOITHI_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            smtp_url: get("SMTP_URL"),
            worker_concurrency: worker_concurrency(get)?,
            trusted_proxies: trusted_proxies(get)?,
            vote_dispute_days: vote_dispute_days(get)?,
            account_deletion_days: days(get, "HOITHI_ACCOUNT_DELETION_DAYS", 7)?,
            metrics_listen: metrics_listen(get)?,
            limits: Limits::from_lookup(get),
            votes: Settings::from_lookup(get)?,
            jobs: JobSettings::from_lookup(get)?,
            mail: MailSettings::from_lookup(get)?,
        })
    }
}

/// `S3_ENDPOINT` and its credentials; `None`: the embedded endpoint.
fn s3_settings(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<S3Settings>> {
    let Some(endpoint) = get("S3_ENDPOINT") else {
        return Ok(None);
    };
    let need = |key: &str| {
        get(key).with_context(|| format!("S3_ENDPOINT is set, so {key} must be set too"))
    };
    Ok(Some(S3Settings {
        endpoint,
        bucket: need("S3_BUCKET")?,
        access_key_id: need("S3_ACCESS_KEY_ID")?,
        secret_access_key: need("S3_SECRET_ACCESS_KEY")?,
        region: get("S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
    }))
}

fn log_format(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<LogFormat> {
    Ok(match get("HOITHI_LOG_FORMAT").as_deref() {
        None | Some("text") => LogFormat::Text,
        Some("json") => LogFormat::Json,
        Some(other) => bail!("HOITHI_LOG_FORMAT={other:?} must be \"text\" or \"json\""),
    })
}

/// `HOITHI_WORKER_CONCURRENCY`, by default half the cores (at least one).
fn worker_concurrency(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<usize> {
    let default_concurrency = std::thread::available_parallelism()
        .map(|n| (n.get() / 2).max(1))
        .unwrap_or(1);
    Ok(match get("HOITHI_WORKER_CONCURRENCY") {
        None => default_concurrency,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if (1..=64).contains(&n) => n,
            _ => bail!("HOITHI_WORKER_CONCURRENCY={v:?} must be a whole number from 1 to 64"),
        },
    })
}

fn trusted_proxies(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Vec<IpNetwork>> {
    let mut trusted_proxies = Vec::new();
    for item in get("TRUSTED_PROXIES").unwrap_or_default().split(',') {
        if item.trim().is_empty() {
            continue;
        }
        trusted_proxies.push(IpNetwork::parse(item).with_context(|| {
            format!(
                "TRUSTED_PROXIES has {item:?}, which is not an address or a range like 10.0.0.0/8"
            )
        })?);
    }
    Ok(trusted_proxies)
}

/// A whole number of days from 0 to 3650 in `name`, or `default`.
fn s3_min_free_bytes(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<u64> {
    Ok(match get("HOITHI_S3_MIN_FREE_MB") {
        None => 512 << 20,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(n) if n <= 1 << 30 => n << 20,
            _ => bail!("HOITHI_S3_MIN_FREE_MB={v:?} must be a whole number of MiB"),
        },
    })
}

fn days(get: &impl Fn(&str) -> Option<String>, name: &str, default: i64) -> anyhow::Result<i64> {
    Ok(match get(name) {
        None => default,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (0..=3650).contains(&n) => n,
            _ => bail!("{name}={v:?} must be a whole number of days from 0 to 3650"),
        },
    })
}

fn vote_dispute_days(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<i64> {
    Ok(match get("HOITHI_VOTE_DISPUTE_DAYS") {
        None => 30,
        Some(v) => match v.trim().parse::<i64>() {
            Ok(n) if (0..=3650).contains(&n) => n,
            _ => bail!(
                "HOITHI_VOTE_DISPUTE_DAYS={v:?} must be a whole number of days from 0 to 3650"
            ),
        },
    })
}

fn metrics_listen(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Option<SocketAddr>> {
    Ok(
        match get("HOITHI_METRICS_LISTEN").as_deref().map(str::trim) {
            Some(off) if off.eq_ignore_ascii_case("off") => None,
            value => {
                let value = value.unwrap_or(DEFAULT_METRICS_LISTEN);
                Some(value.parse::<SocketAddr>().with_context(|| {
                format!("HOITHI_METRICS_LISTEN={value:?} is not an address like 127.0.0.1:9464 (or off)")
            })?)
            }
        },
    )
}

#[cfg(test)]
mod tests;
