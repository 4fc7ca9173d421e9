//! `ocrlty ocr` as a user runs it: one JSON line per file, bad files reported and skipped.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_bad_file_prints_an_error_line_and_the_others_go_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().join("empty.png");
    std::fs::write(&empty, b"").expect("write");
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, b"this is text, not a JPEG").expect("write");
    let missing = dir.path().join("missing.png");
    let sample = root().join("samples/receipt-kedai-runcit.png");

    let out = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args(["ocr", "--ocr-model", "v4", "--threads", "2"])
        .args([&empty, &sample, &text, &missing])
        .output()
        .expect("ocrlty runs");
    assert_eq!(
        out.status.code(),
        Some(1),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 4, "{lines:#?}");

    assert_eq!(lines[0]["error"]["code"], "empty_input");
    assert_eq!(lines[2]["error"]["code"], "unsupported_format");
    assert!(
        lines[2]["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("text"),
        "{}",
        lines[2]
    );
    assert_eq!(lines[3]["error"]["code"], "unreadable_file");

    let page = &lines[1]["pages"][0];
    assert_eq!(lines[1]["model"], "ppocr-v4");
    let texts: Vec<&str> = page["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .filter_map(|l| l["text"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("65.50")), "{texts:?}");
    assert_eq!(page["source"], "ocr");
    assert!(
        page["words"][0]["bbox"]
            .as_array()
            .is_some_and(|b| b.len() == 4)
    );
    assert!(
        page["lines"][0]["words"][0].as_u64().is_some(),
        "lines refer to words by index"
    );
}

#[test]
fn an_unknown_model_is_a_usage_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args(["ocr", "--ocr-model", "v9", "x.png"])
        .output()
        .expect("ocrlty runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown OCR model 'v9'"));
}
