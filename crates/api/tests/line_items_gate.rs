//! The line-item gate: the `layout` backend's items on the real e-invoices of the eval set
//! (`../shared/eval/einvoice/dev`, pages only: the embedded XML is not read), scored as
//! `scripts/lib/item_score.py` scores them: an item matches a ground-truth item when its
//! amount is equal and its description's token F1 is at least 0.5; F1 over all items must be
//! at least 0.80. Documents whose ground-truth items are not what the page prints
//! (`line_items_as_printed: false`) are not scored.

use std::collections::HashSet;
use std::path::PathBuf;

use doc_input::PdfOptions;
use kie::{ExtractOptions, KieBackend, LayoutBackend};
use ocr_core::{ModelPreset, OcrConfig, OcrEngine};
use ocrlty::read_document;
use rust_decimal::Decimal;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tokens(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|t| !t.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Token F1 of two descriptions (multiset overlap).
fn token_f1(a: &str, b: &str) -> f64 {
    let (ta, mut tb) = (tokens(a), tokens(b));
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    let n = (ta.len(), tb.len());
    let mut common = 0;
    for t in &ta {
        if let Some(i) = tb.iter().position(|u| u == t) {
            tb.swap_remove(i);
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let (p, r) = (common as f64 / n.0 as f64, common as f64 / n.1 as f64);
    2.0 * p * r / (p + r)
}

/// Matched pairs, greedily by description similarity.
fn matched(pred: &[(String, Decimal)], gold: &[(String, Decimal)]) -> usize {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, (pd, pa)) in pred.iter().enumerate() {
        for (j, (gd, ga)) in gold.iter().enumerate() {
            let f = token_f1(pd, gd);
            if pa == ga && f >= 0.5 {
                pairs.push((f, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut used_p, mut used_g) = (HashSet::new(), HashSet::new());
    for (_, i, j) in pairs {
        if !used_p.contains(&i) && !used_g.contains(&j) {
            used_p.insert(i);
            used_g.insert(j);
        }
    }
    used_p.len()
}

#[test]
fn line_items_of_real_e_invoices_score_at_least_0_80() {
    let dir = std::env::var_os("OCRLTY_EVAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/eval"))
        .join("einvoice/dev");
    let Ok(gt) = std::fs::read_to_string(dir.join("gt.jsonl")) else {
        assert!(
            std::env::var_os("OCRLTY_REQUIRE_EVAL").is_none(),
            "eval sets missing"
        );
        eprintln!("SKIPPED: {} not found (set OCRLTY_EVAL_DIR)", dir.display());
        return;
    };
    let models = std::env::var_os("OCR_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".deps/models"));
    let mut cfg = OcrConfig::with_models(ModelPreset::V6.files(&models));
    cfg.intra_threads = 2;
    let engine = OcrEngine::new(cfg).expect("engine (run scripts/setup)");
    let (mut tp, mut n_pred, mut n_gold, mut docs) = (0, 0, 0, 0);
    for line in gt.lines().filter(|l| !l.trim().is_empty()) {
        let rec: serde_json::Value = serde_json::from_str(line).expect("gt line");
        let extra = &rec["extra"];
        let Some(items) = extra["line_items"].as_array().filter(|i| !i.is_empty()) else {
            continue;
        };
        if extra["line_items_as_printed"] == false {
            continue;
        }
        let gold: Vec<(String, Decimal)> = items
            .iter()
            .map(|i| {
                let d = i["description"].as_str().unwrap_or_default().to_string();
                let a = i["amount"]
                    .as_str()
                    .expect("amount")
                    .parse()
                    .expect("decimal");
                (d, a)
            })
            .collect();
        let file = rec["file"].as_str().expect("file");
        let read = read_document(
            &std::fs::read(dir.join(file)).expect("pdf"),
            &engine,
            None,
            &PdfOptions::default(),
        )
        .unwrap_or_else(|e| panic!("{file}: {e}"));
        let x = LayoutBackend
            .extract(&read.document, &ExtractOptions::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let pred: Vec<(String, Decimal)> = x
            .line_items
            .iter()
            .filter_map(|i| {
                let a = i.amount.as_deref()?.parse().ok()?;
                Some((i.description.clone().unwrap_or_default(), a))
            })
            .collect();
        let m = matched(&pred, &gold);
        if m < gold.len().max(pred.len()) {
            eprintln!("{file}: gold {gold:?}\n  read {pred:?}");
        }
        tp += m;
        n_pred += x.line_items.len();
        n_gold += gold.len();
        docs += 1;
    }
    let precision = tp as f64 / n_pred.max(1) as f64;
    let recall = tp as f64 / n_gold.max(1) as f64;
    let f1 = if tp == 0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    eprintln!(
        "line items: {docs} documents, {n_gold} items; precision {precision:.3} recall \
         {recall:.3} F1 {f1:.3}"
    );
    assert!(docs >= 20, "{docs} documents with items");
    assert!(f1 >= 0.80, "line-item F1 {f1:.3} < 0.80");
}

#[test]
fn the_description_similarity_is_token_f1() {
    assert_eq!(
        token_f1("Fahrtkosten, Taxi Berlin", "fahrtkosten taxi berlin"),
        1.0
    );
    assert!((token_f1("Taxi Berlin", "Fahrtkosten, Taxi Berlin") - 0.8).abs() < 1e-9);
    assert_eq!(token_f1("", "Taxi"), 0.0);
    let gold = vec![("Tea".to_string(), Decimal::new(300, 2))];
    assert_eq!(matched(&[("Tea".into(), Decimal::new(300, 2))], &gold), 1);
    assert_eq!(matched(&[("Tea".into(), Decimal::new(310, 2))], &gold), 0);
    assert_eq!(matched(&[("Cake".into(), Decimal::new(300, 2))], &gold), 0);
}
