//! Process metrics in the Prometheus/OpenMetrics text format, served at `/metrics`. Every role
//! records into the one registry here; queue figures are read from PostgreSQL at scrape time.
//! The names and meanings are listed in docs/operations.md.

use std::sync::LazyLock;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    pub method: String,
    pub route: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    pub method: String,
    pub route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct JobLabels {
    pub kind: String,
    pub outcome: String,
}

pub struct Metrics {
    registry: Registry,
    pub http_requests: Family<HttpLabels, Counter>,
    pub http_seconds: Family<RouteLabels, Histogram>,
    pub upload_bytes: Counter,
    pub uploads_active: Gauge,
    pub jobs_queued: Family<KindLabels, Gauge>,
    pub jobs_running: Family<KindLabels, Gauge>,
    pub jobs_oldest_queued_seconds: Family<KindLabels, Gauge<f64, AtomicU64>>,
    pub jobs_dead: Family<KindLabels, Gauge>,
    pub jobs_finished: Family<JobLabels, Counter>,
    pub transcode_seconds: Family<KindLabels, Histogram>,
    pub votes: Family<OutcomeLabels, Counter>,
    pub vote_batch_size: Histogram,
    pub vote_batch_seconds: Histogram,
    pub sse_clients: Gauge,
    /// `hoithi_build_info{version="…"} 1`: which build a node runs (set by the binary).
    pub build_info: Family<VersionLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    ])
}

fn transcode_histogram() -> Histogram {
    Histogram::new([1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0])
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("hoithi");
        let m = Self {
            http_requests: Family::default(),
            http_seconds: Family::new_with_constructor(latency_histogram),
            upload_bytes: Counter::default(),
            uploads_active: Gauge::default(),
            jobs_queued: Family::default(),
            jobs_running: Family::default(),
            jobs_oldest_queued_seconds: Family::default(),
            jobs_dead: Family::default(),
            jobs_finished: Family::default(),
            transcode_seconds: Family::new_with_constructor(transcode_histogram),
            votes: Family::default(),
            vote_batch_size: Histogram::new([
                1.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0,
            ]),
            vote_batch_seconds: Histogram::new([
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0,
            ]),
            sse_clients: Gauge::default(),
            build_info: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "build_info",
            "The build this process runs (its version as a label), always 1",
            m.build_info.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests by method, matched route and status",
            m.http_requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            m.http_seconds.clone(),
        );
        registry.register(
            "upload_bytes",
            "Bytes received by the upload service",
            m.upload_bytes.clone(),
        );
        registry.register(
            "uploads_active",
            "Upload requests (PATCH) in progress",
            m.uploads_active.clone(),
        );
        registry.register(
            "jobs_queued",
            "Jobs waiting to run, by kind",
            m.jobs_queued.clone(),
        );
        registry.register(
            "jobs_running",
            "Jobs leased by a worker, by kind",
            m.jobs_running.clone(),
        );
        registry.register(
            "jobs_oldest_queued_age_seconds",
            "Age of the oldest job waiting to run, by kind",
            m.jobs_oldest_queued_seconds.clone(),
        );
        registry.register(
            "jobs_dead",
            "Jobs that failed every attempt, by kind",
            m.jobs_dead.clone(),
        );
        registry.register(
            "jobs_finished",
            "Jobs finished by this process, by kind and outcome",
            m.jobs_finished.clone(),
        );
        registry.register(
            "transcode_duration_seconds",
            "Wall time of media processing, by kind",
            m.transcode_seconds.clone(),
        );
        registry.register(
            "votes",
            "Votes answered, by outcome (counted, duplicate, rejected, overload)",
            m.votes.clone(),
        );
        registry.register(
            "vote_batch_size",
            "Votes written by one statement and commit of the vote batcher",
            m.vote_batch_size.clone(),
        );
        registry.register(
            "vote_batch_duration_seconds",
            "Time to write and commit one vote batch",
            m.vote_batch_seconds.clone(),
        );
        registry.register(
            "sse_clients",
            "Open live-update (SSE) connections",
            m.sse_clients.clone(),
        );
        m.zero_job_series();
        Self { registry, ..m }
    }

    /// Creates the series of every known job kind (and finished outcome) at 0: a fresh node
    /// then reports `hoithi_jobs_queued{kind="process-media"} 0` rather than nothing, which
    /// alert rules (and `absent()`) cannot tell from a broken scrape.
    fn zero_job_series(&self) {
        for kind in crate::job::KINDS {
            let labels = KindLabels {
                kind: (*kind).to_owned(),
            };
            self.jobs_queued.get_or_create(&labels).set(0);
            self.jobs_running.get_or_create(&labels).set(0);
            self.jobs_dead.get_or_create(&labels).set(0);
            self.jobs_oldest_queued_seconds
                .get_or_create(&labels)
                .set(0.0);
            for outcome in crate::job::OUTCOMES {
                // Creating the counter is enough: it starts at 0.
                let _ = self.jobs_finished.get_or_create(&JobLabels {
                    kind: (*kind).to_owned(),
                    outcome: (*outcome).to_owned(),
                });
            }
        }
    }
}

/// The one global registry left on purpose: Prometheus counters describe the process, not a
/// request's state, every role of the process adds to the same `/metrics`, and instrumenting
/// code deep in a pipeline (the worker's child, the upload stream) must not need the
/// `AppState` threaded to it. Everything else a process shares lives in `AppState`.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Records the build's version as `hoithi_build_info{version} 1` (once per process).
pub fn set_build_info(version: &str) {
    METRICS.build_info.clear();
    METRICS
        .build_info
        .get_or_create(&VersionLabels {
            version: version.to_owned(),
        })
        .set(1);
}

/// Reads the job queue's figures from the database into the gauges.
pub async fn refresh_queue(db: &sqlx::PgPool) -> sqlx::Result<()> {
    let rows: Vec<(String, String, i64, Option<f64>)> = sqlx::query_as(
        "select kind, status, count(*),
                extract(epoch from now() - min(run_at))::float8
         from job where status in ('queued', 'running', 'dead') group by kind, status",
    )
    .fetch_all(db)
    .await?;
    let m = &*METRICS;
    m.jobs_queued.clear();
    m.jobs_running.clear();
    m.jobs_dead.clear();
    m.jobs_oldest_queued_seconds.clear();
    // Known kinds stay at 0 when the queue has none of them; kinds the database holds but this
    // version does not know (left by another version) still show up below.
    m.zero_job_series();
    for (kind, status, count, oldest) in rows {
        let labels = KindLabels { kind };
        match status.as_str() {
            "queued" => {
                m.jobs_queued.get_or_create(&labels).set(count);
                m.jobs_oldest_queued_seconds
                    .get_or_create(&labels)
                    .set(oldest.unwrap_or(0.0).max(0.0));
            }
            "running" => {
                m.jobs_running.get_or_create(&labels).set(count);
            }
            _ => {
                m.jobs_dead.get_or_create(&labels).set(count);
            }
        }
    }
    Ok(())
}

/// The registry in the OpenMetrics text format.
pub fn encode() -> String {
    let mut out = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut out, &METRICS.registry) {
        tracing::error!(error = %err, "encoding metrics failed");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_values_appear_in_the_text_format() {
        METRICS
            .http_requests
            .get_or_create(&HttpLabels {
                method: "GET".into(),
                route: "/x/{id}".into(),
                status: 200,
            })
            .inc();
        METRICS.upload_bytes.inc_by(1234);
        let text = encode();
        assert!(
            text.contains(
                r#"hoithi_http_requests_total{method="GET",route="/x/{id}",status="200"} 1"#
            ),
            "{text}"
        );
        assert!(text.contains("hoithi_upload_bytes_total 1234"), "{text}");
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn every_known_job_kind_is_reported_at_zero_before_any_job() {
        let text = encode();
        for kind in crate::job::KINDS {
            for metric in [
                "hoithi_jobs_queued",
                "hoithi_jobs_running",
                "hoithi_jobs_dead",
                "hoithi_jobs_oldest_queued_age_seconds",
            ] {
                let series = format!("{metric}{{kind=\"{kind}\"}} 0");
                assert!(
                    text.lines()
                        .any(|l| l == series || l == format!("{series}.0")),
                    "{series} missing:\n{text}"
                );
            }
            for outcome in crate::job::OUTCOMES {
                let series =
                    format!("hoithi_jobs_finished_total{{kind=\"{kind}\",outcome=\"{outcome}\"}}");
                assert!(text.contains(&series), "{series} missing:\n{text}");
            }
        }
    }
}
