//! A document is read once: with a backend that looks at pages, each PDF page is rendered by
//! pdfium once — the scan's render feeds both the OCR and the backend — and a backend that
//! does not look at pages causes no render of a text-layer page.
//!
//! pdfium's render counter is process-wide, so this binary holds this one test.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use kie::{ExtractOptions, Extraction, KieBackend, KieError, PageImage};
use ocr_core::{ModelPreset, OcrConfig};
use ocr_document::OcrDocument;
use ocrlty::pipeline::{ExtractRequest, Pipeline};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A backend that looks at pages and remembers the images it was given.
#[derive(Debug, Default)]
struct Looks(Mutex<Vec<(u32, u32)>>);

impl KieBackend for Looks {
    fn name(&self) -> &str {
        "looks"
    }
    fn model_version(&self) -> String {
        "looks:1".into()
    }
    fn extract(&self, doc: &OcrDocument, opts: &ExtractOptions) -> Result<Extraction, KieError> {
        let sizes = opts
            .page_images
            .iter()
            .map(|p: &PageImage| p.0.dimensions());
        self.0.lock().expect("lock").extend(sizes);
        kie::LayoutBackend.extract(doc, opts)
    }
    fn wants_page_images(&self) -> bool {
        true
    }
}

#[test]
fn each_pdf_page_is_rendered_once() {
    let dir = std::env::var_os("OCR_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".deps/models"));
    let mut cfg = OcrConfig::with_models(ModelPreset::V6.files(&dir));
    cfg.intra_threads = 2;
    let looks = Arc::new(Looks::default());
    let pipeline = Pipeline::builder()
        .ocr(cfg)
        .backend(looks.clone())
        .build()
        .expect("pipeline (run scripts/setup)");
    let sample = |name: &str| std::fs::read(root().join("samples").join(name)).expect("sample");
    let invoice = sample("invoice-muster-buerobedarf.pdf");
    let scan = sample("scanned-receipt-corner-cafe.pdf");
    let layout = ExtractRequest::default();
    let looking = ExtractRequest {
        backend: Some("looks".into()),
        ..ExtractRequest::default()
    };

    // Two text-layer pages, a backend that does not look: nothing rendered.
    let before = doc_input::pages_rendered();
    let out = pipeline.extract(&invoice, &layout).expect("extracts");
    assert_eq!(out.document.pages.len(), 2);
    assert_eq!(doc_input::pages_rendered() - before, 0);
    assert!(out.images.is_empty(), "images are kept only when asked for");

    // The same two pages for a backend that looks: one render per page, given to it.
    let before = doc_input::pages_rendered();
    let out = pipeline.extract(&invoice, &looking).expect("extracts");
    assert_eq!(
        doc_input::pages_rendered() - before,
        2,
        "one render per page"
    );
    let sizes: Vec<(u32, u32)> = std::mem::take(&mut *looks.0.lock().expect("lock"));
    let pages: Vec<(u32, u32)> = out
        .document
        .pages
        .iter()
        .map(|p| (p.width, p.height))
        .collect();
    assert_eq!(sizes, pages, "each image matches its page's coordinates");

    // A scanned page: its one render is OCR'd and handed to the backend, and kept when asked.
    let before = doc_input::pages_rendered();
    let keep = ExtractRequest {
        keep_images: true,
        ..looking.clone()
    };
    let out = pipeline.extract(&scan, &keep).expect("extracts");
    assert_eq!(
        doc_input::pages_rendered() - before,
        1,
        "OCR and backend share it"
    );
    assert_eq!(looks.0.lock().expect("lock").len(), 1);
    assert_eq!(out.images.len(), 1);
}
