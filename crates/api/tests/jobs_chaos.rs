//! The job queue under faults, with real processes on a real PostgreSQL: 300 jobs, an API
//! replica with no workers, 3 `ocrlty worker` processes of which one is killed with SIGKILL
//! every couple of seconds and restarted, and the API itself killed and restarted half-way
//! through the submissions. Every job must succeed exactly once — one result, one webhook event
//! whose deliveries all carry its id — and none may be lost.

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Server, client, root, spawn_and_wait};
use jobs::JobStore;
use jobs::testing::TempPostgres;
use reqwest::blocking::multipart;
use serde_json::Value;

const JOBS: usize = 300;
const WORKERS: usize = 3;
const SECRET: &str = "chaos-secret";

/// One delivery the receiver got: event id, job id, whether the signature verified.
type Seen = Arc<Mutex<Vec<(String, String, bool)>>>;

/// A webhook receiver on loopback that fails every seventh delivery (so retries happen too).
fn receiver() -> (String, Seen) {
    let seen: Seen = Arc::default();
    let s2 = seen.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let n = Arc::new(AtomicUsize::new(0));
            let app = axum::Router::new().route(
                "/hook",
                axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                    let (seen, n) = (s2.clone(), n.clone());
                    async move {
                        if n.fetch_add(1, Ordering::SeqCst) % 7 == 6 {
                            return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                        }
                        let h = |k: &str| {
                            headers
                                .get(k)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string()
                        };
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map(|d| d.as_secs() as i64)
                            .unwrap_or(0);
                        let ok = jobs::webhook::verify(
                            SECRET.as_bytes(),
                            &h(jobs::webhook::SIGNATURE_HEADER),
                            body.as_bytes(),
                            now,
                            Duration::from_secs(300),
                        )
                        .is_ok();
                        let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                        let job = v["job"]["job_id"].as_str().unwrap_or_default().to_string();
                        let event = h(jobs::webhook::EVENT_ID_HEADER);
                        assert_eq!(v["event_id"].as_str(), Some(event.as_str()));
                        seen.lock().expect("lock").push((event, job, ok));
                        axum::http::StatusCode::NO_CONTENT
                    }
                }),
            );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind");
            tx.send(l.local_addr().expect("addr")).expect("send");
            axum::serve(l, app).await.expect("receiver");
        });
    });
    let addr = rx.recv().expect("receiver address");
    (format!("http://{addr}/hook"), seen)
}

fn ocrlty(sub: &str, env: &[(String, String)], args: &[&str]) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocrlty"));
    cmd.arg(sub)
        .args(["--host", "127.0.0.1", "--threads", "1"])
        .args(args)
        .env("RUST_LOG", "info")
        .env("LOG_FORMAT", "json")
        .stdout(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    spawn_and_wait(&mut cmd)
}

fn api(env: &[(String, String)]) -> Server {
    let s = ocrlty("serve", env, &["--port", "0", "--workers", "0"]);
    common::wait_ready(&s);
    s
}

fn worker(env: &[(String, String)]) -> Server {
    ocrlty("worker", env, &["--health-port", "0", "--workers", "1"])
}

/// Submits job `i` until the API answers (it may be restarting); its id.
fn submit(base: &Mutex<String>, doc: &[u8], i: usize, hook: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut bytes = doc.to_vec();
        // Unique bytes per job (a PDF comment after %%EOF), so no cache answers for another.
        bytes.extend_from_slice(format!("\n% chaos job {i}\n").as_bytes());
        let form = multipart::Form::new()
            .part(
                "file",
                multipart::Part::bytes(bytes).file_name(format!("job-{i}.pdf")),
            )
            .text("callback_url", hook.to_string());
        let url = format!("{}/v1/jobs", base.lock().expect("lock"));
        let r = client()
            .post(url)
            .header("Idempotency-Key", format!("chaos-{i}"))
            .multipart(form)
            .send();
        if let Ok(r) = r
            && r.status() == 202
        {
            let v: Value = r.json().expect("json");
            return v["job_id"].as_str().expect("job_id").to_string();
        }
        assert!(Instant::now() < deadline, "job {i} could not be submitted");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
#[cfg(unix)]
fn every_job_succeeds_exactly_once_through_worker_kills_and_an_api_restart() {
    let pg = TempPostgres::start().expect("postgres");
    let url = pg.database("chaos").expect("createdb");
    let (hook, seen) = receiver();
    let data = tempfile::tempdir().expect("tmp");
    let env: Vec<(String, String)> = [
        ("DATABASE_URL", url.as_str()),
        ("WEBHOOK_SECRET", SECRET),
        ("WEBHOOK_ALLOWED_HOSTS", "127.0.0.1"),
        ("JOB_LEASE_S", "2"),
        ("JOB_MAX_ATTEMPTS", "25"),
        ("OCRLTY_DATA_DIR", &data.path().display().to_string()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    let mut api_server = api(&env);
    let base = Arc::new(Mutex::new(api_server.base.clone()));
    let workers: Arc<Mutex<Vec<Server>>> =
        Arc::new(Mutex::new((0..WORKERS).map(|_| worker(&env)).collect()));

    // One worker SIGKILLed every two seconds, in turn, and started again.
    let done = Arc::new(AtomicBool::new(false));
    let kills = Arc::new(AtomicUsize::new(0));
    let chaos = {
        let (workers, done, kills, env) =
            (workers.clone(), done.clone(), kills.clone(), env.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !done.load(Ordering::SeqCst) {
                std::thread::sleep(Duration::from_secs(2));
                if done.load(Ordering::SeqCst) {
                    break;
                }
                let k = i % WORKERS;
                let mut w = workers.lock().expect("lock");
                let _ = w[k].child.kill(); // SIGKILL
                let _ = w[k].child.wait();
                kills.fetch_add(1, Ordering::SeqCst);
                w[k] = worker(&env);
                i += 1;
            }
        })
    };

    let doc = std::fs::read(root().join("samples/invoice-muster-buerobedarf.pdf")).expect("sample");
    let mut ids = Vec::with_capacity(JOBS);
    for i in 0..JOBS {
        if i == JOBS / 2 {
            // The API replica dies mid-run and comes back (on a new port).
            let _ = api_server.child.kill();
            let _ = api_server.child.wait();
            api_server = api(&env);
            *base.lock().expect("lock") = api_server.base.clone();
        }
        ids.push(submit(&base, &doc, i, &hook));
    }
    let distinct: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        distinct.len(),
        JOBS,
        "one job per submission, replays included"
    );

    // Every job ends.
    let b = base.lock().expect("lock").clone();
    let deadline = Instant::now() + Duration::from_secs(600);
    let succeeded = loop {
        let v: Value = client()
            .get(format!("{b}/v1/jobs?status=succeeded&limit=500"))
            .send()
            .and_then(|r| r.json())
            .expect("list");
        let n = v["jobs"].as_array().map(Vec::len).unwrap_or(0);
        if n == JOBS {
            break n;
        }
        let failed: Value = client()
            .get(format!("{b}/v1/jobs?status=failed"))
            .send()
            .and_then(|r| r.json())
            .expect("list");
        assert_eq!(failed["jobs"].as_array().map(Vec::len), Some(0), "{failed}");
        assert!(
            Instant::now() < deadline,
            "only {n} of {JOBS} jobs ended in time"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(succeeded, JOBS);

    // Each result is the body /v1/extract gives, made for this job.
    let mut retried = 0;
    for id in &ids {
        let v: Value = client()
            .get(format!("{b}/v1/jobs/{id}"))
            .send()
            .and_then(|r| r.json())
            .expect("job");
        assert_eq!(v["status"], "succeeded", "{v}");
        assert_eq!(v["result"]["meta"]["request_id"], id.as_str());
        assert!(v["result"]["data"]["total"].is_string(), "{v}");
        if v["attempts"].as_u64().unwrap_or(0) > 1 {
            retried += 1;
        }
    }

    // Every webhook event arrives; the deliveries of a job share one event id, the one the
    // store holds for it (one event per job: one end).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let got: HashSet<String> = seen
            .lock()
            .expect("lock")
            .iter()
            .map(|(_, j, _)| j.clone())
            .collect();
        if ids.iter().all(|id| got.contains(id)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "webhooks for {} of {JOBS} jobs arrived",
            got.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    done.store(true, Ordering::SeqCst);
    chaos.join().expect("chaos thread");
    let deliveries = seen.lock().expect("lock").clone();
    assert!(
        deliveries.iter().all(|(_, _, ok)| *ok),
        "every signature verifies"
    );
    let mut events: HashMap<String, HashSet<String>> = HashMap::new();
    for (e, j, _) in &deliveries {
        events.entry(j.clone()).or_default().insert(e.clone());
    }
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let store = rt
        .block_on(jobs::PostgresStore::connect(
            &url,
            jobs::StoreSettings::default(),
        ))
        .expect("store");
    for id in &ids {
        let e = &events[id];
        assert_eq!(
            e.len(),
            1,
            "job {id}: deliveries with several event ids {e:?}"
        );
        let (stored, _, _) = rt
            .block_on(store.delivery_state(id))
            .expect("state")
            .expect("one event");
        assert!(e.contains(&stored));
    }
    let k = kills.load(Ordering::SeqCst);
    eprintln!(
        "{JOBS} jobs, {k} worker kills, 1 API restart: {retried} jobs took more than one \
         attempt, {} deliveries for {} events",
        deliveries.len(),
        events.len()
    );
    assert!(k >= 3, "the workers were killed {k} times only");
}
