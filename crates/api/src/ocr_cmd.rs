//! `ocrlty ocr FILE...`: every page of every document as OCR Document pages, one JSON line per file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use doc_input::PdfOptions;
use ocr_core::OcrEngine;
use ocrlty::config::{OcrEngineArgs, PdfArgs};
use ocrlty::{ReadDocument, read_document};
use serde_json::{Value, json};

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
                        // Boxes on the page as sent, whichever way it was read.
                        let page = page.in_source_frame();
                        let mut v = serde_json::to_value(&page).unwrap_or(Value::Null);
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
    let bytes = read_bytes(file)?;
    read_document(&bytes, engine, None, pdf).map_err(|e| error_line(file, e.code(), e))
}

/// The file's bytes; a failure comes back as its error line.
pub fn read_bytes(file: &Path) -> Result<Vec<u8>, Value> {
    std::fs::read(file).map_err(|e| error_line(file, "unreadable_file", e))
}

/// 0 when every file went through, 1 when any failed.
pub fn exit_code(failed: usize) -> ExitCode {
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
