//! Limits on guessing passwords and on making the site send mail, as windowed counters in
//! PostgreSQL (`login_throttle`), so every web node behind the load balancer spends the same
//! budget; a per-process map would give an attacker a fresh budget per node.
//!
//! Failed sign-ins are counted per (email, address), per account across addresses, per
//! address across accounts and per network (/24, /64). Past a counter's free failures it
//! waits 15 s, then twice as long at each further try (tries while waiting count too), at
//! most 15 minutes: an attacker who keeps trying keeps a counter blocked, but one who stops
//! cannot lock anyone out for longer than that. The account's owner is not held back by the
//! account's counter at an address they signed in from before (`sign_in_address`) or from
//! a live session of the same account, and a password reset clears it.
//!
//! Mail and registrations are counted per recipient, per address and per network in fixed
//! windows.

use std::net::IpAddr;

use sqlx::PgPool;

/// A counter and how many free tries it has.
#[derive(Debug, Clone)]
pub struct Counter {
    pub key: String,
    pub free: i32,
}

/// Failures per (email, address) before waiting starts.
pub const FREE_FAILURES: i32 = 5;
/// Failures per account from all addresses together.
pub const FREE_ACCOUNT_FAILURES: i32 = 10;
/// A counter forgets its failures after this long without one.
const FAILURE_WINDOW_SECONDS: i32 = 15 * 60;
/// The longest wait.
const MAX_WAIT_SECONDS: i32 = 15 * 60;
/// The first wait, doubled at each further failure.
const FIRST_WAIT_SECONDS: i32 = 15;
/// Mails (verification, reset, voter codes) to one recipient in a window.
pub const MAILS_PER_RECIPIENT: i32 = 5;

/// The limits per address and per network (`HOITHI_LOGIN_FAILURES_PER_IP`, …), read once
/// with the rest of the `Config`; the functions below take them as a parameter.
pub use hoithi_core::config::Limits;

/// The limits of this process: `limits(&state.config)`.
pub fn limits(config: &hoithi_core::config::Config) -> &Limits {
    &config.limits
}

const SEND_WINDOW_SECONDS: i32 = 15 * 60;

fn network(ip: IpAddr) -> String {
    crate::domain::voting::policy::network_key(ip)
}

/// The sign-in counters of `email` tried from `ip` (`None`: no client address is known,
/// as in in-process tests; only the account's counters apply).
pub struct SignInKeys {
    pub account: Counter,
    pub others: Vec<Counter>,
}

impl SignInKeys {
    pub fn new(limits: &Limits, email: &str, ip: Option<IpAddr>) -> Self {
        let ip_text = ip.map_or_else(|| "-".to_owned(), |ip| ip.to_string());
        let mut others = vec![Counter {
            key: format!("login-pair:{email}|{ip_text}"),
            free: FREE_FAILURES,
        }];
        if let Some(ip) = ip {
            others.push(Counter {
                key: format!("login-ip:{ip}"),
                free: limits.login_per_ip,
            });
            others.push(Counter {
                key: format!("login-net:{}", network(ip)),
                free: limits.login_per_network,
            });
        }
        Self {
            account: Counter {
                key: format!("login-account:{email}"),
                free: FREE_ACCOUNT_FAILURES,
            },
            others,
        }
    }

    fn all(&self) -> impl Iterator<Item = &Counter> {
        std::iter::once(&self.account).chain(&self.others)
    }

    /// Seconds to wait if any counter is blocked now; the account's own counter only when
    /// `account_applies` (the owner at a known address is not held back by it).
    pub async fn blocked_for(
        &self,
        db: &PgPool,
        account_applies: bool,
    ) -> sqlx::Result<Option<i64>> {
        let keys: Vec<&str> = self
            .all()
            .filter(|c| account_applies || c.key != self.account.key)
            .map(|c| c.key.as_str())
            .collect();
        blocked_for(db, &keys).await
    }

    /// Counts a failed try (or a try made while blocked) on every counter; the longest
    /// wait it leaves, if any.
    pub async fn failed(&self, db: &PgPool) -> sqlx::Result<Option<i64>> {
        let mut wait: Option<i64> = None;
        for c in self.all() {
            let w = count_failure(db, c).await?;
            wait = wait.max(w);
        }
        Ok(wait)
    }

    /// A right password: the account's and the pair's counters start again. The address's
    /// and network's do not, or an attacker could wipe them by signing in to an account of
    /// their own between guesses.
    pub async fn succeeded(&self, db: &PgPool) -> sqlx::Result<()> {
        let keys = [self.account.key.as_str(), self.others[0].key.as_str()];
        clear(db, &keys).await
    }
}

/// Seconds until the latest block among `keys` ends, if one is blocked now.
pub async fn blocked_for(db: &PgPool, keys: &[&str]) -> sqlx::Result<Option<i64>> {
    let wait: Option<f64> = sqlx::query_scalar(
        "select max(extract(epoch from blocked_until - now()))::float8 from login_throttle
         where throttle_key = any($1) and blocked_until > now()",
    )
    .bind(keys)
    .fetch_one(db)
    .await?;
    Ok(wait.map(|w| w.ceil().max(1.0) as i64))
}

/// Counts one failure on `c`; returns the wait it now imposes, if any.
async fn count_failure(db: &PgPool, c: &Counter) -> sqlx::Result<Option<i64>> {
    // The exponent is capped so that the doubling never overflows an interval.
    let wait: Option<f64> = sqlx::query_scalar(
        "insert into login_throttle as t (throttle_key, failures, window_start, last_at, blocked_until)
         values ($1, 1, now(), now(),
                 case when $2 <= 1 then now() + make_interval(secs => $4) end)
         on conflict (throttle_key) do update set
           failures = case when t.last_at < now() - make_interval(secs => $3) then 1
                           else t.failures + 1 end,
           window_start = case when t.last_at < now() - make_interval(secs => $3) then now()
                               else t.window_start end,
           last_at = now(),
           blocked_until = case
             when t.last_at >= now() - make_interval(secs => $3) and t.failures + 1 >= $2
             then greatest(coalesce(t.blocked_until, now()), now() + make_interval(secs =>
                  least($5::float8, $4::float8 * power(2::float8, least(t.failures + 1 - $2, 16)))))
             else t.blocked_until end
         returning extract(epoch from t.blocked_until - now())::float8",
    )
    .bind(&c.key)
    .bind(c.free)
    .bind(FAILURE_WINDOW_SECONDS)
    .bind(FIRST_WAIT_SECONDS)
    .bind(MAX_WAIT_SECONDS)
    .fetch_one(db)
    .await?;
    sweep_now_and_then(db).await?;
    Ok(wait.filter(|w| *w > 0.0).map(|w| w.ceil() as i64))
}

/// Forgets counters nobody has hit for a day, once in a while (a counter row per address
/// tried would otherwise stay forever).
async fn sweep_now_and_then(db: &PgPool) -> sqlx::Result<()> {
    if rand::random::<u8>() != 0 {
        return Ok(());
    }
    sqlx::query(
        "delete from login_throttle where last_at < now() - interval '1 day'
         and (blocked_until is null or blocked_until < now())",
    )
    .execute(db)
    .await
    .map(drop)
}

pub async fn clear(db: &PgPool, keys: &[&str]) -> sqlx::Result<()> {
    sqlx::query("delete from login_throttle where throttle_key = any($1)")
        .bind(keys)
        .execute(db)
        .await
        .map(drop)
}

/// The counters of one mail to `recipient` asked for from `ip`.
pub fn mail_counters(limits: &Limits, recipient: &str, ip: Option<IpAddr>) -> Vec<Counter> {
    let mut counters = vec![Counter {
        key: format!("send-to:{}", recipient.trim().to_lowercase()),
        free: MAILS_PER_RECIPIENT,
    }];
    if let Some(ip) = ip {
        counters.push(Counter {
            key: format!("send-ip:{ip}"),
            free: limits.mail_per_ip,
        });
        counters.push(Counter {
            key: format!("send-net:{}", network(ip)),
            free: limits.mail_per_network,
        });
    }
    counters
}

/// The counters of one registration from `ip` (its verification mail adds `mail_counters`).
pub fn registration_counters(limits: &Limits, ip: Option<IpAddr>) -> Vec<Counter> {
    ip.map(|ip| Counter {
        key: format!("register-ip:{ip}"),
        free: limits.registrations_per_ip,
    })
    .into_iter()
    .collect()
}

/// Takes one from each counter's budget of this window; `Some(seconds)` (nothing taken is
/// given back) when one of them is spent, until its window ends.
pub async fn take(db: &PgPool, counters: &[Counter]) -> sqlx::Result<Option<i64>> {
    let mut wait: Option<i64> = None;
    for c in counters {
        let (count, left): (i32, f64) = sqlx::query_as(
            "insert into login_throttle as t (throttle_key, failures, window_start, last_at)
             values ($1, 1, now(), now())
             on conflict (throttle_key) do update set
               failures = case when t.window_start < now() - make_interval(secs => $2) then 1
                               else t.failures + 1 end,
               window_start = case when t.window_start < now() - make_interval(secs => $2)
                                   then now() else t.window_start end,
               last_at = now()
             returning t.failures,
                       extract(epoch from t.window_start + make_interval(secs => $2) - now())::float8",
        )
        .bind(&c.key)
        .bind(SEND_WINDOW_SECONDS)
        .fetch_one(db)
        .await?;
        if count > c.free {
            wait = wait.max(Some(left.ceil().max(1.0) as i64));
        }
    }
    Ok(wait)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_in_counters_cover_the_pair_the_account_the_address_and_its_network() {
        let keys = SignInKeys::new(
            &Limits::default(),
            "an@example.vn",
            Some("203.113.7.42".parse().unwrap()),
        );
        let names: Vec<&str> = keys.all().map(|c| c.key.as_str()).collect();
        assert_eq!(
            names,
            [
                "login-account:an@example.vn",
                "login-pair:an@example.vn|203.113.7.42",
                "login-ip:203.113.7.42",
                "login-net:203.113.7.0/24"
            ]
        );
        let none = SignInKeys::new(&Limits::default(), "an@example.vn", None);
        assert_eq!(
            none.all().count(),
            2,
            "no address: the account and the pair"
        );
    }

    #[test]
    fn limits_per_address_can_be_raised_and_nonsense_keeps_the_default() {
        let l = Limits::from_lookup(|k| match k {
            "HOITHI_LOGIN_FAILURES_PER_IP" => Some("200".into()),
            "HOITHI_MAIL_PER_IP" => Some("0".into()),
            "HOITHI_REGISTRATIONS_PER_IP" => Some("many".into()),
            _ => None,
        });
        assert_eq!(l.login_per_ip, 200);
        assert_eq!(l.mail_per_ip, 20);
        assert_eq!(l.registrations_per_ip, 10);
        assert_eq!(l.login_per_network, 60);
    }
}
