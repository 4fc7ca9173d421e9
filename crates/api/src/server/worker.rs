//! The background work of a process with a job queue: the job workers, the webhook dispatcher
//! and the expiry sweep.
//!
//! A worker runs a job through exactly what `POST /v1/extract` runs ([`routes::process`]: the
//! allow-list, the cache, an OCR slot, the pipeline's read then KIE phases, the deadline), so a
//! job's result is the body that endpoint answers with. The error's status decides retries: a
//! 4xx is the document's fault and fails the job at once; a 5xx or 429 is tried again.

use std::sync::Arc;
use std::time::{Duration, Instant};

use jobs::{Claimed, Ended, JobStore, Outcome};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::problem::ApiError;
use super::routes::{self, ExtractQuery};
use super::upload::Upload;
use super::{AppState, Readiness};

/// How long an idle worker waits before looking again when no notification comes.
const IDLE: Duration = Duration::from_secs(1);
/// How often ended jobs past their TTL are deleted.
const SWEEP: Duration = Duration::from_secs(60);
/// The first webhook retry's delay (doubled for each later one, capped at an hour).
const WEBHOOK_BACKOFF: Duration = Duration::from_secs(5);

/// Starts the workers, the dispatcher and the sweep of `state`'s queue (none without one); they
/// stop when `stop` turns true, a worker after the job it holds.
pub(super) fn start(state: &AppState, stop: watch::Receiver<bool>) -> JoinSet<()> {
    let mut set = JoinSet::new();
    let Some(j) = state.jobs().cloned() else {
        return set;
    };
    for n in 0..j.workers {
        set.spawn(work_loop(state.clone(), j.store.clone(), n, stop.clone()));
    }
    // Any process with a queue may deliver any job's webhook, so a process without the secret
    // delivers none (its deliveries could not be verified); the others deliver them.
    if j.webhook_secret.is_empty() {
        tracing::info!("WEBHOOK_SECRET is unset: this process delivers no webhooks");
    } else {
        match jobs::webhook::Dispatcher::new(
            j.store.clone(),
            &j.webhook_secret,
            j.allowed_hosts.clone(),
            WEBHOOK_BACKOFF,
        ) {
            Ok(d) => {
                set.spawn(d.run(stop.clone(), Duration::from_millis(500)));
            }
            Err(e) => tracing::error!(error = %e, "cannot start the webhook dispatcher"),
        }
    }
    set.spawn(sweep(j.store.clone(), stop));
    tracing::info!(
        store = j.store.backend(),
        workers = j.workers,
        "job queue open"
    );
    set
}

async fn work_loop(
    st: AppState,
    store: Arc<dyn JobStore>,
    n: usize,
    mut stop: watch::Receiver<bool>,
) {
    while !*stop.borrow() {
        match st.readiness() {
            Readiness::Ready => {}
            Readiness::Failed(_) => return,
            Readiness::Loading => {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(200)) => {}
                    _ = stop.changed() => {}
                }
                continue;
            }
        }
        match store.claim().await {
            Ok(Some(claim)) => run_job(&st, store.as_ref(), n, claim).await,
            Ok(None) => {
                tokio::select! {
                    _ = store.wait_for_work(IDLE) => {}
                    _ = stop.changed() => {}
                }
            }
            Err(e) => {
                tracing::warn!(worker = n, error = %e, "cannot claim a job; trying again");
                tokio::select! {
                    _ = tokio::time::sleep(IDLE) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

/// Runs one claimed job under heartbeats and records how it ended.
async fn run_job(st: &AppState, store: &dyn JobStore, n: usize, claim: Claimed) {
    let t0 = Instant::now();
    let every = store.settings().lease / 3;
    let heartbeats = async {
        loop {
            tokio::time::sleep(every).await;
            match store.heartbeat(&claim.id, &claim.token).await {
                Ok(true) => {}
                Ok(false) => {
                    tracing::warn!(job_id = %claim.id, "lease lost; the result will be dropped");
                    std::future::pending::<()>().await;
                }
                Err(e) => tracing::warn!(job_id = %claim.id, error = %e, "heartbeat failed"),
            }
        }
    };
    let outcome = tokio::select! {
        o = execute(st, &claim) => o,
        () = heartbeats => unreachable!("heartbeats never end"),
    };
    let label = match store.finish(&claim, outcome).await {
        Ok(Ended::Final(s)) => s.as_str(),
        Ok(Ended::Requeued) => "retried",
        Ok(Ended::LeaseLost) => "lease_lost",
        Err(e) => {
            // The lease runs out and the job is claimed again.
            tracing::warn!(job_id = %claim.id, error = %e, "cannot record the end of a job");
            "store_error"
        }
    };
    let secs = t0.elapsed().as_secs_f64();
    st.metrics()
        .job_seconds
        .get_or_create(&super::metrics::OutcomeLabel {
            outcome: label.into(),
        })
        .observe(secs);
    tracing::info!(
        job_id = %claim.id,
        worker = n,
        attempt = claim.attempt,
        outcome = label,
        ms = secs * 1e3,
        "job"
    );
}

/// What `POST /v1/extract` would answer for the job's document and options.
async fn execute(st: &AppState, claim: &Claimed) -> Outcome {
    let result = async {
        let q: ExtractQuery = serde_json::from_value(claim.options.clone())
            .map_err(|e| ApiError::BadRequest(format!("the job's options are unreadable: {e}")))?;
        let opts = routes::resolve(st, &q, false)?;
        let upload = Upload {
            filename: claim.filename.clone(),
            bytes: bytes::Bytes::from(claim.document.clone()),
        };
        let deadline = tokio::time::Instant::now() + st.settings().request_timeout;
        routes::process(st, &claim.id, upload, &opts, deadline).await
    }
    .await;
    let problem = |e: &ApiError| Outcome::json(&e.problem(&claim.id)).unwrap_or_default();
    // Written as /v1/extract writes it, so the stored result is that body to the digit.
    match result
        .and_then(|body| Outcome::json(&body).map_err(|e| ApiError::Internal(e.to_string())))
    {
        Ok(body) => Outcome::Succeeded(body),
        Err(e) if retryable(&e) => Outcome::Retry(problem(&e)),
        Err(e) => Outcome::Failed(problem(&e)),
    }
}

/// A server-side failure or a full queue may pass; a bad document will not.
fn retryable(e: &ApiError) -> bool {
    let s = e.status();
    s.is_server_error() || s == axum::http::StatusCode::TOO_MANY_REQUESTS
}

async fn sweep(store: Arc<dyn JobStore>, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        match store.delete_expired().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "expired jobs deleted"),
            Err(e) => tracing::warn!(error = %e, "cannot delete expired jobs"),
        }
        tokio::select! {
            _ = tokio::time::sleep(SWEEP) => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_decides_retries() {
        assert!(retryable(&ApiError::Internal("x".into())));
        assert!(retryable(&ApiError::QueueFull { waiting: 1 }));
        assert!(retryable(&ApiError::Deadline { secs: 1.0 }));
        assert!(!retryable(&ApiError::BadRequest("x".into())));
        assert!(!retryable(&ApiError::UnsupportedType {
            message: "gif".into()
        }));
    }
}
