//! The OCR Document's wire formats: its JSON, `/v1/tilt/generate` requests and the layout text
//! an LLM is given. Whatever arrives becomes a document whose boxes lie on their page and whose
//! lines index its words.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ocr_document::{GenerateRequest, OcrDocument, layout_text, parse_layout_text};

fn check(doc: &OcrDocument) {
    for p in &doc.pages {
        for w in &p.words {
            let [x1, y1, x2, y2] = w.bbox;
            assert!(x1 <= x2 && y1 <= y2, "{:?}", w.bbox);
            assert!(
                x2 <= p.width as f32 && y2 <= p.height as f32,
                "{:?}",
                w.bbox
            );
        }
        for l in &p.lines {
            assert!(l.words.iter().all(|&i| i < p.words.len()));
        }
    }
    // The layout text reads back into as many pages.
    assert_eq!(
        parse_layout_text(&layout_text(doc)).pages.len(),
        doc.pages.len()
    );
}

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = serde_json::from_slice::<OcrDocument>(data) {
        let _ = layout_text(&doc);
    }
    if let Ok(req) = serde_json::from_slice::<GenerateRequest>(data) {
        check(&req.document());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check(&parse_layout_text(text));
    }
});
