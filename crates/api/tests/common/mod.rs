//! Helpers shared by the end-to-end tests: real processes on port 0, real multipart uploads.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use reqwest::blocking::{Client, multipart};
use serde_json::Value;

pub struct Server {
    pub child: Child,
    pub base: String,
    pub log: mpsc::Receiver<String>,
    /// The server's data directory (its job store), deleted with it.
    pub data: Option<tempfile::TempDir>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sample(name: &str) -> Vec<u8> {
    std::fs::read(root().join("samples").join(name)).expect("sample")
}

/// Starts the server (its job store in a temp dir) and waits until it listens (not until it
/// is ready).
pub fn start(args: &[&str], env: &[(&str, &str)]) -> Server {
    let data = tempfile::tempdir().expect("data dir");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ocrlty"));
    cmd.args([
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--threads",
        "2",
    ])
    .args(args)
    .env("RUST_LOG", "info")
    .env("LOG_FORMAT", "json")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd.env("OCRLTY_DATA_DIR", data.path());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut server = spawn_and_wait(&mut cmd);
    server.data = Some(data);
    server
}

/// Spawns `cmd` with stderr captured and waits for its "listening on http://ADDR" line.
pub fn spawn_and_wait(cmd: &mut Command) -> Server {
    let mut child = cmd
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) => {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let addr: String = rest
                        .chars()
                        .take_while(|c| *c != '"' && !c.is_whitespace())
                        .collect();
                    return Server {
                        child,
                        base: format!("http://{addr}"),
                        log: rx,
                        data: None,
                    };
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("the server did not say where it listens");
}

pub fn client() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client")
}

pub fn wait_ready(s: &Server) {
    let c = client();
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = c.get(format!("{}/ping", s.base)).send()
            && r.status() == 200
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the server never became ready");
}

pub fn upload(
    base: &str,
    path: &str,
    name: &str,
    bytes: Vec<u8>,
    key: Option<&str>,
) -> (u16, Value) {
    let form = multipart::Form::new().part(
        "file",
        multipart::Part::bytes(bytes).file_name(name.to_string()),
    );
    let mut req = client().post(format!("{base}{path}")).multipart(form);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let resp = req.send().expect("answer");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let v: Value = resp.json().unwrap_or(Value::Null);
    if status >= 400 {
        assert_eq!(ct, "application/problem+json", "{status}: {v}");
    }
    (status, v)
}

/// Starts `mock-vllm` (built beside `ocrlty`; built on demand when this test runs alone).
pub fn start_mock(args: &[&str]) -> Server {
    let bin = Path::new(env!("CARGO_BIN_EXE_ocrlty")).with_file_name("mock-vllm");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let ok = Command::new(cargo)
            .args(["build", "-p", "mock-vllm"])
            .current_dir(root())
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cannot build mock-vllm");
    }
    spawn_and_wait(Command::new(bin).args(["--port", "0"]).args(args))
}

/// `GET base+path` as JSON.
pub fn get_json(base: &str, path: &str) -> Value {
    client()
        .get(format!("{base}{path}"))
        .send()
        .and_then(|r| r.json())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}

/// `GET base+path` as text.
pub fn get_text(base: &str, path: &str) -> String {
    client()
        .get(format!("{base}{path}"))
        .send()
        .and_then(|r| r.text())
        .unwrap_or_else(|e| panic!("GET {path}: {e}"))
}
