//! Shared by the integration tests: where the repository, its samples and the eval sets are.

#![allow(dead_code)]

use std::path::PathBuf;

/// The workspace root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The model directory: `OCR_MODEL_DIR` (set by `.deps/env.sh`), else the project's `.deps`.
pub fn model_dir() -> PathBuf {
    std::env::var_os("OCR_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".deps/models"))
}

/// The shared eval sets: `OCRLTY_EVAL_DIR`, else `../shared/eval` beside the checkout.
pub fn eval_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("OCRLTY_EVAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/eval"));
    dir.join("sroie/dev/rapidocr-v4.jsonl")
        .is_file()
        .then_some(dir)
}
