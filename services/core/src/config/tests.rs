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
    assert_eq!(config(&[]).unwrap().account_deletion_days, 7);
    assert_eq!(
        config(&[("HOITHI_ACCOUNT_DELETION_DAYS", "0")])
            .unwrap()
            .account_deletion_days,
        0
    );
    assert!(config(&[("HOITHI_ACCOUNT_DELETION_DAYS", "-1")]).is_err());
    assert_eq!(config(&[]).unwrap().s3_min_free_bytes, 512 << 20);
    assert_eq!(
        config(&[("HOITHI_S3_MIN_FREE_MB", "0")])
            .unwrap()
            .s3_min_free_bytes,
        0
    );
    assert!(config(&[("HOITHI_S3_MIN_FREE_MB", "half")]).is_err());
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

#[test]
fn account_limits_are_read_and_nonsense_keeps_the_default() {
    assert_eq!(config(&[]).unwrap().limits, Limits::default());
    let c = config(&[
        ("HOITHI_LOGIN_FAILURES_PER_IP", "200"),
        ("HOITHI_MAIL_PER_NETWORK", "600"),
        ("HOITHI_REGISTRATIONS_PER_IP", "many"),
        ("HOITHI_MAIL_PER_IP", "0"),
    ])
    .unwrap();
    assert_eq!(c.limits.login_per_ip, 200);
    assert_eq!(c.limits.mail_per_network, 600);
    assert_eq!(c.limits.registrations_per_ip, 10);
    assert_eq!(c.limits.mail_per_ip, 20);
}

#[test]
fn vote_settings_are_read_and_a_bad_one_is_named() {
    let c = config(&[
        ("HOITHI_VOTE_INGEST", "direct"),
        ("HOITHI_VOTE_BATCH", "50"),
        ("HOITHI_VOTE_IP_RATE", "0"),
        ("HOITHI_LIVE_KEEPALIVE_S", "2"),
    ])
    .unwrap();
    assert_eq!(c.votes.ingest, Ingest::Direct);
    assert_eq!(c.votes.max_batch, 50);
    assert!(!c.votes.per_ip.enabled());
    assert_eq!(c.votes.keep_alive, std::time::Duration::from_secs(2));
    assert_eq!(config(&[]).unwrap().votes.queue, 20_000);
    for (key, bad) in [
        ("HOITHI_VOTE_INGEST", "fast"),
        ("HOITHI_VOTE_QUEUE", "0"),
        ("HOITHI_VOTE_VOTER_BURST", "lots"),
    ] {
        let err = config(&[(key, bad)]).unwrap_err().to_string();
        assert!(err.contains(key), "{err}");
    }
}

#[test]
fn leases_and_the_media_timeout_are_read_and_a_bad_one_is_named() {
    use std::time::Duration;
    let d = config(&[]).unwrap().jobs;
    assert_eq!(d.upload_lease, Duration::from_secs(60));
    assert_eq!(d.worker_lease, Duration::from_secs(60));
    assert_eq!(d.media_timeout, Duration::from_secs(30 * 60));
    assert_eq!(d.hostname, "host");
    let c = config(&[
        ("HOITHI_UPLOAD_LEASE_SECONDS", "3"),
        ("HOITHI_WORKER_LEASE_SECONDS", "2.5"),
        ("HOITHI_MEDIA_TIMEOUT_SECONDS", "90"),
        ("HOSTNAME", "node-7"),
    ])
    .unwrap()
    .jobs;
    assert_eq!(c.upload_lease, Duration::from_secs(3));
    assert_eq!(c.worker_lease, Duration::from_millis(2500));
    assert_eq!(c.media_timeout, Duration::from_secs(90));
    assert_eq!(c.hostname, "node-7");
    for (key, bad) in [
        ("HOITHI_UPLOAD_LEASE_SECONDS", "0"),
        ("HOITHI_UPLOAD_LEASE_SECONDS", "a minute"),
        ("HOITHI_WORKER_LEASE_SECONDS", "3601"),
        ("HOITHI_MEDIA_TIMEOUT_SECONDS", "-5"),
        ("HOITHI_MEDIA_TIMEOUT_SECONDS", "NaN"),
    ] {
        let err = config(&[(key, bad)]).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains("seconds"), "{err}");
    }
}

#[test]
fn the_mail_sender_address_and_retry_delay_are_read_and_a_bad_delay_is_named() {
    let d = config(&[]).unwrap().mail;
    assert_eq!(d.from, None);
    assert!((d.retry_base_seconds - 10.0).abs() < f64::EPSILON);
    let c = config(&[
        ("HOITHI_MAIL_FROM", "Hội Thi <no-reply@hoithi.example.vn>"),
        ("HOITHI_MAIL_RETRY_SECONDS", "0.5"),
    ])
    .unwrap()
    .mail;
    assert_eq!(
        c.from.as_deref(),
        Some("Hội Thi <no-reply@hoithi.example.vn>")
    );
    assert!((c.retry_base_seconds - 0.5).abs() < f64::EPSILON);
    for bad in ["0", "-1", "soon", "inf"] {
        let err = config(&[("HOITHI_MAIL_RETRY_SECONDS", bad)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("HOITHI_MAIL_RETRY_SECONDS"), "{err}");
    }
}
