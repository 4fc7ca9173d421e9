//! A poison document — one whose reading panics inside the engine — fails its job after its
//! attempts, and the same worker goes on to the next job. In process: the real server loop with
//! one worker, the embedded store, and a fake engine that panics on small images.

mod oneshot;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use image::RgbImage;
use ocr_core::{EngineInfo, FakeOcr, Page, PageReader};
use ocrlty::pipeline::Pipeline;
use ocrlty::server::{AppState, JobsConfig, Role, serve};
use oneshot::{multipart, post, receipt_reader, sample, send, settings};

/// Reads like [`receipt_reader`], but panics on any image under 100 px wide.
#[derive(Debug)]
struct Poisoned(FakeOcr);

impl PageReader for Poisoned {
    fn recognize(&self, img: &RgbImage) -> ocr_core::Result<Page> {
        assert!(img.width() >= 100, "poison: the engine blew up");
        self.0.recognize(img)
    }
    fn info(&self) -> &EngineInfo {
        self.0.info()
    }
    fn max_pixels(&self) -> u64 {
        self.0.max_pixels()
    }
}

fn tiny_png() -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    RgbImage::from_pixel(40, 40, image::Rgb([255, 255, 255]))
        .write_to(&mut out, image::ImageFormat::Png)
        .expect("png");
    out.into_inner()
}

async fn job(st: &AppState, id: &str) -> serde_json::Value {
    let req = Request::get(format!("/v1/jobs/{id}"))
        .body(Body::empty())
        .expect("request");
    send(st, req).await.2
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_document_fails_alone_and_the_worker_goes_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = jobs::SqliteStore::open(
        &dir.path().join("jobs.sqlite3"),
        jobs::StoreSettings {
            max_attempts: 2,
            retry_backoff: Duration::from_millis(50),
            ..jobs::StoreSettings::default()
        },
    )
    .await
    .expect("store");
    let st = AppState::with_jobs(
        settings(&[]),
        Some(JobsConfig {
            store: Arc::new(store),
            workers: 1,
            allowed_hosts: jobs::webhook::AllowedHosts::default(),
            webhook_secret: String::new(),
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let load = || {
        Pipeline::builder()
            .reader(Arc::new(Poisoned(receipt_reader())))
            .without_pdfium()
            .build()
            .map_err(|e| e.to_string())
    };
    tokio::spawn(serve(
        listener,
        st.clone(),
        Role::Worker,
        load,
        Duration::from_secs(1),
    ));

    let submit = |bytes: Vec<u8>| {
        let st = st.clone();
        async move {
            let (status, _, v) = send(
                &st,
                post("/v1/jobs", multipart(&[("file", Some("d.png"), &bytes)])),
            )
            .await;
            assert_eq!(status, 202, "{v}");
            v["job_id"].as_str().expect("id").to_string()
        }
    };
    let poison = submit(tiny_png()).await;
    let good = submit(sample("receipt-kedai-runcit.png")).await;

    let deadline = Instant::now() + Duration::from_secs(60);
    let (p, g) = loop {
        let (p, g) = (job(&st, &poison).await, job(&st, &good).await);
        if p["status"] == "failed" && g["status"] == "succeeded" {
            break (p, g);
        }
        assert!(Instant::now() < deadline, "poison {p}\ngood {g}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(p["attempts"], 2, "a server-side failure is retried: {p}");
    assert_eq!(p["error"]["code"], "internal_error", "{p}");
    assert!(p["result"].is_null());
    assert_eq!(g["result"]["data"]["total"], "65.50", "{g}");
    assert_eq!(g["attempts"], 1);
}
