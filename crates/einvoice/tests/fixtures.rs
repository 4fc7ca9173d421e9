//! The fixtures written by tools/make_einvoices.py: every syntax, language and credit note read
//! to the values the generator put in; hostile XML refused with its own error.

use einvoice::{EInvoiceError, Invoice, Syntax, parse, sniff};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn read(name: &str) -> Invoice {
    parse(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (file, syntax, seller, date, currency, basis, tax, grand total, due, lines)
type Case = (
    &'static str,
    Syntax,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
);

const CASES: [Case; 6] = [
    (
        "cii-facturx-de-rechnung.xml",
        Syntax::Cii,
        "Muster Bürobedarf GmbH",
        "2024-03-15",
        "EUR",
        "225.50",
        "42.85",
        "268.35",
        "268.35",
        4,
    ),
    (
        "cii-facturx-fr-avoir.xml",
        Syntax::Cii,
        "Papeterie Lefèvre SARL",
        "2024-04-02",
        "EUR",
        "-120.00",
        "-24.00",
        "-144.00",
        "-144.00",
        1,
    ),
    (
        "cii-xrechnung-de-zwei-steuersaetze.xml",
        Syntax::Cii,
        "Hotel Seeblick KG",
        "2024-11-05",
        "EUR",
        "428.00",
        "59.96",
        "487.96",
        "387.96",
        2,
    ),
    (
        "zugferd1-de-rechnung.xml",
        Syntax::CiiZugferd1,
        "Lieferant GmbH",
        "2014-03-11",
        "EUR",
        "198.00",
        "37.62",
        "235.62",
        "235.62",
        1,
    ),
    (
        "ubl-peppol-en-invoice.xml",
        Syntax::UblInvoice,
        "Northwind Traders Ltd",
        "2024-05-20",
        "GBP",
        "1000.00",
        "200.00",
        "1200.00",
        "700.00",
        2,
    ),
    (
        "ubl-xrechnung-de-gutschrift.xml",
        Syntax::UblCreditNote,
        "Elektro Schmidt e.K.",
        "2024-07-01",
        "EUR",
        "-210.00",
        "-39.90",
        "-249.90",
        "-249.90",
        1,
    ),
];

#[test]
fn every_fixture_reads_to_its_values() {
    for (file, syntax, seller, date, cur, basis, tax, grand, due, lines) in CASES {
        let inv = read(file);
        let s = |v: &Option<einvoice::Value<rust_decimal::Decimal>>| {
            v.as_ref().map(|v| v.value.to_string()).unwrap_or_default()
        };
        assert_eq!(sniff(&fixture(file)), Some(syntax), "{file}: sniff");
        assert_eq!(inv.syntax, syntax, "{file}");
        assert_eq!(
            inv.seller.as_ref().map(|v| v.value.as_str()),
            Some(seller),
            "{file}"
        );
        assert_eq!(
            inv.issue_date
                .as_ref()
                .map(|v| v.value.to_string())
                .as_deref(),
            Some(date),
            "{file}"
        );
        assert_eq!(
            inv.currency.as_ref().map(|v| v.value.as_str()),
            Some(cur),
            "{file}"
        );
        assert_eq!(s(&inv.tax_basis_total), basis, "{file}: basis");
        assert_eq!(s(&inv.tax_total), tax, "{file}: tax");
        assert_eq!(s(&inv.grand_total), grand, "{file}: grand total");
        assert_eq!(s(&inv.due_payable), due, "{file}: due");
        assert_eq!(inv.line_items.len(), lines, "{file}: lines");
        assert_eq!(
            inv.credit_note,
            grand.starts_with('-'),
            "{file}: credit note"
        );
    }
}

#[test]
fn values_carry_their_element_paths() {
    let inv = read("cii-facturx-de-rechnung.xml");
    let path = |v: &Option<einvoice::Value<rust_decimal::Decimal>>| {
        v.as_ref().map(|v| v.path.clone()).unwrap_or_default()
    };
    assert_eq!(
        path(&inv.grand_total),
        "/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/ram:ApplicableHeaderTradeSettlement/ram:SpecifiedTradeSettlementHeaderMonetarySummation/ram:GrandTotalAmount"
    );
    let ubl = read("ubl-peppol-en-invoice.xml");
    assert_eq!(
        ubl.seller.as_ref().map(|v| v.path.as_str()),
        Some(
            "/Invoice/cac:AccountingSupplierParty/cac:Party/cac:PartyLegalEntity/cbc:RegistrationName"
        ),
        "the legal name wins over the trading name"
    );
}

#[test]
fn the_invoice_currencys_tax_total_is_taken_not_the_accounting_currencys() {
    // Both files state the tax a second time in another currency (CHF, EUR), before or after.
    assert_eq!(
        read("cii-xrechnung-de-zwei-steuersaetze.xml")
            .tax_total
            .map(|v| v.value.to_string()),
        Some("59.96".into())
    );
    assert_eq!(
        read("ubl-peppol-en-invoice.xml")
            .tax_total
            .map(|v| v.value.to_string()),
        Some("200.00".into())
    );
}

#[test]
fn line_items_of_both_syntaxes() {
    let inv = read("cii-facturx-de-rechnung.xml");
    let first = &inv.line_items[0];
    assert_eq!(
        first.description.as_ref().map(|v| v.value.as_str()),
        Some("Kopierpapier A4 80 g (5 × 500 Blatt)")
    );
    assert_eq!(
        first.quantity.as_ref().map(|v| v.value.to_string()),
        Some("4".into())
    );
    assert_eq!(
        first.unit_price.as_ref().map(|v| v.value.to_string()),
        Some("24.90".into())
    );
    assert_eq!(
        first.amount.as_ref().map(|v| v.value.to_string()),
        Some("99.60".into())
    );
    // ZUGFeRD 1: the text-only line is skipped, the quantity's trailing zeros dropped.
    let zf1 = read("zugferd1-de-rechnung.xml");
    assert_eq!(
        zf1.line_items[0]
            .quantity
            .as_ref()
            .map(|v| v.value.to_string()),
        Some("20".into())
    );
    // A credit note's line amounts are negative like its totals.
    let cn = read("ubl-xrechnung-de-gutschrift.xml");
    assert_eq!(
        cn.line_items[0]
            .amount
            .as_ref()
            .map(|v| v.value.to_string()),
        Some("-210.00".into())
    );
}

#[test]
fn hostile_and_broken_xml_is_refused_with_its_own_error() {
    let err = |f: &str| parse(&fixture(f)).expect_err(f);
    assert!(matches!(err("hostile-xxe.xml"), EInvoiceError::DtdRefused));
    assert!(matches!(
        err("hostile-entity-expansion.xml"),
        EInvoiceError::DtdRefused
    ));
    assert!(matches!(
        err("hostile-truncated.xml"),
        EInvoiceError::Malformed(_)
    ));
    let e = err("not-an-invoice.xml");
    assert!(
        matches!(&e, EInvoiceError::NotAnInvoice(root) if root == "Order"),
        "{e}"
    );
    let e = err("bad-amount.xml");
    assert!(e.to_string().contains("ram:GrandTotalAmount"), "{e}");
    assert_eq!(e.code(), "invalid_einvoice_xml");
    assert_eq!(err("hostile-xxe.xml").code(), "einvoice_dtd_refused");
    // The secret never reaches the values: nothing was read at all.
    assert!(!err("hostile-xxe.xml").to_string().contains("root:"));
}

#[test]
fn limits_and_sniffing() {
    let big = vec![b' '; einvoice::MAX_XML_BYTES + 1];
    assert!(matches!(parse(&big), Err(EInvoiceError::TooLarge { .. })));
    assert_eq!(sniff(b"%PDF-1.7"), None);
    assert_eq!(sniff(&fixture("not-an-invoice.xml")), None);
    assert_eq!(sniff(&fixture("hostile-xxe.xml")), Some(Syntax::UblInvoice));
    // A node bomb without a DTD: many elements, under the byte limit, stops at the node limit.
    let many = format!(
        "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\">{}</Invoice>",
        "<a/>".repeat(einvoice::MAX_NODES as usize + 10)
    );
    assert!(many.len() < einvoice::MAX_XML_BYTES);
    assert!(matches!(
        parse(many.as_bytes()),
        Err(EInvoiceError::Malformed(_))
    ));
}

#[test]
fn every_truncation_and_byte_flip_of_every_fixture_is_an_answer_or_an_error_never_a_panic() {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut tried = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        for cut in (0..bytes.len()).step_by(37) {
            let _ = sniff(&bytes[..cut]);
            let _ = parse(&bytes[..cut]);
            let mut flipped = bytes.clone();
            flipped[cut] ^= 0x5a;
            let _ = sniff(&flipped);
            let _ = parse(&flipped);
            tried += 1;
        }
    }
    assert!(tried > 500, "{tried}");
}

#[test]
fn tax_breakdowns_of_both_syntaxes() {
    let rows = |inv: &Invoice| -> Vec<(String, String, String)> {
        let s = |v: &Option<einvoice::Value<rust_decimal::Decimal>>| {
            v.as_ref().map(|v| v.value.to_string()).unwrap_or_default()
        };
        inv.tax_breakdown
            .iter()
            .map(|t| (s(&t.rate), s(&t.base), s(&t.amount)))
            .collect()
    };
    let two = read("cii-xrechnung-de-zwei-steuersaetze.xml");
    assert_eq!(
        rows(&two),
        [
            ("7".into(), "178.00".into(), "12.46".into()),
            ("19".into(), "250.00".into(), "47.50".into())
        ]
    );
    assert!(
        two.tax_breakdown[0].amount.as_ref().is_some_and(|v| v
            .path
            .ends_with("ram:ApplicableTradeTax/ram:CalculatedAmount")),
        "{:?}",
        two.tax_breakdown[0]
    );
    // UBL: the subtotals of the document currency's TaxTotal, not the other one's.
    let ubl = br#"<?xml version="1.0"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:ID>1</cbc:ID><cbc:IssueDate>2024-05-20</cbc:IssueDate><cbc:DocumentCurrencyCode>GBP</cbc:DocumentCurrencyCode>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">23.48</cbc:TaxAmount>
    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="EUR">117.40</cbc:TaxableAmount><cbc:TaxAmount currencyID="EUR">23.48</cbc:TaxAmount><cac:TaxCategory><cbc:Percent>20</cbc:Percent></cac:TaxCategory></cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:TaxTotal><cbc:TaxAmount currencyID="GBP">20.50</cbc:TaxAmount>
    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="GBP">100.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="GBP">20.00</cbc:TaxAmount><cac:TaxCategory><cbc:Percent>20</cbc:Percent></cac:TaxCategory></cac:TaxSubtotal>
    <cac:TaxSubtotal><cbc:TaxableAmount currencyID="GBP">10.00</cbc:TaxableAmount><cbc:TaxAmount currencyID="GBP">0.50</cbc:TaxAmount><cac:TaxCategory><cbc:Percent>5</cbc:Percent></cac:TaxCategory></cac:TaxSubtotal>
  </cac:TaxTotal>
  <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="GBP">130.50</cbc:PayableAmount></cac:LegalMonetaryTotal>
</Invoice>"#;
    let inv = parse(ubl).expect("parses");
    assert_eq!(
        rows(&inv),
        [
            ("20".into(), "100.00".into(), "20.00".into()),
            ("5".into(), "10.00".into(), "0.50".into())
        ]
    );
    assert!(
        read("ubl-xrechnung-de-gutschrift.xml")
            .tax_breakdown
            .is_empty()
    );
}
