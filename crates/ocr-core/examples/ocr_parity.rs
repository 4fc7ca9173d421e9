//! Parity of our engine with RapidOCR's reference output (`rapidocr-v4.jsonl`) on the shared
//! eval dev sets: line recall (quad IoU ≥ 0.5) and character error rate.
//!
//!     cargo run --release -p ocr-core --example ocr_parity -- [--limit N] DATASET_DIR...
//!
//! Run through `scripts/ocr-parity`, which sets up the native libraries.

use std::path::{Path, PathBuf};

use ocr_core::parity::{ParityCounts, RefLine, compare_page};
use ocr_core::{ModelPreset, OcrConfig, OcrEngine, Point};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut limit = usize::MAX;
    let mut show = false;
    if let Some(i) = args.iter().position(|a| a == "--limit") {
        limit = args.get(i + 1).ok_or("--limit needs a number")?.parse()?;
        args.drain(i..i + 2);
    }
    if let Some(i) = args.iter().position(|a| a == "--show-diffs") {
        show = true;
        args.remove(i);
    }
    let mut cfg = OcrConfig::preset(ModelPreset::V4);
    if let Some(i) = args.iter().position(|a| a == "--min-width") {
        cfg.rec.min_width = args.get(i + 1).ok_or("--min-width needs a number")?.parse()?;
        args.drain(i..i + 2);
    }
    if let Some(i) = args.iter().position(|a| a == "--cls") {
        cfg.cls.mode = match args.get(i + 1).map(String::as_str) {
            Some("off") => ocr_core::ClsMode::Off,
            Some("line") => ocr_core::ClsMode::Line,
            _ => ocr_core::ClsMode::Page,
        };
        args.drain(i..i + 2);
    }
    let engine = OcrEngine::new(cfg)?;
    let mut all = ParityCounts::default();
    for dir in &args {
        let counts = parity_for_dir(&engine, Path::new(dir), limit, show)?;
        println!(
            "{dir}: lines {}/{} recall {:.4}  CER {:.4} ({} edits / {} chars)",
            counts.matched_lines,
            counts.reference_lines,
            counts.line_recall(),
            counts.cer(),
            counts.edits,
            counts.reference_chars
        );
        all.add(&counts);
    }
    println!(
        "parity: line recall {:.4}  CER {:.4}",
        all.line_recall(),
        all.cer()
    );
    Ok(())
}

/// Reads a dataset's `rapidocr-v4.jsonl` (image pages only) and compares our output per page.
pub fn parity_for_dir(
    engine: &OcrEngine,
    dir: &Path,
    limit: usize,
    show: bool,
) -> Result<ParityCounts, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(dir.join("rapidocr-v4.jsonl"))?;
    let mut total = ParityCounts::default();
    for line in text.lines().filter(|l| !l.trim().is_empty()).take(limit) {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let file = v["file"].as_str().ok_or("record without file")?;
        if file.to_ascii_lowercase().ends_with(".pdf") {
            continue;
        }
        let reference: Vec<RefLine> = v["lines"]
            .as_array()
            .ok_or("record without lines")?
            .iter()
            .map(|l| {
                let b = &l["box"];
                let pt = |i: usize| {
                    Point::new(
                        b[i][0].as_f64().unwrap_or(0.0) as f32,
                        b[i][1].as_f64().unwrap_or(0.0) as f32,
                    )
                };
                RefLine {
                    quad: [pt(0), pt(1), pt(2), pt(3)],
                    text: l["text"].as_str().unwrap_or("").to_string(),
                }
            })
            .collect();
        let path: PathBuf = dir.join(file);
        let page = engine.recognize_bytes(&std::fs::read(&path)?)?;
        let ours: Vec<RefLine> = page
            .lines
            .iter()
            .map(|l| RefLine {
                quad: l.quad,
                text: l.text.clone(),
            })
            .collect();
        let c = compare_page(&reference, &ours, 0.5);
        if show && (c.edits > 0 || c.matched_lines < c.reference_lines) {
            println!(
                "  {file}: {}/{} lines, {} edits, ours {} lines",
                c.matched_lines, c.reference_lines, c.edits, c.our_lines
            );
            for (r, o) in ocr_core::parity::matched_pairs(&reference, &ours, 0.5) {
                if r.text != o.text {
                    println!("    ref {:?}\n    our {:?}", r.text, o.text);
                }
            }
        }
        total.add(&c);
    }
    Ok(total)
}
