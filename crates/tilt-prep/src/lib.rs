//! # tilt-prep
//!
//! The *OCR Document* — every page of a document as words with boxes, lines and reading
//! order — which every KIE backend reads, its wire formats, and the preparation of
//! Arctic-TILT model inputs from it.
//!
//! ```
//! use tilt_prep::{DocPage, DocWord, OcrDocument, PageSource};
//!
//! let word = |text: &str, bbox| DocWord { text: text.into(), bbox, conf: 1.0 };
//! let page = DocPage::from_words(0, 600, 800, PageSource::Ocr, vec![
//!     word("65.50", [400.0, 100.0, 460.0, 120.0]),
//!     word("TOTAL", [20.0, 100.0, 90.0, 120.0]),
//! ]);
//! let doc = OcrDocument { pages: vec![page] };
//! assert_eq!(doc.text(), "TOTAL\n65.50");
//! ```

pub mod document;
pub mod reading_order;
pub mod tilt_input;
pub mod wire;

pub use document::{BBox, DocLine, DocPage, DocWord, OcrDocument, PageSource};
pub use wire::{
    GeneratePage, GeneratePageOcr, GenerateRequest, InputOcrDocumentPart, SpanDocument, SpanPage,
    WireWord, layout_text, parse_layout_text,
};
