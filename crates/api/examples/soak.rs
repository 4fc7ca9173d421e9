//! The load client of `scripts/soak`: `--clients` clients POST one document to
//! `/v1/extract` over and over for `--seconds`, and every answer is checked — its status among
//! `--allow`, a 200 a JSON answer with `data` and `meta.request_id`, anything else a
//! problem+json body whose `status` is the HTTP status and which has a `code`. A client told
//! 429 waits its `Retry-After`, as the API asks (`--ignore-retry-after`: it sends again at once).
//!
//! ```text
//! cargo run --release --example soak -- --url http://127.0.0.1:8000 --file samples/x.png \
//!     --clients 200 --seconds 60 [--fresh]
//! ```
//!
//! Prints one JSON line (requests, rate, count by status, malformed bodies, transport errors,
//! p50/p99/max latency overall and of the 200s) and exits 1 when a status was not allowed, a
//! body was malformed or a request failed below HTTP.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Parser;
use serde_json::{Value, json};

#[derive(Debug, Parser)]
struct Args {
    /// The server (`http://HOST:PORT`).
    #[arg(long)]
    url: String,
    /// The document every request sends.
    #[arg(long)]
    file: PathBuf,
    #[arg(long, default_value_t = 200)]
    clients: usize,
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// `Cache-Control: no-cache` on every request: the full pipeline, never the cache.
    #[arg(long)]
    fresh: bool,
    /// The statuses that may come back.
    #[arg(long, value_delimiter = ',', default_value = "200,429,504")]
    allow: Vec<u16>,
    /// Send again at once after a 429 instead of waiting its `Retry-After`, as a client that
    /// ignores it would.
    #[arg(long)]
    ignore_retry_after: bool,
    /// A client gives up on one request after this long (a transport error).
    #[arg(long, default_value_t = 300.0)]
    timeout_s: f64,
}

#[derive(Debug, Default)]
struct Tally {
    statuses: BTreeMap<u16, u64>,
    malformed: u64,
    transport: u64,
    latency_ms: Vec<f64>,
    ok_latency_ms: Vec<f64>,
    first_malformed: Option<String>,
    first_transport: Option<String>,
}

impl Tally {
    fn merge(&mut self, o: Tally) {
        for (s, n) in o.statuses {
            *self.statuses.entry(s).or_default() += n;
        }
        self.malformed += o.malformed;
        self.transport += o.transport;
        self.latency_ms.extend(o.latency_ms);
        self.ok_latency_ms.extend(o.ok_latency_ms);
        self.first_malformed = self.first_malformed.take().or(o.first_malformed);
        self.first_transport = self.first_transport.take().or(o.first_transport);
    }
}

/// Why a body is not what its status promises.
fn check(status: u16, content_type: &str, body: &[u8]) -> Result<(), String> {
    let v: Value = serde_json::from_slice(body).map_err(|e| format!("{status}: not JSON: {e}"))?;
    if status == 200 {
        if !v.get("data").is_some_and(Value::is_object) {
            return Err("200 without a data object".into());
        }
        if v.pointer("/meta/request_id")
            .and_then(Value::as_str)
            .is_none()
        {
            return Err("200 without meta.request_id".into());
        }
        return Ok(());
    }
    if content_type != "application/problem+json" {
        return Err(format!("{status} as {content_type:?}, not problem+json"));
    }
    if v.get("status").and_then(Value::as_u64) != Some(u64::from(status)) {
        return Err(format!(
            "{status} whose problem says status {}",
            v["status"]
        ));
    }
    if v.get("code").and_then(Value::as_str).is_none() {
        return Err(format!("{status} whose problem has no code"));
    }
    Ok(())
}

async fn one_client(
    client: reqwest::Client,
    url: String,
    body: Bytes,
    content_type: String,
    fresh: bool,
    wait_when_told: bool,
    until: Instant,
) -> Tally {
    let mut t = Tally::default();
    while Instant::now() < until {
        let started = Instant::now();
        let mut req = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, &content_type)
            .body(body.clone());
        if fresh {
            req = req.header(reqwest::header::CACHE_CONTROL, "no-cache");
        }
        let answer = match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                let header = |name| {
                    r.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string()
                };
                let ct = header(reqwest::header::CONTENT_TYPE);
                let retry_after = header(reqwest::header::RETRY_AFTER).parse::<u64>().ok();
                r.bytes().await.map(|b| (status, ct, retry_after, b))
            }
            Err(e) => Err(e),
        };
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match answer {
            Ok((status, ct, retry_after, b)) => {
                *t.statuses.entry(status).or_default() += 1;
                t.latency_ms.push(ms);
                if status == 200 {
                    t.ok_latency_ms.push(ms);
                }
                if let Err(why) = check(status, &ct, &b) {
                    t.malformed += 1;
                    t.first_malformed.get_or_insert(why);
                }
                if let Some(secs) = retry_after.filter(|_| wait_when_told && status == 429) {
                    let wake = (Instant::now() + Duration::from_secs(secs)).min(until);
                    tokio::time::sleep_until(wake.into()).await;
                }
            }
            Err(e) => {
                t.transport += 1;
                t.first_transport.get_or_insert(format!("{e:#}"));
                // A refused connection would otherwise spin.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
    t
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() as f64 - 1.0) * p / 100.0).round() as usize;
    Some((sorted[i.min(sorted.len() - 1)] * 100.0).round() / 100.0)
}

fn multipart(doc: &[u8]) -> (Bytes, String) {
    const BOUNDARY: &str = "ocrltySoakBoundary";
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"doc\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(doc);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    (
        Bytes::from(body),
        format!("multipart/form-data; boundary={BOUNDARY}"),
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let doc = std::fs::read(&args.file).with_context(|| format!("reading {:?}", args.file))?;
    let (body, content_type) = multipart(&doc);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.clients)
        .timeout(Duration::from_secs_f64(args.timeout_s))
        .build()?;
    let url = format!("{}/v1/extract", args.url.trim_end_matches('/'));
    let started = Instant::now();
    let until = started + Duration::from_secs_f64(args.seconds);
    let tasks: Vec<_> = (0..args.clients)
        .map(|_| {
            tokio::spawn(one_client(
                client.clone(),
                url.clone(),
                body.clone(),
                content_type.clone(),
                args.fresh,
                !args.ignore_retry_after,
                until,
            ))
        })
        .collect();
    let mut all = Tally::default();
    for t in tasks {
        all.merge(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.latency_ms.sort_by(f64::total_cmp);
    all.ok_latency_ms.sort_by(f64::total_cmp);
    let requests: u64 = all.statuses.values().sum();
    let disallowed: u64 = all
        .statuses
        .iter()
        .filter(|(s, _)| !args.allow.contains(s))
        .map(|(_, n)| n)
        .sum();
    let report = json!({
        "clients": args.clients,
        "seconds": (elapsed * 10.0).round() / 10.0,
        "fresh": args.fresh,
        "retry_after_honoured": !args.ignore_retry_after,
        "requests": requests,
        "rps": (requests as f64 / elapsed * 10.0).round() / 10.0,
        "status": all.statuses.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
        "disallowed": disallowed,
        "malformed": all.malformed,
        "transport_errors": all.transport,
        "p50_ms": percentile(&all.latency_ms, 50.0),
        "p99_ms": percentile(&all.latency_ms, 99.0),
        "max_ms": all.latency_ms.last().copied(),
        "ok_p50_ms": percentile(&all.ok_latency_ms, 50.0),
        "ok_p99_ms": percentile(&all.ok_latency_ms, 99.0),
        "first_malformed": all.first_malformed,
        "first_transport_error": all.first_transport,
    });
    println!("{report}");
    if disallowed > 0 || all.malformed > 0 || all.transport > 0 {
        std::process::exit(1);
    }
    Ok(())
}
