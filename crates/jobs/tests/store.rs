//! Both stores, for real: SQLite in a temp dir and a throw-away PostgreSQL cluster, through the
//! same scenarios.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use jobs::testing::TempPostgres;
use jobs::{
    Cancelled, Ended, JobStatus, JobStore, NewJob, Outcome, PostgresStore, SqliteStore, StoreError,
    StoreSettings,
};
use serde_json::json;

fn settings() -> StoreSettings {
    StoreSettings {
        max_attempts: 2,
        lease: Duration::from_millis(1000),
        result_ttl: Duration::from_secs(3600),
        max_queued: 100,
        retry_backoff: Duration::from_millis(1000),
        webhook_max_attempts: 2,
    }
}

fn job(bytes: &[u8]) -> NewJob {
    NewJob {
        owner: String::new(),
        document: bytes.to_vec(),
        filename: Some("r.png".into()),
        options: json!({"country": "MY"}),
        callback_url: None,
        idempotency_key: None,
    }
}

type Open = Box<dyn Fn(StoreSettings) -> futures_like::BoxFut<Arc<dyn JobStore>>>;

mod futures_like {
    pub type BoxFut<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;
}

/// Every scenario on fresh stores from `open`.
async fn scenarios(open: Open) {
    lifecycle(open(settings()).await).await;
    idempotency_and_backpressure(open(settings()).await).await;
    leases(open(settings()).await).await;
    retries(open(settings()).await).await;
    outbox(open(settings()).await).await;
    expiry(
        open(StoreSettings {
            result_ttl: Duration::ZERO,
            ..settings()
        })
        .await,
    )
    .await;
    concurrent_claims(open(settings()).await).await;
}

async fn lifecycle(s: Arc<dyn JobStore>) {
    let a = s.submit(job(b"doc a")).await.expect("submit");
    assert!(a.created);
    assert_eq!(a.job.status, JobStatus::Queued);
    let b = s.submit(job(b"doc b")).await.expect("submit");
    let view = s
        .get(&a.job.job_id, "")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(view.status, JobStatus::Queued);
    assert_eq!(view.attempts, 0);
    assert!(s.get("no-such-id", "").await.expect("get").is_none());

    assert_eq!(
        s.cancel(&b.job.job_id, "").await.expect("cancel"),
        Cancelled::Cancelled
    );
    assert_eq!(
        s.cancel("nope", "").await.expect("cancel"),
        Cancelled::NotFound
    );
    let listed = s
        .list("", Some(JobStatus::Cancelled), 10)
        .await
        .expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(s.list("", None, 10).await.expect("list").len(), 2);

    let c = s.claim().await.expect("claim").expect("a job");
    assert_eq!(c.id, a.job.job_id, "the cancelled job is not claimed");
    assert_eq!(c.document, b"doc a");
    assert_eq!(c.options, json!({"country": "MY"}));
    assert_eq!(c.attempt, 1);
    assert!(
        s.claim().await.expect("claim").is_none(),
        "nothing else runnable"
    );
    assert_eq!(
        s.cancel(&c.id, "").await.expect("cancel"),
        Cancelled::NotQueued(JobStatus::Running)
    );
    assert!(s.heartbeat(&c.id, &c.token).await.expect("heartbeat"));
    assert!(
        !s.heartbeat(&c.id, "not-the-token")
            .await
            .expect("heartbeat")
    );

    let ended = s
        .finish(&c, Outcome::Succeeded(raw(json!({"total": "1.00"}))))
        .await
        .expect("finish");
    assert_eq!(ended, Ended::Final(JobStatus::Succeeded));
    let v = s.get(&c.id, "").await.expect("get").expect("exists");
    assert_eq!(v.status, JobStatus::Succeeded);
    assert_eq!(v.result.expect("result").get(), r#"{"total":"1.00"}"#);
    assert!(v.finished_at.is_some() && v.expires_at.is_some());
    assert_eq!(
        s.finish(&c, Outcome::Succeeded(raw(json!({}))))
            .await
            .expect("finish"),
        Ended::LeaseLost,
        "a second end is refused"
    );
    let stats = s.stats().await.expect("stats");
    let count = |k| stats.by_status.iter().find(|(s, _)| *s == k).map(|x| x.1);
    assert_eq!(count(JobStatus::Succeeded), Some(1));
    assert_eq!(count(JobStatus::Cancelled), Some(1));
    assert_eq!(count(JobStatus::Queued), Some(0));
    assert!(stats.oldest_queued_age.is_none());
    s.ping().await.expect("ping");
}

async fn idempotency_and_backpressure(s: Arc<dyn JobStore>) {
    let keyed = |bytes: &[u8]| NewJob {
        idempotency_key: Some("key-1".into()),
        ..job(bytes)
    };
    let first = s.submit(keyed(b"same")).await.expect("submit");
    let again = s.submit(keyed(b"same")).await.expect("submit again");
    assert!(!again.created);
    assert_eq!(again.job.job_id, first.job.job_id);
    assert!(matches!(
        s.submit(keyed(b"other bytes")).await,
        Err(StoreError::IdempotencyConflict)
    ));
    // Another owner: its own key space, and the first owner's job is not there for it.
    let theirs = s
        .submit(NewJob {
            owner: "b".into(),
            ..keyed(b"other bytes")
        })
        .await
        .expect("another owner's key");
    assert!(theirs.created);
    assert_ne!(theirs.job.job_id, first.job.job_id);
    assert!(s.get(&first.job.job_id, "b").await.expect("get").is_none());
    assert_eq!(
        s.cancel(&first.job.job_id, "b").await.expect("cancel"),
        Cancelled::NotFound
    );
    let listed = s.list("b", None, 50).await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].job_id, theirs.job.job_id);
    for i in 0..98 {
        s.submit(job(format!("doc {i}").as_bytes()))
            .await
            .expect("under the limit");
    }
    match s.submit(job(b"one too many")).await {
        Err(StoreError::QueueFull { queued }) => assert_eq!(queued, 100),
        other => panic!("expected QueueFull, got {other:?}"),
    }
    assert!(
        s.submit(keyed(b"same")).await.expect("replay").job.job_id == first.job.job_id,
        "a replay is answered even when the queue is full"
    );
    let age = s.stats().await.expect("stats").oldest_queued_age;
    assert!(age.is_some());
}

async fn leases(s: Arc<dyn JobStore>) {
    let j = s
        .submit(NewJob {
            callback_url: Some("http://127.0.0.1:9/cb".into()),
            ..job(b"lost twice")
        })
        .await
        .expect("submit");
    let first = s.claim().await.expect("claim").expect("job");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let second = s
        .claim()
        .await
        .expect("claim")
        .expect("claimed again after the lease");
    assert_eq!(second.id, j.job.job_id);
    assert_eq!(second.attempt, 2);
    assert!(!s.heartbeat(&first.id, &first.token).await.expect("hb"));
    assert_eq!(
        s.finish(&first, Outcome::Succeeded(raw(json!({}))))
            .await
            .expect("finish"),
        Ended::LeaseLost,
        "the first worker cannot write a result any more"
    );
    // The second worker is lost too: its last attempt; the next claim fails the job.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(s.claim().await.expect("claim").is_none());
    let v = s
        .get(&j.job.job_id, "")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(v.status, JobStatus::Failed);
    assert!(v.error.expect("error").get().contains("worker_lost"));
    let (event, delivered, _) = s
        .delivery_state(&j.job.job_id)
        .await
        .expect("state")
        .expect("an event for the callback");
    assert!(!event.is_empty() && !delivered);
}

async fn retries(s: Arc<dyn JobStore>) {
    let j = s.submit(job(b"flaky")).await.expect("submit");
    let c = s.claim().await.expect("claim").expect("job");
    let ended = s
        .finish(
            &c,
            Outcome::Retry(raw(json!({"code": "backend_unavailable"}))),
        )
        .await
        .expect("finish");
    assert_eq!(ended, Ended::Requeued);
    let v = s
        .get(&j.job.job_id, "")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(v.status, JobStatus::Queued);
    assert!(v.error.is_some(), "the last error is shown while it waits");
    assert!(
        s.claim().await.expect("claim").is_none(),
        "not before the backoff"
    );
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let c2 = s.claim().await.expect("claim").expect("after the backoff");
    assert_eq!(c2.attempt, 2);
    let ended = s
        .finish(
            &c2,
            Outcome::Retry(raw(json!({"code": "backend_unavailable"}))),
        )
        .await
        .expect("finish");
    assert_eq!(ended, Ended::Final(JobStatus::Failed), "attempts used up");

    let bad = s.submit(job(b"bad document")).await.expect("submit");
    let c = s.claim().await.expect("claim").expect("job");
    assert_eq!(c.id, bad.job.job_id);
    let ended = s
        .finish(
            &c,
            Outcome::Failed(raw(json!({"code": "unsupported_format"}))),
        )
        .await
        .expect("finish");
    assert_eq!(ended, Ended::Final(JobStatus::Failed));
    let v = s
        .get(&bad.job.job_id, "")
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(v.attempts, 1, "a bad document is not retried");
}

async fn outbox(s: Arc<dyn JobStore>) {
    let j = s
        .submit(NewJob {
            callback_url: Some("http://127.0.0.1:9/cb".into()),
            ..job(b"with callback")
        })
        .await
        .expect("submit");
    assert!(
        s.delivery_state(&j.job.job_id)
            .await
            .expect("state")
            .is_none()
    );
    let c = s.claim().await.expect("claim").expect("job");
    s.finish(&c, Outcome::Succeeded(raw(json!({"total": "2.00"}))))
        .await
        .expect("finish");
    let d = s
        .claim_delivery(Duration::from_secs(60))
        .await
        .expect("claim delivery")
        .expect("due");
    assert_eq!(d.job_id, j.job.job_id);
    assert_eq!(d.attempt, 1);
    let body: serde_json::Value = serde_json::from_str(&d.body).expect("json");
    assert_eq!(body["event_id"], d.event_id.as_str());
    assert_eq!(body["type"], "job.succeeded");
    assert_eq!(body["job"]["result"]["total"], "2.00");
    assert!(
        s.claim_delivery(Duration::from_secs(60))
            .await
            .expect("claim")
            .is_none(),
        "held while in flight"
    );
    s.delivery_done(&d.event_id, Err("503".into()), Duration::ZERO)
        .await
        .expect("record");
    let d2 = s
        .claim_delivery(Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("due again");
    assert_eq!(
        d2.event_id, d.event_id,
        "the same event id on every delivery"
    );
    assert_eq!(d2.attempt, 2);
    s.delivery_done(&d.event_id, Err("503".into()), Duration::ZERO)
        .await
        .expect("record");
    assert!(
        s.claim_delivery(Duration::from_secs(60))
            .await
            .expect("claim")
            .is_none(),
        "given up after webhook_max_attempts"
    );

    assert_eq!(
        s.delete_expired().await.expect("delete"),
        0,
        "nothing is deleted before its TTL"
    );
}

/// With a zero TTL, ended jobs go at once, but not while their webhook is still owed.
async fn expiry(s: Arc<dyn JobStore>) {
    let plain = s.submit(job(b"plain")).await.expect("submit");
    let hooked = s
        .submit(NewJob {
            callback_url: Some("http://127.0.0.1:9/cb".into()),
            ..job(b"hooked")
        })
        .await
        .expect("submit");
    for _ in 0..2 {
        let c = s.claim().await.expect("claim").expect("job");
        s.finish(&c, Outcome::Succeeded(raw(json!({}))))
            .await
            .expect("finish");
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(s.delete_expired().await.expect("delete"), 1);
    assert!(s.get(&plain.job.job_id, "").await.expect("get").is_none());
    assert!(s.get(&hooked.job.job_id, "").await.expect("get").is_some());
    let d = s
        .claim_delivery(Duration::from_secs(60))
        .await
        .expect("claim")
        .expect("due");
    s.delivery_done(&d.event_id, Ok(()), Duration::ZERO)
        .await
        .expect("record");
    assert_eq!(s.delete_expired().await.expect("delete"), 1);
    assert!(s.get(&hooked.job.job_id, "").await.expect("get").is_none());
    assert!(
        s.delivery_state(&hooked.job.job_id)
            .await
            .expect("state")
            .is_none()
    );
}

async fn concurrent_claims(s: Arc<dyn JobStore>) {
    let mut ids = HashSet::new();
    for i in 0..40 {
        ids.insert(
            s.submit(job(format!("c{i}").as_bytes()))
                .await
                .expect("submit")
                .job
                .job_id,
        );
    }
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let s = s.clone();
        tasks.spawn(async move {
            let mut mine = Vec::new();
            while let Some(c) = s.claim().await.expect("claim") {
                assert_eq!(
                    s.finish(&c, Outcome::Succeeded(raw(json!({}))))
                        .await
                        .expect("finish"),
                    Ended::Final(JobStatus::Succeeded)
                );
                mine.push(c.id);
            }
            mine
        });
    }
    let mut claimed = Vec::new();
    while let Some(r) = tasks.join_next().await {
        claimed.extend(r.expect("task"));
    }
    assert_eq!(claimed.len(), 40, "each job claimed exactly once");
    assert_eq!(claimed.into_iter().collect::<HashSet<_>>(), ids);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store() {
    let dir = Arc::new(tempfile::tempdir().expect("tmp"));
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    scenarios(Box::new(move |st| {
        let (dir, n) = (dir.clone(), n.clone());
        Box::pin(async move {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = dir.path().join(format!("s{i}/jobs.sqlite3"));
            Arc::new(SqliteStore::open(&path, st).await.expect("open")) as Arc<dyn JobStore>
        })
    }))
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store() {
    let pg = Arc::new(TempPostgres::start().expect("postgres"));
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let cluster = pg.clone();
    scenarios(Box::new(move |st| {
        let (pg, n) = (cluster.clone(), n.clone());
        Box::pin(async move {
            let i = n.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let url = pg.database(&format!("s{i}")).expect("createdb");
            Arc::new(PostgresStore::connect(&url, st).await.expect("connect")) as Arc<dyn JobStore>
        })
    }))
    .await;
}

/// `v` as the JSON text an outcome carries.
fn raw(v: serde_json::Value) -> Box<serde_json::value::RawValue> {
    jobs::Outcome::json(&v).expect("json")
}
