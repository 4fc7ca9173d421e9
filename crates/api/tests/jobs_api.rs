//! `/v1/jobs` over HTTP on real processes: one node on the embedded SQLite store (results equal
//! to `/v1/extract`, surviving a restart), every refusal with its status, and `/readyz` following
//! a PostgreSQL that goes away and comes back.

mod common;

use std::time::{Duration, Instant};

use common::{Server, client, get_json, sample, start, upload, wait_ready};
use reqwest::blocking::multipart;
use serde_json::Value;

fn submit(
    s: &Server,
    name: &str,
    bytes: Vec<u8>,
    fields: &[(&str, &str)],
    key: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    for (k, v) in fields {
        form = form.text(k.to_string(), v.to_string());
    }
    let mut req = client().post(format!("{}/v1/jobs", s.base)).multipart(form);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let r = req.send().expect("answer");
    let (status, headers) = (r.status().as_u16(), r.headers().clone());
    (status, headers, r.json().unwrap_or(Value::Null))
}

fn wait_for(s: &Server, id: &str, status: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let v = get_json(&s.base, &format!("/v1/jobs/{id}"));
        if v["status"] == status {
            return v;
        }
        assert!(Instant::now() < deadline, "job {id} is still {v}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
#[cfg(unix)]
fn one_node_on_sqlite_gives_the_extract_body_and_keeps_jobs_across_a_restart() {
    let mut s = start(&["--workers", "1"], &[]);
    wait_ready(&s);
    let png = sample("receipt-kedai-runcit.png");
    let (status, headers, v) = submit(&s, "r.png", png.clone(), &[("country", "MY")], None);
    assert_eq!(status, 202, "{v}");
    let id = v["job_id"].as_str().expect("id").to_string();
    assert_eq!(
        headers.get("location").and_then(|h| h.to_str().ok()),
        Some(format!("/v1/jobs/{id}").as_str())
    );
    assert_eq!(v["status"], "queued");
    assert!(v["created_at"].is_string());
    let job = wait_for(&s, &id, "succeeded");
    assert_eq!(job["attempts"], 1);
    let (status, direct) = upload(&s.base, "/v1/extract?country=MY", "r.png", png, None);
    assert_eq!(status, 200);
    assert_eq!(job["result"]["data"], direct["data"]);
    assert_eq!(job["result"]["fields"], direct["fields"]);
    assert_eq!(job["result"]["meta"]["request_id"], id.as_str());

    // The store is a file in the data dir: a restarted server still knows the job.
    let _ = s.child.kill();
    let _ = s.child.wait();
    let keep = s.data.take().expect("data dir");
    let data = keep.path().to_path_buf();
    let s2 = start(
        &["--workers", "0", "--data-dir", &data.display().to_string()],
        &[],
    );
    wait_ready(&s2);
    let again = get_json(&s2.base, &format!("/v1/jobs/{id}"));
    assert_eq!(again["status"], "succeeded");
    assert_eq!(again["result"]["data"], job["result"]["data"]);
    drop(keep);
}

#[test]
#[cfg(unix)]
fn refusals_have_their_status_and_code() {
    let s = start(
        &["--workers", "0"],
        &[
            ("MAX_QUEUED_JOBS", "2"),
            ("WEBHOOK_SECRET", "x"),
            ("WEBHOOK_ALLOWED_HOSTS", "hooks.example.com"),
        ],
    );
    wait_ready(&s);
    let png = sample("receipt-kedai-runcit.png");
    let (status, _, first) = submit(&s, "r.png", png.clone(), &[], Some("k-1"));
    assert_eq!(status, 202, "{first}");
    let (status, h, replay) = submit(&s, "r.png", png.clone(), &[], Some("k-1"));
    assert_eq!(status, 202);
    assert_eq!(replay["job_id"], first["job_id"]);
    assert_eq!(
        h.get("idempotent-replayed").and_then(|v| v.to_str().ok()),
        Some("true")
    );
    let (status, _, v) = submit(
        &s,
        "other.png",
        [png.clone(), b"z".to_vec()].concat(),
        &[],
        Some("k-1"),
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("idempotency_key_reused")),
        "{v}"
    );

    let (status, _, v) = submit(&s, "a.gif", b"GIF89a\x01\x00".to_vec(), &[], None);
    assert_eq!(
        (status, v["code"].as_str()),
        (415, Some("unsupported_format")),
        "{v}"
    );
    let (status, _, v) = submit(&s, "r.png", png.clone(), &[("include", "nope")], None);
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("malformed_request")),
        "{v}"
    );
    let (status, _, v) = submit(
        &s,
        "r.png",
        png.clone(),
        &[("callback_url", "http://169.254.169.254/latest/meta-data")],
        None,
    );
    assert_eq!(status, 400, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("WEBHOOK_ALLOWED_HOSTS")
    );

    let (status, _, second) = submit(
        &s,
        "r2.png",
        [png.clone(), b"x".to_vec()].concat(),
        &[],
        None,
    );
    assert_eq!(status, 202, "{second}");
    let r = client()
        .post(format!("{}/v1/jobs", s.base))
        .multipart(multipart::Form::new().part(
            "file",
            multipart::Part::bytes([png.clone(), b"y".to_vec()].concat()).file_name("r3.png"),
        ))
        .send()
        .expect("answer");
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(
        r.headers().get("retry-after").and_then(|v| v.to_str().ok()),
        Some("30")
    );
    let v: Value = r.json().expect("json");
    assert_eq!(v["code"], "jobs_queue_full");

    let id = second["job_id"].as_str().expect("id");
    let del = |id: &str| {
        let r = client()
            .delete(format!("{}/v1/jobs/{id}", s.base))
            .send()
            .expect("answer");
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    let (status, v) = del(id);
    assert_eq!(
        (status, v["status"].as_str()),
        (200, Some("cancelled")),
        "{v}"
    );
    let (status, v) = del(id);
    assert_eq!(
        (status, v["code"].as_str()),
        (409, Some("job_not_cancellable")),
        "{v}"
    );
    let (status, v) = del("no-such-job");
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    let r = client()
        .get(format!("{}/v1/jobs/no-such-job", s.base))
        .send()
        .expect("answer");
    assert_eq!(r.status().as_u16(), 404);

    let listed = get_json(&s.base, "/v1/jobs?status=queued");
    assert_eq!(listed["jobs"].as_array().map(Vec::len), Some(1));
    let all = get_json(&s.base, "/v1/jobs?limit=1");
    assert_eq!(all["jobs"].as_array().map(Vec::len), Some(1));
    let r = client()
        .get(format!("{}/v1/jobs?status=done", s.base))
        .send()
        .expect("answer");
    assert_eq!(r.status().as_u16(), 400);

    let metrics = common::get_text(&s.base, "/metrics");
    assert!(
        metrics.contains("ocrlty_jobs{status=\"queued\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("ocrlty_jobs{status=\"cancelled\"} 1"));
    assert!(metrics.contains("ocrlty_job_queue_oldest_age_seconds"));
}

#[test]
#[cfg(unix)]
fn readiness_follows_the_job_database() {
    let pg = jobs::testing::TempPostgres::start().expect("postgres");
    let url = pg.database("ready").expect("createdb");
    let s = start(&["--workers", "1"], &[("DATABASE_URL", url.as_str())]);
    wait_ready(&s);
    let readyz = || {
        client()
            .get(format!("{}/readyz", s.base))
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(readyz(), 200);
    pg.stop().expect("stop postgres");
    let r = client()
        .get(format!("{}/readyz", s.base))
        .send()
        .expect("answer");
    assert_eq!(r.status().as_u16(), 503);
    let v: Value = r.json().expect("problem");
    assert_eq!(v["code"], "database_unavailable");
    assert!(
        !v["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("127.0.0.1")
    );
    pg.restart().expect("restart postgres");
    let deadline = Instant::now() + Duration::from_secs(30);
    while readyz() != 200 {
        assert!(
            Instant::now() < deadline,
            "not ready again after the database came back"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // And jobs run again.
    let (status, _, v) = submit(
        &s,
        "r.pdf",
        sample("invoice-muster-buerobedarf.pdf"),
        &[],
        None,
    );
    assert_eq!(status, 202, "{v}");
    wait_for(&s, v["job_id"].as_str().expect("id"), "succeeded");
}

#[test]
#[cfg(unix)]
fn a_job_belongs_to_the_api_key_that_submitted_it() {
    let s = start(&["--workers", "0"], &[("API_KEYS", "key-a,key-b")]);
    wait_ready(&s);
    let form = || {
        multipart::Form::new().part(
            "file",
            multipart::Part::bytes(sample("receipt-kedai-runcit.png")).file_name("r.png"),
        )
    };
    let post = |key: &str| {
        let r = client()
            .post(format!("{}/v1/jobs", s.base))
            .bearer_auth(key)
            .header("Idempotency-Key", "same-key")
            .multipart(form())
            .send()
            .expect("answer");
        assert_eq!(r.status().as_u16(), 202);
        r.json::<Value>().expect("json")["job_id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let a = post("key-a");
    let b = post("key-b");
    assert_ne!(a, b, "idempotency keys are each API key's own");
    let get = |key: &str, path: &str| {
        let r = client()
            .get(format!("{}{path}", s.base))
            .bearer_auth(key)
            .send()
            .expect("answer");
        (
            r.status().as_u16(),
            r.json::<Value>().unwrap_or(Value::Null),
        )
    };
    assert_eq!(get("key-a", &format!("/v1/jobs/{a}")).0, 200);
    let (status, v) = get("key-b", &format!("/v1/jobs/{a}"));
    assert_eq!(
        (status, v["code"].as_str()),
        (404, Some("not_found")),
        "{v}"
    );
    let (_, listed) = get("key-b", "/v1/jobs");
    let ids: Vec<&str> = listed["jobs"]
        .as_array()
        .expect("jobs")
        .iter()
        .filter_map(|j| j["job_id"].as_str())
        .collect();
    assert_eq!(ids, [b.as_str()]);
    let r = client()
        .delete(format!("{}/v1/jobs/{a}", s.base))
        .bearer_auth("key-b")
        .send()
        .expect("answer");
    assert_eq!(r.status().as_u16(), 404, "another key cannot cancel it");
    let r = client()
        .get(format!("{}/v1/jobs/{a}", s.base))
        .send()
        .expect("answer");
    assert_eq!(r.status().as_u16(), 401);
}
