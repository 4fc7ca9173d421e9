//! The engine end to end on the repository's own samples, with both model presets.

mod common;

use ocr_core::{ModelPreset, OcrConfig, OcrEngine, OcrError};

fn config(preset: ModelPreset) -> OcrConfig {
    let mut cfg = OcrConfig::with_models(preset.files(&common::model_dir()));
    cfg.intra_threads = 2;
    cfg
}

fn engine(preset: ModelPreset) -> OcrEngine {
    OcrEngine::new(config(preset)).expect("engine starts (run scripts/setup first)")
}

fn sample_text(engine: &OcrEngine) -> Vec<String> {
    let bytes =
        std::fs::read(common::root().join("samples/receipt-kedai-runcit.png")).expect("sample");
    let page = engine
        .recognize_bytes(&bytes)
        .expect("sample is recognised");
    assert_eq!((page.width, page.height), image_size(&bytes));
    for line in &page.lines {
        assert!(!line.words.is_empty(), "line {:?} has no words", line.text);
        for w in &line.words {
            let [x1, y1, x2, y2] = [w.bbox.x1, w.bbox.y1, w.bbox.x2, w.bbox.y2];
            assert!(x1 < x2 && y1 < y2, "word box {:?} of {:?}", w.bbox, w.text);
            assert!(x2 <= page.width as f32 && y2 <= page.height as f32);
        }
    }
    page.lines.iter().map(|l| l.text.clone()).collect()
}

fn image_size(bytes: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(bytes).expect("decodes");
    (img.width(), img.height())
}

fn assert_has(lines: &[String], needle: &str) {
    assert!(
        lines
            .iter()
            .any(|l| l.replace(' ', "").contains(&needle.replace(' ', ""))),
        "no line contains {needle:?}; lines: {lines:#?}"
    );
}

#[test]
fn v6_reads_the_sample_receipt() {
    let lines = sample_text(&engine(ModelPreset::V6));
    for needle in ["KEDAI RUNCIT", "TOTAL (RM)", "65.50", "SST"] {
        assert_has(&lines, needle);
    }
}

#[test]
fn rec_lanes_read_what_one_lane_reads() {
    let bytes =
        std::fs::read(common::root().join("samples/receipt-kedai-runcit.png")).expect("sample");
    let read = |lanes: usize| {
        let mut cfg = config(ModelPreset::V4);
        cfg.rec.lanes = lanes;
        cfg.rec.batch_size = 2;
        let engine = OcrEngine::new(cfg).expect("engine starts");
        assert_eq!(engine.info().rec_lanes, lanes);
        let page = engine.recognize_bytes(&bytes).expect("recognised");
        page.lines
            .iter()
            .map(|l| (l.text.clone(), l.quad, l.words.len()))
            .collect::<Vec<_>>()
    };
    let one = read(1);
    assert!(one.len() > 5);
    assert_eq!(
        read(3),
        one,
        "same lines, same order, whichever lane read them"
    );
}

#[test]
fn rewritten_graphs_read_what_the_model_files_read() {
    let bytes =
        std::fs::read(common::root().join("samples/receipt-kedai-runcit.png")).expect("sample");
    let read = |fuse: bool| {
        let mut cfg = config(ModelPreset::V4);
        cfg.fuse_graphs = fuse;
        let engine = OcrEngine::new(cfg).expect("engine starts");
        let rewrites = engine.info().graph_rewrites;
        (
            engine.recognize_bytes(&bytes).expect("recognised"),
            rewrites,
        )
    };
    let (plain, none) = read(false);
    let (fused, rewrites) = read(true);
    assert_eq!(none, 0);
    // PP-OCRv4's det and rec backbones: 28 + 28 convs with affines, 24 + 28 hard-swishes, ...
    assert!(rewrites > 100, "only {rewrites} rewrites in the v4 models");
    assert!(plain.lines.len() > 5);
    assert_eq!(plain.lines.len(), fused.lines.len());
    for (a, b) in plain.lines.iter().zip(&fused.lines) {
        assert_eq!(a.text, b.text);
        assert!((a.confidence - b.confidence).abs() < 1e-3, "{a:?} / {b:?}");
        for (p, q) in a.quad.iter().zip(&b.quad) {
            assert!(
                (p.x - q.x).abs() <= 1.0 && (p.y - q.y).abs() <= 1.0,
                "{a:?} / {b:?}"
            );
        }
    }
}

#[test]
fn v4_reads_the_sample_receipt() {
    let lines = sample_text(&engine(ModelPreset::V4));
    for needle in ["TOTAL", "65.50"] {
        assert_has(&lines, needle);
    }
}

#[test]
fn bad_bytes_are_typed_errors_not_panics() {
    let e = engine(ModelPreset::V4);
    let cases: [(&str, &[u8]); 4] = [
        ("empty", b""),
        ("text", b"hello, not an image"),
        (
            "truncated png",
            &[
                0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0, 13,
            ],
        ),
        (
            "truncated jpeg",
            &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F'],
        ),
    ];
    for (name, bytes) in cases {
        match e.recognize_bytes(bytes) {
            Err(err) => assert!(err.is_input_error(), "{name}: {err} is not an input error"),
            Ok(_) => panic!("{name}: accepted"),
        }
    }
    assert!(matches!(e.recognize_bytes(b""), Err(OcrError::EmptyInput)));
}

#[test]
fn a_receipt_photographed_sideways_or_upside_down_reads_as_upright() {
    let bytes =
        std::fs::read(common::root().join("samples/receipt-kedai-runcit.png")).expect("sample");
    let upright = image::load_from_memory(&bytes).expect("decodes").to_rgb8();
    let e = engine(ModelPreset::V6);
    let text =
        |p: &ocr_core::Page| -> Vec<String> { p.lines.iter().map(|l| l.text.clone()).collect() };
    let base = e.recognize(&upright).expect("upright");
    assert_eq!(base.rotation, 0);
    // The photo turned counter-clockwise (read after a clockwise turn of 90°), upside down,
    // and turned clockwise (270°).
    let cases = [
        (image::imageops::rotate270(&upright), 90u16),
        (image::imageops::rotate180(&upright), 180),
        (image::imageops::rotate90(&upright), 270),
    ];
    for (img, rotation) in cases {
        let page = e.recognize(&img).expect("turned");
        assert_eq!(page.rotation, rotation);
        // The page as read is the upright one: same size, same text.
        assert_eq!(
            (page.width, page.height),
            upright.dimensions(),
            "{rotation}"
        );
        let lines = text(&page);
        for needle in ["KEDAI RUNCIT", "TOTAL (RM)", "65.50", "SST"] {
            assert_has(&lines, needle);
        }
        assert!(page.timings.orient_ms >= 0.0);
    }
    // Switched off, a sideways page is read as it stands: its lines stand upright on it
    // (PP-OCR reads tall crops turned, but the page's rows and columns are lost).
    let mut cfg = config(ModelPreset::V6);
    cfg.orientation = false;
    let off = OcrEngine::new(cfg).expect("engine");
    let page = off
        .recognize(&image::imageops::rotate270(&upright))
        .expect("read");
    assert!(matches!(page.rotation, 0 | 180), "never a quarter turn");
    assert_eq!(
        (page.width, page.height),
        (upright.height(), upright.width())
    );
    let tall = page
        .lines
        .iter()
        .filter(|l| l.bbox().height() > 2.0 * l.bbox().width())
        .count();
    assert!(
        tall * 2 > page.lines.len(),
        "{tall} of {} lines tall",
        page.lines.len()
    );
}
