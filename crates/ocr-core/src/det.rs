//! Text detection: DBNet (PP-OCR det) pre-processing and the differentiable-binarisation
//! post-processing that turns its probability map into text quads.

use geo::{Buffer, Coord, LineString, Polygon};
use image::{GrayImage, RgbImage};
use serde::{Deserialize, Serialize};

use crate::geometry::{mini_box, order_clockwise, polygon_area, polygon_perimeter};
use crate::resize::resize_rgb;
use crate::types::{Point, Quad};

/// How `limit_side_len` bounds the detector's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitType {
    /// Scale up so the shorter side is at least `limit_side_len` (PP-OCR's receipt setting).
    Min,
    /// Scale down so the longer side is at most `limit_side_len`.
    Max,
}

/// Detector settings; the defaults are PP-OCR's (RapidOCR's `config.yaml`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DetOptions {
    pub limit_side_len: u32,
    pub limit_type: LimitType,
    /// Images whose longer side exceeds this are first shrunk to it (0 = never).
    pub max_side_len: u32,
    /// Probability above which a pixel is text.
    pub thresh: f32,
    /// Minimum mean probability inside a candidate box.
    pub box_thresh: f32,
    /// How far boxes are grown: distance = area × ratio / perimeter.
    pub unclip_ratio: f32,
    pub max_candidates: usize,
    /// Dilate the binary map with a 2×2 kernel before finding contours.
    pub use_dilation: bool,
    /// Boxes whose shorter side is below this (in det-map pixels) are dropped.
    pub min_size: f32,
}

impl Default for DetOptions {
    fn default() -> Self {
        Self {
            limit_side_len: 736,
            limit_type: LimitType::Min,
            max_side_len: 2000,
            thresh: 0.3,
            box_thresh: 0.5,
            unclip_ratio: 1.6,
            max_candidates: 1000,
            use_dilation: true,
            min_size: 3.0,
        }
    }
}

fn round32(v: f32) -> u32 {
    // Python's round(): ties to even, as PP-OCR's pre-processing rounds.
    ((v / 32.0).round_ties_even() as u32 * 32).max(32)
}

/// The detector input size for an image, by PP-OCR's rules: scale by the limit, then round
/// each side to a multiple of 32.
pub fn det_input_size(width: u32, height: u32, opts: &DetOptions) -> (u32, u32) {
    let (w, h) = (width as f32, height as f32);
    let limit = opts.limit_side_len as f32;
    let ratio = match opts.limit_type {
        LimitType::Min if w.min(h) < limit => limit / w.min(h),
        LimitType::Max if w.max(h) > limit => limit / w.max(h),
        _ => 1.0,
    };
    (round32((w * ratio).trunc()), round32((h * ratio).trunc()))
}

/// The working size after the global `max_side_len` shrink (rounded to multiples of 32 as
/// PP-OCR does), or `None` when the image is small enough.
pub fn working_size(width: u32, height: u32, max_side_len: u32) -> Option<(u32, u32)> {
    if max_side_len == 0 || width.max(height) <= max_side_len {
        return None;
    }
    let ratio = max_side_len as f32 / width.max(height) as f32;
    Some((
        round32((width as f32 * ratio).trunc()),
        round32((height as f32 * ratio).trunc()),
    ))
}

/// Resizes to the detector's input and lays the pixels out as a normalised NCHW tensor in BGR
/// order, `(v / 255 - 0.5) / 0.5`.
pub fn det_tensor(img: &RgbImage, opts: &DetOptions) -> (Vec<f32>, [usize; 4]) {
    let (w, h) = det_input_size(img.width(), img.height(), opts);
    let resized = resize_rgb(img, w, h);
    let plane = (w * h) as usize;
    let mut data = vec![0.0f32; plane * 3];
    for (i, px) in resized.pixels().enumerate() {
        // BGR planes: the PP-OCR models were trained on OpenCV's channel order.
        data[i] = f32::from(px[2]) / 127.5 - 1.0;
        data[plane + i] = f32::from(px[1]) / 127.5 - 1.0;
        data[2 * plane + i] = f32::from(px[0]) / 127.5 - 1.0;
    }
    (data, [1, 3, h as usize, w as usize])
}

/// A probability map (`height` rows of `width`) from the detector.
#[derive(Debug, Clone, Copy)]
pub struct ProbMap<'a> {
    pub data: &'a [f32],
    pub width: usize,
    pub height: usize,
}

/// A detected text box in the coordinates of the image given to [`DbPostprocess::boxes`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetBox {
    pub quad: Quad,
    pub score: f32,
}

/// DB post-processing: binarise, trace contours, score, unclip, and scale back.
#[derive(Debug, Clone, Copy)]
pub struct DbPostprocess {
    pub opts: DetOptions,
}

impl DbPostprocess {
    /// Boxes found in `map`, in the pixel coordinates of a `dest_w`×`dest_h` image, ordered
    /// clockwise from the top left, clipped to the image, tiny boxes dropped.
    pub fn boxes(&self, map: ProbMap<'_>, dest_w: u32, dest_h: u32) -> Vec<DetBox> {
        let o = &self.opts;
        let bitmap = self.binarize(map);
        let contours = imageproc::contours::find_contours::<i32>(&bitmap);
        let (mw, mh) = (map.width as f32, map.height as f32);
        let mut out = Vec::new();
        for contour in contours
            .iter()
            .filter(|c| c.border_type == imageproc::contours::BorderType::Outer)
            .take(o.max_candidates)
        {
            let pts: Vec<(f64, f64)> = contour
                .points
                .iter()
                .map(|p| (f64::from(p.x), f64::from(p.y)))
                .collect();
            let Some((quad, short)) = mini_box(&pts) else {
                continue;
            };
            if short < o.min_size {
                continue;
            }
            let score = box_score_fast(map, &quad);
            if score < o.box_thresh {
                continue;
            }
            let Some(grown) = unclip(&quad, o.unclip_ratio) else {
                continue;
            };
            let Some((quad, short)) = mini_box(&grown) else {
                continue;
            };
            if short < o.min_size + 2.0 {
                continue;
            }
            let scaled = quad.map(|p| {
                Point::new(
                    (p.x / mw * dest_w as f32).round().clamp(0.0, dest_w as f32),
                    (p.y / mh * dest_h as f32).round().clamp(0.0, dest_h as f32),
                )
            });
            let q = order_clockwise(scaled).map(|p| {
                Point::new(
                    p.x.clamp(0.0, (dest_w - 1) as f32).trunc(),
                    p.y.clamp(0.0, (dest_h - 1) as f32).trunc(),
                )
            });
            let (rw, rh) = (q[0].dist(q[1]) as u32, q[0].dist(q[3]) as u32);
            if rw <= 3 || rh <= 3 {
                continue;
            }
            out.push(DetBox { quad: q, score });
        }
        out
    }

    fn binarize(&self, map: ProbMap<'_>) -> GrayImage {
        let (w, h) = (map.width, map.height);
        let mut bits = GrayImage::new(w as u32, h as u32);
        let buf: &mut [u8] = &mut bits;
        for (b, &p) in buf.iter_mut().zip(map.data) {
            *b = if p > self.opts.thresh { 255 } else { 0 };
        }
        if self.opts.use_dilation {
            // OpenCV's 2×2 dilation anchors the kernel at (1, 1): a pixel is set when it or its
            // left, upper or upper-left neighbour is.
            let src = buf.to_vec();
            for y in 0..h {
                for x in 0..w {
                    let i = y * w + x;
                    let mut v = src[i];
                    if x > 0 {
                        v |= src[i - 1];
                    }
                    if y > 0 {
                        v |= src[i - w];
                        if x > 0 {
                            v |= src[i - w - 1];
                        }
                    }
                    buf[i] = v;
                }
            }
        }
        bits
    }
}

/// Mean probability over the pixels inside the quad (PP-OCR's "fast" score, over the quad's
/// bounding rectangle masked by the quad itself).
fn box_score_fast(map: ProbMap<'_>, quad: &Quad) -> f32 {
    let (w, h) = (map.width as i64, map.height as i64);
    let xs = quad.iter().map(|p| p.x);
    let ys = quad.iter().map(|p| p.y);
    let xmin = (xs.clone().fold(f32::INFINITY, f32::min).floor() as i64).clamp(0, w - 1);
    let xmax = (xs.fold(f32::NEG_INFINITY, f32::max).ceil() as i64).clamp(0, w - 1);
    let ymin = (ys.clone().fold(f32::INFINITY, f32::min).floor() as i64).clamp(0, h - 1);
    let ymax = (ys.fold(f32::NEG_INFINITY, f32::max).ceil() as i64).clamp(0, h - 1);
    // The polygon is rasterised with integer vertices, as cv2.fillPoly(points.astype(int32)) does.
    let q: Vec<(f32, f32)> = quad
        .iter()
        .map(|p| (p.x.trunc() - xmin as f32, p.y.trunc() - ymin as f32))
        .collect();
    let (mut sum, mut n) = (0.0f64, 0u32);
    for y in ymin..=ymax {
        let fy = (y - ymin) as f32;
        for x in xmin..=xmax {
            let fx = (x - xmin) as f32;
            if inside_convex(&q, fx, fy) {
                sum += f64::from(map.data[(y * w + x) as usize]);
                n += 1;
            }
        }
    }
    if n == 0 {
        0.0
    } else {
        (sum / f64::from(n)) as f32
    }
}

/// Whether (x, y) lies inside or on the boundary of a convex polygon (either winding).
fn inside_convex(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let n = poly.len();
    let (mut pos, mut neg) = (false, false);
    for i in 0..n {
        let (ax, ay) = poly[i];
        let (bx, by) = poly[(i + 1) % n];
        let cross = (bx - ax) * (y - ay) - (by - ay) * (x - ax);
        if cross > 1e-3 {
            pos = true;
        } else if cross < -1e-3 {
            neg = true;
        }
        if pos && neg {
            return false;
        }
    }
    true
}

/// Grows the quad outward by `area × ratio / perimeter` with round joins (geo's buffer), and
/// returns the grown outline's points.
fn unclip(quad: &Quad, ratio: f32) -> Option<Vec<(f64, f64)>> {
    // PP-OCR offsets with pyclipper, which works on integers: the corners are truncated going
    // in and the outline rounded coming out. Doing the same keeps boxes pixel-equal to it.
    let quad = &quad.map(|p| Point::new(p.x.trunc(), p.y.trunc()));
    let area = polygon_area(quad).abs();
    let perimeter = polygon_perimeter(quad);
    if perimeter <= 0.0 {
        return None;
    }
    let distance = f64::from(area * ratio / perimeter);
    let ring: Vec<Coord<f64>> = quad
        .iter()
        .map(|p| Coord {
            x: f64::from(p.x),
            y: f64::from(p.y),
        })
        .collect();
    let poly = Polygon::new(LineString::from(ring), vec![]);
    let grown = poly.buffer(distance);
    let biggest = grown.0.iter().max_by_key(|p| p.exterior().0.len())?;
    Some(
        biggest
            .exterior()
            .0
            .iter()
            .map(|c| (c.x.round(), c.y.round()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_size_follows_pp_ocr_rules() {
        let o = DetOptions::default();
        // A narrow receipt: short side scaled up to 736, both sides rounded to 32.
        assert_eq!(det_input_size(463, 1013, &o), (736, 1600));
        // Large enough already: only rounding.
        assert_eq!(det_input_size(1000, 1400, &o), (992, 1408));
        let max = DetOptions {
            limit_type: LimitType::Max,
            limit_side_len: 960,
            ..o
        };
        assert_eq!(det_input_size(1920, 1080, &max), (960, 544));
        assert_eq!(working_size(7016, 4961, 2000), Some((1984, 1408)));
        assert_eq!(working_size(1000, 800, 2000), None);
    }

    #[test]
    fn tensor_is_bgr_planar_and_normalised() {
        let img = RgbImage::from_pixel(32, 32, image::Rgb([255, 0, 127]));
        let o = DetOptions {
            limit_side_len: 32,
            ..DetOptions::default()
        };
        let (data, shape) = det_tensor(&img, &o);
        assert_eq!(shape, [1, 3, 32, 32]);
        assert!((data[0] - (127.0 / 127.5 - 1.0)).abs() < 1e-6); // B plane
        assert_eq!(data[1024], -1.0); // G plane
        assert_eq!(data[2048], 1.0); // R plane
    }

    fn map_with_rects(w: usize, h: usize, rects: &[(usize, usize, usize, usize)]) -> Vec<f32> {
        let mut m = vec![0.0f32; w * h];
        for &(x0, y0, x1, y1) in rects {
            for y in y0..y1 {
                for x in x0..x1 {
                    m[y * w + x] = 0.9;
                }
            }
        }
        m
    }

    #[test]
    fn two_blobs_become_two_unclipped_boxes() {
        let (w, h) = (200, 100);
        let m = map_with_rects(w, h, &[(20, 20, 120, 30), (20, 60, 80, 75)]);
        let post = DbPostprocess {
            opts: DetOptions::default(),
        };
        let mut boxes = post.boxes(
            ProbMap {
                data: &m,
                width: w,
                height: h,
            },
            400,
            200,
        );
        boxes.sort_by(|a, b| a.quad[0].y.total_cmp(&b.quad[0].y));
        assert_eq!(boxes.len(), 2);
        let b = boxes[0].quad;
        // Blob 20..120 × 20..30 (dilated by one pixel): unclip distance = area*1.6/perimeter
        // ≈ 101*11*1.6/224 ≈ 7.9, then scaled ×2.
        assert!((b[0].x - 2.0 * (20.0 - 7.9)).abs() <= 3.0, "{b:?}");
        assert!((b[1].x - 2.0 * (120.0 + 7.9)).abs() <= 3.0, "{b:?}");
        assert!((b[0].y - 2.0 * (20.0 - 7.9)).abs() <= 3.0, "{b:?}");
        assert!((b[3].y - 2.0 * (30.0 + 7.9)).abs() <= 3.0, "{b:?}");
        assert!(boxes[0].score > 0.8);
    }

    #[test]
    fn faint_and_tiny_blobs_are_dropped() {
        let (w, h) = (100, 50);
        let mut m = map_with_rects(w, h, &[(10, 10, 12, 12)]);
        // A faint region just above `thresh` but under `box_thresh`.
        for y in 30..40 {
            for x in 10..90 {
                m[y * w + x] = 0.35;
            }
        }
        let post = DbPostprocess {
            opts: DetOptions::default(),
        };
        assert!(
            post.boxes(
                ProbMap {
                    data: &m,
                    width: w,
                    height: h
                },
                w as u32,
                h as u32
            )
            .is_empty()
        );
    }
}
