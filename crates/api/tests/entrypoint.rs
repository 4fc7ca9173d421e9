//! `docker/entrypoint.sh` run as a script (no container engine here): SLEEP_ON_START, waiting
//! for a model server that never answers, waiting for mock-vllm then handing over to the API,
//! and two processes under it (mock-vllm standing in for tilt-server): SIGTERM reaches both,
//! and one dying stops the other.

#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{client, root, start_mock};

struct Script {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    _data: tempfile::TempDir,
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.child.id().to_string()])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Script {
    fn log(&self) -> String {
        self.lines.lock().expect("lock").join("\n")
    }

    fn wait_for_line(&self, needle: &str, within: Duration) -> String {
        self.wait_for_lines(&[needle], within)
    }

    /// The first line holding every one of `needles`.
    fn wait_for_lines(&self, needles: &[&str], within: Duration) -> String {
        let needle = needles.join("' and '");
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .expect("lock")
                .iter()
                .find(|l| needles.iter().all(|n| l.contains(n)))
            {
                return l.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no line with '{needle}':\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s.code();
            }
            assert!(
                Instant::now() < deadline,
                "the entrypoint is still running:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill")
            .success();
        assert!(ok);
    }

    /// The API's address from its "listening on" log line (mock-vllm logs one too).
    fn api(&self) -> String {
        let line = self.wait_for_lines(
            &["serve_cmd", "listening on http://"],
            Duration::from_secs(60),
        );
        let rest = line.split("listening on http://").nth(1).expect("addr");
        let addr: String = rest
            .chars()
            .take_while(|c| *c != '"' && !c.is_whitespace())
            .collect();
        format!("http://{addr}")
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port")
}

fn mock_bin() -> PathBuf {
    // start_mock builds it when missing; its path is beside ocrlty.
    drop(start_mock(&[]));
    PathBuf::from(env!("CARGO_BIN_EXE_ocrlty")).with_file_name("mock-vllm")
}

fn entrypoint(env: &[(&str, String)]) -> Script {
    let data = tempfile::tempdir().expect("tmp");
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("docker/entrypoint.sh"))
        .args([
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--threads",
            "1",
        ])
        .env("OCRLTY_BIN", env!("CARGO_BIN_EXE_ocrlty"))
        .env("OCRLTY_DATA_DIR", data.path())
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("bash runs the entrypoint");
    let stderr = child.stderr.take().expect("stderr");
    let lines = Arc::new(Mutex::new(Vec::new()));
    let l2 = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            l2.lock().expect("lock").push(line);
        }
    });
    Script {
        child,
        lines,
        _data: data,
    }
}

fn ready(base: &str) -> bool {
    client()
        .get(format!("{base}/readyz"))
        .send()
        .is_ok_and(|r| r.status() == 200)
}

fn wait_ready(base: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready(base) {
        assert!(Instant::now() < deadline, "{base} never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
}

#[test]
fn sleep_on_start_sleeps() {
    let mut s = entrypoint(&[("SLEEP_ON_START", "1".into())]);
    s.wait_for_line("SLEEP_ON_START=1", Duration::from_secs(10));
    std::thread::sleep(Duration::from_secs(1));
    assert!(s.child.try_wait().expect("try_wait").is_none(), "it sleeps");
    assert!(!s.log().contains("listening on"), "nothing started");
}

#[test]
fn a_model_server_that_never_answers_is_given_up_with_a_message() {
    let port = free_port();
    let mut s = entrypoint(&[
        ("VLLM_BASE_URL", format!("http://127.0.0.1:{port}/v1")),
        ("MODEL_SERVER_TIMEOUT_S", "2".into()),
    ]);
    let code = s.wait_exit(Duration::from_secs(30));
    assert_eq!(code, Some(1), "{}", s.log());
    assert!(s.log().contains("did not answer within 2s"), "{}", s.log());
    assert!(!s.log().contains("listening on"), "the API never started");
}

#[test]
fn waits_for_the_model_server_then_becomes_the_api() {
    let mock = start_mock(&[]);
    let mut s = entrypoint(&[
        ("VLLM_BASE_URL", format!("{}/v1", mock.base)),
        ("KIE_BACKEND", "openai".into()),
    ]);
    s.wait_for_line("the model server is ready", Duration::from_secs(30));
    let api = s.api();
    wait_ready(&api);
    // exec: the entrypoint's pid is the API's, so SIGTERM is its graceful shutdown.
    s.signal("-TERM");
    assert_eq!(s.wait_exit(Duration::from_secs(60)), Some(0), "{}", s.log());
}

/// The entrypoint with a model server inside (mock-vllm as tilt-server), once the API is
/// ready: the script, the model server's port, the API's address.
fn with_model_server() -> (Script, u16, String) {
    let port = free_port();
    let s = entrypoint(&[
        ("TILT_MODEL", "/models/tilt".into()),
        ("TILT_SERVER_BIN", mock_bin().display().to_string()),
        ("TILT_PORT", port.to_string()),
    ]);
    let api = s.api();
    wait_ready(&api);
    (s, port, api)
}

#[test]
fn sigterm_reaches_both_processes() {
    let (mut s, port, api) = with_model_server();
    assert!(port_open(port), "the model server runs");
    // With no KIE_BACKEND given, the API extracts through the model server it started.
    let health = client()
        .get(format!("{api}/v1/health"))
        .send()
        .and_then(|r| r.text())
        .expect("health");
    let health: serde_json::Value = serde_json::from_str(&health).expect("json");
    let default = health["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["default"] == true))
        .unwrap_or_else(|| panic!("no default backend: {health}"));
    assert_eq!(default["name"], "openai", "{health}");
    assert_eq!(default["reachable"], true, "{health}");
    s.signal("-TERM");
    assert_eq!(
        s.wait_exit(Duration::from_secs(60)),
        Some(143),
        "{}",
        s.log()
    );
    assert!(!port_open(port), "the model server stopped");
    assert!(!ready(&api), "the API stopped");
    assert!(
        s.log().contains("shutting down"),
        "the API shut down gracefully:\n{}",
        s.log()
    );
}

#[test]
fn one_process_dying_stops_the_container() {
    let (mut s, port, api) = with_model_server();
    assert!(port_open(port), "the model server runs");
    let killed = Command::new("pkill")
        .args(["-KILL", "-P", &s.child.id().to_string(), "-f", "mock-vllm"])
        .status()
        .expect("pkill")
        .success();
    assert!(killed, "the model server was found under the entrypoint");
    let code = s.wait_exit(Duration::from_secs(60));
    assert_ne!(code, Some(0), "{}", s.log());
    assert!(s.log().contains("a process exited"), "{}", s.log());
    assert!(!ready(&api), "the API was stopped with it");
}
