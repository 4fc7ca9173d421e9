//! The built-in `layout` backend: label → value pairing along rows and down columns, money and
//! date candidates scored by their labels, position and arithmetic, the merchant from the top
//! of the first page. No model weights; every answer goes through `crates/rules`.

//!
//! One module per stage, run in this order by [`extract`]: [`money`] (the amounts on each
//! line), [`pairing`] (labels and the amounts they announce), [`totals`], [`sums`] (subtotal,
//! tax, adjustments and what the arithmetic implies), the currency (from `rules`), [`dates`],
//! [`merchant`]; then the rules normalise and cross-check the draft.

mod dates;
mod items;
mod merchant;
mod money;
mod pairing;
mod sums;
mod totals;

use ocr_document::{BBox, OcrDocument};
use rules::{DateContext, FieldInput, RawFields, RawTaxLine};
use rust_decimal::Decimal;

use crate::types::{
    Evidence, ExtractOptions, Extraction, FieldName, KieBackend, KieError, ListName,
};

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

/// What the stages have chosen so far: the raw values for the rules, and where each was read
/// (later evidence for a field replaces earlier).
#[derive(Debug, Default)]
struct Draft {
    raw: RawFields,
    evidence: Vec<(FieldName, Evidence)>,
}

fn extract(doc: &OcrDocument, opts: &ExtractOptions) -> Extraction {
    let lines = lines_of(doc);
    let money = money::amounts(doc, &lines);
    let pairing = pairing::pair(doc, &lines, &money);
    let mut d = Draft::default();
    let totals = totals::choose(&lines, &money, &pairing, &mut d);
    // The tax summary table, read once: it can decide subtotal and tax, and its rows are the
    // tax breakdown.
    let table = crate::tax_table::read(doc);
    let inferred =
        sums::subtotal_and_tax(&lines, &money, &pairing, &totals, table.as_ref(), &mut d);

    // Currency from symbols and codes anywhere, else the country the document names, else the
    // locale default.
    let text = doc.text();
    let (hints, currency) =
        rules::document_currency(&text, || crate::labels::norm(&text), opts.hints());
    if let Some(c) = &currency {
        d.raw.currency = Some(FieldInput::new(c.code.clone(), c.confidence));
        if let Some(e) = find_words(doc, &lines, &c.evidence) {
            d.evidence.push((FieldName::Currency, e));
        }
    }
    let dctx = DateContext::from_hints(
        &hints,
        currency.as_ref().map(|c| c.code.as_str()),
        opts.rules.today,
    );
    dates::choose(&lines, &dctx, &mut d);
    merchant::choose(&lines, doc, &mut d);

    // A credit note: its amounts are negative, as printed or as the document type implies (the
    // rules make them so).
    let credit_note = lines
        .iter()
        .filter(|l| l.page == lines[0].page && l.y_rel < 0.4)
        .any(|l| crate::labels::credit_note_heading(l.text));
    d.raw.refund = credit_note;

    // Items between the item table's header and the totals the stages above chose.
    let ends: items::EndMarks = d
        .evidence
        .iter()
        .filter(|(n, e)| {
            matches!(
                n,
                FieldName::Subtotal | FieldName::TaxAmount | FieldName::Total
            ) && e.source == crate::types::EvidenceSource::Page
        })
        .map(|(_, e)| (e.page, e.bbox[1]))
        .collect();
    let found_items = if opts.wants_list(ListName::LineItems) {
        items::read(doc, &lines, &pairing.line_labels, &ends)
    } else {
        Vec::new()
    };
    d.raw.line_items = found_items.iter().map(|i| i.raw.clone()).collect();
    let tax_rows = if opts.wants_list(ListName::TaxBreakdown) {
        tax_breakdown(table.as_ref(), &lines, &pairing)
    } else {
        Vec::new()
    };
    d.raw.tax_breakdown = tax_rows.iter().map(|(r, _)| r.clone()).collect();

    let mut out = Extraction::from_raw(&d.raw, &opts.rules);
    for (item, found) in out.line_items.iter_mut().zip(found_items) {
        item.evidence = Some(found.evidence);
    }
    for (row, (_, e)) in out.tax_breakdown.iter_mut().zip(tax_rows) {
        row.evidence = Some(e);
    }
    if credit_note {
        out.warnings.push(rules::Warning {
            code: "credit_note".into(),
            message: "credit note (by its heading): amounts are negative".into(),
        });
    }
    for (name, inferred) in [
        (FieldName::Subtotal, inferred.subtotal),
        (FieldName::TaxAmount, inferred.tax.map(|m| (m, 0.45))),
    ] {
        if let Some((m, conf)) = inferred
            && out.field(name).value.is_none()
            && let Some(f) = sums::inferred_amount(name, &m, conf, &d.raw.currency, &opts.rules)
        {
            *out.field_mut(name) = f;
            d.evidence.push((name, money::money_evidence(&lines, &m)));
        }
    }
    for (name, e) in d.evidence {
        let f = out.field_mut(name);
        if f.value.is_some() {
            f.evidence = Some(e);
        }
    }
    opts.select(&mut out);
    out
}

/// The tax summary's rows (one per rate); without a table, each tax line that prints its
/// rate (`MwSt 19 % 3,80`, `VAT 20% 1.50`) as a row of its own.
fn tax_breakdown(
    table: Option<&crate::tax_table::TaxSummary>,
    lines: &[Line<'_>],
    pairing: &pairing::Pairing,
) -> Vec<(RawTaxLine, Evidence)> {
    if let Some(t) = table
        && !t.rows.is_empty()
    {
        return t
            .rows
            .iter()
            .map(|r| {
                let raw = RawTaxLine {
                    rate: r.rate.clone(),
                    base: Some(r.base.raw.clone()),
                    amount: Some(r.tax.raw.clone()),
                    confidence: 0.7,
                };
                (raw, r.evidence())
            })
            .collect();
    }
    pairing
        .of_kind(crate::labels::LabelKind::Tax)
        .filter_map(|c| {
            let l = &lines[c.label_line];
            let rate = rate_in(l.text)?;
            let raw = RawTaxLine {
                rate: Some(rate),
                base: None,
                amount: Some(c.money.raw.clone()),
                confidence: 0.5 * c.strength,
            };
            let bbox = ocr_document::document::union([l.bbox, c.money.bbox]);
            let mut words = l.words.to_vec();
            words.extend(c.money.words.iter().filter(|w| !l.words.contains(w)));
            let text = format!("{} {}", l.text, c.money.raw);
            Some((raw, Evidence::on_page(l.page, words, bbox, text)))
        })
        .collect()
}

/// The rate a tax line prints (`19 %`, `6%`, `20.0%`), as printed.
fn rate_in(text: &str) -> Option<String> {
    let i = text.find('%')?;
    let before = text[..i].trim_end();
    let start = before
        .rfind(|c: char| !(c.is_ascii_digit() || c == '.' || c == ','))
        .map_or(0, |j| j + 1);
    let num = &before[start..];
    (num.chars().any(|c| c.is_ascii_digit())).then(|| format!("{num}%"))
}

#[cfg(test)]
mod tests;
