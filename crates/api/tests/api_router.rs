//! The router through tower's `oneshot`: every status the API documents, with the real
//! pipeline on the repository's samples and fake backends for the backend failures.

mod oneshot;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use kie::{ExtractOptions, Extraction, KieBackend, KieError};
use ocr_document::OcrDocument;
use ocrlty::pipeline::Pipeline;
use ocrlty::server::{AppState, router};
use oneshot::{BOUNDARY, assert_problem, multipart, post, sample, send, state};
use serde_json::Value;
use tower::ServiceExt;

/// A backend that always fails the same way.
#[derive(Debug)]
struct Failing(&'static str);

impl KieBackend for Failing {
    fn name(&self) -> &str {
        self.0
    }
    fn model_version(&self) -> String {
        "failing-1".into()
    }
    fn extract(&self, _: &OcrDocument, _: &ExtractOptions) -> Result<Extraction, KieError> {
        let backend = self.0;
        Err(match backend {
            "down" => KieError::unavailable(backend, "connection refused"),
            "slow" => KieError::timeout(backend),
            "buggy" => panic!("backend bug: /internal/detail must not leak"),
            _ => KieError::bad_answer(backend, "not JSON"),
        })
    }
}

fn pipeline() -> Arc<Pipeline> {
    static P: OnceLock<Arc<Pipeline>> = OnceLock::new();
    P.get_or_init(|| {
        Arc::new(
            Pipeline::builder()
                .backend(Arc::new(Failing("down")))
                .backend(Arc::new(Failing("slow")))
                .backend(Arc::new(Failing("garbled")))
                .backend(Arc::new(Failing("buggy")))
                .build()
                .expect("pipeline (run scripts/setup)"),
        )
    })
    .clone()
}

fn ready(flags: &[&str]) -> AppState {
    let s = state(flags);
    s.set_pipeline(pipeline());
    s
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receipt_gives_its_fields_and_the_same_bytes_come_from_the_cache() {
    let st = ready(&[]);
    let png = sample("receipt-kedai-runcit.png");
    let req = || {
        post(
            "/v1/extract?include=ocr,timings",
            multipart(&[("file", Some("r.png"), &png)]),
        )
    };
    let (status, headers, v) = send(&st, req()).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["total"], "65.50");
    assert_eq!(v["data"]["currency"], "MYR");
    assert_eq!(v["data"]["date"], "2024-03-14");
    assert_eq!(v["meta"]["backend"], "layout");
    assert_eq!(v["meta"]["pages"], 1);
    assert_eq!(v["meta"]["cache"], "miss");
    assert!(
        v["meta"]["timings_ms"]["ocr"]
            .as_f64()
            .is_some_and(|t| t > 0.0)
    );
    assert!(
        v["ocr"]["pages"][0]["words"]
            .as_array()
            .is_some_and(|w| !w.is_empty())
    );
    assert_eq!(v["meta"]["page_timings"][0]["source"], "ocr");
    assert_eq!(
        headers.get("x-request-id").and_then(|h| h.to_str().ok()),
        v["meta"]["request_id"].as_str()
    );
    let (status, _, again) = send(&st, req()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["meta"]["cache"], "hit");
    assert_eq!(again["data"], v["data"]);
    assert_ne!(again["meta"]["request_id"], v["meta"]["request_id"]);
    let mut fresh = req();
    fresh
        .headers_mut()
        .insert("cache-control", "no-cache".parse().expect("header"));
    let (_, _, v) = send(&st, fresh).await;
    assert_eq!(v["meta"]["cache"], "miss");
    // Other options, another answer: not from the cache.
    let fields_only = post(
        "/v1/extract?fields=total",
        multipart(&[("file", Some("r.png"), &png)]),
    );
    let (_, _, v) = send(&st, fields_only).await;
    assert_eq!(v["meta"]["cache"], "miss");
    assert_eq!(v["data"]["total"], "65.50");
    assert!(v["data"]["merchant"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invoices_items_and_tax_rows_come_with_their_boxes_and_can_be_selected() {
    let st = ready(&[]);
    let pdf = sample("invoice-muster-buerobedarf.pdf");
    let req = |q: &str| post(q, multipart(&[("file", Some("i.pdf"), &pdf)]));
    let (status, _, v) = send(&st, req("/v1/extract")).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let items = v["data"]["line_items"].as_array().expect("line_items");
    let amounts: Vec<&str> = items.iter().filter_map(|i| i["amount"].as_str()).collect();
    assert_eq!(amounts, ["99.60", "77.00", "29.50", "19.20"], "{v}");
    assert_eq!(
        items[0],
        serde_json::json!({"description": "Kopierpapier A4 80 g (5 × 500 Blatt)",
                           "quantity": "4", "unit_price": "24.90", "amount": "99.60"})
    );
    // Each item boxed on page 1, with its confidence.
    let first = &v["line_items"][0];
    assert_eq!(first["evidence"]["page"], 0);
    assert_eq!(first["evidence"]["source"], "page");
    assert!(
        first["evidence"]["bbox"]
            .as_array()
            .is_some_and(|b| b.len() == 4)
    );
    assert!(
        first["confidence"]
            .as_f64()
            .is_some_and(|c| c > 0.0 && c <= 1.0)
    );
    // The invented invoice's items make 225.30, its subtotal says 225.50: said, not hidden.
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"mismatch.line_items"), "{v}");
    assert_eq!(v["data"]["tax_breakdown"][0]["rate"], "19");
    assert_eq!(v["data"]["tax_breakdown"][0]["amount"], "42.85");

    // `fields=line_items`: the items alone.
    let (status, _, only) = send(&st, req("/v1/extract?fields=line_items")).await;
    assert_eq!(status, StatusCode::OK, "{only}");
    assert_eq!(only["data"]["line_items"], v["data"]["line_items"]);
    assert!(only["data"]["total"].is_null());
    assert_eq!(only["data"]["tax_breakdown"], serde_json::json!([]));
    // A total alone leaves the lists out.
    let (_, _, total) = send(&st, req("/v1/extract?fields=total")).await;
    assert_eq!(total["data"]["line_items"], serde_json::json!([]));
    // An unknown name is a 400 that lists the known ones.
    let (status, h, e) = send(&st, req("/v1/extract?fields=items")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{e}");
    assert_problem(&h, &e, 400, "malformed_request");
    assert!(
        e["detail"]
            .as_str()
            .is_some_and(|d| d.contains("line_items")),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_digital_invoice_reads_its_text_layer_and_keeps_a_given_request_id() {
    let st = ready(&[]);
    let pdf = sample("invoice-muster-buerobedarf.pdf");
    let mut req = post(
        "/v1/extract?include=timings",
        multipart(&[("file", Some("i.pdf"), &pdf)]),
    );
    req.headers_mut()
        .insert("x-request-id", "client-chosen-42".parse().expect("header"));
    let (status, headers, v) = send(&st, req).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["meta"]["request_id"], "client-chosen-42");
    assert_eq!(headers["x-request-id"], "client-chosen-42");
    assert_eq!(v["meta"]["kind"], "pdf");
    assert_eq!(v["meta"]["page_timings"][0]["source"], "text-layer");
    assert_eq!(v["data"]["currency"], "EUR");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_problem_details_with_their_status() {
    let st = ready(&[
        "--max-upload-mb",
        "1",
        "--allowed-content-types",
        "application/pdf,image/png",
    ]);
    let gif = b"GIF89a\x01\x00\x01\x00".to_vec();
    let jpeg = [0xFFu8, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F'].to_vec();
    let corrupt = b"%PDF-1.7\nthis is not a PDF body".to_vec();
    let big = vec![b'%'; 1_300_000];
    let cases: Vec<(Request<Body>, u16, &str)> = vec![
        (
            post("/v1/extract", multipart(&[("other", None, b"x")])),
            400,
            "malformed_request",
        ),
        (
            Request::post("/v1/extract")
                .header("content-type", "application/json")
                .body(Body::from("{}"))
                .expect("request"),
            400,
            "malformed_request",
        ),
        (
            post(
                "/v1/extract?include=everything",
                multipart(&[("file", Some("a"), &corrupt)]),
            ),
            400,
            "malformed_request",
        ),
        (
            post(
                "/v1/extract?backend=nope",
                multipart(&[("file", Some("a"), &corrupt)]),
            ),
            400,
            "malformed_request",
        ),
        (
            post("/v1/extract", multipart(&[("file", Some("a.gif"), &gif)])),
            415,
            "unsupported_format",
        ),
        (
            post("/v1/extract", multipart(&[("file", Some("a.jpg"), &jpeg)])),
            415,
            "unsupported_format",
        ),
        (
            post(
                "/v1/extract",
                multipart(&[("file", Some("a.pdf"), &corrupt)]),
            ),
            422,
            "corrupt_pdf",
        ),
        (
            post(
                "/v1/extract",
                multipart(&[("file", Some("e.pdf"), &sample("encrypted-invoice.pdf"))]),
            ),
            422,
            "encrypted_pdf",
        ),
        (
            post("/v1/extract", multipart(&[("file", Some("big"), &big)])),
            413,
            "file_too_large",
        ),
        (post("/v1/nothing-here", Vec::new()), 404, "not_found"),
    ];
    for (req, status, code) in cases {
        let uri = req.uri().to_string();
        let (s, h, v) = send(&st, req).await;
        assert_eq!(s.as_u16(), status, "{uri}: {v}");
        assert_problem(&h, &v, status, code);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_without_a_length_is_cut_off_at_the_limit_while_it_streams() {
    let st = ready(&["--max-upload-mb", "1"]);
    // A streamed body (no Content-Length) of 8 MiB: refused with 413 after at most the limit,
    // the framing allowance and the 4 MiB drained for clients that read the answer late.
    let head = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n"
    );
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    let chunks = std::iter::once(Ok::<_, std::io::Error>(head.into_bytes()))
        .chain((0..128).map(move |_| {
            counter.fetch_add(65536, std::sync::atomic::Ordering::SeqCst);
            Ok(vec![b'%'; 65536])
        }))
        .chain(std::iter::once(Ok(
            format!("\r\n--{BOUNDARY}--\r\n").into_bytes()
        )));
    let body = Body::from_stream(futures_util::stream::iter(chunks));
    let req = Request::post("/v1/extract")
        .header(
            "content-type",
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(body)
        .expect("request");
    let (s, h, v) = send(&st, req).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{v}");
    assert_problem(&h, &v, 413, "file_too_large");
    let read = sent.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        read < 6 * 1024 * 1024,
        "read {read} bytes of an 8 MiB upload"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn api_keys_are_required_when_configured() {
    let st = ready(&["--api-keys", "k1,k2"]);
    let body = || multipart(&[("file", Some("a"), b"GIF89a")]);
    let (s, h, v) = send(&st, post("/v1/extract", body())).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_problem(&h, &v, 401, "unauthorized");
    assert!(h.contains_key("www-authenticate"));
    let mut wrong = post("/v1/extract", body());
    wrong
        .headers_mut()
        .insert("authorization", "Bearer k3".parse().expect("header"));
    assert_eq!(send(&st, wrong).await.0, StatusCode::UNAUTHORIZED);
    let mut right = post("/v1/extract", body());
    right
        .headers_mut()
        .insert("authorization", "Bearer k2".parse().expect("header"));
    // Past the key check: the GIF is refused for what it is.
    assert_eq!(send(&st, right).await.0, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // Operations routes stay open.
    let (s, _, _) = send(
        &st,
        Request::get("/v1/health").body(Body::empty()).expect("r"),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn backend_failures_map_to_502_503_504() {
    let st = ready(&[]);
    let png = sample("receipt-kedai-runcit.png");
    for (backend, status, code) in [
        ("down", 503, "backend_unavailable"),
        ("slow", 504, "backend_timeout"),
        ("garbled", 502, "backend_bad_answer"),
        ("buggy", 500, "internal_error"),
    ] {
        let req = post(
            &format!("/v1/extract?backend={backend}"),
            multipart(&[("file", Some("r.png"), &png)]),
        );
        let (s, h, v) = send(&st, req).await;
        assert_eq!(s.as_u16(), status, "{v}");
        assert_problem(&h, &v, status, code);
        assert!(!v.to_string().contains("/internal/detail"), "{v}");
    }
    let metrics = send_text(&st, "/metrics").await;
    assert!(
        metrics.contains("ocrlty_backend_errors_total{backend=\"down\"} 1"),
        "{metrics}"
    );
}

async fn send_text(st: &AppState, uri: &str) -> String {
    let resp = router(st.clone())
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_answers_429_and_a_deadline_504() {
    let st = ready(&["--ocr-concurrency", "1", "--queue-size", "0"]);
    let scan = sample("scanned-receipt-corner-cafe.pdf");
    let first = {
        let (st, scan) = (st.clone(), scan.clone());
        tokio::spawn(async move {
            send(
                &st,
                post("/v1/extract", multipart(&[("file", Some("s.pdf"), &scan)])),
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(150)).await;
    let (s, h, v) = send(
        &st,
        post("/v1/extract", multipart(&[("file", Some("s.pdf"), &scan)])),
    )
    .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{v}");
    assert_problem(&h, &v, 429, "queue_full");
    assert!(h.contains_key("retry-after"));
    assert_eq!(first.await.expect("joins").0, StatusCode::OK);

    let st = ready(&["--request-timeout", "0.05"]);
    let png = sample("receipt-kedai-runcit.png");
    let (s, h, v) = send(
        &st,
        post("/v1/extract", multipart(&[("file", Some("r.png"), &png)])),
    )
    .await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT, "{v}");
    assert_problem(&h, &v, 504, "deadline_exceeded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_its_deadline_cannot_cover_is_answered_without_being_read() {
    let png = sample("receipt-kedai-runcit.png");
    let upload = || post("/v1/extract", multipart(&[("file", Some("r.png"), &png)]));
    // As if every document had lately taken a minute to read: 5 s cannot cover one.
    let st = ready(&["--request-timeout", "5"]);
    assert_eq!(st.typical_read(), None, "nothing read yet");
    st.note_read(Duration::from_secs(60));
    let (s, h, v) = send(&st, upload()).await;
    assert_eq!(s, StatusCode::GATEWAY_TIMEOUT, "{v}");
    assert_problem(&h, &v, 504, "deadline_exceeded");
    assert_eq!(
        st.typical_read(),
        Some(Duration::from_secs(60)),
        "the document was not read"
    );
    // With time enough it is read, and its read counts into the average.
    let st = ready(&["--request-timeout", "120"]);
    st.note_read(Duration::from_secs(60));
    let (s, _, v) = send(&st, upload()).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let typical = st.typical_read().expect("an average");
    assert!(typical < Duration::from_secs(60), "{typical:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_answers_every_file_in_order_and_one_bad_file_fails_alone() {
    let st = ready(&[]);
    let png = sample("receipt-kedai-runcit.png");
    let pdf = sample("invoice-muster-buerobedarf.pdf");
    let body = multipart(&[
        ("files[]", Some("a.png"), &png),
        ("files[]", Some("broken.pdf"), b"%PDF-1.4\ngarbage"),
        ("files[]", Some("b.pdf"), &pdf),
        ("files[]", Some("c.gif"), b"GIF89a"),
    ]);
    let (s, _, v) = send(&st, post("/v1/extract-batch", body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let items = v["items"].as_array().expect("items");
    assert_eq!(items.len(), 4);
    assert_eq!(v["succeeded"], 2);
    assert_eq!(v["failed"], 2);
    for (i, item) in items.iter().enumerate() {
        assert_eq!(item["index"], i);
    }
    assert_eq!(items[0]["filename"], "a.png");
    assert_eq!(items[0]["result"]["data"]["total"], "65.50");
    assert_eq!(items[1]["status"], 422);
    assert_eq!(items[1]["error"]["code"], "corrupt_pdf");
    assert_eq!(items[2]["result"]["data"]["currency"], "EUR");
    assert_eq!(items[3]["status"], 415);
    let (s, h, v) = send(
        &st,
        post("/v1/extract-batch", multipart(&[("x", None, b"1")])),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_problem(&h, &v, 400, "malformed_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn while_loading_ping_says_204_and_extraction_503() {
    let st = state(&[]);
    let get = |uri: &str| Request::get(uri).body(Body::empty()).expect("request");
    assert_eq!(send(&st, get("/ping")).await.0, StatusCode::NO_CONTENT);
    assert_eq!(send(&st, get("/livez")).await.0, StatusCode::OK);
    let (s, h, v) = send(&st, get("/readyz")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_problem(&h, &v, 503, "not_ready");
    let (s, _, v) = send(&st, get("/v1/health")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(v["status"], "loading");
    let png = sample("receipt-kedai-runcit.png");
    let (s, h, v) = send(
        &st,
        post("/v1/extract", multipart(&[("file", Some("r"), &png)])),
    )
    .await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
    assert_problem(&h, &v, 503, "not_ready");
    assert!(h.contains_key("retry-after"));
    st.set_pipeline(pipeline());
    assert_eq!(send(&st, get("/ping")).await.0, StatusCode::OK);
    assert_eq!(send(&st, get("/readyz")).await.0, StatusCode::OK);
    let (_, _, v) = send(&st, get("/version")).await;
    assert_eq!(v["ocr_model"], "ppocr-v6");
    assert_eq!(v["execution_provider"], "CPUExecutionProvider");
    assert!(v["git_sha"].is_string());
    let metrics = send_text(&st, "/metrics").await;
    for name in [
        "ocrlty_http_requests_total{",
        "ocrlty_http_request_duration_seconds_bucket{",
        "ocrlty_http_requests_in_flight",
        "ocrlty_queue_depth",
        "ocrlty_cache_hits_total",
        "ocrlty_process_resident_memory_bytes",
        "ocrlty_ready 1",
    ] {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }
}

#[test]
fn docs_openapi_json_is_generated_from_the_code() {
    use utoipa::OpenApi;
    let generated = ocrlty::server::ApiDoc::openapi()
        .to_pretty_json()
        .expect("serialises")
        + "\n";
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/openapi.json");
    if std::env::var_os("OCRLTY_UPDATE_OPENAPI").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, &generated).expect("write");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/openapi.json is stale: run `OCRLTY_UPDATE_OPENAPI=1 cargo test -p ocrlty --test api_router docs_openapi`"
    );
    let v: Value = serde_json::from_str(&generated).expect("JSON");
    for p in [
        "/v1/extract",
        "/v1/extract-batch",
        "/v1/health",
        "/metrics",
        "/ping",
    ] {
        assert!(v["paths"][p].is_object(), "{p} undocumented");
    }
    for status in [
        "200", "400", "401", "413", "415", "422", "429", "500", "502", "503", "504",
    ] {
        assert!(
            v["paths"]["/v1/extract"]["post"]["responses"][status].is_object(),
            "{status} undocumented"
        );
    }
}

fn einvoice_fixture(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../einvoice/tests/fixtures")
        .join(name);
    std::fs::read(p).expect("fixture (tools/make_einvoices.py)")
}

fn test_pdf(name: &str) -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(p).expect("test PDF (scripts/make-samples)")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_factur_x_pdf_is_read_from_its_embedded_xml_unless_told_otherwise() {
    let st = ready(&[]);
    let pdf = sample("facturx-muster-buerobedarf.pdf");
    let req = |q: &str| post(q, multipart(&[("file", Some("f.pdf"), &pdf)]));
    let (s, _, v) = send(&st, req("/v1/extract")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["meta"]["backend"], "embedded-xml");
    assert_eq!(v["meta"]["kind"], "pdf");
    let want = [
        ("merchant", "Muster Bürobedarf GmbH"),
        ("date", "2024-03-15"),
        ("currency", "EUR"),
        ("subtotal", "225.50"),
        ("tax_amount", "42.85"),
        ("total", "268.35"),
    ];
    for (field, value) in want {
        assert_eq!(v["data"][field], value, "{field}: {v}");
        let f = &v["fields"][field];
        assert_eq!(f["confidence"], 1.0, "{field}");
        assert_eq!(f["evidence"]["source"], "embedded-xml", "{field}");
        assert!(f["evidence"]["page"].is_null() && f["evidence"]["bbox"].is_null());
    }
    assert_eq!(
        v["fields"]["total"]["evidence"]["path"],
        "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount"
    );
    // The pages agree with the XML: the cross-check adds nothing.
    assert_eq!(v["warnings"], serde_json::json!([]), "{v}");
    // Items and the tax breakdown come from the XML too.
    assert_eq!(
        v["data"]["line_items"].as_array().map(Vec::len),
        Some(4),
        "{v}"
    );
    assert_eq!(
        v["data"]["line_items"][1],
        serde_json::json!({"description": "Tintenpatrone schwarz XL", "quantity": "2",
                           "unit_price": "38.50", "amount": "77.00"})
    );
    assert_eq!(v["line_items"][1]["evidence"]["source"], "embedded-xml");
    assert_eq!(
        v["data"]["tax_breakdown"],
        serde_json::json!([{"rate": "19", "base": "225.50", "amount": "42.85"}])
    );

    // Off: the pages alone (another answer, not the cached one).
    let (s, _, off) = send(&st, req("/v1/extract?embedded_invoice=off")).await;
    assert_eq!(s, StatusCode::OK, "{off}");
    assert_eq!(off["meta"]["backend"], "layout");
    assert_eq!(off["meta"]["cache"], "miss");
    assert_eq!(off["fields"]["total"]["evidence"]["source"], "page");
    assert_eq!(off["fields"]["total"]["evidence"]["page"], 1);
    assert_eq!(off["data"]["total"], "268.35");

    // Only: the XML without reading pages; a PDF without one is refused.
    let (s, _, only) = send(&st, req("/v1/extract?embedded_invoice=only")).await;
    assert_eq!(s, StatusCode::OK, "{only}");
    assert_eq!(only["data"], v["data"]);
    assert_eq!(only["meta"]["timings_ms"]["ocr"], 0.0);
    let plain = sample("invoice-muster-buerobedarf.pdf");
    let (s, h, e) = send(
        &st,
        post(
            "/v1/extract",
            multipart(&[
                ("file", Some("p.pdf"), &plain),
                ("embedded_invoice", None, b"only"),
            ]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_problem(&h, &e, 422, "no_embedded_invoice");
    let (s, h, e) = send(&st, req("/v1/extract?embedded_invoice=always")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    assert_problem(&h, &e, 400, "malformed_request");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_factur_x_pdf_whose_xml_disagrees_with_its_pages_or_is_broken_says_so() {
    let st = ready(&[]);
    let pdf = test_pdf("facturx-disagreeing.pdf");
    let (s, _, v) = send(
        &st,
        post("/v1/extract", multipart(&[("file", Some("d.pdf"), &pdf)])),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["data"]["total"], "286.35",
        "the XML's values are the answer"
    );
    let codes: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(codes.contains(&"embedded_xml.disagrees.total"), "{codes:?}");
    assert!(codes.contains(&"embedded_xml.disagrees.date"), "{codes:?}");
    assert!(
        !codes.contains(&"embedded_xml.disagrees.merchant"),
        "{codes:?}"
    );

    let broken = test_pdf("facturx-broken-xml.pdf");
    let (s, _, v) = send(
        &st,
        post(
            "/v1/extract",
            multipart(&[("file", Some("b.pdf"), &broken)]),
        ),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["meta"]["backend"], "layout", "the pages are read instead");
    assert_eq!(v["data"]["total"], "268.35");
    let invalid = v["warnings"]
        .as_array()
        .and_then(|w| w.iter().find(|w| w["code"] == "embedded_xml.invalid"))
        .unwrap_or_else(|| panic!("no embedded_xml.invalid warning: {v}"));
    assert!(
        invalid["message"]
            .as_str()
            .is_some_and(|m| m.contains("zugferd-invoice.xml")),
        "{v}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bare_cii_and_ubl_uploads_are_read_and_hostile_xml_is_refused() {
    let st = ready(&[]);
    let upload = |name: &str| {
        post(
            "/v1/extract",
            multipart(&[("file", Some("x.xml"), &einvoice_fixture(name))]),
        )
    };
    let (s, _, v) = send(&st, upload("ubl-peppol-en-invoice.xml")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["meta"]["kind"], "xml");
    assert_eq!(v["meta"]["pages"], 0);
    assert_eq!(v["meta"]["backend"], "embedded-xml");
    assert_eq!(v["data"]["merchant"], "Northwind Traders Ltd");
    assert_eq!(v["data"]["currency"], "GBP");
    assert_eq!(v["data"]["total"], "1200.00");
    assert_eq!(v["data"]["tax_amount"], "200.00");

    let (s, _, v) = send(&st, upload("cii-facturx-fr-avoir.xml")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["data"]["total"], "-144.00", "a credit note is negative");
    assert_eq!(v["data"]["merchant"], "Papeterie Lefèvre SARL");
    assert_eq!(v["warnings"][0]["code"], "credit_note");

    for (file, status, code) in [
        ("hostile-xxe.xml", 422, "einvoice_dtd_refused"),
        ("hostile-entity-expansion.xml", 422, "einvoice_dtd_refused"),
        ("hostile-truncated.xml", 422, "invalid_einvoice_xml"),
        ("bad-amount.xml", 422, "invalid_einvoice_xml"),
        ("not-an-invoice.xml", 415, "unsupported_format"),
    ] {
        let (s, h, v) = send(&st, upload(file)).await;
        assert_eq!(s.as_u16(), status, "{file}: {v}");
        assert_problem(&h, &v, status, code);
        assert!(!v.to_string().contains("root:x:0"), "{file}: {v}");
    }
    // XML is a type like the others: it can be switched off.
    let png_only = ready(&["--allowed-content-types", "image/png"]);
    let (s, h, v) = send(&png_only, upload("ubl-peppol-en-invoice.xml")).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{v}");
    assert_problem(&h, &v, 415, "unsupported_format");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_with_hostile_xml_loses_none_of_its_other_files() {
    let st = ready(&[]);
    let good = einvoice_fixture("zugferd1-de-rechnung.xml");
    let xxe = einvoice_fixture("hostile-xxe.xml");
    let pdf = sample("facturx-muster-buerobedarf.pdf");
    let body = multipart(&[
        ("files[]", Some("a.xml"), &good),
        ("files[]", Some("b.xml"), &xxe),
        ("files[]", Some("c.pdf"), &pdf),
    ]);
    let (s, _, v) = send(&st, post("/v1/extract-batch", body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["succeeded"], 2);
    assert_eq!(v["items"][0]["result"]["data"]["total"], "235.62");
    assert_eq!(v["items"][1]["status"], 422);
    assert_eq!(v["items"][1]["error"]["code"], "einvoice_dtd_refused");
    assert_eq!(v["items"][2]["result"]["data"]["total"], "268.35");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sideways_photo_is_read_turned_and_its_evidence_is_on_the_image_sent() {
    let st = ready(&[]);
    let upright_png = sample("receipt-kedai-runcit.png");
    let upright = image::load_from_memory(&upright_png)
        .expect("decodes")
        .to_rgb8();
    // Photographed turned counter-clockwise: read after a clockwise turn of 90°.
    let turned = image::imageops::rotate270(&upright);
    let mut png = std::io::Cursor::new(Vec::new());
    turned
        .write_to(&mut png, image::ImageFormat::Png)
        .expect("encodes");
    let req = |bytes: &[u8]| {
        post(
            "/v1/extract?include=timings,ocr",
            multipart(&[("file", Some("r.png"), bytes)]),
        )
    };
    let (s, _, a) = send(&st, req(&upright_png)).await;
    assert_eq!(s, StatusCode::OK, "{a}");
    let (s, _, b) = send(&st, req(png.get_ref())).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["data"], a["data"], "the same fields either way");
    assert_eq!(a["meta"]["page_timings"][0]["rotation"], 0);
    assert_eq!(b["meta"]["page_timings"][0]["rotation"], 90);
    // The OCR Document too is on the image sent: its size, and the turn it was read with.
    assert_eq!(b["ocr"]["pages"][0]["rotation"], 90);
    assert_eq!(b["ocr"]["pages"][0]["width"], turned.width());
    assert_eq!(b["ocr"]["pages"][0]["height"], turned.height());
    assert!(a["ocr"]["pages"][0].get("rotation").is_none());
    // The upright box (x, y) lies at (y, W - x) on the image sent.
    let w = upright.width() as f64;
    let ua = &a["fields"]["total"]["evidence"]["bbox"];
    let tb = &b["fields"]["total"]["evidence"]["bbox"];
    let f = |v: &Value, i: usize| v[i].as_f64().expect("number");
    let want = [f(ua, 1), w - f(ua, 2), f(ua, 3), w - f(ua, 0)];
    for (i, want) in want.iter().enumerate() {
        assert!(
            (f(tb, i) - want).abs() < 3.0,
            "{tb} vs {want:?} (upright {ua})"
        );
    }
}
