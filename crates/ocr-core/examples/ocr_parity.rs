//! Parity of our engine with RapidOCR's reference output (`rapidocr-v4.jsonl`) on the shared
//! eval dev sets: line recall (quad IoU ≥ 0.5) and character error rate.
//!
//!     cargo run --release -p ocr-core --example ocr_parity -- [--limit N] DATASET_DIR...
//!
//! Run through `scripts/ocr-parity`, which sets up the native libraries.

use std::path::Path;

use ocr_core::parity::{ParityCounts, matched_pairs, parity_for_dir};
use ocr_core::{ModelPreset, OcrConfig, OcrEngine};

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
        cfg.rec.min_width = args
            .get(i + 1)
            .ok_or("--min-width needs a number")?
            .parse()?;
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
    for (flag, slot) in [("--batch", 0), ("--threads", 1), ("--pad", 2)] {
        if let Some(i) = args.iter().position(|a| a == flag) {
            let v: usize = args.get(i + 1).ok_or("flag needs a number")?.parse()?;
            match slot {
                0 => cfg.rec.batch_size = v,
                1 => cfg.intra_threads = v,
                _ => cfg.rec.right_pad = v as u32,
            }
            args.drain(i..i + 2);
        }
    }
    if let Some(i) = args.iter().position(|a| a == "--det-limit") {
        cfg.det.limit_side_len = args
            .get(i + 1)
            .ok_or("--det-limit needs a number")?
            .parse()?;
        args.drain(i..i + 2);
    }
    if let Some(i) = args.iter().position(|a| a == "--no-fuse") {
        cfg.fuse_graphs = false;
        args.remove(i);
    }
    if let Some(i) = args.iter().position(|a| a == "--det-max") {
        cfg.det.limit_type = ocr_core::LimitType::Max;
        args.remove(i);
    }
    if let Some(i) = args.iter().position(|a| a == "--spread") {
        cfg.rec.max_width_spread = args.get(i + 1).ok_or("--spread needs a number")?.parse()?;
        args.drain(i..i + 2);
    }
    let engine = OcrEngine::new(cfg)?;
    let started = std::time::Instant::now();
    let mut all = ParityCounts::default();
    for dir in &args {
        let counts = parity_for_dir(
            &engine,
            Path::new(dir),
            limit,
            |file, c, reference, ours| {
                if show && (c.edits > 0 || c.matched_lines < c.reference_lines) {
                    println!(
                        "  {file}: {}/{} lines, {} edits, ours {} lines",
                        c.matched_lines, c.reference_lines, c.edits, c.our_lines
                    );
                    for (r, o) in matched_pairs(reference, ours, 0.5) {
                        if r.text != o.text {
                            println!("    ref {:?}\n    our {:?}", r.text, o.text);
                        }
                    }
                }
            },
        )?;
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
        "parity: line recall {:.4}  CER {:.4}  ({:.1} s)",
        all.line_recall(),
        all.cer(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
