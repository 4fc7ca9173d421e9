//! # tilt-infer
//!
//! Arctic-TILT inference on libtorch through `tch`, as `tilt-architecture.md` specifies it:
//! the `config.json` of §2 ([`TiltConfig`]), the safetensors names of §4 ([`weights`]), the
//! encoder with its 1-D and 2-D bucketed biases and the U-Net visual branch, the decoder with
//! a KV cache ([`TiltModel`]), greedy decoding and the fusion-in-decoder memory of long
//! documents ([`Tilt`]), and an engine thread that owns the model and batches requests
//! ([`TiltEngine`]).
//!
//! The device is CUDA when libtorch sees one, else the CPU; fp32 on CPU, the reference's
//! bf16/fp32 split on CUDA.

pub mod bias;
pub mod config;
pub mod engine;
pub mod generate;
pub mod model;
pub mod testing;
pub mod weights;

use std::path::PathBuf;

pub use config::TiltConfig;
pub use engine::{EngineInfo, QuestionResult, TiltEngine, TiltRequest, TiltResponse};
pub use generate::{Answer, FinishReason, Generation, PreparedDocument, Tilt, greedy};
pub use model::{ChunkInput, DecoderState, Precision, TiltModel};
pub use weights::WeightMap;

/// Why the model could not be loaded or run.
#[derive(Debug, thiserror::Error)]
pub enum TiltError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("model directory {dir} has no {what}")]
    MissingFile { dir: PathBuf, what: String },
    #[error("config.json: {0}")]
    Config(String),
    #[error("weights: {0}")]
    Weights(String),
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("input: {0}")]
    Prep(#[from] tilt_prep::tilt_input::PrepError),
    #[error("libtorch: {0}")]
    Torch(String),
    #[error("the TILT engine's queue is full")]
    Busy,
    #[error("the TILT engine has stopped")]
    EngineStopped,
}

/// The device libtorch would pick: CUDA 0 when available, else the CPU.
pub fn auto_device() -> tch::Device {
    tch::Device::cuda_if_available()
}

/// How many CUDA devices libtorch can use: 0 without a GPU, its driver, or a CUDA build of
/// libtorch (`scripts/setup cuda`).
pub fn cuda_device_count() -> i64 {
    tch::Cuda::device_count()
}

/// A one-line description of a device for logs and `/health`.
pub fn device_name(d: tch::Device) -> String {
    match d {
        tch::Device::Cpu => format!("cpu ({} threads)", tch::get_num_threads()),
        tch::Device::Cuda(i) => format!("cuda:{i}"),
        other => format!("{other:?}"),
    }
}

/// Parses a device name: `auto` (CUDA when available), `cpu`, `cuda` or `cuda:N`.
pub fn parse_device(s: &str) -> Result<tch::Device, TiltError> {
    match s.trim().to_ascii_lowercase().as_str() {
        "auto" | "" => {
            let d = auto_device();
            if d == tch::Device::Cpu {
                tracing::warn!(
                    "TILT_DEVICE=auto: libtorch sees no CUDA device; TILT runs on the CPU"
                );
            }
            Ok(d)
        }
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" | "gpu" => Ok(tch::Device::Cuda(0)),
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse().ok())
            .map(tch::Device::Cuda)
            .ok_or_else(|| {
                TiltError::Config(format!(
                    "device {other:?} is not one of auto, cpu, cuda, cuda:N"
                ))
            }),
    }
}
