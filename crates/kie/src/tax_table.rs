//! Tax summary tables: a header row naming the columns (`Basisbetrag | USt. % | Steuerbetrag`,
//! `Base HT | TVA | Montant TTC`, `Grondslag | BTW bedrag | Totaal`, `Net | VAT | Gross`) with
//! the values under the headers, one row per rate and sometimes a sum row. Labels beside
//! values do not exist there, so the label-driven reading misses or swaps them.

use ocr_document::{BBox, DocPage, OcrDocument};
use rust_decimal::Decimal;

use crate::types::Evidence;

/// What a column of a tax summary holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Column {
    Rate,
    Base,
    Tax,
    Gross,
}

/// Column headings, longest first within each language's usage; matched on whole tokens.
const HEADINGS: &[(&str, Column)] = &[
    ("UST %", Column::Rate),
    ("MWST %", Column::Rate),
    ("BTW %", Column::Rate),
    ("VAT %", Column::Rate),
    ("TVA %", Column::Rate),
    ("TAX %", Column::Rate),
    ("TAX RATE", Column::Rate),
    ("VAT RATE", Column::Rate),
    ("TAUX TVA", Column::Rate),
    ("TAUX", Column::Rate),
    ("STEUERSATZ", Column::Rate),
    ("SATZ", Column::Rate),
    ("RATE", Column::Rate),
    ("TARIEF", Column::Rate),
    ("%", Column::Rate),
    ("STEUERBASISBETRAG", Column::Base),
    ("BASISBETRAG", Column::Base),
    ("STEUERBASIS", Column::Base),
    ("BEMESSUNGSGRUNDLAGE", Column::Base),
    ("NETTOBETRAG", Column::Base),
    ("NETTO", Column::Base),
    ("NETTOWERT", Column::Base),
    ("GRONDSLAG", Column::Base),
    ("BASE HT", Column::Base),
    ("MONTANT HT", Column::Base),
    ("MONTANT EUR HT", Column::Base),
    ("TOTAL HT", Column::Base),
    ("HT", Column::Base),
    ("BASE", Column::Base),
    ("NET AMOUNT", Column::Base),
    ("NET VALUE", Column::Base),
    ("NET", Column::Base),
    ("TAXABLE AMOUNT", Column::Base),
    ("TAXABLE", Column::Base),
    ("BASE IMPONIBLE", Column::Base),
    ("IMPONIBILE", Column::Base),
    ("UST BETRAG", Column::Tax),
    ("MWST BETRAG", Column::Tax),
    ("STEUERBETRAG", Column::Tax),
    ("BTW BEDRAG", Column::Tax),
    ("MONTANT TVA", Column::Tax),
    ("VAT AMOUNT", Column::Tax),
    ("TAX AMOUNT", Column::Tax),
    ("STEUER", Column::Tax),
    ("UST", Column::Tax),
    ("MWST", Column::Tax),
    ("BTW", Column::Tax),
    ("TVA", Column::Tax),
    ("VAT", Column::Tax),
    ("TAX", Column::Tax),
    ("IVA", Column::Tax),
    ("GST", Column::Tax),
    ("MONTANT EUR TTC", Column::Gross),
    ("MONTANT TTC", Column::Gross),
    ("TOTAL TTC", Column::Gross),
    ("TTC", Column::Gross),
    ("BRUTTOBETRAG", Column::Gross),
    ("BRUTTO", Column::Gross),
    ("GROSS", Column::Gross),
    ("TOTAAL", Column::Gross),
    ("TOTAL", Column::Gross),
    ("GESAMT", Column::Gross),
];

/// A value read from the table, with the words it came from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Cell {
    pub value: Decimal,
    pub raw: String,
    pub page: usize,
    pub words: Vec<usize>,
    pub bbox: BBox,
}

impl Cell {
    pub fn evidence(&self) -> Evidence {
        Evidence::on_page(self.page, self.words.clone(), self.bbox, self.raw.clone())
    }
}

/// The table's totals (the sum row, or the rate rows added up) and its rate rows.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaxSummary {
    pub base: Cell,
    pub tax: Cell,
    pub gross: Option<Cell>,
    /// One per rate, top to bottom; a sum row is not one of them.
    pub rows: Vec<TaxRow>,
}

/// One rate's row of the table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TaxRow {
    /// The rate as printed (`7`, `19 %`, `19,00%`), when the row prints one.
    pub rate: Option<String>,
    pub base: Cell,
    pub tax: Cell,
    /// Every word of the row.
    pub words: Vec<usize>,
    pub page: usize,
    pub bbox: BBox,
    pub text: String,
}

impl TaxRow {
    pub fn evidence(&self) -> Evidence {
        Evidence::on_page(self.page, self.words.clone(), self.bbox, self.text.clone())
    }
}

struct Token {
    text: String,
    word: usize,
}

/// Upper-case tokens of a row's words: letters and digits runs, and `%` on its own.
fn tokens(page: &DocPage, words: &[usize]) -> Vec<Token> {
    let mut out = Vec::new();
    for &w in words {
        let up = page.words[w].text.to_uppercase();
        let mut cur = String::new();
        for c in up.chars() {
            if c.is_alphanumeric() {
                cur.push(c);
            } else {
                if !cur.is_empty() {
                    out.push(Token {
                        text: std::mem::take(&mut cur),
                        word: w,
                    });
                }
                if c == '%' {
                    out.push(Token {
                        text: "%".into(),
                        word: w,
                    });
                }
            }
        }
        if !cur.is_empty() {
            out.push(Token { text: cur, word: w });
        }
    }
    out
}

/// Whether the words (one row) are a tax summary's header.
pub(crate) fn is_header(page: &DocPage, row: &[usize]) -> bool {
    header(page, row).is_some()
}

/// The columns a header row names, with their horizontal extents; `None` unless it names a
/// base and a tax column and holds no amount.
fn header(page: &DocPage, row: &[usize]) -> Option<Vec<(Column, f32, f32)>> {
    if row.iter().any(|&w| money(&page.words[w].text).is_some()) {
        return None;
    }
    let toks = tokens(page, row);
    let mut cols: Vec<(Column, f32, f32)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let hit = HEADINGS.iter().find_map(|(h, col)| {
            let parts: Vec<&str> = h.split(' ').collect();
            let end = i + parts.len();
            (end <= toks.len() && toks[i..end].iter().zip(&parts).all(|(t, p)| t.text == *p))
                .then_some((*col, end))
        });
        match hit {
            Some((col, end)) => {
                let (x1, x2) = toks[i..end].iter().fold((f32::MAX, f32::MIN), |(a, b), t| {
                    let bb = page.words[t.word].bbox;
                    (a.min(bb[0]), b.max(bb[2]))
                });
                cols.push((col, x1, x2));
                i = end;
            }
            None => i += 1,
        }
    }
    let has = |c: Column| cols.iter().any(|(k, _, _)| *k == c);
    (has(Column::Base) && has(Column::Tax)).then_some(cols)
}

/// An amount with two decimals (`41,31`, `2.923,55`, `-0,00`, `8,68 €`), not a rate or count.
fn money(text: &str) -> Option<Decimal> {
    let t = text.trim().trim_end_matches(['€', '$', '£']).trim();
    let digits_after = t
        .rfind([',', '.'])
        .map(|i| t[i + 1..].chars().filter(char::is_ascii_digit).count());
    if digits_after != Some(2) || !t.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    rules::parse_amount(t, None).ok().map(|p| p.value)
}

/// Rows of a page: words grouped by vertical overlap, each row sorted left to right, rows top
/// to bottom.
fn rows(page: &DocPage) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..page.words.len()).collect();
    let yc = |w: usize| (page.words[w].bbox[1] + page.words[w].bbox[3]) / 2.0;
    order.sort_by(|&a, &b| yc(a).total_cmp(&yc(b)));
    let mut rows: Vec<Vec<usize>> = Vec::new();
    for w in order {
        let b = page.words[w].bbox;
        let h = (b[3] - b[1]).max(1.0);
        match rows.last_mut() {
            Some(row)
                if row.iter().any(|&o| {
                    let ob = page.words[o].bbox;
                    (yc(o) - yc(w)).abs() < 0.5 * h.min((ob[3] - ob[1]).max(1.0))
                }) =>
            {
                row.push(w)
            }
            _ => rows.push(vec![w]),
        }
    }
    for r in &mut rows {
        r.sort_by(|&a, &b| page.words[a].bbox[0].total_cmp(&page.words[b].bbox[0]));
    }
    rows
}

/// The column under which a value's box stands: the most overlap, else the nearest right
/// edge within a heading's width (numbers are right-aligned under their headings).
fn column_of(cols: &[(Column, f32, f32)], b: &BBox) -> Option<Column> {
    let overlap = |x1: f32, x2: f32| (b[2].min(x2) - b[0].max(x1)).max(0.0);
    if let Some((c, _, _)) = cols
        .iter()
        .filter(|(_, x1, x2)| overlap(*x1, *x2) > 0.0)
        .max_by(|a, b| overlap(a.1, a.2).total_cmp(&overlap(b.1, b.2)))
    {
        return Some(*c);
    }
    cols.iter()
        .map(|(c, x1, x2)| (c, (b[2] - x2).abs().min((b[0] - x1).abs()), x2 - x1))
        .filter(|(_, d, w)| *d <= w.max(40.0))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _, _)| *c)
}

#[derive(Default)]
struct RowValues {
    base: Option<Cell>,
    tax: Option<Cell>,
    gross: Option<Cell>,
    rate: bool,
    /// The rate's text: a word with `%`, or a number under the rate column.
    rate_text: Option<String>,
    words: Vec<usize>,
}

/// Reads the last tax summary table of the document (the one nearest its end), when its rows
/// add up: every row's base plus tax is its gross where a gross is printed, and a sum row, if
/// any, is the sum of the rows above it.
pub(crate) fn read(doc: &OcrDocument) -> Option<TaxSummary> {
    let mut found = None;
    for page in &doc.pages {
        let rows = rows(page);
        for (i, row) in rows.iter().enumerate() {
            let Some(cols) = header(page, row) else {
                continue;
            };
            let mut values: Vec<RowValues> = Vec::new();
            // Text-only rows (a category's wrapped description) may stand between the header
            // and the values, or between value rows; a few, not a page of them.
            let mut text_rows = 0;
            for r in rows.iter().skip(i + 1).take(12) {
                let mut v = RowValues {
                    words: r.clone(),
                    ..RowValues::default()
                };
                let mut any_money = false;
                for (k, &w) in r.iter().enumerate() {
                    let word = &page.words[w];
                    let digits = word.text.chars().any(|c| c.is_ascii_digit());
                    if word.text.contains('%') {
                        v.rate = true;
                        if v.rate_text.is_none() {
                            // `19 %`: the number is the word before the sign.
                            v.rate_text = if digits {
                                Some(word.text.clone())
                            } else {
                                k.checked_sub(1).map(|j| page.words[r[j]].text.clone())
                            };
                        }
                    } else if digits
                        && v.rate_text.is_none()
                        && money(&word.text).is_none()
                        && column_of(&cols, &word.bbox) == Some(Column::Rate)
                    {
                        v.rate_text = Some(word.text.clone());
                    }
                    let Some(value) = money(&word.text) else {
                        continue;
                    };
                    any_money = true;
                    let cell = Cell {
                        value,
                        raw: word.text.clone(),
                        page: page.index,
                        words: vec![w],
                        bbox: word.bbox,
                    };
                    match column_of(&cols, &word.bbox) {
                        Some(Column::Base) if v.base.is_none() => v.base = Some(cell),
                        Some(Column::Tax) if v.tax.is_none() => v.tax = Some(cell),
                        Some(Column::Gross) if v.gross.is_none() => v.gross = Some(cell),
                        _ => {}
                    }
                }
                if !any_money {
                    text_rows += 1;
                    if text_rows > 4 {
                        break;
                    }
                    continue;
                }
                if v.base.is_some() && v.tax.is_some() {
                    text_rows = 0;
                    values.push(v);
                } else if !values.is_empty() {
                    break;
                }
            }
            if let Some(s) = summarise(page, &values) {
                found = Some(s);
            }
        }
    }
    found
}

/// The sum row when the last row is the sum of those above it, else the rows added up; `None`
/// when a row's base and tax do not make its gross.
fn summarise(page: &DocPage, rows: &[RowValues]) -> Option<TaxSummary> {
    for r in rows {
        if let (Some(b), Some(t), Some(g)) = (&r.base, &r.tax, &r.gross)
            && b.value + t.value != g.value
        {
            return None;
        }
    }
    let (last, above) = rows.split_last()?;
    let value = |c: Option<&Cell>| c.map(|c| c.value);
    let is_sum_row = !above.is_empty()
        && !last.rate
        && value(added(above.iter().map(|r| r.base.as_ref())).as_ref())
            == value(last.base.as_ref())
        && value(added(above.iter().map(|r| r.tax.as_ref())).as_ref()) == value(last.tax.as_ref());
    let rate_rows = if is_sum_row { above } else { rows };
    let table_rows = rate_rows.iter().filter_map(|r| tax_row(page, r)).collect();
    if above.is_empty() || is_sum_row {
        return Some(TaxSummary {
            base: last.base.clone()?,
            tax: last.tax.clone()?,
            gross: last.gross.clone(),
            rows: table_rows,
        });
    }
    // Several rates and no sum row: the rows added up.
    Some(TaxSummary {
        base: added(rows.iter().map(|r| r.base.as_ref()))?,
        tax: added(rows.iter().map(|r| r.tax.as_ref()))?,
        gross: added(rows.iter().map(|r| r.gross.as_ref())),
        rows: table_rows,
    })
}

fn tax_row(page: &DocPage, r: &RowValues) -> Option<TaxRow> {
    let (base, tax) = (r.base.clone()?, r.tax.clone()?);
    Some(TaxRow {
        rate: r.rate_text.clone(),
        page: base.page,
        bbox: ocr_document::document::union(r.words.iter().map(|&w| page.words[w].bbox)),
        text: r
            .words
            .iter()
            .map(|&w| page.words[w].text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        words: r.words.clone(),
        base,
        tax,
    })
}

/// Cells added up, cited by the last of them; `None` when a row lacks its cell.
fn added<'a>(cells: impl Iterator<Item = Option<&'a Cell>>) -> Option<Cell> {
    let cells: Vec<&Cell> = cells.collect::<Option<_>>()?;
    let mut sum = (*cells.last()?).clone();
    sum.value = cells.iter().map(|c| c.value).sum();
    sum.raw = sum.value.to_string();
    Some(sum)
}
