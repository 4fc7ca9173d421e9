//! Engine configuration: which models, and every pre/post-processing knob.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::det::DetOptions;
use crate::error::{OcrError, Result};
use crate::image_io::DEFAULT_MAX_PIXELS;
use crate::rec::RecOptions;
use crate::session::Device;

/// The PP-OCR model sets `scripts/setup` fetches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelPreset {
    /// PP-OCRv4 mobile det/rec + mobile v2 cls (rapidocr_onnxruntime wheel): Chinese-first, no ß or €.
    V4,
    /// PP-OCRv6 small det/rec (rapidocr wheel): multilingual Latin with accents, € and ß.
    V6,
}

impl std::str::FromStr for ModelPreset {
    type Err = OcrError;
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "v4" => Ok(ModelPreset::V4),
            "v6" => Ok(ModelPreset::V6),
            other => Err(OcrError::Config(format!(
                "unknown OCR model '{other}' (known: v4, v6; or give det/rec model paths)"
            ))),
        }
    }
}

impl ModelPreset {
    pub fn name(self) -> &'static str {
        match self {
            ModelPreset::V4 => "ppocr-v4",
            ModelPreset::V6 => "ppocr-v6",
        }
    }

    /// The preset's files under a model directory laid out as `scripts/setup` writes it.
    pub fn files(self, model_dir: &Path) -> ModelFiles {
        let (sub, det, rec, cls) = match self {
            ModelPreset::V4 => (
                "ppocr-v4",
                "ch_PP-OCRv4_det_infer.onnx",
                "ch_PP-OCRv4_rec_infer.onnx",
                "ch_ppocr_mobile_v2.0_cls_infer.onnx",
            ),
            ModelPreset::V6 => (
                "ppocr-v6",
                "PP-OCRv6_det_small.onnx",
                "PP-OCRv6_rec_small.onnx",
                "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
            ),
        };
        let dir = model_dir.join(sub);
        ModelFiles {
            name: self.name().to_string(),
            det: dir.join(det),
            rec: dir.join(rec),
            cls: Some(dir.join(cls)),
            dictionary: None,
        }
    }
}

/// Where the models are. Any PP-OCR det/rec ONNX pair works; a rec model without `character`
/// metadata needs a dictionary file (one entry per line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFiles {
    /// A name reported in outputs (`model_version`).
    pub name: String,
    pub det: PathBuf,
    pub rec: PathBuf,
    #[serde(default)]
    pub cls: Option<PathBuf>,
    #[serde(default)]
    pub dictionary: Option<PathBuf>,
}

/// The model directory: `OCR_MODEL_DIR`, else `<OCRLTY_DEPS>/models`, else `.deps/models`.
pub fn default_model_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("OCR_MODEL_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("OCRLTY_DEPS") {
        return Path::new(&p).join("models");
    }
    PathBuf::from(".deps/models")
}

/// When the 0/180° line classifier runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClsMode {
    /// Never: upright documents (fastest; no 6↔9 flips on single digits).
    Off,
    /// Classify a sample of the widest lines and turn the whole page when most are upside
    /// down. Short lines, where the classifier guesses, are never flipped on their own.
    #[default]
    Page,
    /// PP-OCR's behaviour: classify every line and turn each that scores 180° above `thresh`.
    Line,
}

/// Classifier settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClsOptions {
    pub mode: ClsMode,
    pub thresh: f32,
    /// Lines sampled in `page` mode.
    pub page_sample: usize,
    pub batch_size: usize,
}

impl Default for ClsOptions {
    fn default() -> Self {
        Self {
            mode: ClsMode::Page,
            thresh: 0.9,
            page_sample: 12,
            batch_size: 6,
        }
    }
}

/// Everything the engine needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OcrConfig {
    pub models: ModelFiles,
    pub det: DetOptions,
    pub rec: RecOptions,
    pub cls: ClsOptions,
    /// Images over this many pixels are rejected before decoding.
    pub max_pixels: u64,
    /// ONNX Runtime intra-op threads per session (0: one per core).
    pub intra_threads: usize,
    /// Sessions per model, for concurrent callers.
    pub pool_size: usize,
    pub device: Device,
    /// Rewrite each model's graph before loading it: exact folds of the scalar affines and
    /// hard-swishes that PP-OCRv4's exporter spells out ([`crate::fuse`]; v4 rec and det run
    /// about 1.3× faster). Off loads the files byte for byte.
    #[serde(default = "yes")]
    pub fuse_graphs: bool,
    /// Turn pages that stand sideways (90°/270°, found from the detected boxes' shape) before
    /// reading them. Upright pages pay only the shape test.
    #[serde(default = "yes")]
    pub orientation: bool,
}

fn yes() -> bool {
    true
}

impl OcrConfig {
    /// The preset's models under the default model directory, with PP-OCR's defaults.
    pub fn preset(preset: ModelPreset) -> Self {
        Self::with_models(preset.files(&default_model_dir()))
    }

    pub fn with_models(models: ModelFiles) -> Self {
        Self {
            models,
            det: DetOptions::default(),
            rec: RecOptions::default(),
            cls: ClsOptions::default(),
            max_pixels: DEFAULT_MAX_PIXELS,
            intra_threads: 0,
            pool_size: 1,
            device: Device::Cpu,
            fuse_graphs: true,
            orientation: true,
        }
    }

    /// Checks the values that would otherwise fail deep in the pipeline.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: &str| Err(OcrError::Config(m.to_string()));
        if !(0.0..1.0).contains(&self.det.thresh) || !(0.0..=1.0).contains(&self.det.box_thresh) {
            return bad("det thresh and box_thresh must lie in [0, 1)");
        }
        if self.det.unclip_ratio <= 0.0 || self.det.limit_side_len < 32 {
            return bad("det unclip_ratio must be > 0 and limit_side_len >= 32");
        }
        if self.rec.height < 8 || self.rec.batch_size == 0 || self.rec.max_width_spread < 1.0 {
            return bad("rec height >= 8, batch_size >= 1 and max_width_spread >= 1 are required");
        }
        if self.pool_size == 0 || self.max_pixels == 0 {
            return bad("pool_size and max_pixels must be positive");
        }
        Ok(())
    }
}
