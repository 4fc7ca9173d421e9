//! Line items: the rows between the item table's header (or, on a receipt without one, the
//! first priced row) and the totals, each row priced in the amount column. A row's numbers
//! right of its description are its quantity, unit price and amount (the pair whose product is
//! the amount, where there is one); text rows under an item are its wrapped description, and a
//! description row above a row of numbers alone (`2 x 1,99   3,98`) is that row's. Discount
//! and deposit rows stay items, discounts negative.

use ocr_document::{BBox, DocPage, OcrDocument};
use rules::RawLineItem;
use rust_decimal::Decimal;

use super::{Line, height, v_overlap};
use crate::labels::{LabelKind, is_table_header, norm};
use crate::types::Evidence;

/// What a word of an item row is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// A number with decimals (`12,50`, `158,8800`, `-1.00`, `3.50-`).
    Priced(Decimal),
    /// A whole number (`2`, `10`).
    Whole(Decimal),
    /// A rate (`7 %`, `19%`).
    Percent,
    /// `x`, `×`, `*` between a quantity and a price.
    Times,
    /// A unit after a quantity (`Stk`, `kg`, `pcs`).
    Unit,
    /// A currency sign or code on its own (`€`, `EUR`, `RM`).
    Currency,
    Text,
}

#[derive(Debug, Clone)]
struct Tok {
    word: usize,
    text: String,
    bbox: BBox,
    kind: Kind,
}

/// A row of the page: the words on one visual line, left to right.
#[derive(Debug, Clone)]
struct Row {
    page: usize,
    bbox: BBox,
    toks: Vec<Tok>,
    /// The label its leftmost line starts with (the pairing's reading): a totals line starts
    /// with its label, an item row with its position or description (a `VAT (S)` column
    /// further right is not a label).
    label: Option<LabelKind>,
    /// An item table's header (`Pos Beschreibung Menge Preis Betrag`).
    header: bool,
    /// A tax summary's header, or a heading that closes the item table (`Belegsummen`,
    /// `Steueraufschlüsselung`, `Positionssumme 214,09`).
    closes: bool,
}

impl Row {
    fn text(&self) -> String {
        self.toks
            .iter()
            .map(|t| t.text.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The rightmost amount (a number with up to three decimals; four are a unit price's),
    /// skipping one short trailing code (`3,98 A`).
    fn priced_at_right(&self) -> Option<usize> {
        let last = self.toks.len().checked_sub(1)?;
        for i in (last.saturating_sub(1)..=last).rev() {
            match self.toks[i].kind {
                Kind::Priced(v) if v.scale() <= 3 => return Some(i),
                Kind::Priced(_) => return None,
                Kind::Text | Kind::Currency
                    if i == last && self.toks[i].text.chars().count() <= 3 => {}
                _ => return None,
            }
        }
        None
    }

    fn has_priced(&self) -> bool {
        self.toks.iter().any(|t| matches!(t.kind, Kind::Priced(_)))
    }
}

const UNITS: &[&str] = &[
    "STK", "ST", "STUCK", "STÜCK", "PCS", "PC", "PCE", "EA", "KG", "G", "L", "ML", "H", "STD", "M",
    "M2", "QM", "UNIT", "UNITS", "PZ", "PZA", "UDS", "PAK", "PKG", "X",
];

fn classify(text: &str) -> Kind {
    let t = text.trim();
    if matches!(t, "x" | "X" | "×" | "*" | "@") {
        return Kind::Times;
    }
    if let Some(rest) = t.strip_suffix('%') {
        return if rest.is_empty() || rest.chars().any(|c| c.is_ascii_digit()) {
            Kind::Percent
        } else {
            Kind::Text
        };
    }
    let up = t.to_uppercase();
    if matches!(
        up.as_str(),
        "€" | "$" | "£" | "EUR" | "USD" | "GBP" | "RM" | "CHF" | "MYR"
    ) {
        return Kind::Currency;
    }
    if UNITS.contains(&up.trim_end_matches('.')) {
        return Kind::Unit;
    }
    number(t).unwrap_or(Kind::Text)
}

/// A word that is a number: `Priced` with one to four decimals after its last separator,
/// `Whole` without. Signs, accounting parentheses and a currency sign may surround it.
fn number(t: &str) -> Option<Kind> {
    let core = t
        .trim_start_matches(['€', '$', '£', '(', '+'])
        .trim_end_matches(['€', '$', '£', ')']);
    let negative = core.starts_with('-') || core.ends_with('-') || t.starts_with('(');
    let core = core.trim_matches('-');
    if core.is_empty()
        || !core.starts_with(|c: char| c.is_ascii_digit())
        || !core.ends_with(|c: char| c.is_ascii_digit())
        || !core
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
    {
        return None;
    }
    let seps: Vec<(usize, char)> = core
        .match_indices(['.', ','])
        .map(|(i, s)| (i, s.chars().next().unwrap_or('.')))
        .collect();
    let digits_after = |i: usize| core.len() - i - 1;
    let value = |decimal_at: Option<usize>| -> Option<Decimal> {
        let plain: String = core
            .char_indices()
            .filter_map(|(i, c)| match c {
                '0'..='9' => Some(c),
                _ if Some(i) == decimal_at => Some('.'),
                _ => None,
            })
            .collect();
        let v: Decimal = plain.parse().ok()?;
        Some(if negative { -v } else { v })
    };
    match seps.as_slice() {
        [] => Some(Kind::Whole(value(None)?)),
        [.., (i, last)] => {
            let n = digits_after(*i);
            let mixed = seps.iter().any(|(_, c)| c != last);
            // Dates (`12.03.2024`) and ids repeat one separator with short groups.
            if seps.len() >= 2 && !mixed {
                return None;
            }
            if matches!(n, 1 | 2 | 4) || (n == 3 && mixed) {
                Some(Kind::Priced(value(Some(*i))?))
            } else if n == 3 {
                // `1.000` (a quantity of one, or a thousand): whole as a quantity reads it.
                Some(Kind::Whole(value(None)?))
            } else {
                None
            }
        }
    }
}

/// The page's rows: its lines grouped by vertical overlap, each row's words left to right.
fn rows_of(
    page: &DocPage,
    lines: &[(usize, &Line<'_>)],
    labels: &[Option<(LabelKind, f32)>],
) -> Vec<Row> {
    // (the first line's box, which the others must overlap; the row's box; its lines with
    // their indices)
    type Members<'l, 'a> = Vec<&'l (usize, &'l Line<'a>)>;
    let mut rows: Vec<(BBox, BBox, Members<'_, '_>)> = Vec::new();
    let mut order: Vec<&(usize, &Line<'_>)> = lines.iter().collect();
    order.sort_by(|a, b| a.1.bbox[1].total_cmp(&b.1.bbox[1]));
    for entry in order {
        let b = entry.1.bbox;
        match rows
            .iter_mut()
            .rev()
            .take(3)
            .find(|(seed, _, _)| v_overlap(seed, &b) >= 0.5)
        {
            Some((_, rb, members)) => {
                *rb = ocr_document::document::union([*rb, b]);
                members.push(entry);
            }
            None => rows.push((b, b, vec![entry])),
        }
    }
    rows.into_iter()
        .map(|(_, bbox, members)| {
            let mut toks: Vec<Tok> = members
                .iter()
                .flat_map(|(_, l)| l.words.iter())
                .map(|&w| {
                    let word = &page.words[w];
                    Tok {
                        word: w,
                        text: word.text.clone(),
                        bbox: word.bbox,
                        kind: classify(&word.text),
                    }
                })
                .collect();
            toks.sort_by(|a, b| a.bbox[0].total_cmp(&b.bbox[0]));
            // `7 %`: the sign as its own word makes the number before it a rate.
            for i in 1..toks.len() {
                if toks[i].text == "%" {
                    toks[i - 1].kind = Kind::Percent;
                }
            }
            let label = members
                .iter()
                .min_by(|a, b| a.1.bbox[0].total_cmp(&b.1.bbox[0]))
                .and_then(|(li, _)| labels[*li])
                .map(|(k, _)| k);
            let words: Vec<usize> = toks.iter().map(|t| t.word).collect();
            let text: String = members
                .iter()
                .map(|(_, l)| l.text)
                .collect::<Vec<_>>()
                .join(" ");
            let header = is_table_header(&text);
            let closes =
                !header && (crate::tax_table::is_header(page, &words) || closes_items(&text));
            Row {
                page: page.index,
                bbox,
                toks,
                label,
                header,
                closes,
            }
        })
        .collect()
}

/// Headings and sums that follow an item table: the tax summary's heading, the totals'
/// heading, the sum of the items, payment terms.
fn closes_items(text: &str) -> bool {
    let n = norm(text);
    let first = n.split(' ').next().unwrap_or_default();
    matches!(
        first,
        "POSITIONSSUMME"
            | "ZWISCHENSUMME"
            | "NETTOSUMME"
            | "WARENWERT"
            | "BELEGSUMMEN"
            | "STEUERAUFSCHLUSSELUNG"
            | "STEUERAUFSCHLÜSSELUNG"
            | "UMSATZSTEUERAUFSCHLUSSELUNG"
            | "UMSATZSTEUERAUFSCHLÜSSELUNG"
            | "MWST"
            | "ZAHLUNGSBEDINGUNGEN"
            | "SUMMARY"
            | "RECAPITULATIF"
            | "RÉCAPITULATIF"
    ) || [
        "VAT SUMMARY",
        "TAX SUMMARY",
        "PAYMENT TERMS",
        "TOTAL HT",
        "SOUS TOTAL",
    ]
    .iter()
    .any(|p| n.starts_with(p))
}

/// Where the totals begin on each page (the top of the chosen subtotal, tax or total).
pub(super) type EndMarks = Vec<(usize, f32)>;

/// Position columns of an item table header (`Pos`, `Nr`, `#`).
fn has_position_column(row: &Row) -> bool {
    let n = norm(&row.text());
    n.split(' ')
        .any(|w| matches!(w, "POS" | "POSITION" | "NR" | "NO" | "LFD" | "ITEM NO"))
        || row.toks.first().is_some_and(|t| t.text == "#")
}

/// One item read from the rows.
#[derive(Debug, Clone)]
pub(super) struct Item {
    pub(super) raw: RawLineItem,
    pub(super) evidence: Evidence,
}

struct Building {
    page: usize,
    description: Vec<String>,
    quantity: Option<String>,
    unit_price: Option<String>,
    amount: String,
    discount: bool,
    words: Vec<usize>,
    boxes: Vec<BBox>,
    texts: Vec<String>,
    conf: f32,
    /// Left edge of the description, for its wrapped lines.
    desc_x: f32,
    bottom: f32,
    continuations: usize,
}

impl Building {
    fn finish(self) -> Item {
        let mut amount = self.amount;
        if self.discount && !amount.contains('-') && !amount.contains('(') {
            amount = format!("-{amount}");
        }
        let description = self.description.join(" ");
        Item {
            raw: RawLineItem {
                description: (!description.trim().is_empty()).then_some(description),
                quantity: self.quantity,
                unit_price: self.unit_price,
                amount: Some(amount),
                confidence: self.conf,
            },
            evidence: Evidence::on_page(
                self.page,
                self.words,
                ocr_document::document::union(self.boxes),
                self.texts.join(" "),
            ),
        }
    }
}

/// Reads the item rows of the document.
pub(super) fn read(
    doc: &OcrDocument,
    lines: &[Line<'_>],
    labels: &[Option<(LabelKind, f32)>],
    ends: &EndMarks,
) -> Vec<Item> {
    let pages: Vec<Vec<Row>> = doc
        .pages
        .iter()
        .map(|p| {
            let on_page: Vec<(usize, &Line<'_>)> = lines
                .iter()
                .enumerate()
                .filter(|(_, l)| l.page == p.index)
                .collect();
            rows_of(p, &on_page, labels)
        })
        .collect();
    let any_header = pages.iter().flatten().any(|r| r.header);
    let mut items: Vec<Item> = Vec::new();
    let mut started = !any_header;
    let mut table = Table::default();
    for (pi, rows) in pages.iter().enumerate() {
        let page = &doc.pages[pi];
        let end_y = ends
            .iter()
            .filter(|(p, _)| *p == pi)
            .map(|(_, y)| *y)
            .fold(f32::INFINITY, f32::min);
        // The region on this page: after its header (if it has one), before the totals.
        let header_at = rows.iter().position(|r| r.header && r.bbox[1] < end_y);
        if let Some(h) = header_at {
            table = Table::of_header(&rows[h]);
        } else if !started {
            continue;
        }
        started = true;
        let from = header_at.map_or(0, |h| h + 1);
        let mut region: Vec<&Row> = Vec::new();
        let mut ended = false;
        for r in &rows[from..] {
            // A totals label with its amount; a label word alone is a header's second line
            // (`Positions- / betrag`) or a wrapped description.
            let totals_label = matches!(
                r.label,
                Some(LabelKind::Total | LabelKind::Subtotal | LabelKind::Tax | LabelKind::NotTotal)
            );
            let stop = r.bbox[1] >= end_y - 1.0
                || r.closes
                || (totals_label && !r.header && r.has_priced());
            if stop {
                ended = true;
                break;
            }
            region.push(r);
        }
        let column = amount_column(&region, page);
        let Some((col_right, tol)) = column else {
            if ended {
                break;
            }
            continue;
        };
        let line_h = {
            let mut hs: Vec<f32> = region.iter().map(|r| height(&r.bbox)).collect();
            hs.sort_by(f32::total_cmp);
            hs.get(hs.len() / 2).copied().unwrap_or(20.0)
        };
        let mut current: Option<Building> = None;
        let mut pending: Vec<&Row> = Vec::new();
        // The last priced row outside the amount column, not yet an item's.
        let mut detail: Option<&Row> = None;
        for r in region {
            let priced = r
                .priced_at_right()
                .filter(|&i| (r.toks[i].bbox[2] - col_right).abs() <= tol);
            let Some(ai) = priced else {
                // Text rows wait: the wrapped description of the item above, or the
                // description of a row of numbers below. A priced row outside the amount
                // column (`Bruttopreis : 170,0000`) is a detail of the item, or an item row
                // whose amount sits half a row lower; a header ends both.
                if r.header {
                    pending.clear();
                    detail = None;
                } else if !r.has_priced() && !r.toks.is_empty() {
                    pending.push(r);
                } else if r.has_priced() {
                    detail = Some(r);
                }
                continue;
            };
            let near = |above: &Row| {
                above.bbox[1] < r.bbox[1] && r.bbox[1] - above.bbox[3] <= line_h * 1.5
            };
            let own = item_row(r, ai, &table);
            // The amount on a row of its own, of numbers or of details (`158,88` half a row
            // below its item's row; `2 x 1,99   3,98` or `Basismenge: 1 Stk   1.000,00` under
            // the description): the item is the nearest row above, with this amount.
            let above = [detail, pending.last().copied()]
                .into_iter()
                .flatten()
                .filter(|a| near(a))
                .max_by(|a, b| a.bbox[1].total_cmp(&b.bbox[1]));
            let b = match above {
                Some(a) if own.description.is_empty() || keyish(&own.description.join(" ")) => {
                    if !detail.is_some_and(|d| std::ptr::eq(d, a)) {
                        pending.pop();
                    }
                    let mut b = item_row(&joined(a, r, ai), a.toks.len(), &table);
                    if b.quantity.is_none() {
                        b.quantity = own.quantity;
                        b.unit_price = b.unit_price.or(own.unit_price);
                    }
                    b
                }
                _ => own,
            };
            // A detail row is its item's, used or not.
            detail = None;
            if let Some(prev) = current.as_mut() {
                for cont in &pending {
                    continue_description(prev, cont, line_h);
                }
            }
            pending.clear();
            if let Some(done) = current.replace(b) {
                items.push(done.finish());
            }
        }
        if let Some(prev) = current.as_mut() {
            for cont in &pending {
                continue_description(prev, cont, line_h);
            }
        }
        if let Some(done) = current.take() {
            items.push(done.finish());
        }
        if ended {
            break;
        }
    }
    items
}

/// A text row under an item that continues its description: close below it, starting at or
/// right of the description's left edge, at most three of them.
fn continue_description(b: &mut Building, row: &Row, line_h: f32) {
    let text = row.text();
    if b.continuations >= 3
        || keyish(&text)
        || row.label.is_some()
        || row.bbox[1] - b.bottom > line_h * 1.6
        || row.bbox[0] < b.desc_x - line_h
    {
        return;
    }
    b.description.push(text);
    add_row_words(b, row);
    b.continuations += 1;
}

/// A detail line (`Bruttopreis : 170,00`, `Basismenge: 1 Stk`, `Enthält 19% Steuer =`), not
/// a description.
fn keyish(text: &str) -> bool {
    text.contains(':') || text.trim_end().ends_with('=')
}

/// `row`'s words with the amount word `ai` of `amount_row` after them: one item row.
fn joined(row: &Row, amount_row: &Row, ai: usize) -> Row {
    let mut toks = row.toks.clone();
    toks.push(amount_row.toks[ai].clone());
    Row {
        page: row.page,
        bbox: ocr_document::document::union([row.bbox, amount_row.toks[ai].bbox]),
        toks,
        label: row.label,
        header: false,
        closes: false,
    }
}

fn add_row_words(b: &mut Building, row: &Row) {
    b.words.extend(row.toks.iter().map(|t| t.word));
    b.boxes.push(row.bbox);
    b.texts.push(row.text());
    b.bottom = b.bottom.max(row.bbox[3]);
}

/// The amount column: the right edge shared by most rows' rightmost priced word. `None` when
/// no row of the region is priced.
fn amount_column(region: &[&Row], page: &DocPage) -> Option<(f32, f32)> {
    let rights: Vec<f32> = region
        .iter()
        .filter_map(|r| r.priced_at_right().map(|i| r.toks[i].bbox[2]))
        .collect();
    if rights.is_empty() {
        return None;
    }
    let tol = (page.width as f32 * 0.02).max(8.0);
    // The rightmost column that is not a stray: details printed under each item
    // (`Bruttopreis : 80,00`) may outnumber the items, but stand left of their amounts.
    let counted: Vec<(usize, f32)> = rights
        .iter()
        .map(|&x| (rights.iter().filter(|&&o| (o - x).abs() <= tol).count(), x))
        .collect();
    let most = counted.iter().map(|(n, _)| *n).max().unwrap_or(0);
    counted
        .into_iter()
        .filter(|(n, _)| *n * 3 >= most)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(_, x)| (x, tol))
}

/// An item row: the amount at `ai`, the numbers before it back to the description, and the
/// description.
/// What the item table's header says about its columns.
#[derive(Debug, Clone, Copy, Default)]
struct Table {
    /// A `Pos`/`Nr` column: a number before the description is a position, not a quantity.
    position_column: bool,
    /// The left edge of the description column: words left of it are article numbers.
    description_x: Option<f32>,
}

const DESCRIPTION_HEADINGS: &[&str] = &[
    "BESCHREIBUNG",
    "BEZEICHNUNG",
    "ARTIKELBEZEICHNUNG",
    "LEISTUNG",
    "LEISTUNGSBESCHREIBUNG",
    "DESCRIPTION",
    "DESIGNATION",
    "DÉSIGNATION",
    "LIBELLE",
    "LIBELLÉ",
    "OMSCHRIJVING",
    "DESCRIPCION",
    "DESCRIPCIÓN",
    "DESCRIZIONE",
    "PRODUCT",
    "PRODUKT",
    "ITEM",
    "ARTIKEL",
];

impl Table {
    fn of_header(row: &Row) -> Table {
        Table {
            position_column: has_position_column(row),
            description_x: row
                .toks
                .iter()
                .find(|t| DESCRIPTION_HEADINGS.contains(&norm(&t.text).as_str()))
                .map(|t| t.bbox[0]),
        }
    }
}

fn item_row(r: &Row, ai: usize, table: &Table) -> Building {
    let amount = &r.toks[ai];
    // The description ends at the first price (a tax category such as `VAT (S)` may stand
    // among the numbers after it), and before the quantity, unit, rate and `x` that end it.
    let lead = usize::from(
        r.toks
            .first()
            .is_some_and(|t| matches!(t.kind, Kind::Whole(_))),
    );
    let mut start = r.toks[..ai]
        .iter()
        .enumerate()
        .skip(lead)
        .find(|(_, t)| matches!(t.kind, Kind::Priced(_)))
        .map_or(ai, |(i, _)| i);
    while start > lead + 1 && !matches!(r.toks[start - 1].kind, Kind::Text) {
        start -= 1;
    }
    let mut desc: Vec<&Tok> = r.toks[..start].iter().collect();
    let tail: Vec<&Tok> = r.toks[start..ai].iter().collect();
    // A number before the description: a position (under a `Pos` column) or a quantity
    // (`2 Cola`, `2 x Cola`).
    let mut lead_qty: Option<String> = None;
    if desc.len() >= 2
        && let Kind::Whole(_) = desc[0].kind
    {
        let times = matches!(desc[1].kind, Kind::Times);
        if !table.position_column || times {
            lead_qty = Some(desc[0].text.clone());
        }
        desc.remove(0);
        if times {
            desc.remove(0);
        }
    }
    // Article numbers left of the description column are not the description.
    if let Some(x) = table.description_x {
        let slack = 2.5 * height(&r.bbox);
        desc.retain(|t| t.bbox[0] >= x - slack);
    }
    let (quantity, unit_price) = quantity_and_price(&tail, amount);
    let words: Vec<usize> = r.toks.iter().map(|t| t.word).collect();
    let description: Vec<String> = desc.iter().map(|t| t.text.clone()).collect();
    let discount = {
        let n = norm(&description.join(" "));
        r.label == Some(LabelKind::Discount)
            || n.split(' ').any(|w| {
                matches!(
                    w,
                    "DISCOUNT"
                        | "RABATT"
                        | "NACHLASS"
                        | "REMISE"
                        | "KORTING"
                        | "COUPON"
                        | "DESCUENTO"
                        | "SCONTO"
                )
            })
    };
    Building {
        page: r.page,
        desc_x: desc.first().map_or(r.bbox[0], |t| t.bbox[0]),
        description: if description.is_empty() {
            Vec::new()
        } else {
            vec![description.join(" ")]
        },
        quantity: quantity.or(lead_qty),
        unit_price,
        amount: amount.text.clone(),
        discount,
        words,
        boxes: vec![r.bbox],
        texts: vec![r.text()],
        conf: 0.6,
        bottom: r.bbox[3],
        continuations: 0,
    }
}

/// The quantity and unit price among the numbers before the amount: the pair whose product
/// is the amount; else a whole number (or one with a unit or `x`) as the quantity and the
/// last priced number as the unit price.
fn quantity_and_price(tail: &[&Tok], amount: &Tok) -> (Option<String>, Option<String>) {
    let Kind::Priced(a) = amount.kind else {
        return (None, None);
    };
    let nums: Vec<(usize, Decimal)> = tail
        .iter()
        .enumerate()
        .filter_map(|(i, t)| match t.kind {
            Kind::Priced(v) | Kind::Whole(v) => Some((i, v)),
            _ => None,
        })
        .collect();
    let cent = Decimal::new(1, 2);
    let fits = |q: Decimal, p: Decimal| q > Decimal::ZERO && (q * p - a.abs()).abs() <= cent;
    for &(qi, q) in &nums {
        for &(pi, p) in &nums {
            let priced = matches!(tail[pi].kind, Kind::Priced(_));
            if qi != pi && priced && fits(q, p) && (q.fract().is_zero() || qi < pi) {
                return (Some(tail[qi].text.clone()), Some(tail[pi].text.clone()));
            }
        }
    }
    let is_qty = |i: usize| {
        matches!(tail[i].kind, Kind::Whole(_))
            || tail
                .get(i + 1)
                .is_some_and(|t| matches!(t.kind, Kind::Unit | Kind::Times))
    };
    let quantity = nums
        .iter()
        .find(|(i, _)| is_qty(*i))
        .map(|(i, _)| tail[*i].text.clone());
    let price = nums
        .iter()
        .rev()
        .find(|(i, _)| matches!(tail[*i].kind, Kind::Priced(_)) && !is_qty(*i))
        .map(|(i, _)| tail[*i].text.clone());
    (quantity, price)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_classified() {
        assert_eq!(classify("158,8800"), Kind::Priced(Decimal::new(1588800, 4)));
        assert_eq!(classify("-1,00"), Kind::Priced(Decimal::new(-100, 2)));
        assert_eq!(classify("3.50-"), Kind::Priced(Decimal::new(-350, 2)));
        assert_eq!(classify("1.234,50"), Kind::Priced(Decimal::new(123450, 2)));
        assert_eq!(classify("2"), Kind::Whole(Decimal::from(2)));
        assert_eq!(classify("1.000"), Kind::Whole(Decimal::from(1000)));
        assert_eq!(classify("19%"), Kind::Percent);
        assert_eq!(classify("Stk"), Kind::Unit);
        assert_eq!(classify("x"), Kind::Times);
        assert_eq!(classify("€"), Kind::Currency);
        for text in ["12.03.2024", "12:30", "Hotel", "A4", "1.2.3"] {
            assert_eq!(classify(text), Kind::Text, "{text}");
        }
    }
}
