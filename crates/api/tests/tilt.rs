//! The in-process `tilt` backend (the `tilt` feature) and the `openai` backend against
//! `tilt-server`, over real HTTP, with a tiny model directory made by the test (deterministic
//! random weights: the answers are meaningless, everything around them is real).
#![cfg(feature = "tilt")]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn tiny_model(dir: &Path) {
    let cfg = kie_tilt::testing::TiltConfig {
        vocab_size: 256,
        ..kie_tilt::testing::TiltConfig::tiny()
    };
    kie_tilt::testing::write_random_model(dir, &cfg, 21, 0.05).expect("model written");
}

/// The `tilt-server` binary of this build (cargo builds it for the tilt-server crate's own
/// tests; `cargo build -p tilt-server` otherwise).
fn tilt_server_bin() -> PathBuf {
    let ocrlty = PathBuf::from(env!("CARGO_BIN_EXE_ocrlty"));
    let bin = ocrlty.with_file_name("tilt-server");
    assert!(
        bin.is_file(),
        "{} is missing: build it first (cargo build -p tilt-server)",
        bin.display()
    );
    bin
}

fn tilt_server(model: &Path) -> Server {
    let mut cmd = Command::new(tilt_server_bin());
    cmd.args(["--host", "127.0.0.1", "--port", "0", "--tilt-device", "cpu"])
        .env("TILT_MODEL", model)
        .env("RUST_LOG", "info");
    spawn_and_wait(&mut cmd)
}

#[test]
fn the_tilt_backend_runs_in_process_and_through_tilt_server() {
    let dir = tempfile::tempdir().expect("tmp");
    let model = dir.path().join("tiny-tilt");
    tiny_model(&model);
    let model_str = model.to_string_lossy().into_owned();

    let api = start(
        &[],
        &[("TILT_MODEL", model_str.as_str()), ("TILT_DEVICE", "cpu")],
    );
    wait_ready(&api);
    let h = get_json(&api.base, "/v1/health");
    assert!(
        h["backends"]
            .as_array()
            .is_some_and(|b| b.iter().any(|b| b["name"] == "tilt")),
        "{h}"
    );
    let (status, v) = upload(
        &api.base,
        "/v1/extract?backend=tilt&include=timings",
        "r.png",
        sample("receipt-kedai-runcit.png"),
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["meta"]["backend"], "tilt");
    assert_eq!(v["meta"]["model_version"], "tilt:tiny-tilt");
    for f in [
        "merchant",
        "date",
        "currency",
        "subtotal",
        "tax_amount",
        "total",
    ] {
        assert!(v["data"].get(f).is_some(), "{f} missing: {v}");
    }
    drop(api);

    // The openai backend's `tilt` style against tilt-server.
    let ts = tilt_server(&model);
    let api = start(
        &[],
        &[
            ("VLLM_BASE_URL", ts.base.as_str()),
            ("VLLM_STYLE", "tilt"),
            ("KIE_BACKEND", "openai"),
        ],
    );
    wait_ready(&api);
    let (status, v) = upload(
        &api.base,
        "/v1/extract",
        "r.png",
        sample("receipt-kedai-runcit.png"),
        None,
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["meta"]["model_version"], "openai:tiny-tilt");
}
