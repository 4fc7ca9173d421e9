//! PDF pages through pdfium: words from the text layer where a page has a usable one, a
//! rendered image otherwise. lopdf double-checks page count and encryption.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use image::RgbImage;
use pdfium_render::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::InputError;

/// How PDFs are read.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PdfOptions {
    /// Documents with more pages are refused (the error gives the count).
    pub max_pages: usize,
    /// Resolution of rendered pages, and of the pixel coordinates of text-layer words.
    pub dpi: f32,
    /// A text layer with fewer letters and digits than this is not used (the page is OCR'd).
    pub min_text_chars: usize,
    /// Off: every page is rendered and OCR'd, text layer or not.
    pub use_text_layer: bool,
    /// A rendered page is scaled down to stay under this many pixels.
    pub max_pixels: u64,
    /// Reading one document (opening and every page) may take at most this long.
    #[serde(with = "secs")]
    pub time_budget: Duration,
}

impl Default for PdfOptions {
    fn default() -> Self {
        Self {
            max_pages: 50,
            dpi: 200.0,
            min_text_chars: 8,
            use_text_layer: true,
            max_pixels: 50_000_000,
            time_budget: Duration::from_secs(60),
        }
    }
}

mod secs {
    use serde::{Deserialize, Deserializer, Serializer};
    use std::time::Duration;

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let v = f64::deserialize(d)?;
        Duration::try_from_secs_f64(v).map_err(serde::de::Error::custom)
    }
}

/// A word of a text layer, its box in page pixels (top-left origin).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TextWord {
    pub text: String,
    pub bbox: [f32; 4],
}

/// One page of a PDF, as the caller should treat it.
#[derive(Debug, Clone)]
pub enum PageContent {
    /// The text layer's words; `width` and `height` are the page in pixels at the DPI.
    TextLayer {
        width: u32,
        height: u32,
        words: Vec<TextWord>,
    },
    /// No usable text layer: the page rendered for OCR.
    Scan { image: RgbImage },
}

/// libpdfium, bound once per process.
pub struct PdfLibrary {
    pdfium: Pdfium,
}

impl std::fmt::Debug for PdfLibrary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PdfLibrary")
    }
}

static LIBRARY: OnceLock<Result<PdfLibrary, (PathBuf, String)>> = OnceLock::new();

/// The folder holding libpdfium.so: `PDFIUM_LIB_DIR`, else `<OCRLTY_DEPS>/pdfium/lib`, else
/// `.deps/pdfium/lib`.
pub fn default_library_dir() -> PathBuf {
    if let Some(p) = std::env::var_os("PDFIUM_LIB_DIR") {
        return PathBuf::from(p);
    }
    if let Some(p) = std::env::var_os("OCRLTY_DEPS") {
        return Path::new(&p).join("pdfium/lib");
    }
    PathBuf::from(".deps/pdfium/lib")
}

impl PdfLibrary {
    /// Binds libpdfium from `dir` (default: [`default_library_dir`]). The first call decides;
    /// later calls return the same library (or the same error).
    pub fn bind(dir: Option<&Path>) -> Result<&'static PdfLibrary, InputError> {
        let dir = dir
            .map(Path::to_path_buf)
            .unwrap_or_else(default_library_dir);
        let lib = LIBRARY.get_or_init(|| {
            let path = Pdfium::pdfium_platform_library_name_at_path(&dir);
            match Pdfium::bind_to_library(&path) {
                Ok(bindings) => Ok(PdfLibrary {
                    pdfium: Pdfium::new(bindings),
                }),
                Err(e) => Err((path, e.to_string())),
            }
        });
        lib.as_ref().map_err(|(path, message)| InputError::Library {
            path: path.clone(),
            message: message.clone(),
        })
    }

    /// Opens a PDF held in memory. Refuses encrypted documents that need a password, documents
    /// without pages and documents over `max_pages`.
    pub fn open<'a>(
        &'a self,
        bytes: &'a [u8],
        opts: &PdfOptions,
    ) -> Result<PdfDoc<'a>, InputError> {
        let started = Instant::now();
        if bytes.is_empty() {
            return Err(InputError::Empty);
        }
        // lopdf's view: an encryption dictionary and the page tree's size. It may fail on
        // damaged files that pdfium repairs, so only a positive answer is used.
        let lopdf_view = lopdf::Document::load_mem(bytes)
            .ok()
            .map(|d| (d.is_encrypted(), d.get_pages().len()));
        let doc = self
            .pdfium
            .load_pdf_from_byte_slice(bytes, None)
            .map_err(|e| match e {
                PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::PasswordError) => {
                    InputError::Encrypted
                }
                PdfiumError::PdfiumLibraryInternalError(PdfiumInternalError::SecurityError) => {
                    InputError::Encrypted
                }
                PdfiumError::PdfiumLibraryInternalError(inner) => {
                    InputError::CorruptPdf(format!("pdfium: {inner:?}"))
                }
                other => InputError::CorruptPdf(other.to_string()),
            })?;
        let pages = usize::try_from(doc.pages().len()).unwrap_or(0);
        if pages == 0 {
            return Err(InputError::NoPages);
        }
        let counted = lopdf_view.map_or(pages, |(_, n)| n.max(pages));
        if counted > opts.max_pages {
            return Err(InputError::TooManyPages {
                pages: counted,
                max_pages: opts.max_pages,
            });
        }
        Ok(PdfDoc {
            doc,
            pages,
            opts: *opts,
            deadline: started + opts.time_budget,
            encrypted: lopdf_view.is_some_and(|(e, _)| e),
        })
    }
}

/// An open PDF.
pub struct PdfDoc<'a> {
    doc: PdfDocument<'a>,
    pages: usize,
    opts: PdfOptions,
    deadline: Instant,
    encrypted: bool,
}

impl std::fmt::Debug for PdfDoc<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PdfDoc")
            .field("pages", &self.pages)
            .finish_non_exhaustive()
    }
}

/// The names Factur-X, ZUGFeRD 2 (`zugferd-invoice.xml`), ZUGFeRD 1 (`ZUGFeRD-invoice.xml`)
/// and XRechnung give their embedded invoice, in order of preference (matched without regard
/// to case).
pub const INVOICE_ATTACHMENT_NAMES: [&str; 3] =
    ["factur-x.xml", "zugferd-invoice.xml", "xrechnung.xml"];

/// A file embedded in a PDF.
#[derive(Clone, PartialEq, Eq)]
pub struct Attachment {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for Attachment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Attachment({}, {} bytes)", self.name, self.bytes.len())
    }
}

/// A character with its box in page pixels and its font size in pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CharBox {
    pub ch: char,
    pub bbox: [f32; 4],
    pub font_px: f32,
}

impl PdfDoc<'_> {
    pub fn page_count(&self) -> usize {
        self.pages
    }

    /// True when the file is encrypted (it opened with the empty user password).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    fn check_budget(&self) -> Result<(), InputError> {
        if Instant::now() > self.deadline {
            return Err(InputError::TimeBudget(self.opts.time_budget));
        }
        Ok(())
    }

    /// Page `index` (0-based): its text-layer words, or its image when the text layer is
    /// missing or unusable.
    pub fn page(&self, index: usize) -> Result<PageContent, InputError> {
        self.check_budget()?;
        let page_err = |message: String| InputError::Page {
            page: index + 1,
            message,
        };
        let page = PdfPageIndex::try_from(index)
            .ok()
            .and_then(|i| self.doc.pages().get(i).ok())
            .ok_or_else(|| page_err("cannot be loaded".into()))?;
        let (w_pt, h_pt) = (page.width().value, page.height().value);
        if !(w_pt.is_finite() && h_pt.is_finite() && w_pt > 0.0 && h_pt > 0.0) {
            return Err(page_err(format!("has an invalid size {w_pt}x{h_pt} pt")));
        }
        let scale = self.opts.dpi / 72.0;
        let scale = scale.min(((self.opts.max_pixels as f32) / (w_pt * h_pt)).sqrt());
        let config = PdfRenderConfig::new().scale_page_by_factor(scale);
        if self.opts.use_text_layer {
            let chars = text_chars(&page, &config, scale);
            self.check_budget()?;
            if usable_text_layer(&chars, self.opts.min_text_chars) {
                return Ok(PageContent::TextLayer {
                    width: (w_pt * scale).round().max(1.0) as u32,
                    height: (h_pt * scale).round().max(1.0) as u32,
                    words: group_words(&chars),
                });
            }
        }
        let image = render(&page, config, index)?;
        self.check_budget()?;
        Ok(PageContent::Scan { image })
    }

    /// The e-invoice XML the PDF carries as an embedded file (Factur-X / ZUGFeRD / XRechnung),
    /// if any: an attachment with one of the standard names (in the order of
    /// [`INVOICE_ATTACHMENT_NAMES`]), else any `.xml` attachment whose root element is a CII or
    /// UBL invoice. Attachments over [`einvoice::MAX_XML_BYTES`] are not read.
    pub fn invoice_attachment(&self) -> Option<Attachment> {
        let attachments = self.doc.attachments();
        let mut found: Vec<(usize, Attachment)> = Vec::new();
        for a in attachments.iter() {
            let name = a.name();
            let rank = INVOICE_ATTACHMENT_NAMES
                .iter()
                .position(|n| n.eq_ignore_ascii_case(&name));
            if rank.is_none() && !name.to_ascii_lowercase().ends_with(".xml") {
                continue;
            }
            if a.len() > einvoice::MAX_XML_BYTES {
                tracing::warn!(
                    name,
                    bytes = a.len(),
                    "embedded XML over the size limit, ignored"
                );
                continue;
            }
            let Ok(bytes) = a.save_to_bytes() else {
                continue;
            };
            let rank = match rank {
                Some(r) => r,
                None if einvoice::sniff(&bytes).is_some() => INVOICE_ATTACHMENT_NAMES.len(),
                None => continue,
            };
            found.push((rank, Attachment { name, bytes }));
        }
        found.sort_by_key(|(rank, _)| *rank);
        found.into_iter().next().map(|(_, a)| a)
    }

    /// Page `index` rendered at the scale [`PdfDoc::page`] uses, so that its pixels match the
    /// coordinates of the page's words, whichever path it took.
    pub fn render(&self, index: usize) -> Result<image::RgbImage, InputError> {
        self.check_budget()?;
        let page = PdfPageIndex::try_from(index)
            .ok()
            .and_then(|i| self.doc.pages().get(i).ok())
            .ok_or_else(|| InputError::Page {
                page: index + 1,
                message: "cannot be loaded".into(),
            })?;
        let (w_pt, h_pt) = (page.width().value, page.height().value);
        let scale = (self.opts.dpi / 72.0)
            .min(((self.opts.max_pixels as f32) / (w_pt * h_pt).max(1.0)).sqrt());
        render(
            &page,
            PdfRenderConfig::new().scale_page_by_factor(scale),
            index,
        )
    }
}

/// Pages rendered by this process so far (each call of pdfium's renderer counts once).
static PAGES_RENDERED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many PDF pages this process has rendered — for metrics, and for tests that check a
/// document is rendered once.
pub fn pages_rendered() -> u64 {
    PAGES_RENDERED.load(std::sync::atomic::Ordering::Relaxed)
}

fn render(
    page: &PdfPage<'_>,
    config: PdfRenderConfig,
    index: usize,
) -> Result<image::RgbImage, InputError> {
    PAGES_RENDERED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let err = |e: PdfiumError| InputError::Page {
        page: index + 1,
        message: format!("cannot be rendered: {e}"),
    };
    let config = config.render_form_data(true).render_annotations(true);
    let bitmap = page.render_with_config(&config).map_err(err)?;
    Ok(bitmap.as_image().map_err(err)?.to_rgb8())
}

/// The page's characters with boxes in rendered-page pixels (pdfium's loose boxes: the glyph's
/// advance by the font's ascent and descent, so neighbours abut and gaps are real spacing).
fn text_chars(page: &PdfPage<'_>, config: &PdfRenderConfig, scale: f32) -> Vec<CharBox> {
    let Ok(text) = page.text() else {
        return Vec::new();
    };
    let to_px = |x: PdfPoints, y: PdfPoints| page.points_to_pixels(x, y, config).ok();
    text.chars()
        .iter()
        .filter_map(|c| {
            let ch = c.unicode_char().unwrap_or('\u{fffd}');
            if ch.is_whitespace() || ch.is_control() {
                return Some(CharBox {
                    ch: ' ',
                    bbox: [0.0; 4],
                    font_px: 0.0,
                });
            }
            let r = c.loose_bounds().ok()?;
            let (ax, ay) = to_px(r.left(), r.top())?;
            let (bx, by) = to_px(r.right(), r.bottom())?;
            Some(CharBox {
                ch,
                bbox: [
                    ax.min(bx) as f32,
                    ay.min(by) as f32,
                    ax.max(bx) as f32,
                    ay.max(by) as f32,
                ],
                font_px: c.scaled_font_size().value * scale,
            })
        })
        .collect()
}

/// A text layer is used when it has enough letters and digits and little that pdfium could not
/// map to Unicode (fonts without a ToUnicode map give private-use or replacement characters).
fn usable_text_layer(chars: &[CharBox], min_chars: usize) -> bool {
    let visible: Vec<char> = chars
        .iter()
        .map(|c| c.ch)
        .filter(|c| !c.is_whitespace())
        .collect();
    let alnum = visible.iter().filter(|c| c.is_alphanumeric()).count();
    let junk = visible
        .iter()
        .filter(|&&c| c == '\u{fffd}' || ('\u{e000}'..='\u{f8ff}').contains(&c))
        .count();
    alnum >= min_chars.max(1) && junk * 5 < visible.len()
}

/// Groups characters (in content order) into words: a word ends at whitespace, at a gap wider
/// than 0.15 em, where the baseline moves by more than 0.4 em, or where the text runs backwards.
pub fn group_words(chars: &[CharBox]) -> Vec<TextWord> {
    let mut words = Vec::new();
    let mut text = String::new();
    let mut bbox = [0f32; 4];
    let mut prev: Option<CharBox> = None;
    let mut flush = |text: &mut String, bbox: &[f32; 4]| {
        if !text.is_empty() {
            words.push(TextWord {
                text: std::mem::take(text),
                bbox: *bbox,
            });
        }
    };
    for c in chars {
        if c.ch.is_whitespace() {
            flush(&mut text, &bbox);
            prev = None;
            continue;
        }
        if let Some(p) = prev {
            let em = p.font_px.max(c.font_px).max(1.0);
            let (pyc, cyc) = ((p.bbox[1] + p.bbox[3]) / 2.0, (c.bbox[1] + c.bbox[3]) / 2.0);
            let gap = c.bbox[0] - p.bbox[2];
            if gap > 0.15 * em || (cyc - pyc).abs() > 0.4 * em || c.bbox[0] < p.bbox[0] - 0.5 * em {
                flush(&mut text, &bbox);
            }
        }
        if text.is_empty() {
            bbox = c.bbox;
        } else {
            bbox = [
                bbox[0].min(c.bbox[0]),
                bbox[1].min(c.bbox[1]),
                bbox[2].max(c.bbox[2]),
                bbox[3].max(c.bbox[3]),
            ];
        }
        text.push(c.ch);
        prev = Some(*c);
    }
    flush(&mut text, &bbox);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str, x0: f32, y: f32, advance: f32) -> Vec<CharBox> {
        s.chars()
            .enumerate()
            .map(|(i, ch)| CharBox {
                ch,
                bbox: [
                    x0 + i as f32 * advance,
                    y,
                    x0 + (i + 1) as f32 * advance,
                    y + 20.0,
                ],
                font_px: 20.0,
            })
            .collect()
    }

    #[test]
    fn words_split_at_spaces_gaps_and_line_changes() {
        let mut c = chars("Total 12,50", 10.0, 100.0, 10.0);
        // "EUR" placed 8 px (0.4 em) after the last char: a gap without a space character.
        c.extend(chars("EUR", 128.0, 100.0, 10.0));
        // Next line, starting back at the left.
        c.extend(chars("MwSt", 10.0, 130.0, 10.0));
        let w = group_words(&c);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Total", "12,50", "EUR", "MwSt"]);
        assert_eq!(w[0].bbox, [10.0, 100.0, 60.0, 120.0]);
        assert_eq!(w[3].bbox, [10.0, 130.0, 50.0, 150.0]);
    }

    #[test]
    fn text_layer_usability() {
        let good = chars("Rechnung Nr 2024-17", 0.0, 0.0, 10.0);
        assert!(usable_text_layer(&good, 8));
        assert!(!usable_text_layer(&chars("12", 0.0, 0.0, 10.0), 8));
        let junk = chars("\u{e001}\u{e002}\u{e003}ab\u{e004}cdefgh", 0.0, 0.0, 10.0);
        assert!(!usable_text_layer(&junk, 8));
    }
}
