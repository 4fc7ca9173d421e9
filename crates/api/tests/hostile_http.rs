//! Hostile HTTP through the router: broken multipart, missing and duplicate fields, odd
//! filenames, request ids that are not sane. Each gets its problem, or is read safely; none a
//! 500.

mod common;
mod oneshot;

use axum::body::Body;
use axum::http::{HeaderValue, Request};
use ocrlty::server::AppState;
use oneshot::{BOUNDARY, assert_problem, multipart, post, sample, send};

fn ready() -> AppState {
    ready_with(&[])
}

fn ready_with(flags: &[&str]) -> AppState {
    oneshot::ready_default(flags)
}

fn get(uri: &str, key: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri);
    if let Some(k) = key {
        r = r.header("authorization", format!("Bearer {k}"));
    }
    r.body(Body::empty()).expect("request")
}

fn raw(body: &[u8], content_type: &str) -> Request<Body> {
    Request::post("/v1/extract")
        .header("content-type", content_type)
        .body(Body::from(body.to_vec()))
        .expect("request")
}

/// A multipart part with a filename given as raw bytes (not necessarily UTF-8).
fn part_with_raw_filename(filename: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut body =
        format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
            .into_bytes();
    body.extend_from_slice(filename);
    body.extend_from_slice(b"\"\r\nContent-Type: application/octet-stream\r\n\r\n");
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn broken_multipart_and_missing_or_duplicate_files_are_400s() {
    let st = ready();
    let png = sample("receipt-kedai-runcit.png");
    let ct = format!("multipart/form-data; boundary={BOUNDARY}");
    let mut truncated = multipart(&[("file", Some("r.png"), &png)]);
    truncated.truncate(truncated.len() / 2);
    let cases: Vec<(&str, Request<Body>)> = vec![
        ("no boundary", raw(&png, "multipart/form-data")),
        ("garbage body", raw(b"\x00\x01not multipart at all", &ct)),
        ("cut off mid-part", raw(&truncated, &ct)),
        (
            "no parts",
            raw(format!("--{BOUNDARY}--\r\n").as_bytes(), &ct),
        ),
        (
            "an option but no file",
            post("/v1/extract", multipart(&[("country", None, b"MY")])),
        ),
        (
            "two files",
            post(
                "/v1/extract",
                multipart(&[("file", Some("a.png"), &png), ("file", Some("b.png"), &png)]),
            ),
        ),
    ];
    for (what, req) in cases {
        let (s, h, v) = send(&st, req).await;
        assert_eq!(s.as_u16(), 400, "{what}: {v}");
        assert_problem(&h, &v, 400, "malformed_request");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_filenames_are_only_names() {
    let st = ready();
    let png = sample("receipt-kedai-runcit.png");
    let long = vec![b'a'; 10_000];
    let names: Vec<(&str, Vec<u8>)> = vec![
        ("path separators", b"../../etc/passwd".to_vec()),
        ("backslashes", b"..\\..\\windows\\win.ini".to_vec()),
        ("invalid UTF-8", b"receipt-\xff\xfe.png".to_vec()),
        ("10 kB", long),
    ];
    for (what, name) in &names {
        let (s, _, v) = send(
            &st,
            raw(
                &part_with_raw_filename(name, &png),
                &format!("multipart/form-data; boundary={BOUNDARY}"),
            ),
        )
        .await;
        assert_eq!(s.as_u16(), 200, "{what}: {v}");
        assert_eq!(v["data"]["total"], "65.50", "{what}");
    }
    // A NUL makes the part's header line invalid (RFC 9110 forbids it): the body is refused.
    let with_nul = multipart(&[("files[]", Some("a\u{0}b.png"), &png)]);
    let (s, h, v) = send(&st, post("/v1/extract-batch", with_nul)).await;
    assert_problem(&h, &v, 400, "malformed_request");
    assert_eq!(s.as_u16(), 400);
    // In a batch the name comes back as a label: its last path component, at most 255
    // characters.
    let (_, _, v) = send(
        &st,
        post(
            "/v1/extract-batch",
            multipart(&[("files[]", Some("../../etc/passwd"), &png)]),
        ),
    )
    .await;
    assert_eq!(v["items"][0]["filename"], "passwd", "{v}");
    let (s, _, v) = send(
        &st,
        post(
            "/v1/extract-batch",
            multipart(&[("files[]", Some(&"x".repeat(1_000)), &png)]),
        ),
    )
    .await;
    assert_eq!(s.as_u16(), 200, "{v}");
    let echoed = v["items"][0]["filename"].as_str().unwrap_or_default();
    assert!(echoed.chars().count() <= 255, "{} characters", echoed.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_id_that_is_not_sane_is_replaced() {
    let st = ready();
    let mut req = post(
        "/v1/extract",
        multipart(&[("file", Some("x.txt"), b"plain text")]),
    );
    req.headers_mut().insert(
        "x-request-id",
        HeaderValue::from_bytes(b"abc\xffdef\tghi").expect("obs-text is a legal header value"),
    );
    let (s, h, v) = send(&st, req).await;
    assert_eq!(s.as_u16(), 415, "{v}");
    let id = h["x-request-id"].to_str().expect("a visible ASCII id");
    assert_ne!(id, "abc\u{ff}def\tghi");
    assert_eq!(v["request_id"], id);
}

#[tokio::test(flavor = "multi_thread")]
async fn operational_routes_need_a_key_unless_public_paths_opens_them() {
    let st = ready_with(&["--api-keys", "k-123", "--public-paths", "/v1/health"]);
    for uri in ["/metrics", "/version", "/openapi.json", "/docs/"] {
        let (s, h, v) = send(&st, get(uri, None)).await;
        assert_eq!(s.as_u16(), 401, "{uri}: {v}");
        assert_problem(&h, &v, 401, "unauthorized");
        let (s, _, _) = send(&st, get(uri, Some("k-123"))).await;
        assert_eq!(s.as_u16(), 200, "{uri} with the key");
    }
    for uri in ["/v1/health", "/livez", "/readyz", "/ping"] {
        let (s, _, v) = send(&st, get(uri, None)).await;
        assert_eq!(s.as_u16(), 200, "{uri}: {v}");
    }
    // A wrong key is refused without being repeated.
    let (s, _, v) = send(&st, get("/metrics", Some("hunter2-guess"))).await;
    assert_eq!(s.as_u16(), 401);
    assert!(!v.to_string().contains("hunter2"), "{v}");
    // By default they stay open (what /metrics and /docs show holds no secret).
    let open = ready_with(&["--api-keys", "k-123"]);
    for uri in ["/metrics", "/version", "/openapi.json", "/v1/health"] {
        let (s, _, _) = send(&open, get(uri, None)).await;
        assert_eq!(s.as_u16(), 200, "{uri}");
    }
}

#[test]
fn a_route_public_paths_does_not_know_is_refused_at_start() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args(["serve", "--public-paths", "/v1/extract"])
        .output()
        .expect("ocrlty runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an operational route"), "{err}");
}

#[test]
fn api_keys_are_never_logged_nor_answered() {
    let server = common::start(
        &["--api-keys", "sekret-key-1,sekret-key-2"],
        &[("RUST_LOG", "debug"), ("LOG_FORMAT", "json")],
    );
    common::wait_ready(&server);
    let c = common::client();
    for key in ["sekret-key-1", "hunter2-guess"] {
        let r = c
            .post(format!("{}/v1/extract", server.base))
            .header("authorization", format!("Bearer {key}"))
            .multipart(reqwest::blocking::multipart::Form::new().part(
                "file",
                reqwest::blocking::multipart::Part::bytes(b"text".to_vec()).file_name("t.txt"),
            ))
            .send()
            .expect("answers");
        let status = r.status().as_u16();
        let body = r.text().expect("body");
        assert!(status == 401 || status == 415, "{key}: {status} {body}");
        assert!(!body.contains(key), "{key} in the body: {body}");
    }
    for path in ["/version", "/v1/health", "/metrics"] {
        let body = common::get_text(&server.base, path);
        assert!(!body.contains("sekret"), "{path}: {body}");
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let logged: Vec<String> = server.log.try_iter().collect();
    assert!(!logged.is_empty(), "the server logs");
    for line in &logged {
        assert!(
            !line.contains("sekret-key") && !line.contains("hunter2"),
            "a key in the log: {line}"
        );
    }
}

#[test]
fn idle_and_trickling_connections_are_closed_and_do_not_starve_the_server() {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    let server = common::start(
        &["--max-connections", "16", "--header-read-timeout", "1"],
        &[],
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    // Four times the limit in idle connections, and a few that trickle a request's head.
    let idle: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(&addr).expect("connects (the backlog takes it)"))
        .collect();
    let trickling: Vec<TcpStream> = (0..8)
        .map(|_| {
            let mut s = TcpStream::connect(&addr).expect("connects");
            s.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
                .expect("writes");
            s
        })
        .collect();
    // A real client gets through: the idle ones are closed as their header time runs out.
    let t = Instant::now();
    let c = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let r = c
        .get(format!("{}/livez", server.base))
        .send()
        .expect("answered");
    assert_eq!(r.status().as_u16(), 200);
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
    // Every one of them was closed by the server (end of file, or a reset).
    for (i, mut s) in idle.into_iter().chain(trickling).enumerate() {
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut buf = [0u8; 512];
        match s.read(&mut buf) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                panic!("connection {i} is still open after 20 s")
            }
            Ok(0) | Err(_) => {}
            // A 408 before closing is fine too; then the end.
            Ok(n) => {
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                assert!(head.starts_with("HTTP/1.1 408"), "connection {i}: {head}");
            }
        }
    }
}

/// A connection that has sent the head of an upload promising 100 000 bytes, up to the start
/// of the file's bytes.
fn upload_head(server: &common::Server) -> std::net::TcpStream {
    use std::io::Write;
    let addr = server.base.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).expect("connects");
    let head = format!(
        "POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; \
         boundary={BOUNDARY}\r\nContent-Length: 100000\r\n\r\n--{BOUNDARY}\r\n\
         Content-Disposition: form-data; name=\"file\"; filename=\"r.png\"\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("writes the head");
    s
}

#[test]
fn an_upload_that_stalls_gets_a_408_not_a_held_connection() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    let server = common::start(&["--body-read-timeout", "1"], &[]);
    common::wait_ready(&server);
    let mut s = upload_head(&server);
    s.write_all(b"PNG header then nothing").expect("writes");
    // Then nothing: the rest of the 100000 bytes never comes.
    let t = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buf = vec![0u8; 4096];
    let n = s.read(&mut buf).expect("an answer, not a held connection");
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
}

#[test]
fn an_upload_that_trickles_without_pausing_ends_at_the_request_timeout() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};

    let server = common::start(&["--body-read-timeout", "2", "--request-timeout", "3"], &[]);
    common::wait_ready(&server);
    let mut s = upload_head(&server);
    // A byte every 300 ms: never a pause of BODY_READ_TIMEOUT_S, never the whole body.
    let mut reader = s.try_clone().expect("clone");
    let t = Instant::now();
    let trickle = std::thread::spawn(move || {
        while t.elapsed() < Duration::from_secs(20) && s.write_all(b"x").is_ok() {
            std::thread::sleep(Duration::from_millis(300));
        }
    });
    reader
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut buf = vec![0u8; 4096];
    let n = reader
        .read(&mut buf)
        .expect("an answer, not a held connection");
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    let took = t.elapsed();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("REQUEST_TIMEOUT_S"), "{answer}");
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "{took:?}"
    );
    drop(reader);
    let _ = trickle.join();
}

/// A kB figure of `/proc/PID/status` (VmRSS: now, VmHWM: the peak so far).
fn proc_kb(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches(" kB").parse().ok())
        .expect("the field is there")
}

/// Streams a multipart upload of `total` bytes (chunked, or with its Content-Length) until the
/// server stops taking it. Returns what the server answered and how many bytes it took.
fn stream_upload(addr: &str, total: u64, chunked: bool) -> (String, u64) {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    let mut s = TcpStream::connect(addr).expect("connects");
    s.set_write_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .expect("timeout");
    let preamble = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.png\"\r\n\
         Content-Type: image/png\r\n\r\n\x7fPNG"
    );
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_string()
    } else {
        format!("Content-Length: {}", preamble.len() as u64 + total)
    };
    let head = format!(
        "POST /v1/extract HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; \
         boundary={BOUNDARY}\r\n{framing}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).expect("writes the head");
    // The answer is read while the body still goes out: a server that answers early and
    // closes must not lose its answer to the reset the unread rest causes.
    let mut reader = s.try_clone().expect("clone");
    let answer = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        while let Ok(n) = reader.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        String::from_utf8_lossy(&buf).to_string()
    });
    let block = vec![b'x'; 256 * 1024];
    let send = |s: &mut TcpStream, bytes: &[u8]| -> bool {
        let framed = if chunked {
            [format!("{:x}\r\n", bytes.len()).as_bytes(), bytes, b"\r\n"].concat()
        } else {
            bytes.to_vec()
        };
        s.write_all(&framed).is_ok()
    };
    let mut sent = 0u64;
    let mut going = send(&mut s, preamble.as_bytes());
    while going && sent < total {
        going = send(&mut s, &block);
        if going {
            sent += block.len() as u64;
        }
    }
    if going && chunked {
        let _ = s.write_all(b"0\r\n\r\n");
    }
    (answer.join().expect("reader"), sent)
}

#[test]
fn streamed_200_mb_uploads_are_refused_early_and_memory_stays_flat() {
    const TOTAL: u64 = 200 << 20;
    let server = common::start(&["--max-upload-mb", "5"], &[]);
    common::wait_ready(&server);
    let pid = server.child.id();
    let addr = server.base.trim_start_matches("http://").to_string();
    let before = proc_kb(pid, "VmRSS:");
    // Four at once, two chunked and two declaring their 200 MB.
    let uploads: Vec<_> = (0..4)
        .map(|i| {
            let addr = addr.clone();
            std::thread::spawn(move || stream_upload(&addr, TOTAL, i % 2 == 0))
        })
        .collect();
    for (i, u) in uploads.into_iter().enumerate() {
        let (answer, sent) = u.join().expect("upload thread");
        eprintln!(
            "upload {i}: 413 after {:.1} MB of 200 MB",
            sent as f64 / 1048576.0
        );
        assert!(answer.starts_with("HTTP/1.1 413"), "upload {i}: {answer}");
        assert!(answer.contains("file_too_large"), "upload {i}: {answer}");
        // The limit, the drain and what the sockets buffer: far from 200 MB.
        assert!(sent < 48 << 20, "upload {i}: {} MB taken", sent >> 20);
    }
    let peak = proc_kb(pid, "VmHWM:");
    eprintln!(
        "RSS {} MB before, peak {} MB while 4 x 200 MB were offered",
        before / 1024,
        peak / 1024
    );
    assert!(
        peak.saturating_sub(before) < 96 * 1024,
        "RSS {before} kB before, peak {peak} kB while 800 MB were offered"
    );
    let health = common::client()
        .get(format!("{}/livez", server.base))
        .send()
        .expect("the server still answers");
    assert_eq!(health.status().as_u16(), 200);
}
