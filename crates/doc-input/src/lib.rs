//! # doc-input
//!
//! Documents in: the type decided by magic bytes ([`sniff`]), and every page of a PDF either
//! as words with boxes from its text layer or, for a scan, as a rendered image
//! ([`PdfLibrary`]). Boxes are in the pixels of the page rendered at the configured DPI, so
//! both kinds of page share one coordinate system.
//!
//! ```no_run
//! use doc_input::{PageContent, PdfLibrary, PdfOptions};
//!
//! # fn main() -> Result<(), doc_input::InputError> {
//! let pdfium = PdfLibrary::bind(None)?; // PDFIUM_LIB_DIR, else .deps/pdfium/lib
//! let bytes = std::fs::read("invoice.pdf").expect("read");
//! let doc = pdfium.open(&bytes, &PdfOptions::default())?;
//! for i in 0..doc.page_count() {
//!     match doc.page(i)? {
//!         PageContent::TextLayer { words, .. } => println!("page {i}: {} words", words.len()),
//!         PageContent::Scan { image } => println!("page {i}: scan {}x{}", image.width(), image.height()),
//!     }
//! }
//! # Ok(())
//! # }
//! ```

mod error;
mod pdf;
mod sniff;

pub use error::InputError;
pub use pdf::{
    Attachment, CharBox, INVOICE_ATTACHMENT_NAMES, PageContent, PdfDoc, PdfLibrary, PdfOptions,
    TextWord, default_library_dir, group_words, pages_rendered,
};
pub use sniff::{DocumentKind, describe_magic, sniff};
