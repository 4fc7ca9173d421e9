//! # einvoice
//!
//! Structured e-invoices read into typed header totals: UN/CEFACT CII (Factur-X, ZUGFeRD 2.x,
//! XRechnung CII and the older ZUGFeRD 1.0 `CrossIndustryDocument`) and OASIS UBL 2.1
//! (`Invoice`, `CreditNote`; XRechnung UBL, Peppol BIS). Every value keeps the element path it
//! was read from, so a caller can cite it as evidence.
//!
//! The XML is parsed by `roxmltree` with DTDs refused: a document type declaration (the carrier
//! of external entities and entity-expansion bombs) is an error, never processed. Documents over
//! [`MAX_XML_BYTES`] or [`MAX_NODES`] are refused before or while parsing.
//!
//! Credit notes (by root element or type code) come out with negative amounts, as the document
//! type implies, whatever sign the XML carries.
//!
//! ```
//! let xml = r#"<rsm:CrossIndustryInvoice
//!     xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
//!     xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
//!     xmlns:udt="urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100">
//!   <rsm:ExchangedDocument><ram:ID>R-1</ram:ID><ram:TypeCode>380</ram:TypeCode>
//!     <ram:IssueDateTime><udt:DateTimeString format="102">20240318</udt:DateTimeString></ram:IssueDateTime>
//!   </rsm:ExchangedDocument>
//!   <rsm:SupplyChainTradeTransaction>
//!     <ram:ApplicableHeaderTradeAgreement><ram:SellerTradeParty><ram:Name>Muster GmbH</ram:Name></ram:SellerTradeParty></ram:ApplicableHeaderTradeAgreement>
//!     <ram:ApplicableHeaderTradeSettlement><ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
//!       <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
//!         <ram:TaxBasisTotalAmount>100.00</ram:TaxBasisTotalAmount>
//!         <ram:TaxTotalAmount currencyID="EUR">19.00</ram:TaxTotalAmount>
//!         <ram:GrandTotalAmount>119.00</ram:GrandTotalAmount>
//!       </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
//!     </ram:ApplicableHeaderTradeSettlement>
//!   </rsm:SupplyChainTradeTransaction>
//! </rsm:CrossIndustryInvoice>"#;
//! let inv = einvoice::parse(xml.as_bytes()).unwrap();
//! assert_eq!(inv.seller.as_ref().unwrap().value, "Muster GmbH");
//! assert_eq!(inv.grand_total.as_ref().unwrap().value.to_string(), "119.00");
//! assert_eq!(inv.issue_date.as_ref().unwrap().value.to_string(), "2024-03-18");
//! ```

mod cii;
mod tree;
mod ubl;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

/// Bigger XML documents are refused unread.
pub const MAX_XML_BYTES: usize = 20 * 1024 * 1024;
/// Parsing stops at this many nodes (elements, attributes, text).
pub const MAX_NODES: u32 = 2_000_000;

/// Which e-invoice syntax a document uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Syntax {
    /// UN/CEFACT CII D16B (Factur-X, ZUGFeRD 2.x, XRechnung CII): `CrossIndustryInvoice`.
    Cii,
    /// ZUGFeRD 1.0: `CrossIndustryDocument`.
    CiiZugferd1,
    /// OASIS UBL 2.1 `Invoice`.
    UblInvoice,
    /// OASIS UBL 2.1 `CreditNote`.
    UblCreditNote,
}

impl Syntax {
    /// The syntax a root element's local name (and namespace) names, if any.
    pub fn from_root(local_name: &str, namespace: Option<&str>) -> Option<Syntax> {
        let ns = namespace.unwrap_or("");
        match local_name {
            "CrossIndustryInvoice" => Some(Syntax::Cii),
            "CrossIndustryDocument" => Some(Syntax::CiiZugferd1),
            "Invoice" if ns.is_empty() || ns.contains("ubl") => Some(Syntax::UblInvoice),
            "CreditNote" if ns.is_empty() || ns.contains("ubl") => Some(Syntax::UblCreditNote),
            _ => None,
        }
    }
}

/// A value with the XML it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Value<T> {
    pub value: T,
    /// The element's text as written.
    pub raw: String,
    /// The element's path from the root, with the document's prefixes
    /// (`/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID`).
    pub path: String,
}

/// One invoice line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineItem {
    pub description: Option<Value<String>>,
    pub quantity: Option<Value<Decimal>>,
    pub unit_price: Option<Value<Decimal>>,
    pub amount: Option<Value<Decimal>>,
}

/// One tax rate of the invoice's tax breakdown (CII `ApplicableTradeTax`, UBL
/// `TaxSubtotal`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaxLine {
    /// Percent.
    pub rate: Option<Value<Decimal>>,
    /// The net amount taxed at that rate.
    pub base: Option<Value<Decimal>>,
    /// The tax at that rate.
    pub amount: Option<Value<Decimal>>,
}

/// An e-invoice's header: who, when, which currency, and the totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Invoice {
    pub syntax: Syntax,
    /// UNTDID 1001 document type code (380 invoice, 381 credit note, ...).
    pub type_code: Option<String>,
    /// True for credit notes; their amounts are negative here.
    pub credit_note: bool,
    pub number: Option<Value<String>>,
    /// The seller's (legal) name, whitespace collapsed.
    pub seller: Option<Value<String>>,
    pub issue_date: Option<Value<NaiveDate>>,
    /// ISO 4217 invoice currency.
    pub currency: Option<Value<String>>,
    /// Sum of the net amounts the tax is computed on (CII `TaxBasisTotalAmount`, UBL
    /// `TaxExclusiveAmount`).
    pub tax_basis_total: Option<Value<Decimal>>,
    /// The tax total in the invoice currency.
    pub tax_total: Option<Value<Decimal>>,
    /// The invoice total with tax (CII `GrandTotalAmount`, UBL `TaxInclusiveAmount`).
    pub grand_total: Option<Value<Decimal>>,
    /// What is still to pay after prepayments (CII `DuePayableAmount`, UBL `PayableAmount`).
    pub due_payable: Option<Value<Decimal>>,
    pub line_items: Vec<LineItem>,
    /// One row per tax rate, in the document's order.
    pub tax_breakdown: Vec<TaxLine>,
}

/// Why an XML document is not a readable e-invoice.
#[derive(Debug, thiserror::Error)]
pub enum EInvoiceError {
    #[error("the XML is {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error(
        "the XML declares a document type (DTD); DTDs are refused (no external or expanded entities)"
    )]
    DtdRefused,
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error(
        "the XML is not an e-invoice: its root element is <{0}> (expected CII CrossIndustryInvoice / CrossIndustryDocument or UBL Invoice / CreditNote)"
    )]
    NotAnInvoice(String),
    #[error("{path}: '{text}' is not {what}")]
    BadValue {
        path: String,
        text: String,
        what: &'static str,
    },
}

impl EInvoiceError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            EInvoiceError::TooLarge { .. } => "einvoice_too_large",
            EInvoiceError::DtdRefused => "einvoice_dtd_refused",
            EInvoiceError::NotAnInvoice(_) => "not_an_einvoice",
            EInvoiceError::Malformed(_) | EInvoiceError::BadValue { .. } => "invalid_einvoice_xml",
        }
    }
}

/// UNTDID 1001 codes of credit notes (EN 16931's list).
const CREDIT_NOTE_CODES: [&str; 11] = [
    "81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532",
];

/// True when a document type code names a credit note.
pub fn is_credit_note_code(code: &str) -> bool {
    CREDIT_NOTE_CODES.contains(&code.trim())
}

/// The e-invoice syntax of an XML document, from its root element, without parsing it whole:
/// `None` when the bytes are not XML or the root is no e-invoice. Cheap enough for sniffing.
pub fn sniff(bytes: &[u8]) -> Option<Syntax> {
    let (local, ns) = tree::root_element_name(bytes)?;
    Syntax::from_root(&local, ns.as_deref())
}

/// Parses an e-invoice (CII or UBL).
pub fn parse(bytes: &[u8]) -> Result<Invoice, EInvoiceError> {
    if bytes.len() > MAX_XML_BYTES {
        return Err(EInvoiceError::TooLarge {
            size: bytes.len(),
            limit: MAX_XML_BYTES,
        });
    }
    let text = decode_text(bytes)?;
    let opts = roxmltree::ParsingOptions {
        allow_dtd: false,
        nodes_limit: MAX_NODES,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, opts).map_err(|e| match e {
        roxmltree::Error::DtdDetected => EInvoiceError::DtdRefused,
        other => EInvoiceError::Malformed(other.to_string()),
    })?;
    let root = doc.root_element();
    let name = root.tag_name();
    let syntax = Syntax::from_root(name.name(), name.namespace())
        .ok_or_else(|| EInvoiceError::NotAnInvoice(name.name().to_string()))?;
    let mut inv = match syntax {
        Syntax::Cii | Syntax::CiiZugferd1 => cii::read(root, syntax)?,
        Syntax::UblInvoice | Syntax::UblCreditNote => ubl::read(root, syntax)?,
    };
    if inv.credit_note {
        inv.negate_amounts();
    }
    Ok(inv)
}

impl Invoice {
    fn negate_amounts(&mut self) {
        let neg = |v: &mut Option<Value<Decimal>>| {
            if let Some(v) = v {
                v.value = -v.value.abs();
            }
        };
        neg(&mut self.tax_basis_total);
        neg(&mut self.tax_total);
        neg(&mut self.grand_total);
        neg(&mut self.due_payable);
        for l in &mut self.line_items {
            if let Some(a) = &mut l.amount {
                a.value = -a.value;
            }
        }
        for t in &mut self.tax_breakdown {
            neg(&mut t.base);
            neg(&mut t.amount);
        }
    }
}

/// The bytes as text: UTF-8 (a BOM dropped) or UTF-16 with a BOM.
fn decode_text(bytes: &[u8]) -> Result<String, EInvoiceError> {
    if let Some(rest) = bytes.strip_prefix(&[0xef, 0xbb, 0xbf]) {
        return utf8(rest);
    }
    let utf16 = |le: bool, rest: &[u8]| -> Result<String, EInvoiceError> {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| {
                if le {
                    u16::from_le_bytes([c[0], c[1]])
                } else {
                    u16::from_be_bytes([c[0], c[1]])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|e| EInvoiceError::Malformed(format!("UTF-16: {e}")))
    };
    if let Some(rest) = bytes.strip_prefix(&[0xff, 0xfe]) {
        return utf16(true, rest);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xfe, 0xff]) {
        return utf16(false, rest);
    }
    utf8(bytes)
}

fn utf8(bytes: &[u8]) -> Result<String, EInvoiceError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        EInvoiceError::Malformed(format!(
            "not UTF-8 at byte {} (only UTF-8 and UTF-16 are read)",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// An amount as written in the XML, made a decimal with at least two decimals (`252.1` →
/// `252.10`, `67.2244` kept).
pub(crate) fn amount(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.is_empty() || t.contains(['e', 'E']) {
        return None;
    }
    let mut d: Decimal = t.parse().ok()?;
    d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    Some(d)
}

/// A quantity, its trailing zeros dropped (`20.0000` → `20`).
pub(crate) fn quantity(text: &str) -> Option<Decimal> {
    let t = text.trim();
    if t.contains(['e', 'E']) {
        return None;
    }
    t.parse::<Decimal>().ok().map(|q| q.normalize())
}

/// A date as CII (`format="102"`: `YYYYMMDD`) or UBL (`YYYY-MM-DD`) writes it.
pub(crate) fn date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        return NaiveDate::parse_from_str(t, "%Y%m%d").ok();
    }
    let day = t.get(..10).unwrap_or(t);
    NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_keep_their_digits_and_get_two_decimals() {
        let cases = [
            ("252.1", "252.10"),
            ("18310.63", "18310.63"),
            ("67.2244", "67.2244"),
            ("100", "100.00"),
            ("-5.50", "-5.50"),
            (" 12.300 ", "12.30"),
        ];
        for (text, want) in cases {
            assert_eq!(
                amount(text).map(|d| d.to_string()).as_deref(),
                Some(want),
                "{text}"
            );
        }
        for bad in ["", "1e3", "12,50", "abc"] {
            assert_eq!(amount(bad), None, "{bad}");
        }
    }

    #[test]
    fn dates_in_both_syntaxes() {
        let d = |s| date(s).map(|d| d.to_string());
        assert_eq!(d("20180305").as_deref(), Some("2018-03-05"));
        assert_eq!(d("2018-03-05").as_deref(), Some("2018-03-05"));
        assert_eq!(d("2018-03-05+01:00").as_deref(), Some("2018-03-05"));
        assert_eq!(d("20181305"), None);
        assert_eq!(d("05.03.2018"), None);
    }

    #[test]
    fn credit_note_codes() {
        assert!(is_credit_note_code("381"));
        assert!(is_credit_note_code(" 261 "));
        assert!(!is_credit_note_code("380"));
        assert!(!is_credit_note_code("384"));
    }

    #[test]
    fn text_encodings() {
        let bom = [&[0xef, 0xbb, 0xbf][..], b"<a/>"].concat();
        assert_eq!(decode_text(&bom).expect("utf8"), "<a/>");
        let le: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("<a/>".encode_utf16().flat_map(|u| u.to_le_bytes()))
            .collect();
        assert_eq!(decode_text(&le).expect("utf16"), "<a/>");
        assert!(matches!(
            decode_text(&[b'<', 0xff, b'>']),
            Err(EInvoiceError::Malformed(_))
        ));
    }
}
