//! # ocr-document
//!
//! The *OCR Document* — every page of a document as words with boxes, lines and reading
//! order — which every KIE backend reads, and its wire formats (OCRlty's `/v1/tilt/generate`
//! request, vLLM's `input_ocr_document` part, the layout text given to LLMs).
//!
//! ```
//! use ocr_document::{DocPage, DocWord, OcrDocument, PageSource};
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
pub mod wire;

pub use document::{BBox, DocLine, DocPage, DocWord, OcrDocument, PageSource};
pub use wire::{
    ChatContent, ChatContentError, GeneratePage, GeneratePageOcr, GenerateRequest,
    InputOcrDocumentPart, SpanDocument, SpanPage, WireWord, layout_text, parse_layout_text,
    read_chat_content,
};
