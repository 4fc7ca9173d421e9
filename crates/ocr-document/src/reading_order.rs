//! Reading order, computed once for every backend: words are grouped into lines (same
//! baseline band, no column gap between them), and lines are ordered by a recursive XY cut
//! at the widest gap: horizontal gaps read top to bottom; a vertical gutter reads the left
//! column as a whole before the right one, unless the two sides' lines pair up row by row (a
//! label/value table, read row by row); what cannot be cut is read row by row.

use crate::document::BBox;

/// A horizontal gap wider than this many line heights ends a line.
const COLUMN_GAP: f32 = 2.0;
/// The fraction of each box's height trimmed at top and bottom before looking for horizontal
/// cuts, so that slightly skewed neighbouring rows still separate.
const CUT_TRIM: f32 = 0.2;

/// Groups word boxes into lines and returns the lines in reading order, each as word indices
/// from left to right.
pub fn lines_in_reading_order(boxes: &[BBox]) -> Vec<Vec<usize>> {
    if boxes.is_empty() {
        return Vec::new();
    }
    let unit = median_height(boxes.iter()).max(1.0);
    let lines = group_lines(boxes, unit);
    let line_boxes: Vec<BBox> = lines
        .iter()
        .map(|l| crate::document::union(l.iter().map(|&i| boxes[i])))
        .collect();
    let order = xy_cut((0..lines.len()).collect(), &line_boxes, unit);
    let mut lines: Vec<Option<Vec<usize>>> = lines.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| lines[i].take()).collect()
}

fn height(b: &BBox) -> f32 {
    b[3] - b[1]
}

fn y_center(b: &BBox) -> f32 {
    (b[1] + b[3]) / 2.0
}

fn median_height<'a>(boxes: impl Iterator<Item = &'a BBox>) -> f32 {
    let mut h: Vec<f32> = boxes.map(height).filter(|h| *h > 0.0).collect();
    if h.is_empty() {
        return 0.0;
    }
    h.sort_by(f32::total_cmp);
    h[h.len() / 2]
}

/// Vertical overlap of two boxes as a fraction of the shorter one's height.
fn v_overlap(a: &BBox, b: &BBox) -> f32 {
    let inter = a[3].min(b[3]) - a[1].max(b[1]);
    let shorter = height(a).min(height(b)).max(1e-3);
    (inter / shorter).max(0.0)
}

/// Rows by baseline band (a word joins the row whose centre is nearest, within half a
/// height), then rows split at wide horizontal gaps.
fn group_lines(boxes: &[BBox], unit: f32) -> Vec<Vec<usize>> {
    let mut by_y: Vec<usize> = (0..boxes.len()).collect();
    by_y.sort_by(|&a, &b| y_center(&boxes[a]).total_cmp(&y_center(&boxes[b])));
    // (sum of centres, sum of heights, members)
    let mut rows: Vec<(f32, f32, Vec<usize>)> = Vec::new();
    for i in by_y {
        let b = &boxes[i];
        let (yc, h) = (y_center(b), height(b).max(1.0));
        let best = rows
            .iter()
            .enumerate()
            .rev()
            .take(8)
            .map(|(r, (sy, sh, m))| {
                let n = m.len() as f32;
                (r, (yc - sy / n).abs(), (h.min(sh / n)) * 0.5)
            })
            .filter(|(_, d, tol)| d <= tol)
            .min_by(|a, b| a.1.total_cmp(&b.1));
        match best {
            Some((r, _, _)) => {
                rows[r].0 += yc;
                rows[r].1 += h;
                rows[r].2.push(i);
            }
            None => rows.push((yc, h, vec![i])),
        }
    }
    let mut lines = Vec::new();
    for (_, sh, mut members) in rows {
        let row_h = (sh / members.len() as f32).max(unit * 0.5);
        members.sort_by(|&a, &b| boxes[a][0].total_cmp(&boxes[b][0]));
        let mut line = vec![members[0]];
        let mut right = boxes[members[0]][2];
        for &i in &members[1..] {
            if boxes[i][0] - right > COLUMN_GAP * row_h {
                lines.push(std::mem::take(&mut line));
            }
            right = right.max(boxes[i][2]);
            line.push(i);
        }
        lines.push(line);
    }
    lines
}

/// The gaps left between `lo..hi` intervals: for each, its width and the items before it
/// (sorted by `lo`), widest first.
fn gaps(
    items: &[usize],
    lo: impl Fn(usize) -> f32,
    hi: impl Fn(usize) -> f32,
) -> (Vec<usize>, Vec<(f32, usize)>) {
    let mut sorted = items.to_vec();
    sorted.sort_by(|&a, &b| lo(a).total_cmp(&lo(b)));
    let mut out = Vec::new();
    let mut reach = f32::NEG_INFINITY;
    for (k, &i) in sorted.iter().enumerate() {
        if k > 0 && lo(i) > reach {
            out.push((lo(i) - reach, k));
        }
        reach = reach.max(hi(i));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0));
    (sorted, out)
}

/// One cut at a time, at the widest gap in either direction: a horizontal gap between bands
/// of lines, or a vertical gutter at least a line height wide whose two sides do not pair up
/// row by row.
fn xy_cut(items: Vec<usize>, boxes: &[BBox], unit: f32) -> Vec<usize> {
    if items.len() <= 1 {
        return items;
    }
    let trim = |i: usize| height(&boxes[i]) * CUT_TRIM;
    let (by_y, h_gaps) = gaps(&items, |i| boxes[i][1] + trim(i), |i| boxes[i][3] - trim(i));
    let (by_x, v_gaps) = gaps(&items, |i| boxes[i][0], |i| boxes[i][2]);
    let vertical = v_gaps
        .into_iter()
        .filter(|(g, _)| *g >= unit)
        .find(|&(_, k)| !row_aligned(&by_x[..k], &by_x[k..], boxes));
    let horizontal = h_gaps.first().copied();
    let (sorted, k) = match (horizontal, vertical) {
        (Some(h), Some(v)) if v.0 > h.0 => (by_x, v.1),
        (Some(h), _) => (by_y, h.1),
        (None, Some(v)) => (by_x, v.1),
        (None, None) => return row_by_row(items, boxes),
    };
    let mut first = xy_cut(sorted[..k].to_vec(), boxes, unit);
    first.extend(xy_cut(sorted[k..].to_vec(), boxes, unit));
    first
}

/// What cannot be cut: rows by centre, left to right within a row.
fn row_by_row(mut items: Vec<usize>, boxes: &[BBox]) -> Vec<usize> {
    items.sort_by(|&a, &b| y_center(&boxes[a]).total_cmp(&y_center(&boxes[b])));
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for i in items {
        match rows.last_mut() {
            Some(row) if v_overlap(&boxes[row[0]], &boxes[i]) >= 0.5 => row.push(i),
            _ => rows.push(vec![i]),
        }
    }
    rows.into_iter()
        .flat_map(|mut r| {
            r.sort_by(|&a, &b| boxes[a][0].total_cmp(&boxes[b][0]));
            r
        })
        .collect()
}

/// True when most lines of the smaller side share a row with a line of the other side.
fn row_aligned(left: &[usize], right: &[usize], boxes: &[BBox]) -> bool {
    let (small, big) = if left.len() <= right.len() {
        (left, right)
    } else {
        (right, left)
    };
    let paired = small
        .iter()
        .filter(|&&a| big.iter().any(|&b| v_overlap(&boxes[a], &boxes[b]) >= 0.5))
        .count();
    paired * 2 >= small.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(boxes: &[(&'static str, BBox)]) -> Vec<String> {
        let b: Vec<BBox> = boxes.iter().map(|(_, b)| *b).collect();
        lines_in_reading_order(&b)
            .into_iter()
            .map(|l| l.iter().map(|&i| boxes[i].0).collect::<Vec<_>>().join(" "))
            .collect()
    }

    #[test]
    fn receipt_rows_read_label_then_value() {
        let words = [
            ("65.50", [300.0, 102.0, 350.0, 118.0]),
            ("TOTAL", [10.0, 100.0, 60.0, 116.0]),
            ("(RM)", [65.0, 100.0, 100.0, 116.0]),
            ("SUBTOTAL", [10.0, 80.0, 90.0, 96.0]),
            ("61.79", [300.0, 81.0, 350.0, 97.0]),
        ];
        assert_eq!(texts(&words), ["SUBTOTAL", "61.79", "TOTAL (RM)", "65.50"]);
    }

    #[test]
    fn slightly_skewed_rows_stay_rows() {
        // Each row drifts down by 6 px over 300 px; rows are 20 px apart.
        let words = [
            ("A1", [0.0, 0.0, 40.0, 14.0]),
            ("A2", [260.0, 6.0, 300.0, 20.0]),
            ("B1", [0.0, 20.0, 40.0, 34.0]),
            ("B2", [260.0, 26.0, 300.0, 40.0]),
            ("C1", [0.0, 40.0, 40.0, 54.0]),
            ("C2", [260.0, 46.0, 300.0, 60.0]),
        ];
        assert_eq!(texts(&words), ["A1", "A2", "B1", "B2", "C1", "C2"]);
    }

    #[test]
    fn unaligned_columns_are_read_one_after_the_other() {
        // Two columns whose lines sit at different heights: no right line shares a row band
        // with a left one.
        let words = [
            ("L1", [0.0, 0.0, 100.0, 10.0]),
            ("L2", [0.0, 20.0, 100.0, 30.0]),
            ("L3", [0.0, 40.0, 100.0, 50.0]),
            ("R1", [200.0, 9.0, 300.0, 19.0]),
            ("R2", [200.0, 29.0, 300.0, 39.0]),
        ];
        assert_eq!(texts(&words), ["L1", "L2", "L3", "R1", "R2"]);
    }

    #[test]
    fn a_heading_then_columns_then_a_footer() {
        let words = [
            ("Footer", [0.0, 200.0, 300.0, 210.0]),
            ("R1", [200.0, 39.0, 300.0, 49.0]),
            ("L1", [0.0, 30.0, 100.0, 40.0]),
            ("Heading", [0.0, 0.0, 300.0, 12.0]),
            ("L2", [0.0, 50.0, 100.0, 60.0]),
            ("R2", [200.0, 59.0, 300.0, 69.0]),
        ];
        assert_eq!(texts(&words), ["Heading", "L1", "L2", "R1", "R2", "Footer"]);
    }

    #[test]
    fn empty_and_degenerate_boxes() {
        assert!(lines_in_reading_order(&[]).is_empty());
        let lines = lines_in_reading_order(&[[5.0, 5.0, 5.0, 5.0], [5.0, 5.0, 5.0, 5.0]]);
        assert_eq!(lines.iter().map(Vec::len).sum::<usize>(), 2);
    }
}
