//! Any accepted document → the OCR Document: sniffing, every PDF page through its text layer
//! or OCR, images through OCR.

use std::time::Instant;

use doc_input::{DocumentKind, InputError, PageContent, PdfLibrary, PdfOptions};
use ocr_core::{OcrError, PageReader, PageTimings};
use ocr_document::{DocPage, DocWord, OcrDocument, PageSource};
use serde::Serialize;

use crate::embedded::{EmbeddedInvoice, InvoiceXml};
use crate::pipeline::ErrorKind;

/// Why a document produced no OCR Document.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Ocr(#[from] OcrError),
    /// The upload is e-invoice XML that cannot be read, or (with `embedded_invoice=only`) the
    /// PDF's embedded one cannot.
    #[error("e-invoice XML: {0}")]
    EInvoice(#[from] einvoice::EInvoiceError),
    #[error(
        "the PDF carries no e-invoice XML (factur-x.xml, zugferd-invoice.xml, xrechnung.xml) \
         and embedded_invoice=only was asked for"
    )]
    NoEmbeddedInvoice,
}

impl DocumentError {
    pub fn code(&self) -> &'static str {
        match self {
            DocumentError::Input(e) => e.code(),
            DocumentError::Ocr(e) => e.code(),
            DocumentError::EInvoice(e) => e.code(),
            DocumentError::NoEmbeddedInvoice => "no_embedded_invoice",
        }
    }

    /// True when the document is at fault (4xx), false when the service is (5xx).
    pub fn is_input_error(&self) -> bool {
        match self {
            DocumentError::Input(e) => e.is_input_error(),
            DocumentError::Ocr(e) => e.is_input_error(),
            DocumentError::EInvoice(_) | DocumentError::NoEmbeddedInvoice => true,
        }
    }

    /// The kind of failure: an unknown format, a document at fault, or the service at fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            DocumentError::Input(InputError::UnsupportedFormat { .. })
            | DocumentError::Ocr(OcrError::UnsupportedFormat { .. }) => {
                ErrorKind::UnsupportedFormat
            }
            e if e.is_input_error() => ErrorKind::Unprocessable,
            _ => ErrorKind::Internal,
        }
    }
}

/// How long a page took, and on which path.
#[derive(Debug, Clone, Serialize)]
pub struct PageReport {
    pub index: usize,
    pub source: PageSource,
    /// Text-layer extraction or render + OCR, in ms.
    pub ms: f64,
    /// OCR stage timings (OCR pages only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr: Option<PageTimings>,
    /// Degrees the page's image was turned clockwise before it was read (OCR pages).
    pub rotation: u16,
}

/// A document read into an OCR Document.
#[derive(Debug, Clone, Serialize)]
pub struct ReadDocument {
    pub kind: DocumentKind,
    pub document: OcrDocument,
    pub pages: Vec<PageReport>,
    /// The whole read, sniffing and opening included, in ms.
    pub ms: f64,
    /// The e-invoice: the upload itself when it is XML, else the PDF's embedded one (unless
    /// embedded-invoice reading is off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoice: Option<InvoiceXml>,
    /// Each page's image as the OCR read it (before any turn) when [`ReadOptions::images`]
    /// asked for them: the decoded upload, or the PDF page rendered once.
    #[serde(skip)]
    pub images: Vec<kie::PageImage>,
}

/// What a read produces besides the OCR Document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// How a PDF's embedded e-invoice XML is read.
    pub embedded: EmbeddedInvoice,
    /// Keep every page's image (for a backend that looks at pages, or to draw on them).
    pub images: bool,
}

/// Reads every page of `bytes` (PDF, JPEG, PNG, TIFF or WebP, decided by magic bytes), with
/// embedded e-invoices ignored and no images kept. `pdfium` is needed only for PDFs.
pub fn read_document(
    bytes: &[u8],
    engine: &dyn PageReader,
    pdfium: Option<&PdfLibrary>,
    pdf: &PdfOptions,
) -> Result<ReadDocument, DocumentError> {
    let kind = doc_input::sniff(bytes)?;
    read_document_with(kind, bytes, engine, pdfium, pdf, ReadOptions::default())
}

/// Reads `bytes`, already sniffed as `kind`, once: every page into the OCR Document (a PDF
/// page through its text layer or rendered and OCR'd), the page images when `opts.images`, and
/// the e-invoice XML — an XML upload is parsed (an unreadable one is an error); a PDF's
/// embedded XML is looked for unless `opts.embedded` is off, and with
/// [`EmbeddedInvoice::Only`] it alone is read (no pages; none is an error).
pub fn read_document_with(
    kind: DocumentKind,
    bytes: &[u8],
    engine: &dyn PageReader,
    pdfium: Option<&PdfLibrary>,
    pdf: &PdfOptions,
    opts: ReadOptions,
) -> Result<ReadDocument, DocumentError> {
    let t0 = Instant::now();
    let mut read = ReadDocument {
        kind,
        document: OcrDocument::default(),
        pages: Vec::new(),
        ms: 0.0,
        invoice: None,
        images: Vec::new(),
    };
    let done = |mut read: ReadDocument| {
        read.ms = t0.elapsed().as_secs_f64() * 1e3;
        Ok(read)
    };
    if kind == DocumentKind::Xml {
        read.invoice = Some(InvoiceXml::Read {
            name: None,
            invoice: Box::new(einvoice::parse(bytes)?),
        });
        return done(read);
    }
    if kind.is_image() {
        let t = Instant::now();
        let image = ocr_core::decode_image(bytes, engine.max_pixels())?;
        let page = engine.recognize(&image)?;
        read.document.pages.push(ocr_page(0, &page));
        read.pages.push(PageReport {
            index: 0,
            source: PageSource::Ocr,
            ms: t.elapsed().as_secs_f64() * 1e3,
            ocr: Some(page.timings),
            rotation: page.rotation,
        });
        if opts.images {
            read.images.push(kie::PageImage::new(image));
        }
        return done(read);
    }
    let pdfium = match pdfium {
        Some(p) => p,
        None => PdfLibrary::bind(None)?,
    };
    let doc = pdfium.open(bytes, pdf)?;
    let attachment = match opts.embedded {
        EmbeddedInvoice::Off => None,
        _ => doc.invoice_attachment(),
    };
    if opts.embedded == EmbeddedInvoice::Only {
        let a = attachment.ok_or(DocumentError::NoEmbeddedInvoice)?;
        read.invoice = Some(InvoiceXml::Read {
            name: Some(a.name),
            invoice: Box::new(einvoice::parse(&a.bytes)?),
        });
        return done(read);
    }
    read.invoice = attachment.map(|a| match einvoice::parse(&a.bytes) {
        Ok(invoice) => InvoiceXml::Read {
            name: Some(a.name),
            invoice: Box::new(invoice),
        },
        Err(e) => InvoiceXml::Broken {
            name: a.name,
            error: e.to_string(),
        },
    });
    for index in 0..doc.page_count() {
        let t = Instant::now();
        let (page, timings, image) = match doc.page(index)? {
            PageContent::TextLayer {
                width,
                height,
                words,
            } => {
                let image = if opts.images {
                    Some(doc.render(index)?)
                } else {
                    None
                };
                (text_layer_page(index, width, height, words), None, image)
            }
            PageContent::Scan { image } => {
                let page = engine.recognize(&image)?;
                (ocr_page(index, &page), Some(page.timings), Some(image))
            }
        };
        read.pages.push(PageReport {
            index,
            source: page.source,
            ms: t.elapsed().as_secs_f64() * 1e3,
            ocr: timings,
            rotation: page.rotation,
        });
        read.document.pages.push(page);
        if let Some(image) = image.filter(|_| opts.images) {
            read.images.push(kie::PageImage::new(image));
        }
    }
    done(read)
}
/// A text-layer page as a page of the OCR Document (text-layer words are exact: confidence 1).
pub fn text_layer_page(
    index: usize,
    width: u32,
    height: u32,
    words: Vec<doc_input::TextWord>,
) -> DocPage {
    DocPage::from_words(
        index,
        width,
        height,
        PageSource::TextLayer,
        words.into_iter().map(|w| DocWord {
            text: w.text,
            bbox: w.bbox,
            conf: 1.0,
        }),
    )
}

/// An OCR'd page as a page of the OCR Document: its words with their confidences.
fn ocr_page(index: usize, page: &ocr_core::Page) -> DocPage {
    DocPage::from_words(
        index,
        page.width,
        page.height,
        PageSource::Ocr,
        page.lines.iter().flat_map(|l| &l.words).map(|w| DocWord {
            text: w.text.clone(),
            bbox: [w.bbox.x1, w.bbox.y1, w.bbox.x2, w.bbox.y2],
            conf: w.confidence,
        }),
    )
    .turned(page.rotation)
}
