//! Command-line and environment configuration shared by the CLI commands and the server:
//! one clap struct per concern, `long` flags with the seeds' environment names, and an optional
//! TOML file whose keys are the long flag names.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::parser::ValueSource;
use clap::{Args, CommandFactory, FromArgMatches};
use doc_input::PdfOptions;
use kie::{ExtractOptions, FieldName};
use ocr_core::{ClsMode, ModelFiles, ModelPreset, OcrConfig, default_model_dir};
use rules::{LocaleHints, RuleContext};

use crate::embedded::EmbeddedInvoice;
use crate::pipeline::{ExtractRequest, Pipeline, PipelineError};

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error(transparent)]
    Ocr(#[from] ocr_core::OcrError),
}

fn invalid(msg: impl Into<String>) -> ConfigError {
    ConfigError::Invalid(msg.into())
}

/// The OCR engine: which models, the classifier, threads and the pixel limit.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "OCR")]
pub struct OcrEngineArgs {
    /// PP-OCR model set: v6 (multilingual Latin, € and ß) or v4.
    #[arg(long, env = "OCR_MODEL", default_value = "v6")]
    pub ocr_model: String,

    /// Folder holding the model sets (as scripts/setup lays it out).
    #[arg(long, env = "OCR_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// A det ONNX model to use instead of the preset's (any PP-OCR DBNet export).
    #[arg(long, requires = "rec_model")]
    pub det_model: Option<PathBuf>,

    /// A rec ONNX model to use instead of the preset's (any PP-OCR CTC recogniser).
    #[arg(long, requires = "det_model")]
    pub rec_model: Option<PathBuf>,

    /// Dictionary file (one character per line) for a rec model without `character` metadata.
    #[arg(long)]
    pub rec_dict: Option<PathBuf>,

    /// When the 0/180° classifier runs: off, page (majority of the widest lines), line.
    #[arg(long, env = "OCR_CLS", default_value = "page", value_parser = parse_cls)]
    pub cls: ClsMode,

    /// ONNX Runtime intra-op threads (0: one per core).
    #[arg(long, env = "OMP_NUM_THREADS", default_value_t = 0)]
    pub threads: usize,

    /// Recognition batches run at once, each with its share of the threads (0: one lane per
    /// four threads, at most four).
    #[arg(long, env = "OCR_REC_LANES", default_value_t = 0)]
    pub rec_lanes: usize,

    /// Rewrite the models' graphs at load time (exact folds of the affines and hard-swishes
    /// PP-OCRv4's exporter spells out; v4 det and rec about 1.3× faster). `false` loads the
    /// model files as they are.
    #[arg(long, env = "OCR_FUSE_GRAPHS", default_value_t = true, action = clap::ArgAction::Set)]
    pub fuse_graphs: bool,

    /// Images (and rendered pages) with more pixels are refused.
    #[arg(long, env = "MAX_PIXELS", default_value_t = ocr_core::DEFAULT_MAX_PIXELS)]
    pub max_pixels: u64,

    /// Turn pages photographed sideways (90°/270°, found from the shape of the detected text
    /// boxes) before reading them; 180° is the classifier's (`--cls`). `false` reads every page
    /// as it stands.
    #[arg(long, env = "OCR_ORIENTATION", default_value_t = true, action = clap::ArgAction::Set)]
    pub orientation: bool,

    /// Where OCR runs: `auto` (CUDA when the build has it — `--features cuda` with ONNX
    /// Runtime's GPU library — and it starts, else the CPU with a warning), `cpu`, or `cuda`
    /// (an error when it cannot start).
    #[arg(long, env = "OCR_DEVICE", default_value = "auto", value_parser = parse_device)]
    pub ocr_device: ocr_core::Device,
}

fn parse_cls(s: &str) -> Result<ClsMode, String> {
    match s {
        "off" => Ok(ClsMode::Off),
        "page" => Ok(ClsMode::Page),
        "line" => Ok(ClsMode::Line),
        _ => Err(format!("'{s}' is not one of off, page, line")),
    }
}

impl OcrEngineArgs {
    pub fn config(&self) -> Result<OcrConfig, ConfigError> {
        let dir = self.model_dir.clone().unwrap_or_else(default_model_dir);
        let mut models = match (&self.det_model, &self.rec_model) {
            (Some(det), Some(rec)) => ModelFiles {
                name: format!(
                    "custom:{}",
                    rec.file_stem()
                        .map(|s| s.to_string_lossy())
                        .unwrap_or_default()
                ),
                det: det.clone(),
                rec: rec.clone(),
                cls: None,
                dictionary: None,
            },
            _ => self.ocr_model.parse::<ModelPreset>()?.files(&dir),
        };
        if let Some(dict) = &self.rec_dict {
            models.dictionary = Some(dict.clone());
        }
        let mut cfg = OcrConfig::with_models(models);
        cfg.cls.mode = if cfg.models.cls.is_none() {
            ClsMode::Off
        } else {
            self.cls
        };
        cfg.intra_threads = self.threads;
        cfg.rec.lanes = self.rec_lanes;
        cfg.fuse_graphs = self.fuse_graphs;
        cfg.orientation = self.orientation;
        cfg.max_pixels = self.max_pixels;
        cfg.device = self.ocr_device;
        Ok(cfg)
    }
}

/// How PDFs are read.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "PDF")]
pub struct PdfArgs {
    /// PDFs with more pages are refused.
    #[arg(long, env = "MAX_PAGES", default_value_t = 50)]
    pub max_pages: usize,

    /// Resolution at which PDF pages without a text layer are rendered for OCR.
    #[arg(long, env = "PDF_DPI", default_value_t = 200.0)]
    pub dpi: f32,

    /// OCR every PDF page, even those with a text layer.
    #[arg(long)]
    pub no_text_layer: bool,

    /// Seconds one PDF may take to read (opening and every page).
    #[arg(long, env = "PDF_TIME_BUDGET_S", default_value_t = 60.0)]
    pub pdf_time_budget: f64,
}

impl PdfArgs {
    pub fn options(&self) -> Result<PdfOptions, ConfigError> {
        if !(36.0..=600.0).contains(&self.dpi) {
            return Err(invalid("--dpi must lie between 36 and 600"));
        }
        if self.max_pages == 0 {
            return Err(invalid("--max-pages must be at least 1"));
        }
        Ok(PdfOptions {
            max_pages: self.max_pages,
            dpi: self.dpi,
            use_text_layer: !self.no_text_layer,
            time_budget: Duration::try_from_secs_f64(self.pdf_time_budget)
                .map_err(|_| invalid("--pdf-time-budget must be a positive number of seconds"))?,
            ..PdfOptions::default()
        })
    }
}

/// Locale hints and the rules switch.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Rules")]
pub struct RuleArgs {
    /// Country the documents come from (ISO 3166-1 alpha-2), to resolve `$`, `kr` and day/month order.
    #[arg(long, env = "OCR_COUNTRY")]
    pub country: Option<String>,

    /// Language of the documents (ISO 639-1), a hint like the country.
    #[arg(long, env = "OCR_LANG")]
    pub language: Option<String>,

    /// Currency assumed when a document shows none (ISO 4217); otherwise none is invented.
    #[arg(long, env = "DEFAULT_CURRENCY")]
    pub default_currency: Option<String>,

    /// `false` passes the backend's raw strings through without normalisation or checks.
    #[arg(long, env = "RULES_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub rules_enabled: bool,

    /// E-invoice XML embedded in a PDF (Factur-X, ZUGFeRD, XRechnung): `prefer` takes the
    /// fields from it and checks them against the pages, `off` reads only the pages, `only`
    /// reads only the XML (a PDF without one is refused). XML uploads are always read.
    #[arg(long, env = "EMBEDDED_INVOICE", value_enum, default_value = "prefer")]
    pub embedded_invoice: EmbeddedInvoice,
}

impl RuleArgs {
    /// Extraction options with these hints, for all fields.
    pub fn extract_options(&self) -> ExtractOptions {
        ExtractOptions {
            rules: RuleContext {
                hints: LocaleHints {
                    country: self.country.clone(),
                    language: self.language.clone(),
                    currency: self.default_currency.clone(),
                },
                enabled: self.rules_enabled,
                ..RuleContext::default()
            },
            fields: None::<Vec<FieldName>>,
            lists: None,
            page_images: Vec::new(),
        }
    }
}

/// The `openai` backend: any OpenAI-compatible server (vLLM, mock-vllm).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "The openai backend")]
pub struct OpenAiArgs {
    /// Base URL of the server, e.g. `http://localhost:8001`; setting it enables the backend.
    #[arg(long, env = "VLLM_BASE_URL")]
    pub vllm_base_url: Option<String>,

    /// Bearer key for the server.
    #[arg(long, env = "VLLM_API_KEY", value_parser = parse_secret, default_value = "")]
    pub vllm_api_key: Secret,

    /// Model to ask for (default: the first one the server lists).
    #[arg(long, env = "VLLM_MODEL")]
    pub vllm_model: Option<String>,

    /// How to ask: tilt (chat + input_ocr_document), tilt-generate (/v1/tilt/generate),
    /// llm (OCR lines as text + JSON schema), vlm (page images + JSON schema).
    #[arg(long, env = "VLLM_STYLE", default_value = "tilt")]
    pub vllm_style: String,

    /// Seconds per call to the server.
    #[arg(long, env = "VLLM_TIMEOUT_S", default_value_t = 60.0)]
    pub vllm_timeout: f64,

    /// Extra attempts after a 502, a 503 or a connection error (jittered backoff).
    #[arg(long, env = "VLLM_RETRIES", default_value_t = 2)]
    pub vllm_retries: u32,

    /// Failures in a row that open the circuit breaker.
    #[arg(long, env = "VLLM_BREAKER_THRESHOLD", default_value_t = 5)]
    pub vllm_breaker_threshold: u32,

    /// Seconds the circuit stays open before one probe.
    #[arg(long, env = "VLLM_BREAKER_COOLDOWN_S", default_value_t = 30.0)]
    pub vllm_breaker_cooldown: f64,

    /// Most tokens per answer.
    #[arg(long, env = "VLLM_MAX_TOKENS", default_value_t = 256)]
    pub vllm_max_tokens: u32,
}

impl OpenAiArgs {
    /// The backend's configuration, or `None` when no server is configured.
    pub fn config(&self) -> Result<Option<kie_openai::OpenAiConfig>, ConfigError> {
        let Some(url) = &self.vllm_base_url else {
            return Ok(None);
        };
        let secs = |v: f64, name: &str| {
            Duration::try_from_secs_f64(v)
                .map_err(|_| invalid(format!("{name} must be a positive number of seconds")))
        };
        let mut c = kie_openai::OpenAiConfig::new(url.clone());
        c.api_key = (!self.vllm_api_key.0.is_empty()).then(|| self.vllm_api_key.0.clone());
        c.model = self.vllm_model.clone();
        c.style = self.vllm_style.parse().map_err(ConfigError::Invalid)?;
        c.timeout = secs(self.vllm_timeout, "--vllm-timeout")?;
        c.retries = self.vllm_retries;
        c.breaker_threshold = self.vllm_breaker_threshold;
        c.breaker_cooldown = secs(self.vllm_breaker_cooldown, "--vllm-breaker-cooldown")?;
        c.max_tokens = self.vllm_max_tokens;
        Ok(Some(c))
    }
}

/// Everything the pipeline is built from: the default backend, its rules and hints, the
/// backends' connections, the OCR engine and PDF reading. Shared by `extract` and `serve`.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// KIE backend used when a request names none: layout (built in, no model weights), tilt
    /// (needs TILT_MODEL and a build with the `tilt` feature) or openai (needs VLLM_BASE_URL).
    #[arg(long, env = "KIE_BACKEND", default_value = "layout")]
    pub backend: String,

    #[command(flatten)]
    pub rules: RuleArgs,

    #[command(flatten)]
    pub openai: OpenAiArgs,

    #[cfg(feature = "tilt")]
    #[command(flatten)]
    pub tilt: kie_tilt::TiltArgs,

    /// Read only to say that this build cannot use it.
    #[cfg(not(feature = "tilt"))]
    #[arg(long = "tilt-model", env = "TILT_MODEL", hide = true)]
    pub tilt_model: Option<PathBuf>,

    #[command(flatten)]
    pub engine: OcrEngineArgs,

    #[command(flatten)]
    pub pdf: PdfArgs,
}

/// [`PipelineArgs`] checked once: what [`PipelineConfig::build`] loads, and the request
/// defaults.
#[derive(Debug, Clone)]
pub struct PipelineConfig {
    pub ocr: OcrConfig,
    pub pdf: PdfOptions,
    pub openai: Option<kie_openai::OpenAiConfig>,
    #[cfg(feature = "tilt")]
    pub tilt: Option<kie_tilt::TiltSettings>,
    pub default_backend: String,
    /// Options and e-invoice mode of a request that sets none.
    pub request: ExtractRequest,
}

impl PipelineArgs {
    /// Checks every value (nothing is loaded or connected yet).
    pub fn resolve(&self) -> Result<PipelineConfig, ConfigError> {
        #[cfg(not(feature = "tilt"))]
        if self.tilt_model.is_some() {
            return Err(invalid(
                "TILT_MODEL is set, but this ocrlty was built without the tilt backend (build \
                 it with `cargo build --release --features tilt`, LIBTORCH set by scripts/setup)",
            ));
        }
        Ok(PipelineConfig {
            ocr: self.engine.config()?,
            pdf: self.pdf.options()?,
            openai: self.openai.config()?,
            #[cfg(feature = "tilt")]
            tilt: self.tilt.settings().map_err(|e| invalid(e.to_string()))?,
            default_backend: self.backend.clone(),
            request: ExtractRequest {
                backend: None,
                options: self.rules.extract_options(),
                embedded_invoice: self.rules.embedded_invoice,
                keep_images: false,
            },
        })
    }
}

impl PipelineConfig {
    /// Loads the OCR models, connects the configured backends and builds the pipeline.
    pub fn build(self) -> Result<Pipeline, PipelineError> {
        let b = Pipeline::builder()
            .ocr(self.ocr)
            .pdf(self.pdf)
            .openai(self.openai)?;
        #[cfg(feature = "tilt")]
        let b = b.tilt(self.tilt)?;
        b.default_backend(self.default_backend).build()
    }
}

/// A secret string, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "[unset]"
        } else {
            "[redacted]"
        })
    }
}

fn parse_device(s: &str) -> Result<ocr_core::Device, String> {
    s.parse()
}

fn parse_secret(s: &str) -> Result<Secret, String> {
    Ok(Secret(s.to_string()))
}

/// API keys, never printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKeys(pub Vec<String>);

impl std::fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "[{} key(s), redacted]", self.0.len())
    }
}

fn parse_keys(s: &str) -> Result<ApiKeys, String> {
    Ok(ApiKeys(
        s.split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(String::from)
            .collect(),
    ))
}

/// `ocrlty serve`: the HTTP API.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML file of defaults: keys are the long flag names (`port = 8000`,
    /// `max-upload-mb = 20`); flags and environment variables win over it.
    #[arg(long, env = "OCRLTY_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address to listen on.
    #[arg(long, env = "API_HOST", default_value = "0.0.0.0")]
    pub host: String,

    /// Port to listen on (0: any free port, logged at start).
    #[arg(long, env = "API_PORT", default_value_t = 8000)]
    pub port: u16,

    /// Largest request body, in MiB; an upload over it is refused while it streams in.
    #[arg(long, env = "MAX_UPLOAD_MB", default_value_t = 20)]
    pub max_upload_mb: u64,

    /// Document types accepted, as MIME types, decided from the bytes (not the declared type).
    #[arg(
        long,
        env = "ALLOWED_CONTENT_TYPES",
        value_delimiter = ',',
        default_value = "application/pdf,image/jpeg,image/png,image/tiff,image/webp,application/xml"
    )]
    pub allowed_content_types: Vec<String>,

    /// Documents read (decoded and OCR'd) at the same time.
    #[arg(long, env = "OCR_CONCURRENCY", default_value_t = 3)]
    pub ocr_concurrency: usize,

    /// Documents that may wait for an OCR slot; more are refused with 429.
    #[arg(long, env = "QUEUE_SIZE", default_value_t = 64)]
    pub queue_size: usize,

    /// Seconds a request may take, its upload and waiting included; over it the answer is 504
    /// (408 while the upload is still arriving).
    #[arg(long, env = "REQUEST_TIMEOUT_S", default_value_t = 120.0)]
    pub request_timeout: f64,

    /// Files one batch request may carry.
    #[arg(long, env = "MAX_BATCH_FILES", default_value_t = 32)]
    pub max_batch_files: usize,

    /// Results kept in the content-hash cache (0: no cache).
    #[arg(long, env = "CACHE_SIZE", default_value_t = 512)]
    pub cache_size: usize,

    /// Comma-separated API keys; when set, /v1/extract* need `Authorization: Bearer <key>`.
    #[arg(long, env = "API_KEYS", value_parser = parse_keys, default_value = "")]
    pub api_keys: ApiKeys,

    /// With API_KEYS set, the operational routes that stay open without a key: any of
    /// /v1/health, /version, /metrics, /docs (with /openapi.json), comma-separated, or `none`.
    /// The probes (/livez, /readyz, /ping) are always open; extraction and jobs always need a
    /// key.
    #[arg(
        long,
        env = "PUBLIC_PATHS",
        value_delimiter = ',',
        value_parser = parse_public_path,
        default_value = "/v1/health,/version,/metrics,/docs"
    )]
    pub public_paths: Vec<String>,

    /// Connections served at once; more wait in the listen backlog (never a file descriptor
    /// each past this).
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 1024)]
    pub max_connections: usize,

    /// Seconds a connection gets to send a request's headers (also the longest a kept-alive
    /// connection idles); then it is closed, so idle or trickling clients cannot hold
    /// connections.
    #[arg(long, env = "HEADER_READ_TIMEOUT_S", default_value_t = 30.0)]
    pub header_read_timeout: f64,

    /// Seconds an upload may pause (no bytes arriving) before it is answered with 408
    /// `request_timeout`; one that trickles without pausing ends at REQUEST_TIMEOUT_S.
    #[arg(long, env = "BODY_READ_TIMEOUT_S", default_value_t = 30.0)]
    pub body_read_timeout: f64,

    /// Seconds in-flight requests get to finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "SHUTDOWN_GRACE_S", default_value_t = 30.0)]
    pub shutdown_grace: f64,

    /// Also answer `/v1/chat/completions` and `/v1/models` by passing them to the model server
    /// at VLLM_BASE_URL (behind the API key check): one gateway for both kinds of client.
    #[arg(long, env = "PROXY_MODEL_SERVER", default_value_t = false, action = clap::ArgAction::Set)]
    pub proxy_model_server: bool,

    #[command(flatten)]
    pub jobs: JobArgs,

    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

/// The operational routes `PUBLIC_PATHS` may open.
pub const OPERATIONAL_PATHS: [&str; 4] = ["/v1/health", "/version", "/metrics", "/docs"];

fn parse_public_path(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s == "none" || OPERATIONAL_PATHS.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "'{s}' is not an operational route (known: {}, or none)",
            OPERATIONAL_PATHS.join(", ")
        ))
    }
}

/// `ocrlty worker`: job workers with no API, their probes on a small port.
#[derive(Debug, Clone, Args)]
pub struct WorkerArgs {
    /// Port of the worker's probes and metrics (`/livez`, `/readyz`, `/metrics`), on --host.
    #[arg(long, env = "WORKER_HEALTH_PORT", default_value_t = 8002)]
    pub health_port: u16,

    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The asynchronous jobs (`/v1/jobs`): where they are stored, how they run, their webhooks.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Jobs")]
pub struct JobArgs {
    /// PostgreSQL for the job queue (`postgres://user:pass@host/db`), shared by every API
    /// replica and worker; unset: an SQLite file in --data-dir (one node).
    #[arg(long, env = "DATABASE_URL", value_parser = parse_secret, default_value = "")]
    pub database_url: Secret,

    /// Where the embedded job store lives when DATABASE_URL is unset.
    #[arg(long, env = "OCRLTY_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Job workers in this process (`serve`: 0 makes a pure API replica; `worker`: at least 1).
    #[arg(long, env = "OCRLTY_WORKERS", default_value_t = 1)]
    pub workers: usize,

    /// Queued jobs beyond which POST /v1/jobs answers 429.
    #[arg(long, env = "MAX_QUEUED_JOBS", default_value_t = 10_000)]
    pub max_queued_jobs: u64,

    /// Attempts a job gets (a lost worker or a server-side failure uses one); a bad document
    /// fails at once.
    #[arg(long, env = "JOB_MAX_ATTEMPTS", default_value_t = 3)]
    pub job_max_attempts: u32,

    /// Seconds a worker's claim on a job lasts without a heartbeat (heartbeats come three
    /// times per lease); a job whose worker died is claimed again after it.
    #[arg(long, env = "JOB_LEASE_S", default_value_t = 30.0)]
    pub job_lease: f64,

    /// Seconds an ended job and its result are kept.
    #[arg(long, env = "JOB_RESULT_TTL_S", default_value_t = 86_400.0)]
    pub job_result_ttl: f64,

    /// Key of the HMAC-SHA256 signature on webhook deliveries; callbacks are refused without it.
    #[arg(long, env = "WEBHOOK_SECRET", value_parser = parse_secret, default_value = "")]
    pub webhook_secret: Secret,

    /// Hosts callbacks may go to: `host`, `host:port` or `*.domain`, comma-separated; empty:
    /// no callbacks.
    #[arg(long, env = "WEBHOOK_ALLOWED_HOSTS", default_value = "")]
    pub webhook_allowed_hosts: String,
}

impl JobArgs {
    /// The store's settings, checked.
    pub fn store_settings(&self) -> Result<jobs::StoreSettings, ConfigError> {
        let secs = |v: f64, name: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok(std::time::Duration::from_secs_f64(v))
            } else {
                Err(invalid(format!(
                    "{name} must be a non-negative number of seconds"
                )))
            }
        };
        let lease = secs(self.job_lease, "--job-lease")?;
        if lease < std::time::Duration::from_secs(1) {
            return Err(invalid("--job-lease must be at least 1 second"));
        }
        if self.job_max_attempts == 0 {
            return Err(invalid("--job-max-attempts must be at least 1"));
        }
        Ok(jobs::StoreSettings {
            max_attempts: self.job_max_attempts,
            lease,
            result_ttl: secs(self.job_result_ttl, "--job-result-ttl")?,
            max_queued: self.max_queued_jobs,
            ..jobs::StoreSettings::default()
        })
    }

    /// The PostgreSQL URL, when one is set.
    pub fn database_url(&self) -> Option<&str> {
        Some(self.database_url.0.as_str()).filter(|u| !u.trim().is_empty())
    }
}

impl ServeArgs {
    /// Checks every value once: the server's own, then the pipeline's (returned).
    pub fn resolve(&self) -> Result<PipelineConfig, ConfigError> {
        if self.ocr_concurrency == 0 {
            return Err(invalid("--ocr-concurrency must be at least 1"));
        }
        if self.max_upload_mb == 0 || self.max_upload_mb > 4096 {
            return Err(invalid("--max-upload-mb must lie between 1 and 4096"));
        }
        if self.max_batch_files == 0 {
            return Err(invalid("--max-batch-files must be at least 1"));
        }
        if !(self.request_timeout > 0.0 && self.request_timeout.is_finite()) {
            return Err(invalid(
                "--request-timeout must be a positive number of seconds",
            ));
        }
        for t in &self.allowed_content_types {
            if doc_input::DocumentKind::from_mime(t).is_none() {
                return Err(invalid(format!(
                    "ALLOWED_CONTENT_TYPES: '{t}' is not one of application/pdf, image/jpeg, \
                     image/png, image/tiff, image/webp, application/xml"
                )));
            }
        }
        self.jobs.store_settings()?;
        if self.proxy_model_server && self.pipeline.openai.vllm_base_url.is_none() {
            return Err(invalid(
                "PROXY_MODEL_SERVER needs VLLM_BASE_URL: the model server to pass requests to",
            ));
        }
        self.pipeline.resolve()
    }
}

/// Parses `argv` into `T`, taking defaults from the TOML file named by `--config` (or the
/// environment variable of that flag) for every flag given neither on the command line nor in
/// the environment. Unknown keys in the file are an error.
pub fn parse_with_file<T: CommandFactory + FromArgMatches>(
    argv: Vec<OsString>,
    config_flag: &str,
) -> Result<T, clap::Error> {
    let mut cmd = T::command();
    let matches = cmd.try_get_matches_from_mut(argv.clone())?;
    let extra = {
        // The flag may belong to a subcommand (`ocrlty serve --config ...`).
        let (mut level_cmd, mut level) = (&cmd, &matches);
        loop {
            if let Ok(Some(path)) = level.try_get_one::<PathBuf>(config_flag) {
                break Some(file_args(level_cmd, level, path).map_err(|e| {
                    cmd.clone()
                        .error(clap::error::ErrorKind::InvalidValue, e.to_string())
                })?);
            }
            match level
                .subcommand()
                .and_then(|(name, m)| Some((level_cmd.find_subcommand(name)?, m)))
            {
                Some((c, m)) => (level_cmd, level) = (c, m),
                None => break None,
            }
        }
    };
    let Some(extra) = extra else {
        return T::from_arg_matches(&matches);
    };
    let mut argv = argv;
    argv.extend(extra);
    let matches = cmd.try_get_matches_from_mut(argv)?;
    T::from_arg_matches(&matches)
}

/// `--flag=value` for each key of the file whose flag is still at its default.
fn file_args(
    cmd: &clap::Command,
    matches: &clap::ArgMatches,
    path: &Path,
) -> Result<Vec<OsString>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let table: toml::Table = text
        .parse()
        .map_err(|e: toml::de::Error| ConfigError::File {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    let mut out = Vec::new();
    for (key, value) in table {
        let long = key.replace('_', "-");
        let found = cmd
            .get_arguments()
            .find(|a| a.get_long() == Some(long.as_str()));
        // configs/ocrlty.toml lists the tilt settings of the full build; a build without the
        // tilt feature passes over them (TILT_MODEL itself is still refused, by `resolve`).
        if found.is_none() && !cfg!(feature = "tilt") && long.starts_with("tilt-") {
            tracing::warn!(
                key,
                "ignored: this ocrlty was built without the tilt backend"
            );
            continue;
        }
        let arg = found.ok_or_else(|| ConfigError::File {
            path: path.to_path_buf(),
            message: format!("unknown key '{key}' (keys are the long flag names of --help)"),
        })?;
        let id = arg.get_id().as_str();
        if !matches!(
            matches.value_source(id),
            None | Some(ValueSource::DefaultValue)
        ) {
            continue;
        }
        let text = match &value {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|v| match v {
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(ConfigError::File {
                    path: path.to_path_buf(),
                    message: format!("'{key}' has an unsupported value {other}"),
                });
            }
        };
        let is_switch = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        if is_switch {
            if text == "true" {
                out.push(OsString::from(format!("--{long}")));
            }
        } else {
            out.push(OsString::from(format!("--{long}={text}")));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn argv(extra: &[&str]) -> Vec<OsString> {
        std::iter::once("serve")
            .chain(extra.iter().copied())
            .map(OsString::from)
            .collect()
    }

    #[test]
    fn file_values_fill_flags_left_at_their_default_and_flags_win() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("ocrlty.toml");
        std::fs::write(
            &file,
            "port = 9100\nmax_upload_mb = 5\nallowed-content-types = [\"image/png\"]\nno-text-layer = true\n",
        )
        .expect("write");
        let cfg = file.to_string_lossy().to_string();
        let s: Serve = parse_with_file(argv(&["--config", &cfg, "--max-upload-mb", "7"]), "config")
            .expect("parses");
        assert_eq!(s.args.port, 9100);
        assert_eq!(s.args.max_upload_mb, 7, "the flag wins over the file");
        assert_eq!(s.args.allowed_content_types, ["image/png"]);
        assert!(s.args.pipeline.pdf.no_text_layer);
    }

    #[test]
    fn unknown_keys_in_the_file_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("ocrlty.toml");
        std::fs::write(&file, "prot = 9100\n").expect("write");
        let cfg = file.to_string_lossy().to_string();
        let e = parse_with_file::<Serve>(argv(&["--config", &cfg]), "config").expect_err("refused");
        assert!(e.to_string().contains("unknown key 'prot'"), "{e}");
    }

    #[test]
    fn api_keys_never_show_in_debug_output() {
        let s = Serve::parse_from(argv(&[
            "--api-keys",
            "s3cret,other",
            "--vllm-api-key",
            "sk-9",
        ]));
        assert_eq!(s.args.api_keys.0, ["s3cret", "other"]);
        let dbg = format!("{:?}", s.args);
        assert!(!dbg.contains("s3cret") && !dbg.contains("sk-9"), "{dbg}");
        assert!(dbg.contains("2 key(s), redacted"));
    }

    #[test]
    fn validation_names_the_bad_setting() {
        let s = Serve::parse_from(argv(&["--allowed-content-types", "image/gif"]));
        let e = s.args.resolve().expect_err("refused");
        assert!(e.to_string().contains("image/gif"), "{e}");
        let s = Serve::parse_from(argv(&["--ocr-concurrency", "0"]));
        assert!(s.args.resolve().is_err());
    }
}
