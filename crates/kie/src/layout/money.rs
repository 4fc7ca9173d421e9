//! Money on the page: the amounts each line prints (decimal amounts, amounts run into their
//! label, misread decimal marks), and the document-wide filter of what only looks like money.

use ocr_document::{BBox, DocPage, OcrDocument};
use rust_decimal::Decimal;

use super::Line;
use crate::types::Evidence;

/// Every line's amounts (indexed like `lines`), without the numbers this document's own
/// amounts show are not money.
pub(super) fn amounts(doc: &OcrDocument, lines: &[Line<'_>]) -> Vec<Vec<Money>> {
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
    money
        .into_iter()
        .map(|ms| ms.into_iter().filter(|m| !not_money(m)).collect())
        .collect()
}

/// Where an amount was read: its words, box and text.
pub(super) fn money_evidence(lines: &[Line<'_>], m: &Money) -> Evidence {
    Evidence::on_page(lines[m.line].page, m.words.clone(), m.bbox, m.raw.clone())
}

/// An amount printed on the document.
#[derive(Debug, Clone)]
pub(super) struct Money {
    pub(super) line: usize,
    pub(super) raw: String,
    pub(super) value: Decimal,
    pub(super) bbox: BBox,
    pub(super) words: Vec<usize>,
    /// The label part of a word that ran into this amount (`Tota1` of `Tota1RM21.85`).
    pub(super) label_prefix: Option<String>,
}

/// Whether a word (or two joined) reads as money: a decimal part of two digits, or digits
/// with a currency beside them, never a date, time, percentage or long id.
pub(super) fn money_like(raw: &str) -> bool {
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
pub(super) fn single_group(raw: &str) -> bool {
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
pub(super) fn money_suffix(word: &str) -> Option<usize> {
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

pub(super) fn money_on_line(idx: usize, line: &Line<'_>, page: &DocPage) -> Vec<Money> {
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
pub(super) fn misread_amount(idx: usize, line: &Line<'_>, page: &DocPage) -> Option<Money> {
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
