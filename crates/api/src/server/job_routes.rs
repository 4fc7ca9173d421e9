//! `/v1/jobs`: submit a document for asynchronous extraction, read, list and cancel jobs.

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use jobs::{Cancelled, JobStatus, JobSummary, JobView, NewJob};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::problem::{ApiError, Problem, json_or_problem};
use super::routes::{ExtractQuery, Owner, RequestId, accepted_kind, form_of, resolve};

/// `multipart/form-data` of `POST /v1/jobs`: the fields of `POST /v1/extract`, and a callback.
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct JobForm {
    /// The document (as for `/v1/extract`).
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Where the finished job is POSTed (signed; host in WEBHOOK_ALLOWED_HOSTS).
    callback_url: Option<String>,
    backend: Option<String>,
    include: Option<String>,
    embedded_invoice: Option<String>,
}

/// A page of jobs, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub(super) struct JobList {
    pub jobs: Vec<JobSummary>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// `queued`, `running`, `succeeded`, `failed` or `cancelled`.
    status: Option<String>,
    /// At most this many (default 50, at most 500).
    limit: Option<u32>,
}

const IDEMPOTENCY_KEY: &str = "idempotency-key";

fn idempotency_key(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(|k| Some(k.to_string()))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "Idempotency-Key must be 1 to 255 printable ASCII characters".into(),
            )
        })
}

/// Queue a document for extraction; the result is read from `GET /v1/jobs/{id}` or POSTed to
/// `callback_url`.
#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "jobs",
    params(
        ExtractQuery,
        ("Idempotency-Key" = Option<String>, Header, description = "The same key with the same bytes returns the same job; with other bytes, 422"),
    ),
    request_body(content = JobForm, content_type = "multipart/form-data"),
    responses(
        (status = 202, description = "Queued (or, with a replayed Idempotency-Key, the job it named); `Location` names it", body = JobSummary,
            headers(("Location" = String, description = "/v1/jobs/{job_id}"))),
        (status = 400, description = "Malformed request, bad option, or a callback not allowed", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Missing or wrong API key", body = Problem, content_type = "application/problem+json"),
        (status = 408, description = "The upload stalled (nothing for BODY_READ_TIMEOUT_S) or was not complete within REQUEST_TIMEOUT_S", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Upload over MAX_UPLOAD_MB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a document type accepted here", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used for other bytes", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "MAX_QUEUED_JOBS are queued; see Retry-After", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The job database is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
pub(super) async fn submit(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
    owner: Option<Extension<Owner>>,
    Query(q): Query<ExtractQuery>,
    req: Request,
) -> Response {
    let result = async {
        let j = st.jobs().cloned().ok_or(ApiError::NoJobs)?;
        let key = idempotency_key(&req)?;
        let form = form_of(&st, req, &["file"], 1).await?;
        let options = q.merged(&form);
        resolve(&st, &options, false)?;
        let callback_url = form
            .get("callback_url")
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .map(String::from);
        let upload = form.files.into_iter().next().ok_or_else(|| {
            ApiError::BadRequest("no file: send the document as the multipart part `file`".into())
        })?;
        accepted_kind(&st, &upload.bytes)?;
        if let Some(url) = &callback_url {
            if j.webhook_secret.is_empty() {
                return Err(ApiError::BadRequest(
                    "callbacks are off: WEBHOOK_SECRET is not set on the server".into(),
                ));
            }
            j.allowed_hosts.check(url).map_err(ApiError::BadRequest)?;
        }
        let submitted = j
            .store
            .submit(NewJob {
                owner: owner_of(owner),
                document: upload.bytes.to_vec(),
                filename: upload.filename,
                options: serde_json::to_value(&options)
                    .map_err(|e| ApiError::Internal(e.to_string()))?,
                callback_url,
                idempotency_key: key,
            })
            .await?;
        Ok(submitted)
    }
    .await;
    match result {
        Ok(s) => {
            let mut resp = (StatusCode::ACCEPTED, Json(&s.job)).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/v1/jobs/{}", s.job.job_id)) {
                resp.headers_mut().insert(header::LOCATION, v);
            }
            if !s.created {
                resp.headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            resp
        }
        Err(e) => e.into_response_with(&id.0),
    }
}

/// A job: its status, attempts, timestamps, and the result (exactly the body of
/// `POST /v1/extract`) or the error (problem details).
#[utoipa::path(
    get,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 200, description = "The job", body = JobView),
        (status = 404, description = "No such job (or expired)", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The job database is unreachable", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
pub(super) async fn get(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
    owner: Option<Extension<Owner>>,
    Path(job_id): Path<String>,
) -> Response {
    json_or_problem(view(&st, &job_id, &owner_of(owner)).await, &id.0)
}

/// The job's owner: the API key's hash, or `""` on a server without keys.
fn owner_of(owner: Option<Extension<Owner>>) -> String {
    owner.map(|Extension(o)| o.0).unwrap_or_default()
}

async fn view(st: &AppState, job_id: &str, owner: &str) -> Result<JobView, ApiError> {
    let j = st.jobs().ok_or(ApiError::NoJobs)?;
    j.store
        .get(job_id, owner)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no job '{job_id}' (or it expired)")))
}

/// Cancel a queued job (its document is deleted at once).
#[utoipa::path(
    delete,
    path = "/v1/jobs/{id}",
    tag = "jobs",
    params(("id" = String, Path, description = "The job id")),
    responses(
        (status = 200, description = "Cancelled; the job as it is now", body = JobView),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job is not queued (running or ended)", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
pub(super) async fn cancel(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
    owner: Option<Extension<Owner>>,
    Path(job_id): Path<String>,
) -> Response {
    let owner = owner_of(owner);
    let result = async {
        let j = st.jobs().ok_or(ApiError::NoJobs)?;
        match j.store.cancel(&job_id, &owner).await? {
            Cancelled::Cancelled => view(&st, &job_id, &owner).await,
            Cancelled::NotQueued(s) => Err(ApiError::NotCancellable(s)),
            Cancelled::NotFound => Err(ApiError::NotFound(format!("no job '{job_id}'"))),
        }
    }
    .await;
    json_or_problem(result, &id.0)
}

/// Jobs, newest first, optionally of one status.
#[utoipa::path(
    get,
    path = "/v1/jobs",
    tag = "jobs",
    params(ListQuery),
    responses(
        (status = 200, description = "The jobs", body = JobList),
        (status = 400, description = "Unknown status", body = Problem, content_type = "application/problem+json"),
    ),
    security((), ("api_key" = []))
)]
pub(super) async fn list(
    State(st): State<AppState>,
    Extension(id): Extension<RequestId>,
    owner: Option<Extension<Owner>>,
    Query(q): Query<ListQuery>,
) -> Response {
    let owner = owner_of(owner);
    let result = async {
        let j = st.jobs().ok_or(ApiError::NoJobs)?;
        let status = q
            .status
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(str::parse::<JobStatus>)
            .transpose()
            .map_err(ApiError::BadRequest)?;
        let limit = q.limit.unwrap_or(50).clamp(1, 500);
        Ok::<_, ApiError>(JobList {
            jobs: j.store.list(&owner, status, limit).await?,
        })
    }
    .await;
    json_or_problem(result, &id.0)
}
