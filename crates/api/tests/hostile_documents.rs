//! The hostile-document corpus (`hostile/mod.rs`) through `POST /v1/extract`,
//! `POST /v1/extract-batch` and `ocrlty extract`, with the real pipeline: each document gets its
//! own 4xx code (never a 500, a crash or a hang), and the next good document is read as usual.

mod hostile;
mod oneshot;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hostile::{allowed, corpus};
use ocrlty::server::AppState;
use oneshot::{assert_problem, multipart, post, sample, send};

/// Far above what any of them takes (the slowest, a repaired PDF's blank page, is OCR'd).
const NO_HANG: Duration = Duration::from_secs(120);

fn ready() -> AppState {
    oneshot::ready_default(&[])
}

async fn the_receipt_still_reads(st: &AppState) {
    let png = sample("receipt-kedai-runcit.png");
    let (status, _, v) = send(
        st,
        post("/v1/extract", multipart(&[("file", Some("r.png"), &png)])),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["total"], "65.50");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_hostile_document_gets_its_own_4xx_and_the_server_goes_on() {
    let st = ready();
    for h in corpus() {
        let t = Instant::now();
        let req = post(
            "/v1/extract",
            multipart(&[("file", Some(h.name), &h.bytes)]),
        );
        let (status, headers, v) = tokio::time::timeout(NO_HANG, send(&st, req))
            .await
            .unwrap_or_else(|_| panic!("{}: no answer within {NO_HANG:?}", h.name));
        let code = v["code"].as_str().unwrap_or_default();
        assert!(
            allowed(&h, status.as_u16(), code),
            "{}: {status} {v}",
            h.name
        );
        if status != 200 {
            assert_problem(&headers, &v, status.as_u16(), code);
        }
        eprintln!("{:24} {status} {code:24} {:?}", h.name, t.elapsed());
    }
    the_receipt_still_reads(&st).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_of_them_answers_each_and_reads_the_good_file() {
    let st = ready();
    let docs = corpus();
    let png = sample("receipt-kedai-runcit.png");
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = docs
        .iter()
        .map(|h| ("files[]", Some(h.name), h.bytes.as_slice()))
        .collect();
    parts.push(("files[]", Some("good.png"), &png));
    let (status, _, v) = tokio::time::timeout(
        NO_HANG * 2,
        send(&st, post("/v1/extract-batch", multipart(&parts))),
    )
    .await
    .expect("the batch answers");
    assert_eq!(status, 200, "{v}");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), docs.len() + 1);
    for (h, item) in docs.iter().zip(items) {
        assert_eq!(item["filename"], h.name);
        let status = item["status"].as_u64().unwrap_or_default() as u16;
        let code = item["error"]["code"].as_str().unwrap_or_default();
        assert!(allowed(h, status, code), "{}: {item}", h.name);
    }
    let good = &items[docs.len()];
    assert_eq!(good["status"], 200, "{good}");
    assert_eq!(good["result"]["data"]["total"], "65.50");
}

#[test]
fn the_cli_answers_each_with_its_code_and_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs = corpus();
    for h in &docs {
        std::fs::write(dir.path().join(h.name), &h.bytes).expect("write");
    }
    let good = dir.path().join("zz-good.png");
    std::fs::write(&good, sample("receipt-kedai-runcit.png")).expect("write");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args(["extract", "--threads", "2"])
        .args(docs.iter().map(|h| dir.path().join(h.name)))
        .arg(&good)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ocrlty runs");
    let deadline = Instant::now() + NO_HANG * 2;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ocrlty extract did not finish within {:?}", NO_HANG * 2);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().expect("stdout"), &mut out)
        .expect("stdout");
    assert_eq!(status.code(), Some(1), "some files failed, none crashed");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), docs.len() + 1, "{out}");
    for (h, line) in docs.iter().zip(&lines) {
        assert!(
            line["file"].as_str().is_some_and(|f| f.ends_with(h.name)),
            "{line}"
        );
        let ok = line.get("data").is_some();
        let code = line["error"]["code"].as_str().unwrap_or_default();
        let fits = h
            .allowed
            .iter()
            .any(|(s, c)| (*s == 200 && ok) || (*s != 200 && *c == code));
        assert!(fits, "{}: {line}", h.name);
    }
    assert_eq!(lines[docs.len()]["data"]["total"], "65.50");
}

/// The corpus as files, one per document under its own name — the seeds of `scripts/fuzz`
/// (into `OCRLTY_HOSTILE_DIR`; a temporary folder otherwise).
#[test]
fn the_corpus_writes_out_as_files() {
    let tmp = tempfile::tempdir().expect("temporary folder");
    let dir = std::env::var_os("OCRLTY_HOSTILE_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir).expect("corpus folder");
    let docs = corpus();
    for h in &docs {
        std::fs::write(dir.join(h.name), &h.bytes).expect("write a corpus file");
    }
    for h in &docs {
        let back = std::fs::read(dir.join(h.name)).expect("read it back");
        assert_eq!(back, h.bytes, "{}: two documents share a name", h.name);
    }
}
