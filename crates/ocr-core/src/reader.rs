//! What the code around OCR needs of an engine ([`PageReader`]), and [`FakeOcr`], a stand-in
//! that loads no native library: for tests of the pipeline and the server, and for services
//! embedding OCRlty that bring text of their own.

use image::RgbImage;

use crate::engine::{EngineInfo, OcrEngine};
use crate::types::{BBox, Line, Page, PageTimings, Point, Word};
use crate::{ClsMode, Result};

/// Reads one page image into text lines with boxes.
pub trait PageReader: Send + Sync + std::fmt::Debug {
    /// Reads `img`; boxes are on the page as read (turned by [`Page::rotation`]).
    fn recognize(&self, img: &RgbImage) -> Result<Page>;
    /// What the engine is (model name, execution provider, threads).
    fn info(&self) -> &EngineInfo;
    /// Images with more pixels are refused before they are decoded.
    fn max_pixels(&self) -> u64;
}

impl PageReader for OcrEngine {
    fn recognize(&self, img: &RgbImage) -> Result<Page> {
        OcrEngine::recognize(self, img)
    }

    fn info(&self) -> &EngineInfo {
        OcrEngine::info(self)
    }

    fn max_pixels(&self) -> u64 {
        self.config().max_pixels
    }
}

/// An engine that reads the same lines off every image: each line's words with boxes given as
/// fractions of the page (0..1), scaled to the image it is handed.
#[derive(Debug, Clone)]
pub struct FakeOcr {
    lines: Vec<Vec<(String, [f32; 4])>>,
    info: EngineInfo,
    max_pixels: u64,
}

impl FakeOcr {
    /// `lines`: each line's words as `(text, [x1, y1, x2, y2])`, fractions of the page.
    pub fn new(lines: Vec<Vec<(String, [f32; 4])>>) -> Self {
        FakeOcr {
            lines,
            info: EngineInfo {
                model: "fake".into(),
                execution_provider: "none",
                intra_threads: 1,
                pool_size: 1,
                rec_lanes: 1,
                dictionary_size: 0,
                cls_mode: ClsMode::Off,
                graph_rewrites: 0,
            },
            max_pixels: crate::DEFAULT_MAX_PIXELS,
        }
    }
}

impl PageReader for FakeOcr {
    fn recognize(&self, img: &RgbImage) -> Result<Page> {
        let (w, h) = (img.width() as f32, img.height() as f32);
        let lines = self
            .lines
            .iter()
            .filter(|words| !words.is_empty())
            .map(|words| {
                let words: Vec<Word> = words
                    .iter()
                    .map(|(text, b)| Word {
                        text: text.clone(),
                        bbox: BBox {
                            x1: b[0] * w,
                            y1: b[1] * h,
                            x2: b[2] * w,
                            y2: b[3] * h,
                        },
                        confidence: 0.99,
                    })
                    .collect();
                let corners: Vec<Point> = words
                    .iter()
                    .flat_map(|w| {
                        [
                            Point {
                                x: w.bbox.x1,
                                y: w.bbox.y1,
                            },
                            Point {
                                x: w.bbox.x2,
                                y: w.bbox.y2,
                            },
                        ]
                    })
                    .collect();
                let b = BBox::around(&corners);
                Line {
                    text: words
                        .iter()
                        .map(|w| w.text.as_str())
                        .collect::<Vec<_>>()
                        .join(" "),
                    confidence: 0.99,
                    quad: [
                        Point { x: b.x1, y: b.y1 },
                        Point { x: b.x2, y: b.y1 },
                        Point { x: b.x2, y: b.y2 },
                        Point { x: b.x1, y: b.y2 },
                    ],
                    words,
                }
            })
            .collect();
        Ok(Page {
            width: img.width(),
            height: img.height(),
            lines,
            rotation: 0,
            timings: PageTimings::default(),
        })
    }

    fn info(&self) -> &EngineInfo {
        &self.info
    }

    fn max_pixels(&self) -> u64 {
        self.max_pixels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fake_reads_its_rows_scaled_to_the_image() {
        let fake = FakeOcr::new(vec![
            vec![("ACME".into(), [0.1, 0.1, 0.3, 0.2])],
            vec![
                ("TOTAL".into(), [0.1, 0.6, 0.3, 0.7]),
                ("12.50".into(), [0.7, 0.6, 0.9, 0.7]),
            ],
        ]);
        let page = fake.recognize(&RgbImage::new(400, 200)).expect("reads");
        assert_eq!((page.width, page.height), (400, 200));
        assert_eq!(page.lines.len(), 2);
        assert_eq!(page.lines[1].text, "TOTAL 12.50");
        let b = page.lines[1].words[1].bbox;
        assert!(b.y1 >= 100.0 && b.y2 <= 200.0 && b.x2 <= 400.0, "{b:?}");
    }
}
