//! Runs the layout backend over saved `ocrlty ocr` output (one JSON line per file) and prints
//! predictions in the eval format (`{"id", "data"}`), so the rules can be tuned without
//! re-running OCR:
//!
//!     ocrlty ocr FILE... > ocr.jsonl
//!     cargo run -p kie --example layout_eval -- ocr.jsonl > preds.jsonl

use kie::{ExtractOptions, FieldName, KieBackend, LayoutBackend};
use ocr_document::{DocPage, OcrDocument};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: layout_eval OCR.jsonl")?;
    let opts = ExtractOptions::default();
    for line in std::fs::read_to_string(path)?
        .lines()
        .filter(|l| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)?;
        let file = v["file"].as_str().unwrap_or_default();
        let id = std::path::Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let Some(pages) = v["pages"].as_array() else {
            continue;
        };
        let doc = OcrDocument {
            pages: pages
                .iter()
                .map(|p| serde_json::from_value::<DocPage>(p.clone()))
                .collect::<Result<_, _>>()?,
        };
        let x = LayoutBackend.extract(&doc, &opts)?;
        let data: serde_json::Map<String, serde_json::Value> = FieldName::ALL
            .iter()
            .map(|&f| (f.as_str().to_string(), serde_json::json!(x.field(f).value)))
            .collect();
        println!("{}", serde_json::json!({"id": id, "data": data}));
    }
    Ok(())
}
