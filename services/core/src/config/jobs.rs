//! Leases and limits of the upload and media roles, and the mail sender's settings.

use std::time::Duration;

use super::read::seconds;

/// Leases of uploads and media jobs, and the media child's wall-clock limit.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSettings {
    /// How long a PATCH holds its upload and renews it while bytes arrive
    /// (`HOITHI_UPLOAD_LEASE_SECONDS`, 1 to 3600, default 60). A node killed mid-PATCH keeps
    /// its upload locked this long, so a resume on another node waits it out.
    pub upload_lease: Duration,
    /// How long a media job's lease lasts without a heartbeat; a SIGKILLed worker's job is
    /// picked up by another worker after this (`HOITHI_WORKER_LEASE_SECONDS`, 1 to 3600,
    /// default 60; tests use 3 s).
    pub worker_lease: Duration,
    /// Wall-clock limit of one media-job child (`HOITHI_MEDIA_TIMEOUT_SECONDS`, default 30 min).
    pub media_timeout: Duration,
    /// Names this node in a job's `leased_by` (`HOSTNAME`, else `host`).
    pub hostname: String,
}

impl JobSettings {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        Ok(Self {
            upload_lease: seconds(get, "HOITHI_UPLOAD_LEASE_SECONDS", 60.0, 1.0, 3600.0)?,
            worker_lease: seconds(get, "HOITHI_WORKER_LEASE_SECONDS", 60.0, 1.0, 3600.0)?,
            media_timeout: seconds(
                get,
                "HOITHI_MEDIA_TIMEOUT_SECONDS",
                30.0 * 60.0,
                1.0,
                7.0 * 24.0 * 3600.0,
            )?,
            hostname: get("HOSTNAME").unwrap_or_else(|| "host".to_owned()),
        })
    }
}

/// The outgoing mail's settings beside `SMTP_URL`.
#[derive(Debug, Clone, PartialEq)]
pub struct MailSettings {
    /// The From address (`HOITHI_MAIL_FROM`); `None`: no-reply at the public URL's host.
    /// The web crate parses it into a mailbox when it starts the sender.
    pub from: Option<String>,
    /// The first retry's delay in seconds, doubling on each later attempt up to an hour
    /// (`HOITHI_MAIL_RETRY_SECONDS`, above 0 up to a day, default 10).
    pub retry_base_seconds: f64,
}

impl MailSettings {
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let retry_base_seconds = match get("HOITHI_MAIL_RETRY_SECONDS") {
            None => 10.0,
            Some(v) => match v.trim().parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => s,
                _ => anyhow::bail!(
                    "HOITHI_MAIL_RETRY_SECONDS={v:?} must be a number of seconds above 0 up to 86400"
                ),
            },
        };
        Ok(Self {
            from: get("HOITHI_MAIL_FROM").map(|f| f.trim().to_owned()),
            retry_base_seconds,
        })
    }
}
