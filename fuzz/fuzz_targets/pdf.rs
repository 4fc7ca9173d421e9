//! The PDF path: lopdf's look at the file (encryption, page count), pdfium opening it, every
//! page through its text layer or rendered, and the embedded e-invoice. Any bytes get pages or
//! an error that blames the document. libpdfium is bound from PDFIUM_LIB_DIR (scripts/fuzz
//! sets it to .deps/pdfium/lib).
#![no_main]

use std::time::Duration;

use doc_input::{PageContent, PdfLibrary, PdfOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(pdfium) = PdfLibrary::bind(None) else {
        panic!("libpdfium did not bind: set PDFIUM_LIB_DIR");
    };
    // Small pages and few of them keep each run short; the checks are the same.
    let opts = PdfOptions {
        max_pages: 8,
        dpi: 36.0,
        max_pixels: 250_000,
        time_budget: Duration::from_secs(5),
        ..PdfOptions::default()
    };
    let doc = match pdfium.open(data, &opts) {
        Ok(doc) => doc,
        Err(e) => {
            assert!(e.is_input_error(), "{e}");
            return;
        }
    };
    assert!(doc.page_count() >= 1 && doc.page_count() <= opts.max_pages);
    for i in 0..doc.page_count() {
        match doc.page(i) {
            Ok(PageContent::TextLayer {
                width,
                height,
                words,
            }) => {
                for w in &words {
                    assert!(w.bbox.iter().all(|v| v.is_finite()), "{:?}", w.bbox);
                }
                let _ = (width, height);
            }
            Ok(PageContent::Scan { image }) => {
                assert!(u64::from(image.width()) * u64::from(image.height()) <= opts.max_pixels);
            }
            Err(e) => assert!(e.is_input_error(), "page {i}: {e}"),
        }
    }
    let _ = doc.invoice_attachment();
});
