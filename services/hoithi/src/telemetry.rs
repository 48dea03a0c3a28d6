//! Logs and request tracing: one span per request with its id (`x-request-id`, taken from
//! the client or made here, and returned) and the matched route rather than the raw path.

use axum::Router;
use axum::extract::MatchedPath;
use axum::http::{HeaderName, Request};
use hoithi_core::config::LogFormat;
use tower::ServiceBuilder;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use tracing_subscriber::EnvFilter;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Logs go to stderr (stdout carries what the operator must read: the URL, the first
/// password). `RUST_LOG` overrides the default filter.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,aws_config=warn,aws_smithy_runtime=warn,hyper=warn,s3s=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

pub fn layers(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(record_metrics)).layer(
        ServiceBuilder::new()
            .map_request(drop_unsafe_request_id)
            .layer(SetRequestIdLayer::new(REQUEST_ID, NewRequestId))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(|req: &Request<_>| {
                        let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |m| m.as_str());
                        let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                        tracing::info_span!("request", method = %req.method(), route, request_id = id)
                    })
                    // A line per answered request is the proxy's access log; here it would be
                    // ten thousand lines a second in a vote spike. Server errors are still
                    // logged (the layer's default failure class, at ERROR).
                    .on_response(DefaultOnResponse::new().level(Level::DEBUG)),
            )
            .layer(PropagateRequestIdLayer::new(REQUEST_ID)),
    )
}

/// A random (v4) UUID from the thread's generator: `MakeRequestUuid` asks the kernel for
/// every one, a system call per request.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut buf = uuid::Uuid::encode_buffer();
        axum::http::HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
            .ok()
            .map(RequestId::new)
    }
}

/// A client's request id is kept only if it is short and plain, so it cannot forge log lines.
fn drop_unsafe_request_id<B>(mut req: Request<B>) -> Request<B> {
    let ok = req.headers().get(REQUEST_ID).is_none_or(|v| {
        v.len() <= 64
            && v.as_bytes()
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    });
    if !ok {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

/// The method as a metric label: the methods of HTTP and tus, and "other" for any made-up
/// one, so a client cannot add a series per request (`FOO1`, `FOO2`, …) to every scrape.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Counts each request by method, matched route and status, and times it by route. Unmatched
/// paths share one label and unknown methods another, so a scanner cannot blow up the number
/// of series.
async fn record_metrics(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", |m| m.as_str())
        .to_owned();
    let method = method_label(req.method()).to_owned();
    let started = std::time::Instant::now();
    let res = next.run(req).await;
    let metrics = &*hoithi_core::metrics::METRICS;
    metrics
        .http_seconds
        .get_or_create(&hoithi_core::metrics::RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests
        .get_or_create(&hoithi_core::metrics::HttpLabels {
            method,
            route,
            status: res.status().as_u16(),
        })
        .inc();
    res
}

#[cfg(test)]
mod tests {
    use axum::http::Method;

    use super::method_label;

    #[test]
    fn made_up_methods_share_one_label_and_known_ones_keep_theirs() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        assert_eq!(method_label(&Method::OPTIONS), "OPTIONS");
        for made_up in ["FOO", "get", "CONNECT", "TRACE", "PROPFIND"] {
            let m = Method::from_bytes(made_up.as_bytes()).unwrap();
            assert_eq!(method_label(&m), "other", "{made_up}");
        }
    }
}
