//! The merchant: the labelled seller block of an invoice, else a prominent name-like line near
//! the top of the first page (a legal form, a trade word, a name continued on the next line),
//! else the payee.

use ocr_document::OcrDocument;
use rules::{DateContext, FieldInput};

use super::{Draft, Line, height, line_evidence, median, v_overlap};
use crate::labels::{label_of, not_a_name};
use crate::types::{Evidence, FieldName};

/// Chooses the merchant into the draft, with the evidence of every line of its name.
pub(super) fn choose(lines: &[Line<'_>], doc: &OcrDocument, d: &mut Draft) {
    if let Some((conf, name, ev_lines)) = seller(lines, doc) {
        d.raw.merchant = Some(FieldInput::new(name, conf));
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
            d.evidence.push((FieldName::Merchant, e));
        }
    }
}

/// The line just below `i` is a bare legal form ("GmbH", "SDN BHD").
pub(super) fn next_is_suffix(lines: &[Line<'_>], i: usize) -> bool {
    below(lines, i).is_some_and(|(_, n)| suffix_continuation(n.text))
}

/// A line that finishes a name begun on the line above: a legal suffix with at most one other
/// word ("SDN BHD", "(M) SDN BHD (1234-X)", "JAYA SDN BHD"), not a whole name of its own
/// ("ABC HO TRADING", "IKANO HANDEL SDN BHD").
pub(super) fn suffix_continuation(text: &str) -> bool {
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
pub(super) fn below<'l, 'a>(lines: &'l [Line<'a>], i: usize) -> Option<(usize, &'l Line<'a>)> {
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
pub(super) fn above<'l, 'a>(lines: &'l [Line<'a>], i: usize) -> Option<(usize, &'l Line<'a>)> {
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
pub(super) fn trade_words(text: &str) -> Option<usize> {
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
pub(super) fn owner_label(text: &str) -> bool {
    matches!(
        crate::labels::norm(text).as_str(),
        "OWNED BY" | "OWN BY" | "OPERATED BY" | "MANAGED BY" | "A MEMBER OF" | "MEMBER OF"
    )
}

/// The sender line printed above an invoice's address window, "Name - Street 1 - 12345 City":
/// the name.
pub(super) fn sender_name(text: &str) -> Option<&str> {
    let parts: Vec<&str> = text.split(" - ").collect();
    let digits = |p: &str| p.chars().any(|c| c.is_ascii_digit());
    (parts.len() >= 3 && !digits(parts[0]) && parts[1..].iter().all(|p| digits(p)))
        .then(|| parts[0].trim())
}

/// The seller named in an invoice's seller block on the first page: after a `Verkäufer:` /
/// `Seller` / `Fournisseur` label on its line, or the first name-like line under it (a
/// `Name:` key's value, beside it, counts; other `key: value` lines are skipped), before the
/// buyer's block starts. Headings and banners above the block are not names.
pub(super) fn labelled_seller(lines: &[Line<'_>]) -> Option<(f32, String, Vec<usize>)> {
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
pub(super) fn name_like_value(t: &str) -> bool {
    let letters = t.chars().filter(|c| c.is_alphabetic()).count();
    let digits = t.chars().filter(|c| c.is_ascii_digit()).count();
    letters >= 3 && digits * 2 < letters && !not_a_name(t)
}

/// A line printed left of line `i` on its row (a key, when line `i` is its value).
pub(super) fn key_left_of(lines: &[Line<'_>], i: usize) -> Option<usize> {
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
pub(super) fn seller(lines: &[Line<'_>], doc: &OcrDocument) -> Option<(f32, String, Vec<usize>)> {
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
pub(super) fn right_of<'l, 'a>(lines: &'l [Line<'a>], i: usize) -> Option<(usize, &'l Line<'a>)> {
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
pub(super) fn merchant(lines: &[Line<'_>], doc: &OcrDocument) -> Option<(f32, String, Vec<usize>)> {
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
