//! Pure rules of voting: a contest's vote policy read from its settings, the network key of a
//! voter's address, and the ingest settings read from the environment. No I/O here.

use std::net::IpAddr;
use std::time::Duration;

use serde_json::Value;

/// The most votes per voter, entry and day a contest may allow (the `slot` check in SQL).
pub const MAX_PER_DAY: i64 = 100;

/// `contest.settings->'voting'`: `{"per_day": 1, "hide_totals": false}`. Anything missing or
/// malformed falls back to the default, so a bad setting never stops the vote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VotePolicy {
    pub per_day: i64,
    pub hide_totals: bool,
}

impl Default for VotePolicy {
    fn default() -> Self {
        Self {
            per_day: 1,
            hide_totals: false,
        }
    }
}

impl VotePolicy {
    pub fn from_settings(settings: &Value) -> Self {
        let voting = settings.get("voting");
        let per_day = voting
            .and_then(|v| v.get("per_day"))
            .and_then(Value::as_i64)
            .filter(|n| (1..=MAX_PER_DAY).contains(n))
            .unwrap_or(1);
        let hide_totals = voting
            .and_then(|v| v.get("hide_totals"))
            .and_then(Value::as_bool)
            .unwrap_or(false);
        Self {
            per_day,
            hide_totals,
        }
    }
}

/// The network a voter's address belongs to for rate limits and fraud review: the /24 of an
/// IPv4 address, the /64 of an IPv6 one (an IPv4-mapped IPv6 address counts as IPv4).
pub fn network_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_key(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                let net = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{net}/64")
            }
        },
    }
}

/// The canonical address stored for a voter (IPv4-mapped IPv6 shown as IPv4).
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// An organizer's network for invalidation: `a.b.c.d/nn`, `x::/nn`, or one address.
pub fn parse_network(s: &str) -> Option<String> {
    let s = s.trim();
    let (addr, len) = match s.split_once('/') {
        Some((a, l)) => (a, Some(l.parse::<u8>().ok()?)),
        None => (s, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then(|| format!("{ip}/{len}"))
}

/// How votes are taken in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ingest {
    /// Concurrent votes share one statement and one commit.
    Batched,
    /// One statement and one commit per vote: the benchmark's baseline.
    Direct,
}

/// A token bucket: `rate` per second, up to `burst` at once; rate 0 turns the limit off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

impl Rate {
    pub fn enabled(&self) -> bool {
        self.per_second > 0.0
    }
}

/// Ingest and live settings (`HOITHI_VOTE_*`, `HOITHI_LIVE_*`), each with a default that
/// fits one small server.
#[derive(Debug, Clone)]
pub struct Settings {
    pub ingest: Ingest,
    /// Votes waiting for a batch; beyond it requests are refused with 503.
    pub queue: usize,
    pub max_batch: usize,
    /// How long a batch waits for more votes after its first one.
    pub linger: Duration,
    /// Batches written at the same time.
    pub flushes: usize,
    pub per_voter: Rate,
    pub per_network: Rate,
    pub keep_alive: Duration,
    /// Resolved bearer tokens are trusted this long before they are looked up again.
    pub token_cache: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_lookup(|_| None).unwrap_or_else(|_| unreachable!("defaults parse"))
    }
}

impl Settings {
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        fn num<T: std::str::FromStr + PartialOrd + Copy + std::fmt::Display>(
            get: &impl Fn(&str) -> Option<String>,
            key: &str,
            default: T,
            min: T,
            max: T,
        ) -> anyhow::Result<T> {
            match get(key) {
                None => Ok(default),
                Some(v) => match v.trim().parse::<T>() {
                    Ok(n) if n >= min && n <= max => Ok(n),
                    _ => anyhow::bail!("{key}={v:?} must be a number from {min} to {max}"),
                },
            }
        }
        let ingest = match get("HOITHI_VOTE_INGEST").as_deref().map(str::trim) {
            None | Some("batched") => Ingest::Batched,
            Some("direct") => Ingest::Direct,
            Some(other) => anyhow::bail!("HOITHI_VOTE_INGEST={other:?} must be batched or direct"),
        };
        Ok(Self {
            ingest,
            queue: num(&get, "HOITHI_VOTE_QUEUE", 20_000, 1, 10_000_000)?,
            max_batch: num(&get, "HOITHI_VOTE_BATCH", 500, 1, 5_000)?,
            linger: Duration::from_millis(num(&get, "HOITHI_VOTE_LINGER_MS", 2, 0, 1_000)?),
            flushes: num(&get, "HOITHI_VOTE_FLUSHES", 4, 1, 64)?,
            per_voter: Rate {
                per_second: num(&get, "HOITHI_VOTE_VOTER_RATE", 1.0, 0.0, 1e9)?,
                burst: num(&get, "HOITHI_VOTE_VOTER_BURST", 30.0, 1.0, 1e9)?,
            },
            per_network: Rate {
                per_second: num(&get, "HOITHI_VOTE_NETWORK_RATE", 100.0, 0.0, 1e9)?,
                burst: num(&get, "HOITHI_VOTE_NETWORK_BURST", 1000.0, 1.0, 1e9)?,
            },
            keep_alive: Duration::from_secs(num(&get, "HOITHI_LIVE_KEEPALIVE_S", 15, 1, 3600)?),
            token_cache: Duration::from_secs(num(&get, "HOITHI_VOTE_TOKEN_CACHE_S", 30, 0, 3600)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use serde_json::json;

    use super::*;

    #[test]
    fn a_policy_defaults_to_one_vote_per_entry_per_day_with_totals_shown() {
        assert_eq!(VotePolicy::from_settings(&json!({})), VotePolicy::default());
        let p = VotePolicy::from_settings(&json!({"voting": {"per_day": 3, "hide_totals": true}}));
        assert_eq!(p.per_day, 3);
        assert!(p.hide_totals);
    }

    #[test]
    fn a_malformed_policy_falls_back_to_the_default() {
        for bad in [
            json!({"voting": {"per_day": 0}}),
            json!({"voting": {"per_day": -5}}),
            json!({"voting": {"per_day": "7"}}),
            json!({"voting": {"per_day": 1e9}}),
            json!({"voting": []}),
            json!("x"),
        ] {
            assert_eq!(VotePolicy::from_settings(&bad).per_day, 1, "{bad}");
        }
    }

    #[test]
    fn networks_are_slash_24_for_ipv4_and_slash_64_for_ipv6() {
        assert_eq!(
            network_key("203.113.7.42".parse().unwrap()),
            "203.113.7.0/24"
        );
        assert_eq!(
            network_key("2001:ee0:4f1:abcd:1:2:3:4".parse().unwrap()),
            "2001:ee0:4f1:abcd::/64"
        );
        assert_eq!(
            network_key("::ffff:10.1.2.3".parse().unwrap()),
            "10.1.2.0/24"
        );
    }

    #[test]
    fn organizer_networks_are_parsed_and_nonsense_refused() {
        assert_eq!(parse_network("10.0.0.0/8").as_deref(), Some("10.0.0.0/8"));
        assert_eq!(parse_network("10.0.0.7").as_deref(), Some("10.0.0.7/32"));
        assert_eq!(
            parse_network("2001:db8::/48").as_deref(),
            Some("2001:db8::/48")
        );
        for bad in [
            "10.0.0.0/33",
            "x",
            "",
            "1.2.3.4/",
            "1.2.3.4/-1",
            "'; drop table vote",
        ] {
            assert_eq!(parse_network(bad), None, "{bad}");
        }
    }

    #[test]
    fn settings_are_read_and_bad_values_name_the_variable() {
        let map: HashMap<&str, &str> =
            [("HOITHI_VOTE_INGEST", "direct"), ("HOITHI_VOTE_QUEUE", "7")]
                .into_iter()
                .collect();
        let s = Settings::from_lookup(|k| map.get(k).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(s.ingest, Ingest::Direct);
        assert_eq!(s.queue, 7);
        let err = Settings::from_lookup(|k| (k == "HOITHI_VOTE_QUEUE").then(|| "0".into()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("HOITHI_VOTE_QUEUE"), "{err}");
        assert!(
            Settings::from_lookup(|k| (k == "HOITHI_VOTE_INGEST").then(|| "fast".into())).is_err()
        );
    }
}
