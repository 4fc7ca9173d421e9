//! `ocrlty ocr FILE...`

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use ocr_core::{ClsMode, ModelFiles, ModelPreset, OcrConfig, OcrEngine, default_model_dir};
use serde_json::json;

#[derive(Debug, Clone, Args)]
pub struct OcrEngineArgs {
    /// PP-OCR model set: v6 (multilingual Latin, € and ß) or v4.
    #[arg(long, env = "OCR_MODEL", default_value = "v6")]
    pub ocr_model: String,

    /// Folder holding the model sets (as scripts/setup lays it out).
    #[arg(long, env = "OCR_MODEL_DIR")]
    pub model_dir: Option<PathBuf>,

    /// A det ONNX model to use instead of the preset's (any PP-OCR DBNet export).
    #[arg(long, requires = "rec_model")]
    pub det_model: Option<PathBuf>,

    /// A rec ONNX model to use instead of the preset's (any PP-OCR CTC recogniser).
    #[arg(long, requires = "det_model")]
    pub rec_model: Option<PathBuf>,

    /// Dictionary file (one character per line) for a rec model without `character` metadata.
    #[arg(long)]
    pub rec_dict: Option<PathBuf>,

    /// When the 0/180° classifier runs: off, page (majority of the widest lines), line.
    #[arg(long, env = "OCR_CLS", default_value = "page", value_parser = parse_cls)]
    pub cls: ClsMode,

    /// ONNX Runtime intra-op threads (0: one per core).
    #[arg(long, env = "OMP_NUM_THREADS", default_value_t = 0)]
    pub threads: usize,
}

fn parse_cls(s: &str) -> Result<ClsMode, String> {
    match s {
        "off" => Ok(ClsMode::Off),
        "page" => Ok(ClsMode::Page),
        "line" => Ok(ClsMode::Line),
        _ => Err(format!("'{s}' is not one of off, page, line")),
    }
}

impl OcrEngineArgs {
    pub fn config(&self) -> anyhow::Result<OcrConfig> {
        let dir = self.model_dir.clone().unwrap_or_else(default_model_dir);
        let mut models = match (&self.det_model, &self.rec_model) {
            (Some(det), Some(rec)) => ModelFiles {
                name: format!(
                    "custom:{}",
                    rec.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()
                ),
                det: det.clone(),
                rec: rec.clone(),
                cls: None,
                dictionary: None,
            },
            _ => self.ocr_model.parse::<ModelPreset>()?.files(&dir),
        };
        if let Some(dict) = &self.rec_dict {
            models.dictionary = Some(dict.clone());
        }
        let mut cfg = OcrConfig::with_models(models);
        cfg.cls.mode = if cfg.models.cls.is_none() { ClsMode::Off } else { self.cls };
        cfg.intra_threads = self.threads;
        Ok(cfg)
    }
}

#[derive(Debug, Args)]
pub struct OcrArgs {
    #[command(flatten)]
    pub engine: OcrEngineArgs,

    /// Images to read (PNG, JPEG, TIFF, WebP).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: OcrArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.engine.config()?;
    let engine = OcrEngine::new(cfg).context("cannot start the OCR engine")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0usize;
    for file in &args.files {
        let t0 = Instant::now();
        let line = match std::fs::read(file) {
            Err(e) => {
                failed += 1;
                json!({"file": file, "error": {"code": "unreadable_file", "message": e.to_string()}})
            }
            Ok(bytes) => match engine.recognize_bytes(&bytes) {
                Ok(page) => json!({
                    "file": file,
                    "model": engine.info().model,
                    "pages": [page],
                    "elapsed_ms": t0.elapsed().as_secs_f64() * 1e3,
                }),
                Err(e) => {
                    failed += 1;
                    json!({"file": file, "error": {"code": e.code(), "message": e.to_string()}})
                }
            },
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
