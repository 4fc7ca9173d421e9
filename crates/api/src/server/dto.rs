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
    /// The items, top to bottom (values only; `line_items` at the top level has each one's
    /// confidence and evidence).
    pub line_items: Vec<LineItemData>,
    /// The tax summary, one row per rate (values only; see `tax_breakdown` at the top level).
    pub tax_breakdown: Vec<TaxLineData>,
}

/// One item's values: decimal strings, never float-rounded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineItemData {
    #[schema(example = "Übernachtung 2 Nächte Hotel")]
    pub description: Option<String>,
    /// Plain decimal, no unit.
    #[schema(example = "2")]
    pub quantity: Option<String>,
    #[schema(example = "79.44")]
    pub unit_price: Option<String>,
    /// Negative for discounts and returns.
    #[schema(example = "158.88")]
    pub amount: Option<String>,
}

/// One tax rate's values.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaxLineData {
    /// Percent.
    #[schema(example = "19")]
    pub rate: Option<String>,
    /// The net amount taxed at that rate.
    #[schema(example = "11.76")]
    pub base: Option<String>,
    /// The tax at that rate.
    #[schema(example = "2.23")]
    pub amount: Option<String>,
}

/// One item with how it was found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LineItemOut {
    #[serde(flatten)]
    pub data: LineItemData,
    /// 0..1: raised when quantity × unit price is the amount and the items add up to the
    /// subtotal or total, lowered when not.
    pub confidence: f32,
    /// The item's words (every line of a wrapped description) and their box.
    pub evidence: Option<EvidenceOut>,
}

/// One tax rate with how it was found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TaxLineOut {
    #[serde(flatten)]
    pub data: TaxLineData,
    pub confidence: f32,
    pub evidence: Option<EvidenceOut>,
}

impl From<&kie::LineItem> for LineItemData {
    fn from(i: &kie::LineItem) -> Self {
        LineItemData {
            description: i.description.clone(),
            quantity: i.quantity.clone(),
            unit_price: i.unit_price.clone(),
            amount: i.amount.clone(),
        }
    }
}

impl From<&kie::TaxLine> for TaxLineData {
    fn from(t: &kie::TaxLine) -> Self {
        TaxLineData {
            rate: t.rate.clone(),
            base: t.base.clone(),
            amount: t.amount.clone(),
        }
    }
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
    /// The items with their confidence and evidence (`fields=line_items` selects them).
    pub line_items: Vec<LineItemOut>,
    /// The tax rows with their confidence and evidence (`fields=tax_breakdown`).
    pub tax_breakdown: Vec<TaxLineOut>,
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
                line_items: x.line_items.iter().map(LineItemData::from).collect(),
                tax_breakdown: x.tax_breakdown.iter().map(TaxLineData::from).collect(),
            },
            fields,
            line_items: x
                .line_items
                .iter()
                .map(|i| LineItemOut {
                    data: i.into(),
                    confidence: i.confidence,
                    evidence: i
                        .evidence
                        .as_ref()
                        .map(|e| EvidenceOut::new(e, &out.document)),
                })
                .collect(),
            tax_breakdown: x
                .tax_breakdown
                .iter()
                .map(|t| TaxLineOut {
                    data: t.into(),
                    confidence: t.confidence,
                    evidence: t
                        .evidence
                        .as_ref()
                        .map(|e| EvidenceOut::new(e, &out.document)),
                })
                .collect(),
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
