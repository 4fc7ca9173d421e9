//! The HTTP API on :8000: routes, state, limits and the serve loop.
//!
//! The listener opens before the models load; `/ping` and `/readyz` show the loading state.
//! OCR runs on blocking threads under a semaphore of `OCR_CONCURRENCY` slots with a bounded
//! queue in front of it; every request has a deadline, and one that reaches its slot with less
//! time left than a document's read has lately taken is answered 504 at once instead of being
//! read to no use.

pub mod dto;
mod job_routes;
pub mod metrics;
pub mod problem;
mod proxy;
mod routes;
mod upload;
mod worker;

use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use doc_input::DocumentKind;
use lru::LruCache;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::config::ServeArgs;
use crate::pipeline::{ExtractOutput, ExtractRequest, Pipeline};

pub use routes::ApiDoc;

/// The server's limits and defaults, from [`ServeArgs`].
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub max_upload_bytes: u64,
    pub allowed: Vec<DocumentKind>,
    pub ocr_concurrency: usize,
    pub queue_size: usize,
    pub request_timeout: Duration,
    pub max_batch_files: usize,
    pub cache_size: usize,
    /// SHA-256 of each API key; empty: no authentication.
    api_key_hashes: Vec<[u8; 32]>,
    /// The operational routes open without a key when keys are set (`PUBLIC_PATHS`).
    pub public_paths: Vec<String>,
    /// Connections served at once (`MAX_CONNECTIONS`).
    pub max_connections: usize,
    /// How long a connection may take to send a request's headers (`HEADER_READ_TIMEOUT_S`).
    pub header_read_timeout: Duration,
    /// How long an upload may pause before it gets a 408 (`BODY_READ_TIMEOUT_S`).
    pub body_read_timeout: Duration,
    /// Locale hints, the rules switch and the e-invoice mode of a request that gives none.
    pub defaults: ExtractRequest,
    /// Where `/v1/chat/completions` and `/v1/models` go (`PROXY_MODEL_SERVER`); none: not served.
    pub proxy: Option<ProxyTarget>,
}

/// The model server the gateway routes pass requests to.
#[derive(Clone)]
pub struct ProxyTarget {
    /// `VLLM_BASE_URL`, e.g. `http://tilt:8001/v1`.
    pub base_url: String,
    /// `VLLM_API_KEY`, sent in place of the client's (which was checked against `API_KEYS`).
    pub api_key: Option<String>,
    pub timeout: Duration,
}

impl std::fmt::Debug for ProxyTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProxyTarget")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ServerSettings {
    /// The server's limits from `args`; `defaults` from [`ServeArgs::resolve`].
    pub fn from_args(args: &ServeArgs, defaults: ExtractRequest) -> Self {
        ServerSettings {
            max_upload_bytes: args.max_upload_mb * 1024 * 1024,
            allowed: args
                .allowed_content_types
                .iter()
                .filter_map(|m| DocumentKind::from_mime(m))
                .collect(),
            ocr_concurrency: args.ocr_concurrency.max(1),
            queue_size: args.queue_size,
            request_timeout: Duration::from_secs_f64(args.request_timeout),
            max_batch_files: args.max_batch_files.max(1),
            cache_size: args.cache_size,
            api_key_hashes: args
                .api_keys
                .0
                .iter()
                .map(|k| sha256(k.as_bytes()))
                .collect(),
            public_paths: args.public_paths.clone(),
            max_connections: args.max_connections.max(1),
            header_read_timeout: Duration::from_secs_f64(
                args.header_read_timeout.clamp(0.1, 3600.0),
            ),
            body_read_timeout: Duration::from_secs_f64(args.body_read_timeout.clamp(0.1, 3600.0)),
            defaults,
            proxy: args
                .proxy_model_server
                .then(|| args.pipeline.openai.vllm_base_url.clone())
                .flatten()
                .map(|base_url| ProxyTarget {
                    base_url,
                    api_key: Some(args.pipeline.openai.vllm_api_key.0.clone())
                        .filter(|k| !k.is_empty()),
                    timeout: Duration::from_secs_f64(
                        args.pipeline.openai.vllm_timeout.clamp(1.0, 3600.0),
                    ),
                }),
        }
    }

    /// Whether `path` is an operational route that needs a key: keys are set and
    /// `PUBLIC_PATHS` does not open it.
    pub fn guards(&self, path: &str) -> bool {
        let route = match path {
            "/openapi.json" => "/docs",
            p if p == "/docs" || p.starts_with("/docs/") => "/docs",
            p => p,
        };
        !self.api_key_hashes.is_empty()
            && crate::config::OPERATIONAL_PATHS.contains(&route)
            && !self.public_paths.iter().any(|p| p == route)
    }

    pub fn max_upload_mb(&self) -> u64 {
        self.max_upload_bytes / (1024 * 1024)
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Where the models stand.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Loading,
    Ready,
    Failed(String),
}

/// The job queue of this process: its store, the workers it runs, what callbacks need.
#[derive(Debug, Clone)]
pub struct JobsConfig {
    pub store: Arc<dyn jobs::JobStore>,
    /// Worker loops in this process (0: an API replica that only queues).
    pub workers: usize,
    pub allowed_hosts: jobs::webhook::AllowedHosts,
    /// Empty: callbacks are refused.
    pub webhook_secret: String,
}

/// Shared by every request; cheap to clone.
#[derive(Debug, Clone)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    settings: ServerSettings,
    pipeline: OnceLock<Arc<Pipeline>>,
    failed: OnceLock<String>,
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    /// How long a document's read (decode + OCR) has lately taken, in µs (0: none read yet).
    typical_read_us: AtomicU64,
    cache: Option<Mutex<LruCache<[u8; 32], Arc<ExtractOutput>>>>,
    metrics: metrics::Metrics,
    started: Instant,
    jobs: Option<JobsConfig>,
    /// The gateway routes' client (no redirects followed).
    http: reqwest::Client,
}

impl AppState {
    pub fn new(settings: ServerSettings) -> Self {
        Self::with_jobs(settings, None)
    }

    /// A state with a job queue (`/v1/jobs`, and the workers `serve` starts).
    pub fn with_jobs(settings: ServerSettings, jobs: Option<JobsConfig>) -> Self {
        let cache = NonZeroUsize::new(settings.cache_size).map(|n| Mutex::new(LruCache::new(n)));
        AppState(Arc::new(Inner {
            slots: Arc::new(Semaphore::new(settings.ocr_concurrency)),
            settings,
            pipeline: OnceLock::new(),
            failed: OnceLock::new(),
            waiting: AtomicUsize::new(0),
            typical_read_us: AtomicU64::new(0),
            cache,
            metrics: metrics::Metrics::new(),
            started: Instant::now(),
            jobs,
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }))
    }

    pub fn jobs(&self) -> Option<&JobsConfig> {
        self.0.jobs.as_ref()
    }

    /// The models are loaded: requests are served from now on.
    pub fn set_pipeline(&self, p: Arc<Pipeline>) {
        if self.0.pipeline.set(p).is_ok() {
            self.0.metrics.ready.set(1);
        }
    }

    /// The models could not be loaded.
    pub fn set_failed(&self, message: String) {
        let _ = self.0.failed.set(message);
    }

    pub fn readiness(&self) -> Readiness {
        if self.0.pipeline.get().is_some() {
            Readiness::Ready
        } else if let Some(m) = self.0.failed.get() {
            Readiness::Failed(m.clone())
        } else {
            Readiness::Loading
        }
    }

    pub fn settings(&self) -> &ServerSettings {
        &self.0.settings
    }

    pub fn metrics(&self) -> &metrics::Metrics {
        &self.0.metrics
    }

    fn pipeline(&self) -> Option<&Arc<Pipeline>> {
        self.0.pipeline.get()
    }

    /// Whether `token` is one of the configured keys (constant time per key, every key tried).
    fn key_matches(&self, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        let h = sha256(token.as_bytes());
        let mut ok = subtle::Choice::from(0u8);
        for k in &self.0.settings.api_key_hashes {
            ok |= k.ct_eq(&h);
        }
        ok.into()
    }

    fn cache_get(&self, key: &[u8; 32]) -> Option<Arc<ExtractOutput>> {
        let cache = self.0.cache.as_ref()?;
        let hit = cache.lock().ok()?.get(key).cloned();
        match &hit {
            Some(_) => self.0.metrics.cache_hits.inc(),
            None => self.0.metrics.cache_misses.inc(),
        };
        hit
    }

    fn cache_put(&self, key: [u8; 32], out: Arc<ExtractOutput>) {
        if let Some(Ok(mut c)) = self.0.cache.as_ref().map(|c| c.lock()) {
            c.put(key, out);
        }
    }

    /// How long a document's read has lately taken (a moving average that weighs the last
    /// read by a fifth), once one has been read.
    pub fn typical_read(&self) -> Option<Duration> {
        match self.0.typical_read_us.load(Ordering::Relaxed) {
            0 => None,
            us => Some(Duration::from_micros(us)),
        }
    }

    /// Counts one document's read into [`AppState::typical_read`].
    pub fn note_read(&self, took: Duration) {
        let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1);
        let _ = self
            .0
            .typical_read_us
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(if old == 0 { us } else { (old * 4 + us) / 5 })
            });
    }
}

/// A place in the OCR queue; leaving it (served, timed out or dropped) frees it.
struct QueueTicket<'a>(&'a AppState);

impl Drop for QueueTicket<'_> {
    fn drop(&mut self) {
        let n = self.0.0.waiting.fetch_sub(1, Ordering::SeqCst) - 1;
        self.0.0.metrics.queue_depth.set(n as i64);
    }
}

/// The router with every route, the docs and the middleware.
pub fn router(state: AppState) -> Router {
    routes::router(state)
}

/// What a process serves on its port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The whole API (`ocrlty serve`).
    Api,
    /// Only the probes and metrics (`ocrlty worker`'s health port).
    Worker,
}

/// Opens the listener, loads the models in the background, starts the job workers, the
/// webhook dispatcher and the expiry sweep when the state has a queue, and serves until
/// SIGTERM or Ctrl-C; then stops claiming jobs and lets in-flight requests and jobs finish (up
/// to `grace`).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    role: Role,
    load: impl FnOnce() -> Result<Pipeline, String> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let loader = state.clone();
    let (failed_tx, failed_rx) = tokio::sync::oneshot::channel::<()>();
    tokio::task::spawn_blocking(move || {
        let t = Instant::now();
        match load() {
            Ok(p) => {
                tracing::info!(
                    load_ms = t.elapsed().as_secs_f64() * 1e3,
                    "models loaded and warm; ready"
                );
                loader.set_pipeline(Arc::new(p));
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot load the models");
                loader.set_failed(e);
                let _ = failed_tx.send(());
            }
        }
    });
    let app = match role {
        Role::Api => router(state.clone()),
        Role::Worker => routes::probes(state.clone()),
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut background = worker::start(&state, stop_rx.clone());
    let shutdown = async move {
        tokio::select! {
            _ = shutdown_signal() => tracing::info!("shutting down: finishing in-flight requests"),
            Ok(()) = failed_rx => tracing::error!("shutting down: the models did not load"),
        }
        let _ = stop_tx.send(true);
    };
    let server = serve_connections(listener, app, state.settings(), shutdown);
    let mut stop_rx2 = stop_rx.clone();
    tokio::select! {
        r = server => r?,
        _ = async {
            let _ = stop_rx2.wait_for(|s| *s).await;
            tokio::time::sleep(grace).await;
        } => tracing::warn!("grace period over; dropping the requests still in flight"),
    }
    // The workers stopped claiming when the signal came; the jobs they hold finish within the
    // grace period, else their leases expire and another worker takes them.
    let drained = tokio::time::timeout(grace, async {
        while background.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!("grace period over; jobs still running are left to their leases");
    }
    if let Readiness::Failed(e) = state.readiness() {
        return Err(std::io::Error::other(e));
    }
    Ok(())
}

/// Accepts connections while fewer than `MAX_CONNECTIONS` are open (the rest wait in the
/// listen backlog) and serves each with HTTP/1.1, closing one that does not send a request's
/// headers within `HEADER_READ_TIMEOUT_S`; on `shutdown`, stops accepting and waits for the
/// open connections' requests to finish.
async fn serve_connections(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    settings: &ServerSettings,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let permits = Arc::new(tokio::sync::Semaphore::new(settings.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(settings.header_read_timeout);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.map_err(std::io::Error::other)?,
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(app.clone());
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
