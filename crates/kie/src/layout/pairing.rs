//! Label pairing: each line's label (total, subtotal, tax, rounding, …) and the amount it
//! announces — right of it on its row (before the next label column), on a skewed row, as a
//! misread amount, else just below.

use ocr_document::{DocPage, OcrDocument};

use super::money::{Money, misread_amount};
use super::{Line, height, v_overlap, y_centre};
use crate::labels::{LabelKind, is_table_header, label_of};

/// The labels of a document and the amounts they announce.
#[derive(Debug)]
pub(super) struct Pairing {
    /// Each line's label and its strength (indexed like the lines).
    pub(super) line_labels: Vec<Option<(LabelKind, f32)>>,
    /// Labels with their amounts, top to bottom.
    pub(super) labelled: Vec<Labelled>,
}

impl Pairing {
    /// The labelled amounts of one kind, top to bottom.
    pub(super) fn of_kind(&self, k: LabelKind) -> impl DoubleEndedIterator<Item = &Labelled> {
        self.labelled.iter().filter(move |c| c.kind == k)
    }
}

/// Reads every line's label and pairs each with its amount.
pub(super) fn pair(doc: &OcrDocument, lines: &[Line<'_>], money: &[Vec<Money>]) -> Pairing {
    let page_of = |l: &Line<'_>| &doc.pages[l.page];
    let label_texts: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| label_text(l, page_of(l), &money[i]))
        .collect();
    // Each line's label, read once.
    let line_labels: Vec<Option<(LabelKind, f32)>> =
        label_texts.iter().map(|t| label_of(t)).collect();
    // Line `i` and the lines right of it on its row.
    let row_from = |i: usize| {
        let l = &lines[i];
        lines.iter().enumerate().filter(move |(j, o)| {
            o.page == l.page
                && (*j == i || (v_overlap(&o.bbox, &l.bbox) >= 0.5 && o.bbox[0] >= l.bbox[0]))
        })
    };

    // Labels, and the amount each one announces: right of it on its row, else just below.
    let mut labelled: Vec<Labelled> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some((kind, strength)) = line_labels[i] else {
            continue;
        };
        if is_table_header(l.text)
            || crate::labels::is_total_column_heading(&label_texts[i])
            || (kind == LabelKind::Total && row_is_header(lines, i))
        {
            continue;
        }
        // Two label columns on one row ("Exclusief BTW € 593,36 … Subtotaal € 717,97"): a
        // label's amount lies before the next label.
        let next_label_x = lines
            .iter()
            .enumerate()
            .filter(|(j, o)| {
                *j != i
                    && o.page == l.page
                    && v_overlap(&o.bbox, &l.bbox) >= 0.5
                    && o.bbox[0] > l.bbox[2]
                    && line_labels[*j].is_some()
            })
            .map(|(_, o)| o.bbox[0])
            .fold(f32::INFINITY, f32::min);
        let same_row = row_from(i)
            .flat_map(|(j, _)| money[j].iter())
            .filter(|m| m.bbox[0] >= l.bbox[0] && m.bbox[0] < next_label_x);
        // The rightmost column; two amounts of that column both touching a skewed row: the
        // one more level with the label.
        let rightmost = same_row
            .clone()
            .max_by(|a, b| a.bbox[2].total_cmp(&b.bbox[2]));
        let same_row = rightmost.and_then(|r| {
            same_row
                .filter(|m| m.bbox[0] < r.bbox[2] && m.bbox[2] > r.bbox[0])
                .max_by(|a, b| v_overlap(&a.bbox, &l.bbox).total_cmp(&v_overlap(&b.bbox, &l.bbox)))
                .cloned()
        });
        // A skewed photo: the value right of the label sits a little higher or lower.
        let near_row = || {
            let h = height(&l.bbox);
            let dy = |m: &Money| (y_centre(&m.bbox) - y_centre(&l.bbox)).abs();
            lines
                .iter()
                .enumerate()
                .filter(|(_, o)| o.page == l.page && o.bbox[0] >= l.bbox[2] - 0.5 * h)
                .flat_map(|(j, _)| money[j].iter())
                .filter(|m| dy(m) <= 0.8 * h)
                .min_by(|a, b| dy(a).total_cmp(&dy(b)))
                .cloned()
        };
        // `19-80`, `2:44`: a decimal mark misread, taken only beside an amount label.
        let misread_row = || {
            row_from(i)
                .filter_map(|(j, o)| misread_amount(j, o, page_of(o)))
                .next_back()
        };
        let found = same_row
            .or_else(misread_row)
            .or_else(near_row)
            .map(|m| (m, false))
            .or_else(|| {
                let h = height(&l.bbox);
                lines
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| {
                        o.page == l.page
                            && o.bbox[1] >= l.bbox[3] - 0.3 * h
                            && o.bbox[1] <= l.bbox[3] + 1.2 * h
                            && o.bbox[2] >= l.bbox[0]
                            && o.bbox[0] <= l.bbox[2] + 4.0 * h
                    })
                    .flat_map(|(j, _)| money[j].iter())
                    .min_by(|a, b| a.bbox[1].total_cmp(&b.bbox[1]))
                    .cloned()
                    .map(|m| (m, true))
            });
        if let Some((m, below)) = found {
            labelled.push(Labelled {
                kind,
                strength,
                label_line: i,
                money: m,
                below,
            });
        }
    }
    resolve_shared_values(&mut labelled, lines, money);
    Pairing {
        line_labels,
        labelled,
    }
}

/// The line's text as a label: a word that ran into its amount keeps only its letters.
pub(super) fn label_text(line: &Line<'_>, page: &DocPage, money: &[Money]) -> String {
    line.words
        .iter()
        .map(|&wi| {
            money
                .iter()
                .find(|m| m.words == [wi] && m.label_prefix.is_some())
                .and_then(|m| m.label_prefix.clone())
                .unwrap_or_else(|| page.words[wi].text.clone())
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A labelled amount.
#[derive(Debug, Clone)]
pub(super) struct Labelled {
    pub(super) kind: LabelKind,
    pub(super) strength: f32,
    pub(super) label_line: usize,
    pub(super) money: Money,
    pub(super) below: bool,
}

/// Two labels of a stacked label column claiming the same amount (a skewed photo shifts the
/// value column by half a row): the upper label keeps it, the lower one takes the amount just
/// below it in the same column.
pub(super) fn resolve_shared_values(
    labelled: &mut [Labelled],
    lines: &[Line<'_>],
    money: &[Vec<Money>],
) {
    labelled.sort_by(|a, b| {
        (lines[a.label_line].page, lines[a.label_line].bbox[1])
            .partial_cmp(&(lines[b.label_line].page, lines[b.label_line].bbox[1]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for k in 1..labelled.len() {
        let (head, tail) = labelled.split_at_mut(k);
        let cur = &mut tail[0];
        let Some(prev) = head
            .iter()
            .rev()
            .find(|p| p.money.line == cur.money.line && p.money.bbox == cur.money.bbox)
        else {
            continue;
        };
        // Equal subtotal and total, or a total repeated as cash, are real: only the parts of a
        // sum (subtotal, tax, adjustments) are re-paired.
        let part = |k: LabelKind| !matches!(k, LabelKind::Total | LabelKind::NotTotal);
        if prev.kind == cur.kind || !part(prev.kind) || !part(cur.kind) {
            continue;
        }
        let taken = &prev.money;
        let h = height(&taken.bbox);
        let next = money
            .iter()
            .flatten()
            .filter(|m| {
                lines[m.line].page == lines[taken.line].page
                    && m.bbox[1] >= taken.bbox[1] + 0.5 * h
                    && m.bbox[1] <= taken.bbox[3] + 1.0 * h
                    && m.bbox[0] < taken.bbox[2]
                    && m.bbox[2] > taken.bbox[0]
            })
            .min_by(|a, b| a.bbox[1].total_cmp(&b.bbox[1]));
        if let Some(m) = next {
            cur.money = m.clone();
        }
    }
}

/// A `Total` on a row with other column headings is a table header.
pub(super) fn row_is_header(lines: &[Line<'_>], i: usize) -> bool {
    let row: String = lines
        .iter()
        .filter(|o| o.page == lines[i].page && v_overlap(&o.bbox, &lines[i].bbox) >= 0.5)
        .map(|o| o.text)
        .collect::<Vec<_>>()
        .join(" ");
    is_table_header(&row)
}
