//! The whole extraction for one document, as a library call: bytes → OCR Document → KIE
//! backend → normalised fields. The server and the CLI both go through [`Pipeline::extract`];
//! other Rust services can embed it the same way.
//!
//! ```no_run
//! use ocrlty::pipeline::{ExtractRequest, Pipeline};
//!
//! let pipeline = Pipeline::builder().build()?; // default OCR models, the layout backend
//! let bytes = std::fs::read("samples/receipt-kedai-runcit.png")?;
//! let out = pipeline.extract(&bytes, &ExtractRequest::default())?;
//! println!("{:?}", out.extraction.total.value);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

use doc_input::{DocumentKind, PdfLibrary, PdfOptions};
use kie::{ExtractOptions, Extraction, KieBackend, KieError, LayoutBackend};
use ocr_core::{OcrConfig, OcrEngine, OcrError, PageReader};
use ocr_document::OcrDocument;
use serde::Serialize;

use crate::document::{DocumentError, PageReport, ReadDocument, ReadOptions, read_document_with};
use crate::embedded::{self, EmbeddedInvoice, InvoiceXml};

/// Why a document produced no extraction.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Document(#[from] DocumentError),
    #[error("unknown backend '{name}' (available: {available})")]
    UnknownBackend { name: String, available: String },
    #[error("{0}")]
    Kie(#[source] KieError),
}

/// What kind of failure an error is, for whoever answers for it (an HTTP status, an exit code,
/// a job's retry): the one table from errors to kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The bytes are no document type we read.
    UnsupportedFormat,
    /// The document is at fault: corrupt, encrypted, too large, no pages, bad e-invoice XML.
    Unprocessable,
    /// The request is at fault (an unknown backend).
    BadRequest,
    /// The backend cannot answer now.
    BackendUnavailable,
    /// The backend took too long.
    BackendTimeout,
    /// The backend answered with something unusable.
    BackendBadAnswer,
    /// The service is at fault (a model that failed to run, a missing library).
    Internal,
}

impl PipelineError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            PipelineError::Document(e) => e.code(),
            PipelineError::UnknownBackend { .. } => "unknown_backend",
            PipelineError::Kie(e) => e.code(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            PipelineError::Document(e) => e.kind(),
            PipelineError::UnknownBackend { .. } => ErrorKind::BadRequest,
            PipelineError::Kie(e) => match e {
                KieError::EmptyDocument => ErrorKind::Unprocessable,
                KieError::Unavailable { .. } => ErrorKind::BackendUnavailable,
                KieError::Timeout { .. } => ErrorKind::BackendTimeout,
                KieError::BadAnswer { .. } => ErrorKind::BackendBadAnswer,
            },
        }
    }
}

/// What one extraction is asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractRequest {
    /// Backend name; `None` for the pipeline's default.
    pub backend: Option<String>,
    /// Hints, rules switch and wanted fields.
    pub options: ExtractOptions,
    /// How a PDF's embedded e-invoice XML is used.
    pub embedded_invoice: EmbeddedInvoice,
    /// Return the page images in [`ExtractOutput::images`] (to draw on them).
    pub keep_images: bool,
}

/// Milliseconds per stage. `decode` covers sniffing, opening PDFs, text layers, rendering and
/// image decoding; `ocr` the det/cls/rec models; `kie` the backend without its rules; `rules`
/// normalisation and validation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StageTimings {
    pub decode: f64,
    pub ocr: f64,
    pub kie: f64,
    pub rules: f64,
    pub total: f64,
}

/// One document's extraction with everything needed to explain it.
#[derive(Debug, Clone)]
pub struct ExtractOutput {
    pub kind: DocumentKind,
    pub document: OcrDocument,
    pub pages: Vec<PageReport>,
    pub extraction: Extraction,
    pub backend: String,
    pub model_version: String,
    pub timings: StageTimings,
    /// The page images as read, when [`ExtractRequest::keep_images`] asked for them.
    pub images: Vec<kie::PageImage>,
}

/// Builds a [`Pipeline`]: OCR configuration, PDF options and backends.
#[derive(Debug)]
pub struct PipelineBuilder {
    ocr: Option<OcrConfig>,
    reader: Option<Arc<dyn PageReader>>,
    bind_pdfium: bool,
    pdf: PdfOptions,
    backends: Vec<Arc<dyn KieBackend>>,
    default_backend: String,
}

impl PipelineBuilder {
    /// The OCR engine's configuration (default: PP-OCRv6 from the default model folder).
    pub fn ocr(mut self, cfg: OcrConfig) -> Self {
        self.ocr = Some(cfg);
        self
    }

    /// Reads pages with `reader` instead of loading an OCR engine (no ONNX Runtime, no
    /// models): [`ocr_core::FakeOcr`] in tests, or an engine of the caller's.
    pub fn reader(mut self, reader: Arc<dyn PageReader>) -> Self {
        self.reader = Some(reader);
        self
    }

    /// Builds without binding libpdfium up front (for embedders and tests that read only
    /// images and XML): a PDF that arrives binds it then, and fails with the bind error when
    /// the library is missing.
    pub fn without_pdfium(mut self) -> Self {
        self.bind_pdfium = false;
        self
    }

    pub fn pdf(mut self, opts: PdfOptions) -> Self {
        self.pdf = opts;
        self
    }

    /// Adds a backend (the layout backend is always there).
    pub fn backend(mut self, b: Arc<dyn KieBackend>) -> Self {
        self.backends.retain(|x| x.name() != b.name());
        self.backends.push(b);
        self
    }

    /// Adds the `openai` backend when a server is configured (connecting reads `/v1/models`;
    /// a server that is down now is not an error).
    pub fn openai(self, cfg: Option<kie_openai::OpenAiConfig>) -> Result<Self, PipelineError> {
        match cfg {
            None => Ok(self),
            Some(c) => {
                let b = kie_openai::OpenAiBackend::connect(c).map_err(PipelineError::Kie)?;
                Ok(self.backend(Arc::new(b)))
            }
        }
    }

    /// Adds the in-process `tilt` backend when a model directory is configured (loads it).
    #[cfg(feature = "tilt")]
    pub fn tilt(self, settings: Option<kie_tilt::TiltSettings>) -> Result<Self, PipelineError> {
        match settings {
            None => Ok(self),
            Some(s) => {
                let b = kie_tilt::TiltBackend::load(s).map_err(PipelineError::Kie)?;
                Ok(self.backend(Arc::new(b)))
            }
        }
    }

    /// The backend used when a request names none (default `layout`).
    pub fn default_backend(mut self, name: impl Into<String>) -> Self {
        self.default_backend = name.into();
        self
    }

    /// Loads and warms the OCR models and binds libpdfium.
    pub fn build(self) -> Result<Pipeline, PipelineError> {
        let backends: BTreeMap<String, Arc<dyn KieBackend>> = self
            .backends
            .into_iter()
            .map(|b| (b.name().to_string(), b))
            .collect();
        if !backends.contains_key(&self.default_backend) {
            if self.default_backend == "tilt" {
                return Err(PipelineError::Kie(KieError::unavailable(
                    "tilt",
                    if cfg!(feature = "tilt") {
                        "no model configured: set TILT_MODEL (or --tilt-model)"
                    } else {
                        "this ocrlty was built without the tilt backend (build it with \
                         `--features tilt`)"
                    },
                )));
            }
            if self.default_backend == "openai" {
                return Err(PipelineError::Kie(KieError::unavailable(
                    "openai",
                    "no server configured: set VLLM_BASE_URL (or --vllm-base-url)",
                )));
            }
            return Err(PipelineError::UnknownBackend {
                name: self.default_backend,
                available: backends.keys().cloned().collect::<Vec<_>>().join(", "),
            });
        }
        let engine: Arc<dyn PageReader> = match self.reader {
            Some(r) => r,
            None => {
                let cfg = self.ocr.unwrap_or_else(|| {
                    OcrConfig::with_models(
                        ocr_core::ModelPreset::V6.files(&ocr_core::default_model_dir()),
                    )
                });
                Arc::new(OcrEngine::new(cfg).map_err(DocumentError::Ocr)?)
            }
        };
        let pdfium = if self.bind_pdfium {
            Some(PdfLibrary::bind(None).map_err(DocumentError::Input)?)
        } else {
            None
        };
        Ok(Pipeline {
            engine,
            pdfium,
            pdf: self.pdf,
            backends,
            default_backend: self.default_backend,
        })
    }
}

/// The loaded pipeline. `extract` takes `&self` and may be called from many threads at once;
/// it is CPU-bound and blocking.
#[derive(Debug)]
pub struct Pipeline {
    engine: Arc<dyn PageReader>,
    pdfium: Option<&'static PdfLibrary>,
    pdf: PdfOptions,
    backends: BTreeMap<String, Arc<dyn KieBackend>>,
    default_backend: String,
}

impl Pipeline {
    pub fn builder() -> PipelineBuilder {
        PipelineBuilder {
            ocr: None,
            reader: None,
            bind_pdfium: true,
            pdf: PdfOptions::default(),
            backends: vec![Arc::new(LayoutBackend)],
            default_backend: "layout".into(),
        }
    }

    /// The OCR engine (or the reader given to the builder).
    pub fn engine(&self) -> &dyn PageReader {
        self.engine.as_ref()
    }

    pub fn default_backend(&self) -> &str {
        &self.default_backend
    }

    /// Backend names with their model versions.
    pub fn backends(&self) -> impl Iterator<Item = (&str, String)> {
        self.backends
            .iter()
            .map(|(n, b)| (n.as_str(), b.model_version()))
    }

    /// The backend a request names (or the default).
    pub fn backend(&self, name: Option<&str>) -> Result<&Arc<dyn KieBackend>, PipelineError> {
        let name = name.unwrap_or(&self.default_backend);
        self.backends
            .get(name)
            .ok_or_else(|| PipelineError::UnknownBackend {
                name: name.to_string(),
                available: self.backends.keys().cloned().collect::<Vec<_>>().join(", "),
            })
    }

    /// Reads every page of `bytes` and extracts the fields: [`Pipeline::sniff`], then the two
    /// phases [`Pipeline::read`] and [`Pipeline::kie`] (the server runs the same two, the first
    /// under an OCR slot).
    pub fn extract(
        &self,
        bytes: &[u8],
        req: &ExtractRequest,
    ) -> Result<ExtractOutput, PipelineError> {
        let kind = self.sniff(bytes)?;
        let read = self.read(kind, bytes, req)?;
        self.kie(read, req)
    }

    /// What the bytes are (from their magic bytes, never the declared type).
    pub fn sniff(&self, bytes: &[u8]) -> Result<DocumentKind, PipelineError> {
        sniff(bytes)
    }

    /// Phase one, CPU-bound: reads the document, sniffed as `kind`, once — every page into the
    /// OCR Document, the page images when the backend looks at pages or the request keeps
    /// them, and the e-invoice XML as the request asks.
    pub fn read(
        &self,
        kind: DocumentKind,
        bytes: &[u8],
        req: &ExtractRequest,
    ) -> Result<ReadDocument, PipelineError> {
        let backend = self.backend(req.backend.as_deref())?;
        let opts = ReadOptions {
            embedded: req.embedded_invoice,
            images: req.keep_images || backend.wants_page_images(),
        };
        Ok(read_document_with(
            kind,
            bytes,
            self.engine.as_ref(),
            self.pdfium,
            &self.pdf,
            opts,
        )?)
    }

    /// Phase two: the backend and its rules over a document read by [`Pipeline::read`] (given
    /// the page images when it looks at pages).
    /// When the read found a readable e-invoice XML, the fields come from it (backend
    /// `embedded-xml`) and the backend's reading of the pages, if any, only checks them.
    pub fn kie(
        &self,
        read: ReadDocument,
        req: &ExtractRequest,
    ) -> Result<ExtractOutput, PipelineError> {
        let backend = self.backend(req.backend.as_deref())?;
        let ocr_ms: f64 = read
            .pages
            .iter()
            .filter_map(|p| p.ocr.as_ref())
            .map(|t| t.total_ms)
            .sum();
        let t1 = Instant::now();
        let options = if backend.wants_page_images() {
            let mut o = req.options.clone();
            o.page_images = read.images.clone();
            std::borrow::Cow::Owned(o)
        } else {
            std::borrow::Cow::Borrowed(&req.options)
        };
        let options = options.as_ref();
        let mut source = (backend.name().to_string(), backend.model_version());
        let extraction = match &read.invoice {
            Some(InvoiceXml::Read { invoice, .. }) => {
                let mut x = embedded::extraction(invoice, options);
                if !read.document.pages.is_empty() {
                    match backend.extract(&read.document, options) {
                        Ok(pages) => x.warnings.extend(embedded::cross_check(&x, &pages)),
                        Err(e) => x.warnings.push(rules::Warning {
                            code: "embedded_xml.unchecked".into(),
                            message: format!(
                                "the pages could not be read to check the XML against: {e}"
                            ),
                        }),
                    }
                }
                source = (embedded::BACKEND_NAME.into(), embedded::model_version());
                x
            }
            broken_or_none => {
                let mut x = backend
                    .extract(&read.document, options)
                    .map_err(PipelineError::Kie)?;
                if let Some(InvoiceXml::Broken { name, error }) = broken_or_none {
                    x.warnings.push(rules::Warning {
                        code: "embedded_xml.invalid".into(),
                        message: format!(
                            "the embedded {name} could not be read ({error}); the fields are \
                             read from the pages"
                        ),
                    });
                }
                x
            }
        };
        let kie_ms = ms(t1);
        let timings = StageTimings {
            decode: (read.ms - ocr_ms).max(0.0),
            ocr: ocr_ms,
            kie: (kie_ms - extraction.rules_ms).max(0.0),
            rules: extraction.rules_ms,
            total: read.ms + kie_ms,
        };
        Ok(ExtractOutput {
            kind: read.kind,
            document: read.document,
            pages: read.pages,
            extraction,
            backend: source.0,
            model_version: source.1,
            timings,
            images: if req.keep_images {
                read.images
            } else {
                Vec::new()
            },
        })
    }

    /// Each backend: name, model version, and whether it can answer now (with the reason
    /// when not). Remote backends are asked over the network: call from a blocking thread.
    pub fn backend_health(&self) -> Vec<(String, String, Result<(), String>)> {
        self.backends
            .iter()
            .map(|(n, b)| {
                (
                    n.clone(),
                    b.model_version(),
                    b.health().map_err(|e| e.to_string()),
                )
            })
            .collect()
    }

    /// Backends whose circuit breaker is open now (no I/O).
    pub fn open_circuits(&self) -> Vec<(&str, bool)> {
        self.backends
            .iter()
            .map(|(n, b)| (n.as_str(), b.circuit_open()))
            .collect()
    }
}

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1e3
}

impl From<OcrError> for PipelineError {
    fn from(e: OcrError) -> Self {
        PipelineError::Document(DocumentError::Ocr(e))
    }
}

/// What the bytes are (from their magic bytes, never the declared type); needs no engine.
pub fn sniff(bytes: &[u8]) -> Result<DocumentKind, PipelineError> {
    doc_input::sniff(bytes).map_err(|e| PipelineError::Document(e.into()))
}
