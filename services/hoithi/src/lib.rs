//! The hoithi binary's library: the command line, the wiring of roles into one process,
//! and the services it starts itself when nothing external is configured.

pub mod api_doc;
pub mod cli;
pub mod health;
pub mod healthcheck;
pub mod ops;
pub mod services;
pub mod telemetry;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use hoithi_core::AppState;
use hoithi_core::config::Config;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// This build's version: the workspace version and, when built from git, the tag or commit
/// (`0.9.0 (v0.9.0)`, `0.9.0+g6403bf5`); see build.rs. `hoithi --version`, `/readyz` and
/// `hoithi_build_info` report it.
pub const VERSION: &str = env!("HOITHI_VERSION");

/// Which roles one process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    pub web: bool,
    pub upload: bool,
    pub worker: bool,
}

impl Roles {
    pub const ALL: Self = Self {
        web: true,
        upload: true,
        worker: true,
    };

    /// Parses `web,upload,worker` (any subset, in any order).
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let mut roles = Self {
            web: false,
            upload: false,
            worker: false,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part {
                "web" => roles.web = true,
                "upload" => roles.upload = true,
                "worker" => roles.worker = true,
                other => {
                    anyhow::bail!("unknown role {other:?}; the roles are web, upload and worker")
                }
            }
        }
        if roles
            == (Self {
                web: false,
                upload: false,
                worker: false,
            })
        {
            anyhow::bail!("--roles needs at least one of web, upload, worker");
        }
        Ok(roles)
    }
}

/// The HTTP application of the given roles: health endpoints always, then each role's routes,
/// with request ids and tracing around everything.
pub fn app(state: AppState, roles: Roles) -> Router {
    let mut router = Router::new().merge(health::router());
    if roles.upload {
        router = router.merge(hoithi_upload::router());
    }
    if roles.web {
        router = router.merge(hoithi_web::router()).merge(api_doc::router());
    }
    // Sessions, CSRF and security headers wrap every role's routes, so uploads and the API
    // accept the same cookie session as pages.
    let router = hoithi_web::security::layers(router.with_state(state.clone()), state);
    telemetry::layers(router.layer(compression()))
}

/// Gzip for text a phone downloads (pages, CSS, JS, JSON, playlists) when the client asks for
/// it. Media is already compressed, and event streams must not be buffered: both pass as they are.
fn compression()
-> tower_http::compression::CompressionLayer<impl tower_http::compression::Predicate> {
    use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
    tower_http::compression::CompressionLayer::new().compress_when(
        SizeAbove::new(1024)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::SSE)
            .and(NotForContentType::const_new("video/"))
            .and(NotForContentType::const_new("audio/"))
            .and(NotForContentType::const_new("application/octet-stream"))
            .and(NotForContentType::const_new("application/zip"))
            .and(NotForContentType::const_new(
                "application/vnd.openxmlformats",
            )),
    )
}

/// The operators' routes (`/metrics`, a detailed `/readyz`), served on their own listener so
/// the public site, its proxy and its Ingress never carry them.
pub fn operator_app(state: AppState) -> Router {
    health::operator_router().with_state(state)
}

/// A process that serves: bound listeners, opened services, background tasks.
pub struct Application {
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    state: AppState,
    roles: Roles,
    services: services::Services,
}

impl Application {
    /// Binds the port first (a port in use fails fast), then opens the database and the
    /// object store, starting the embedded ones when nothing is configured.
    pub async fn build(mut config: Config, roles: Roles) -> anyhow::Result<Self> {
        let listener = if roles.web || roles.upload {
            Some(bind(config.listen).await?)
        } else {
            None
        };
        // Links without a public URL point at the address actually bound (port 0 picks one).
        if let Some(l) = &listener {
            config.listen = l
                .local_addr()
                .context("the bound listener has no address")?;
        }
        if roles.web && config.public_url.is_none() {
            tracing::warn!(
                origin = %hoithi_web::mail::origin(&config),
                "HOITHI_PUBLIC_URL is not set: links in mail (verification, password reset, \
                 judge invites) point at this server's listen address, which only works on \
                 this machine; set HOITHI_PUBLIC_URL to the site's public origin"
            );
        }
        // An https public URL means a TLS-terminating proxy in front (hoithi serves plain
        // http); without TRUSTED_PROXIES every client looks like that proxy, and they all
        // share one address's budget of sign-in failures, mail and registrations.
        if roles.web
            && config.trusted_proxies.is_empty()
            && config
                .public_url
                .as_deref()
                .is_some_and(|u| u.starts_with("https://"))
        {
            tracing::warn!(
                "TRUSTED_PROXIES is not set but HOITHI_PUBLIC_URL is https: if a reverse proxy \
                 forwards requests here, list it in TRUSTED_PROXIES, or all clients share the \
                 limits of the proxy's address (failed sign-ins, mail, registrations)"
            );
        }
        let config = Arc::new(config);
        let services = services::Services::open(&config, true).await?;
        let state = AppState::new(
            services.db.clone(),
            Arc::new(services.storage()?.clone()),
            config.clone(),
        );
        if roles.web {
            services::ensure_first_admin(&state.db).await?;
        }
        // A worker-only process still answers /healthz and /readyz, on its own port.
        let listener = match listener {
            Some(l) => l,
            None => bind(config.listen).await?,
        };
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                anyhow::anyhow!(
                    "cannot serve metrics on {addr}: {e}; set HOITHI_METRICS_LISTEN to a free \
                     address (like 127.0.0.1:9465), or to off"
                )
            })?),
            None => None,
        };
        Ok(Self {
            listener,
            metrics_listener,
            state,
            roles,
            services,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Where `/metrics` is served, unless `HOITHI_METRICS_LISTEN=off`.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` is cancelled, then drains requests, stops the worker, and
    /// stops the embedded services.
    pub async fn run_until_stopped(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            listener,
            metrics_listener,
            state,
            roles,
            services,
        } = self;
        let worker = roles.worker.then(|| {
            let state = state.clone();
            let shutdown = shutdown.clone();
            tokio::spawn(async move { hoithi_worker::run(state, shutdown).await })
        });
        // Expired tus uploads hold multipart parts and temporary objects until swept.
        let sweeper = roles
            .upload
            .then(|| tokio::spawn(hoithi_upload::run_sweeper(state.clone(), shutdown.clone())));
        // The vote batcher and live hub: flushed and stopped through `shutdown`.
        let voting = match roles.web {
            true => Some(hoithi_web::voting::start(&state, shutdown.clone())?),
            false => None,
        };
        // Mail from the outbox goes out over SMTP when SMTP_URL is set.
        let mailer = match roles.web {
            true => hoithi_web::mail::spawn_sender(&state, shutdown.clone())?,
            false => None,
        };
        let operators = metrics_listener.map(|l| {
            let app = operator_app(state.clone());
            let stop = shutdown.clone();
            tokio::spawn(async move {
                let served = axum::serve(l, app)
                    .with_graceful_shutdown(async move { stop.cancelled().await })
                    .await;
                if let Err(err) = served {
                    tracing::error!(error = %err, "the metrics listener failed");
                }
            })
        });
        let app = app(state.clone(), roles);
        let drain = shutdown.clone();
        // No Nagle: a small answer (a vote's 201) goes out at once instead of waiting for
        // the client's delayed ACK of the previous one on a keep-alive connection.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            if let Err(err) = tcp.set_nodelay(true) {
                tracing::debug!(error = %err, "cannot set TCP_NODELAY");
            }
        });
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { drain.cancelled().await })
        .await
        .context("the HTTP server failed");
        shutdown.cancel();
        if let Some(voting) = voting {
            voting.stopped().await;
        }
        if let Some(worker) = worker {
            match worker.await {
                Ok(Ok(())) => {}
                Ok(Err(err)) => tracing::error!(
                    error = format!("{err:#}"),
                    "the worker stopped with an error"
                ),
                Err(err) => tracing::error!(error = %err, "the worker task panicked"),
            }
        }
        if let Some(sweeper) = sweeper {
            let _ = sweeper.await;
        }
        if let Some(mailer) = mailer {
            let _ = mailer.await;
        }
        if let Some(operators) = operators {
            let _ = operators.await;
        }
        state.db.close().await;
        services.stop().await;
        served
    }
}

async fn bind(addr: SocketAddr) -> anyhow::Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| {
        let hint = if e.kind() == std::io::ErrorKind::AddrInUse {
            "another program uses it; stop it or set HOITHI_LISTEN to another address"
        } else {
            "set HOITHI_LISTEN to an address of this machine, like 127.0.0.1:8080"
        };
        anyhow::anyhow!("cannot listen on {addr}: {e}; {hint}")
    })
}

/// Cancels the token on SIGINT or SIGTERM.
pub fn cancel_on_signal(token: CancellationToken) {
    tokio::spawn(async move {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(err) => {
                    tracing::error!(error = %err, "cannot listen for SIGTERM");
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received; shutting down"),
            _ = term.recv() => tracing::info!("SIGTERM received; shutting down"),
        }
        token.cancel();
    });
}
