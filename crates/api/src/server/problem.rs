//! Errors as RFC 9457 problem details (`application/problem+json`), with a stable `code`.
//! [`ApiError`] is the one table from failures to HTTP statuses.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::pipeline::{ErrorKind, PipelineError};

/// An RFC 9457 problem.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the problem type (`urn:ocrlty:problem:<code>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// Stable, for programs: `file_too_large`, `unsupported_format`, ...
    pub code: String,
    pub request_id: String,
}

/// Everything a request can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("the upload is over the limit of {limit_mb} MiB")]
    TooLarge { limit_mb: u64 },
    #[error("{message}")]
    UnsupportedType { message: String },
    #[error("the server is at capacity ({waiting} documents waiting); retry later")]
    QueueFull { waiting: usize },
    #[error("the models are still loading; retry in a few seconds")]
    NotReady,
    #[error("the request took longer than its deadline of {secs} s")]
    Deadline { secs: f64 },
    /// The client stopped sending its upload (`BODY_READ_TIMEOUT_S`).
    #[error("the upload stalled: nothing arrived for {secs} s")]
    SlowBody { secs: f64 },
    /// The upload kept trickling in but was not complete within `REQUEST_TIMEOUT_S`.
    #[error("the upload was not complete within REQUEST_TIMEOUT_S ({secs} s)")]
    UploadTooSlow { secs: f64 },
    /// The pipeline failed: its kind decides the status, its own code goes in the body.
    #[error("{message}")]
    Pipeline {
        kind: ErrorKind,
        code: &'static str,
        message: String,
    },
    /// The models did not load (readiness).
    #[error("the models did not load: {0}")]
    ModelsFailed(String),
    #[error("{0}")]
    NotFound(String),
    #[error("only a queued job can be cancelled; this one is {0}")]
    NotCancellable(jobs::JobStatus),
    /// The job queue refused or failed.
    #[error("{0}")]
    Jobs(#[from] jobs::StoreError),
    #[error("this process has no job queue")]
    NoJobs,
    /// The gateway could not reach the model server, or it took too long.
    #[error("{message}")]
    ModelServer { message: String, timeout: bool },
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,

            ApiError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Deadline { .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::SlowBody { .. } | ApiError::UploadTooSlow { .. } => {
                StatusCode::REQUEST_TIMEOUT
            }
            ApiError::Pipeline { kind, .. } => match kind {
                ErrorKind::UnsupportedFormat => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorKind::Unprocessable => StatusCode::UNPROCESSABLE_ENTITY,
                ErrorKind::BadRequest => StatusCode::BAD_REQUEST,
                ErrorKind::BackendUnavailable => StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::BackendTimeout => StatusCode::GATEWAY_TIMEOUT,
                ErrorKind::BackendBadAnswer => StatusCode::BAD_GATEWAY,
                ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::ModelsFailed(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::NotCancellable(_) => StatusCode::CONFLICT,
            ApiError::Jobs(e) => match e {
                jobs::StoreError::QueueFull { .. } => StatusCode::TOO_MANY_REQUESTS,
                jobs::StoreError::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
                jobs::StoreError::Corrupt(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::SERVICE_UNAVAILABLE,
            },
            ApiError::NoJobs => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::ModelServer { timeout: true, .. } => StatusCode::GATEWAY_TIMEOUT,
            ApiError::ModelServer { .. } => StatusCode::BAD_GATEWAY,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "malformed_request",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::TooLarge { .. } => "file_too_large",
            ApiError::UnsupportedType { .. } => "unsupported_format",

            ApiError::QueueFull { .. } => "queue_full",
            ApiError::NotReady => "not_ready",
            ApiError::Deadline { .. } => "deadline_exceeded",
            ApiError::SlowBody { .. } | ApiError::UploadTooSlow { .. } => "request_timeout",
            ApiError::Pipeline { code, .. } => code,
            ApiError::ModelsFailed(_) => "models_failed",
            ApiError::NotFound(_) => "not_found",
            ApiError::NotCancellable(_) => "job_not_cancellable",
            ApiError::Jobs(e) => match e {
                jobs::StoreError::QueueFull { .. } => "jobs_queue_full",
                jobs::StoreError::IdempotencyConflict => "idempotency_key_reused",
                jobs::StoreError::Corrupt(_) => "internal_error",
                _ => "database_unavailable",
            },
            ApiError::NoJobs => "jobs_unavailable",
            ApiError::ModelServer { timeout: true, .. } => "model_server_timeout",
            ApiError::ModelServer { .. } => "model_server_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The problem body. A 500 says nothing internal: the details go to the log under the
    /// request id.
    pub fn problem(&self, request_id: &str) -> Problem {
        let status = self.status();
        let detail = match self {
            ApiError::Internal(_) | ApiError::Jobs(jobs::StoreError::Corrupt(_)) => format!(
                "an internal error occurred; quote request id {request_id} when reporting it"
            ),
            // The database's own message may name hosts and users.
            ApiError::Jobs(e) if e.is_unavailable() => {
                "the job database is unreachable; retry later".into()
            }
            other => other.to_string(),
        };
        Problem {
            kind: format!("urn:ocrlty:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail,
            code: self.code().to_string(),
            request_id: request_id.to_string(),
        }
    }

    pub fn into_response_with(self, request_id: &str) -> Response {
        match &self {
            ApiError::Internal(msg) => tracing::error!(request_id, error = %msg, "internal error"),
            ApiError::Jobs(e) if self.status().is_server_error() => {
                tracing::error!(request_id, error = %e, "job store error")
            }
            _ => {}
        }
        // Seconds: a full OCR queue drains in seconds, a full job queue in minutes.
        let retry = match self {
            ApiError::QueueFull { .. } | ApiError::NotReady => Some("2"),
            ApiError::Jobs(jobs::StoreError::QueueFull { .. }) => Some("30"),
            _ => None,
        };
        let mut resp = problem_response(&self.problem(request_id));
        if let Some(secs) = retry {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static(secs));
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"ocrlty\""),
            );
        }
        resp
    }
}

/// A handler's answer: the value as JSON, or the error as problem details.
pub fn json_or_problem<T: Serialize>(result: Result<T, ApiError>, request_id: &str) -> Response {
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response_with(request_id),
    }
}

/// A problem as an HTTP response.
pub fn problem_response(p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(p).unwrap_or_default();
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        )],
        body,
    )
        .into_response()
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        match e.kind() {
            // What a 500 says stays in the log, not in the body.
            ErrorKind::Internal => ApiError::Internal(e.to_string()),
            ErrorKind::BadRequest => ApiError::BadRequest(e.to_string()),
            kind => ApiError::Pipeline {
                kind,
                code: e.code(),
                message: e.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_errors_keep_their_details_out_of_the_body() {
        let e = ApiError::Internal("/secret/path: libfoo.so missing".into());
        let p = e.problem("req-1");
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("secret"), "{}", p.detail);
        assert!(p.detail.contains("req-1"));
    }

    #[test]
    fn each_failure_has_its_status_and_code() {
        let table: [(ApiError, u16, &str); 9] = [
            (ApiError::BadRequest("x".into()), 400, "malformed_request"),
            (ApiError::Unauthorized("x".into()), 401, "unauthorized"),
            (ApiError::TooLarge { limit_mb: 1 }, 413, "file_too_large"),
            (
                ApiError::UnsupportedType {
                    message: "gif".into(),
                },
                415,
                "unsupported_format",
            ),
            (ApiError::QueueFull { waiting: 3 }, 429, "queue_full"),
            (ApiError::NotReady, 503, "not_ready"),
            (ApiError::Deadline { secs: 1.0 }, 504, "deadline_exceeded"),
            (ApiError::SlowBody { secs: 1.0 }, 408, "request_timeout"),
            (
                ApiError::UploadTooSlow { secs: 1.0 },
                408,
                "request_timeout",
            ),
        ];
        for (e, status, code) in table {
            assert_eq!(e.status().as_u16(), status, "{e}");
            assert_eq!(e.code(), code);
        }
    }
}
