//! # ocr-core
//!
//! PaddleOCR (PP-OCR det, cls and rec models) on ONNX Runtime: an image goes in, text lines
//! with quads and per-word boxes come out, in the image's pixel coordinates.
//!
//! ```no_run
//! use ocr_core::{ModelPreset, OcrConfig, OcrEngine};
//!
//! # fn main() -> Result<(), ocr_core::OcrError> {
//! let engine = OcrEngine::new(OcrConfig::preset(ModelPreset::V6))?;
//! let page = engine.recognize_bytes(&std::fs::read("receipt.png").expect("read"))?;
//! for line in &page.lines {
//!     println!("{:.2} {}", line.confidence, line.text);
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ONNX Runtime is loaded at run time from `ORT_DYLIB_PATH` (written to `.deps/env.sh` by
//! `scripts/setup`); models come from `OCR_MODEL_DIR`.

pub mod cls;
pub mod config;
pub mod det;
pub mod engine;
pub mod error;
pub mod fuse;
pub mod geometry;
pub mod image_io;
pub mod parity;
pub mod reader;
pub mod rec;
pub mod resize;
pub mod session;
pub mod types;

pub use config::{ClsMode, ClsOptions, ModelFiles, ModelPreset, OcrConfig, default_model_dir};
pub use det::{DetOptions, LimitType};
pub use engine::{EngineInfo, OcrEngine};
pub use error::{OcrError, Result, Stage};
pub use image_io::{DEFAULT_MAX_PIXELS, decode_image};
pub use reader::{FakeOcr, PageReader};
pub use rec::RecOptions;
pub use session::{Device, runtime_path};
pub use types::{BBox, Line, Page, PageTimings, Point, Quad, Word};
