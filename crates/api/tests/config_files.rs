//! configs/ocrlty.env and configs/ocrlty.toml are what `ocrlty config --print-env` /
//! `--print-toml` print for the full build (the tilt feature on): regenerate them with
//! `OCRLTY_UPDATE_CONFIGS=1 cargo test -p ocrlty --features tilt --test config_files`.
#![cfg(feature = "tilt")]

use std::path::PathBuf;

use ocrlty::config_files::{ConfigFormat, config_file};

#[test]
fn the_config_files_are_generated_from_the_flags() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    for (name, format) in [
        ("ocrlty.env", ConfigFormat::Env),
        ("ocrlty.toml", ConfigFormat::Toml),
    ] {
        let path = dir.join(name);
        let want = config_file(format);
        if std::env::var_os("OCRLTY_UPDATE_CONFIGS").is_some() {
            std::fs::write(&path, &want).expect("configs/ written");
        }
        let have = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            have == want,
            "configs/{name} is stale: regenerate it with OCRLTY_UPDATE_CONFIGS=1 cargo test -p \
             ocrlty --features tilt --test config_files"
        );
    }
}

#[test]
fn the_cli_prints_the_same_files() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ocrlty"))
        .args(["config", "--print-toml"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        config_file(ConfigFormat::Toml)
    );
}
