//! Settings read from the environment. Every setting has a default that runs the whole
//! platform on one machine (embedded PostgreSQL and S3); production sets the external ones.

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
    /// Where `/metrics` (and a detailed `/readyz`) are served for operators, apart from the
    /// public site (`HOITHI_METRICS_LISTEN`, default 127.0.0.1:9464; `off`: nowhere).
    pub metrics_listen: Option<SocketAddr>,
}

/// The default operators' listener: loopback, Prometheus's customary exporter port range.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// An address range such as `10.0.0.0/8` or `fd00::/8` (one address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: std::net::IpAddr,
    prefix: u8,
}

impl IpNetwork {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p.parse::<u8>().ok()?)),
            None => (s, None),
        };
        let addr: std::net::IpAddr = addr.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = prefix.unwrap_or(max);
        (prefix <= max).then_some(Self { addr, prefix })
    }

    /// Whether `ip` is in the range (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl Config {
    /// Reads the settings from the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|key| std::env::var(key).ok().filter(|v| !v.trim().is_empty()))
    }

    /// Reads the settings through `get` (a map in tests, the environment in production).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let listen = get("HOITHI_LISTEN").unwrap_or_else(|| "127.0.0.1:8080".to_owned());
        let listen: SocketAddr = listen.parse().with_context(|| {
            format!("HOITHI_LISTEN={listen:?} is not an address like 127.0.0.1:8080")
        })?;
        let data_dir = PathBuf::from(get("HOITHI_DATA").unwrap_or_else(|| "./data".to_owned()));

        let s3 = match get("S3_ENDPOINT") {
            None => None,
            Some(endpoint) => {
                let need = |key: &str| {
                    get(key)
                        .with_context(|| format!("S3_ENDPOINT is set, so {key} must be set too"))
                };
                Some(S3Settings {
                    endpoint,
                    bucket: need("S3_BUCKET")?,
                    access_key_id: need("S3_ACCESS_KEY_ID")?,
                    secret_access_key: need("S3_SECRET_ACCESS_KEY")?,
                    region: get("S3_REGION").unwrap_or_else(|| "us-east-1".to_owned()),
                })
            }
        };

        let log_format = match get("HOITHI_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("HOITHI_LOG_FORMAT={other:?} must be \"text\" or \"json\""),
        };

        let default_concurrency = std::thread::available_parallelism()
            .map(|n| (n.get() / 2).max(1))
            .unwrap_or(1);
        let worker_concurrency = match get("HOITHI_WORKER_CONCURRENCY") {
            None => default_concurrency,
            Some(v) => match v.parse::<usize>() {
                Ok(n) if (1..=64).contains(&n) => n,
                _ => bail!("HOITHI_WORKER_CONCURRENCY={v:?} must be a whole number from 1 to 64"),
            },
        };

        let mut trusted_proxies = Vec::new();
        for item in get("TRUSTED_PROXIES").unwrap_or_default().split(',') {
            if item.trim().is_empty() {
                continue;
            }
            trusted_proxies.push(IpNetwork::parse(item).with_context(|| {
                format!("TRUSTED_PROXIES has {item:?}, which is not an address or a range like 10.0.0.0/8")
            })?);
        }
        let vote_dispute_days = match get("HOITHI_VOTE_DISPUTE_DAYS") {
            None => 30,
            Some(v) => match v.trim().parse::<i64>() {
                Ok(n) if (0..=3650).contains(&n) => n,
                _ => bail!(
                    "HOITHI_VOTE_DISPUTE_DAYS={v:?} must be a whole number of days from 0 to 3650"
                ),
            },
        };

        let metrics_listen = match get("HOITHI_METRICS_LISTEN").as_deref().map(str::trim) {
            Some(off) if off.eq_ignore_ascii_case("off") => None,
            value => {
                let value = value.unwrap_or(DEFAULT_METRICS_LISTEN);
                Some(value.parse::<SocketAddr>().with_context(|| {
                    format!(
                        "HOITHI_METRICS_LISTEN={value:?} is not an address like 127.0.0.1:9464 (or off)"
                    )
                })?)
            }
        };

        Ok(Self {
            listen,
            data_dir,
            database_url: get("DATABASE_URL"),
            s3,
            embedded_bucket: "hoithi".to_owned(),
            pg_bin_dir: get("HOITHI_PG_BIN_DIR").map(PathBuf::from),
            log_format,
            public_url: get("HOITHI_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned()),
            smtp_url: get("SMTP_URL"),
            worker_concurrency,
            trusted_proxies,
            vote_dispute_days,
            metrics_listen,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(pairs: &[(&str, &str)]) -> anyhow::Result<Config> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn no_settings_means_embedded_services_on_localhost_8080() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(c.data_dir, PathBuf::from("./data"));
        assert!(c.database_url.is_none());
        assert!(c.s3.is_none());
        assert_eq!(c.log_format, LogFormat::Text);
    }

    #[test]
    fn an_s3_endpoint_without_its_credentials_is_refused_with_the_missing_name() {
        let err = config(&[("S3_ENDPOINT", "http://127.0.0.1:9000"), ("S3_BUCKET", "b")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("S3_ACCESS_KEY_ID"), "{err}");
    }

    #[test]
    fn trusted_proxies_and_the_dispute_window_are_read_and_nonsense_named() {
        let c = config(&[
            ("TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.7,fd00::/8"),
            ("HOITHI_VOTE_DISPUTE_DAYS", "7"),
        ])
        .unwrap();
        assert_eq!(c.vote_dispute_days, 7);
        let inside = |ip: &str| {
            c.trusted_proxies
                .iter()
                .any(|n| n.contains(ip.parse().unwrap()))
        };
        assert!(inside("10.200.3.4") && inside("192.168.1.7") && inside("fd12::1"));
        assert!(inside("::ffff:10.1.1.1"));
        assert!(!inside("192.168.1.8") && !inside("11.0.0.1") && !inside("fe80::1"));
        assert_eq!(config(&[]).unwrap().vote_dispute_days, 30);
        assert!(config(&[]).unwrap().trusted_proxies.is_empty());
        for bad in ["10.0.0.0/33", "proxy.local", "1.2.3.4/x"] {
            let err = config(&[("TRUSTED_PROXIES", bad)]).unwrap_err().to_string();
            assert!(err.contains("TRUSTED_PROXIES"), "{err}");
        }
        let err = config(&[("HOITHI_VOTE_DISPUTE_DAYS", "-1")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HOITHI_VOTE_DISPUTE_DAYS"), "{err}");
    }

    #[test]
    fn metrics_listen_on_loopback_by_default_and_can_be_moved_or_turned_off() {
        assert_eq!(
            config(&[]).unwrap().metrics_listen.unwrap().to_string(),
            "127.0.0.1:9464"
        );
        let moved = config(&[("HOITHI_METRICS_LISTEN", "0.0.0.0:9100")]).unwrap();
        assert_eq!(moved.metrics_listen.unwrap().to_string(), "0.0.0.0:9100");
        assert!(
            config(&[("HOITHI_METRICS_LISTEN", "off")])
                .unwrap()
                .metrics_listen
                .is_none()
        );
        let err = config(&[("HOITHI_METRICS_LISTEN", "9464")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HOITHI_METRICS_LISTEN"), "{err}");
    }

    #[test]
    fn a_bad_listen_address_names_the_setting() {
        let err = config(&[("HOITHI_LISTEN", "localhost")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HOITHI_LISTEN"), "{err}");
    }

    #[test]
    fn json_logs_and_worker_concurrency_are_read() {
        let c = config(&[
            ("HOITHI_LOG_FORMAT", "json"),
            ("HOITHI_WORKER_CONCURRENCY", "3"),
        ])
        .unwrap();
        assert_eq!(c.log_format, LogFormat::Json);
        assert_eq!(c.worker_concurrency, 3);
        assert!(config(&[("HOITHI_WORKER_CONCURRENCY", "0")]).is_err());
    }
}
