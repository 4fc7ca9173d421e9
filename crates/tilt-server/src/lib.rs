//! The TILT model server (binary `tilt-server`, :8001): the Rust counterpart of OCRlty's
//! `apps/tilt_api.py` (tilt-architecture.md §8.2, §8.4) over [`tilt_infer::TiltEngine`].
//!
//! - `POST /v1/tilt/generate` — OCRlty's request and response; errors as FastAPI's
//!   `{"detail": …}`.
//! - `POST /v1/chat/completions` — the question in the text parts, the document in an
//!   `input_ocr_document` part, page images as `image_url` data URIs; OpenAI's error envelope.
//! - `GET /v1/models`, `GET /health`, `GET /v1/health`, `GET /ping`.
//!
//! Decoding is greedy (the reference's temperature 0); a request asking for sampling is refused.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use ocr_document::{GenerateRequest, OcrDocument, read_chat_content};
use serde_json::{Value, json};
use tilt_infer::{TiltEngine, TiltError, TiltRequest, TiltResponse};

/// What the handlers share.
#[derive(Debug)]
pub struct TiltState {
    pub engine: TiltEngine,
    /// The name `/v1/models` lists and responses echo.
    pub model_name: String,
    /// `max_tokens` when a request gives none.
    pub default_max_tokens: usize,
    /// The most a request may ask for.
    pub max_tokens_limit: usize,
}

/// The routes (also mountable in another axum app).
pub fn router(state: Arc<TiltState>, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/v1/tilt/generate", post(generate))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/models", get(models))
        .route("/health", get(health))
        .route("/v1/health", get(health))
        .route("/ping", get(|| async { StatusCode::OK }))
        .layer(DefaultBodyLimit::max(max_body_bytes))
        .with_state(state)
}

/// A failure with its status; rendered in the envelope of the route it happened on.
#[derive(Debug)]
struct Failure {
    status: StatusCode,
    message: String,
}

fn fail(status: StatusCode, message: impl Into<String>) -> Failure {
    Failure {
        status,
        message: message.into(),
    }
}

fn fastapi(f: Failure) -> Response {
    (f.status, Json(json!({"detail": f.message}))).into_response()
}

/// OpenAI's error envelope, its `type` named as OpenAI's clients name the status.
fn openai(f: Failure) -> Response {
    let kind = match f.status {
        StatusCode::NOT_FOUND => "NotFoundError",
        StatusCode::UNPROCESSABLE_ENTITY => "UnprocessableEntityError",
        StatusCode::TOO_MANY_REQUESTS => "RateLimitError",
        StatusCode::SERVICE_UNAVAILABLE => "ServiceUnavailableError",
        s if s.is_client_error() => "BadRequestError",
        _ => "InternalServerError",
    };
    (
        f.status,
        Json(json!({"error": {"message": f.message, "type": kind, "code": f.status.as_u16()}})),
    )
        .into_response()
}

fn engine_failure(e: TiltError) -> Failure {
    match e {
        TiltError::Busy => fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "the model's queue is full; retry later",
        ),
        TiltError::EngineStopped => fail(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        TiltError::Prep(p) => fail(StatusCode::BAD_REQUEST, p.to_string()),
        other => fail(StatusCode::INTERNAL_SERVER_ERROR, other.to_string()),
    }
}

fn decode_image(b64: &str) -> Result<image::RgbImage, Failure> {
    let data = b64.split_once("base64,").map_or(b64, |(_, d)| d).trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(data)
        .map_err(|e| fail(StatusCode::BAD_REQUEST, format!("image is not base64: {e}")))?;
    image::load_from_memory(&bytes)
        .map(|i| i.to_rgb8())
        .map_err(|e| {
            fail(
                StatusCode::BAD_REQUEST,
                format!("image does not decode: {e}"),
            )
        })
}

impl TiltState {
    fn max_tokens(&self, asked: Option<u64>) -> Result<usize, Failure> {
        match asked {
            None => Ok(self.default_max_tokens),
            Some(0) => Err(fail(
                StatusCode::BAD_REQUEST,
                "max_tokens must be at least 1",
            )),
            Some(n) if n as usize > self.max_tokens_limit => Err(fail(
                StatusCode::BAD_REQUEST,
                format!(
                    "max_tokens {n} exceeds this server's limit {}",
                    self.max_tokens_limit
                ),
            )),
            Some(n) => Ok(n as usize),
        }
    }

    /// Asks one question on the engine thread without blocking the runtime; the question's
    /// own failure (e.g. too long) is a 400.
    async fn ask(
        &self,
        doc: OcrDocument,
        images: Vec<Option<image::RgbImage>>,
        question: String,
        max_tokens: usize,
    ) -> Result<(TiltResponse, tilt_infer::Answer), Failure> {
        let req = TiltRequest {
            doc,
            images,
            questions: vec![question],
            max_tokens,
        };
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.engine
            .submit(req, move |r| {
                let _ = tx.send(r);
            })
            .map_err(engine_failure)?;
        let mut resp = rx
            .await
            .map_err(|_| engine_failure(TiltError::EngineStopped))?
            .map_err(engine_failure)?;
        match resp.answers.pop() {
            Some(Ok(a)) => Ok((resp, a)),
            Some(Err(e)) => Err(fail(StatusCode::BAD_REQUEST, e)),
            None => Err(fail(StatusCode::INTERNAL_SERVER_ERROR, "no answer")),
        }
    }
}

fn check_temperature(t: Option<f64>) -> Result<(), Failure> {
    match t {
        Some(t) if t > 0.0 => Err(fail(
            StatusCode::BAD_REQUEST,
            "only greedy decoding is implemented: temperature must be 0",
        )),
        _ => Ok(()),
    }
}

async fn generate(State(st): State<Arc<TiltState>>, body: Json<Value>) -> Response {
    match generate_inner(&st, body.0).await {
        Ok(v) => Json(v).into_response(),
        Err(f) => fastapi(f),
    }
}

async fn generate_inner(st: &TiltState, body: Value) -> Result<Value, Failure> {
    let started = Instant::now();
    let req: GenerateRequest = serde_json::from_value(body).map_err(|e| {
        fail(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("invalid request: {e}"),
        )
    })?;
    if req.pages.is_empty() {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "Request must contain at least one page.",
        ));
    }
    check_temperature(req.temperature.map(f64::from))?;
    let max_tokens = st.max_tokens(req.max_tokens.map(u64::from))?;
    let question = req.question.trim().to_string();
    if question.is_empty() {
        return Err(fail(StatusCode::BAD_REQUEST, "question is empty"));
    }
    // Pages without OCR words are dropped (as the reference does), with their images.
    let mut images = Vec::new();
    for page in &req.pages {
        let has_words = page
            .ocr
            .as_ref()
            .is_some_and(|o| o.words.iter().any(|w| !w.text.trim().is_empty()));
        if page.image_path.is_some() {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "image_path is not accepted (the server does not read its own files); send image_b64",
            ));
        }
        if has_words {
            images.push(page.image_b64.as_deref().map(decode_image).transpose()?);
        }
    }
    let doc = req.document();
    if doc.pages.is_empty() {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "No valid OCR words found on any page for TILT.",
        ));
    }
    let (resp, a) = st.ask(doc, images, question, max_tokens).await?;
    let id = req.request_id.unwrap_or_else(|| "1".into());
    Ok(json!({
        "id": format!("tiltcmpl-{id}"),
        "object": "chat.completion",
        "model": req.model.unwrap_or_else(|| st.model_name.clone()),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": a.text},
                     "finish_reason": a.generation.finish.as_str()}],
        "usage": {"prompt_tokens": resp.doc_tokens, "completion_tokens": a.generation.ids.len(),
                  "total_tokens": resp.doc_tokens + a.generation.ids.len()},
        "raw": {"score": a.score, "values": a.values,
                "meta": {"preprocess_s": resp.prepare_ms / 1e3, "infer_s": resp.infer_ms / 1e3,
                         "total_s": started.elapsed().as_secs_f64(), "batch_size": resp.batch_size}},
    }))
}

async fn chat(State(st): State<Arc<TiltState>>, body: Json<Value>) -> Response {
    match chat_inner(&st, body.0).await {
        Ok(v) => Json(v).into_response(),
        Err(f) => openai(f),
    }
}

async fn chat_inner(st: &TiltState, body: Value) -> Result<Value, Failure> {
    let content =
        read_chat_content(&body).map_err(|e| fail(StatusCode::BAD_REQUEST, e.to_string()))?;
    check_temperature(body.get("temperature").and_then(Value::as_f64))?;
    let max_tokens = st.max_tokens(
        body.get("max_tokens")
            .or_else(|| body.get("max_completion_tokens"))
            .and_then(Value::as_u64),
    )?;
    let mut images = Vec::new();
    for url in &content.image_urls {
        if !url.starts_with("data:image/") {
            return Err(fail(
                StatusCode::BAD_REQUEST,
                "image_url must be a data: URI (the server fetches nothing)",
            ));
        }
        images.push(Some(decode_image(url)?));
    }
    let texts = content.texts;
    let doc = content.document.ok_or_else(|| {
        fail(
            StatusCode::BAD_REQUEST,
            "an input_ocr_document part with the page words is required",
        )
    })?;
    if doc.pages.iter().all(|p| p.words.is_empty()) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "No valid OCR words found on any page for TILT.",
        ));
    }
    let question = texts.join(" ").trim().to_string();
    if question.is_empty() {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "the question (a text part) is empty",
        ));
    }
    let (resp, a) = st.ask(doc, images, question, max_tokens).await?;
    let want_logprobs = body.get("logprobs").and_then(Value::as_bool) == Some(true);
    let logprobs = want_logprobs.then(|| {
        json!({"content": a.pieces.iter().zip(&a.generation.logprobs)
            .map(|(t, lp)| json!({"token": t, "logprob": lp})).collect::<Vec<_>>()})
    });
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    Ok(json!({
        "id": format!("chatcmpl-tilt-{created}"),
        "object": "chat.completion",
        "created": created,
        "model": body.get("model").and_then(Value::as_str).unwrap_or(&st.model_name),
        "choices": [{"index": 0, "message": {"role": "assistant", "content": a.text},
                     "logprobs": logprobs, "finish_reason": a.generation.finish.as_str()}],
        "usage": {"prompt_tokens": resp.doc_tokens, "completion_tokens": a.generation.ids.len(),
                  "total_tokens": resp.doc_tokens + a.generation.ids.len()},
    }))
}

async fn models(State(st): State<Arc<TiltState>>) -> Json<Value> {
    Json(json!({"object": "list", "data": [{
        "id": st.model_name, "object": "model", "owned_by": "ocrlty",
    }]}))
}

async fn health(State(st): State<Arc<TiltState>>) -> Json<Value> {
    let i = &st.engine.info;
    Json(json!({
        "status": "ok", "model": st.model_name, "model_dir": i.model_dir,
        "device": i.device, "dtype": i.dtype, "parameters": i.parameters,
        "max_batch": i.max_batch,
    }))
}

/// Resolves on SIGTERM (how orchestrators stop a container) or Ctrl-C.
pub async fn shutdown_signal() {
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
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}
