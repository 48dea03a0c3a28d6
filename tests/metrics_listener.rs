#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! `/metrics`, tried as an attacker would, against the real binary: it is not on the public
//! site, and no request (made-up methods, made-up paths) can add series to it. Operators
//! find it on the listener the server prints at start (`HOITHI_METRICS_LISTEN`).

mod common;

use std::collections::BTreeSet;

use common::{Server, configured, hoithi, metrics_url};
use hoithi_core::testing::TestEnv;

/// The method label values of every `hoithi_http_*` sample in `text`.
fn method_labels(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| l.starts_with("hoithi_http_"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// How many `hoithi_http_requests_total` series `text` has.
fn request_series(text: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with("hoithi_http_requests_total{"))
        .count()
}

async fn scrape(url: &str) -> String {
    let res = reqwest::get(url).await.unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn made_up_methods_and_paths_add_no_series_and_metrics_are_not_on_the_public_site() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    cmd.args(["--roles", "web,upload"]);
    let mut server = Server::start(cmd).await;
    let metrics = metrics_url(&mut server);
    assert_ne!(
        metrics,
        format!("{}/metrics", server.url),
        "its own listener"
    );
    let client = reqwest::Client::new();

    // The public site does not serve them, under any method.
    for method in [reqwest::Method::GET, reqwest::Method::HEAD] {
        let res = client
            .request(method.clone(), format!("{}/metrics", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{method} /metrics on the site");
    }

    // A fresh node: some traffic of every kind a browser makes, then the baseline.
    for path in ["/", "/healthz", "/api/v1/contests"] {
        client
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
    }
    let before = scrape(&metrics).await;
    let known: BTreeSet<String> = [
        "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "other",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    assert!(
        method_labels(&before).is_subset(&known),
        "{:?}",
        method_labels(&before)
    );

    // The attack of the issue: 100 made-up methods, on a route and on made-up paths.
    for i in 0..100 {
        let method = reqwest::Method::from_bytes(format!("FOO{i}").as_bytes()).unwrap();
        let path = if i % 2 == 0 {
            "/healthz".to_owned()
        } else {
            format!("/made/up/{i}/{}", uuid::Uuid::new_v4())
        };
        client
            .request(method, format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        client
            .get(format!("{}/nope-{i}", server.url))
            .send()
            .await
            .unwrap();
    }
    let after = scrape(&metrics).await;
    assert!(!after.contains("FOO"), "made-up methods are not labels");
    assert!(!after.contains("/made/up") && !after.contains("nope-"));
    let labels = method_labels(&after);
    assert!(labels.is_subset(&known), "{labels:?}");
    assert!(labels.contains("other"), "{labels:?}");
    // At most: (other, /healthz, 405), (other, unmatched, 404) and (GET, unmatched, 404).
    let grown = request_series(&after) - request_series(&before);
    assert!(
        grown <= 3,
        "{grown} new series from 200 requests:\n{before}\n---\n{after}"
    );
    assert!(
        after.len() < before.len() + 4096,
        "the scrape stays the same size ({} → {} bytes)",
        before.len(),
        after.len()
    );
    assert!(server.stop().success());
}

#[tokio::test]
async fn metrics_can_be_turned_off_and_the_server_says_so() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    cmd.env("HOITHI_METRICS_LISTEN", "off")
        .args(["--roles", "web"]);
    let server = Server::start(cmd).await;
    let line = server
        .stdout
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    assert!(line.contains("Metrics are off"), "{line}");
    let res = reqwest::get(format!("{}/metrics", server.url))
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert!(server.stop().success());
}

/// The value of the sample `series` (metric name with its labels) in `text`, if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

#[tokio::test]
async fn a_fresh_node_reports_every_job_kind_at_zero_so_alerts_see_a_value_not_an_absent_series() {
    let env = TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = hoithi(data.path());
    configured(&mut cmd, &env);
    // A web node: it enqueues no job and runs none, yet alerting scrapes every node.
    cmd.args(["--roles", "web"]);
    let mut server = Server::start(cmd).await;
    let text = scrape(&metrics_url(&mut server)).await;

    let kinds = hoithi_core::job::KINDS;
    assert!(kinds.contains(&"process-media"), "{kinds:?}");
    for kind in kinds {
        for gauge in [
            "hoithi_jobs_queued",
            "hoithi_jobs_running",
            "hoithi_jobs_dead",
            "hoithi_jobs_oldest_queued_age_seconds",
        ] {
            let series = format!(r#"{gauge}{{kind="{kind}"}}"#);
            assert_eq!(sample(&text, &series), Some(0.0), "{series} in:\n{text}");
        }
        for outcome in hoithi_core::job::OUTCOMES {
            let series =
                format!(r#"hoithi_jobs_finished_total{{kind="{kind}",outcome="{outcome}"}}"#);
            assert_eq!(sample(&text, &series), Some(0.0), "{series} in:\n{text}");
        }
    }
    // Still there on the next scrape (each scrape rereads the queue from the database).
    let again = scrape(&metrics_url(&mut server)).await;
    assert_eq!(
        sample(&again, r#"hoithi_jobs_queued{kind="process-media"}"#),
        Some(0.0),
        "{again}"
    );
    assert!(server.stop().success());
}
