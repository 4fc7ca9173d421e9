//! `ocrlty extract FILE...`: the six fields of every document, one JSON line per file.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use kie::{ExtractOptions, KieBackend, LayoutBackend};
use ocr_core::OcrEngine;
use ocrlty::extraction_json;
use rules::{LocaleHints, RuleContext};
use serde_json::json;

use crate::ocr_cmd::{OcrEngineArgs, PdfArgs, error_line, exit_code, read_file};

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// KIE backend. Only `layout` (built in, no model weights) exists so far.
    #[arg(long, env = "KIE_BACKEND", default_value = "layout")]
    pub backend: String,

    /// Country the documents come from (ISO 3166-1 alpha-2), to resolve `$`, `kr` and day/month order.
    #[arg(long, env = "OCR_COUNTRY")]
    pub country: Option<String>,

    /// Language of the documents (ISO 639-1), a hint like the country.
    #[arg(long, env = "OCR_LANG")]
    pub language: Option<String>,

    /// Currency assumed when a document shows none (ISO 4217); otherwise none is invented.
    #[arg(long, env = "DEFAULT_CURRENCY")]
    pub default_currency: Option<String>,

    /// `false` passes the backend's raw strings through without normalisation or checks.
    #[arg(long, env = "RULES_ENABLED", default_value_t = true, action = clap::ArgAction::Set)]
    pub rules_enabled: bool,

    #[command(flatten)]
    pub engine: OcrEngineArgs,

    #[command(flatten)]
    pub pdf: PdfArgs,

    /// Documents: PDF (every page), PNG, JPEG, TIFF, WebP.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

pub fn run(args: ExtractArgs) -> anyhow::Result<ExitCode> {
    let backend: Box<dyn KieBackend> = match args.backend.as_str() {
        "layout" => Box::new(LayoutBackend),
        other => anyhow::bail!("unknown backend '{other}' (available: layout)"),
    };
    let pdf = args.pdf.options()?;
    let engine = OcrEngine::new(args.engine.config()?).context("cannot start the OCR engine")?;
    let opts = ExtractOptions {
        rules: RuleContext {
            hints: LocaleHints {
                country: args.country.clone(),
                language: args.language.clone(),
                currency: args.default_currency.clone(),
            },
            enabled: args.rules_enabled,
            ..RuleContext::default()
        },
        fields: None,
    };
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
                let ocr_ms = t0.elapsed().as_secs_f64() * 1e3;
                let t1 = Instant::now();
                match backend.extract(&read.document, &opts) {
                    Err(e) => {
                        failed += 1;
                        error_line(file, "extraction_failed", e)
                    }
                    Ok(x) => {
                        let kie_ms = t1.elapsed().as_secs_f64() * 1e3;
                        let mut v = extraction_json(&x);
                        v["file"] = json!(file);
                        v["meta"] = json!({
                            "backend": backend.name(),
                            "model_version": backend.model_version(),
                            "ocr_model": engine.info().model,
                            "ruleset_version": rules::RULESET_VERSION,
                            "pages": read.pages,
                            "timings_ms": {"ocr": ocr_ms, "kie": kie_ms, "total": t0.elapsed().as_secs_f64() * 1e3},
                        });
                        v
                    }
                }
            }
        };
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(exit_code(failed))
}
