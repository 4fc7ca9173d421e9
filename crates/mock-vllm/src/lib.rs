//! # mock-vllm
//!
//! An OpenAI-compatible server that stands in for vLLM in local runs and tests:
//! `GET /v1/models`, `POST /v1/chat/completions`, OCRlty's `POST /v1/tilt/generate`,
//! `GET /health`. Answers are deterministic: for an `input_ocr_document` part (or a
//! `/v1/tilt/generate` request) the question is matched to a field and answered by the
//! mock's own plain keyword reading ([`reader`]); for an LLM prompt carrying the OCR lines the six fields come back as a
//! JSON object; or canned answers come from a file (the only way it answers a vision prompt
//! with page images, which it cannot read).
//!
//! Faults, by flag, per request header (`x-mock-*`) or at run time through `POST /mock/faults`:
//! added latency, an error status at a rate (in any of the three error envelopes), malformed
//! JSON, dropped connections, slow (trickled) bodies. `GET /mock/stats` counts requests.

pub mod reader;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kie::FieldName;
use ocr_document::{GenerateRequest, OcrDocument, parse_layout_text, read_chat_content};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The error body shape a fault answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Envelope {
    /// `{"error": {"message", "type", "code"}}`
    #[default]
    Openai,
    /// `{"object": "error", "message", "type", "code"}` (older vLLM)
    Vllm,
    /// `{"detail": "..."}` (FastAPI, OCRlty's tilt_api.py)
    Fastapi,
}

/// Faults applied to the model routes (`/v1/chat/completions`, `/v1/tilt/generate`,
/// `/v1/models`). Rates are fractions of requests, applied deterministically (a rate of 0.25
/// hits every fourth request).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Faults {
    pub latency_ms: u64,
    pub error_rate: f64,
    pub error_status: u16,
    pub envelope: Envelope,
    pub malformed_rate: f64,
    pub drop_rate: f64,
    /// Send the body in small pieces over this many ms.
    pub slow_ms: u64,
}

/// Canned answers: field name → answer string (the `tilt` questions and the LLM object), and
/// optionally `line_items` and `tax_breakdown`, lists the LLM object carries as given.
pub type Answers = BTreeMap<String, Value>;

/// The lists of the LLM object: canned, or none (the mock's own reading finds no items).
fn lists(answers: Option<&Answers>) -> [(String, Value); 2] {
    ["line_items", "tax_breakdown"].map(|k| {
        (
            k.to_string(),
            answers
                .and_then(|a| a.get(k))
                .cloned()
                .unwrap_or_else(|| json!([])),
        )
    })
}

#[derive(Debug)]
pub struct MockState {
    pub model: String,
    faults: RwLock<Faults>,
    answers: Option<Answers>,
    requests: AtomicU64,
    model_requests: AtomicU64,
    images_seen: AtomicU64,
}

impl MockState {
    pub fn new(model: impl Into<String>, faults: Faults, answers: Option<Answers>) -> Arc<Self> {
        Arc::new(MockState {
            model: model.into(),
            faults: RwLock::new(faults),
            answers,
            requests: AtomicU64::new(0),
            model_requests: AtomicU64::new(0),
            images_seen: AtomicU64::new(0),
        })
    }

    fn faults(&self) -> Faults {
        self.faults.read().map(|f| f.clone()).unwrap_or_default()
    }
}

pub fn router(state: Arc<MockState>) -> Router {
    Router::new()
        .route("/v1/models", get(models))
        .route("/v1/chat/completions", post(chat))
        .route("/v1/tilt/generate", post(tilt_generate))
        .route("/health", get(|| async { StatusCode::OK }))
        .route("/v1/health", get(health))
        .route("/mock/faults", post(set_faults).get(get_faults))
        .route("/mock/stats", get(stats))
        .with_state(state)
}

async fn health(State(st): State<Arc<MockState>>) -> Json<Value> {
    Json(json!({"status": "ok", "model": st.model}))
}

async fn set_faults(State(st): State<Arc<MockState>>, Json(f): Json<Faults>) -> Json<Faults> {
    if let Ok(mut g) = st.faults.write() {
        *g = f.clone();
    }
    Json(f)
}

async fn get_faults(State(st): State<Arc<MockState>>) -> Json<Faults> {
    Json(st.faults())
}

async fn stats(State(st): State<Arc<MockState>>) -> Json<Value> {
    Json(json!({
        "requests": st.requests.load(Ordering::SeqCst),
        "model_requests": st.model_requests.load(Ordering::SeqCst),
        "images_seen": st.images_seen.load(Ordering::SeqCst),
    }))
}

/// Whether the n-th request (1-based) is hit by a fault of this rate.
fn hits(n: u64, rate: f64) -> bool {
    if rate <= 0.0 {
        return false;
    }
    let r = rate.min(1.0);
    ((n as f64) * r).floor() > ((n - 1) as f64 * r).floor()
}

fn header_num(h: &HeaderMap, name: &str) -> Option<u64> {
    h.get(name)?.to_str().ok()?.trim().parse().ok()
}

fn error_body(envelope: Envelope, status: u16, message: &str) -> Value {
    match envelope {
        Envelope::Openai => {
            json!({"error": {"message": message, "type": "MockError", "code": status}})
        }
        Envelope::Vllm => {
            json!({"object": "error", "message": message, "type": "MockError", "code": status})
        }
        Envelope::Fastapi => json!({"detail": message}),
    }
}

fn error_response(envelope: Envelope, status: u16, message: &str) -> Response {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (code, Json(error_body(envelope, status, message))).into_response()
}

/// Runs `answer` under the faults of the flags, the run-time settings and the request headers.
async fn with_faults(
    st: &MockState,
    h: &HeaderMap,
    answer: impl FnOnce() -> Result<Value, (u16, String)>,
) -> Response {
    let n = st.model_requests.fetch_add(1, Ordering::SeqCst) + 1;
    st.requests.fetch_add(1, Ordering::SeqCst);
    let mut f = st.faults();
    if let Some(ms) = header_num(h, "x-mock-latency-ms") {
        f.latency_ms = ms;
    }
    if let Some(ms) = header_num(h, "x-mock-slow-ms") {
        f.slow_ms = ms;
    }
    if let Some(e) = h
        .get("x-mock-envelope")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| serde_json::from_value::<Envelope>(json!(v)).ok())
    {
        f.envelope = e;
    }
    if f.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(f.latency_ms)).await;
    }
    if h.contains_key("x-mock-drop") || hits(n, f.drop_rate) {
        // Headers go out, then the body breaks off: the client sees a dropped connection.
        let broken = futures_util::stream::iter([
            Ok(bytes::Bytes::from_static(b"{\"id\": \"chatcmpl-")),
            Err(std::io::Error::other("connection dropped by mock-vllm")),
        ]);
        return (StatusCode::OK, Body::from_stream(broken)).into_response();
    }
    let forced = header_num(h, "x-mock-status").map(|s| s as u16);
    if let Some(status) = forced.or_else(|| hits(n, f.error_rate).then_some(f.error_status)) {
        let status = if status == 0 { 503 } else { status };
        return error_response(
            f.envelope,
            status,
            &format!("mock-vllm injected a {status}"),
        );
    }
    if h.contains_key("x-mock-malformed") || hits(n, f.malformed_rate) {
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            "{\"choices\": [{\"message\": {\"content\": ",
        )
            .into_response();
    }
    let v = match answer() {
        Ok(v) => v,
        Err((status, message)) => return error_response(f.envelope, status, &message),
    };
    let text = v.to_string();
    if f.slow_ms > 0 {
        let pieces: Vec<Vec<u8>> = text.as_bytes().chunks(16).map(<[u8]>::to_vec).collect();
        let delay = Duration::from_millis(f.slow_ms / pieces.len().max(1) as u64);
        let stream = futures_util::stream::unfold(pieces.into_iter(), move |mut it| async move {
            let next = it.next()?;
            tokio::time::sleep(delay).await;
            Some((Ok::<_, std::io::Error>(bytes::Bytes::from(next)), it))
        });
        return (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            Body::from_stream(stream),
        )
            .into_response();
    }
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        text,
    )
        .into_response()
}

async fn models(State(st): State<Arc<MockState>>, h: HeaderMap) -> Response {
    let model = st.model.clone();
    with_faults(&st, &h, move || {
        Ok(
            json!({"object": "list", "data": [{"id": model, "object": "model", "created": 0,
            "owned_by": "mock-vllm", "root": model, "max_model_len": 4096}]}),
        )
    })
    .await
}

/// The field a question asks for, by its words.
pub fn field_of(question: &str) -> Option<FieldName> {
    let q = question.to_ascii_lowercase();
    let has = |w: &[&str]| w.iter().any(|x| q.contains(x));
    if has(&["subtotal", "sub total", "sub-total", "before tax"]) {
        Some(FieldName::Subtotal)
    } else if has(&["tax", "vat", "gst"]) {
        Some(FieldName::TaxAmount)
    } else if has(&["total", "amount due", "to pay"]) {
        Some(FieldName::Total)
    } else if has(&["currency"]) {
        Some(FieldName::Currency)
    } else if has(&["date"]) {
        Some(FieldName::Date)
    } else if has(&["merchant", "seller", "vendor", "store", "shop", "company"]) {
        Some(FieldName::Merchant)
    } else {
        None
    }
}

impl MockState {
    /// The raw answers for a document: canned, or the mock's own plain reading of its lines.
    fn raw_fields(&self, doc: &OcrDocument) -> BTreeMap<FieldName, String> {
        if let Some(a) = &self.answers {
            return FieldName::ALL
                .into_iter()
                .filter_map(|f| {
                    a.get(f.as_str())
                        .and_then(Value::as_str)
                        .map(|v| (f, v.to_string()))
                })
                .collect();
        }
        reader::read(doc)
    }

    fn answer_question(&self, question: &str, doc: &OcrDocument) -> String {
        field_of(question)
            .and_then(|f| self.raw_fields(doc).remove(&f))
            .unwrap_or_default()
    }
}

fn completion(model: &str, content: &str, prompt_tokens: usize, logprobs: bool) -> Value {
    let lp = logprobs.then(|| {
        json!({"content": content.split_whitespace().map(|t| json!({"token": t, "logprob": -0.05}))
            .collect::<Vec<_>>()})
    });
    let completion_tokens = content.split_whitespace().count();
    json!({
        "id": "chatcmpl-mock",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "tool_calls": []},
                     "logprobs": lp, "finish_reason": "stop", "stop_reason": null}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    })
}

fn chat_answer(st: &MockState, body: &Value) -> Result<Value, (u16, String)> {
    let content = read_chat_content(body).map_err(|e| (400, e.to_string()))?;
    let texts = content.texts;
    let doc = content.document;
    let images = content
        .image_urls
        .iter()
        .filter(|u| u.starts_with("data:image/"))
        .count() as u64;
    let prompt_tokens = texts.iter().map(|t| t.split_whitespace().count()).sum();
    let logprobs = body.get("logprobs").and_then(Value::as_bool) == Some(true);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or(&st.model)
        .to_string();
    if let Some(doc) = doc {
        if doc.pages.iter().all(|p| p.words.is_empty()) {
            return Err((400, "No valid OCR words found on any page for TILT.".into()));
        }
        let answer = st.answer_question(&texts.join("\n"), &doc);
        return Ok(completion(&model, &answer, prompt_tokens, logprobs));
    }
    if images > 0 {
        st.images_seen.fetch_add(images, Ordering::SeqCst);
        // A vision prompt: the mock cannot read images, so only canned answers answer it.
        let Some(a) = &st.answers else {
            return Err((
                400,
                "mock-vllm cannot read page images; start it with --answers FILE".into(),
            ));
        };
        let obj: serde_json::Map<String, Value> = FieldName::ALL
            .into_iter()
            .map(|f| {
                (
                    f.as_str().to_string(),
                    a.get(f.as_str()).cloned().unwrap_or(Value::Null),
                )
            })
            .chain(lists(Some(a)))
            .collect();
        return Ok(completion(
            &model,
            &Value::Object(obj).to_string(),
            prompt_tokens,
            logprobs,
        ));
    }
    // An LLM prompt: the OCR lines are in the text.
    let doc = parse_layout_text(&texts.join("\n"));
    if doc.pages.is_empty() {
        return Ok(completion(
            &model,
            "I cannot see a document.",
            prompt_tokens,
            logprobs,
        ));
    }
    let fields = st.raw_fields(&doc);
    let obj: serde_json::Map<String, Value> = FieldName::ALL
        .into_iter()
        .map(|f| {
            (
                f.as_str().to_string(),
                fields.get(&f).map_or(Value::Null, |v| json!(v)),
            )
        })
        .chain(lists(st.answers.as_ref()))
        .collect();
    Ok(completion(
        &model,
        &Value::Object(obj).to_string(),
        prompt_tokens,
        logprobs,
    ))
}

async fn chat(State(st): State<Arc<MockState>>, h: HeaderMap, body: Json<Value>) -> Response {
    let st2 = st.clone();
    with_faults(&st, &h, move || chat_answer(&st2, &body.0)).await
}

async fn tilt_generate(
    State(st): State<Arc<MockState>>,
    h: HeaderMap,
    body: Json<Value>,
) -> Response {
    let st2 = st.clone();
    let answer = move || {
        let req: GenerateRequest =
            serde_json::from_value(body.0).map_err(|e| (422, format!("invalid request: {e}")))?;
        if req.pages.is_empty() {
            return Err((400, "Request must contain at least one page.".to_string()));
        }
        let doc = req.document();
        if doc.pages.is_empty() {
            return Err((
                400,
                "No valid OCR words found on any page for TILT.".to_string(),
            ));
        }
        let answer = st2.answer_question(req.question.trim(), &doc);
        let model = req.model.unwrap_or_else(|| st2.model.clone());
        let mut v = completion(&model, &answer, 0, false);
        v["id"] = json!(format!(
            "tiltcmpl-{}",
            req.request_id.unwrap_or_else(|| "1".into())
        ));
        v["usage"] =
            json!({"prompt_tokens": null, "completion_tokens": null, "total_tokens": null});
        Ok(v)
    };
    // /v1/tilt/generate errors use FastAPI's envelope unless a header says otherwise.
    let mut h = h;
    if !h.contains_key("x-mock-envelope") {
        h.insert(
            "x-mock-envelope",
            axum::http::HeaderValue::from_static("fastapi"),
        );
    }
    with_faults(&st, &h, answer).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_hit_deterministically() {
        let hits_of = |rate: f64| (1..=8).filter(|n| hits(*n, rate)).count();
        assert_eq!(hits_of(0.0), 0);
        assert_eq!(hits_of(0.25), 2);
        assert_eq!(hits_of(1.0), 8);
    }

    #[test]
    fn questions_map_to_fields() {
        assert_eq!(
            field_of("What is the total amount?"),
            Some(FieldName::Total)
        );
        assert_eq!(
            field_of("What is the subtotal amount before tax?"),
            Some(FieldName::Subtotal)
        );
        assert_eq!(
            field_of("What is the tax amount?"),
            Some(FieldName::TaxAmount)
        );
        assert_eq!(
            field_of("What is the name of the merchant or seller?"),
            Some(FieldName::Merchant)
        );
        assert_eq!(
            field_of("What is the date of the document?"),
            Some(FieldName::Date)
        );
        assert_eq!(field_of("Who signed?"), None);
    }
}
