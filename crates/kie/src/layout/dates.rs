//! The date: every line's first date, scored by a date label beside or above it (periods,
//! due and version dates count against), its place on the page and the page.

use rules::{DateContext, FieldInput};

use super::{Draft, Line, height, line_evidence, v_overlap};
use crate::labels::date_label;
use crate::types::FieldName;

/// Chooses the date into the draft.
pub(super) fn choose(lines: &[Line<'_>], dctx: &DateContext, d: &mut Draft) {
    let mut best_date: Option<(f32, usize)> = None;
    for (i, l) in lines.iter().enumerate() {
        let found = rules::find_dates(l.text, dctx);
        let Some((date, _)) = found.first() else {
            continue;
        };
        let mut score = date.confidence + 0.2 * (1.0 - l.y_rel) - 0.3 * l.page.min(3) as f32;
        let label = date_label(l.text).or_else(|| label_left_or_above(lines, i));
        match label {
            Some(s) if s > 0.0 => score += 0.6,
            Some(_) => score -= 0.8,
            None => {}
        }
        if best_date.is_none_or(|b| score > b.0) {
            best_date = Some((score, i));
        }
    }
    if let Some((score, i)) = best_date {
        let l = &lines[i];
        d.raw.date = Some(FieldInput::new(
            l.text.to_string(),
            (0.5 + 0.3 * score).clamp(0.3, 0.95) * l.conf.max(0.5),
        ));
        d.evidence.push((FieldName::Date, line_evidence(l)));
    }
}

/// A date label left of line `i` on its row, or on the line just above it.
pub(super) fn label_left_or_above(lines: &[Line<'_>], i: usize) -> Option<f32> {
    let l = &lines[i];
    let h = height(&l.bbox);
    lines
        .iter()
        .filter(|o| o.page == l.page)
        .filter(|o| {
            (v_overlap(&o.bbox, &l.bbox) >= 0.5 && o.bbox[2] <= l.bbox[0] + 1.0)
                || (o.bbox[3] <= l.bbox[1] + 0.3 * h
                    && o.bbox[3] >= l.bbox[1] - 1.5 * h
                    && o.bbox[0] <= l.bbox[2]
                    && o.bbox[2] >= l.bbox[0])
        })
        .filter_map(|o| date_label(o.text))
        .max_by(f32::total_cmp)
}
