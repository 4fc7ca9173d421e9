//! Answers of model backends (one string per field) → an [`Extraction`]: the rules normalise
//! them, and each value is located on the page for its evidence.

use ocr_document::OcrDocument;
use rules::{FieldInput, RawFields, RawLineItem, RawTaxLine, RuleContext};

use crate::types::{Evidence, Extraction, FieldName};

impl FieldName {
    /// The question a TILT-style model is asked for this field. Short, key-like questions are
    /// what the model was trained on (tilt-architecture.md §9).
    pub fn question(self) -> &'static str {
        match self {
            FieldName::Merchant => "What is the name of the merchant or seller?",
            FieldName::Date => "What is the date of the document?",
            FieldName::Currency => "What is the currency of the amounts?",
            FieldName::Subtotal => "What is the subtotal amount before tax?",
            FieldName::TaxAmount => "What is the tax amount?",
            FieldName::Total => "What is the total amount?",
        }
    }
}

impl Extraction {
    /// Normalises `(field, raw answer, confidence)` with the rules and finds each kept value
    /// on the document.
    pub fn from_answers(
        doc: &OcrDocument,
        answers: impl IntoIterator<Item = (FieldName, String, f32)>,
        ctx: &RuleContext,
    ) -> Extraction {
        Extraction::from_answers_and_lists(doc, answers, Vec::new(), Vec::new(), ctx)
    }

    /// [`from_answers`](Extraction::from_answers) with the line items and tax rows a model
    /// answered, each located on the document by its description (else its amount).
    pub fn from_answers_and_lists(
        doc: &OcrDocument,
        answers: impl IntoIterator<Item = (FieldName, String, f32)>,
        line_items: Vec<RawLineItem>,
        tax_breakdown: Vec<RawTaxLine>,
        ctx: &RuleContext,
    ) -> Extraction {
        let answers: Vec<(FieldName, String, f32)> = answers.into_iter().collect();
        let mut raw = RawFields {
            line_items,
            tax_breakdown,
            ..RawFields::default()
        };
        for (field, text, conf) in &answers {
            let input = Some(FieldInput::new(text.clone(), *conf));
            match field {
                FieldName::Merchant => raw.merchant = input,
                FieldName::Date => raw.date = input,
                FieldName::Currency => raw.currency = input,
                FieldName::Subtotal => raw.subtotal = input,
                FieldName::TaxAmount => raw.tax_amount = input,
                FieldName::Total => raw.total = input,
            }
        }
        let mut out = Extraction::from_raw(&raw, ctx);
        for (field, text, _) in answers {
            let f = out.field_mut(field);
            if f.value.is_some() {
                f.evidence = locate(doc, &text);
            }
        }
        let first_found = |texts: &[&Option<String>]| {
            texts
                .iter()
                .filter_map(|t| t.as_deref())
                .find_map(|t| locate(doc, t))
        };
        for (item, r) in out.line_items.iter_mut().zip(&raw.line_items) {
            item.evidence = first_found(&[&r.description, &r.amount]);
        }
        for (row, r) in out.tax_breakdown.iter_mut().zip(&raw.tax_breakdown) {
            row.evidence = first_found(&[&r.amount, &r.rate]);
        }
        out
    }
}

/// Where on the document an answer is printed: the shortest run of words on one line whose
/// text, without spaces, equals the answer's; else a word that contains it.
pub fn locate(doc: &OcrDocument, raw: &str) -> Option<Evidence> {
    let squash = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect()
    };
    let target = squash(raw);
    if target.is_empty() {
        return None;
    }
    let evidence = |page: usize, idx: &[usize]| {
        let p = &doc.pages[page];
        let words: Vec<&ocr_document::DocWord> = idx.iter().map(|&i| &p.words[i]).collect();
        Evidence::on_page(
            page,
            idx.to_vec(),
            ocr_document::document::union(words.iter().map(|w| w.bbox)),
            words
                .iter()
                .map(|w| w.text.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    for (pi, p) in doc.pages.iter().enumerate() {
        for line in &p.lines {
            for start in 0..line.words.len() {
                let mut acc = String::new();
                for end in start..line.words.len().min(start + 12) {
                    acc.push_str(&squash(&p.words[line.words[end]].text));
                    if acc == target {
                        return Some(evidence(pi, &line.words[start..=end]));
                    }
                    if !target.starts_with(&acc) {
                        break;
                    }
                }
            }
        }
    }
    for (pi, p) in doc.pages.iter().enumerate() {
        if let Some(i) = p
            .words
            .iter()
            .position(|w| squash(&w.text).contains(&target))
        {
            return Some(evidence(pi, &[i]));
        }
    }
    None
}
