//! `ocrlty serve` as a real process on port 0, driven over HTTP with real multipart uploads.

mod common;

use std::process::{Child, Command};
use std::time::{Duration, Instant};

use common::{client, sample, start, upload, wait_ready};
use reqwest::blocking::multipart;
use serde_json::Value;

#[cfg(unix)]
fn terminate(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok);
}

#[test]
#[cfg(unix)]
fn every_status_over_http_and_a_graceful_shutdown_that_finishes_the_request_in_flight() {
    let mut s = start(&["--max-upload-mb", "1"], &[("API_KEYS", "e2e-key")]);
    wait_ready(&s);
    let key = Some("e2e-key");

    let (status, v) = upload(
        &s.base,
        "/v1/extract",
        "r.png",
        sample("receipt-kedai-runcit.png"),
        key,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["total"], "65.50");
    let (status, v) = upload(
        &s.base,
        "/v1/extract",
        "r.png",
        sample("receipt-kedai-runcit.png"),
        None,
    );
    assert_eq!((status, v["code"].as_str()), (401, Some("unauthorized")));
    let (status, v) = upload(
        &s.base,
        "/v1/extract",
        "a.gif",
        b"GIF89a\x01\x00".to_vec(),
        key,
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (415, Some("unsupported_format")),
        "{v}"
    );
    let (status, v) = upload(
        &s.base,
        "/v1/extract",
        "b.pdf",
        b"%PDF-1.4\nnothing".to_vec(),
        key,
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (422, Some("corrupt_pdf")),
        "{v}"
    );
    let (status, v) = upload(&s.base, "/v1/extract", "big.png", vec![0u8; 1_500_000], key);
    assert_eq!(
        (status, v["code"].as_str()),
        (413, Some("file_too_large")),
        "{v}"
    );
    let (status, v) = upload(&s.base, "/v1/extract?include=nope", "r.png", vec![1], key);
    assert_eq!(
        (status, v["code"].as_str()),
        (400, Some("malformed_request")),
        "{v}"
    );

    let c = client();
    let r = c
        .get(format!("{}/version", s.base))
        .header("x-request-id", "trace-me-1")
        .send()
        .expect("answer");
    assert_eq!(r.headers()["x-request-id"], "trace-me-1");
    let docs = c.get(format!("{}/docs/", s.base)).send().expect("answer");
    assert_eq!(docs.status(), 200);
    assert!(
        docs.text().unwrap_or_default().contains("swagger"),
        "Swagger UI served"
    );
    let spec: Value = c
        .get(format!("{}/openapi.json", s.base))
        .send()
        .and_then(|r| r.json())
        .expect("spec");
    assert!(spec["paths"]["/v1/extract"].is_object());

    // A slow document in flight, then SIGTERM: it still gets its answer, then the process exits 0.
    let base = s.base.clone();
    let in_flight = std::thread::spawn(move || {
        let form = multipart::Form::new().part(
            "file",
            multipart::Part::bytes(sample("scanned-receipt-corner-cafe.pdf")).file_name("s.pdf"),
        );
        client()
            .post(format!("{base}/v1/extract"))
            .bearer_auth("e2e-key")
            .multipart(form)
            .send()
            .map(|r| r.status().as_u16())
    });
    // Wait until the server has the request before signalling.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let m = c
            .get(format!("{}/metrics", s.base))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default();
        if m.lines()
            .any(|l| l.starts_with("ocrlty_http_requests_in_flight") && !l.ends_with(" 1"))
            || Instant::now() > deadline
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    terminate(&s.child);
    assert_eq!(in_flight.join().expect("joins").expect("answered"), 200);
    let deadline = Instant::now() + Duration::from_secs(20);
    let code = loop {
        if let Some(st) = s.child.try_wait().expect("wait") {
            break st.code();
        }
        assert!(Instant::now() < deadline, "the server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(code, Some(0));
    let log: Vec<String> = s.log.try_iter().collect();
    assert!(
        log.iter()
            .any(|l| l.contains("\"message\":\"extracted\"") && l.contains("ocr_ms")),
        "per-stage latency logged as JSON"
    );
}

#[test]
fn a_full_queue_is_429_and_a_missed_deadline_504_over_http() {
    let s = start(
        &[
            "--ocr-concurrency",
            "1",
            "--queue-size",
            "0",
            "--request-timeout",
            "0.6",
        ],
        &[],
    );
    wait_ready(&s);
    let base = s.base.clone();
    let first = std::thread::spawn(move || {
        upload(
            &base,
            "/v1/extract",
            "s.pdf",
            sample("scanned-receipt-corner-cafe.pdf"),
            None,
        )
    });
    std::thread::sleep(Duration::from_millis(200));
    let (status, v) = upload(
        &s.base,
        "/v1/extract",
        "s.pdf",
        sample("scanned-receipt-corner-cafe.pdf"),
        None,
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (429, Some("queue_full")),
        "{v}"
    );
    let (status, v) = first.join().expect("joins");
    assert_eq!(
        (status, v["code"].as_str()),
        (504, Some("deadline_exceeded")),
        "{v}"
    );
}

#[test]
fn models_that_do_not_load_stop_the_server_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--log-format",
            "text",
        ])
        .env("OCR_MODEL_DIR", dir.path())
        .env("OCRLTY_DATA_DIR", dir.path().join("data"))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("listening on"),
        "the listener opens first: {err}"
    );
    assert!(
        err.contains("not found") && err.contains("scripts/setup"),
        "{err}"
    );
}
