//! Helpers for tests that drive the router through tower's `oneshot`: server state from
//! flags, multipart bodies, requests, and problem+json checks.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use ocrlty::config::ServeArgs;
use ocrlty::server::{AppState, ServerSettings, router};
use serde_json::Value;
use tower::ServiceExt;

#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    serve: ServeArgs,
}

pub fn state(flags: &[&str]) -> AppState {
    AppState::new(settings(flags))
}

/// The state of `ocrlty serve FLAGS...` with the default pipeline (the real engine and the
/// layout backend) loaded once per test binary.
pub fn ready_default(flags: &[&str]) -> AppState {
    static P: std::sync::OnceLock<std::sync::Arc<ocrlty::pipeline::Pipeline>> =
        std::sync::OnceLock::new();
    let p = P
        .get_or_init(|| {
            std::sync::Arc::new(
                ocrlty::pipeline::Pipeline::builder()
                    .build()
                    .expect("pipeline (run scripts/setup)"),
            )
        })
        .clone();
    let s = state(flags);
    s.set_pipeline(p);
    s
}

/// The server settings of `ocrlty serve FLAGS...`.
pub fn settings(flags: &[&str]) -> ServerSettings {
    let args = Args::parse_from(std::iter::once("serve").chain(flags.iter().copied()));
    let config = args.serve.resolve().expect("valid flags");
    ServerSettings::from_args(&args.serve, config.request)
}

pub fn sample(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(name);
    std::fs::read(p).expect("sample")
}

pub const BOUNDARY: &str = "ocrltyTestBoundary7MA4YWxk";

/// A multipart body: `(name, filename, bytes)` parts.
pub fn multipart(parts: &[(&str, Option<&str>, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, filename, bytes) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

pub fn post(uri: &str, body: Vec<u8>) -> Request<Body> {
    Request::post(uri)
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .expect("request")
}

pub async fn send(
    state: &AppState,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let resp = router(state.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, headers, json)
}

pub fn assert_problem(h: &axum::http::HeaderMap, v: &Value, status: u16, code: &str) {
    assert_eq!(
        h.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/problem+json"),
        "{v}"
    );
    assert_eq!(v["status"], status, "{v}");
    assert_eq!(v["code"], code, "{v}");
    assert!(v["detail"].as_str().is_some_and(|d| !d.is_empty()), "{v}");
    assert!(v["request_id"].is_string(), "{v}");
}

/// A fake engine that reads the sample receipt's text off any image: labels from the left,
/// amounts in a right-aligned column, as the receipt prints them. No ONNX Runtime, no models.
pub fn receipt_reader() -> ocr_core::FakeOcr {
    let rows: [(&str, Option<&str>); 9] = [
        ("KEDAI RUNCIT MAJU JAYA SDN BHD", None),
        ("No. 12, Jalan Bunga Raya 3/2", None),
        ("Date: 14/03/2024 10:42", None),
        ("Sub Total", Some("61.80")),
        ("SST 6%", Some("3.71")),
        ("Rounding", Some("-0.01")),
        ("TOTAL (RM)", Some("65.50")),
        ("Cash", Some("70.00")),
        ("Change", Some("4.50")),
    ];
    let unit = 0.025;
    let lines: Vec<Vec<(String, [f32; 4])>> = rows
        .iter()
        .enumerate()
        .map(|(r, (label, amount))| {
            let (top, bottom) = (0.1 + 0.08 * r as f32, 0.13 + 0.08 * r as f32);
            let mut x = 0.05;
            let mut words: Vec<(String, [f32; 4])> = label
                .split_whitespace()
                .map(|t| {
                    let w = unit * t.chars().count() as f32;
                    let word = (t.to_string(), [x, top, x + w, bottom]);
                    x += w + unit;
                    word
                })
                .collect();
            if let Some(a) = amount {
                let w = unit * a.chars().count() as f32;
                words.push((a.to_string(), [0.9 - w, top, 0.9, bottom]));
            }
            words
        })
        .collect();
    ocr_core::FakeOcr::new(lines)
}
