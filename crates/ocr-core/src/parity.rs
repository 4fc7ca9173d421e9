//! Comparing two OCR outputs line by line: the parity measure against a reference engine
//! (RapidOCR's output in `shared/eval/*/dev/rapidocr-v4.jsonl`).

use geo::{Area, BooleanOps, Coord, LineString, Polygon};
use serde::Deserialize;

use crate::engine::OcrEngine;
use crate::types::{Point, Quad};

/// A line to compare: its quad and text.
#[derive(Debug, Clone, PartialEq)]
pub struct RefLine {
    pub quad: Quad,
    pub text: String,
}

/// Totals of a comparison; add them up over pages, then read the rates.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ParityCounts {
    /// Reference lines.
    pub reference_lines: usize,
    /// Reference lines matched by one of ours with quad IoU ≥ the threshold.
    pub matched_lines: usize,
    /// Edit distance between matched texts, summed.
    pub edits: usize,
    /// Characters of the matched reference texts, summed.
    pub reference_chars: usize,
    /// Our lines.
    pub our_lines: usize,
}

impl ParityCounts {
    pub fn add(&mut self, o: &ParityCounts) {
        self.reference_lines += o.reference_lines;
        self.matched_lines += o.matched_lines;
        self.edits += o.edits;
        self.reference_chars += o.reference_chars;
        self.our_lines += o.our_lines;
    }

    /// Share of reference lines we found.
    pub fn line_recall(&self) -> f64 {
        if self.reference_lines == 0 {
            return 1.0;
        }
        self.matched_lines as f64 / self.reference_lines as f64
    }

    /// Character error rate of our text against the reference's, over matched lines.
    pub fn cer(&self) -> f64 {
        if self.reference_chars == 0 {
            return 0.0;
        }
        self.edits as f64 / self.reference_chars as f64
    }
}

fn polygon(q: &Quad) -> Polygon<f64> {
    let ring: Vec<Coord<f64>> = q
        .iter()
        .map(|p| Coord {
            x: f64::from(p.x),
            y: f64::from(p.y),
        })
        .collect();
    Polygon::new(LineString::from(ring), vec![])
}

/// Intersection over union of two quads (as polygons).
pub fn quad_iou(a: &Quad, b: &Quad) -> f64 {
    let (pa, pb) = (polygon(a), polygon(b));
    let inter = pa.intersection(&pb).unsigned_area();
    let union = pa.unsigned_area() + pb.unsigned_area() - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Levenshtein distance over Unicode scalar values.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Matches reference lines to ours one to one, greedily by descending IoU (pairs under
/// `min_iou` never match), and counts recall and character errors.
pub fn compare_page(reference: &[RefLine], ours: &[RefLine], min_iou: f64) -> ParityCounts {
    let mut counts = ParityCounts {
        reference_lines: reference.len(),
        our_lines: ours.len(),
        ..ParityCounts::default()
    };
    for (r, o) in matched_pairs(reference, ours, min_iou) {
        counts.matched_lines += 1;
        counts.edits += edit_distance(&o.text, &r.text);
        counts.reference_chars += r.text.chars().count();
    }
    counts
}

/// The one-to-one matching of [`compare_page`]: (reference, ours) pairs.
pub fn matched_pairs<'a>(
    reference: &'a [RefLine],
    ours: &'a [RefLine],
    min_iou: f64,
) -> Vec<(&'a RefLine, &'a RefLine)> {
    let mut pairs: Vec<(f64, usize, usize)> = Vec::new();
    for (i, r) in reference.iter().enumerate() {
        for (j, o) in ours.iter().enumerate() {
            let iou = quad_iou(&r.quad, &o.quad);
            if iou >= min_iou {
                pairs.push((iou, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut ref_used, mut our_used) = (vec![false; reference.len()], vec![false; ours.len()]);
    let mut out = Vec::new();
    for (_, i, j) in pairs {
        if ref_used[i] || our_used[j] {
            continue;
        }
        ref_used[i] = true;
        our_used[j] = true;
        out.push((&reference[i], &ours[j]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Point;

    fn rect(x0: f32, y0: f32, x1: f32, y1: f32) -> Quad {
        [
            Point::new(x0, y0),
            Point::new(x1, y0),
            Point::new(x1, y1),
            Point::new(x0, y1),
        ]
    }

    #[test]
    fn iou_of_rectangles() {
        assert!((quad_iou(&rect(0., 0., 10., 10.), &rect(0., 0., 10., 10.)) - 1.0).abs() < 1e-9);
        assert!(
            (quad_iou(&rect(0., 0., 10., 10.), &rect(5., 0., 15., 10.)) - 1.0 / 3.0).abs() < 1e-9
        );
        assert_eq!(quad_iou(&rect(0., 0., 1., 1.), &rect(2., 2., 3., 3.)), 0.0);
    }

    #[test]
    fn levenshtein() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("straße", "strasse"), 2);
    }

    #[test]
    fn page_comparison_matches_one_to_one() {
        let reference = vec![
            RefLine {
                quad: rect(0., 0., 100., 20.),
                text: "TOTAL 12.50".into(),
            },
            RefLine {
                quad: rect(0., 30., 100., 50.),
                text: "CASH".into(),
            },
            RefLine {
                quad: rect(0., 60., 100., 80.),
                text: "missed".into(),
            },
        ];
        let ours = vec![
            RefLine {
                quad: rect(2., 1., 101., 21.),
                text: "TOTAL 12.5O".into(),
            },
            RefLine {
                quad: rect(0., 31., 99., 50.),
                text: "CASH".into(),
            },
            RefLine {
                quad: rect(300., 0., 400., 20.),
                text: "extra".into(),
            },
        ];
        let c = compare_page(&reference, &ours, 0.5);
        assert_eq!(c.matched_lines, 2);
        assert_eq!(c.edits, 1);
        assert_eq!(c.reference_chars, 15);
        assert!((c.line_recall() - 2.0 / 3.0).abs() < 1e-9);
        assert!((c.cer() - 1.0 / 15.0).abs() < 1e-9);
    }
}

/// One document of a reference file (`rapidocr-v4.jsonl`): its file name and lines.
#[derive(Debug, Clone, PartialEq)]
pub struct RefPage {
    pub file: String,
    pub lines: Vec<RefLine>,
}

#[derive(Deserialize)]
struct RawRecord {
    file: String,
    #[serde(default)]
    lines: Vec<RawLine>,
}

#[derive(Deserialize)]
struct RawLine {
    #[serde(rename = "box")]
    quad: [[f32; 2]; 4],
    text: String,
}

/// Parses a reference file: one JSON object per line, `{"file", "lines": [{"box": 4 points,
/// "text"}]}`. An error names the line that failed.
pub fn parse_reference(jsonl: &str) -> Result<Vec<RefPage>, String> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let r: RawRecord =
                serde_json::from_str(l).map_err(|e| format!("reference line {}: {e}", n + 1))?;
            Ok(RefPage {
                file: r.file,
                lines: r
                    .lines
                    .into_iter()
                    .map(|l| RefLine {
                        quad: l.quad.map(|[x, y]| Point::new(x, y)),
                        text: l.text,
                    })
                    .collect(),
            })
        })
        .collect()
}

/// Runs `engine` over the image documents of a dataset folder holding `rapidocr-v4.jsonl`
/// (at most `limit` of them, PDFs skipped) and compares each page with the reference.
/// `on_page` sees every page's counts with both line lists, for reports.
pub fn parity_for_dir(
    engine: &OcrEngine,
    dir: &std::path::Path,
    limit: usize,
    mut on_page: impl FnMut(&str, &ParityCounts, &[RefLine], &[RefLine]),
) -> Result<ParityCounts, String> {
    let ref_path = dir.join("rapidocr-v4.jsonl");
    let text =
        std::fs::read_to_string(&ref_path).map_err(|e| format!("{}: {e}", ref_path.display()))?;
    let mut total = ParityCounts::default();
    let pages = parse_reference(&text)?;
    for page in pages
        .iter()
        .filter(|p| !p.file.to_ascii_lowercase().ends_with(".pdf"))
        .take(limit)
    {
        let path = dir.join(&page.file);
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let ours: Vec<RefLine> = engine
            .recognize_bytes(&bytes)
            .map_err(|e| format!("{}: {e}", path.display()))?
            .lines
            .into_iter()
            .map(|l| RefLine {
                quad: l.quad,
                text: l.text,
            })
            .collect();
        let c = compare_page(&page.lines, &ours, 0.5);
        on_page(&page.file, &c, &page.lines, &ours);
        total.add(&c);
    }
    Ok(total)
}
