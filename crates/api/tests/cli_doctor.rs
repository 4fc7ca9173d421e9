//! `ocrlty doctor`: what is found, and the fix for what is missing.

use std::process::Command;

#[test]
fn doctor_finds_the_pieces_setup_fetched_and_names_the_fix_for_a_missing_one() {
    let out = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .arg("doctor")
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    for piece in ["ONNX Runtime", "pdfium", "PP-OCRv6 models", "GPU"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("ok") && l.contains(piece)),
            "{piece}: {text}"
        );
    }

    let empty = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .arg("doctor")
        .env("OCR_MODEL_DIR", empty.path())
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("MISSING  PP-OCRv6 models"), "{text}");
    assert!(
        text.contains("fix: OCR_MODEL_DIR: run scripts/setup"),
        "{text}"
    );
}
