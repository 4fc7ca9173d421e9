//! The mock's own answers: a deliberately plain reading of the document's lines — a keyword
//! line and the amount on it or on the next line, the first date-shaped token, the first
//! currency token, the first line as the merchant. Independent of OCRlty's backends, so that a
//! test through the mock checks the `openai` backend and the rules, not one backend against
//! itself.

use std::collections::BTreeMap;

use kie::FieldName;
use ocr_document::OcrDocument;

/// Raw answers (as printed) for the fields the lines show.
pub fn read(doc: &OcrDocument) -> BTreeMap<FieldName, String> {
    let lines: Vec<&str> = doc
        .pages
        .iter()
        .flat_map(|p| p.lines.iter().map(|l| l.text.as_str()))
        .collect();
    let mut out = BTreeMap::new();
    if let Some(first) = lines.iter().find(|l| l.chars().any(char::is_alphabetic)) {
        out.insert(FieldName::Merchant, first.to_string());
    }
    let upper: Vec<String> = lines.iter().map(|l| l.to_uppercase()).collect();
    let labelled = |keys: &[&str], not: &[&str]| {
        (0..lines.len()).rev().find_map(|i| {
            let u = &upper[i];
            let hit = keys.iter().any(|k| u.contains(k)) && !not.iter().any(|k| u.contains(k));
            if !hit {
                return None;
            }
            amount_in(lines[i]).or_else(|| lines.get(i + 1).and_then(|n| amount_in(n)))
        })
    };
    let found = [
        (FieldName::Total, labelled(&["TOTAL"], &["SUB"])),
        (
            FieldName::Subtotal,
            labelled(&["SUBTOTAL", "SUB TOTAL"], &[]),
        ),
        (
            FieldName::TaxAmount,
            labelled(
                &["TAX", "GST", "SST", "VAT", "MWST"],
                &["INVOICE", "ID", "NO"],
            ),
        ),
        (
            FieldName::Date,
            lines
                .iter()
                .flat_map(|l| l.split_whitespace())
                .find(|t| date_shaped(t))
                .map(String::from),
        ),
        (
            FieldName::Currency,
            lines
                .iter()
                .flat_map(|l| l.split(|c: char| !c.is_alphanumeric() && !"€$£¥".contains(c)))
                .find(|t| CURRENCIES.contains(t))
                .map(String::from),
        ),
    ];
    for (f, v) in found {
        if let Some(v) = v {
            out.insert(f, v);
        }
    }
    out
}

const CURRENCIES: [&str; 11] = [
    "RM", "MYR", "EUR", "€", "USD", "$", "GBP", "£", "SGD", "IDR", "JPY",
];

/// The last token of a line that reads as an amount with two decimals (`65.50`, `-0.01`,
/// `1.234,56`).
fn amount_in(line: &str) -> Option<String> {
    line.split_whitespace()
        .rev()
        .find(|t| {
            let t = t.trim_start_matches(['-', '$', '€', '£']);
            let digits = t.chars().filter(char::is_ascii_digit).count();
            let b = t.as_bytes();
            digits >= 3
                && b.len() >= 4
                && matches!(b[b.len() - 3], b'.' | b',')
                && t.chars()
                    .all(|c| c.is_ascii_digit() || c == '.' || c == ',')
        })
        .map(String::from)
}

/// `14/03/2024`, `2024-03-14`, `14.03.2024`: three digit groups, one of them four long.
fn date_shaped(t: &str) -> bool {
    let parts: Vec<&str> = t.split(['/', '-', '.']).collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 4 && p.chars().all(|c| c.is_ascii_digit()))
        && parts.iter().any(|p| p.len() == 4)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocr_document::{DocPage, DocWord, PageSource};

    #[test]
    fn reads_a_receipt_by_its_keywords() {
        let rows = [
            "KEDAI MAJU SDN BHD",
            "SST ID: W10-1808",
            "Date: 14/03/2024 10:42",
            "Sub Total",
            "61.80",
            "SST 6% 3.71",
            "TOTAL (RM)",
            "65.50",
        ];
        let words = rows.iter().enumerate().flat_map(|(r, row)| {
            let y = 20.0 + 40.0 * r as f32;
            let mut x = 10.0;
            row.split(' ')
                .map(|w| {
                    let wd = DocWord {
                        text: w.into(),
                        bbox: [x, y, x + 10.0 * w.len() as f32, y + 20.0],
                        conf: 1.0,
                    };
                    x += 10.0 * w.len() as f32 + 8.0;
                    wd
                })
                .collect::<Vec<_>>()
        });
        let doc = OcrDocument {
            pages: vec![DocPage::from_words(0, 600, 400, PageSource::Ocr, words)],
        };
        let got = read(&doc);
        let get = |f| got.get(&f).map(String::as_str);
        assert_eq!(get(FieldName::Merchant), Some("KEDAI MAJU SDN BHD"));
        assert_eq!(get(FieldName::Total), Some("65.50"));
        assert_eq!(get(FieldName::Subtotal), Some("61.80"));
        assert_eq!(get(FieldName::TaxAmount), Some("3.71"));
        assert_eq!(get(FieldName::Date), Some("14/03/2024"));
        assert_eq!(get(FieldName::Currency), Some("RM"));
    }
}
