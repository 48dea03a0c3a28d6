//! Pure rules of voting: a contest's vote policy read from its settings, the network key of a
//! voter's address, and the ingest settings read from the environment. No I/O here.

use std::net::IpAddr;

use serde_json::Value;

/// The most votes per voter, entry and day a contest may allow (the `slot` check in SQL).
pub const MAX_PER_DAY: i64 = 100;
/// The most votes per voter in a contest or a round (the `contest_slot`/`round_slot` checks).
pub const MAX_PER_CONTEST: i64 = 10_000;
/// The highest round number.
pub const MAX_ROUND: i64 = 1000;

/// `contest.settings->'voting'`:
/// `{"per_day": 1, "per_contest": null, "per_round": null, "round": 1, "hide_totals": false,
///   "shuffle": true, "roster": false}`. Anything missing or malformed falls back to the
/// default, so a bad setting never stops the vote. The SQL of `repo::insert_votes` reads the
/// same fields with the same bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VotePolicy {
    /// Votes per voter per entry per day.
    pub per_day: i64,
    /// Votes per voter in the whole contest; `None`: no limit.
    pub per_contest: Option<i64>,
    /// Votes per voter in the current round; `None`: no limit.
    pub per_round: Option<i64>,
    /// The current round (organizers move to the next one, e.g. per livestream).
    pub round: i64,
    pub hide_totals: bool,
    /// While voting, each voter sees the gallery in their own stable random order.
    pub shuffle: bool,
    /// Only voters on the contest's roster may vote.
    pub roster: bool,
}

impl Default for VotePolicy {
    fn default() -> Self {
        Self {
            per_day: 1,
            per_contest: None,
            per_round: None,
            round: 1,
            hide_totals: false,
            shuffle: true,
            roster: false,
        }
    }
}

/// A field of a policy an organizer sent that is out of bounds: (field, stable code).
pub type PolicyError = (&'static str, &'static str);

impl VotePolicy {
    pub fn from_settings(settings: &Value) -> Self {
        let voting = settings.get("voting");
        let int = |key: &str, max: i64| {
            voting
                .and_then(|v| v.get(key))
                .and_then(Value::as_i64)
                .filter(|n| (1..=max).contains(n))
        };
        let flag = |key: &str, default: bool| {
            voting
                .and_then(|v| v.get(key))
                .and_then(Value::as_bool)
                .unwrap_or(default)
        };
        let d = Self::default();
        Self {
            per_day: int("per_day", MAX_PER_DAY).unwrap_or(d.per_day),
            per_contest: int("per_contest", MAX_PER_CONTEST),
            per_round: int("per_round", MAX_PER_CONTEST),
            round: int("round", MAX_ROUND).unwrap_or(d.round),
            hide_totals: flag("hide_totals", d.hide_totals),
            shuffle: flag("shuffle", d.shuffle),
            roster: flag("roster", d.roster),
        }
    }

    /// Checks an organizer's policy; every field out of bounds is named.
    pub fn validate(&self) -> Result<(), Vec<PolicyError>> {
        let mut errors = Vec::new();
        if !(1..=MAX_PER_DAY).contains(&self.per_day) {
            errors.push(("per_day", "invalid-per-day"));
        }
        if self
            .per_contest
            .is_some_and(|n| !(1..=MAX_PER_CONTEST).contains(&n))
        {
            errors.push(("per_contest", "invalid-per-contest"));
        }
        if self
            .per_round
            .is_some_and(|n| !(1..=MAX_PER_CONTEST).contains(&n))
        {
            errors.push(("per_round", "invalid-per-round"));
        }
        if !(1..=MAX_ROUND).contains(&self.round) {
            errors.push(("round", "invalid-round"));
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// Whether vote totals may be shown at `now`: always, unless the policy hides them
    /// until voting closes (`closes_at`; hidden for good when it never does).
    pub fn totals_public(
        &self,
        closes_at: Option<chrono::DateTime<chrono::Utc>>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        !(self.hide_totals && closes_at.is_none_or(|c| now < c))
    }

    /// The JSON stored under `settings.voting` (and answered by the API).
    pub fn to_json(self) -> Value {
        serde_json::json!({
            "per_day": self.per_day,
            "per_contest": self.per_contest,
            "per_round": self.per_round,
            "round": self.round,
            "hide_totals": self.hide_totals,
            "shuffle": self.shuffle,
            "roster": self.roster,
        })
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

/// The client of a request: the peer, unless the peer is a trusted proxy; then the nearest
/// address in `X-Forwarded-For` (read from the right) that is not itself a trusted proxy. A
/// malformed item stops the walk, so a client cannot smuggle a made-up address past a proxy
/// that appends the real one.
pub fn client_ip(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    trusted: &[hoithi_core::config::IpNetwork],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|n| n.contains(ip));
    let mut client = canonical_ip(peer);
    if !is_trusted(client) {
        return client;
    }
    for item in forwarded_for.unwrap_or("").rsplit(',') {
        let Ok(ip) = item.trim().parse::<IpAddr>() else {
            break;
        };
        client = canonical_ip(ip);
        if !is_trusted(client) {
            break;
        }
    }
    client
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

/// The ingest settings, their rates and their parsing live in the one `Config`
/// (`state.config.votes`); re-exported here so the voting code keeps its names.
pub use hoithi_core::config::{Ingest, Rate, Settings};

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
        assert!(p.shuffle && !p.roster);
        assert_eq!((p.per_contest, p.per_round, p.round), (None, None, 1));
    }

    #[test]
    fn contest_and_round_limits_are_read_and_round_trip_through_json() {
        let p = VotePolicy::from_settings(&json!({"voting": {
            "per_contest": 5, "per_round": 2, "round": 3, "shuffle": false, "roster": true}}));
        assert_eq!((p.per_contest, p.per_round, p.round), (Some(5), Some(2), 3));
        assert!(!p.shuffle && p.roster);
        let again = VotePolicy::from_settings(&json!({"voting": p.to_json()}));
        assert_eq!(again, p);
        assert!(p.validate().is_ok());
        let bad = VotePolicy {
            per_day: 0,
            per_contest: Some(0),
            per_round: Some(MAX_PER_CONTEST + 1),
            round: 0,
            ..p
        };
        let fields: Vec<&str> = bad.validate().unwrap_err().iter().map(|e| e.0).collect();
        assert_eq!(fields, ["per_day", "per_contest", "per_round", "round"]);
    }

    #[test]
    fn a_malformed_policy_falls_back_to_the_default() {
        for bad in [
            json!({"voting": {"per_day": 0}}),
            json!({"voting": {"per_day": -5}}),
            json!({"voting": {"per_day": "7"}}),
            json!({"voting": {"per_day": 1e9}}),
            json!({"voting": []}),
            json!({"voting": {"per_contest": 0, "per_round": -1, "round": 5000}}),
            json!("x"),
        ] {
            let p = VotePolicy::from_settings(&bad);
            assert_eq!(p.per_day, 1, "{bad}");
            assert_eq!(
                (p.per_contest, p.per_round, p.round),
                (None, None, 1),
                "{bad}"
            );
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
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        use hoithi_core::config::IpNetwork;
        let trusted = [IpNetwork::parse("10.0.0.0/8").unwrap()];
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // A client talking directly cannot choose its address.
        assert_eq!(
            client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &trusted),
            ip("203.0.113.9")
        );
        // Through the proxy: the address the proxy appended, not the one the client sent.
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("1.2.3.4, 198.51.100.7"), &trusted),
            ip("198.51.100.7")
        );
        // Two proxies in a row.
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("198.51.100.7, 10.0.0.3"), &trusted),
            ip("198.51.100.7")
        );
        // Garbage stops the walk at the last good address.
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("198.51.100.7, nonsense"), &trusted),
            ip("10.0.0.2")
        );
        assert_eq!(client_ip(ip("10.0.0.2"), None, &trusted), ip("10.0.0.2"));
        assert_eq!(
            client_ip(ip("10.0.0.2"), Some("2001:db8::5"), &[]),
            ip("10.0.0.2")
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
