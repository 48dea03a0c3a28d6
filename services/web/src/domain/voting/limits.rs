//! Per-process rate limits of voters and networks (token buckets), and a short-lived cache of
//! resolved bearer tokens so a vote spike does not write `api_token.last_used_at` per request.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use hoithi_core::auth::CurrentUser;

use super::policy::Rate;

/// Entries kept before idle ones are swept, so a flood of new keys cannot grow memory forever.
const MAX_KEYS: usize = 200_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

pub struct Limiter<K> {
    rate: Rate,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> Limiter<K> {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`, or says how long until one is available.
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Duration> {
        if !self.rate.enabled() {
            return Ok(());
        }
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let rate = self.rate;
            // A bucket refilled to its burst holds no information: forget it.
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * rate.per_second < rate.burst
            });
            if buckets.len() >= MAX_KEYS {
                return Err(Duration::from_secs(1));
            }
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: self.rate.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate.per_second).min(self.rate.burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - bucket.tokens) / self.rate.per_second;
            Err(Duration::from_secs_f64(wait.max(0.001)))
        }
    }
}

/// Bearer token (its SHA-256) → user, trusted for `ttl`.
pub struct TokenCache {
    ttl: Duration,
    users: Mutex<HashMap<[u8; 32], (CurrentUser, Instant)>>,
}

impl TokenCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            users: Mutex::new(HashMap::new()),
        }
    }

    pub fn get(&self, key: &[u8; 32], now: Instant) -> Option<CurrentUser> {
        let users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users
            .get(key)
            .filter(|(_, at)| now.saturating_duration_since(*at) < self.ttl)
            .map(|(u, _)| u.clone())
    }

    pub fn put(&self, key: [u8; 32], user: CurrentUser, now: Instant) {
        if self.ttl.is_zero() {
            return;
        }
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if users.len() >= MAX_KEYS {
            let ttl = self.ttl;
            users.retain(|_, (_, at)| now.saturating_duration_since(*at) < ttl);
            if users.len() >= MAX_KEYS {
                users.clear();
            }
        }
        // Entries expire after ttl/2..ttl, at random: voters first seen together in a spike
        // are not all looked up again in the same instant.
        let jitter = self.ttl.mul_f64(rand::random::<f64>() * 0.5);
        users.insert(key, (user, now.checked_sub(jitter).unwrap_or(now)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_says_when_to_retry() {
        let limiter = Limiter::new(Rate {
            per_second: 2.0,
            burst: 3.0,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(&1, t0).is_ok());
        }
        let wait = limiter.check(&1, t0).unwrap_err();
        assert!(
            wait <= Duration::from_millis(500) && wait > Duration::ZERO,
            "{wait:?}"
        );
        assert!(limiter.check(&2, t0).is_ok(), "keys are independent");
        assert!(limiter.check(&1, t0 + Duration::from_millis(500)).is_ok());
    }

    #[test]
    fn a_zero_rate_turns_the_limit_off() {
        let limiter = Limiter::new(Rate {
            per_second: 0.0,
            burst: 1.0,
        });
        let t0 = Instant::now();
        for _ in 0..1000 {
            assert!(limiter.check(&"x", t0).is_ok());
        }
    }
}
