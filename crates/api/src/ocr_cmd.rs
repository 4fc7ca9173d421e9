//! `ocrlty ocr FILE...`: every page of every document as OCR Document pages, one JSON line per file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args;
use doc_input::PdfOptions;
use ocr_core::{ClsMode, ModelFiles, ModelPreset, OcrConfig, OcrEngine, default_model_dir};
use ocrlty::{ReadDocument, read_document};
use serde_json::{Value, json};

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
                    rec.file_stem()
                        .map(|s| s.to_string_lossy())
                        .unwrap_or_default()
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
        cfg.cls.mode = if cfg.models.cls.is_none() {
            ClsMode::Off
        } else {
            self.cls
        };
        cfg.intra_threads = self.threads;
        Ok(cfg)
    }
}

/// How PDFs are read.
#[derive(Debug, Clone, Args)]
pub struct PdfArgs {
    /// PDFs with more pages are refused.
    #[arg(long, env = "MAX_PAGES", default_value_t = 50)]
    pub max_pages: usize,

    /// Resolution at which PDF pages without a text layer are rendered for OCR.
    #[arg(long, env = "PDF_DPI", default_value_t = 200.0)]
    pub dpi: f32,

    /// OCR every PDF page, even those with a text layer.
    #[arg(long)]
    pub no_text_layer: bool,

    /// Seconds one PDF may take to read (opening and every page).
    #[arg(long, env = "PDF_TIME_BUDGET_S", default_value_t = 60.0)]
    pub pdf_time_budget: f64,
}

impl PdfArgs {
    pub fn options(&self) -> anyhow::Result<PdfOptions> {
        anyhow::ensure!(
            self.dpi >= 36.0 && self.dpi <= 600.0,
            "--dpi must lie between 36 and 600"
        );
        anyhow::ensure!(self.max_pages >= 1, "--max-pages must be at least 1");
        Ok(PdfOptions {
            max_pages: self.max_pages,
            dpi: self.dpi,
            use_text_layer: !self.no_text_layer,
            time_budget: Duration::try_from_secs_f64(self.pdf_time_budget)
                .context("--pdf-time-budget must be a positive number of seconds")?,
            ..PdfOptions::default()
        })
    }
}

#[derive(Debug, Args)]
pub struct OcrArgs {
    #[command(flatten)]
    pub engine: OcrEngineArgs,

    #[command(flatten)]
    pub pdf: PdfArgs,

    /// Documents to read: PDF (every page), PNG, JPEG, TIFF, WebP.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: OcrArgs) -> anyhow::Result<ExitCode> {
    let cfg = args.engine.config()?;
    let pdf = args.pdf.options()?;
    let engine = OcrEngine::new(cfg).context("cannot start the OCR engine")?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failed = 0usize;
    for file in &args.files {
        let t0 = Instant::now();
        let line = match read_file(file, &engine, &pdf) {
            Err(error_line) => {
                failed += 1;
                error_line
            }
            Ok(read) => {
                let pages: Vec<Value> = read
                    .document
                    .pages
                    .iter()
                    .zip(&read.pages)
                    .map(|(page, report)| {
                        let mut v = serde_json::to_value(page).unwrap_or(Value::Null);
                        if let Value::Object(m) = &mut v {
                            m.insert("ms".into(), json!(report.ms));
                            if let Some(t) = &report.ocr {
                                m.insert("ocr_timings".into(), json!(t));
                            }
                        }
                        v
                    })
                    .collect();
                json!({
                    "file": file,
                    "kind": read.kind,
                    "model": engine.info().model,
                    "pages": pages,
                    "elapsed_ms": t0.elapsed().as_secs_f64() * 1e3,
                })
            }
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(exit_code(failed))
}

/// The JSON line a file that failed prints.
pub fn error_line(file: &Path, code: &str, message: impl std::fmt::Display) -> Value {
    json!({"file": file, "error": {"code": code, "message": message.to_string()}})
}

/// Reads one file into an OCR Document; a failure comes back as its error line.
pub fn read_file(file: &Path, engine: &OcrEngine, pdf: &PdfOptions) -> Result<ReadDocument, Value> {
    let bytes = std::fs::read(file).map_err(|e| error_line(file, "unreadable_file", e))?;
    read_document(&bytes, engine, None, pdf).map_err(|e| error_line(file, e.code(), e))
}

/// 0 when every file went through, 1 when any failed.
pub fn exit_code(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
