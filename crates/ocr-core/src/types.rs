//! The engine's output: pages → lines → words, in page pixel coordinates.

use serde::{Deserialize, Serialize};

/// A point in page pixels (origin at the top left, y down).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f32,
    pub y: f32,
}

impl Point {
    pub const fn new(x: f32, y: f32) -> Self {
        Self { x, y }
    }

    pub(crate) fn dist(self, other: Point) -> f32 {
        (self.x - other.x).hypot(self.y - other.y)
    }
}

/// A text quadrilateral: top-left, top-right, bottom-right, bottom-left (clockwise on screen).
pub type Quad = [Point; 4];

/// An axis-aligned box `[x1, y1, x2, y2]` in page pixels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(into = "[f32; 4]", from = "[f32; 4]")]
pub struct BBox {
    pub x1: f32,
    pub y1: f32,
    pub x2: f32,
    pub y2: f32,
}

impl BBox {
    /// The smallest axis-aligned box holding every point.
    pub fn around(points: &[Point]) -> Self {
        let mut b = BBox {
            x1: f32::INFINITY,
            y1: f32::INFINITY,
            x2: f32::NEG_INFINITY,
            y2: f32::NEG_INFINITY,
        };
        for p in points {
            b.x1 = b.x1.min(p.x);
            b.y1 = b.y1.min(p.y);
            b.x2 = b.x2.max(p.x);
            b.y2 = b.y2.max(p.y);
        }
        b
    }

    pub fn width(&self) -> f32 {
        self.x2 - self.x1
    }

    pub fn height(&self) -> f32 {
        self.y2 - self.y1
    }
}

impl From<BBox> for [f32; 4] {
    fn from(b: BBox) -> Self {
        [b.x1, b.y1, b.x2, b.y2]
    }
}

impl From<[f32; 4]> for BBox {
    fn from(a: [f32; 4]) -> Self {
        BBox {
            x1: a[0],
            y1: a[1],
            x2: a[2],
            y2: a[3],
        }
    }
}

/// One word of a recognised line, its box derived from the CTC time steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Word {
    pub text: String,
    pub bbox: BBox,
    /// Mean probability of the word's characters.
    pub confidence: f32,
}

/// One detected and recognised text line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Line {
    pub text: String,
    /// Mean probability of the line's characters.
    pub confidence: f32,
    #[serde(with = "quad_serde")]
    pub quad: Quad,
    pub words: Vec<Word>,
}

impl Line {
    pub fn bbox(&self) -> BBox {
        BBox::around(&self.quad)
    }
}

/// Time spent per stage of one page, in milliseconds. `model_ms` is the part of
/// det + cls + rec spent inside ONNX Runtime's `run` calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PageTimings {
    pub det_ms: f64,
    pub cls_ms: f64,
    pub rec_ms: f64,
    pub model_ms: f64,
    /// Deciding whether the page stands sideways; for a page that did, also the first
    /// detection and the turn (that detection is counted in `det_ms` as well).
    #[serde(default)]
    pub orient_ms: f64,
    pub total_ms: f64,
}

/// The OCR of one image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub width: u32,
    pub height: u32,
    pub lines: Vec<Line>,
    /// Degrees (0, 90, 180, 270) the image was turned clockwise before it was read: found
    /// upside down by the page-level classifier, or sideways by its text boxes. `width`,
    /// `height` and every box are those of the turned page.
    #[serde(default)]
    pub rotation: u16,
    pub timings: PageTimings,
}

mod quad_serde {
    //! Quads travel as `[[x, y], [x, y], [x, y], [x, y]]`, the form PaddleOCR tools use.
    use super::{Point, Quad};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(q: &Quad, s: S) -> Result<S::Ok, S::Error> {
        let a: [[f32; 2]; 4] = [
            [q[0].x, q[0].y],
            [q[1].x, q[1].y],
            [q[2].x, q[2].y],
            [q[3].x, q[3].y],
        ];
        a.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Quad, D::Error> {
        let a = <[[f32; 2]; 4]>::deserialize(d)?;
        Ok(a.map(|[x, y]| Point::new(x, y)))
    }
}
