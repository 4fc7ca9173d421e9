//! Plane geometry for the pipeline: minimum-area rectangles, quad ordering, homographies and
//! the perspective crop of a text line.

use geo::{Coord, MinimumRotatedRect, MultiPoint};
use image::RgbImage;

use crate::types::{Point, Quad};

/// The minimum-area rectangle around `points`, ordered as PP-OCR's `get_mini_boxes` orders it
/// (top-left, top-right, bottom-right, bottom-left for a near-horizontal box), and its shorter
/// side. `None` for fewer than three distinct points.
pub fn mini_box(points: &[(f64, f64)]) -> Option<(Quad, f32)> {
    if points.len() < 3 {
        return None;
    }
    let mp: MultiPoint<f64> = points.iter().map(|&(x, y)| geo::Point::new(x, y)).collect();
    let rect = mp.minimum_rotated_rect()?;
    let ring: Vec<Coord<f64>> = rect.exterior().0.clone();
    if ring.len() < 5 {
        return None;
    }
    let mut corners: Vec<Point> = ring[..4]
        .iter()
        .map(|c| Point::new(c.x as f32, c.y as f32))
        .collect();
    let side_a = corners[0].dist(corners[1]);
    let side_b = corners[1].dist(corners[2]);
    corners.sort_by(|a, b| a.x.total_cmp(&b.x));
    let (tl, bl) = if corners[1].y > corners[0].y {
        (corners[0], corners[1])
    } else {
        (corners[1], corners[0])
    };
    let (tr, br) = if corners[3].y > corners[2].y {
        (corners[2], corners[3])
    } else {
        (corners[3], corners[2])
    };
    Some(([tl, tr, br, bl], side_a.min(side_b)))
}

/// Orders four points as top-left, top-right, bottom-right, bottom-left: the two leftmost are
/// the left side, each side ordered top to bottom.
pub fn order_clockwise(q: Quad) -> Quad {
    let mut by_x = q;
    by_x.sort_by(|a, b| a.x.total_cmp(&b.x));
    let (mut left, mut right) = ([by_x[0], by_x[1]], [by_x[2], by_x[3]]);
    left.sort_by(|a, b| a.y.total_cmp(&b.y));
    right.sort_by(|a, b| a.y.total_cmp(&b.y));
    [left[0], right[0], right[1], left[1]]
}

/// Signed area of a closed polygon (shoelace), positive for counter-clockwise in y-up axes.
pub fn polygon_area(pts: &[Point]) -> f32 {
    let n = pts.len();
    let mut s = 0.0f32;
    for i in 0..n {
        let (a, b) = (pts[i], pts[(i + 1) % n]);
        s += a.x * b.y - b.x * a.y;
    }
    s / 2.0
}

/// Perimeter of a closed polygon.
pub fn polygon_perimeter(pts: &[Point]) -> f32 {
    let n = pts.len();
    (0..n).map(|i| pts[i].dist(pts[(i + 1) % n])).sum()
}

/// A 3×3 projective transform, row-major, `h[8] == 1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Homography(pub [f64; 9]);

impl Homography {
    /// The transform taking each `from[i]` onto `to[i]`. `None` when the points are degenerate.
    pub fn from_quads(from: &Quad, to: &Quad) -> Option<Self> {
        // Solve the 8×8 system A·h = b for h = (h0..h7), h8 = 1.
        let mut a = [[0.0f64; 9]; 8];
        for i in 0..4 {
            let (x, y) = (f64::from(from[i].x), f64::from(from[i].y));
            let (u, v) = (f64::from(to[i].x), f64::from(to[i].y));
            a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
            a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
        }
        let h = solve8(a)?;
        Some(Homography([
            h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7], 1.0,
        ]))
    }

    pub fn apply(&self, x: f64, y: f64) -> (f64, f64) {
        let h = &self.0;
        let w = h[6] * x + h[7] * y + h[8];
        let w = if w.abs() < 1e-12 { 1e-12 } else { w };
        (
            (h[0] * x + h[1] * y + h[2]) / w,
            (h[3] * x + h[4] * y + h[5]) / w,
        )
    }
}

/// Gaussian elimination with partial pivoting on an augmented 8×9 matrix.
fn solve8(mut a: [[f64; 9]; 8]) -> Option<[f64; 8]> {
    for col in 0..8 {
        let pivot = (col..8).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        for row in 0..8 {
            if row != col {
                let f = a[row][col] / a[col][col];
                if f != 0.0 {
                    let pivot_row = a[col];
                    for (v, p) in a[row][col..].iter_mut().zip(&pivot_row[col..]) {
                        *v -= f * p;
                    }
                }
            }
        }
    }
    let mut x = [0.0; 8];
    for i in 0..8 {
        x[i] = a[i][8] / a[i][i];
    }
    Some(x)
}

/// The size a quad's text occupies when straightened: the longer of each pair of opposite
/// sides, truncated to whole pixels as PP-OCR does.
pub fn straightened_size(q: &Quad) -> (u32, u32) {
    let w = q[0].dist(q[1]).max(q[2].dist(q[3]));
    let h = q[0].dist(q[3]).max(q[1].dist(q[2]));
    (w as u32, h as u32)
}

/// A straightened text-line crop and the transform from crop pixels back to page pixels.
#[derive(Debug, Clone)]
pub struct LineCrop {
    pub image: RgbImage,
    /// Maps straightened coordinates at the text's native scale to page coordinates.
    to_page: Homography,
    /// Native pixels per crop pixel, horizontally and vertically.
    scale: (f64, f64),
}

impl LineCrop {
    /// The page point under crop coordinates (x right, y down, in crop pixels).
    pub fn page_point(&self, x: f64, y: f64) -> (f64, f64) {
        self.to_page.apply(x * self.scale.0, y * self.scale.1)
    }
}

/// Straightens the region under `quad` (ordered tl, tr, br, bl), whose text measures
/// `native` = (w, h) pixels, into an `out_w`×`out_h` image with bilinear sampling and the
/// border replicated. Sampling positions follow OpenCV's conventions for a perspective warp
/// at native size followed by a resize (pixel centres at +0.5), so crops match PP-OCR's.
/// Returns `None` for a degenerate quad.
pub fn warp_quad(
    src: &RgbImage,
    quad: &Quad,
    native: (u32, u32),
    out_w: u32,
    out_h: u32,
) -> Option<LineCrop> {
    let (w, h) = (out_w.max(1), out_h.max(1));
    let (nw, nh) = (native.0.max(1) as f32, native.1.max(1) as f32);
    let rect: Quad = [
        Point::new(0.0, 0.0),
        Point::new(nw, 0.0),
        Point::new(nw, nh),
        Point::new(0.0, nh),
    ];
    let to_page = Homography::from_quads(&rect, quad)?;
    let scale = (f64::from(nw) / f64::from(w), f64::from(nh) / f64::from(h));
    let (sw, sh) = src.dimensions();
    let (max_x, max_y) = (f64::from(sw - 1), f64::from(sh - 1));
    let stride = sw as usize * 3;
    let raw = src.as_raw();
    let mut out = vec![0u8; w as usize * h as usize * 3];
    let hm = &to_page.0;
    let (last_x, last_y) = (sw as usize - 1, sh as usize - 1);
    let us: Vec<f64> = (0..w)
        .map(|ox| ((f64::from(ox) + 0.5) * scale.0 - 0.5).clamp(0.0, f64::from(nw) - 1.0))
        .collect();
    for (oy, row) in out.chunks_exact_mut(w as usize * 3).enumerate() {
        let v = ((oy as f64 + 0.5) * scale.1 - 0.5).clamp(0.0, f64::from(nh) - 1.0);
        // The v terms of the homography are the same along the row.
        let (vx, vy, vd) = (hm[1] * v + hm[2], hm[4] * v + hm[5], hm[7] * v + hm[8]);
        for (&u, px) in us.iter().zip(row.chunks_exact_mut(3)) {
            let den = hm[6] * u + vd;
            let den = if den.abs() < 1e-12 { 1e-12 } else { den };
            let sx = ((hm[0] * u + vx) / den).clamp(0.0, max_x);
            let sy = ((hm[3] * u + vy) / den).clamp(0.0, max_y);
            // Both are clamped to be non-negative, so truncation is `floor`.
            let (x0, y0) = (sx as usize, sy as usize);
            let (fx, fy) = ((sx - x0 as f64) as f32, (sy - y0 as f64) as f32);
            let x1 = (x0 + 1).min(last_x);
            let y1 = (y0 + 1).min(last_y);
            let top_row = &raw[y0 * stride..];
            let bottom_row = &raw[y1 * stride..];
            for (c, out) in px.iter_mut().enumerate() {
                let p00 = f32::from(top_row[x0 * 3 + c]);
                let p01 = f32::from(top_row[x1 * 3 + c]);
                let p10 = f32::from(bottom_row[x0 * 3 + c]);
                let p11 = f32::from(bottom_row[x1 * 3 + c]);
                let top = p00 + (p01 - p00) * fx;
                let bot = p10 + (p11 - p10) * fx;
                // Adds ½ and truncates (the value is never negative): `f32::round` but for
                // values within a rounding error of .5, and without a libm call per channel.
                *out = ((top + (bot - top) * fy).clamp(0.0, 255.0) + 0.5) as u8;
            }
        }
    }
    let image = RgbImage::from_raw(w, h, out)?;
    Some(LineCrop {
        image,
        to_page,
        scale,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(x: f32, y: f32) -> Point {
        Point::new(x, y)
    }

    #[test]
    fn mini_box_of_axis_aligned_points() {
        let pts: Vec<(f64, f64)> = vec![(10., 5.), (50., 5.), (50., 15.), (10., 15.), (30., 10.)];
        let (q, short) = mini_box(&pts).expect("box");
        assert_eq!(short, 10.0);
        let q = q.map(|c| (c.x.round(), c.y.round()));
        assert_eq!(q, [(10., 5.), (50., 5.), (50., 15.), (10., 15.)]);
    }

    #[test]
    fn mini_box_of_rotated_rectangle() {
        // A 40×10 rectangle rotated by ~14° (corners computed by hand).
        let pts = vec![(0.0, 0.0), (38.8, 9.7), (36.4, 19.4), (-2.4, 9.7)];
        let (_q, short) = mini_box(&pts).expect("box");
        assert!((short - 10.0).abs() < 0.1, "{short}");
        assert!(mini_box(&[(0.0, 0.0), (1.0, 1.0)]).is_none());
    }

    #[test]
    fn order_clockwise_from_any_order() {
        let q = [p(50., 15.), p(10., 5.), p(10., 15.), p(50., 5.)];
        assert_eq!(
            order_clockwise(q),
            [p(10., 5.), p(50., 5.), p(50., 15.), p(10., 15.)]
        );
    }

    #[test]
    fn homography_maps_corners() {
        let from = [p(0., 0.), p(100., 0.), p(100., 20.), p(0., 20.)];
        let to = [p(10., 10.), p(120., 14.), p(118., 40.), p(8., 35.)];
        let h = Homography::from_quads(&from, &to).expect("solvable");
        for i in 0..4 {
            let (x, y) = h.apply(f64::from(from[i].x), f64::from(from[i].y));
            assert!((x - f64::from(to[i].x)).abs() < 1e-6 && (y - f64::from(to[i].y)).abs() < 1e-6);
        }
        let degenerate = [p(0., 0.), p(0., 0.), p(0., 0.), p(0., 0.)];
        assert!(Homography::from_quads(&from, &degenerate).is_none());
    }

    #[test]
    fn warp_of_axis_aligned_quad_is_a_crop() {
        let mut img = RgbImage::new(20, 10);
        for (x, y, px) in img.enumerate_pixels_mut() {
            *px = image::Rgb([(x * 10) as u8, (y * 20) as u8, 7]);
        }
        let q = [p(4., 2.), p(12., 2.), p(12., 6.), p(4., 6.)];
        let crop = warp_quad(&img, &q, (8, 4), 8, 4).expect("crop");
        assert_eq!(crop.image.dimensions(), (8, 4));
        assert_eq!(crop.image.get_pixel(0, 0).0, [40, 40, 7]);
        assert_eq!(crop.image.get_pixel(7, 3).0, [110, 100, 7]);
        assert_eq!(crop.page_point(8.0, 4.0), (12.0, 6.0));
        // Halving: output pixel 0 samples between native pixels 0 and 1 (OpenCV's resize).
        let half = warp_quad(&img, &q, (8, 4), 4, 2).expect("crop");
        assert_eq!(half.image.get_pixel(0, 0).0, [45, 50, 7]);
        assert_eq!(half.page_point(4.0, 2.0), (12.0, 6.0));
    }

    #[test]
    fn area_and_perimeter() {
        let q = [p(0., 0.), p(4., 0.), p(4., 3.), p(0., 3.)];
        assert_eq!(polygon_area(&q).abs(), 12.0);
        assert_eq!(polygon_perimeter(&q), 14.0);
        assert_eq!(straightened_size(&q), (4, 3));
    }
}
