//! # kie
//!
//! Key-information extraction over the OCR Document: the [`KieBackend`] trait every backend
//! implements, the [`Extraction`] it returns (six fields, each with a normalised value, the raw
//! text, a confidence and its evidence on the page), and the built-in [`LayoutBackend`] —
//! layout-aware rules, CPU only, no model weights.
//!
//! ```
//! use kie::{ExtractOptions, KieBackend, LayoutBackend};
//! use ocr_document::{DocPage, DocWord, OcrDocument, PageSource};
//!
//! let w = |text: &str, bbox| DocWord { text: text.into(), bbox, conf: 0.99 };
//! let page = DocPage::from_words(0, 600, 400, PageSource::Ocr, vec![
//!     w("KEDAI", [150.0, 20.0, 260.0, 50.0]), w("MAJU", [270.0, 20.0, 360.0, 50.0]),
//!     w("SDN", [370.0, 20.0, 430.0, 50.0]), w("BHD", [440.0, 20.0, 500.0, 50.0]),
//!     w("TOTAL", [20.0, 300.0, 100.0, 320.0]), w("RM", [400.0, 300.0, 440.0, 320.0]),
//!     w("65.50", [450.0, 300.0, 520.0, 320.0]),
//! ]);
//! let doc = OcrDocument { pages: vec![page] };
//! let out = LayoutBackend::default().extract(&doc, &ExtractOptions::default()).unwrap();
//! assert_eq!(out.total.value.as_deref(), Some("65.50"));
//! assert_eq!(out.currency.value.as_deref(), Some("MYR"));
//! assert_eq!(out.merchant.value.as_deref(), Some("KEDAI MAJU SDN BHD"));
//! ```

mod answers;
mod labels;
mod layout;
mod tax_table;
mod types;

pub use answers::locate;
pub use layout::LayoutBackend;
pub use types::{
    BoxError, Evidence, EvidenceSource, ExtractOptions, Extraction, Field, FieldName, KieBackend,
    KieError, LineItem, ListName, PageImage, Selection, TaxLine, parse_selection,
};
