//! The JSON a client reads: a job, a line of a listing, a webhook event.

use serde::Serialize;
use serde_json::value::RawValue;

use crate::JobStatus;

/// A job as `GET /v1/jobs/{id}` returns it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobView {
    pub job_id: String,
    #[schema(value_type = String, example = "succeeded")]
    pub status: JobStatus,
    /// Attempts started so far.
    pub attempts: u32,
    pub max_attempts: u32,
    /// RFC 3339.
    pub created_at: String,
    /// When the latest attempt started.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// When the job and its result will be deleted.
    pub expires_at: Option<String>,
    pub filename: Option<String>,
    pub callback_url: Option<String>,
    /// Exactly the body `POST /v1/extract` answers with (when succeeded).
    #[schema(value_type = Option<Object>)]
    pub result: Option<Box<RawValue>>,
    /// The problem details of the last failure (when failed, or queued for a retry).
    #[schema(value_type = Option<Object>)]
    pub error: Option<Box<RawValue>>,
}

/// A job without its result: `POST /v1/jobs` and the listing.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct JobSummary {
    pub job_id: String,
    #[schema(value_type = String, example = "queued")]
    pub status: JobStatus,
    pub attempts: u32,
    /// RFC 3339.
    pub created_at: String,
    pub finished_at: Option<String>,
}

/// What a webhook delivers: the event's id (the same in every delivery of it), its type and the
/// job as `GET /v1/jobs/{id}` shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookEvent {
    pub event_id: String,
    /// `job.succeeded` or `job.failed`.
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub job: JobView,
}

/// Milliseconds since the epoch as RFC 3339 (UTC, milliseconds).
pub(crate) fn rfc3339(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// A `jobs` row as both stores read it.
#[derive(Debug, Clone)]
pub(crate) struct JobRow {
    pub id: String,
    pub status: String,
    pub attempts: i64,
    pub max_attempts: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub expires_at: Option<i64>,
    pub filename: Option<String>,
    pub callback_url: Option<String>,
    pub result: Option<String>,
    pub error: Option<String>,
}

fn raw(s: Option<String>) -> crate::Result<Option<Box<RawValue>>> {
    s.map(|s| RawValue::from_string(s).map_err(|e| crate::StoreError::Corrupt(e.to_string())))
        .transpose()
}

impl JobRow {
    pub fn status(&self) -> crate::Result<JobStatus> {
        self.status.parse().map_err(crate::StoreError::Corrupt)
    }

    pub fn view(self) -> crate::Result<JobView> {
        Ok(JobView {
            status: self.status()?,
            job_id: self.id,
            attempts: self.attempts as u32,
            max_attempts: self.max_attempts as u32,
            created_at: rfc3339(self.created_at),
            started_at: self.started_at.map(rfc3339),
            finished_at: self.finished_at.map(rfc3339),
            expires_at: self.expires_at.map(rfc3339),
            filename: self.filename,
            callback_url: self.callback_url,
            result: raw(self.result)?,
            error: raw(self.error)?,
        })
    }

    pub fn summary(&self) -> crate::Result<JobSummary> {
        Ok(JobSummary {
            job_id: self.id.clone(),
            status: self.status()?,
            attempts: self.attempts as u32,
            created_at: rfc3339(self.created_at),
            finished_at: self.finished_at.map(rfc3339),
        })
    }

    /// The webhook event of this (ended) job, under a new event id.
    pub fn event(self, now_ms: i64) -> crate::Result<(String, String)> {
        let event_id = crate::new_id();
        let kind = format!("job.{}", self.status()?);
        let event = WebhookEvent {
            event_id: event_id.clone(),
            kind,
            created_at: rfc3339(now_ms),
            job: self.view()?,
        };
        let body =
            serde_json::to_string(&event).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
        Ok((event_id, body))
    }
}
