//! Account limits: failed sign-ins, mails and registrations per address and per network.

/// The limits per address and per network, which a crowd behind one address (a school's
/// Wi-Fi at a contest evening) shares, so an operator can raise them:
/// `HOITHI_LOGIN_FAILURES_PER_IP` (20) and `…_PER_NETWORK` (60) failed sign-ins,
/// `HOITHI_MAIL_PER_IP` (20) and `…_PER_NETWORK` (60) mails, `HOITHI_REGISTRATIONS_PER_IP`
/// (10) registrations, each in 15 minutes. A value that is not a whole number from 1 to
/// 100000 is ignored (the default holds): a typo must not lock a contest evening out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    pub login_per_ip: i32,
    pub login_per_network: i32,
    pub mail_per_ip: i32,
    pub mail_per_network: i32,
    pub registrations_per_ip: i32,
}

impl Default for Limits {
    fn default() -> Self {
        Self::from_lookup(|_| None)
    }
}

impl Limits {
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Self {
        let num = |key: &str, default: i32| {
            get(key)
                .and_then(|v| v.trim().parse::<i32>().ok())
                .filter(|n| (1..=100_000).contains(n))
                .unwrap_or(default)
        };
        Self {
            login_per_ip: num("HOITHI_LOGIN_FAILURES_PER_IP", 20),
            login_per_network: num("HOITHI_LOGIN_FAILURES_PER_NETWORK", 60),
            mail_per_ip: num("HOITHI_MAIL_PER_IP", 20),
            mail_per_network: num("HOITHI_MAIL_PER_NETWORK", 60),
            registrations_per_ip: num("HOITHI_REGISTRATIONS_PER_IP", 10),
        }
    }
}
