//! HTTP: routes, handlers and the server's lifecycle.
//!
//! [`app`] builds the router from an [`AppState`]; [`serve`] runs it on a
//! listener until a shutdown future resolves, then lets requests in flight
//! finish within the shutdown deadline. Tests call the same two functions on
//! `127.0.0.1:0`.

mod cache_key;
pub mod error;
mod handlers;
pub mod headers;
mod info;
mod log;
mod playground;
mod timing;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;

pub use error::ApiError;
pub use handlers::Rendered;

use crate::cache::Tier;
use crate::config::{Config, MetricsAddr};
use crate::fetch::{FetchError, Fetcher, Guard};
use crate::metrics::Metrics;
use crate::options::GrammarLimits;
use crate::pipeline;
use crate::pipeline::decoded::DecodeCache;
use crate::signing::Verifier;
use crate::source::{MountError, Mounts};
use crate::work::WorkPool;

/// Everything a request needs, shared by all requests.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// How many TTLs a cached source stays after its last check: fresh for
/// one, then stale but kept so that the next request revalidates it (a
/// `304` or a `stat`) instead of downloading it again. Memory stays bounded
/// by `source_cache_bytes` either way.
pub const SOURCE_RETENTION: u32 = 8;

/// A source in the source cache: its bytes, the validator of their version,
/// and when the storage last confirmed them.
#[derive(Debug)]
pub struct CachedSource {
    pub fetched: crate::fetch::Fetched,
    pub checked: std::time::Instant,
    /// How long the read (or revalidation) that stored it took: the
    /// `fetch` of `Server-Timing` for the runs that waited for it.
    pub read_in: Duration,
}

impl crate::cache::Weighed for Arc<CachedSource> {
    fn weight(&self) -> usize {
        self.fetched.bytes.len()
    }
}

/// The parts of [`AppState`], built once from the configuration.
pub struct Shared {
    pub config: Config,
    pub grammar: GrammarLimits,
    pub limits: pipeline::Limits,
    pub guard: Guard,
    pub fetcher: Fetcher,
    /// The configured mounts, by name, each with its storage client.
    pub mounts: Mounts,
    /// `None` when no signing key is configured.
    pub verifier: Option<Verifier>,
    pub pool: WorkPool,
    /// Finished results, keyed by canonical plan, format choice and source
    /// (`cache_key::ResultKey`); identical requests in flight share one run.
    pub results: Tier<Arc<Rendered>, ApiError>,
    /// Downloaded sources, keyed by URL or by mount and key
    /// ([`crate::source::Source::cache_key`]); downloads in flight are
    /// shared by different transformations of one source. A copy older
    /// than `cache_ttl` is revalidated with its storage before use, and
    /// kept (for that) up to [`SOURCE_RETENTION`] TTLs after it was stored.
    pub sources: Tier<Arc<CachedSource>, FetchError>,
    /// Decoded sources, so other renditions of a hot source skip the decode.
    pub decodes: DecodeCache,
    pub metrics: Metrics,
    /// Cloudinary public IDs -> the key found for them in the upload mount
    /// (`{mount}/{id}`), so that an ID written without its stored extension
    /// costs the probing once. Bounded: a key is small, and a miss only
    /// costs the probing again.
    pub public_ids: moka::future::Cache<String, crate::source::ObjectKey>,
    /// The playground's samples as a mount (`/playground/samples/...`),
    /// while the playground is on; never among `mounts`, so it changes
    /// nothing in how other paths are read.
    pub samples: Option<Arc<crate::source::Mount>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// How many public ID -> key findings are remembered.
const PUBLIC_IDS: u64 = 10_000;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The HTTP client could not be built.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// A mount could not be set up.
    #[error(transparent)]
    Mount(#[from] MountError),
}

impl AppState {
    /// Builds the state; fails if the HTTP client or a mount cannot be set up.
    pub fn new(config: Config) -> Result<AppState, StartError> {
        let guard = Guard::new(&config);
        let fetcher = Fetcher::new(guard.clone(), config.fetch_limits())?;
        let mounts = Mounts::new(&config, &guard)?;
        let verifier = (!config.signing_keys.is_empty()).then(|| Verifier::new(config.signing_keys.clone()));
        let shared = Shared {
            grammar: config.grammar_limits(),
            limits: config.pipeline_limits(),
            guard,
            fetcher,
            mounts,
            verifier,
            pool: WorkPool::new(config.concurrency, config.max_queue, config.max_queue_wait),
            results: Tier::new(
                "result",
                config.cache_bytes,
                config.cache_ttl,
                config.cache_admission,
            ),
            sources: Tier::new(
                "source",
                config.source_cache_bytes,
                config.cache_ttl.saturating_mul(SOURCE_RETENTION),
                config.cache_admission,
            ),
            decodes: DecodeCache::new(config.decode_cache_bytes, config.cache_admission),
            metrics: Metrics::new(),
            public_ids: moka::future::Cache::builder()
                .max_capacity(PUBLIC_IDS)
                .time_to_live(config.cache_ttl)
                .build(),
            samples: config
                .playground
                .then(|| Arc::new(crate::source::Mount::samples())),
            config,
        };
        Ok(AppState(Arc::new(shared)))
    }
}

/// The router: `/health`, `/metrics` (unless moved or off), `/` and
/// `/{transformation}`; every longer path goes to the fallback, which
/// serves mount paths (`/{name}/{key}`, `/{transformation}/{name}/{key}`)
/// from the raw path, as sent, and answers anything else with a JSON 404.
/// Any other method on a known path is a JSON 405.
pub fn app(state: AppState) -> Router {
    let router = Router::new()
        .route("/health", get(handlers::health))
        .route("/", get(handlers::root))
        // Browsers ask for it on their own: a 404, not a transformation
        // named `favicon.ico` refused as a 400.
        .route("/favicon.ico", get(handlers::no_route))
        .route("/{transformation}", get(handlers::transform))
        .route("/info", get(info::info))
        .route("/info/{*path}", get(info::info));
    let router = if state.config.playground {
        router
            .route("/playground", get(playground::page))
            .route("/playground/playground.css", get(playground::stylesheet))
            .route("/playground/playground.js", get(playground::script))
            .route("/playground/settings.json", get(playground::settings))
    } else {
        // Off: a plain 404, not a transformation named `playground`.
        router.route("/playground", get(handlers::no_route))
    };
    let router = if state.config.metrics == MetricsAddr::Main {
        router.route("/metrics", get(handlers::metrics))
    } else {
        // Moved or off: a plain 404, not a transformation named `metrics`.
        router.route("/metrics", get(handlers::no_route))
    };
    router
        .fallback(handlers::fallback)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            handlers::panic_response,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), log::requests))
        .with_state(state)
}

/// A router serving only `/metrics`, for `--metrics <addr>`.
pub fn metrics_app(state: AppState) -> Router {
    Router::new()
        .route("/metrics", get(handlers::metrics))
        .with_state(state)
}

/// Serves `app` on `listener` until `shutdown` resolves, then waits for
/// requests in flight for at most the configured shutdown timeout.
pub async fn serve(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let deadline = config.shutdown_timeout;
    let metrics_addr = config.metrics;
    let state = AppState::new(config).map_err(std::io::Error::other)?;
    if let MetricsAddr::Separate(addr) = metrics_addr {
        let metrics_listener = TcpListener::bind(addr).await.map_err(|e| {
            std::io::Error::new(
                e.kind(),
                format!("cannot listen on {addr} for /metrics (--metrics, RESIZER_METRICS): {e}"),
            )
        })?;
        tracing::info!(%addr, "metrics listening");
        let router = metrics_app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(metrics_listener, router).await {
                tracing::error!(error = %e, "metrics listener failed");
            }
        });
    }
    serve_router(listener, app(state), deadline, shutdown).await
}

/// Runs a router with graceful shutdown bounded by `deadline`.
pub async fn serve_router(
    listener: TcpListener,
    router: Router,
    deadline: Duration,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let graceful = async move {
        shutdown.await;
        tracing::info!("shutting down: no new connections, finishing requests in flight");
        let _ = stopping_tx.send(true);
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(graceful);
    let expire = async move {
        let _ = stopping_rx.wait_for(|stopping| *stopping).await;
        tokio::time::sleep(deadline).await;
    };
    tokio::select! {
        result = server => result,
        () = expire => {
            tracing::warn!(?deadline, "shutdown deadline passed with requests still in flight");
            Ok(())
        }
    }
}
