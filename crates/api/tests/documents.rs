//! Documents in: every PDF page by its text layer or OCR, images by OCR, bad files as errors.

use std::path::PathBuf;

use doc_input::PdfOptions;
use ocr_core::{ModelPreset, OcrConfig, OcrEngine};
use ocr_document::PageSource;
use ocrlty::{DocumentError, read_document};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine() -> OcrEngine {
    let dir = std::env::var_os("OCR_MODEL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join(".deps/models"));
    let mut cfg = OcrConfig::with_models(ModelPreset::V6.files(&dir));
    cfg.intra_threads = 2;
    OcrEngine::new(cfg).expect("engine (run scripts/setup)")
}

fn sample(name: &str) -> Vec<u8> {
    std::fs::read(root().join("samples").join(name)).expect("sample")
}

#[test]
fn digital_invoice_every_page_from_the_text_layer() {
    let read = read_document(
        &sample("invoice-muster-buerobedarf.pdf"),
        &engine(),
        None,
        &PdfOptions::default(),
    )
    .expect("reads");
    assert_eq!(read.document.pages.len(), 2, "both pages, not only page 1");
    for p in &read.document.pages {
        assert_eq!(p.source, PageSource::TextLayer);
        assert_eq!((p.width, p.height), (1654, 2339), "A4 at 200 dpi");
    }
    let text = read.document.text();
    for needle in [
        "Muster Bürobedarf GmbH",
        "Rechnungsdatum:",
        "15.03.2024",
        "99,60 €",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

#[test]
fn scanned_pdf_goes_through_ocr() {
    let read = read_document(
        &sample("scanned-receipt-corner-cafe.pdf"),
        &engine(),
        None,
        &PdfOptions::default(),
    )
    .expect("reads");
    assert_eq!(read.document.pages.len(), 1);
    assert_eq!(read.document.pages[0].source, PageSource::Ocr);
    assert!(read.pages[0].ocr.is_some());
    let text = read.document.text().to_uppercase();
    assert!(text.contains("TOTAL"), "{text}");
    // The text layer can also be switched off for digital PDFs.
    let opts = PdfOptions {
        use_text_layer: false,
        ..PdfOptions::default()
    };
    let read = read_document(
        &sample("invoice-muster-buerobedarf.pdf"),
        &engine(),
        None,
        &opts,
    )
    .expect("reads");
    assert!(
        read.document
            .pages
            .iter()
            .all(|p| p.source == PageSource::Ocr)
    );
}

#[test]
fn bad_pdfs_are_clear_errors() {
    let e = engine();
    let pdf = sample("invoice-muster-buerobedarf.pdf");
    let opts = PdfOptions {
        max_pages: 1,
        ..PdfOptions::default()
    };
    let err = read_document(&pdf, &e, None, &opts).expect_err("over max_pages");
    assert_eq!(err.code(), "too_many_pages");
    assert!(err.to_string().contains("2 pages"), "{err}");

    let truncated = &pdf[..pdf.len() / 3];
    match read_document(truncated, &e, None, &PdfOptions::default()) {
        Err(err) => assert!(err.is_input_error(), "{err}"),
        // pdfium repairs what it can; whatever it returns must be whole pages.
        Ok(read) => assert!(!read.document.pages.is_empty()),
    }
    let garbage = b"%PDF-1.7\n this is not a PDF at all \n%%EOF".to_vec();
    let err = read_document(&garbage, &e, None, &PdfOptions::default()).expect_err("garbage");
    assert!(matches!(err, DocumentError::Input(_)), "{err}");
    assert!(err.is_input_error());

    let err = read_document(
        &sample("encrypted-invoice.pdf"),
        &e,
        None,
        &PdfOptions::default(),
    )
    .expect_err("password");
    assert_eq!(err.code(), "encrypted_pdf", "{err}");
    assert!(err.to_string().contains("password"), "{err}");

    let err = read_document(b"GIF89a......", &e, None, &PdfOptions::default()).expect_err("gif");
    assert_eq!(err.code(), "unsupported_format");
    assert!(err.to_string().contains("GIF"), "{err}");
}

/// The gate: all invoice2data dev PDFs take the text-layer path, and their words hold
/// the ground-truth total and date as printed.
#[test]
fn invoice2data_pdfs_take_the_text_layer_path() {
    let dir = std::env::var_os("OCRLTY_EVAL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/eval"))
        .join("invoice2data/dev");
    let Ok(gt) = std::fs::read_to_string(dir.join("gt.jsonl")) else {
        assert!(
            std::env::var_os("OCRLTY_REQUIRE_EVAL").is_none(),
            "eval sets missing"
        );
        eprintln!("SKIPPED: {} not found (set OCRLTY_EVAL_DIR)", dir.display());
        return;
    };
    let e = engine();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date");
    let mut checked = 0;
    for line in gt.lines().filter(|l| !l.trim().is_empty()) {
        let rec: serde_json::Value = serde_json::from_str(line).expect("gt line");
        let file = rec["file"].as_str().expect("file");
        let read = read_document(
            &std::fs::read(dir.join(file)).expect("pdf"),
            &e,
            None,
            &PdfOptions::default(),
        )
        .unwrap_or_else(|err| panic!("{file}: {err}"));
        assert!(
            read.document
                .pages
                .iter()
                .all(|p| p.source == PageSource::TextLayer),
            "{file}: a page was OCR'd"
        );
        let words: Vec<&str> = read
            .document
            .words()
            .map(|(_, w)| w.text.as_str())
            .collect();
        let total: rust_decimal::Decimal = rec["data"]["total"]
            .as_str()
            .expect("total")
            .parse()
            .expect("decimal");
        let has_total = words
            .iter()
            .any(|w| rules::parse_amount(w, None).is_ok_and(|a| a.value.abs() == total));
        assert!(has_total, "{file}: total {total} not among the words");
        let date = rec["data"]["date"].as_str().expect("date");
        let ctx = rules::DateContext { order: None, today };
        let has_date = read.document.pages.iter().flat_map(|p| &p.lines).any(|l| {
            rules::find_dates(&l.text, &ctx).iter().any(|(d, _)| {
                rules::format_date(d.date) == date
                    || (d.ambiguous && rules::format_date(swap(d.date)) == date)
            })
        });
        assert!(has_date, "{file}: date {date} not printed on any line");
        checked += 1;
    }
    assert_eq!(checked, 10);
}

/// Day and month swapped, for ambiguous numeric dates.
fn swap(d: chrono::NaiveDate) -> chrono::NaiveDate {
    use chrono::Datelike;
    chrono::NaiveDate::from_ymd_opt(d.year(), d.day(), d.month()).unwrap_or(d)
}
