//! Helpers: the golden fixture, tiny model directories written from deterministic weights,
//! and a small tokenizer built in code.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};
use tilt_infer::{TiltConfig, WeightMap};

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

/// The golden tensors and the config they were made with.
pub fn golden() -> (TiltConfig, BTreeMap<String, Tensor>) {
    let meta: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(golden_dir().join("tiny.json")).expect("tiny.json"),
    )
    .expect("json");
    let cfg: TiltConfig = serde_json::from_value(meta["config"].clone()).expect("config");
    let tensors = Tensor::read_safetensors(golden_dir().join("tiny.safetensors"))
        .expect("golden tensors")
        .into_iter()
        .collect();
    (cfg, tensors)
}

/// Writes config.json and model.safetensors (deterministic weights) into `dir`.
pub fn write_model(dir: &Path, cfg: &TiltConfig, seed: u64, std: f64) {
    write_checkpoint(dir, cfg, &WeightMap::random_checkpoint(cfg, seed, std));
}

pub fn write_checkpoint(dir: &Path, cfg: &TiltConfig, ckpt: &BTreeMap<String, Tensor>) {
    tilt_infer::testing::write_checkpoint(dir, cfg, ckpt).expect("checkpoint written");
}

pub fn write_tokenizer(dir: &Path, vocab: usize) {
    tilt_infer::testing::tokenizer(vocab)
        .save(dir.join("tokenizer.json"), false)
        .expect("tokenizer.json");
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.size(), b.size(), "shapes differ");
    (a.to_kind(Kind::Float) - b.to_kind(Kind::Float))
        .abs()
        .max()
        .double_value(&[])
}

pub fn cos_sim(a: &Tensor, b: &Tensor) -> f64 {
    let a = a.to_kind(Kind::Double).flatten(0, -1);
    let b = b.to_kind(Kind::Double).flatten(0, -1);
    (a.dot(&b) / (a.norm() * b.norm())).double_value(&[])
}

pub fn cpu() -> Device {
    Device::Cpu
}

/// Rows of an `[R, 5]` / `[R, 4]` tensor as arrays.
pub fn rows<const N: usize>(t: &Tensor) -> Vec<[f32; N]> {
    let v: Vec<f32> = Vec::try_from(&t.to_kind(Kind::Float).contiguous().view([-1])).expect("f32");
    v.chunks_exact(N)
        .map(|c| {
            let mut a = [0f32; N];
            a.copy_from_slice(c);
            a
        })
        .collect()
}
