//! What the API sends back, as typed structs: the OpenAPI schema is generated from them, so
//! the documentation and the wire cannot drift apart.

use std::collections::BTreeMap;

use kie::{Extraction, FieldName};
use serde::Serialize;
use utoipa::ToSchema;

use crate::document::PageReport;
use crate::pipeline::{ExtractOutput, StageTimings};

/// The six normalised values (null when not found).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExtractData {
    #[schema(example = "KEDAI RUNCIT MAJU SDN BHD")]
    pub merchant: Option<String>,
    /// `YYYY-MM-DD`.
    #[schema(example = "2024-03-18")]
    pub date: Option<String>,
    /// ISO 4217.
    #[schema(example = "MYR")]
    pub currency: Option<String>,
    /// Decimal string, never float-rounded.
    #[schema(example = "40.00")]
    pub subtotal: Option<String>,
    #[schema(example = "2.40")]
    pub tax_amount: Option<String>,
    #[schema(example = "42.40")]
    pub total: Option<String>,
}

/// Where a value was read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct EvidenceOut {
    /// `page` (words of a page) or `embedded-xml` (an e-invoice's XML: see `path`).
    #[schema(example = "page")]
    pub source: String,
    /// 0-based page; null for XML.
    pub page: Option<usize>,
    /// Indices into that page's words (empty for XML).
    pub words: Vec<usize>,
    /// `[x1, y1, x2, y2]` in the pixels of the page as sent (EXIF-corrected); null for XML.
    pub bbox: Option<[f32; 4]>,
    /// The words as read, or the XML element's text.
    pub text: String,
    /// The XML element's path (`/rsm:CrossIndustryInvoice/.../ram:GrandTotalAmount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl EvidenceOut {
    /// The evidence with its box on the page as it was sent (a page read turned has its boxes
    /// turned back).
    pub fn new(e: &kie::Evidence, doc: &ocr_document::OcrDocument) -> Self {
        let on_page = e.source == kie::EvidenceSource::Page;
        let bbox = match doc.pages.get(e.page) {
            Some(p) => p.to_source(e.bbox),
            None => e.bbox,
        };
        EvidenceOut {
            source: match e.source {
                kie::EvidenceSource::Page => "page".into(),
                kie::EvidenceSource::EmbeddedXml => "embedded-xml".into(),
            },
            page: on_page.then_some(e.page),
            words: e.words.clone(),
            bbox: on_page.then_some(bbox),
            text: e.text.clone(),
            path: e.path.clone(),
        }
    }
}

/// One field with how it was found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldOut {
    pub value: Option<String>,
    /// The backend's string before normalisation.
    pub raw: Option<String>,
    /// 0..1.
    pub confidence: f32,
    pub evidence: Option<EvidenceOut>,
}

/// A rule that did not hold (the value is kept as read).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct WarningOut {
    /// Stable, e.g. `mismatch.total`.
    pub code: String,
    pub message: String,
}

/// Milliseconds per stage.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimingsOut {
    pub decode: f64,
    pub ocr: f64,
    pub kie: f64,
    pub rules: f64,
    pub total: f64,
}

impl From<StageTimings> for TimingsOut {
    fn from(t: StageTimings) -> Self {
        TimingsOut {
            decode: t.decode,
            ocr: t.ocr,
            kie: t.kie,
            rules: t.rules,
            total: t.total,
        }
    }
}

/// How one page was read.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PageTimingOut {
    pub index: usize,
    /// `text-layer` or `ocr`.
    pub source: String,
    /// Degrees (0, 90, 180, 270) the page's image was turned clockwise before it was read.
    pub rotation: u16,
    pub ms: f64,
    /// det/cls/rec milliseconds (OCR pages).
    #[schema(value_type = Option<Object>)]
    pub ocr: Option<serde_json::Value>,
}

impl From<&PageReport> for PageTimingOut {
    fn from(p: &PageReport) -> Self {
        PageTimingOut {
            index: p.index,
            source: match p.source {
                ocr_document::PageSource::TextLayer => "text-layer".into(),
                ocr_document::PageSource::Ocr => "ocr".into(),
            },
            rotation: p.rotation,
            ms: p.ms,
            ocr: p.ocr.as_ref().and_then(|t| serde_json::to_value(t).ok()),
        }
    }
}

/// About the answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MetaOut {
    pub request_id: String,
    /// The backend's model or ruleset version.
    pub model_version: String,
    pub ruleset_version: String,
    pub backend: String,
    /// The OCR model set.
    pub ocr_model: String,
    /// Detected document type (`pdf`, `png`, ...).
    pub kind: String,
    pub pages: usize,
    /// `hit` when the same bytes with the same options were answered before.
    pub cache: String,
    /// Of the run that produced the result (on a cache hit, the original run).
    pub timings_ms: TimingsOut,
    /// Per page, with `include=timings`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub page_timings: Option<Vec<PageTimingOut>>,
}

/// `POST /v1/extract`'s answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ExtractResponse {
    pub data: ExtractData,
    pub fields: BTreeMap<String, FieldOut>,
    pub warnings: Vec<WarningOut>,
    pub meta: MetaOut,
    /// The OCR Document (`pages[].{index,width,height,source,words,lines,rotation}`), with
    /// `include=ocr`. Its boxes are on each page as sent; `rotation` (clockwise degrees, absent
    /// when 0) says the page was turned before it was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ocr: Option<serde_json::Value>,
}

/// What the response should carry beyond the fields.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Include {
    pub ocr: bool,
    pub timings: bool,
}

impl ExtractResponse {
    pub fn build(
        out: &ExtractOutput,
        request_id: &str,
        ocr_model: &str,
        cache_hit: bool,
        include: Include,
    ) -> Self {
        let x: &Extraction = &out.extraction;
        let fields = FieldName::ALL
            .into_iter()
            .map(|n| {
                let f = x.field(n);
                (
                    n.as_str().to_string(),
                    FieldOut {
                        value: f.value.clone(),
                        raw: f.raw.clone(),
                        confidence: f.confidence,
                        evidence: f
                            .evidence
                            .as_ref()
                            .map(|e| EvidenceOut::new(e, &out.document)),
                    },
                )
            })
            .collect();
        ExtractResponse {
            data: ExtractData {
                merchant: x.merchant.value.clone(),
                date: x.date.value.clone(),
                currency: x.currency.value.clone(),
                subtotal: x.subtotal.value.clone(),
                tax_amount: x.tax_amount.value.clone(),
                total: x.total.value.clone(),
            },
            fields,
            warnings: x
                .warnings
                .iter()
                .map(|w| WarningOut {
                    code: w.code.clone(),
                    message: w.message.clone(),
                })
                .collect(),
            meta: MetaOut {
                request_id: request_id.to_string(),
                model_version: out.model_version.clone(),
                ruleset_version: rules::RULESET_VERSION.to_string(),
                backend: out.backend.clone(),
                ocr_model: ocr_model.to_string(),
                kind: format!("{:?}", out.kind).to_ascii_lowercase(),
                pages: out.document.pages.len(),
                cache: if cache_hit { "hit" } else { "miss" }.into(),
                timings_ms: out.timings.into(),
                page_timings: include
                    .timings
                    .then(|| out.pages.iter().map(PageTimingOut::from).collect()),
            },
            ocr: include
                .ocr
                .then(|| serde_json::to_value(source_frame(&out.document)).unwrap_or_default()),
        }
    }
}

/// The OCR Document with every box on the images as they were sent.
pub fn source_frame(doc: &ocr_document::OcrDocument) -> ocr_document::OcrDocument {
    ocr_document::OcrDocument {
        pages: doc.pages.iter().map(|p| p.in_source_frame()).collect(),
    }
}

/// One file of a batch: its result or its error, never both.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchItem {
    /// Position in the request.
    pub index: usize,
    /// The part's file name, when it had one.
    pub filename: Option<String>,
    /// HTTP status this file alone would have had.
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<ExtractResponse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<crate::server::problem::Problem>,
}

/// `POST /v1/extract-batch`'s answer: one item per file, in request order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchResponse {
    pub request_id: String,
    pub items: Vec<BatchItem>,
    /// Items that succeeded / failed.
    pub succeeded: usize,
    pub failed: usize,
}

/// `GET /v1/health`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`, `degraded` (the default backend cannot answer), `loading` or `failed`.
    pub status: String,
    pub version: String,
    pub uptime_s: f64,
    pub backends: Vec<BackendHealth>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BackendHealth {
    pub name: String,
    pub model_version: String,
    pub reachable: bool,
    /// Why not, when not (e.g. the circuit breaker is open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    pub default: bool,
}

/// `GET /version`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct VersionResponse {
    pub version: String,
    pub git_sha: String,
    pub build_time: String,
    pub ruleset_version: String,
    /// Null until the models have loaded.
    pub ocr_model: Option<String>,
    pub execution_provider: Option<String>,
    /// Backend name → model version.
    pub backends: BTreeMap<String, String>,
}
