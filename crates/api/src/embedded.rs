//! E-invoices: the CII or UBL XML an upload is, or a PDF carries (Factur-X, ZUGFeRD,
//! XRechnung), read into the six fields with the element paths as evidence, and checked against
//! what the pages show.

use einvoice::{Invoice, Value};
use kie::{Evidence, ExtractOptions, Extraction, Field, FieldName};
use rules::Warning;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// How a PDF's embedded e-invoice XML is used (`EMBEDDED_INVOICE`, `--embedded-invoice`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum EmbeddedInvoice {
    /// The fields come from the embedded XML when the PDF has one; the pages are read as well
    /// and a warning names every field where they disagree.
    #[default]
    Prefer,
    /// The embedded XML is ignored: the fields come from the pages.
    Off,
    /// Only the embedded XML is read (no OCR); a PDF without one is refused.
    Only,
}

impl std::str::FromStr for EmbeddedInvoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "prefer" => Ok(EmbeddedInvoice::Prefer),
            "off" => Ok(EmbeddedInvoice::Off),
            "only" => Ok(EmbeddedInvoice::Only),
            other => Err(format!(
                "embedded_invoice: unknown value '{other}' (known: prefer, off, only)"
            )),
        }
    }
}

/// The e-invoice found with a document.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum InvoiceXml {
    /// Read: from the upload itself (`name` none) or the PDF attachment `name`.
    Read {
        name: Option<String>,
        invoice: Box<Invoice>,
    },
    /// An attachment that looked like an e-invoice but could not be read.
    Broken { name: String, error: String },
}

/// The name the backend is reported under when the fields came from the XML.
pub const BACKEND_NAME: &str = "embedded-xml";

/// The model version reported for XML results.
pub fn model_version() -> String {
    format!("einvoice-{}", env!("CARGO_PKG_VERSION"))
}

/// The invoice's six fields, each with confidence 1 and its element path as evidence.
/// Fields not wanted by `opts` stay empty.
pub fn extraction(inv: &Invoice, opts: &ExtractOptions) -> Extraction {
    let t = std::time::Instant::now();
    let mut x = Extraction::default();
    let currency = field(&inv.currency).map(|mut f| {
        f.value = f.value.map(|c| c.to_ascii_uppercase());
        f
    });
    let values = [
        (FieldName::Merchant, field(&inv.seller)),
        (FieldName::Date, field(&inv.issue_date)),
        (FieldName::Currency, currency),
        (FieldName::Subtotal, field(&inv.tax_basis_total)),
        (FieldName::TaxAmount, field(&inv.tax_total)),
        (FieldName::Total, field(&inv.grand_total)),
    ];
    for (name, f) in values {
        if let Some(f) = f.filter(|_| opts.wants(name)) {
            *x.field_mut(name) = f;
        }
    }
    if opts.wants_list(kie::ListName::LineItems) {
        x.line_items = inv.line_items.iter().map(line_item).collect();
    }
    if opts.wants_list(kie::ListName::TaxBreakdown) {
        x.tax_breakdown = inv.tax_breakdown.iter().map(tax_line).collect();
    }
    if inv.credit_note {
        x.warnings.push(Warning {
            code: "credit_note".into(),
            message: format!(
                "credit note (document type {}): amounts are negative",
                inv.type_code.as_deref().unwrap_or("?")
            ),
        });
    }
    if let (Some(b), Some(t), Some(g)) = (&inv.tax_basis_total, &inv.tax_total, &inv.grand_total)
        && b.value + t.value != g.value
    {
        x.warnings.push(Warning {
            code: "mismatch.total".into(),
            message: format!(
                "the XML's tax basis {} plus tax {} is not its grand total {}",
                b.value, t.value, g.value
            ),
        });
    }
    x.rules_ms = t.elapsed().as_secs_f64() * 1e3;
    x
}

/// An item of the XML: its values as decimal strings, confidence 1, the element of its amount
/// (else its name) as evidence.
fn line_item(l: &einvoice::LineItem) -> kie::LineItem {
    let text = |v: &Option<Value<Decimal>>| v.as_ref().map(|v| v.value.normalize().to_string());
    let at = l
        .amount
        .as_ref()
        .map(|v| (v.path.clone(), v.raw.clone()))
        .or_else(|| {
            l.description
                .as_ref()
                .map(|v| (v.path.clone(), v.raw.clone()))
        });
    kie::LineItem {
        description: l.description.as_ref().map(|v| v.value.clone()),
        quantity: text(&l.quantity),
        unit_price: l.unit_price.as_ref().map(|v| v.value.to_string()),
        amount: l.amount.as_ref().map(|v| v.value.to_string()),
        confidence: 1.0,
        evidence: at.map(|(path, raw)| Evidence::in_xml(path, raw)),
    }
}

/// A tax rate of the XML: its values, confidence 1, the element of its tax as evidence.
fn tax_line(t: &einvoice::TaxLine) -> kie::TaxLine {
    let at = [&t.amount, &t.base, &t.rate]
        .into_iter()
        .flatten()
        .next()
        .map(|v| Evidence::in_xml(v.path.clone(), v.raw.clone()));
    kie::TaxLine {
        rate: t.rate.as_ref().map(|v| v.value.normalize().to_string()),
        base: t.base.as_ref().map(|v| v.value.to_string()),
        amount: t.amount.as_ref().map(|v| v.value.to_string()),
        confidence: 1.0,
        evidence: at,
    }
}

/// A value of the XML as a field: its normalised text, confidence 1, its element as evidence.
fn field<T: std::fmt::Display>(v: &Option<Value<T>>) -> Option<Field> {
    v.as_ref().map(|v| Field {
        value: Some(v.value.to_string()),
        raw: Some(v.raw.clone()),
        confidence: 1.0,
        evidence: Some(Evidence::in_xml(v.path.clone(), v.raw.clone())),
    })
}

/// A warning for every field the pages show differently from the XML
/// (`embedded_xml.disagrees.<field>`). A field the pages do not show is no disagreement;
/// amounts are compared by size (the pages may print a credit note's amounts unsigned).
pub fn cross_check(xml: &Extraction, pages: &Extraction) -> Vec<Warning> {
    FieldName::ALL
        .into_iter()
        .filter_map(|name| {
            let a = xml.field(name).value.as_deref()?;
            let b = pages.field(name).value.as_deref()?;
            (!agree(name, a, b)).then(|| Warning {
                code: format!("embedded_xml.disagrees.{}", name.as_str()),
                message: format!(
                    "the embedded XML says {} '{a}', the pages show '{b}'",
                    name.as_str()
                ),
            })
        })
        .collect()
}

fn agree(name: FieldName, xml: &str, page: &str) -> bool {
    match name {
        FieldName::Subtotal | FieldName::TaxAmount | FieldName::Total => {
            match (xml.parse::<Decimal>(), page.parse::<Decimal>()) {
                (Ok(a), Ok(b)) => a.abs() == b.abs(),
                _ => xml == page,
            }
        }
        FieldName::Merchant => names_agree(xml, page),
        FieldName::Date | FieldName::Currency => xml.eq_ignore_ascii_case(page),
    }
}

/// Names agree when most words of the shorter appear in the longer (letterheads add or drop a
/// legal form, an ampersand, a line break).
fn names_agree(a: &str, b: &str) -> bool {
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let (wa, wb) = (words(a), words(b));
    let (short, long) = if wa.len() <= wb.len() {
        (&wa, &wb)
    } else {
        (&wb, &wa)
    };
    if short.is_empty() {
        return false;
    }
    let shared = short.iter().filter(|w| long.contains(w)).count();
    shared * 2 > short.len() || {
        let squash = |v: &[String]| v.concat();
        squash(long).contains(&squash(short))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(values: &[(FieldName, &str)]) -> Extraction {
        let mut x = Extraction::default();
        for (n, v) in values {
            x.field_mut(*n).value = Some((*v).to_string());
        }
        x
    }

    #[test]
    fn disagreements_are_named_per_field() {
        let xml = with(&[
            (FieldName::Merchant, "Muster Bürobedarf GmbH"),
            (FieldName::Date, "2024-03-15"),
            (FieldName::Total, "-144.00"),
            (FieldName::Subtotal, "225.50"),
            (FieldName::TaxAmount, "42.85"),
        ]);
        let pages = with(&[
            (FieldName::Merchant, "MUSTER BÜROBEDARF"),
            (FieldName::Date, "2024-03-16"),
            (FieldName::Total, "144.00"),
            (FieldName::Subtotal, "255.50"),
        ]);
        let codes: Vec<String> = cross_check(&xml, &pages)
            .into_iter()
            .map(|w| w.code)
            .collect();
        assert_eq!(
            codes,
            [
                "embedded_xml.disagrees.date",
                "embedded_xml.disagrees.subtotal"
            ]
        );
    }

    #[test]
    fn names() {
        assert!(names_agree(
            "Grundbesitz GmbH & Co.",
            "Grundbesitz GmbH & Co. KG"
        ));
        assert!(names_agree("Hotel Seeblick KG", "HOTELSEEBLICK KG"));
        assert!(!names_agree("Muster Bürobedarf GmbH", "Beispiel AG"));
        assert!(!names_agree("Lieferant GmbH", "Rechnung"));
    }

    #[test]
    fn modes_parse() {
        assert_eq!("Only".parse(), Ok(EmbeddedInvoice::Only));
        assert_eq!(" off ".parse(), Ok(EmbeddedInvoice::Off));
        assert!("never".parse::<EmbeddedInvoice>().is_err());
    }
}
