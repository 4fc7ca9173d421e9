//! Handlers, the OpenAPI document built from their annotations, and the middleware.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, FromRequest, MatchedPath, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::dto::{
    BackendHealth, BatchItem, BatchResponse, ExtractResponse, HealthResponse, Include,
    VersionResponse,
};
use super::problem::{ApiError, Problem, json_or_problem};
use super::upload::{DRAIN_CAP, Form, Upload, drain_body, read_form};

/// Room for the multipart framing and the option fields beyond the files' limit.
const FRAMING: usize = 64 * 1024;
use super::{AppState, QueueTicket, Readiness};
use crate::pipeline::{ExtractOutput, ExtractRequest};
use doc_input::DocumentKind;

/// The OpenAPI document of the API.
#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "OCRlty",
        description = "Receipt and invoice extraction: merchant, date, currency, subtotal, tax \
                       and total from PDFs (every page) and images, with confidence and evidence. \
                       Errors are RFC 9457 problem details with a stable `code`."
    ),
    paths(
        extract,
        extract_batch,
        super::job_routes::submit,
        super::job_routes::list,
        super::job_routes::get,
        super::job_routes::cancel,
        super::proxy::models,
        super::proxy::chat,
        health,
        livez,
        readyz,
        ping,
        version,
        metrics
    ),
    components(schemas(
        jobs::JobView,
        jobs::JobSummary,
        jobs::WebhookEvent,
        super::job_routes::JobForm,
        super::job_routes::JobList,
        ExtractResponse,
        BatchResponse,
        BatchItem,
        HealthResponse,
        VersionResponse,
        Problem,
        ExtractForm,
        BatchForm
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "extraction"),
        (name = "jobs", description = "Asynchronous extraction: queue a document, read the result or receive it by webhook"),
        (name = "gateway", description = "Only with PROXY_MODEL_SERVER=1: the model server's OpenAI routes, passed through"),
        (name = "operations")
    )
)]
pub struct ApiDoc;

#[derive(Debug)]
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The request id of this request (taken from `X-Request-Id` or made).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

pub fn router(state: AppState) -> Router {
    let limit = state.settings().max_upload_bytes as usize;
    let extraction = Router::new()
        .route("/v1/extract", post(extract))
        .route("/v1/extract-batch", post(extract_batch))
        .route(
            "/v1/jobs",
            post(super::job_routes::submit).get(super::job_routes::list),
        )
        .route(
            "/v1/jobs/{id}",
            get(super::job_routes::get).delete(super::job_routes::cancel),
        )
        .route("/v1/models", get(super::proxy::models))
        .route("/v1/chat/completions", post(super::proxy::chat))
        // The files are counted against the limit as they stream in (upload.rs); this outer
        // limit leaves room for the multipart framing and for draining an oversized upload, so
        // that a client without `Expect: 100-continue` still reads its 413.
        .layer(DefaultBodyLimit::max(
            limit.saturating_add(FRAMING + DRAIN_CAP as usize),
        ))
        .route_layer(middleware::from_fn_with_state(state.clone(), require_key));
    let ops = Router::new().route("/v1/health", get(health));
    let app = Router::new()
        .merge(extraction)
        .merge(ops)
        .merge(SwaggerUi::new("/docs").url("/openapi.json", ApiDoc::openapi()));
    finish(app, state)
}

/// The probes, version and metrics alone: what a worker serves on its health port.
pub fn probes(state: AppState) -> Router {
    finish(Router::new(), state)
}

/// Adds the probes, the fallback and the middleware every port has.
fn finish(app: Router<AppState>, state: AppState) -> Router {
    app.route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/ping", get(ping))
        .route("/version", get(version))
        .route("/metrics", get(metrics))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            guard_operational,
        ))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .with_state(state)
}

fn valid_request_id(v: &HeaderValue) -> Option<String> {
    let s = v.to_str().ok()?;
    (!s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic())).then(|| s.into())
}

/// Request id in and out, in-flight gauge, request metrics and the access log.
async fn observe(State(st): State<AppState>, mut req: Request, next: Next) -> Response {
    let t0 = Instant::now();
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(valid_request_id)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let m = st.metrics();
    m.in_flight.inc();
    let mut resp = next.run(req).await;
    m.in_flight.dec();
    let status = resp.status();
    let secs = t0.elapsed().as_secs_f64();
    m.requests
        .get_or_create(&super::metrics::RouteStatus {
            route: route.clone(),
            status: status.as_u16().to_string(),
        })
        .inc();
    m.request_seconds
        .get_or_create(&super::metrics::RouteLabel {
            route: route.clone(),
        })
        .observe(secs);
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    if route != "/metrics" && route != "/ping" && route != "/livez" {
        tracing::info!(
            request_id = %id,
            method = %method,
            route = %route,
            status = status.as_u16(),
            ms = secs * 1e3,
            "request"
        );
    }
    resp
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("a handler panicked".into()).into_response_with("unknown")
}

async fn not_found(Extension(id): Extension<RequestId>) -> Response {
    let p = Problem {
        kind: "urn:ocrlty:problem:not_found".into(),
        title: "Not Found".into(),
        status: 404,
        detail: "no such route; see /docs".into(),
        code: "not_found".into(),
        request_id: id.0,
    };
    super::problem::problem_response(&p)
}

/// Whose jobs a request sees: the SHA-256 of its API key, hex (never the key itself); empty
/// when the server has no keys.
#[derive(Debug, Clone, Default)]
pub struct Owner(pub String);

impl Owner {
    fn of_key(key: &str) -> Self {
        Owner(
            super::sha256(key.as_bytes())
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect(),
        )
    }
}

/// `Authorization: Bearer <key>` when keys are configured.
async fn require_key(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if st.settings().api_key_hashes.is_empty() {
        return next.run(req).await;
    }
    match key_of(&st, &req) {
        Ok(owner) => {
            let mut req = req;
            req.extensions_mut().insert(owner);
            next.run(req).await
        }
        Err(refusal) => refuse(req, refusal).await,
    }
}

/// The owner of the request's API key, or why it has none (never the key itself).
fn key_of(st: &AppState, req: &Request) -> Result<Owner, &'static str> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    match token {
        None => Err("missing API key: send `Authorization: Bearer <key>`"),
        Some(t) if !st.key_matches(t) => Err("wrong API key"),
        Some(t) => Ok(Owner::of_key(t)),
    }
}

async fn refuse(req: Request, refusal: &str) -> Response {
    let id = request_id(&req);
    drain_body(req.into_body()).await;
    ApiError::Unauthorized(refusal.into()).into_response_with(&id)
}

/// With API keys set, the operational routes `PUBLIC_PATHS` leaves closed (`/metrics`,
/// `/docs`, `/version`, `/v1/health`) need one too.
async fn guard_operational(State(st): State<AppState>, req: Request, next: Next) -> Response {
    if st.settings().guards(req.uri().path())
        && let Err(refusal) = key_of(&st, &req)
    {
        return refuse(req, refusal).await;
    }
    next.run(req).await
}

fn request_id(req: &Request) -> String {
    req.extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default()
}

/// Options given as query parameters (form fields of the same names win).
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExtractQuery {
    /// KIE backend (default: the server's).
    backend: Option<String>,
    /// Comma-separated extras: `ocr` (the OCR Document), `timings` (per page).
    include: Option<String>,
    /// Country hint (ISO 3166-1 alpha-2).
    country: Option<String>,
    /// Language hint (ISO 639-1).
    language: Option<String>,
    /// Currency assumed when the document shows none (ISO 4217).
    currency: Option<String>,
    /// Comma-separated fields wanted: merchant, date, currency, subtotal, tax_amount, total,
    /// line_items, tax_breakdown (default: all).
    fields: Option<String>,
    /// E-invoice XML embedded in a PDF: `prefer` (the server's default unless configured
    /// otherwise), `off` or `only`.
    embedded_invoice: Option<String>,
}

/// `multipart/form-data` of `POST /v1/extract`.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
struct ExtractForm {
    /// The document: PDF, JPEG, PNG, TIFF, WebP or CII/UBL e-invoice XML (decided from its
    /// bytes).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Same as the query parameter.
    backend: Option<String>,
    /// Same as the query parameter.
    include: Option<String>,
    /// Same as the query parameter.
    embedded_invoice: Option<String>,
}

/// `multipart/form-data` of `POST /v1/extract-batch`.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
struct BatchForm {
    /// The documents, one part each (`files[]` or `files`).
    #[schema(value_type = Vec<String>, format = Binary)]
    files: Vec<Vec<u8>>,
    backend: Option<String>,
    include: Option<String>,
    embedded_invoice: Option<String>,
}

/// A request's options, resolved.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    req: ExtractRequest,
    include: Include,
    /// `Cache-Control: no-cache` (or `no-store`): compute afresh (the result is still cached).
    fresh: bool,
}

pub(super) fn wants_fresh(req: &Request) -> bool {
    req.headers()
        .get_all(header::CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|d| {
            matches!(
                d.trim().to_ascii_lowercase().as_str(),
                "no-cache" | "no-store"
            )
        })
}

impl ExtractQuery {
    /// The options of a request: each form field, else the query parameter of its name.
    pub(super) fn merged(&self, form: &Form) -> ExtractQuery {
        let pick = |name: &str, qv: &Option<String>| {
            form.get(name)
                .map(String::from)
                .or_else(|| qv.clone())
                .filter(|s| !s.trim().is_empty())
        };
        ExtractQuery {
            backend: pick("backend", &self.backend),
            include: pick("include", &self.include),
            country: pick("country", &self.country),
            language: pick("language", &self.language),
            currency: pick("currency", &self.currency),
            fields: pick("fields", &self.fields),
            embedded_invoice: pick("embedded_invoice", &self.embedded_invoice),
        }
    }
}

/// Checks a request's options (from [`ExtractQuery::merged`]) against the server's defaults.
pub(super) fn resolve(st: &AppState, q: &ExtractQuery, fresh: bool) -> Result<Resolved, ApiError> {
    let defaults = &st.settings().defaults;
    let mut options = defaults.options.clone();
    options.rules.today = chrono::Local::now().date_naive();
    if let Some(c) = &q.country {
        options.rules.hints.country = Some(c.clone());
    }
    if let Some(l) = &q.language {
        options.rules.hints.language = Some(l.clone());
    }
    if let Some(c) = &q.currency {
        options.rules.hints.currency = Some(c.clone());
    }
    if let Some(f) = &q.fields {
        let (fields, lists) = kie::parse_selection(f.split(',')).map_err(ApiError::BadRequest)?;
        options.fields = fields;
        options.lists = lists;
    }
    let embedded_invoice = match &q.embedded_invoice {
        Some(v) => v.parse().map_err(ApiError::BadRequest)?,
        None => defaults.embedded_invoice,
    };
    let mut include = Include::default();
    if let Some(inc) = &q.include {
        for part in inc.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            match part {
                "ocr" => include.ocr = true,
                "timings" => include.timings = true,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "include: unknown value '{other}' (known: ocr, timings)"
                    )));
                }
            }
        }
    }
    Ok(Resolved {
        req: ExtractRequest {
            backend: q.backend.clone(),
            options,
            embedded_invoice,
            keep_images: false,
        },
        include,
        fresh,
    })
}

/// Extract the six fields, the line items and the tax breakdown from one document.
#[utoipa::path(
    post,
    path = "/v1/extract",
    tag = "extraction",
    params(
        ExtractQuery,
        ("Cache-Control" = Option<String>, Header, description = "`no-cache`: compute afresh instead of answering from the cache"),
        ("X-Request-Id" = Option<String>, Header, description = "Kept and returned (made when absent)"),
    ),
    request_body(content = ExtractForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The fields, their evidence, warnings and meta", body = ExtractResponse),
        (status = 400, description = "Malformed request (no file, bad option, unknown backend)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The upload stalled (nothing for BODY_READ_TIMEOUT_S) or was not complete within REQUEST_TIMEOUT_S", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Upload over MAX_UPLOAD_MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a PDF, JPEG, PNG, TIFF, WebP or CII/UBL e-invoice XML, or a type not allowed here", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unreadable document (corrupt, encrypted, too many pages or pixels; e-invoice XML malformed, with a DTD, or missing with embedded_invoice=only)", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Queue full", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The KIE backend answered badly", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Models loading, or the KIE backend unavailable", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "Deadline exceeded", body = Problem, content_type = "application/problem+json"),
        (status = 500, description = "Internal error (details in the log under the request id)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn extract(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
    Query(q): Query<ExtractQuery>,
    req: Request,
) -> Response {
    let deadline = tokio::time::Instant::now() + st.settings().request_timeout;
    let result = async {
        let fresh = wants_fresh(&req);
        let form = form_of(&st, req, &["file"], 1).await?;
        let opts = resolve(&st, &q.merged(&form), fresh)?;
        let upload = form.files.into_iter().next().ok_or_else(|| {
            ApiError::BadRequest("no file: send the document as the multipart part `file`".into())
        })?;
        process(&st, &id.0, upload, &opts, deadline).await
    }
    .await;
    json_or_problem(result, &id.0)
}

/// Extract the fields from many documents; one result or error per file, in order.
#[utoipa::path(
    post,
    path = "/v1/extract-batch",
    tag = "extraction",
    params(ExtractQuery),
    request_body(content = BatchForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "One item per file, in request order; a failed file carries its problem", body = BatchResponse),
        (status = 400, description = "Malformed request (no files, too many files)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The upload stalled (nothing for BODY_READ_TIMEOUT_S) or was not complete within REQUEST_TIMEOUT_S", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Upload over MAX_UPLOAD_MB", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Models loading", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
async fn extract_batch(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
    Query(q): Query<ExtractQuery>,
    req: Request,
) -> Response {
    let deadline = tokio::time::Instant::now() + st.settings().request_timeout;
    let result = async {
        let max = st.settings().max_batch_files;
        let fresh = wants_fresh(&req);
        let form = form_of(&st, req, &["files[]", "files", "file"], max).await?;
        let opts = resolve(&st, &q.merged(&form), fresh)?;
        if form.files.is_empty() {
            return Err(ApiError::BadRequest(
                "no files: send each document as a multipart part `files[]`".into(),
            ));
        }
        let mut set = tokio::task::JoinSet::new();
        for (index, upload) in form.files.into_iter().enumerate() {
            let (st, opts, item_id) = (st.clone(), opts.clone(), format!("{}-{index}", id.0));
            set.spawn(async move {
                let filename = upload.filename.clone();
                let r = process(&st, &item_id, upload, &opts, deadline).await;
                (index, filename, r, item_id)
            });
        }
        let mut items = Vec::new();
        while let Some(joined) = set.join_next().await {
            let (index, filename, r, item_id) =
                joined.map_err(|e| ApiError::Internal(format!("batch task failed: {e}")))?;
            items.push(match r {
                Ok(result) => BatchItem {
                    index,
                    filename,
                    status: 200,
                    result: Some(result),
                    error: None,
                },
                Err(e) => BatchItem {
                    index,
                    filename,
                    status: e.status().as_u16(),
                    result: None,
                    error: Some(e.problem(&item_id)),
                },
            });
        }
        items.sort_by_key(|i| i.index);
        let failed = items.iter().filter(|i| i.error.is_some()).count();
        Ok(BatchResponse {
            request_id: id.0.clone(),
            succeeded: items.len() - failed,
            failed,
            items,
        })
    }
    .await;
    json_or_problem(result, &id.0)
}

pub(super) async fn form_of(
    st: &AppState,
    req: Request,
    file_names: &[&str],
    max_files: usize,
) -> Result<Form, ApiError> {
    let s = st.settings();
    if let Some(len) = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        && len > s.max_upload_bytes + FRAMING as u64
    {
        if len <= s.max_upload_bytes + FRAMING as u64 + DRAIN_CAP {
            drain_body(req.into_body()).await;
        }
        return Err(ApiError::TooLarge {
            limit_mb: s.max_upload_mb(),
        });
    }
    let is_multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        });
    if !is_multipart {
        drain_body(req.into_body()).await;
        return Err(ApiError::BadRequest(
            "expected a multipart/form-data body with the document in the part `file`".into(),
        ));
    }
    let mp = axum::extract::Multipart::from_request(req, st)
        .await
        .map_err(|e| {
            ApiError::BadRequest(format!(
                "expected a multipart/form-data body: {}",
                e.body_text()
            ))
        })?;
    // A pause ends the upload after BODY_READ_TIMEOUT_S; one that trickles without pausing
    // ends when the request's own time is up.
    let read = read_form(
        mp,
        file_names,
        max_files,
        s.max_upload_bytes,
        s.max_upload_mb(),
        s.body_read_timeout,
    );
    tokio::time::timeout(s.request_timeout, read)
        .await
        .unwrap_or(Err(ApiError::UploadTooSlow {
            secs: s.request_timeout.as_secs_f64(),
        }))
}

/// What the document is, when this server accepts its kind.
pub(super) fn accepted_kind(st: &AppState, bytes: &[u8]) -> Result<DocumentKind, ApiError> {
    let kind = crate::pipeline::sniff(bytes).map_err(ApiError::from)?;
    let allowed = &st.settings().allowed;
    if !allowed.contains(&kind) {
        return Err(ApiError::UnsupportedType {
            message: format!(
                "{} documents are not accepted here (allowed: {})",
                kind.mime(),
                allowed
                    .iter()
                    .map(|k| k.mime())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(kind)
}

/// One document: sniff, allow-list, cache, queue, OCR on a blocking thread, KIE, response.
/// `POST /v1/extract` and the job workers both run it.
pub(super) async fn process(
    st: &AppState,
    request_id: &str,
    upload: Upload,
    opts: &Resolved,
    deadline: tokio::time::Instant,
) -> Result<ExtractResponse, ApiError> {
    let pipeline = st.pipeline().cloned().ok_or(ApiError::NotReady)?;
    let kind = accepted_kind(st, &upload.bytes)?;
    let backend = pipeline
        .backend(opts.req.backend.as_deref())
        .map_err(ApiError::from)?
        .name()
        .to_string();
    let ocr_model = pipeline.engine().info().model.clone();
    let key = cache_key(&upload.bytes, &opts.req);
    if let Some(hit) = (!opts.fresh).then(|| st.cache_get(&key)).flatten() {
        st.metrics().document("ok");
        return Ok(ExtractResponse::build(
            &hit,
            request_id,
            &ocr_model,
            true,
            opts.include,
        ));
    }
    let secs = st.settings().request_timeout.as_secs_f64();
    let run = run_pipeline(st, pipeline, kind, upload, opts.req.clone(), deadline);
    let out = match tokio::time::timeout_at(deadline, run).await {
        // Out of time while waiting or reading, or refused at its slot for want of it.
        Err(_) | Ok(Err(ApiError::Deadline { .. })) => {
            st.metrics().document("failed");
            return Err(ApiError::Deadline { secs });
        }
        Ok(Err(e)) => {
            let outcome = if e.status().is_client_error() {
                "input_error"
            } else {
                "failed"
            };
            if e.status().is_server_error() {
                st.metrics()
                    .backend_errors
                    .get_or_create(&super::metrics::BackendLabel {
                        backend: backend.clone(),
                    })
                    .inc();
            }
            st.metrics().document(outcome);
            return Err(e);
        }
        Ok(Ok(out)) => out,
    };
    let t = &out.timings;
    st.metrics().observe_stages(t);
    st.metrics().document("ok");
    tracing::info!(
        request_id,
        backend = %out.backend,
        pages = out.document.pages.len(),
        decode_ms = t.decode,
        ocr_ms = t.ocr,
        kie_ms = t.kie,
        rules_ms = t.rules,
        total_ms = t.total,
        "extracted"
    );
    let out = Arc::new(out);
    st.cache_put(key, out.clone());
    Ok(ExtractResponse::build(
        &out,
        request_id,
        &ocr_model,
        false,
        opts.include,
    ))
}

/// Waits for an OCR slot (or refuses when the queue is full), runs the pipeline's read phase
/// on a blocking thread holding the slot, then its KIE phase on another blocking thread. A
/// request that gets its slot with less time left before `deadline` than a read has lately
/// taken is answered 504 at once: reading it would only take the slot from one that can finish.
async fn run_pipeline(
    st: &AppState,
    pipeline: Arc<crate::pipeline::Pipeline>,
    kind: DocumentKind,
    upload: Upload,
    req: ExtractRequest,
    deadline: tokio::time::Instant,
) -> Result<ExtractOutput, ApiError> {
    let slots = st.0.slots.clone();
    let permit = match slots.clone().try_acquire_owned() {
        Ok(p) => p,
        Err(_) => {
            let waiting = st.0.waiting.fetch_add(1, Ordering::SeqCst);
            let _ticket = QueueTicket(st);
            st.metrics().queue_depth.set(waiting as i64 + 1);
            if waiting >= st.settings().queue_size {
                return Err(ApiError::QueueFull { waiting });
            }
            slots
                .acquire_owned()
                .await
                .map_err(|_| ApiError::Internal("the OCR semaphore was closed".into()))?
        }
    };
    if let Some(typical) = st.typical_read()
        && tokio::time::Instant::now() + typical > deadline
    {
        return Err(ApiError::Deadline {
            secs: st.settings().request_timeout.as_secs_f64(),
        });
    }
    let req = Arc::new(req);
    let (p, r) = (pipeline.clone(), req.clone());
    let (read, took) = tokio::task::spawn_blocking(move || {
        let t0 = std::time::Instant::now();
        let read = p.read(kind, &upload.bytes, &r);
        drop(permit);
        (read, t0.elapsed())
    })
    .await
    .map_err(|e| ApiError::Internal(format!("OCR task failed: {e}")))?;
    let read = read.map_err(ApiError::from)?;
    st.note_read(took);
    tokio::task::spawn_blocking(move || pipeline.kie(read, &req))
        .await
        .map_err(|e| ApiError::Internal(format!("KIE task failed: {e}")))?
        .map_err(ApiError::from)
}

/// SHA-256 of the bytes and every option that changes the answer.
fn cache_key(bytes: &[u8], req: &ExtractRequest) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(bytes);
    h.update([0u8]);
    h.update(format!("{req:?}").as_bytes());
    h.finalize().into()
}

/// Service status, version and each backend's reachability.
#[utoipa::path(get, path = "/v1/health", tag = "operations",
    responses(
        (status = 200, description = "Ready", body = HealthResponse),
        (status = 503, description = "Loading, or failed to load", body = HealthResponse),
    ))]
async fn health(State(st): State<AppState>) -> Response {
    let (status, code, backends) = match (st.readiness(), st.pipeline().cloned()) {
        (Readiness::Ready, Some(p)) => {
            let default = p.default_backend().to_string();
            let checks = tokio::task::spawn_blocking(move || p.backend_health())
                .await
                .unwrap_or_default();
            let backends: Vec<BackendHealth> = checks
                .into_iter()
                .map(|(name, model_version, r)| BackendHealth {
                    default: name == default,
                    name,
                    model_version,
                    reachable: r.is_ok(),
                    detail: r.err(),
                })
                .collect();
            let default_ok = backends.iter().any(|b| b.default && b.reachable);
            if default_ok {
                ("ok", StatusCode::OK, backends)
            } else {
                ("degraded", StatusCode::SERVICE_UNAVAILABLE, backends)
            }
        }
        (Readiness::Failed(_), _) => ("failed", StatusCode::SERVICE_UNAVAILABLE, Vec::new()),
        _ => ("loading", StatusCode::SERVICE_UNAVAILABLE, Vec::new()),
    };
    let body = HealthResponse {
        status: status.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        uptime_s: st.0.started.elapsed().as_secs_f64(),
        backends,
    };
    (code, Json(body)).into_response()
}

/// The process is alive (always 200 while it answers).
#[utoipa::path(get, path = "/livez", tag = "operations",
    responses((status = 200, description = "Alive")))]
async fn livez() -> &'static str {
    "ok"
}

/// 200 once the models are loaded and warm and the job database answers; 503 before (or
/// when loading failed, or the database is unreachable).
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready"),
        (status = 503, description = "Loading or failed, or the job database unreachable", body = Problem, content_type = "application/problem+json"),
    ))]
async fn readyz(State(st): State<AppState>, Extension(id): Extension<RequestId>) -> Response {
    if let Some(j) = st.jobs()
        && let Err(e) = j.store.ping().await
    {
        return ApiError::Jobs(e).into_response_with(&id.0);
    }
    match st.readiness() {
        Readiness::Ready => (StatusCode::OK, "ready").into_response(),
        Readiness::Loading => ApiError::NotReady.into_response_with(&id.0),
        Readiness::Failed(e) => ApiError::ModelsFailed(e).into_response_with(&id.0),
    }
}

/// 204 while the models load, 200 when ready, 503 when loading failed.
#[utoipa::path(get, path = "/ping", tag = "operations",
    responses(
        (status = 200, description = "Ready"),
        (status = 204, description = "Loading"),
        (status = 503, description = "Loading failed"),
    ))]
async fn ping(State(st): State<AppState>) -> StatusCode {
    match st.readiness() {
        Readiness::Ready => StatusCode::OK,
        Readiness::Loading => StatusCode::NO_CONTENT,
        Readiness::Failed(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Build and model versions, and the ONNX Runtime execution provider.
#[utoipa::path(get, path = "/version", tag = "operations",
    responses((status = 200, description = "Versions", body = VersionResponse)))]
async fn version(State(st): State<AppState>) -> Json<VersionResponse> {
    let p = st.pipeline();
    Json(VersionResponse {
        version: env!("CARGO_PKG_VERSION").into(),
        git_sha: env!("OCRLTY_GIT_SHA").into(),
        build_time: env!("OCRLTY_BUILD_TIME").into(),
        ruleset_version: rules::RULESET_VERSION.into(),
        ocr_model: p.map(|p| p.engine().info().model.clone()),
        execution_provider: p.map(|p| p.engine().info().execution_provider.to_string()),
        backends: p
            .map(|p| {
                p.backends()
                    .map(|(n, v)| (n.to_string(), v))
                    .collect::<BTreeMap<_, _>>()
            })
            .unwrap_or_default(),
    })
}

/// Prometheus metrics (text exposition format).
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Metrics", content_type = "text/plain")))]
async fn metrics(State(st): State<AppState>) -> Response {
    if let Some(j) = st.jobs() {
        match j.store.stats().await {
            Ok(stats) => {
                for (status, n) in stats.by_status {
                    st.metrics()
                        .jobs
                        .get_or_create(&super::metrics::StatusLabel {
                            status: status.to_string(),
                        })
                        .set(i64::try_from(n).unwrap_or(i64::MAX));
                }
                st.metrics().job_queue_age.set(
                    stats
                        .oldest_queued_age
                        .map(|d| d.as_secs_f64())
                        .unwrap_or(0.0),
                );
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the job counts"),
        }
    }
    if let Some(p) = st.pipeline() {
        for (name, open) in p.open_circuits() {
            st.metrics()
                .circuit_open
                .get_or_create(&super::metrics::BackendLabel {
                    backend: name.to_string(),
                })
                .set(i64::from(open));
        }
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        st.metrics().render(),
    )
        .into_response()
}
