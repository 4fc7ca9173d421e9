//! The built-in `layout` backend: label → value pairing along rows and down columns, money and
//! date candidates scored by their labels, position and arithmetic, the merchant from the top
//! of the first page. No model weights; every answer goes through `crates/rules`.

use ocr_document::{BBox, DocPage, OcrDocument};
use rules::{Adjustment, AdjustmentKind, DateContext, FieldInput, RawFields};
use rust_decimal::Decimal;

use crate::labels::{LabelKind, date_label, is_table_header, label_of, not_a_name};
use crate::types::{Evidence, ExtractOptions, Extraction, Field, FieldName, KieBackend, KieError};

/// The layout backend. Stateless; cheap to share.
#[derive(Debug, Clone, Default)]
pub struct LayoutBackend;

impl KieBackend for LayoutBackend {
    fn name(&self) -> &str {
        "layout"
    }

    fn model_version(&self) -> String {
        format!("layout-{}", env!("CARGO_PKG_VERSION"))
    }

    fn extract(&self, doc: &OcrDocument, opts: &ExtractOptions) -> Result<Extraction, KieError> {
        if doc.pages.is_empty() {
            return Err(KieError::EmptyDocument);
        }
        Ok(extract(doc, opts))
    }
}

/// A line with what the backend needs to know about it.
#[derive(Debug, Clone)]
struct Line<'a> {
    page: usize,
    text: &'a str,
    bbox: BBox,
    words: &'a [usize],
    /// Position down the page, 0 (top) to 1 (bottom).
    y_rel: f32,
    conf: f32,
}

/// An amount printed on the document.
#[derive(Debug, Clone)]
struct Money {
    line: usize,
    raw: String,
    value: Decimal,
    bbox: BBox,
    words: Vec<usize>,
    /// The label part of a word that ran into this amount (`Tota1` of `Tota1RM21.85`).
    label_prefix: Option<String>,
}

fn height(b: &BBox) -> f32 {
    (b[3] - b[1]).max(1.0)
}

fn y_centre(b: &BBox) -> f32 {
    (b[1] + b[3]) / 2.0
}

fn v_overlap(a: &BBox, b: &BBox) -> f32 {
    let inter = a[3].min(b[3]) - a[1].max(b[1]);
    (inter / height(a).min(height(b))).max(0.0)
}

fn lines_of(doc: &OcrDocument) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    for p in &doc.pages {
        for l in &p.lines {
            let conf = if l.words.is_empty() {
                0.0
            } else {
                l.words.iter().map(|&i| p.words[i].conf).sum::<f32>() / l.words.len() as f32
            };
            out.push(Line {
                page: p.index,
                text: &l.text,
                bbox: l.bbox,
                words: &l.words,
                y_rel: l.bbox[1] / (p.height.max(1) as f32),
                conf,
            });
        }
    }
    out
}

/// Whether a word (or two joined) reads as money: a decimal part of two digits, or digits
/// with a currency beside them, never a date, time, percentage or long id.
fn money_like(raw: &str) -> bool {
    let t = raw.trim();
    if t.contains('%') || t.contains(':') || t.contains('/') || t.is_empty() {
        return false;
    }
    let digits = t.chars().filter(char::is_ascii_digit).count();
    if digits == 0 || digits > 12 {
        return false;
    }
    let core: String = t
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
        .collect();
    // Dates like 12.03.24.
    if core.matches('.').count() >= 2 && core.split('.').all(|g| g.len() <= 2) {
        return false;
    }
    let two_decimals = core
        .rfind(['.', ','])
        .is_some_and(|i| core.len() - i - 1 == 2);
    let grouped = core.contains(['.', ',']) && core.split(['.', ',']).skip(1).all(|g| g.len() == 3);
    let has_symbol = t
        .chars()
        .any(|c| !c.is_ascii_digit() && !matches!(c, '.' | ',' | '-' | '(' | ')' | ' '));
    two_decimals || (grouped && has_symbol) || (grouped && digits >= 5)
}

/// Whether `raw` reads as a whole number grouped in thousands by one separator and nothing
/// else (`2.619`, `148,000`): money in some currencies, a price per litre or a quantity in
/// others.
fn single_group(raw: &str) -> bool {
    let core: String = raw
        .chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
        .collect();
    let seps = core.matches(['.', ',']).count();
    seps == 1
        && core
            .rfind(['.', ','])
            .is_some_and(|i| core.len() - i - 1 == 3)
}

/// The amount at the end of a word run into its label (`Tota1RM21.85`, `AMOUNT:$110.81`): the
/// longest clean suffix (a short currency prefix, then only digits and separators) with two
/// decimals, after a prefix of at least three letters.
fn money_suffix(word: &str) -> Option<usize> {
    word.char_indices().skip(1).find_map(|(i, _)| {
        let (prefix, rest) = word.split_at(i);
        let last = prefix.chars().next_back()?;
        if prefix.chars().filter(|c| c.is_alphabetic()).count() < 3
            || !(last.is_alphanumeric() || last == ':')
        {
            return None;
        }
        let number = rest.trim_start_matches(|c: char| !c.is_ascii_digit() && c != '-');
        let symbol = rest.len() - number.len();
        let number = number.strip_prefix('-').unwrap_or(number);
        let clean = symbol <= 3
            && number.starts_with(|c: char| c.is_ascii_digit())
            && number
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | ','));
        let two = number
            .rfind(['.', ','])
            .is_some_and(|k| number.len() - k - 1 == 2);
        (clean && two && rules::parse_amount(rest, None).is_ok()).then_some(i)
    })
}

fn money_on_line(idx: usize, line: &Line<'_>, page: &DocPage) -> Vec<Money> {
    let mut out = Vec::new();
    let words = line.words;
    let text = |k: usize| page.words[words[k]].text.as_str();
    let mut k = 0;
    while k < words.len() {
        let wi = words[k];
        let w = text(k);
        // A number followed by `%` is a rate.
        if words
            .get(k + 1)
            .is_some_and(|_| text(k + 1).starts_with('%'))
        {
            k += 1;
            continue;
        }
        let mut tries = vec![(vec![wi], w.to_string())];
        if k > 0 {
            let prev = text(k - 1);
            if !prev.chars().any(|c| c.is_ascii_digit()) && prev.chars().count() <= 4 {
                tries.push((vec![words[k - 1], wi], format!("{prev} {w}")));
            }
        }
        if let Some(next) = words.get(k + 1).map(|_| text(k + 1))
            && !next.chars().any(|c| c.is_ascii_digit())
            && next.chars().count() <= 3
        {
            tries.push((vec![wi, words[k + 1]], format!("{w} {next}")));
        }
        // `5. 75`: OCR split the amount after its decimal mark.
        let split_decimals = words.get(k + 1).is_some_and(|_| {
            let next = text(k + 1);
            w.ends_with(['.', ','])
                && w.chars().any(|c| c.is_ascii_digit())
                && next.len() == 2
                && next.chars().all(|c| c.is_ascii_digit())
        });
        if split_decimals {
            tries.push((vec![wi, words[k + 1]], format!("{w}{}", text(k + 1))));
        }
        let mut found = false;
        for (ws, raw) in tries.into_iter().rev() {
            if !money_like(&raw) {
                continue;
            }
            if let Ok(p) = rules::parse_amount(&raw, None) {
                let bbox = ocr_document::document::union(ws.iter().map(|&i| page.words[i].bbox));
                let skip = ws.len() == 2 && ws[0] == wi;
                out.push(Money {
                    line: idx,
                    raw,
                    value: p.value,
                    bbox,
                    words: ws,
                    label_prefix: None,
                });
                found = true;
                if skip {
                    k += 1;
                }
                break;
            }
        }
        if !found && let Some(i) = money_suffix(w) {
            let raw = w[i..].to_string();
            if let Ok(p) = rules::parse_amount(&raw, None) {
                out.push(Money {
                    line: idx,
                    raw,
                    value: p.value,
                    bbox: page.words[wi].bbox,
                    words: vec![wi],
                    label_prefix: Some(w[..i].to_string()),
                });
            }
        }
        k += 1;
    }
    out
}

/// The last word of a line that is an amount with its decimal mark misread as `-` or `:`.
fn misread_amount(idx: usize, line: &Line<'_>, page: &DocPage) -> Option<Money> {
    line.words.iter().rev().find_map(|&wi| {
        let w = page.words[wi].text.as_str();
        let body = w.strip_prefix('$').unwrap_or(w);
        let (int, dec) = body.split_once(['-', ':'])?;
        let ok = (1..=5).contains(&int.len())
            && int.chars().all(|c| c.is_ascii_digit())
            && dec.len() == 2
            && dec.chars().all(|c| c.is_ascii_digit());
        if !ok {
            return None;
        }
        let raw = format!("{int}.{dec}");
        let value = rules::parse_amount(&raw, None).ok()?.value;
        Some(Money {
            line: idx,
            raw,
            value,
            bbox: page.words[wi].bbox,
            words: vec![wi],
            label_prefix: None,
        })
    })
}

/// The line's text as a label: a word that ran into its amount keeps only its letters.
fn label_text(line: &Line<'_>, page: &DocPage, money: &[Money]) -> String {
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
struct Labelled {
    kind: LabelKind,
    strength: f32,
    label_line: usize,
    money: Money,
    below: bool,
}

fn extract(doc: &OcrDocument, opts: &ExtractOptions) -> Extraction {
    let lines = lines_of(doc);
    let page_of = |l: &Line<'_>| &doc.pages[l.page];
    let money: Vec<Vec<Money>> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| money_on_line(i, l, page_of(l)))
        .collect();
    // A document that prints its amounts with two decimals does not also print money as
    // `2.619` or `148,000`: those are prices per unit, quantities or another currency.
    // Nor, with a known decimal mark, does it print three decimals with that mark (`10.889`
    // gallons beside `$37.01`).
    let mark = |m: &Money| {
        let core = m.raw.trim_end_matches(|c: char| !c.is_ascii_digit());
        core.len()
            .checked_sub(3)
            .and_then(|i| core.get(i..))
            .and_then(|t| t.chars().next())
            .filter(|c| matches!(c, '.' | ','))
    };
    let marks: Vec<char> = money.iter().flatten().filter_map(mark).collect();
    let dot_decimal = marks.contains(&'.') && !marks.contains(&',');
    let comma_decimal = marks.contains(&',') && !marks.contains(&'.');
    let two_decimal = money
        .iter()
        .flatten()
        .filter(|m| !single_group(&m.raw))
        .count();
    let not_money = |m: &Money| {
        single_group(&m.raw)
            && (two_decimal >= 3
                || (dot_decimal && m.raw.contains('.'))
                || (comma_decimal && m.raw.contains(',')))
    };
    let money: Vec<Vec<Money>> = money
        .into_iter()
        .map(|ms| ms.into_iter().filter(|m| !not_money(m)).collect())
        .collect();
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
            || (kind == LabelKind::Total && row_is_header(&lines, i))
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
    resolve_shared_values(&mut labelled, &lines, &money);
    let of_kind = |k: LabelKind| labelled.iter().filter(move |c| c.kind == k);
    // The last amount on a cash-/change-like row, for the cash − change = total check.
    let last_not_total = |word: &str| {
        of_kind(LabelKind::NotTotal)
            .filter(|c| crate::labels::norm(lines[c.label_line].text).contains(word))
            .map(|c| c.money.value)
            .next_back()
    };
    let (cash, change) = (last_not_total("CASH"), last_not_total("CHANGE"));

    // Subtotal and tax first: they vote for the total.
    let subtotals: Vec<Labelled> = of_kind(LabelKind::Subtotal)
        .filter(|c| c.money.value > Decimal::ZERO)
        .cloned()
        .collect();
    let taxes: Vec<Labelled> = of_kind(LabelKind::Tax)
        .filter(|c| c.money.value >= Decimal::ZERO)
        .cloned()
        .collect();

    let totals: Vec<&Labelled> = of_kind(LabelKind::Total)
        .filter(|c| c.money.value > Decimal::ZERO)
        .collect();
    let max_total = totals.iter().map(|c| c.money.value).max();
    let med_h = median(lines.iter().map(|l| height(&l.bbox)));
    let total = totals
        .iter()
        .map(|c| {
            let l = &lines[c.label_line];
            let mut score =
                c.strength + 0.25 * l.y_rel + 0.1 * (c.money.line == c.label_line) as u8 as f32;
            if Some(c.money.value) == max_total {
                score += 0.5;
            }
            score += 0.3 * ((height(&l.bbox) / med_h - 1.0).clamp(0.0, 1.0));
            if let (Some(ca), Some(ch)) = (cash, change)
                && ca - ch == c.money.value
            {
                score += 0.6;
            }
            if subtotals.iter().any(|s| {
                taxes
                    .iter()
                    .any(|t| s.money.value + t.money.value == c.money.value)
            }) {
                score += 0.6;
            }
            // The total after rounding: another total plus the rounding line.
            if of_kind(LabelKind::Rounding).any(|r| {
                totals.iter().any(|t| {
                    t.money.value + r.money.value == c.money.value && t.money.value != c.money.value
                })
            }) {
                score += 0.7;
            }
            if c.below {
                score -= 0.1;
            }
            (score, *c)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));

    let mut raw = RawFields::default();
    let mut evidence: Vec<(FieldName, Evidence)> = Vec::new();
    let ev =
        |m: &Money| Evidence::on_page(lines[m.line].page, m.words.clone(), m.bbox, m.raw.clone());
    let total_money: Option<Money> = match total {
        Some((score, c)) => {
            let conf = (0.55 + 0.25 * c.strength + 0.1 * score.min(2.0)).min(0.97)
                * lines[c.money.line].conf.max(0.5);
            let chosen = after_rounding(c, &lines, &money, &labelled).unwrap_or(&c.money);
            raw.total = Some(FieldInput::new(chosen.raw.clone(), conf));
            evidence.push((FieldName::Total, ev(chosen)));
            Some(chosen.clone())
        }
        None => {
            // No labelled total: the largest amount not on a cash/change row, as a guess.
            let excluded: Vec<usize> = of_kind(LabelKind::NotTotal).map(|c| c.money.line).collect();
            let best = money
                .iter()
                .flatten()
                .filter(|m| !excluded.contains(&m.line))
                .max_by(|a, b| a.value.cmp(&b.value))
                .cloned();
            if let Some(m) = &best {
                raw.total = Some(FieldInput::new(m.raw.clone(), 0.25));
                evidence.push((FieldName::Total, ev(m)));
            }
            best
        }
    };
    let total_value = total_money.as_ref().map(|m| m.value);
    // A subtotal above the total only when something was taken off (discounts, savings).
    let has_deduction = money.iter().flatten().any(|m| m.value < Decimal::ZERO);
    // The subtotal that adds up with a tax to the total, else the strongest label lowest down.
    let subtotal = subtotals
        .iter()
        .filter(|s| has_deduction || total_value.is_none_or(|t| s.money.value <= t))
        .map(|s| {
            // Equal to the total only where no tax is charged.
            let untaxed = taxes.iter().all(|t| t.money.value == Decimal::ZERO);
            let fits = total_value.is_some_and(|g| {
                (untaxed && s.money.value == g)
                    || taxes.iter().any(|t| {
                        t.money.value > Decimal::ZERO && s.money.value + t.money.value == g
                    })
            });
            let score = s.strength + 0.1 * lines[s.label_line].y_rel + 0.5 * fits as u8 as f32;
            (score, s)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s.clone());
    let sub_money = subtotal.as_ref().map(|s| s.money.clone());
    if let Some(s) = subtotal {
        raw.subtotal = Some(FieldInput::new(s.money.raw.clone(), 0.6 + 0.3 * s.strength));
        evidence.push((FieldName::Subtotal, ev(&s.money)));
    }
    let sub_value = input_value(&raw.subtotal);
    let tax = taxes
        .iter()
        .filter(|t| total_value.is_none_or(|g| t.money.value < g))
        .map(|t| {
            let fits =
                matches!((sub_value, total_value), (Some(s), Some(g)) if s + t.money.value == g);
            (
                t.strength + if fits { 1.0 } else { 0.0 } + 0.1 * lines[t.label_line].y_rel,
                t,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, t)| t.clone());
    // No tax line, but exactly one unlabelled amount between the subtotal and the total that
    // closes the sum ("Sales: 1.16", its label cut short): the tax, as an inference added after
    // the rules like the inferred subtotal, so that it never confirms the total.
    let mut inferred_tax: Option<Money> = None;
    if tax.is_none()
        && let (Some(sm), Some(tm)) = (&sub_money, &total_money)
        && lines[sm.line].page == lines[tm.line].page
    {
        let closing: Vec<&Money> = money
            .iter()
            .flatten()
            .filter(|m| {
                lines[m.line].page == lines[tm.line].page
                    && y_centre(&m.bbox) > y_centre(&sm.bbox)
                    && y_centre(&m.bbox) < y_centre(&tm.bbox)
                    && m.value > Decimal::ZERO
                    && sm.value + m.value == tm.value
                    && !lines.iter().enumerate().any(|(j, o)| {
                        o.page == lines[m.line].page
                            && (j == m.line || v_overlap(&o.bbox, &m.bbox) >= 0.5)
                            && line_labels[j].is_some()
                    })
            })
            .collect();
        if let [m] = closing.as_slice() {
            inferred_tax = Some((*m).clone());
        }
    }
    if let Some(t) = tax {
        raw.tax_amount = Some(FieldInput::new(
            t.money.raw.clone(),
            0.55 + 0.3 * t.strength,
        ));
        evidence.push((FieldName::TaxAmount, ev(&t.money)));
    }
    // A tax summary table (column headings over the values) decides subtotal and tax where
    // the labelled reading found no pair that adds up to the total and the table's does.
    if let Some(t) = crate::tax_table::read(doc) {
        let (sub, tax, total) = (
            input_value(&raw.subtotal),
            input_value(&raw.tax_amount),
            input_value(&raw.total),
        );
        let labelled_fit = matches!((sub, tax, total), (Some(s), Some(x), Some(g)) if s + x == g);
        let table_fit = total.is_some_and(|g| t.base.value + t.tax.value == g)
            || (total.is_none() && t.gross.is_some());
        if table_fit && !labelled_fit {
            raw.subtotal = Some(FieldInput::new(t.base.value.to_string(), 0.8));
            raw.tax_amount = Some(FieldInput::new(t.tax.value.to_string(), 0.8));
            evidence.push((FieldName::Subtotal, t.base.evidence()));
            evidence.push((FieldName::TaxAmount, t.tax.evidence()));
            if total.is_none()
                && let Some(g) = &t.gross
            {
                raw.total = Some(FieldInput::new(g.value.to_string(), 0.7));
                evidence.push((FieldName::Total, g.evidence()));
            }
        }
    }
    for (kind, adj) in [
        (LabelKind::Rounding, AdjustmentKind::Rounding),
        (LabelKind::Discount, AdjustmentKind::Discount),
        (LabelKind::Service, AdjustmentKind::ServiceCharge),
    ] {
        if let Some(c) = of_kind(kind).next_back() {
            raw.adjustments.push(Adjustment {
                kind: adj,
                raw: c.money.raw.clone(),
            });
        }
    }

    // No subtotal line. With nothing between the parts and the total (no rounding, discount
    // or service line), the subtotal is the total less its tax when that amount is printed,
    // or — no tax on the document either — the total itself. Both are inferences: low
    // confidence, and added after the rules so that they never "confirm" the total.
    let mut inferred_subtotal: Option<(Money, f32)> = None;
    if raw.subtotal.is_none()
        && raw.adjustments.is_empty()
        && let Some(t) = &total_money
    {
        let tax_value = input_value(&raw.tax_amount);
        let found = match tax_value {
            Some(tv) => money
                .iter()
                .flatten()
                .find(|m| m.value == t.value - tv && m.value > Decimal::ZERO)
                .map(|m| (m.clone(), 0.45)),
            None => Some((t.clone(), 0.3)),
        };
        inferred_subtotal = found;
    }
    // Two totals, the lower one larger by an amount printed between them ("Totale 442,00",
    // "53,00", "Totale EURO 495,00"): the first is the subtotal.
    if raw.subtotal.is_none()
        && let Some((_, chosen)) = total
    {
        let (page, y) = (
            lines[chosen.label_line].page,
            lines[chosen.label_line].bbox[1],
        );
        let earlier = totals.iter().filter(|c| {
            let l = &lines[c.label_line];
            l.page == page && l.bbox[1] < y && c.money.value < chosen.money.value
        });
        let rounding: Vec<usize> = of_kind(LabelKind::Rounding).map(|r| r.money.line).collect();
        for c in earlier {
            let (top, bottom) = (y_centre(&c.money.bbox), y_centre(&chosen.money.bbox));
            let step = chosen.money.value - c.money.value;
            let between = money.iter().flatten().any(|m| {
                lines[m.line].page == page
                    && !rounding.contains(&m.line)
                    && y_centre(&m.bbox) > top
                    && y_centre(&m.bbox) < bottom
                    && m.value == step
            });
            if between {
                inferred_subtotal = Some((c.money.clone(), 0.5));
            }
        }
    }

    // Currency from symbols and codes anywhere, else the locale default.
    let text = doc.text();
    let mut hints = opts.hints().clone();
    let inferred = if hints.country.is_none() {
        infer_country(&text)
    } else {
        None
    };
    if let Some(c) = inferred {
        hints.country = Some(c.to_string());
    }
    let mut currency = rules::detect_currency(&text, &hints);
    // Only a bare `$`/`¥`, or nothing: the country the document names decides.
    let weak = currency
        .as_ref()
        .is_none_or(|c| matches!(c.evidence.as_str(), "$" | "¥"));
    if weak && let Some(code) = inferred.and_then(country_currency) {
        currency = Some(rules::CurrencyMatch {
            code: code.to_string(),
            evidence: format!("country {}", inferred.unwrap_or_default()),
            confidence: 0.6,
        });
    }
    if let Some(c) = &currency {
        raw.currency = Some(FieldInput::new(c.code.clone(), c.confidence));
        if let Some(e) = find_words(doc, &lines, &c.evidence) {
            evidence.push((FieldName::Currency, e));
        }
    }

    // Dates near a date label, else the most plausible one near the top.
    let dctx = DateContext::from_hints(
        &hints,
        currency.as_ref().map(|c| c.code.as_str()),
        opts.rules.today,
    );
    let mut best_date: Option<(f32, usize)> = None;
    for (i, l) in lines.iter().enumerate() {
        let found = rules::find_dates(l.text, &dctx);
        let Some((d, _)) = found.first() else {
            continue;
        };
        let mut score = d.confidence + 0.2 * (1.0 - l.y_rel) - 0.3 * l.page.min(3) as f32;
        let label = date_label(l.text).or_else(|| label_left_or_above(&lines, i));
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
        raw.date = Some(FieldInput::new(
            l.text.to_string(),
            (0.5 + 0.3 * score).clamp(0.3, 0.95) * l.conf.max(0.5),
        ));
        evidence.push((FieldName::Date, line_evidence(l)));
    }

    // Merchant from the top of the first page.
    if let Some((conf, name, ev_lines)) = seller(&lines, doc) {
        raw.merchant = Some(FieldInput::new(name, conf));
        let e = ev_lines
            .iter()
            .map(|&i| line_evidence(&lines[i]))
            .reduce(|a, b| {
                Evidence::on_page(
                    a.page,
                    a.words.into_iter().chain(b.words).collect(),
                    ocr_document::document::union([a.bbox, b.bbox]),
                    format!("{} {}", a.text, b.text),
                )
            });
        if let Some(e) = e {
            evidence.push((FieldName::Merchant, e));
        }
    }

    // A credit note: its amounts are negative, as printed or as the document type implies (the
    // rules make them so).
    let credit_note = lines
        .iter()
        .filter(|l| l.page == lines[0].page && l.y_rel < 0.4)
        .any(|l| crate::labels::credit_note_heading(l.text));
    raw.refund = credit_note;
    let mut out = Extraction::from_raw(&raw, &opts.rules);
    if credit_note {
        out.warnings.push(rules::Warning {
            code: "credit_note".into(),
            message: "credit note (by its heading): amounts are negative".into(),
        });
    }
    for (name, inferred) in [
        (FieldName::Subtotal, inferred_subtotal),
        (FieldName::TaxAmount, inferred_tax.map(|m| (m, 0.45))),
    ] {
        if let Some((m, conf)) = inferred
            && out.field(name).value.is_none()
            && let Some(f) = inferred_amount(name, &m, conf, &raw.currency, &opts.rules)
        {
            *out.field_mut(name) = f;
            evidence.push((name, ev(&m)));
        }
    }
    for (name, e) in evidence {
        let f = out.field_mut(name);
        if f.value.is_some() {
            f.evidence = Some(e);
        }
    }
    for name in FieldName::ALL {
        if !opts.wants(name) {
            *out.field_mut(name) = Field::default();
        }
    }
    out
}

/// An amount the arithmetic implies rather than a label announces (a subtotal, a tax),
/// normalised on its own — after the cross-checks, so that it never confirms the total.
fn inferred_amount(
    name: FieldName,
    m: &Money,
    conf: f32,
    currency: &Option<FieldInput>,
    ctx: &rules::RuleContext,
) -> Option<Field> {
    let input = Some(FieldInput::new(m.raw.clone(), conf));
    let mut alone = RawFields {
        currency: currency.clone(),
        ..RawFields::default()
    };
    match name {
        FieldName::Subtotal => alone.subtotal = input,
        FieldName::TaxAmount => alone.tax_amount = input,
        _ => return None,
    }
    let n = rules::normalize(&alone, ctx);
    let f = if name == FieldName::Subtotal {
        n.subtotal
    } else {
        n.tax_amount
    };
    f.value.is_some().then(|| f.into())
}

/// The amount payable after a rounding line printed below the chosen total ("Total Incl GST
/// 65.72", "Rounding Adj -0.02", "TOTAL: 65.70"): the first amount at or below the rounding
/// row within five minor units of the total. `None` when nothing was rounded.
fn after_rounding<'m>(
    total: &Labelled,
    lines: &[Line<'_>],
    money: &'m [Vec<Money>],
    labelled: &[Labelled],
) -> Option<&'m Money> {
    let tl = &lines[total.label_line];
    let step = Decimal::new(5, 2);
    labelled
        .iter()
        .filter(|r| r.kind == LabelKind::Rounding)
        .map(|r| &lines[r.label_line])
        .filter(|rl| rl.page == tl.page && rl.bbox[1] > tl.bbox[3] - 0.3 * height(&tl.bbox))
        .find_map(|rl| {
            money
                .iter()
                .flatten()
                .filter(|m| {
                    lines[m.line].page == rl.page
                        && y_centre(&m.bbox) >= rl.bbox[1]
                        && m.value > Decimal::ZERO
                        && m.value != total.money.value
                        && (m.value - total.money.value).abs() <= step
                })
                .min_by(|a, b| a.bbox[1].total_cmp(&b.bbox[1]))
        })
}

/// Two labels of a stacked label column claiming the same amount (a skewed photo shifts the
/// value column by half a row): the upper label keeps it, the lower one takes the amount just
/// below it in the same column.
fn resolve_shared_values(labelled: &mut [Labelled], lines: &[Line<'_>], money: &[Vec<Money>]) {
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

fn median(v: impl Iterator<Item = f32>) -> f32 {
    let mut v: Vec<f32> = v.collect();
    if v.is_empty() {
        return 1.0;
    }
    v.sort_by(f32::total_cmp);
    v[v.len() / 2].max(1.0)
}

/// A backend input's amount, parsed as the rules will parse it.
fn input_value(f: &Option<FieldInput>) -> Option<Decimal> {
    f.as_ref()
        .and_then(|f| rules::parse_amount(&f.raw, None).ok())
        .map(|p| p.value)
}

fn line_evidence(l: &Line<'_>) -> Evidence {
    Evidence::on_page(l.page, l.words.to_vec(), l.bbox, l.text.to_string())
}

/// A `Total` on a row with other column headings is a table header.
fn row_is_header(lines: &[Line<'_>], i: usize) -> bool {
    let row: String = lines
        .iter()
        .filter(|o| o.page == lines[i].page && v_overlap(&o.bbox, &lines[i].bbox) >= 0.5)
        .map(|o| o.text)
        .collect::<Vec<_>>()
        .join(" ");
    is_table_header(&row)
}

/// A date label left of line `i` on its row, or on the line just above it.
fn label_left_or_above(lines: &[Line<'_>], i: usize) -> Option<f32> {
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

/// The words that show `token` (the currency evidence), on the first line holding it.
/// The first word holding `token` on its own: not run into letters on either side ("(RM)",
/// "RM12.50" and "€" count; the "RM" of "KRM-000482" does not).
fn find_words(doc: &OcrDocument, lines: &[Line<'_>], token: &str) -> Option<Evidence> {
    let standalone = |text: &str| {
        text.match_indices(token).any(|(i, m)| {
            let before = text[..i].chars().next_back();
            let after = text[i + m.len()..].chars().next();
            !before.is_some_and(char::is_alphabetic) && !after.is_some_and(char::is_alphabetic)
        })
    };
    for l in lines {
        let page = &doc.pages[l.page];
        if let Some(&wi) = l.words.iter().find(|&&wi| standalone(&page.words[wi].text)) {
            let w = &page.words[wi];
            return Some(Evidence::on_page(l.page, vec![wi], w.bbox, w.text.clone()));
        }
    }
    None
}

/// The country a document names through its legal forms, places and words, when the cues are
/// unmistakable.
fn infer_country(text: &str) -> Option<&'static str> {
    let n = crate::labels::norm(text);
    let padded = format!(" {n} ");
    let count = |cues: &[&str]| {
        cues.iter()
            .filter(|c| padded.contains(&format!(" {c} ")))
            .count()
    };
    let my = count(&[
        "SDN BHD",
        "SDN",
        "BHD",
        "BERHAD",
        "MALAYSIA",
        "SELANGOR",
        "KUALA LUMPUR",
        "JOHOR",
        "JALAN",
        "JLN",
        "TAMAN",
        "PULAU PINANG",
        "PERAK",
        "SABAH",
        "SARAWAK",
        "MELAKA",
        "KEDAH",
    ]);
    // PB1 (the Indonesian restaurant tax) and NPWP (tax id) count twice: no other country
    // prints them.
    let id = count(&[
        "JAKARTA",
        "TUNAI",
        "KEMBALI",
        "KEMBALIAN",
        "NPWP",
        "TERIMA KASIH",
        "BANDUNG",
        "SURABAYA",
        "JL",
        "PPN",
        "PB 1",
        "INDONESIA",
        "BCA",
        "GOPAY",
    ]) + count(&["PB 1", "NPWP"]);
    let sg = count(&["SINGAPORE", "PTE LTD", "PTE"]);
    match (my, id, sg) {
        (m, i, s) if m >= 1 && m > i && m > s => Some("MY"),
        (m, i, s) if i >= 2 && i > m && i > s => Some("ID"),
        (m, i, s) if s >= 1 && s > m && s > i => Some("SG"),
        _ => None,
    }
}

fn country_currency(country: &str) -> Option<&'static str> {
    match country {
        "MY" => Some("MYR"),
        "ID" => Some("IDR"),
        "SG" => Some("SGD"),
        _ => None,
    }
}

/// The line just below `i` is a bare legal form ("GmbH", "SDN BHD").
fn next_is_suffix(lines: &[Line<'_>], i: usize) -> bool {
    below(lines, i).is_some_and(|(_, n)| suffix_continuation(n.text))
}

/// A line that finishes a name begun on the line above: a legal suffix with at most one other
/// word ("SDN BHD", "(M) SDN BHD (1234-X)", "JAYA SDN BHD"), not a whole name of its own
/// ("ABC HO TRADING", "IKANO HANDEL SDN BHD").
fn suffix_continuation(text: &str) -> bool {
    const PARTS: &[&str] = &[
        "SDN",
        "BHD",
        "S/B",
        "BERHAD",
        "M",
        "PLT",
        "LLC",
        "INC",
        "LTD",
        "LIMITED",
        "GMBH",
        "CO",
        "CORP",
        "CORPORATION",
        "ENTERPRISE",
        "ENTERPRISES",
        "TRADING",
        "&",
        "AND",
    ];
    if !rules::has_legal_suffix(text) {
        return false;
    }
    let others = text
        .split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '(' | ')' | '.' | ','))
                .to_uppercase()
        })
        .filter(|w| !w.is_empty() && !w.chars().any(|c| c.is_ascii_digit()))
        .filter(|w| !PARTS.contains(&w.as_str()))
        .count();
    others <= 1
}

/// The line right under line `i`, overlapping it horizontally.
fn below<'l, 'a>(lines: &'l [Line<'a>], i: usize) -> Option<(usize, &'l Line<'a>)> {
    let l = &lines[i];
    let h = height(&l.bbox);
    lines.iter().enumerate().find(|(_, o)| {
        o.page == l.page
            && o.bbox[1] >= l.bbox[3] - 0.5 * h
            && o.bbox[1] <= l.bbox[3] + 1.1 * h
            && o.bbox[0] < l.bbox[2]
            && o.bbox[2] > l.bbox[0]
    })
}

/// The line right above line `i`, overlapping it horizontally.
fn above<'l, 'a>(lines: &'l [Line<'a>], i: usize) -> Option<(usize, &'l Line<'a>)> {
    let l = &lines[i];
    let h = height(&l.bbox);
    lines.iter().enumerate().rev().find(|(_, o)| {
        o.page == l.page
            && o.bbox[3] <= l.bbox[1] + 0.5 * h
            && o.bbox[3] >= l.bbox[1] - 1.1 * h
            && o.bbox[0] < l.bbox[2]
            && o.bbox[2] > l.bbox[0]
    })
}

/// For a line naming a trade ("Indian Restaurant", "Tavern"): how many of its words are
/// neither the trade nor a legal form. `None` when it names no trade.
fn trade_words(text: &str) -> Option<usize> {
    if !crate::labels::has_trade_word(text) {
        return None;
    }
    let n = crate::labels::norm(text);
    Some(
        n.split(' ')
            .filter(|w| !crate::labels::has_trade_word(w) && !suffix_continuation(w))
            .filter(|w| !matches!(*w, "SDN" | "BHD" | "THE" | "&"))
            .count(),
    )
}

/// A line that only introduces the owning company ("Owned By :", "A member of").
fn owner_label(text: &str) -> bool {
    matches!(
        crate::labels::norm(text).as_str(),
        "OWNED BY" | "OWN BY" | "OPERATED BY" | "MANAGED BY" | "A MEMBER OF" | "MEMBER OF"
    )
}

/// The sender line printed above an invoice's address window, "Name - Street 1 - 12345 City":
/// the name.
fn sender_name(text: &str) -> Option<&str> {
    let parts: Vec<&str> = text.split(" - ").collect();
    let digits = |p: &str| p.chars().any(|c| c.is_ascii_digit());
    (parts.len() >= 3 && !digits(parts[0]) && parts[1..].iter().all(|p| digits(p)))
        .then(|| parts[0].trim())
}

/// The seller named in an invoice's seller block on the first page: after a `Verkäufer:` /
/// `Seller` / `Fournisseur` label on its line, or the first name-like line under it (a
/// `Name:` key's value, beside it, counts; other `key: value` lines are skipped), before the
/// buyer's block starts. Headings and banners above the block are not names.
fn labelled_seller(lines: &[Line<'_>]) -> Option<(f32, String, Vec<usize>)> {
    let first = lines.first()?.page;
    for (i, l) in lines.iter().enumerate().filter(|(_, l)| l.page == first) {
        let Some(rest) = crate::labels::after_seller_label(l.text) else {
            continue;
        };
        if !rest.is_empty() {
            if name_like_value(rest) {
                return Some((0.85 * l.conf.max(0.5), rest.to_string(), vec![i]));
            }
            continue;
        }
        let h = height(&l.bbox);
        let block = lines.iter().enumerate().skip(i + 1).filter(|(_, o)| {
            o.page == l.page
                && o.bbox[1] >= l.bbox[1] + 0.5 * h
                && o.bbox[1] <= l.bbox[3] + 8.0 * h
                && o.bbox[0] < l.bbox[0] + 4.0 * h
        });
        for (j, o) in block.take(6) {
            if crate::labels::is_buyer_label(o.text)
                || crate::labels::after_seller_label(o.text).is_some()
            {
                break;
            }
            let right = right_of(lines, j);
            // A key whose value is printed beside it (`Name:` ... `Grundbesitz GmbH`, or
            // `Nummer` ... `: 549910`).
            let bare_key = o.text.trim_end().ends_with(':')
                || right.is_some_and(|(_, r)| r.text.trim_start().starts_with(':'));
            if bare_key {
                let key = format!("{}:", o.text.trim_end().trim_end_matches(':'));
                if crate::labels::name_key(&key) == Some(None)
                    && let Some((k, r)) = right
                {
                    let value = r.text.trim_start().trim_start_matches(':').trim();
                    if name_like_value(value) {
                        // A name begun on the line above the key's row, where no key stands
                        // (`MVM Musterhafter` / `Name: Versicherungsverein Musterstadt a.G.`).
                        if let Some((a, above_line)) = above(lines, k)
                            && key_left_of(lines, a).is_none()
                            && name_like_value(above_line.text)
                            && !crate::labels::is_key_value(above_line.text)
                        {
                            let joined = format!("{} {value}", above_line.text);
                            return Some((0.8 * r.conf.max(0.5), joined, vec![a, k]));
                        }
                        return Some((0.85 * r.conf.max(0.5), value.to_string(), vec![k]));
                    }
                }
                continue;
            }
            if let Some(Some(v)) = crate::labels::name_key(o.text) {
                if name_like_value(v) {
                    return Some((0.85 * o.conf.max(0.5), v.to_string(), vec![j]));
                }
                continue;
            }
            if crate::labels::is_key_value(o.text) || !name_like_value(o.text) {
                continue;
            }
            let mut text = o.text.to_string();
            let mut used = vec![j];
            if !rules::has_legal_suffix(&text)
                && let Some((k, n)) = below(lines, j)
                && rules::has_legal_suffix(n.text)
                && name_like_value(n.text)
                && !crate::labels::is_key_value(n.text)
            {
                text = format!("{text} {}", n.text);
                used.push(k);
            }
            return Some((0.8 * o.conf.max(0.5), text, used));
        }
    }
    None
}

/// Letters enough for a name, few digits, and none of the lines that are never names.
fn name_like_value(t: &str) -> bool {
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    let digits = t.chars().filter(|c| c.is_ascii_digit()).count();
    letters >= 3 && digits * 2 < letters && !not_a_name(t)
}

/// A line printed left of line `i` on its row (a key, when line `i` is its value).
fn key_left_of(lines: &[Line<'_>], i: usize) -> Option<usize> {
    let l = &lines[i];
    lines
        .iter()
        .enumerate()
        .find(|(_, o)| {
            o.page == l.page && v_overlap(&o.bbox, &l.bbox) >= 0.5 && o.bbox[2] <= l.bbox[0] + 1.0
        })
        .map(|(j, _)| j)
}

/// The merchant: the labelled seller block's name; else the name near the top when it carries
/// a legal form; else the payee (`Titulaire du compte : ...`, `Payment received by ...`) before
/// a name-like line near the top that could as well be the buyer's.
fn seller(lines: &[Line<'_>], doc: &OcrDocument) -> Option<(f32, String, Vec<usize>)> {
    if let Some(s) = labelled_seller(lines) {
        return Some(s);
    }
    let top = merchant(lines, doc);
    if top
        .as_ref()
        .is_some_and(|(_, name, _)| rules::has_legal_suffix(name))
    {
        return top;
    }
    let payee = lines.iter().enumerate().find_map(|(i, l)| {
        let name = crate::labels::payee_name(l.text)?;
        let name = name.trim_end_matches(['.', ',', ';']).trim();
        name_like_value(name).then(|| (0.7 * l.conf.max(0.5), name.to_string(), vec![i]))
    });
    payee.or(top)
}

/// The nearest line right of line `i` on its row.
fn right_of<'l, 'a>(lines: &'l [Line<'a>], i: usize) -> Option<(usize, &'l Line<'a>)> {
    let l = &lines[i];
    lines
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.page == l.page && v_overlap(&r.bbox, &l.bbox) >= 0.5 && r.bbox[0] >= l.bbox[2] - 1.0
        })
        .min_by(|a, b| a.1.bbox[0].total_cmp(&b.1.bbox[0]))
}

/// The merchant: a prominent name-like line near the top of the first page; a legal suffix on
/// the next line joins it.
fn merchant(lines: &[Line<'_>], doc: &OcrDocument) -> Option<(f32, String, Vec<usize>)> {
    let first = doc.pages.first()?;
    let top: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].page == first.index && lines[i].y_rel < 0.35)
        .collect();
    let med_h = median(top.iter().map(|&i| height(&lines[i].bbox)));
    let mut best: Option<(f32, usize, &str)> = None;
    for (rank, &i) in top.iter().enumerate().take(14) {
        let l = &lines[i];
        let text = sender_name(l.text).unwrap_or(l.text);
        let bare = rules::clean_merchant(text).unwrap_or_default();
        let suffix_only = rules::LEGAL_SUFFIXES
            .iter()
            .any(|s| s.eq_ignore_ascii_case(text.trim()) || s.eq_ignore_ascii_case(&bare));
        if suffix_only
            || not_a_name(text)
            || (label_of(text).is_some() && trade_words(text).is_none())
            || !rules::find_dates(
                text,
                &DateContext {
                    order: None,
                    today: chrono::NaiveDate::MAX,
                },
            )
            .is_empty()
        {
            continue;
        }
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let upper = text.chars().filter(|c| c.is_uppercase()).count();
        let mut score = 1.0 - 0.07 * rank as f32;
        if rules::has_legal_suffix(text) || next_is_suffix(lines, i) {
            score += 0.8;
        }
        score += 0.4 * ((height(&l.bbox) / med_h - 1.0).clamp(0.0, 1.5));
        // The owner printed under an "Owned by" line is not the business the customer dealt
        // with: the trading name is.
        if above(lines, i).is_some_and(|(_, a)| owner_label(a.text)) {
            score -= 1.0;
        }
        // A name with its trade ("Waterleaf Restaurant"); the trade alone is no name.
        if trade_words(text).is_some_and(|others| others > 0) && !text.starts_with('(') {
            score += 0.3;
        }
        if upper * 10 >= letters * 8 {
            score += 0.15;
        }
        if letters < 4 {
            score -= 0.5;
        }
        // Names are printed in capitals or title case; an all-lowercase line is a note.
        if letters >= 4 && upper == 0 {
            score -= 0.3;
        }
        if best.is_none_or(|b| score > b.0) {
            best = Some((score, i, text));
        }
    }
    let (score, i, text) = best?;
    let l = &lines[i];
    let mut text = text.to_string();
    let mut used = vec![i];
    // Another line of the same name: no digits, not an address or label, printed as large.
    let name_like = |a: &Line<'_>| {
        let r = height(&a.bbox) / height(&l.bbox);
        !not_a_name(a.text)
            && label_of(a.text).is_none()
            && !a.text.chars().any(|c| c.is_ascii_digit())
            && a.text.chars().filter(|c| c.is_alphabetic()).count() >= 3
            && (0.7..=1.5).contains(&r)
    };
    // A name split over two lines: the next line down, as tall, carrying the legal suffix,
    // or the trade under the name proper ("Iron Horse" / "Tavern").
    if let Some((j, n)) = below(lines, i)
        && ((!rules::has_legal_suffix(&text) && suffix_continuation(n.text) && !not_a_name(n.text))
            || (trade_words(&text).is_none()
                && trade_words(n.text).is_some_and(|others| others <= 1)
                && name_like(n)))
    {
        text = format!("{} {}", text, n.text);
        used.push(j);
    }
    // ... or the line above when this one starts mid-name ("CO. (M) SDN BHD") or is only the
    // trade ("INDIAN RESTAURANT", "RESTAURANT SDN BHD") under the name proper.
    let head = crate::labels::norm(&text);
    let continues = ["CO ", "M ", "AND ", "CORP", "COMPANY"]
        .iter()
        .any(|p| head.starts_with(p))
        || text.trim_start().starts_with(['(', '&']);
    let trade_only = trade_words(&text).is_some_and(|others| others <= 1);
    if used.len() == 1
        && let Some((j, a)) = above(lines, i)
        && !not_a_name(a.text)
        && (continues || (trade_only && name_like(a)))
    {
        text = format!("{} {}", a.text, text);
        used.insert(0, j);
    }
    // A heading printed on the same line ("Amazon Web Services Invoice").
    let words: Vec<&str> = text.split_whitespace().collect();
    let heading = [
        "INVOICE", "RECEIPT", "BILL", "FACTURE", "RECHNUNG", "FACTUUR",
    ];
    if words.len() > 1
        && words
            .last()
            .is_some_and(|w| heading.contains(&w.to_uppercase().as_str()))
    {
        text = words[..words.len() - 1].join(" ");
    }
    let conf = (0.35 + 0.25 * score).clamp(0.2, 0.9) * l.conf.max(0.5);
    Some((conf, text, used))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocr_document::{DocWord, PageSource};

    /// A page from rows of (x, text) at 40 px pitch; words 10 px per character.
    fn page(rows: &[&[(f32, &str)]]) -> OcrDocument {
        let mut words = Vec::new();
        for (r, row) in rows.iter().enumerate() {
            let y = 20.0 + 40.0 * r as f32;
            for (x, text) in row.iter() {
                let mut x = *x;
                for w in text.split(' ') {
                    let wdt = 10.0 * w.chars().count() as f32;
                    words.push(DocWord {
                        text: w.into(),
                        bbox: [x, y, x + wdt, y + 20.0],
                        conf: 0.98,
                    });
                    x += wdt + 8.0;
                }
            }
        }
        OcrDocument {
            pages: vec![DocPage::from_words(
                0,
                600,
                40 * rows.len() as u32 + 40,
                PageSource::Ocr,
                words,
            )],
        }
    }

    fn opts() -> ExtractOptions {
        ExtractOptions {
            rules: rules::RuleContext {
                today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date"),
                ..rules::RuleContext::default()
            },
            fields: None,
            page_images: Vec::new(),
        }
    }

    #[test]
    fn amounts_as_ocr_breaks_them() {
        let doc = page(&[
            &[(100.0, "CORNER CAFE")],
            &[(20.0, "Coffee"), (450.0, "4.50")],
            &[(20.0, "Cake"), (450.0, "5.20")],
            &[(20.0, "Price/G: $ 2.619")],
            &[(20.0, "Tax"), (450.0, "0:58")],
            &[(20.0, "Grand Tota1RM10.28")],
            &[(20.0, "Change"), (450.0, "-50. 00")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        // The amount run into its label, read with the label.
        assert_eq!(out.total.value.as_deref(), Some("10.28"));
        assert_eq!(
            out.total.evidence.as_ref().map(|e| e.text.as_str()),
            Some("RM10.28")
        );
        // A decimal mark read as `:`, taken beside an amount label only.
        assert_eq!(out.tax_amount.value.as_deref(), Some("0.58"));

        // An amount split after its decimal mark; a three-decimal price is not money here.
        let doc = page(&[
            &[(100.0, "CORNER CAFE")],
            &[(20.0, "Coffee"), (450.0, "4.50")],
            &[(20.0, "Fuel 10.889 gal @ $ 2.619")],
            &[(20.0, "Total"), (450.0, "5. 75")],
            &[(20.0, "Cash"), (450.0, "20.00")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("5.75"));
        let doc = page(&[
            &[(100.0, "CORNER CAFE")],
            &[(20.0, "Coffee 4.50"), (300.0, "5.00"), (450.0, "9.50")],
            &[(20.0, "Fuel 10.889 gal @ $ 2.619")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(
            out.total.value.as_deref(),
            Some("9.50"),
            "no 10889 nor 2619"
        );
        // A number before `%` is a rate.
        let doc = page(&[
            &[(20.0, "Happy hour 50.00 %")],
            &[(20.0, "Coffee"), (450.0, "3.00")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("3.00"));
    }

    #[test]
    fn merchant_names_with_their_trade() {
        // The name proper over its trade, both large: joined.
        let doc = page(&[
            &[(200.0, "Iron Horse")],
            &[(220.0, "Tavern")],
            &[(20.0, "Check: 65")],
            &[(20.0, "Total"), (450.0, "9.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.merchant.value.as_deref(), Some("Iron Horse Tavern"));
        // A logo read as a word does not beat a name with its trade; a ZIP line is a place;
        // a TIP in the name is no tip label.
        let doc = page(&[
            &[(500.0, "IBER The")],
            &[(200.0, "Tip Top Meats")],
            &[(200.0, "CARLSBAD, CA 92011")],
            &[(20.0, "Total"), (450.0, "9.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.merchant.value.as_deref(), Some("Tip Top Meats"));
    }

    #[test]
    fn two_label_columns_on_a_row_and_total_column_headings() {
        let doc = page(&[
            &[(20.0, "Coolblue B.V.")],
            &[(20.0, "Omschrijving"), (300.0, "Price Subtotal")],
            &[(20.0, "Laptop"), (300.0, "593,36")],
            &[
                (20.0, "Exclusief BTW"),
                (160.0, "€ 593,36"),
                (300.0, "Subtotaal"),
                (450.0, "€ 717,97"),
            ],
            &[(20.0, "BTW 21%"), (160.0, "€ 124,61")],
            &[(300.0, "Totaal"), (450.0, "€ 717,97")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.subtotal.value.as_deref(), Some("593.36"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("124.61"));
        assert_eq!(out.total.value.as_deref(), Some("717.97"));
    }

    #[test]
    fn an_earlier_total_raised_by_a_printed_amount_is_the_subtotal() {
        let doc = page(&[
            &[(100.0, "RISTORANTE CIAO BELLA")],
            &[(20.0, "Pesce del giorno"), (450.0, "300,00")],
            &[(20.0, "Vino"), (450.0, "142,00")],
            &[(20.0, "Totale"), (450.0, "442,00")],
            &[(450.0, "53,00")],
            &[(20.0, "Totale EURO"), (450.0, "495,00")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("495.00"));
        assert_eq!(out.subtotal.value.as_deref(), Some("442.00"));
        assert!(out.subtotal.confidence <= 0.5);
    }

    #[test]
    fn of_two_amounts_touching_a_skewed_row_the_level_one() {
        let w = |text: &str, x: f32, y: f32, h: f32| DocWord {
            text: text.into(),
            bbox: [x, y, x + 10.0 * text.chars().count() as f32, y + h],
            conf: 0.98,
        };
        // The taller value column sits 10 px above the labels: each label row touches two
        // amounts of it, and the rightmost of them is not the label's.
        let words = vec![
            w("CORNER", 100.0, 20.0, 20.0),
            w("CAFE", 170.0, 20.0, 20.0),
            w("Subtotal", 20.0, 100.0, 20.0),
            w("9.70", 450.0, 90.0, 24.0),
            w("Tax", 20.0, 120.0, 20.0),
            w("0.60", 451.0, 110.0, 24.0),
            w("Total", 20.0, 140.0, 20.0),
            w("10.30", 450.0, 130.0, 24.0),
        ];
        let doc = OcrDocument {
            pages: vec![DocPage::from_words(0, 600, 200, PageSource::Ocr, words)],
        };
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.tax_amount.value.as_deref(), Some("0.60"));
        assert_eq!(out.subtotal.value.as_deref(), Some("9.70"));
        assert_eq!(out.total.value.as_deref(), Some("10.30"));
    }

    #[test]
    fn an_unlabelled_amount_closing_the_sum_is_the_tax_at_low_confidence() {
        let rows = |middle: &'static str| {
            page(&[
                &[(100.0, "Transmetropolitan")],
                &[(20.0, "1 Veg Med"), (450.0, "14.85")],
                &[(20.0, "Diet Coke"), (450.0, "1.75")],
                &[(300.0, "SubTotal:"), (450.0, "16.60")],
                &[(300.0, middle), (450.0, "1.16")],
                &[(300.0, "Total:"), (450.0, "17.76")],
            ])
        };
        let out = LayoutBackend
            .extract(&rows("Sales:"), &opts())
            .expect("extracts");
        assert_eq!(out.tax_amount.value.as_deref(), Some("1.16"));
        assert!(out.tax_amount.confidence <= 0.45);
        // The same receipt with its tax labelled: the sum confirms the total; inferred, it
        // must not.
        let labelled = LayoutBackend
            .extract(&rows("Sales Tax:"), &opts())
            .expect("extracts");
        assert!(out.total.confidence < labelled.total.confidence);
        // An amount with a label of its own is not taken for the tax.
        let service = LayoutBackend
            .extract(&rows("Gratuity"), &opts())
            .expect("extracts");
        assert_eq!(service.tax_amount.value, None);
    }

    #[test]
    fn the_total_is_the_amount_payable_after_rounding() {
        let doc = page(&[
            &[(100.0, "ONE ONE THREE SEAFOOD RESTAURANT SDN BHD")],
            &[(20.0, "Total (Excluding GST):"), (450.0, "62.00")],
            &[(20.0, "GST 6%"), (450.0, "3.72")],
            &[(20.0, "Total (Inclusive of GST):"), (450.0, "65.72")],
            &[(20.0, "Rounding Adj"), (450.0, "-0.02")],
            &[(20.0, "TOTAL:"), (450.0, "65.70")],
            &[(20.0, "CASH :"), (450.0, "65.70")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("65.70"));
        assert_eq!(out.subtotal.value.as_deref(), Some("62.00"));
        // Without a rounding line the larger total that adds up stays.
        let doc = page(&[
            &[(100.0, "CORNER CAFE")],
            &[(20.0, "Subtotal"), (450.0, "62.00")],
            &[(20.0, "GST 6%"), (450.0, "3.72")],
            &[(20.0, "Total"), (450.0, "65.72")],
            &[(20.0, "Item count"), (450.0, "65.70")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("65.72"));
    }

    #[test]
    fn the_trading_name_not_the_owner() {
        let doc = page(&[
            &[(100.0, "CORNER STATIONERY SHOP")],
            &[(60.0, "NO. 31G, JALAN SETIA INDAH")],
            &[(60.0, "Owned By :")],
            &[(60.0, "CORNER SUPPLY SDN BHD (1135772-K)")],
            &[(20.0, "Total"), (450.0, "9.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(
            out.merchant.value.as_deref(),
            Some("CORNER STATIONERY SHOP")
        );
    }

    #[test]
    fn the_subtotal_that_adds_up_wins() {
        let doc = page(&[
            &[(100.0, "SUBWAY")],
            &[(20.0, "Sub Total"), (450.0, "7.24")],
            &[(20.0, "Taxable Amount"), (450.0, "6.09")],
            &[(20.0, "Sales Tax (7.75%)"), (450.0, "0.47")],
            &[(20.0, "Total"), (450.0, "7.71")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.subtotal.value.as_deref(), Some("7.24"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("0.47"));
        assert_eq!(out.total.value.as_deref(), Some("7.71"));
    }

    #[test]
    fn a_malaysian_receipt() {
        let doc = page(&[
            &[(100.0, "KEDAI RUNCIT MAJU SDN BHD")],
            &[(120.0, "(1234567-X)")],
            &[(60.0, "NO 12, JALAN MAJU 3, 43000 KAJANG")],
            &[(60.0, "Tel: 03-1234 5678")],
            &[(200.0, "TAX INVOICE")],
            &[(20.0, "Date: 25/12/2018 8:13 PM")],
            &[(20.0, "Milo 1kg"), (450.0, "18.90")],
            &[(20.0, "Total Qty: 3")],
            &[(20.0, "SUBTOTAL"), (450.0, "61.79")],
            &[(20.0, "SST 6%"), (450.0, "3.71")],
            &[(20.0, "TOTAL (RM)"), (450.0, "65.50")],
            &[(20.0, "CASH"), (450.0, "100.00")],
            &[(20.0, "CHANGE"), (450.0, "34.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("65.50"));
        assert_eq!(out.subtotal.value.as_deref(), Some("61.79"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("3.71"));
        assert_eq!(out.date.value.as_deref(), Some("2018-12-25"));
        assert_eq!(out.currency.value.as_deref(), Some("MYR"));
        assert_eq!(
            out.merchant.value.as_deref(),
            Some("KEDAI RUNCIT MAJU SDN BHD")
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(out.total.confidence > 0.8);
        let e = out.total.evidence.as_ref().expect("evidence");
        assert_eq!(e.text, "65.50");
        assert_eq!(e.page, 0);
    }

    #[test]
    fn without_a_subtotal_line_it_is_inferred_at_low_confidence_and_confirms_nothing() {
        let rows: [&[(f32, &str)]; 4] = [
            &[(20.0, "Corner Cafe")],
            &[(20.0, "Latte"), (300.0, "4.50")],
            &[(20.0, "Cookie"), (300.0, "2.00")],
            &[(20.0, "TOTAL"), (300.0, "6.50")],
        ];
        let out = LayoutBackend
            .extract(&page(&rows), &opts())
            .expect("extracts");
        assert_eq!(out.subtotal.value.as_deref(), Some("6.50"));
        assert!(
            out.subtotal.confidence <= 0.35,
            "{}",
            out.subtotal.confidence
        );
        let mut with_line = rows.to_vec();
        with_line.insert(3, &[(20.0, "SUBTOTAL"), (300.0, "6.50")]);
        let printed = LayoutBackend
            .extract(&page(&with_line), &opts())
            .expect("extracts");
        assert!(
            out.total.confidence < printed.total.confidence,
            "an inferred subtotal must not raise the total's confidence"
        );
        // Tax printed, no subtotal line: total less tax, when that amount is on the page.
        let taxed = page(&[
            &[(20.0, "Corner Cafe")],
            &[(20.0, "Net"), (300.0, "10.00")],
            &[(20.0, "VAT 20%"), (300.0, "2.00")],
            &[(20.0, "TOTAL"), (300.0, "12.00")],
        ]);
        let out = LayoutBackend.extract(&taxed, &opts()).expect("extracts");
        assert_eq!(out.tax_amount.value.as_deref(), Some("2.00"));
        assert_eq!(out.subtotal.value.as_deref(), Some("10.00"));
        assert_eq!(
            out.subtotal.evidence.as_ref().map(|e| e.text.as_str()),
            Some("10.00")
        );
    }

    #[test]
    fn merchant_lines_that_are_whole_names_are_not_joined_to_a_note_above() {
        let doc = page(&[
            &[(20.0, "tan chay yee")],
            &[(20.0, "ABC HO TRADING")],
            &[(20.0, "No.2&4, JALAN HARMONI 3/2")],
            &[(20.0, "TOTAL"), (300.0, "6.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.merchant.value.as_deref(), Some("ABC HO TRADING"));
        // A name split before its legal form is still joined.
        let doc = page(&[
            &[(20.0, "CT281 - TEALIVE SHELL KEPONG")],
            &[(20.0, "OTTOGO ENTERPRISE")],
            &[(20.0, "TOTAL"), (300.0, "6.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(
            out.merchant.value.as_deref(),
            Some("CT281 - TEALIVE SHELL KEPONG OTTOGO ENTERPRISE")
        );
        let doc = page(&[
            &[(20.0, "Amazon Web Services Invoice")],
            &[(20.0, "TOTAL"), (300.0, "6.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.merchant.value.as_deref(), Some("Amazon Web Services"));
    }

    #[test]
    fn currency_evidence_is_not_a_code_inside_a_receipt_number() {
        let doc = page(&[
            &[(100.0, "KEDAI RUNCIT MAJU SDN BHD")],
            &[(20.0, "Invoice No: KRM-000482")],
            &[(20.0, "TOTAL (RM)"), (450.0, "65.50")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.currency.value.as_deref(), Some("MYR"));
        let e = out.currency.evidence.as_ref().expect("evidence");
        assert_eq!(e.text, "(RM)");
    }

    #[test]
    fn a_german_invoice_with_values_below_labels_and_a_due_date() {
        let doc = page(&[
            &[(20.0, "Muster Bürobedarf"), (400.0, "Rechnung")],
            &[(20.0, "GmbH")],
            &[(20.0, "Hauptstraße 5, 10115 Berlin")],
            &[(20.0, "Rechnungsdatum:"), (300.0, "Fällig am:")],
            &[(20.0, "15.03.2024"), (300.0, "14.04.2024")],
            &[(20.0, "Pos. Beschreibung Menge Einzelpreis Betrag")],
            &[(20.0, "1 Papier"), (300.0, "4"), (450.0, "99,60 €")],
            &[(20.0, "Nettobetrag"), (450.0, "225,80 €")],
            &[(20.0, "MwSt. 19 %"), (450.0, "42,90 €")],
            &[(20.0, "Gesamtbetrag"), (450.0, "268,70 €")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("268.70"));
        assert_eq!(out.subtotal.value.as_deref(), Some("225.80"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("42.90"));
        assert_eq!(out.currency.value.as_deref(), Some("EUR"));
        assert_eq!(out.date.value.as_deref(), Some("2024-03-15"));
        assert_eq!(
            out.merchant.value.as_deref(),
            Some("Muster Bürobedarf GmbH")
        );
    }

    #[test]
    fn an_e_invoice_rendering_gives_the_labelled_seller_and_the_headings_date() {
        let doc = page(&[
            &[(
                20.0,
                "Stylesheet zur Lesbarmachung der XML-Daten von ZUGFeRD-Rechnungen",
            )],
            &[(20.0, "ZUGFeRD-Version: 2.1 vom 24.03.2020")],
            &[(20.0, "Handelsrechnung Nr. 280081 vom 13.07.2018")],
            &[(
                20.0,
                "Liefer-/Leistungszeitraum : 09.07.2018 bis 11.07.2018",
            )],
            &[(20.0, "Verkäufer:")],
            &[(20.0, "Globale Nummer: 4000001123452 (GTIN)")],
            &[(20.0, "Lieferant GmbH")],
            &[(20.0, "Lieferantenstraße 20")],
            &[(20.0, "Käufer:")],
            &[(20.0, "Kunden AG Mitte")],
            &[(20.0, "Rechnungssumme ohne USt."), (500.0, "214,09")],
            &[(20.0, "Steuerbetrag"), (500.0, "16,39")],
            &[(20.0, "Bruttosumme"), (500.0, "230,48")],
            &[(20.0, "Erhaltene Anzahlungen"), (500.0, "-100,00")],
            &[(20.0, "Zahlbetrag"), (500.0, "130,48")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.merchant.value.as_deref(), Some("Lieferant GmbH"));
        assert_eq!(out.date.value.as_deref(), Some("2018-07-13"));
        assert_eq!(out.subtotal.value.as_deref(), Some("214.09"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("16.39"));
        assert_eq!(out.total.value.as_deref(), Some("230.48"));
    }

    #[test]
    fn a_name_key_beside_its_value_and_a_name_begun_above_it() {
        let doc = page(&[
            &[(
                20.0,
                "Rechnung des Versicherers Nr. 7-2018-1 vom 11.03.2018",
            )],
            &[(20.0, "Verkäufer")],
            &[(20.0, "Nummer:"), (300.0, "549910")],
            &[(300.0, "MVM Musterhafter")],
            &[
                (20.0, "Name:"),
                (300.0, "Versicherungsverein Musterstadt a.G."),
            ],
            &[(20.0, "Anschrift:"), (300.0, "Musterstr. 12")],
            &[(20.0, "Käufer/Leistungsempfänger")],
            &[(20.0, "Name:"), (300.0, "Max Mustermann")],
            &[(20.0, "Gesamtbetrag"), (500.0, "220,00")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(
            out.merchant.value.as_deref(),
            Some("MVM Musterhafter Versicherungsverein Musterstadt a.G.")
        );
        assert_eq!(out.date.value.as_deref(), Some("2018-03-11"));
        // The seller on the label's own line, and a kerned label from a text layer.
        let doc = page(&[
            &[(20.0, "Ver käufer: Grundbesitz GmbH & Co.")],
            &[(20.0, "Total"), (500.0, "10.00")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(
            out.merchant.value.as_deref(),
            Some("Grundbesitz GmbH & Co.")
        );
    }

    #[test]
    fn a_tax_table_with_its_headings_over_the_values() {
        // One rate and a sum row (Dutch): only the total has a label beside it.
        let doc = page(&[
            &[(20.0, "Strategic Corp")],
            &[(20.0, "Onderhoudsset"), (560.0, "49,99")],
            &[(300.0, "Factuur totaal EUR"), (560.0, "49,99")],
            &[
                (200.0, "BTW %"),
                (300.0, "Grondslag"),
                (420.0, "BTW bedrag"),
                (560.0, "Totaal"),
            ],
            &[
                (200.0, "21 %"),
                (300.0, "41,31"),
                (420.0, "8,68"),
                (560.0, "49,99"),
            ],
            &[(300.0, "41,31"), (420.0, "8,68"), (560.0, "49,99")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("49.99"));
        assert_eq!(out.subtotal.value.as_deref(), Some("41.31"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("8.68"));
        assert_eq!(
            out.tax_amount.evidence.as_ref().map(|e| e.text.as_str()),
            Some("8,68")
        );
        // Two rates and no sum row: the rows added up.
        let doc = page(&[
            &[(20.0, "Lieferant GmbH")],
            &[
                (20.0, "Art"),
                (300.0, "Basisbetrag"),
                (450.0, "USt. %"),
                (560.0, "Steuerbetrag"),
            ],
            &[
                (20.0, "Umsatzsteuer"),
                (300.0, "202,33"),
                (450.0, "7"),
                (560.0, "14,16"),
            ],
            &[
                (20.0, "Umsatzsteuer"),
                (300.0, "11,76"),
                (450.0, "19"),
                (560.0, "2,23"),
            ],
            &[(20.0, "Gesamtbetrag"), (560.0, "230,48")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("230.48"));
        assert_eq!(out.subtotal.value.as_deref(), Some("214.09"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("16.39"));
    }

    #[test]
    fn credit_notes_come_out_negative_and_self_billed_invoices_do_not() {
        let rows = |heading: &'static str| {
            page(&[
                &[(20.0, "Papeterie Lefèvre SARL")],
                &[(20.0, heading)],
                &[(20.0, "Total HT"), (500.0, "120,00 €")],
                &[(20.0, "TVA 20 %"), (500.0, "24,00 €")],
                &[(20.0, "Total TTC"), (500.0, "144,00 €")],
            ])
        };
        for heading in [
            "Avoir n° AV-2024-031",
            "Credit Note CN-7",
            "Rechnungskorrektur zu RE-17",
        ] {
            let out = LayoutBackend
                .extract(&rows(heading), &opts())
                .expect("extracts");
            assert_eq!(out.total.value.as_deref(), Some("-144.00"), "{heading}");
            assert_eq!(out.subtotal.value.as_deref(), Some("-120.00"), "{heading}");
            assert_eq!(out.tax_amount.value.as_deref(), Some("-24.00"), "{heading}");
            assert!(
                out.warnings.iter().any(|w| w.code == "credit_note"),
                "{heading}"
            );
            assert!(!out.warnings.iter().any(|w| w.code.starts_with("negative.")));
        }
        let out = LayoutBackend
            .extract(
                &rows("Gutschrift (Selbst ausgestellte Rechnung) Nr. 4711"),
                &opts(),
            )
            .expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("144.00"));
        let out = LayoutBackend
            .extract(&rows("Facture n° 2024-031"), &opts())
            .expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("144.00"));
    }

    #[test]
    fn the_payee_is_the_seller_where_the_top_names_the_customer() {
        let doc = page(&[
            &[(400.0, "ALEXINUX")],
            &[(400.0, "27 rue Henri Rolland")],
            &[(20.0, "Facture n° 2022089083")],
            &[(20.0, "Total TTC :"), (500.0, "56,02 €")],
            &[(
                20.0,
                "BRED BANQUE POPULAIRE – Titulaire du compte : NETPRESSE",
            )],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.merchant.value.as_deref(), Some("NETPRESSE"));
        assert_eq!(
            crate::labels::payee_name("Payment received by OYO"),
            Some("OYO")
        );
        assert_eq!(crate::labels::payee_name("Paid through Cash"), None);
    }

    #[test]
    fn no_total_label_is_a_low_confidence_guess_and_empty_is_an_error() {
        let doc = page(&[
            &[(20.0, "Corner Cafe")],
            &[(20.0, "Latte"), (300.0, "4.50")],
            &[(20.0, "Cookie"), (300.0, "2.00")],
        ]);
        let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("4.50"));
        assert!(out.total.confidence < 0.4);
        assert_eq!(
            out.currency.value, None,
            "no currency evidence, none invented"
        );
        assert!(matches!(
            LayoutBackend.extract(&OcrDocument::default(), &opts()),
            Err(KieError::EmptyDocument)
        ));
    }

    #[test]
    fn only_wanted_fields_are_returned() {
        let doc = page(&[&[(20.0, "TOTAL"), (300.0, "RM 9.00")]]);
        let o = ExtractOptions {
            fields: Some(vec![FieldName::Total]),
            ..opts()
        };
        let out = LayoutBackend.extract(&doc, &o).expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("9.00"));
        assert_eq!(out.currency.value, None);
    }
}
