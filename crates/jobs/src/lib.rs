//! The durable job queue behind `POST /v1/jobs`.
//!
//! One trait, [`JobStore`], with two implementations: [`PostgresStore`] for many nodes
//! (claims with `FOR UPDATE SKIP LOCKED`, wake-ups with `LISTEN`/`NOTIFY`) and [`SqliteStore`],
//! an embedded file for one node. Both keep the same rows (`migrations/`), take every time from
//! the database's clock, and give the same guarantees:
//!
//! - a job is claimed under a lease with a fresh token; only the holder of the current token can
//!   end it, so a worker that lost its lease (killed, stalled) cannot write a second result;
//! - a job whose lease expired is claimed again, until `max_attempts`; then it fails with the
//!   last error;
//! - ending a job, its webhook event (one per job, one event id for every delivery) and the
//!   deletion of its document happen in one transaction;
//! - ended jobs are deleted `result_ttl` after they end, once their webhook is settled.
//!
//! The crate knows nothing of documents or extraction: the options and the result are JSON the
//! caller gives. [`webhook`] signs and delivers the outbox.

mod postgres;
mod sql;
mod sqlite;
mod store;
mod view;
pub mod webhook;

#[cfg(feature = "testing")]
pub mod testing;

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;
pub use view::{JobSummary, JobView, WebhookEvent};

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobStatus {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
}

impl JobStatus {
    pub const ALL: [JobStatus; 5] = [
        JobStatus::Queued,
        JobStatus::Running,
        JobStatus::Succeeded,
        JobStatus::Failed,
        JobStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Succeeded => "succeeded",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Whether the job has ended (it will not run again).
    pub fn is_final(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::Cancelled
        )
    }
}

impl std::str::FromStr for JobStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        JobStatus::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown job status '{s}' (known: queued, running, succeeded, failed, cancelled)"
                )
            })
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The queue's limits and timings.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    /// Attempts before a job fails with its last error (`JOB_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// How long a claim holds without a heartbeat.
    pub lease: Duration,
    /// How long an ended job's result is kept (`JOB_RESULT_TTL_S`).
    pub result_ttl: Duration,
    /// Queued jobs beyond which a submission is refused (`MAX_QUEUED_JOBS`).
    pub max_queued: u64,
    /// The first retry's delay; doubled for each later one.
    pub retry_backoff: Duration,
    /// Webhook deliveries tried before an event is given up.
    pub webhook_max_attempts: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        StoreSettings {
            max_attempts: 3,
            lease: Duration::from_secs(30),
            result_ttl: Duration::from_secs(24 * 3600),
            max_queued: 10_000,
            retry_backoff: Duration::from_secs(2),
            webhook_max_attempts: 12,
        }
    }
}

/// A submission.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Who submits it (e.g. a hash of the API key; `""` for everyone): every read, listing and
    /// cancellation names the owner, and idempotency keys are the owner's own.
    pub owner: String,
    pub document: Vec<u8>,
    pub filename: Option<String>,
    /// The request's options, as the caller will read them back when it runs the job.
    pub options: serde_json::Value,
    pub callback_url: Option<String>,
    pub idempotency_key: Option<String>,
}

/// What [`JobStore::submit`] did.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub job: JobSummary,
    /// False when the idempotency key named an existing job with the same bytes.
    pub created: bool,
}

/// A job claimed by a worker: what it needs to run it, and the lease it holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: String,
    /// The lease's token: heartbeats and the end of the job must present it.
    pub token: String,
    /// This attempt's number, from 1.
    pub attempt: u32,
    pub max_attempts: u32,
    pub document: Vec<u8>,
    pub filename: Option<String>,
    pub options: serde_json::Value,
}

/// How an attempt ended. The JSON is kept as written (numbers keep their digits).
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The result.
    Succeeded(Box<RawValue>),
    /// Failed for good (the document is bad): the error.
    Failed(Box<RawValue>),
    /// Failed in a way another attempt may not: queued again after a backoff, or failed when
    /// this was the last attempt.
    Retry(Box<RawValue>),
}

impl Outcome {
    /// `value` as JSON text, for the variants above.
    pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<Box<RawValue>> {
        serde_json::value::to_raw_value(value)
    }
}

/// What ending an attempt did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The job ended with this status.
    Final(JobStatus),
    /// Queued again for another attempt.
    Requeued,
    /// The lease was no longer this worker's (expired and claimed again, or the job
    /// cancelled): nothing was written.
    LeaseLost,
}

/// What [`JobStore::cancel`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cancelled {
    Cancelled,
    /// Only queued jobs can be cancelled.
    NotQueued(JobStatus),
    NotFound,
}

/// Jobs by status and the age of the oldest queued one.
#[derive(Debug, Clone, Default)]
pub struct QueueStats {
    pub by_status: Vec<(JobStatus, u64)>,
    pub oldest_queued_age: Option<Duration>,
}

/// A webhook event due for delivery, claimed for a short while.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub event_id: String,
    pub job_id: String,
    pub url: String,
    pub body: String,
    /// This delivery's number, from 1.
    pub attempt: u32,
}

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the job database is unreachable or failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the job database's schema could not be migrated: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{queued} jobs are queued; retry later")]
    QueueFull { queued: u64 },
    #[error("the Idempotency-Key was used for another document")]
    IdempotencyConflict,
    #[error("a stored job is damaged: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// Errors that say the database itself is not answering (readiness fails on these).
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Database(_))
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The job queue. Every method is one short transaction.
#[async_trait::async_trait]
pub trait JobStore: Send + Sync + std::fmt::Debug {
    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;

    fn settings(&self) -> &StoreSettings;

    /// Queues a job; with an idempotency key already used for the same bytes, returns that job.
    async fn submit(&self, job: NewJob) -> Result<Submitted>;

    /// The job, when it is `owner`'s.
    async fn get(&self, id: &str, owner: &str) -> Result<Option<JobView>>;

    /// `owner`'s jobs, newest first.
    async fn list(
        &self,
        owner: &str,
        status: Option<JobStatus>,
        limit: u32,
    ) -> Result<Vec<JobSummary>>;

    /// Cancels `owner`'s queued job.
    async fn cancel(&self, id: &str, owner: &str) -> Result<Cancelled>;

    /// Claims the oldest runnable job (queued and due, or running with an expired lease and
    /// attempts left) under a new lease. Jobs whose lease expired on their last attempt are
    /// failed first.
    async fn claim(&self) -> Result<Option<Claimed>>;

    /// Extends the lease; false when it is no longer this claim's.
    async fn heartbeat(&self, id: &str, token: &str) -> Result<bool>;

    /// Ends an attempt (see [`Outcome`]); only with the claim's lease still held.
    async fn finish(&self, claim: &Claimed, outcome: Outcome) -> Result<Ended>;

    /// Waits until a job may be claimable (a submission or a retry) or `max` passes.
    async fn wait_for_work(&self, max: Duration);

    /// Deletes ended jobs past their TTL whose webhook is settled; how many.
    async fn delete_expired(&self) -> Result<u64>;

    async fn stats(&self) -> Result<QueueStats>;

    /// Claims the next webhook event due, hiding it from other dispatchers for `hold`.
    async fn claim_delivery(&self, hold: Duration) -> Result<Option<Delivery>>;

    /// Records a delivery: `Ok` delivered; `Err` tried again after `retry_in`, or given up
    /// after [`StoreSettings::webhook_max_attempts`].
    async fn delivery_done(
        &self,
        event_id: &str,
        result: std::result::Result<(), String>,
        retry_in: Duration,
    ) -> Result<()>;

    /// The events of a job's webhook: `(event_id, delivered, attempts)`.
    async fn delivery_state(&self, job_id: &str) -> Result<Option<(String, bool, u32)>>;

    /// A round trip to the database.
    async fn ping(&self) -> Result<()>;
}

/// Opens the store: PostgreSQL when `database_url` is given, else `jobs.sqlite3` in `data_dir`.
/// Runs the migrations.
pub async fn open(
    database_url: Option<&str>,
    data_dir: &std::path::Path,
    settings: StoreSettings,
) -> Result<Arc<dyn JobStore>> {
    Ok(match database_url {
        Some(url) => Arc::new(PostgresStore::connect(url, settings).await?),
        None => Arc::new(SqliteStore::open(&data_dir.join("jobs.sqlite3"), settings).await?),
    })
}

/// A new random id (UUID v4, hyphenated).
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// SHA-256 of the document, hex.
fn content_hash(bytes: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(bytes);
    webhook::hex(&d)
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The delay before retry number `attempt` (1 = the first retry): doubling, capped at an hour.
fn backoff(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(16);
    base.saturating_mul(factor).min(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let b = Duration::from_secs(2);
        assert_eq!(backoff(b, 1), Duration::from_secs(2));
        assert_eq!(backoff(b, 2), Duration::from_secs(4));
        assert_eq!(backoff(b, 4), Duration::from_secs(16));
        assert_eq!(backoff(b, 40), Duration::from_secs(3600));
    }

    #[test]
    fn statuses_round_trip() {
        for s in JobStatus::ALL {
            assert_eq!(s.as_str().parse::<JobStatus>(), Ok(s));
        }
        assert!("done".parse::<JobStatus>().is_err());
    }
}
