//! The quality gate against RapidOCR (same PP-OCRv4 models), on a CI-sized subset of the
//! shared eval dev sets; `scripts/ocr-parity` reports the whole sets.

mod common;

use ocr_core::parity::{ParityCounts, parity_for_dir};
use ocr_core::{ModelPreset, OcrConfig, OcrEngine};

/// Images per dataset: enough lines (several hundred) for the rates to mean something.
const SUBSET: usize = 8;

#[test]
fn v4_matches_rapidocr_on_sroie_and_wildreceipt_subsets() {
    let Some(eval) = common::eval_dir() else {
        assert!(
            std::env::var_os("OCRLTY_REQUIRE_EVAL").is_none(),
            "OCRLTY_REQUIRE_EVAL is set but the eval sets are missing (set OCRLTY_EVAL_DIR)"
        );
        eprintln!("SKIPPED: ../shared/eval not found (set OCRLTY_EVAL_DIR to run the parity gate)");
        return;
    };
    let mut cfg = OcrConfig::with_models(ModelPreset::V4.files(&common::model_dir()));
    cfg.intra_threads = 2;
    let engine = OcrEngine::new(cfg).expect("engine starts");
    let mut all = ParityCounts::default();
    for set in ["sroie", "wildreceipt"] {
        let c = parity_for_dir(
            &engine,
            &eval.join(set).join("dev"),
            SUBSET,
            |_, _, _, _| {},
        )
        .expect("parity run");
        eprintln!(
            "{set}: recall {:.4} CER {:.4} over {} lines",
            c.line_recall(),
            c.cer(),
            c.reference_lines
        );
        assert!(
            c.reference_lines > 100,
            "{set}: only {} reference lines",
            c.reference_lines
        );
        all.add(&c);
    }
    assert!(
        all.line_recall() >= 0.97,
        "line recall {:.4} < 0.97",
        all.line_recall()
    );
    assert!(all.cer() <= 0.02, "CER {:.4} > 0.02", all.cer());
}
