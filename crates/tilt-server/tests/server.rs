//! `tilt-server` over real HTTP with a tiny model directory made by the test (deterministic
//! random weights: the answers are meaningless, everything around them is real).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tilt_infer::TiltConfig;

fn tiny_model(dir: &Path) {
    let cfg = TiltConfig {
        vocab_size: 256,
        ..TiltConfig::tiny()
    };
    tilt_infer::testing::write_random_model(dir, &cfg, 21, 0.05).expect("model written");
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts tilt-server on a free port and waits for its "listening on http://ADDR" line.
fn tilt_server(model: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tilt-server"))
        .args(["--host", "127.0.0.1", "--port", "0", "--tilt-device", "cpu"])
        .env("TILT_MODEL", model)
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("tilt-server starts");
    let stderr = child.stderr.take().expect("stderr");
    let deadline = Instant::now() + Duration::from_secs(60);
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let addr: String = rest
                .chars()
                .take_while(|c| *c != '"' && !c.is_whitespace())
                .collect();
            return Server {
                child,
                base: format!("http://{addr}"),
            };
        }
        if Instant::now() > deadline {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("tilt-server did not say where it listens");
}

fn get_json(base: &str, path: &str) -> Value {
    client()
        .get(format!("{base}{path}"))
        .send()
        .and_then(|r| r.json())
        .expect("a JSON answer")
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

fn post(base: &str, path: &str, body: &Value) -> (u16, Value) {
    let resp = client()
        .post(format!("{base}{path}"))
        .json(body)
        .send()
        .expect("answer");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

fn generate_body(question: &str) -> Value {
    json!({
        "question": question,
        "pages": [{"ocr": {"width": 1000, "height": 1400, "words": [
            {"text": "Total", "bbox": [100, 200, 220, 230]},
            {"text": "56", "bbox": [230, 200, 340, 230]},
            {"text": "VAT", "bbox": [100, 260, 170, 290]},
            {"text": "20%", "bbox": [180, 260, 230, 290]}]}},
            {"ocr": {"width": 1000, "height": 1400, "words": []}}],
        "max_tokens": 8,
        "request_id": "abc"
    })
}

#[test]
fn tilt_server_answers_both_wire_formats_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().expect("tmp");
    tiny_model(dir.path());
    let s = tilt_server(dir.path());

    let (status, v) = post(
        &s.base,
        "/v1/tilt/generate",
        &generate_body("What is the total amount?"),
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], "tiltcmpl-abc");
    assert_eq!(v["object"], "chat.completion");
    let content = v["choices"][0]["message"]["content"]
        .as_str()
        .expect("content")
        .to_string();
    let finish = v["choices"][0]["finish_reason"].as_str().expect("finish");
    assert!(finish == "stop" || finish == "length");
    let completion = v["usage"]["completion_tokens"].as_u64().expect("tokens");
    assert!((1..=8).contains(&completion), "{v}");
    assert!(
        v["raw"]["meta"]["infer_s"]
            .as_f64()
            .is_some_and(|t| t > 0.0)
    );
    let score = v["raw"]["score"].as_f64().expect("score");
    assert!(score > 0.0 && score <= 1.0);

    // The same document and question through chat + input_ocr_document: the same answer.
    let chat = json!({
        "model": "tiny", "temperature": 0.0, "max_tokens": 8, "logprobs": true,
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": "What is the total amount?"}]},
            {"role": "user", "content": [{"type": "input_ocr_document", "document": {"pages": [
                {"width": 1000.0, "height": 1400.0, "spans": [
                    {"bbox": [100.0, 200.0, 220.0, 230.0], "text": "Total"},
                    {"bbox": [230.0, 200.0, 340.0, 230.0], "text": "56"},
                    {"bbox": [100.0, 260.0, 170.0, 290.0], "text": "VAT"},
                    {"bbox": [180.0, 260.0, 230.0, 290.0], "text": "20%"}]}]}}]}
        ]
    });
    let (status, c) = post(&s.base, "/v1/chat/completions", &chat);
    assert_eq!(status, 200, "{c}");
    assert_eq!(c["choices"][0]["message"]["content"], content.as_str());
    let lps = c["choices"][0]["logprobs"]["content"]
        .as_array()
        .expect("logprobs");
    assert_eq!(lps.len() as u64, completion);
    assert!(
        lps.iter()
            .all(|t| t["logprob"].as_f64().is_some_and(|l| l <= 0.0))
    );

    let models = get_json(&s.base, "/v1/models");
    assert_eq!(models["data"][0]["object"], "model");
    let h = get_json(&s.base, "/health");
    assert_eq!(h["status"], "ok");
    assert_eq!(h["dtype"], "float32");
    assert!(h["device"].as_str().is_some_and(|d| d.starts_with("cpu")));
    assert_eq!(get_json(&s.base, "/v1/health")["status"], "ok");
    assert_eq!(
        client()
            .get(format!("{}/ping", s.base))
            .send()
            .expect("ping")
            .status(),
        200
    );

    let cases = [
        (
            json!({"question": "q", "pages": []}),
            400,
            "at least one page",
        ),
        (
            json!({"question": "q", "pages": [{"ocr": {"width": 10, "height": 10, "words": []}}]}),
            400,
            "No valid OCR words",
        ),
        (json!({"pages": []}), 422, "question"),
        (
            {
                let mut b = generate_body("q");
                b["temperature"] = json!(0.7);
                b
            },
            400,
            "greedy",
        ),
        (
            generate_body(&"what ".repeat(60)),
            400,
            "maximum permitted length",
        ),
        (
            {
                let mut b = generate_body("q");
                b["pages"][0]["image_b64"] = json!("!!");
                b
            },
            400,
            "base64",
        ),
        (
            {
                let mut b = generate_body("q");
                b["pages"][0]["image_path"] = json!("/etc/passwd");
                b
            },
            400,
            "image_path",
        ),
    ];
    for (body, want, needle) in cases {
        let (status, v) = post(&s.base, "/v1/tilt/generate", &body);
        assert_eq!(status, want, "{body}: {v}");
        let detail = v["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{detail}");
    }
    let (status, v) = post(
        &s.base,
        "/v1/chat/completions",
        &json!({"messages": [
        {"role": "user", "content": "What is the total?"}]}),
    );
    assert_eq!(status, 400);
    assert!(
        v["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("input_ocr_document"))
    );
}

fn start_fails(model: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tilt-server"))
        .args(["--port", "0", "--tilt-device", "cpu"])
        .env("TILT_MODEL", model)
        .output()
        .expect("runs");
    assert!(!out.status.success());
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn tilt_server_says_what_is_missing_from_the_model_directory() {
    let dir = tempfile::tempdir().expect("tmp");
    let err = start_fails(&dir.path().join("nope"));
    assert!(err.contains("model directory not found"), "{err}");
    let err = start_fails(dir.path());
    assert!(err.contains("tokenizer.json"), "{err}");
    tiny_model(dir.path());
    std::fs::write(dir.path().join("config.json"), r#"{"d_model": 256, "d_ff": 512, "d_kv": 16, "num_hidden_layers": 2, "unet_init_features": 8, "unet_out_features": 16, "chunk_length": 64, "max_question_length": 32, "vocab_size": 256}"#).expect("cfg");
    let err = start_fails(dir.path());
    assert!(
        err.contains("mis-shaped") && err.contains("embedding.weight"),
        "{err}"
    );
}
