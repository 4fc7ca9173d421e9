//! `ocrlty extract FILE|DIR...`: the six fields of every document, one JSON line per file.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ocrlty::config::PipelineArgs;
use ocrlty::server::dto::{ExtractResponse, Include};
use ocrlty::visualize::{Visualizer, default_font_path, write_pages};
use serde_json::json;

use crate::ocr_cmd::{error_line, exit_code, read_bytes};

#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,

    /// Add the OCR Document of each file to its line (`ocr`).
    #[arg(long)]
    pub include_ocr: bool,

    /// Write a PNG per page into this folder: every OCR word box, and the fields', line items'
    /// and tax rows' evidence boxed and labelled with value and confidence
    /// (`<file>-p<N>.png`).
    #[arg(long, value_name = "DIR")]
    pub visualize: Option<PathBuf>,

    /// Comma-separated fields wanted: merchant, date, currency, subtotal, tax_amount, total,
    /// line_items, tax_breakdown (default: all).
    #[arg(long, value_name = "LIST")]
    pub fields: Option<String>,

    /// Write the JSON lines to this file instead of standard output.
    #[arg(long, short)]
    pub output: Option<PathBuf>,

    /// Documents (PDF, PNG, JPEG, TIFF, WebP, CII/UBL e-invoice XML) or folders of them
    /// (searched recursively).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
}

const DOCUMENT_EXTENSIONS: [&str; 8] = ["pdf", "png", "jpg", "jpeg", "tif", "tiff", "webp", "xml"];

/// Files as given, folders expanded to the documents under them (sorted).
fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).with_context(|| format!("cannot list {}", p.display()))?;
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| DOCUMENT_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        {
            out.push(path);
        }
    }
    Ok(())
}

/// The file's stem, with `-2`, `-3`, ... when another file of this run had the same one.
fn unique_stem(file: &Path, used: &mut std::collections::HashSet<String>) -> String {
    let base = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "document".into());
    let mut stem = base.clone();
    let mut n = 1;
    while !used.insert(stem.clone()) {
        n += 1;
        stem = format!("{base}-{n}");
    }
    stem
}

pub fn run(args: ExtractArgs) -> anyhow::Result<ExitCode> {
    let files = expand(&args.files)?;
    let visualizer = match &args.visualize {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Some((dir.clone(), Visualizer::load(&default_font_path())?))
        }
        None => None,
    };
    let mut stems = std::collections::HashSet::new();
    let config = args.pipeline.resolve()?;
    let mut req = config.request.clone();
    if let Some(f) = &args.fields {
        let (fields, lists) = kie::parse_selection(f.split(',')).map_err(|e| anyhow::anyhow!(e))?;
        req.options.fields = fields;
        req.options.lists = lists;
    }
    req.keep_images = visualizer.is_some();
    let pipeline = config.build().context("cannot start the pipeline")?;
    let include = Include {
        ocr: args.include_ocr,
        timings: true,
    };
    let ocr_model = pipeline.engine().info().model.clone();
    let mut out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
        )),
        None => Box::new(std::io::stdout().lock()),
    };
    let bar = if std::io::stderr().is_terminal() && files.len() > 1 {
        let b = ProgressBar::new(files.len() as u64);
        b.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed} eta {eta} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Some(b)
    } else {
        None
    };
    let mut failed = 0usize;
    for file in &files {
        if let Some(b) = &bar {
            b.set_message(file.display().to_string());
        }
        let line = match read_bytes(file) {
            Err(line) => {
                failed += 1;
                line
            }
            Ok(bytes) => match pipeline.extract(&bytes, &req) {
                Err(e) => {
                    failed += 1;
                    error_line(file, e.code(), e)
                }
                Ok(x) => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let r = ExtractResponse::build(&x, &id, &ocr_model, false, include);
                    // Through the text the API writes: a Value made straight from the response
                    // would widen its f32 confidences (0.9 → 0.8999999761581421).
                    let mut v: serde_json::Value =
                        serde_json::from_str(&serde_json::to_string(&r)?)?;
                    v["file"] = json!(file);
                    if let Some((dir, vis)) = &visualizer {
                        let stem = unique_stem(file, &mut stems);
                        let drawn = write_pages(
                            vis,
                            dir,
                            &stem,
                            &x.images,
                            &x.document.pages,
                            &x.extraction,
                        );
                        match drawn {
                            Ok(paths) => v["visualizations"] = json!(paths),
                            Err(e) => v["visualize_error"] = json!(e.to_string()),
                        }
                    }
                    v
                }
            },
        };
        writeln!(out, "{line}")?;
        if let Some(b) = &bar {
            b.inc(1);
        }
    }
    out.flush()?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(exit_code(failed))
}
