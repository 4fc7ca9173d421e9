//! `extract --visualize DIR`: each page as a PNG with every OCR word box drawn thin and the
//! chosen fields' evidence drawn thick and labelled with the field, its value and confidence.

use std::path::{Path, PathBuf};

use image::{Rgb, RgbImage};
use imageproc::drawing::{draw_filled_rect_mut, draw_hollow_rect_mut, draw_text_mut};
use imageproc::rect::Rect;
use kie::{Extraction, FieldName};
use ocr_document::DocPage;

/// Why a page image could not be made.
#[derive(Debug, thiserror::Error)]
pub enum VisualizeError {
    #[error("cannot read the label font {path}: {message} (run scripts/setup, or set OCRLTY_FONT)")]
    Font { path: PathBuf, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

/// The font and colours; load once, draw many pages.
#[derive(Debug)]
pub struct Visualizer {
    font: ab_glyph::FontVec,
}

const WORD: Rgb<u8> = Rgb([90, 160, 255]);
/// Line items' boxes.
const ITEM: Rgb<u8> = Rgb([21, 101, 192]);
/// Tax rows' boxes.
const TAX_ROW: Rgb<u8> = Rgb([173, 20, 87]);

fn colour(f: FieldName) -> Rgb<u8> {
    match f {
        FieldName::Merchant => Rgb([142, 36, 170]),
        FieldName::Date => Rgb([0, 131, 143]),
        FieldName::Currency => Rgb([121, 85, 72]),
        FieldName::Subtotal => Rgb([245, 124, 0]),
        FieldName::TaxAmount => Rgb([198, 40, 40]),
        FieldName::Total => Rgb([46, 125, 50]),
    }
}

/// `OCRLTY_FONT`, else the DejaVu Sans that scripts/setup unpacks into `.deps/fonts`.
pub fn default_font_path() -> PathBuf {
    if let Some(p) = std::env::var_os("OCRLTY_FONT") {
        return PathBuf::from(p);
    }
    let deps = std::env::var_os("OCRLTY_DEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".deps"));
    deps.join("fonts/DejaVuSans.ttf")
}

impl Visualizer {
    pub fn load(path: &Path) -> Result<Self, VisualizeError> {
        let err = |message: String| VisualizeError::Font {
            path: path.to_path_buf(),
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(e.to_string()))?;
        let font = ab_glyph::FontVec::try_from_vec(bytes).map_err(|e| err(e.to_string()))?;
        Ok(Visualizer { font })
    }

    /// Draws `page`'s words, and the fields, line items and tax rows found on it, onto `img`
    /// (page pixels).
    pub fn draw(&self, img: &mut RgbImage, page: &DocPage, x: &Extraction) {
        // The image is the page as sent; a page read turned has its boxes turned back.
        for word in &page.words {
            let r = rect(img, page.to_source(word.bbox), 0);
            draw_hollow_rect_mut(img, r, WORD);
        }
        let on_page = |e: &Option<kie::Evidence>| {
            e.as_ref()
                .filter(|e| e.page == page.index && e.source == kie::EvidenceSource::Page)
                .map(|e| page.to_source(e.bbox))
        };
        for (n, item) in x.line_items.iter().enumerate() {
            if let Some(b) = on_page(&item.evidence) {
                let label = format!(
                    "item {}: {} ({:.2})",
                    n + 1,
                    item.amount.as_deref().unwrap_or("?"),
                    item.confidence
                );
                self.boxed(img, b, ITEM, &label);
            }
        }
        for row in &x.tax_breakdown {
            if let Some(b) = on_page(&row.evidence) {
                let label = format!(
                    "tax {}%: {} ({:.2})",
                    row.rate.as_deref().unwrap_or("?"),
                    row.amount.as_deref().unwrap_or("?"),
                    row.confidence
                );
                self.boxed(img, b, TAX_ROW, &label);
            }
        }
        for f in FieldName::ALL {
            let field = x.field(f);
            if let Some(b) = on_page(&field.evidence) {
                let label = format!(
                    "{}: {} ({:.2})",
                    f.as_str(),
                    field.value.as_deref().unwrap_or("?"),
                    field.confidence
                );
                self.boxed(img, b, colour(f), &label);
            }
        }
    }

    /// A thick box around `bbox` and its label above it (below when there is no room).
    fn boxed(&self, img: &mut RgbImage, bbox: [f32; 4], c: Rgb<u8>, label: &str) {
        let (w, h) = img.dimensions();
        for grow in 1..=3 {
            let r = rect(img, bbox, grow);
            draw_hollow_rect_mut(img, r, c);
        }
        let scale = (h as f32 / 70.0).clamp(14.0, 40.0);
        let (tw, th) = imageproc::drawing::text_size(scale, &self.font, label);
        let lx = (bbox[0].floor() as i32).clamp(0, (w as i32 - tw as i32).max(0));
        let above = bbox[1].floor() as i32 - 4 - th as i32 - 4;
        let ly = if above >= 0 {
            above
        } else {
            bbox[3].ceil() as i32 + 4
        };
        draw_filled_rect_mut(
            img,
            Rect::at(lx, ly).of_size(tw + 6, th + 6),
            Rgb([255, 255, 255]),
        );
        draw_hollow_rect_mut(img, Rect::at(lx, ly).of_size(tw + 6, th + 6), c);
        draw_text_mut(img, c, lx + 3, ly + 2, scale, &self.font, label);
    }
}

/// `b` grown by `grow` pixels, clamped to the image.
fn rect(img: &RgbImage, b: [f32; 4], grow: i32) -> Rect {
    let (w, h) = img.dimensions();
    let x1 = (b[0].floor() as i32 - grow).clamp(0, w as i32 - 1);
    let y1 = (b[1].floor() as i32 - grow).clamp(0, h as i32 - 1);
    let x2 = (b[2].ceil() as i32 + grow).clamp(x1 + 1, w as i32);
    let y2 = (b[3].ceil() as i32 + grow).clamp(y1 + 1, h as i32);
    Rect::at(x1, y1).of_size((x2 - x1) as u32, (y2 - y1) as u32)
}

/// Draws on a copy of each page image as read (kept by the pipeline, see
/// [`crate::pipeline::ExtractRequest::keep_images`]) and writes `DIR/<stem>-p<N>.png`;
/// returns the paths.
pub fn write_pages(
    vis: &Visualizer,
    dir: &Path,
    stem: &str,
    images: &[kie::PageImage],
    pages: &[DocPage],
    x: &Extraction,
) -> Result<Vec<PathBuf>, VisualizeError> {
    let mut out = Vec::new();
    for (image, page) in images.iter().zip(pages) {
        let mut img = image.0.as_ref().clone();
        vis.draw(&mut img, page, x);
        let path = dir.join(format!("{stem}-p{}.png", page.index + 1));
        img.save(&path).map_err(|e| VisualizeError::Write {
            path: path.clone(),
            message: e.to_string(),
        })?;
        out.push(path);
    }
    Ok(out)
}
