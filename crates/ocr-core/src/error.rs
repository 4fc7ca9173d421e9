//! Errors of the OCR engine, each tagged with what failed.

use std::path::PathBuf;

/// The pipeline stage an inference error came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Det,
    Cls,
    Rec,
}

impl std::fmt::Display for Stage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stage::Det => "det",
            Stage::Cls => "cls",
            Stage::Rec => "rec",
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum OcrError {
    #[error("empty input: the file has zero bytes")]
    EmptyInput,

    #[error("unsupported image format: {seen}")]
    UnsupportedFormat { seen: String },

    #[error("image is {width}x{height} = {pixels} pixels, over the limit of {max_pixels}")]
    TooManyPixels {
        width: u32,
        height: u32,
        pixels: u64,
        max_pixels: u64,
    },

    #[error("image has a zero dimension ({width}x{height})")]
    ZeroSize { width: u32, height: u32 },

    #[error("cannot decode the image: {0}")]
    Decode(#[source] image::ImageError),

    #[error("cannot load ONNX Runtime from {path}: {message}")]
    RuntimeLoad { path: PathBuf, message: String },

    #[error("model file {path} not found{hint}")]
    ModelMissing { path: PathBuf, hint: String },

    #[error("cannot load model {path}: {source}")]
    ModelLoad {
        path: PathBuf,
        #[source]
        source: ort::Error,
    },

    #[error(
        "cannot rewrite the graph of model {path}: {message} (set fuse_graphs = false to load it as it is)"
    )]
    ModelGraph { path: PathBuf, message: String },

    #[error("recognition dictionary: {0}")]
    Dictionary(String),

    #[error("{stage} inference failed: {source}")]
    Inference {
        stage: Stage,
        #[source]
        source: ort::Error,
    },

    #[error("{stage} model returned an unexpected output: {message}")]
    BadOutput { stage: Stage, message: String },

    #[error("invalid configuration: {0}")]
    Config(String),

    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = OcrError> = std::result::Result<T, E>;

impl OcrError {
    /// A stable, machine-readable code for the error (used in CLI and API error bodies).
    pub fn code(&self) -> &'static str {
        match self {
            OcrError::EmptyInput => "empty_input",
            OcrError::UnsupportedFormat { .. } => "unsupported_format",
            OcrError::TooManyPixels { .. } => "too_many_pixels",
            OcrError::ZeroSize { .. } => "zero_size",
            OcrError::Decode(_) => "undecodable_image",
            OcrError::RuntimeLoad { .. } => "runtime_unavailable",
            OcrError::ModelMissing { .. }
            | OcrError::ModelLoad { .. }
            | OcrError::ModelGraph { .. } => "model_unavailable",
            OcrError::Dictionary(_) => "model_unavailable",
            OcrError::Inference { .. } | OcrError::BadOutput { .. } => "inference_failed",
            OcrError::Config(_) => "invalid_config",
            OcrError::Io { .. } => "io_error",
        }
    }

    /// Whether the error is about the input (the caller's fault) rather than the engine.
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            OcrError::EmptyInput
                | OcrError::UnsupportedFormat { .. }
                | OcrError::TooManyPixels { .. }
                | OcrError::ZeroSize { .. }
                | OcrError::Decode(_)
        )
    }
}
