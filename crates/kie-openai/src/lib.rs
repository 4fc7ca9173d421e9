//! # kie-openai
//!
//! The `openai` KIE backend: asks any OpenAI-compatible server for the six fields — vLLM
//! serving Arctic-TILT (`tilt`: chat completions with an `input_ocr_document` part, or
//! OCRlty's `/v1/tilt/generate`), any chat LLM with a JSON schema (`llm`), or a vision LLM
//! given the page images (`vlm`). The answers go
//! through `crates/rules` like every backend's.
//!
//! The HTTP client (pooled, keep-alive) lives on one thread of its own with a small async
//! runtime; [`OpenAiBackend`] is a cheap handle that sends it jobs, so the synchronous
//! [`KieBackend`] trait is kept and no async runtime is ever nested. Retries with jittered
//! backoff on 502/503 and connection errors, a timeout per call, and a circuit breaker.

mod breaker;
pub mod wire;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kie::{ExtractOptions, Extraction, FieldName, KieBackend, KieError};
use ocr_document::OcrDocument;
use serde_json::Value;

pub use breaker::{CircuitBreaker, CircuitState};
pub use wire::Style;

const NAME: &str = "openai";

/// Where and how to ask.
#[derive(Clone)]
pub struct OpenAiConfig {
    /// e.g. `http://localhost:8001` (with or without a trailing `/v1`).
    pub base_url: String,
    pub api_key: Option<String>,
    /// Model to ask for; `None`: the first one `/v1/models` lists.
    pub model: Option<String>,
    pub style: Style,
    /// Per HTTP call.
    pub timeout: Duration,
    /// Extra attempts after a 502, a 503 or a connection error.
    pub retries: u32,
    pub breaker_threshold: u32,
    pub breaker_cooldown: Duration,
    pub max_tokens: u32,
    /// Questions per field for the TILT styles (defaults: [`FieldName::question`]).
    pub questions: BTreeMap<FieldName, String>,
}

impl std::fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("model", &self.model)
            .field("style", &self.style)
            .field("timeout", &self.timeout)
            .field("retries", &self.retries)
            .field("breaker_threshold", &self.breaker_threshold)
            .field("breaker_cooldown", &self.breaker_cooldown)
            .field("max_tokens", &self.max_tokens)
            .finish()
    }
}

impl OpenAiConfig {
    pub fn new(base_url: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            api_key: None,
            model: None,
            style: Style::Tilt,
            timeout: Duration::from_secs(60),
            retries: 2,
            breaker_threshold: 5,
            breaker_cooldown: Duration::from_secs(30),
            max_tokens: 256,
            questions: BTreeMap::new(),
        }
    }

    fn url(&self, path: &str) -> String {
        let base = self.base_url.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        format!("{base}{path}")
    }

    fn question(&self, f: FieldName) -> String {
        self.questions
            .get(&f)
            .cloned()
            .unwrap_or_else(|| f.question().to_string())
    }
}

/// Why one HTTP call failed (the source of the backend's [`KieError`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
enum CallError {
    #[error("the call timed out")]
    Timeout,
    #[error("cannot reach the server: {0}")]
    Connect(String),
    #[error("the server answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("{0}")]
    Malformed(String),
    #[error("circuit open after repeated failures; next try in {0:.1} s")]
    CircuitOpen(f64),
}

impl CallError {
    fn retryable(&self) -> bool {
        matches!(self, CallError::Connect(_))
            || matches!(self, CallError::Status { status, .. } if *status == 502 || *status == 503)
    }

    /// Whether the server is to blame (counts against the circuit).
    fn server_fault(&self) -> bool {
        match self {
            CallError::Timeout | CallError::Connect(_) | CallError::Malformed(_) => true,
            CallError::Status { status, .. } => *status >= 500,
            CallError::CircuitOpen(_) => false,
        }
    }

    fn into_kie(self) -> KieError {
        let e = match &self {
            CallError::Timeout => return KieError::timeout(NAME),
            CallError::Connect(_) | CallError::CircuitOpen(_) => {
                KieError::unavailable(NAME, self.to_string())
            }
            CallError::Status { status, .. } if *status >= 500 => {
                KieError::unavailable(NAME, self.to_string())
            }
            CallError::Status { status, message } => KieError::bad_answer(
                NAME,
                format!("the server refused the request ({status}): {message}"),
            ),
            CallError::Malformed(m) => KieError::bad_answer(NAME, m.clone()),
        };
        e.caused_by(self)
    }
}

#[derive(Debug)]
struct Shared {
    cfg: OpenAiConfig,
    client: reqwest::Client,
    breaker: CircuitBreaker,
    model: Mutex<String>,
}

impl Shared {
    fn model(&self) -> String {
        self.model
            .lock()
            .map(|m| m.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    async fn once(&self, path: &str, body: Option<&Value>) -> Result<Value, CallError> {
        let url = self.cfg.url(path);
        let mut req = match body {
            Some(b) => self.client.post(&url).json(b),
            None => self.client.get(&url),
        };
        if let Some(k) = &self.cfg.api_key {
            req = req.bearer_auth(k);
        }
        let resp = req.send().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout
            } else {
                CallError::Connect(e.to_string())
            }
        })?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| {
            if e.is_timeout() {
                CallError::Timeout
            } else {
                CallError::Connect(format!("the answer broke off: {e}"))
            }
        })?;
        if !(200..300).contains(&status) {
            let message = wire::error_message(&text).unwrap_or_else(|| {
                let t: String = text.chars().take(200).collect();
                if t.is_empty() { "no body".into() } else { t }
            });
            return Err(CallError::Status { status, message });
        }
        serde_json::from_str(&text)
            .map_err(|e| CallError::Malformed(format!("the server's answer is not JSON ({e})")))
    }

    /// One call with retries on 502/503 and connection errors, under the circuit breaker.
    async fn call(&self, path: &str, body: Option<&Value>) -> Result<Value, CallError> {
        if !self.breaker.allow() {
            return Err(CallError::CircuitOpen(self.breaker.retry_in()));
        }
        let mut attempt = 0;
        loop {
            let r = tokio::time::timeout(self.cfg.timeout, self.once(path, body))
                .await
                .unwrap_or(Err(CallError::Timeout));
            match r {
                Ok(v) => {
                    self.breaker.success();
                    return Ok(v);
                }
                Err(e) if e.retryable() && attempt < self.cfg.retries => {
                    tracing::warn!(path, attempt, error = ?e, "retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                    attempt += 1;
                }
                Err(e) => {
                    if e.server_fault() {
                        self.breaker.failure();
                    } else {
                        self.breaker.success();
                    }
                    return Err(e);
                }
            }
        }
    }
}

/// 100 ms · 2^attempt, times a jitter of 0.5..1.5.
fn backoff(attempt: u32) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let jitter = 0.5 + f64::from(nanos % 1000) / 1000.0;
    Duration::from_secs_f64(0.1 * f64::from(1u32 << attempt.min(6)) * jitter)
}

/// A field's answer before the rules.
#[derive(Debug, Clone)]
struct Answer {
    field: FieldName,
    raw: String,
    confidence: f32,
}

/// A document's answers: one per field found, and the lists (the LLM and VLM styles answer
/// them; TILT questions do not ask for them).
#[derive(Debug, Default)]
struct Answers {
    fields: Vec<Answer>,
    line_items: Vec<rules::RawLineItem>,
    tax_breakdown: Vec<rules::RawTaxLine>,
}

enum Job {
    Extract {
        doc: Arc<OcrDocument>,
        /// The pages as JPEG (the vlm style only).
        images: Vec<Vec<u8>>,
        fields: Vec<FieldName>,
        reply: std::sync::mpsc::Sender<Result<Answers, KieError>>,
    },
    Models {
        reply: std::sync::mpsc::Sender<Result<Vec<String>, KieError>>,
    },
    Ping {
        reply: std::sync::mpsc::Sender<Result<(), KieError>>,
    },
}

/// The `openai` backend. Cloning is cheap; every clone talks to the same client thread.
#[derive(Debug, Clone)]
pub struct OpenAiBackend {
    shared: Arc<Shared>,
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Job::Extract { .. } => "Job::Extract",
            Job::Models { .. } => "Job::Models",
            Job::Ping { .. } => "Job::Ping",
        })
    }
}

impl OpenAiBackend {
    /// Starts the client thread and reads `/v1/models` (a server that is down now is not an
    /// error: the model name is then the configured one, and calls fail until it is up).
    pub fn connect(cfg: OpenAiConfig) -> Result<Self, KieError> {
        let unavailable = |message: String| KieError::unavailable(NAME, message);
        if cfg.base_url.starts_with("https://") {
            return Err(unavailable(
                "this build speaks plain HTTP to the model server (no TLS library); reach an \
                 https endpoint through a local TLS proxy"
                    .into(),
            ));
        }
        if !cfg.base_url.starts_with("http://") {
            return Err(unavailable(format!(
                "VLLM_BASE_URL must start with http:// (got '{}')",
                cfg.base_url
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .build()
            .map_err(|e| unavailable(format!("cannot build the HTTP client: {e}")))?;
        let shared = Arc::new(Shared {
            model: Mutex::new(cfg.model.clone().unwrap_or_else(|| "unknown".into())),
            breaker: CircuitBreaker::new(cfg.breaker_threshold, cfg.breaker_cooldown),
            cfg,
            client,
        });
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let worker = shared.clone();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start the client runtime: {e}")))?;
        std::thread::Builder::new()
            .name("kie-openai".into())
            .spawn(move || rt.block_on(serve_jobs(worker, rx)))
            .map_err(|e| unavailable(format!("cannot start the client thread: {e}")))?;
        let backend = OpenAiBackend { shared, jobs: tx };
        match backend.models() {
            Ok(ids) => {
                let configured = backend.shared.cfg.model.clone();
                let chosen = match configured {
                    Some(m) => {
                        if !ids.contains(&m) {
                            tracing::warn!(model = %m, served = ?ids, "the server does not list the configured model");
                        }
                        m
                    }
                    None => ids.first().cloned().unwrap_or_else(|| "unknown".into()),
                };
                tracing::info!(model = %chosen, served = ?ids, "openai backend connected");
                if let Ok(mut m) = backend.shared.model.lock() {
                    *m = chosen;
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot read /v1/models now; going on"),
        }
        Ok(backend)
    }

    /// The model ids the server lists.
    pub fn models(&self) -> Result<Vec<String>, KieError> {
        let (reply, rx) = std::sync::mpsc::channel();
        self.send(Job::Models { reply })?;
        self.wait(&rx)
    }

    pub fn circuit(&self) -> CircuitState {
        self.shared.breaker.state()
    }

    pub fn style(&self) -> Style {
        self.shared.cfg.style
    }

    fn send(&self, job: Job) -> Result<(), KieError> {
        self.jobs
            .send(job)
            .map_err(|_| KieError::unavailable(NAME, "the client thread has stopped"))
    }

    fn wait<T>(&self, rx: &std::sync::mpsc::Receiver<Result<T, KieError>>) -> Result<T, KieError> {
        let c = &self.shared.cfg;
        // Every attempt's timeout, the backoffs between them, and some slack.
        let limit = c.timeout * (c.retries + 1) * 2 + Duration::from_secs(10);
        rx.recv_timeout(limit)
            .unwrap_or(Err(KieError::timeout(NAME)))
    }
}

async fn serve_jobs(shared: Arc<Shared>, mut rx: tokio::sync::mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        let shared = shared.clone();
        tokio::spawn(async move {
            match job {
                Job::Models { reply } => {
                    let r = shared
                        .call("/v1/models", None)
                        .await
                        .map(|v| wire::model_ids(&v))
                        .map_err(CallError::into_kie);
                    let _ = reply.send(r);
                }
                Job::Ping { reply } => {
                    let r = tokio::time::timeout(
                        Duration::from_secs(2),
                        shared.once("/v1/models", None),
                    )
                    .await
                    .unwrap_or(Err(CallError::Timeout))
                    .map(|_| ())
                    .map_err(CallError::into_kie);
                    let _ = reply.send(r);
                }
                Job::Extract {
                    doc,
                    images,
                    fields,
                    reply,
                } => {
                    let _ = reply.send(answers(&shared, doc, images, fields).await);
                }
            }
        });
    }
}

async fn answers(
    shared: &Arc<Shared>,
    doc: Arc<OcrDocument>,
    images: Vec<Vec<u8>>,
    fields: Vec<FieldName>,
) -> Result<Answers, KieError> {
    let cfg = &shared.cfg;
    let model = shared.model();
    match cfg.style {
        Style::Tilt | Style::TiltGenerate => {
            let mut set = tokio::task::JoinSet::new();
            for f in fields {
                let (shared, doc, model) = (shared.clone(), doc.clone(), model.clone());
                set.spawn(async move {
                    let q = shared.cfg.question(f);
                    let (path, body) = match shared.cfg.style {
                        Style::TiltGenerate => (
                            "/v1/tilt/generate",
                            wire::tilt_generate(&model, &q, &doc, shared.cfg.max_tokens),
                        ),
                        _ => (
                            "/v1/chat/completions",
                            wire::tilt_chat(&model, &q, &doc, shared.cfg.max_tokens),
                        ),
                    };
                    let v = shared
                        .call(path, Some(&body))
                        .await
                        .map_err(CallError::into_kie)?;
                    let c = wire::completion(&v).map_err(|m| bad(format!("{path}: {m}")))?;
                    Ok::<_, KieError>(wire::tilt_answer(&c.content).map(|raw| Answer {
                        field: f,
                        raw,
                        confidence: c.min_logprob.map_or(0.6, |l| l.exp() as f32),
                    }))
                });
            }
            let mut out = Vec::new();
            while let Some(joined) = set.join_next().await {
                let r = joined.map_err(|e| bad(format!("a question task failed: {e}")))?;
                out.extend(r?);
            }
            out.sort_by_key(|a| FieldName::ALL.iter().position(|f| *f == a.field));
            Ok(Answers {
                fields: out,
                ..Answers::default()
            })
        }
        Style::Llm | Style::Vlm => {
            if cfg.style == Style::Vlm && images.is_empty() {
                return Err(bad(
                    "the vlm style needs the page images, and none were given",
                ));
            }
            let mut last = String::new();
            for retry_note in [false, true] {
                let body = match cfg.style {
                    Style::Vlm => wire::vlm_chat(&model, &images, cfg.max_tokens, retry_note),
                    _ => wire::llm_chat(&model, &doc, cfg.max_tokens, retry_note),
                };
                let v = shared
                    .call("/v1/chat/completions", Some(&body))
                    .await
                    .map_err(CallError::into_kie)?;
                let c = wire::completion(&v).map_err(bad)?;
                match wire::llm_answer(&c.content) {
                    Ok(found) => {
                        return Ok(Answers {
                            fields: found
                                .fields
                                .into_iter()
                                .filter(|(f, _)| fields.contains(f))
                                .map(|(field, raw)| Answer {
                                    field,
                                    raw,
                                    confidence: 0.6,
                                })
                                .collect(),
                            line_items: found.line_items,
                            tax_breakdown: found.tax_breakdown,
                        });
                    }
                    Err(m) => {
                        tracing::warn!(error = %m, retry = !retry_note, "invalid JSON answer");
                        last = m;
                    }
                }
            }
            Err(bad(format!(
                "the model's answer is not valid JSON twice: {last}"
            )))
        }
    }
}

fn bad(message: impl Into<String>) -> KieError {
    KieError::bad_answer(NAME, message)
}

impl KieBackend for OpenAiBackend {
    fn name(&self) -> &str {
        NAME
    }

    fn model_version(&self) -> String {
        format!("openai:{}", self.shared.model())
    }

    fn extract(&self, doc: &OcrDocument, opts: &ExtractOptions) -> Result<Extraction, KieError> {
        if doc.pages.is_empty() {
            return Err(KieError::EmptyDocument);
        }
        let fields = opts.wanted_fields();
        // Encoded here, on the caller's thread, not on the client's runtime.
        let images = match self.style() {
            Style::Vlm => opts
                .page_images
                .iter()
                .map(wire::page_jpeg)
                .collect::<Result<_, _>>()
                .map_err(|e| bad(format!("cannot encode a page image: {e}")))?,
            _ => Vec::new(),
        };
        let (reply, rx) = std::sync::mpsc::channel();
        self.send(Job::Extract {
            doc: Arc::new(doc.clone()),
            images,
            fields,
            reply,
        })?;
        let answers = self.wait(&rx)?;
        let mut x = Extraction::from_answers_and_lists(
            doc,
            answers
                .fields
                .into_iter()
                .map(|a| (a.field, a.raw, a.confidence)),
            answers.line_items,
            answers.tax_breakdown,
            &opts.rules,
        );
        opts.select(&mut x);
        Ok(x)
    }

    /// Unavailable while the circuit is open; otherwise whether `/v1/models` answers within
    /// two seconds (one try, not counted by the breaker).
    fn health(&self) -> Result<(), KieError> {
        if self.circuit() == CircuitState::Open {
            return Err(CallError::CircuitOpen(self.shared.breaker.retry_in()).into_kie());
        }
        let (reply, rx) = std::sync::mpsc::channel();
        self.send(Job::Ping { reply })?;
        rx.recv_timeout(Duration::from_secs(3))
            .unwrap_or(Err(KieError::timeout(NAME)))
    }

    fn wants_page_images(&self) -> bool {
        self.style() == Style::Vlm
    }

    fn circuit_open(&self) -> bool {
        self.circuit() == CircuitState::Open
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocr_document::{DocPage, DocWord, PageSource};

    #[test]
    fn answers_are_located_on_the_page() {
        let w = |t: &str, x: f32| DocWord {
            text: t.into(),
            bbox: [x, 10.0, x + 40.0, 30.0],
            conf: 1.0,
        };
        let doc = OcrDocument {
            pages: vec![DocPage::from_words(
                0,
                600,
                800,
                PageSource::Ocr,
                vec![
                    w("ACME", 0.0),
                    w("Foods", 50.0),
                    w("Total", 200.0),
                    w("RM12.50", 300.0),
                ],
            )],
        };
        let e = kie::locate(&doc, "ACME Foods").expect("found");
        assert_eq!(e.words, vec![0, 1]);
        assert_eq!(e.text, "ACME Foods");
        let e = kie::locate(&doc, "12.50").expect("found inside a word");
        assert_eq!(e.text, "RM12.50");
        assert!(kie::locate(&doc, "99.99").is_none());
    }

    #[test]
    fn the_base_url_may_end_in_v1() {
        let mut c = OpenAiConfig::new("http://h:8001/v1/");
        assert_eq!(c.url("/v1/models"), "http://h:8001/v1/models");
        c.base_url = "http://h:8001".into();
        assert_eq!(c.url("/v1/models"), "http://h:8001/v1/models");
        c.api_key = Some("sk-secret".into());
        assert!(!format!("{c:?}").contains("sk-secret"));
    }

    #[test]
    fn a_server_that_is_not_there_is_unavailable_then_the_circuit_opens() {
        // A port nothing listens on.
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        drop(l);
        let mut cfg = OpenAiConfig::new(format!("http://127.0.0.1:{port}"));
        cfg.retries = 0;
        cfg.breaker_threshold = 2;
        cfg.timeout = Duration::from_secs(2);
        let b = OpenAiBackend::connect(cfg).expect("starts without the server");
        assert_eq!(b.model_version(), "openai:unknown");
        let doc = OcrDocument {
            pages: vec![DocPage::from_words(
                0,
                10,
                10,
                PageSource::Ocr,
                vec![DocWord {
                    text: "x".into(),
                    bbox: [0.0, 0.0, 5.0, 5.0],
                    conf: 1.0,
                }],
            )],
        };
        let opts = ExtractOptions {
            fields: Some(vec![FieldName::Total]),
            ..ExtractOptions::default()
        };
        let e = b.extract(&doc, &opts).expect_err("nobody answers");
        assert!(matches!(e, KieError::Unavailable { .. }), "{e}");
        // /v1/models at connect failed once, this call once: the circuit is open now.
        assert_eq!(b.circuit(), CircuitState::Open);
        let e = b.extract(&doc, &opts).expect_err("fails fast");
        assert!(e.to_string().contains("circuit open"), "{e}");
        assert!(b.health().is_err());
    }
}
