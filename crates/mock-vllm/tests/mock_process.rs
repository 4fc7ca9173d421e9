//! `mock-vllm` as a process: the routes in the shapes vLLM uses, and its faults.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

struct Mock {
    child: Child,
    base: String,
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(args: &[&str]) -> Mock {
    let mut child = Command::new(env!("CARGO_BIN_EXE_mock-vllm"))
        .args(["--port", "0"])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("mock-vllm starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut line = String::new();
    BufReader::new(stderr).read_line(&mut line).expect("a line");
    let Some(addr) = line.split("listening on ").nth(1) else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("unexpected first line: {line}");
    };
    let base = addr
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_string();
    Mock { child, base }
}

/// A raw HTTP/1.1 exchange (the mock speaks plain HTTP; no client library needed).
fn http(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    req.push_str(body);
    s.write_all(req.as_bytes()).expect("writes");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A chunked body's payload.
fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    if out.is_empty() {
        body.to_string()
    } else {
        out
    }
}

fn ocr_doc() -> Value {
    json!({"type": "input_ocr_document", "document": {"pages": [{"width": 600.0, "height": 800.0, "spans": [
        {"text": "ACME", "bbox": [40.0, 20.0, 120.0, 44.0]},
        {"text": "FOODS", "bbox": [130.0, 20.0, 230.0, 44.0]},
        {"text": "SDN", "bbox": [240.0, 20.0, 300.0, 44.0]},
        {"text": "BHD", "bbox": [310.0, 20.0, 370.0, 44.0]},
        {"text": "TOTAL", "bbox": [40.0, 400.0, 140.0, 424.0]},
        {"text": "RM", "bbox": [400.0, 400.0, 440.0, 424.0]},
        {"text": "12.50", "bbox": [450.0, 400.0, 530.0, 424.0]}
    ]}]}})
}

#[test]
fn answers_in_vllm_shapes_and_injects_faults() {
    let m = start(&["--model", "test-model"]);
    let (s, b) = http(&m.base, "GET", "/v1/models", &[], "");
    assert_eq!(s, 200);
    let v: Value = serde_json::from_str(&dechunk(&b)).expect("JSON");
    assert_eq!(v["data"][0]["id"], "test-model");

    let chat = json!({"model": "test-model", "logprobs": true, "messages": [
        {"role": "system", "content": [{"type": "text", "text": "What is the total amount?"}]},
        {"role": "user", "content": [ocr_doc()]}]})
    .to_string();
    let (s, b) = http(&m.base, "POST", "/v1/chat/completions", &[], &chat);
    assert_eq!(s, 200, "{b}");
    let v: Value = serde_json::from_str(&dechunk(&b)).expect("JSON");
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["choices"][0]["message"]["content"], "12.50");
    assert_eq!(v["choices"][0]["finish_reason"], "stop");
    assert!(v["choices"][0]["logprobs"]["content"].is_array());

    let generate = json!({"question": "What is the total amount?", "pages": [{"ocr": {"width": 600, "height": 800,
        "words": [{"text": "TOTAL", "bbox": [40, 400, 140, 424]}, {"text": "9.90", "bbox": [450, 400, 530, 424]}]}}]})
    .to_string();
    let (s, b) = http(&m.base, "POST", "/v1/tilt/generate", &[], &generate);
    assert_eq!(s, 200, "{b}");
    let v: Value = serde_json::from_str(&dechunk(&b)).expect("JSON");
    assert_eq!(v["choices"][0]["message"]["content"], "9.90");
    let (s, b) = http(
        &m.base,
        "POST",
        "/v1/tilt/generate",
        &[],
        r#"{"question": "q", "pages": []}"#,
    );
    assert_eq!(s, 400);
    assert!(
        dechunk(&b).contains("\"detail\":\"Request must contain at least one page.\""),
        "{b}"
    );

    // Per-request faults.
    let (s, b) = http(
        &m.base,
        "POST",
        "/v1/chat/completions",
        &[("x-mock-status", "503"), ("x-mock-envelope", "vllm")],
        &chat,
    );
    assert_eq!(s, 503);
    assert!(dechunk(&b).contains("\"object\":\"error\""), "{b}");
    let (s, b) = http(
        &m.base,
        "POST",
        "/v1/chat/completions",
        &[("x-mock-malformed", "1")],
        &chat,
    );
    assert_eq!(s, 200);
    assert!(serde_json::from_str::<Value>(&dechunk(&b)).is_err(), "{b}");

    // Run-time faults: every second request fails.
    let (s, _) = http(
        &m.base,
        "POST",
        "/mock/faults",
        &[],
        r#"{"error_rate": 0.5, "error_status": 502}"#,
    );
    assert_eq!(s, 200);
    let statuses: Vec<u16> = (0..4)
        .map(|_| http(&m.base, "POST", "/v1/chat/completions", &[], &chat).0)
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 502).count(),
        2,
        "{statuses:?}"
    );
    let (_, b) = http(&m.base, "GET", "/mock/stats", &[], "");
    let v: Value = serde_json::from_str(&dechunk(&b)).expect("JSON");
    assert!(v["model_requests"].as_u64().is_some_and(|n| n >= 9), "{v}");
}
