//! The KIE interface.

use ocr_document::{BBox, OcrDocument};
use rules::{LocaleHints, NormalizedField, RawFields, RuleContext, Warning};
use serde::{Deserialize, Serialize};

/// The six fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldName {
    Merchant,
    Date,
    Currency,
    Subtotal,
    TaxAmount,
    Total,
}

impl FieldName {
    pub const ALL: [FieldName; 6] = [
        FieldName::Merchant,
        FieldName::Date,
        FieldName::Currency,
        FieldName::Subtotal,
        FieldName::TaxAmount,
        FieldName::Total,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FieldName::Merchant => "merchant",
            FieldName::Date => "date",
            FieldName::Currency => "currency",
            FieldName::Subtotal => "subtotal",
            FieldName::TaxAmount => "tax_amount",
            FieldName::Total => "total",
        }
    }
}

impl std::str::FromStr for FieldName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FieldName::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| format!("unknown field '{s}' (known: merchant, date, currency, subtotal, tax_amount, total)"))
    }
}

/// What a value was read from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EvidenceSource {
    /// Words of a page (text layer or OCR): `page`, `words` and `bbox` locate them.
    #[default]
    Page,
    /// An e-invoice's XML (embedded in the PDF, or the upload itself): `path` names the
    /// element; `page`, `words` and `bbox` are empty.
    EmbeddedXml,
}

/// Where on the document a value was read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// 0-based page.
    pub page: usize,
    /// Indices into that page's `words`.
    pub words: Vec<usize>,
    /// The words' box in page pixels.
    pub bbox: BBox,
    /// The words' text as read (for XML, the element's text).
    pub text: String,
    #[serde(default)]
    pub source: EvidenceSource,
    /// The XML element's path, for [`EvidenceSource::EmbeddedXml`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Evidence {
    /// Evidence on a page: the words `words` of page `page`, their box and text.
    pub fn on_page(page: usize, words: Vec<usize>, bbox: BBox, text: String) -> Evidence {
        Evidence {
            page,
            words,
            bbox,
            text,
            source: EvidenceSource::Page,
            path: None,
        }
    }

    /// Evidence in an e-invoice's XML: the element at `path` with its text.
    pub fn in_xml(path: String, text: String) -> Evidence {
        Evidence {
            page: 0,
            words: Vec::new(),
            bbox: [0.0; 4],
            text,
            source: EvidenceSource::EmbeddedXml,
            path: Some(path),
        }
    }
}

/// One extracted field.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Field {
    /// Normalised by the rules (`YYYY-MM-DD`, ISO 4217, plain decimal string).
    pub value: Option<String>,
    /// What the backend found before normalisation.
    pub raw: Option<String>,
    /// 0..1; low when guessing.
    pub confidence: f32,
    pub evidence: Option<Evidence>,
}

/// One item of the document, normalised by the rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LineItem {
    pub description: Option<String>,
    /// Plain decimal, no unit (`2`, `1.5`).
    pub quantity: Option<String>,
    pub unit_price: Option<String>,
    /// Negative for discounts and returns.
    pub amount: Option<String>,
    /// 0..1: the backend's, raised when quantity × unit price is the amount and the items add
    /// up to the subtotal or total, lowered when not.
    pub confidence: f32,
    /// The item's words (every line of a wrapped description), their box and text.
    pub evidence: Option<Evidence>,
}

/// One row of the tax summary (one rate), normalised by the rules.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TaxLine {
    /// Percent (`19`, `5.5`).
    pub rate: Option<String>,
    /// The net amount taxed at that rate.
    pub base: Option<String>,
    /// The tax at that rate.
    pub amount: Option<String>,
    pub confidence: f32,
    pub evidence: Option<Evidence>,
}

/// The lists beside the six fields, selectable like them (`fields=line_items`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ListName {
    LineItems,
    TaxBreakdown,
}

impl ListName {
    pub const ALL: [ListName; 2] = [ListName::LineItems, ListName::TaxBreakdown];

    pub fn as_str(self) -> &'static str {
        match self {
            ListName::LineItems => "line_items",
            ListName::TaxBreakdown => "tax_breakdown",
        }
    }
}

/// The fields and lists a `fields=` selection names (`None`: all of them).
pub type Selection = (Option<Vec<FieldName>>, Option<Vec<ListName>>);

/// A `fields=` selection: the named fields and lists; everything when none is named.
/// Unknown names are an error naming the known ones.
pub fn parse_selection<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<Selection, String> {
    let mut fields = Vec::new();
    let mut lists = Vec::new();
    for name in names.into_iter().map(str::trim).filter(|n| !n.is_empty()) {
        if let Some(l) = ListName::ALL.into_iter().find(|l| l.as_str() == name) {
            lists.push(l);
            continue;
        }
        match name.parse::<FieldName>() {
            Ok(f) => fields.push(f),
            Err(_) => {
                return Err(format!(
                    "unknown field '{name}' (known: merchant, date, currency, subtotal, \
                     tax_amount, total, line_items, tax_breakdown)"
                ));
            }
        }
    }
    if fields.is_empty() && lists.is_empty() {
        return Ok((None, None));
    }
    Ok((Some(fields), Some(lists)))
}

/// A backend's answer for one document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Extraction {
    pub merchant: Field,
    pub date: Field,
    pub currency: Field,
    pub subtotal: Field,
    pub tax_amount: Field,
    pub total: Field,
    /// The items, top to bottom (empty when the backend reads none).
    #[serde(default)]
    pub line_items: Vec<LineItem>,
    /// The tax summary, one row per rate (empty when the document prints none).
    #[serde(default)]
    pub tax_breakdown: Vec<TaxLine>,
    pub warnings: Vec<Warning>,
    /// Time the backend spent in the normalisation and validation rules (ms), reported
    /// apart from the backend's own work in `meta.timings_ms.rules`.
    #[serde(skip)]
    pub rules_ms: f64,
}

impl From<NormalizedField> for Field {
    fn from(n: NormalizedField) -> Self {
        Field {
            value: n.value,
            raw: n.raw,
            confidence: n.confidence.clamp(0.0, 1.0),
            evidence: None,
        }
    }
}

impl Extraction {
    /// A backend's raw strings through the rules: normalised values, confidences, warnings
    /// and the time the rules took (`rules_ms`); evidence is the backend's to add.
    pub fn from_raw(raw: &RawFields, ctx: &RuleContext) -> Extraction {
        let t = std::time::Instant::now();
        let n = rules::normalize(raw, ctx);
        Extraction {
            merchant: n.merchant.into(),
            date: n.date.into(),
            currency: n.currency.into(),
            subtotal: n.subtotal.into(),
            tax_amount: n.tax_amount.into(),
            total: n.total.into(),
            line_items: n
                .line_items
                .into_iter()
                .map(|i| LineItem {
                    description: i.description,
                    quantity: i.quantity,
                    unit_price: i.unit_price,
                    amount: i.amount,
                    confidence: i.confidence,
                    evidence: None,
                })
                .collect(),
            tax_breakdown: n
                .tax_breakdown
                .into_iter()
                .map(|t| TaxLine {
                    rate: t.rate,
                    base: t.base,
                    amount: t.amount,
                    confidence: t.confidence,
                    evidence: None,
                })
                .collect(),
            warnings: n.warnings,
            rules_ms: t.elapsed().as_secs_f64() * 1e3,
        }
    }

    pub fn field(&self, name: FieldName) -> &Field {
        match name {
            FieldName::Merchant => &self.merchant,
            FieldName::Date => &self.date,
            FieldName::Currency => &self.currency,
            FieldName::Subtotal => &self.subtotal,
            FieldName::TaxAmount => &self.tax_amount,
            FieldName::Total => &self.total,
        }
    }

    pub fn field_mut(&mut self, name: FieldName) -> &mut Field {
        match name {
            FieldName::Merchant => &mut self.merchant,
            FieldName::Date => &mut self.date,
            FieldName::Currency => &mut self.currency,
            FieldName::Subtotal => &mut self.subtotal,
            FieldName::TaxAmount => &mut self.tax_amount,
            FieldName::Total => &mut self.total,
        }
    }
}

/// One page as decoded pixels — the image as sent, or the PDF page as rendered — for backends
/// that look at pages (vision models, TILT's visual branch). Shared, never copied.
#[derive(Clone, PartialEq)]
pub struct PageImage(pub std::sync::Arc<image::RgbImage>);

impl PageImage {
    pub fn new(img: image::RgbImage) -> Self {
        PageImage(std::sync::Arc::new(img))
    }
}

impl std::fmt::Debug for PageImage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PageImage({}×{})", self.0.width(), self.0.height())
    }
}

/// What a caller asks of a backend.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExtractOptions {
    /// Locale hints and today's date for the rules; `rules.enabled = false` passes raw values.
    pub rules: RuleContext,
    /// Fields wanted (others come back empty); `None` for all.
    pub fields: Option<Vec<FieldName>>,
    /// Lists wanted (others come back empty); `None` for all.
    pub lists: Option<Vec<ListName>>,
    /// The pages as images, given to backends whose [`KieBackend::wants_page_images`] is true.
    pub page_images: Vec<PageImage>,
}

impl ExtractOptions {
    pub fn hints(&self) -> &LocaleHints {
        &self.rules.hints
    }

    pub fn wants(&self, f: FieldName) -> bool {
        self.fields.as_ref().is_none_or(|v| v.contains(&f))
    }

    pub fn wants_list(&self, l: ListName) -> bool {
        self.lists.as_ref().is_none_or(|v| v.contains(&l))
    }

    /// Empties the fields and lists not asked for.
    pub fn select(&self, x: &mut Extraction) {
        for name in FieldName::ALL {
            if !self.wants(name) {
                *x.field_mut(name) = Field::default();
            }
        }
        if !self.wants_list(ListName::LineItems) {
            x.line_items.clear();
        }
        if !self.wants_list(ListName::TaxBreakdown) {
            x.tax_breakdown.clear();
        }
    }

    /// The wanted fields, in [`FieldName::ALL`] order.
    pub fn wanted_fields(&self) -> Vec<FieldName> {
        FieldName::ALL
            .into_iter()
            .filter(|f| self.wants(*f))
            .collect()
    }
}

/// The error a backend's failure came from (a client error, a model error), kept as its cause.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a backend could not answer. Each kind owns its stable [`code`](KieError::code); the
/// error it came from, when there is one, is its [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
pub enum KieError {
    #[error("the document has no pages")]
    EmptyDocument,
    #[error("backend {backend} is unavailable: {message}")]
    Unavailable {
        backend: String,
        message: String,
        #[source]
        source: Option<BoxError>,
    },
    #[error("backend {backend} timed out")]
    Timeout { backend: String },
    #[error("backend {backend} answered badly: {message}")]
    BadAnswer {
        backend: String,
        message: String,
        #[source]
        source: Option<BoxError>,
    },
}

impl KieError {
    /// The backend cannot answer now (not loaded, not reachable, overloaded).
    pub fn unavailable(backend: &str, message: impl Into<String>) -> Self {
        KieError::Unavailable {
            backend: backend.into(),
            message: message.into(),
            source: None,
        }
    }

    /// The backend answered, but not with something usable.
    pub fn bad_answer(backend: &str, message: impl Into<String>) -> Self {
        KieError::BadAnswer {
            backend: backend.into(),
            message: message.into(),
            source: None,
        }
    }

    pub fn timeout(backend: &str) -> Self {
        KieError::Timeout {
            backend: backend.into(),
        }
    }

    /// The same failure with the error it came from as its source.
    pub fn caused_by(mut self, cause: impl Into<BoxError>) -> Self {
        if let KieError::Unavailable { source, .. } | KieError::BadAnswer { source, .. } = &mut self
        {
            *source = Some(cause.into());
        }
        self
    }

    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            KieError::EmptyDocument => "empty_document",
            KieError::Unavailable { .. } => "backend_unavailable",
            KieError::Timeout { .. } => "backend_timeout",
            KieError::BadAnswer { .. } => "backend_bad_answer",
        }
    }
}

/// A key-information-extraction backend.
pub trait KieBackend: Send + Sync {
    /// The backend's name (`layout`, `tilt`, `openai`).
    fn name(&self) -> &str;
    /// The model or ruleset version reported in `meta.model_version`.
    fn model_version(&self) -> String;
    fn extract(&self, doc: &OcrDocument, opts: &ExtractOptions) -> Result<Extraction, KieError>;
    /// Whether the backend can answer now. In-process backends that loaded are always able
    /// to; remote ones check their server.
    fn health(&self) -> Result<(), KieError> {
        Ok(())
    }
    /// Whether the backend reads page images (then callers fill `ExtractOptions::page_images`).
    fn wants_page_images(&self) -> bool {
        false
    }
    /// Whether a circuit breaker is refusing calls now (remote backends); cheap, no I/O.
    fn circuit_open(&self) -> bool {
        false
    }
}

impl std::fmt::Debug for dyn KieBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KieBackend({})", self.name())
    }
}
