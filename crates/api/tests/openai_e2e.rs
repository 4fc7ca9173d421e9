//! The `openai` backend end to end: `ocrlty serve` and `mock-vllm` as real processes on port 0.
//! The happy path of each request style; each fault → the documented status and message; the
//! circuit breaker opening and closing; the model server killed mid-request and back; a batch
//! against a failing backend.

mod common;

use std::time::Duration;

use common::{Server, client, get_json, get_text, sample, start, start_mock, upload, wait_ready};
use serde_json::{Value, json};

fn faults(mock: &Server, f: Value) {
    let r = client()
        .post(format!("{}/mock/faults", mock.base))
        .json(&f)
        .send()
        .expect("mock answers");
    assert_eq!(r.status(), 200);
}

fn model_requests(mock: &Server) -> u64 {
    get_json(&mock.base, "/mock/stats")["model_requests"]
        .as_u64()
        .unwrap_or(0)
}

fn api(mock: &Server, style: &str, extra: &[(&str, &str)]) -> Server {
    let mut env = vec![
        ("VLLM_BASE_URL", mock.base.as_str()),
        ("VLLM_STYLE", style),
        ("KIE_BACKEND", "openai"),
    ];
    env.extend_from_slice(extra);
    let s = start(&[], &env);
    wait_ready(&s);
    s
}

#[test]
fn each_request_style_extracts_the_receipt_through_the_mock() {
    let mock = start_mock(&["--model", "arctic-tilt-test"]);
    for style in ["tilt", "tilt-generate", "llm"] {
        let s = api(&mock, style, &[]);
        let (status, v) = upload(
            &s.base,
            "/v1/extract",
            "r.png",
            sample("receipt-kedai-runcit.png"),
            None,
        );
        assert_eq!(status, 200, "{style}: {v}");
        assert_eq!(v["data"]["total"], "65.50", "{style}");
        assert_eq!(v["data"]["date"], "2024-03-14", "{style}");
        assert_eq!(v["data"]["currency"], "MYR", "{style}");
        assert_eq!(v["meta"]["backend"], "openai");
        assert_eq!(v["meta"]["model_version"], "openai:arctic-tilt-test");
        assert_eq!(v["fields"]["total"]["evidence"]["text"], "65.50", "{style}");
        let h: Value = get_json(&s.base, "/v1/health");
        let openai = h["backends"]
            .as_array()
            .and_then(|b| b.iter().find(|b| b["name"] == "openai").cloned())
            .expect("openai listed");
        assert_eq!(openai["reachable"], true, "{h}");
        assert_eq!(openai["default"], true);
    }
}

#[test]
fn each_fault_becomes_its_documented_status() {
    let mock = start_mock(&[]);
    let s = api(
        &mock,
        "tilt",
        &[
            ("VLLM_RETRIES", "1"),
            ("VLLM_TIMEOUT_S", "1"),
            ("VLLM_BREAKER_THRESHOLD", "1000"),
        ],
    );
    let png = sample("receipt-kedai-runcit.png");
    // One question per document, so one model request per attempt.
    let path = "/v1/extract?fields=total";
    let cases: [(Value, u16, &str, &str, u64); 6] = [
        (
            json!({"error_rate": 1.0, "error_status": 503}),
            503,
            "backend_unavailable",
            "mock-vllm injected a 503",
            2,
        ),
        (
            json!({"error_rate": 1.0, "error_status": 400, "envelope": "fastapi"}),
            502,
            "backend_bad_answer",
            "mock-vllm injected a 400",
            1,
        ),
        (
            json!({"error_rate": 1.0, "error_status": 500, "envelope": "vllm"}),
            503,
            "backend_unavailable",
            "mock-vllm injected a 500",
            1,
        ),
        (
            json!({"malformed_rate": 1.0}),
            502,
            "backend_bad_answer",
            "not JSON",
            1,
        ),
        (
            json!({"drop_rate": 1.0}),
            503,
            "backend_unavailable",
            "cannot reach the server",
            2,
        ),
        (
            json!({"latency_ms": 1500}),
            504,
            "backend_timeout",
            "timed out",
            1,
        ),
    ];
    for (i, (f, status, code, message, calls)) in cases.into_iter().enumerate() {
        faults(&mock, f.clone());
        let before = model_requests(&mock);
        // Different bytes each time: never answered from the cache.
        let mut doc = png.clone();
        doc.extend_from_slice(format!("case {i}").as_bytes());
        let (st, v) = upload(&s.base, path, "r.png", doc, None);
        assert_eq!((st, v["code"].as_str()), (status, Some(code)), "{f}: {v}");
        assert!(
            v["detail"].as_str().is_some_and(|d| d.contains(message)),
            "{f}: {v}"
        );
        assert_eq!(model_requests(&mock) - before, calls, "{f}: attempts");
    }
    faults(&mock, json!({"slow_ms": 3000}));
    let (st, v) = upload(
        &s.base,
        path,
        "r.png",
        [png.clone(), b"slow".to_vec()].concat(),
        None,
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (504, Some("backend_timeout")),
        "{v}"
    );
    faults(&mock, json!({}));
    let (st, v) = upload(&s.base, path, "r.png", png, None);
    assert_eq!(st, 200, "{v}");
}

#[test]
fn the_breaker_opens_after_repeated_failures_and_closes_after_a_good_probe() {
    let mock = start_mock(&[]);
    let s = api(
        &mock,
        "tilt",
        &[
            ("VLLM_RETRIES", "0"),
            ("VLLM_BREAKER_THRESHOLD", "2"),
            ("VLLM_BREAKER_COOLDOWN_S", "6"),
        ],
    );
    let png = sample("receipt-kedai-runcit.png");
    let doc = |i: u8| [png.clone(), vec![i]].concat();
    faults(&mock, json!({"error_rate": 1.0, "error_status": 503}));
    for i in 0..2 {
        let (st, _) = upload(&s.base, "/v1/extract?fields=total", "r.png", doc(i), None);
        assert_eq!(st, 503);
    }
    let before = model_requests(&mock);
    let (st, v) = upload(&s.base, "/v1/extract?fields=total", "r.png", doc(2), None);
    assert_eq!(st, 503);
    assert!(
        v["detail"]
            .as_str()
            .is_some_and(|d| d.contains("circuit open")),
        "{v}"
    );
    assert_eq!(
        model_requests(&mock),
        before,
        "an open circuit sends nothing"
    );
    let h: Value = get_json(&s.base, "/v1/health");
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h.to_string().contains("circuit open"), "{h}");
    let m = get_text(&s.base, "/metrics");
    assert!(
        m.contains("ocrlty_backend_circuit_open{backend=\"openai\"} 1"),
        "{m}"
    );

    // The cooldown is longer than a document's OCR, so the circuit is still open when the
    // third document reaches the backend.
    faults(&mock, json!({}));
    std::thread::sleep(Duration::from_millis(6100));
    let (st, v) = upload(&s.base, "/v1/extract?fields=total", "r.png", doc(3), None);
    assert_eq!(st, 200, "the probe goes through: {v}");
    let m = get_text(&s.base, "/metrics");
    assert!(
        m.contains("ocrlty_backend_circuit_open{backend=\"openai\"} 0"),
        "{m}"
    );
    let (st, _) = upload(&s.base, "/v1/extract?fields=total", "r.png", doc(4), None);
    assert_eq!(st, 200, "closed again");
}

#[test]
fn a_batch_against_a_failing_backend_answers_every_file() {
    let mock = start_mock(&[]);
    let s = api(
        &mock,
        "llm",
        &[("VLLM_RETRIES", "0"), ("VLLM_BREAKER_THRESHOLD", "1000")],
    );
    // Every second model request fails: one of the two receipts gets a 503, the other its fields.
    faults(&mock, json!({"error_rate": 0.5, "error_status": 503}));
    let form = reqwest::blocking::multipart::Form::new()
        .part(
            "files[]",
            reqwest::blocking::multipart::Part::bytes(sample("receipt-kedai-runcit.png"))
                .file_name("a.png"),
        )
        .part(
            "files[]",
            reqwest::blocking::multipart::Part::bytes(b"GIF89a".to_vec()).file_name("b.gif"),
        )
        .part(
            "files[]",
            reqwest::blocking::multipart::Part::bytes(sample("invoice-muster-buerobedarf.pdf"))
                .file_name("c.pdf"),
        );
    let v: Value = client()
        .post(format!("{}/v1/extract-batch", s.base))
        .multipart(form)
        .send()
        .and_then(|r| r.json())
        .expect("batch answer");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{v}");
    assert_eq!(items[1]["status"], 415);
    let statuses: Vec<u64> = [0, 2]
        .iter()
        .filter_map(|&i| items[i]["status"].as_u64())
        .collect();
    assert!(statuses.contains(&200) && statuses.contains(&503), "{v}");
    for i in [0, 2] {
        let it = &items[i];
        if it["status"] == 503 {
            assert_eq!(it["error"]["code"], "backend_unavailable");
        } else {
            assert!(it["result"]["data"]["total"].is_string(), "{it}");
        }
    }
    assert_eq!(v["failed"], 2);
}

#[test]
fn the_vlm_style_sends_the_page_images_and_normalises_the_answer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let answers = dir.path().join("answers.json");
    std::fs::write(
        &answers,
        r#"{"merchant": "Muster Bürobedarf GmbH", "date": "15.03.2024", "currency": "€",
            "subtotal": "225,50", "tax_amount": "42,85", "total": "268,35 €",
            "line_items": [
              {"description": "Tintenpatrone schwarz XL", "quantity": "2",
               "unit_price": "38,50 €", "amount": "77,00 €"},
              {"description": "Ordner breit, blau", "quantity": "10",
               "unit_price": "2,95 €", "amount": "29,50 €"}],
            "tax_breakdown": [{"rate": "19 %", "base": "225,50", "amount": "42,85"}]}"#,
    )
    .expect("write");
    let mock = start_mock(&["--answers", answers.to_str().expect("utf-8")]);
    let s = api(&mock, "vlm", &[]);
    let (status, v) = upload(
        &s.base,
        "/v1/extract",
        "i.pdf",
        sample("invoice-muster-buerobedarf.pdf"),
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["total"], "268.35");
    assert_eq!(v["data"]["date"], "2024-03-15");
    assert_eq!(v["data"]["currency"], "EUR");
    // The model's items and tax rows, normalised by the rules and found on the page.
    assert_eq!(
        v["data"]["line_items"][0],
        serde_json::json!({"description": "Tintenpatrone schwarz XL", "quantity": "2",
                           "unit_price": "38.50", "amount": "77.00"})
    );
    assert_eq!(v["line_items"][1]["evidence"]["page"], 0, "{v}");
    assert_eq!(
        v["data"]["tax_breakdown"],
        serde_json::json!([{"rate": "19", "base": "225.50", "amount": "42.85"}])
    );
    // Two of the four items do not make the subtotal: the rules say so.
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert_eq!(codes, ["mismatch.line_items"], "{v}");
    let stats: Value = get_json(&mock.base, "/mock/stats");
    assert_eq!(
        stats["images_seen"], 2,
        "both pages sent as images: {stats}"
    );
    // Without canned answers the mock refuses images: the API says the backend answered badly.
    let plain = start_mock(&[]);
    let s = api(&plain, "vlm", &[]);
    let (status, v) = upload(
        &s.base,
        "/v1/extract",
        "r.png",
        sample("receipt-kedai-runcit.png"),
        None,
    );
    assert_eq!(
        (status, v["code"].as_str()),
        (502, Some("backend_bad_answer")),
        "{v}"
    );
}

#[test]
fn the_model_server_killed_mid_request_is_a_503_and_health_follows_it_down_and_up() {
    let mut mock = start_mock(&[]);
    let port = mock.base.rsplit(':').next().expect("port").to_string();
    let s = api(
        &mock,
        "tilt",
        &[("VLLM_RETRIES", "1"), ("VLLM_BREAKER_THRESHOLD", "1000")],
    );
    let png = sample("receipt-kedai-runcit.png");
    // The mock holds the answer; it is killed while the request waits on it.
    faults(&mock, json!({"latency_ms": 20_000}));
    let base = s.base.clone();
    let doc = [png.clone(), b"killed".to_vec()].concat();
    let pending =
        std::thread::spawn(move || upload(&base, "/v1/extract?fields=total", "r.png", doc, None));
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while model_requests(&mock) == 0 {
        assert!(std::time::Instant::now() < deadline, "no model request");
        std::thread::sleep(Duration::from_millis(50));
    }
    mock.child.kill().expect("kill mock-vllm");
    let _ = mock.child.wait();
    let (st, v) = pending.join().expect("request thread");
    assert_eq!(
        (st, v["code"].as_str()),
        (503, Some("backend_unavailable")),
        "{v}"
    );
    // Down: health says so, and a new request is a quick 503 too.
    let h = get_json(&s.base, "/v1/health");
    assert_eq!(h["status"], "degraded", "{h}");
    let (st, v) = upload(
        &s.base,
        "/v1/extract?fields=total",
        "r.png",
        [png.clone(), b"down".to_vec()].concat(),
        None,
    );
    assert_eq!((st, v["code"].as_str()), (503, Some("backend_unavailable")));
    // Up again on the same port: health and extraction recover without a restart.
    let _mock = common::spawn_and_wait(
        std::process::Command::new(
            std::path::Path::new(env!("CARGO_BIN_EXE_ocrlty")).with_file_name("mock-vllm"),
        )
        .args(["--port", &port]),
    );
    let h = get_json(&s.base, "/v1/health");
    assert_eq!(h["status"], "ok", "{h}");
    let (st, v) = upload(&s.base, "/v1/extract?fields=total", "r.png", png, None);
    assert_eq!(st, 200, "{v}");
}
