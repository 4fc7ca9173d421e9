//! Our engine timed the way `tools/bench_rapidocr.py` times RapidOCR: images in memory, models
//! loaded once, one warm-up pass, then `--reps` timed passes; the per-image median is kept.
//!
//!     ocr_bench [--model v4|v6] [--threads 2] [--reps 2] [--cls off|page|line] [--no-fuse]
//!               --out R.json IMAGE...
//!
//! Besides the latency of each image it records the time spent inside ONNX Runtime's
//! `run` calls (det, cls, rec), so the pipeline's own overhead can be read off.

use std::time::Instant;

use ocr_core::{ClsMode, ModelPreset, OcrConfig, OcrEngine};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut preset = ModelPreset::V4;
    let mut threads = 2;
    let mut reps = 2;
    let mut lanes = 0;
    let mut rec_batch = None;
    let mut rec_spread = None;
    let mut out = None;
    let mut cls = None;
    let mut fuse = true;
    let mut images = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--model" => preset = value()?.parse()?,
            "--threads" => threads = value()?.parse()?,
            "--reps" => reps = value()?.parse()?,
            "--lanes" => lanes = value()?.parse()?,
            "--rec-batch" => rec_batch = Some(value()?.parse()?),
            "--rec-spread" => rec_spread = Some(value()?.parse()?),
            "--out" => out = Some(value()?),
            "--no-fuse" => fuse = false,
            "--cls" => {
                cls = Some(match value()?.as_str() {
                    "off" => ClsMode::Off,
                    "line" => ClsMode::Line,
                    _ => ClsMode::Page,
                })
            }
            _ => images.push(a),
        }
    }
    let out = out.ok_or("--out is required")?;
    let mut cfg = OcrConfig::preset(preset);
    cfg.intra_threads = threads;
    cfg.rec.lanes = lanes;
    cfg.fuse_graphs = fuse;
    if let Some(b) = rec_batch {
        cfg.rec.batch_size = b;
    }
    if let Some(s) = rec_spread {
        cfg.rec.max_width_spread = s;
    }
    if let Some(mode) = cls {
        cfg.cls.mode = mode;
    }
    let t = Instant::now();
    let engine = OcrEngine::new(cfg)?;
    let load_ms = t.elapsed().as_secs_f64() * 1e3;
    let data: Vec<Vec<u8>> = images.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    for b in &data {
        engine.recognize_bytes(b)?;
    }
    let mut latency = vec![Vec::new(); data.len()];
    let mut model = vec![Vec::new(); data.len()];
    let mut stages = vec![Vec::new(); data.len()];
    for _ in 0..reps {
        for (i, b) in data.iter().enumerate() {
            let t = Instant::now();
            let page = engine.recognize_bytes(b)?;
            latency[i].push(t.elapsed().as_secs_f64() * 1e3);
            model[i].push(page.timings.model_ms);
            stages[i].push([
                page.timings.det_ms,
                page.timings.cls_ms,
                page.timings.rec_ms,
            ]);
        }
    }
    // Per stage: the sum over images of each image's median stage time.
    let stage_ms: serde_json::Map<String, serde_json::Value> = ["det", "cls", "rec"]
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let total: f64 = stages
                .iter()
                .map(|runs| median(&runs.iter().map(|r| r[k]).collect::<Vec<_>>()))
                .sum();
            (name.to_string(), serde_json::json!(total))
        })
        .collect();
    let result = serde_json::json!({
        "engine": format!("ocrlty {}", preset.name()),
        "latency_ms": latency.iter().map(|v| median(v)).collect::<Vec<_>>(),
        "model_ms": model.iter().map(|v| median(v)).collect::<Vec<_>>(),
        "load_ms": load_ms,
        "graph_rewrites": engine.info().graph_rewrites,
        "stage_ms": stage_ms,
        "peak_rss_mb": peak_rss_mb(),
    });
    std::fs::write(out, result.to_string())?;
    Ok(())
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// `VmHWM` of this process, in MiB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}
