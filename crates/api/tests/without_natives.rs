//! The pipeline and the router with a fake OCR engine and no pdfium: no ONNX Runtime, no OCR
//! models, no libpdfium is loaded, so everything around the OCR — decoding, the layout backend,
//! the rules, the e-invoice path, the HTTP statuses — is tested on its own.

mod oneshot;

use std::sync::Arc;

use ocrlty::pipeline::{ExtractRequest, Pipeline};
use oneshot::{assert_problem, multipart, post, receipt_reader, sample, send, state};

/// The pipeline on the fake engine, with no pdfium.
fn fake_pipeline() -> Arc<Pipeline> {
    Arc::new(
        Pipeline::builder()
            .reader(Arc::new(receipt_reader()))
            .without_pdfium()
            .build()
            .expect("builds without native libraries"),
    )
}

#[test]
fn the_pipeline_extracts_with_a_fake_engine() {
    let p = fake_pipeline();
    assert_eq!(p.engine().info().model, "fake");
    let out = p
        .extract(
            &sample("receipt-kedai-runcit.png"),
            &ExtractRequest::default(),
        )
        .expect("extracts");
    let v = |f: kie::FieldName| out.extraction.field(f).value.clone();
    assert_eq!(v(kie::FieldName::Total).as_deref(), Some("65.50"));
    assert_eq!(v(kie::FieldName::Subtotal).as_deref(), Some("61.80"));
    assert_eq!(v(kie::FieldName::TaxAmount).as_deref(), Some("3.71"));
    assert_eq!(v(kie::FieldName::Date).as_deref(), Some("2024-03-14"));
    assert_eq!(v(kie::FieldName::Currency).as_deref(), Some("MYR"));
    let (w, h) = (out.document.pages[0].width, out.document.pages[0].height);
    assert!(w > 0 && h > 0, "the page has the decoded image's size");
}

#[tokio::test]
async fn the_router_answers_with_a_fake_engine() {
    let st = state(&[]);
    st.set_pipeline(fake_pipeline());
    let png = sample("receipt-kedai-runcit.png");
    let (status, _, v) = send(
        &st,
        post("/v1/extract", multipart(&[("file", Some("r.png"), &png)])),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["total"], "65.50", "{v}");
    assert_eq!(v["meta"]["backend"], "layout");

    // An e-invoice XML needs no OCR and no pdfium either.
    let xml = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../einvoice/tests/fixtures/ubl-peppol-en-invoice.xml"),
    )
    .expect("fixture");
    let (status, _, v) = send(
        &st,
        post("/v1/extract", multipart(&[("file", Some("i.xml"), &xml)])),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["meta"]["backend"], "embedded-xml", "{v}");

    // Unreadable bytes are still the client's fault, with their problem body.
    let (status, h, v) = send(
        &st,
        post(
            "/v1/extract",
            multipart(&[("file", Some("x.bin"), b"GIF89a not an image")]),
        ),
    )
    .await;
    assert_eq!(status, 415, "{v}");
    assert_problem(&h, &v, 415, "unsupported_format");
}
