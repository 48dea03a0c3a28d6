//! Vote ingest and live settings (`HOITHI_VOTE_*`, `HOITHI_LIVE_*`).

use std::time::Duration;

use super::read::num;

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

    /// This node's share of a budget meant for the whole cluster of `nodes` web nodes behind
    /// a balancer that spreads one client's requests over all of them: each node's bucket
    /// fills `1/nodes` as fast and holds `1/nodes` as much (at least one vote).
    pub fn shared_by(self, nodes: u32) -> Self {
        let n = f64::from(nodes.max(1));
        Self {
            per_second: self.per_second / n,
            burst: (self.burst / n).max(1.0),
        }
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
    pub per_ip: Rate,
    pub per_network: Rate,
    /// Above these (lower) rates a vote needs a solved proof-of-work challenge; each is off
    /// when its hard limit above is off.
    pub challenge_voter: Rate,
    pub challenge_ip: Rate,
    pub challenge_network: Rate,
    /// The largest secret number of a challenge: the work a browser does (about half of it
    /// on average; 100,000 SHA-256 hashes take well under a second on a phone).
    pub challenge_max_number: u64,
    pub keep_alive: Duration,
    /// Resolved bearer tokens are trusted this long before they are looked up again.
    pub token_cache: Duration,
    /// Web nodes that share the rate budgets above (`HOITHI_VOTE_NODES`, default 1). The
    /// buckets live in each process (a database round trip per vote would halve the ingest
    /// rate), so with N nodes a client spread over all of them gets N times a node's budget;
    /// each node therefore takes `1/N` of every rate. With sticky routing (one client, one
    /// node) leave it at 1. The exact limits (votes per voter per entry and day, sign-in
    /// failures, mails) are counted in PostgreSQL and hold across nodes whatever this says.
    pub nodes: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self::from_lookup(|_| None).unwrap_or_else(|_| unreachable!("defaults parse"))
    }
}

/// `{prefix}_RATE` per second and `{prefix}_BURST` at once.
fn rate(
    get: &impl Fn(&str) -> Option<String>,
    prefix: &str,
    per_second: f64,
    burst: f64,
) -> anyhow::Result<Rate> {
    Ok(Rate {
        per_second: num(get, &format!("{prefix}_RATE"), per_second, 0.0, 1e9)?,
        burst: num(get, &format!("{prefix}_BURST"), burst, 1.0, 1e9)?,
    })
}

impl Settings {
    /// Reads the settings through `get`; `Config::from_lookup` calls it with the same lookup.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let ingest = match get("HOITHI_VOTE_INGEST").as_deref().map(str::trim) {
            None | Some("batched") => Ingest::Batched,
            Some("direct") => Ingest::Direct,
            Some(other) => anyhow::bail!("HOITHI_VOTE_INGEST={other:?} must be batched or direct"),
        };
        let get = &get;
        let nodes: u32 = num(get, "HOITHI_VOTE_NODES", 1, 1, 1_000)?;
        let rate = |prefix: &str, per_second: f64, burst: f64| {
            rate(get, prefix, per_second, burst).map(|r| r.shared_by(nodes))
        };
        Ok(Self {
            ingest,
            queue: num(get, "HOITHI_VOTE_QUEUE", 20_000, 1, 10_000_000)?,
            max_batch: num(get, "HOITHI_VOTE_BATCH", 500, 1, 5_000)?,
            linger: Duration::from_millis(num(get, "HOITHI_VOTE_LINGER_MS", 2, 0, 1_000)?),
            flushes: num(get, "HOITHI_VOTE_FLUSHES", 2, 1, 64)?,
            per_voter: rate("HOITHI_VOTE_VOTER", 1.0, 30.0)?,
            per_ip: rate("HOITHI_VOTE_IP", 50.0, 500.0)?,
            per_network: rate("HOITHI_VOTE_NETWORK", 100.0, 1000.0)?,
            challenge_voter: rate("HOITHI_VOTE_CHALLENGE_VOTER", 0.1, 10.0)?,
            challenge_ip: rate("HOITHI_VOTE_CHALLENGE_IP", 10.0, 150.0)?,
            challenge_network: rate("HOITHI_VOTE_CHALLENGE_NETWORK", 20.0, 300.0)?,
            challenge_max_number: num(
                get,
                "HOITHI_VOTE_CHALLENGE_MAX_NUMBER",
                100_000,
                10,
                100_000_000,
            )?,
            keep_alive: Duration::from_secs(num(get, "HOITHI_LIVE_KEEPALIVE_S", 15, 1, 3600)?),
            token_cache: Duration::from_secs(num(get, "HOITHI_VOTE_TOKEN_CACHE_S", 30, 0, 3600)?),
            nodes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> anyhow::Result<Settings> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| vars.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()))
    }

    #[test]
    fn nodes_divide_every_rate_budget_so_the_cluster_keeps_one_budget() {
        let one = settings(&[
            ("HOITHI_VOTE_IP_RATE", "60"),
            ("HOITHI_VOTE_IP_BURST", "600"),
        ])
        .unwrap();
        let three = settings(&[
            ("HOITHI_VOTE_IP_RATE", "60"),
            ("HOITHI_VOTE_IP_BURST", "600"),
            ("HOITHI_VOTE_NODES", "3"),
        ])
        .unwrap();
        assert_eq!(one.nodes, 1);
        assert_eq!(three.nodes, 3);
        assert_eq!(
            three.per_ip,
            Rate {
                per_second: 20.0,
                burst: 200.0
            }
        );
        for (a, b) in [
            (one.per_voter, three.per_voter),
            (one.per_network, three.per_network),
            (one.challenge_voter, three.challenge_voter),
            (one.challenge_ip, three.challenge_ip),
            (one.challenge_network, three.challenge_network),
        ] {
            assert!(
                (a.per_second / 3.0 - b.per_second).abs() < 1e-9,
                "{a:?} {b:?}"
            );
            assert!(b.burst >= 1.0 && b.burst <= a.burst);
        }
        // A burst never drops below one vote, and a turned-off limit stays off.
        let many = settings(&[
            ("HOITHI_VOTE_NODES", "100"),
            ("HOITHI_VOTE_VOTER_RATE", "0"),
        ])
        .unwrap();
        assert_eq!(many.per_voter.burst, 1.0);
        assert!(!many.per_voter.enabled());
    }

    #[test]
    fn a_node_count_out_of_range_is_refused_at_start() {
        assert!(settings(&[("HOITHI_VOTE_NODES", "0")]).is_err());
        assert!(settings(&[("HOITHI_VOTE_NODES", "two")]).is_err());
    }
}
