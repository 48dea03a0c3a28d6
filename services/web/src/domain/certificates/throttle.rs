//! Look-ups of the public check page, counted per address and per network in the same
//! windowed counters (`people::throttle`) as the other public limits, so every web node spends
//! one budget and codes cannot be tried in bulk. A person checking a few certificates never
//! meets the limit.

use std::net::IpAddr;

use sqlx::PgPool;

use crate::domain::people::throttle::{Counter, take as take_counters};

/// Look-ups per address in a window.
pub const PER_IP: i32 = 60;
/// Look-ups per network (/24, /64) in a window.
pub const PER_NETWORK: i32 = 300;

fn counters(ip: Option<IpAddr>) -> Vec<Counter> {
    let Some(ip) = ip else {
        return Vec::new();
    };
    vec![
        Counter {
            key: format!("verify-ip:{ip}"),
            free: PER_IP,
        },
        Counter {
            key: format!(
                "verify-net:{}",
                crate::domain::voting::policy::network_key(ip)
            ),
            free: PER_NETWORK,
        },
    ]
}

/// Takes one look-up from `ip`'s budget; `Some(seconds)` to wait when it is spent.
pub async fn take(db: &PgPool, ip: Option<IpAddr>) -> sqlx::Result<Option<i64>> {
    take_counters(db, &counters(ip)).await
}
