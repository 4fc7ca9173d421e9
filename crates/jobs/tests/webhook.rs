//! The dispatcher against a real receiver on loopback: signed deliveries, retried with the same
//! event id after a failure, no redirect followed, hosts not allowed never called.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use jobs::webhook::{AllowedHosts, Dispatcher, EVENT_ID_HEADER, SIGNATURE_HEADER, verify};
use jobs::{JobStore, NewJob, Outcome, SqliteStore, StoreSettings};

#[derive(Debug, Default)]
struct Seen {
    calls: Vec<(String, String, String)>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deliveries_are_signed_retried_and_deduplicable() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let s2 = seen.clone();
    let app = axum::Router::new()
        .route(
            "/cb",
            post(move |headers: HeaderMap, body: String| {
                let seen = s2.clone();
                async move {
                    let h = |n: &str| {
                        headers
                            .get(n)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let mut g = seen.lock().expect("lock");
                    g.calls
                        .push((h(EVENT_ID_HEADER), h(SIGNATURE_HEADER), body));
                    // The first delivery fails: the event must come again.
                    if g.calls.len() == 1 {
                        StatusCode::SERVICE_UNAVAILABLE
                    } else {
                        StatusCode::NO_CONTENT
                    }
                }
            }),
        )
        .route(
            "/redirect",
            post(|| async { (StatusCode::TEMPORARY_REDIRECT, [("location", "/cb")]) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().expect("tmp");
    let settings = StoreSettings {
        webhook_max_attempts: 3,
        ..StoreSettings::default()
    };
    let store: Arc<dyn JobStore> = Arc::new(
        SqliteStore::open(&dir.path().join("j.sqlite3"), settings)
            .await
            .expect("open"),
    );
    let submit = |path: &str, bytes: &'static [u8]| NewJob {
        owner: String::new(),
        document: bytes.to_vec(),
        filename: None,
        options: serde_json::json!({}),
        callback_url: Some(format!("http://{addr}{path}")),
        idempotency_key: None,
    };
    for (path, bytes) in [("/cb", &b"one"[..]), ("/redirect", &b"two"[..])] {
        store.submit(submit(path, bytes)).await.expect("submit");
        let c = store.claim().await.expect("claim").expect("job");
        store
            .finish(
                &c,
                Outcome::Succeeded(raw(serde_json::json!({"total": "9.99"}))),
            )
            .await
            .expect("finish");
    }
    let d = Dispatcher::new(
        store.clone(),
        "whsec",
        AllowedHosts::parse(&addr.to_string()),
        Duration::from_millis(50),
    )
    .expect("client");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(d.run(stop_rx, Duration::from_millis(20)));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop_tx.send(true).expect("stop");
    run.await.expect("dispatcher");

    let calls = seen.lock().expect("lock").calls.clone();
    assert_eq!(
        calls.len(),
        2,
        "a failed delivery, then one that landed: {calls:?}"
    );
    assert_eq!(calls[0].0, calls[1].0, "one event id for every delivery");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    for (_, sig, body) in &calls {
        verify(
            b"whsec",
            sig,
            body.as_bytes(),
            now,
            Duration::from_secs(300),
        )
        .expect("the signature verifies");
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(v["job"]["result"]["total"], "9.99");
    }
    // The redirecting receiver was called (and answered 307) but never followed to /cb: only
    // the first job's two deliveries reached /cb. Its event is still owed.
    let jobs = store.list("", None, 10).await.expect("list");
    let mut settled = 0;
    for j in jobs {
        let (_, delivered, attempts) = store
            .delivery_state(&j.job_id)
            .await
            .expect("state")
            .expect("event");
        if delivered {
            settled += 1;
        } else {
            assert!(
                attempts >= 2,
                "the redirect counts as a failure and is retried"
            );
        }
    }
    assert_eq!(settled, 1);

    // A host taken off the list is never called.
    let strict = Dispatcher::new(
        store.clone(),
        "whsec",
        AllowedHosts::parse("hooks.example.com"),
        Duration::from_millis(50),
    )
    .expect("client");
    let before = calls.len();
    store.submit(submit("/cb", b"three")).await.expect("submit");
    let c = store.claim().await.expect("claim").expect("job");
    store
        .finish(&c, Outcome::Succeeded(raw(serde_json::json!({}))))
        .await
        .expect("finish");
    let d = store
        .claim_delivery(Duration::from_secs(1))
        .await
        .expect("claim")
        .expect("the third job's event");
    let job_id = d.job_id.clone();
    strict.deliver(d).await;
    assert_eq!(seen.lock().expect("lock").calls.len(), before);
    let (_, delivered, attempts) = store
        .delivery_state(&job_id)
        .await
        .expect("state")
        .expect("event");
    assert!(!delivered && attempts == 1);
}

/// `v` as the JSON text an outcome carries.
fn raw(v: serde_json::Value) -> Box<serde_json::value::RawValue> {
    jobs::Outcome::json(&v).expect("json")
}
