//! UN/CEFACT Cross Industry Invoice: ZUGFeRD 2.x / Factur-X / XRechnung (`CrossIndustryInvoice`)
//! and ZUGFeRD 1.0 (`CrossIndustryDocument`), which names the same things differently.

use roxmltree::Node;

use crate::tree::{Step, child, children, descend, parsed, string};
use crate::{
    EInvoiceError, Invoice, LineItem, Syntax, TaxLine, amount, date, is_credit_note_code, quantity,
};

const DOCUMENT: Step = &["ExchangedDocument", "HeaderExchangedDocument"];
const TRANSACTION: Step = &[
    "SupplyChainTradeTransaction",
    "SpecifiedSupplyChainTradeTransaction",
];
const AGREEMENT: Step = &[
    "ApplicableHeaderTradeAgreement",
    "ApplicableSupplyChainTradeAgreement",
];
const SETTLEMENT: Step = &[
    "ApplicableHeaderTradeSettlement",
    "ApplicableSupplyChainTradeSettlement",
];
const SUMMATION: Step = &[
    "SpecifiedTradeSettlementHeaderMonetarySummation",
    "SpecifiedTradeSettlementMonetarySummation",
];

pub(crate) fn read(root: Node<'_, '_>, syntax: Syntax) -> Result<Invoice, EInvoiceError> {
    let doc = child(root, DOCUMENT);
    let tx = child(root, TRANSACTION);
    let type_code = doc
        .and_then(|d| child(d, &["TypeCode"]))
        .map(crate::tree::text);
    let issue = doc.and_then(|d| descend(d, &[&["IssueDateTime"], &["DateTimeString"]]));
    let settlement = tx.and_then(|t| child(t, SETTLEMENT));
    let currency = string(settlement.and_then(|s| child(s, &["InvoiceCurrencyCode"])));
    let summation = settlement.and_then(|s| child(s, SUMMATION));
    let sum = |name: &str| summation.and_then(|s| child(s, &[name]));
    // Two TaxTotalAmount elements when the tax is also stated in the accounting currency:
    // the invoice currency's is the one (one without currencyID counts as it).
    let tax_total = summation.and_then(|s| {
        let all: Vec<Node> = children(s, &["TaxTotalAmount"]).collect();
        let cur = currency.as_ref().map(|c| c.value.as_str());
        all.iter()
            .find(|n| cur.is_some() && n.attribute("currencyID") == cur)
            .or_else(|| all.iter().find(|n| n.attribute("currencyID").is_none()))
            .or(all.first())
            .copied()
    });
    let seller =
        string(tx.and_then(|t| descend(t, &[AGREEMENT, &["SellerTradeParty"], &["Name"]])));
    Ok(Invoice {
        syntax,
        credit_note: type_code.as_deref().is_some_and(is_credit_note_code),
        type_code,
        number: string(doc.and_then(|d| child(d, &["ID"]))),
        seller,
        issue_date: parsed(issue, "a date (format 102, YYYYMMDD)", date)?,
        currency,
        tax_basis_total: parsed(sum("TaxBasisTotalAmount"), "an amount", amount)?,
        tax_total: parsed(tax_total, "an amount", amount)?,
        grand_total: parsed(sum("GrandTotalAmount"), "an amount", amount)?,
        due_payable: parsed(sum("DuePayableAmount"), "an amount", amount)?,
        line_items: match tx {
            Some(t) => children(t, &["IncludedSupplyChainTradeLineItem"])
                .map(line_item)
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten()
                .collect(),
            None => Vec::new(),
        },
        tax_breakdown: match settlement {
            Some(s) => children(s, &["ApplicableTradeTax"])
                .map(tax_line)
                .collect::<Result<_, _>>()?,
            None => Vec::new(),
        },
    })
}

/// One `ApplicableTradeTax` of the header settlement (ZUGFeRD 1 names the rate
/// `ApplicablePercent`).
fn tax_line(t: Node<'_, '_>) -> Result<TaxLine, EInvoiceError> {
    Ok(TaxLine {
        rate: parsed(
            child(t, &["RateApplicablePercent", "ApplicablePercent"]),
            "a percentage",
            quantity,
        )?,
        base: parsed(child(t, &["BasisAmount"]), "an amount", amount)?,
        amount: parsed(child(t, &["CalculatedAmount"]), "an amount", amount)?,
    })
}

/// A line with a product name or an amount (ZUGFeRD 1 text-only lines have neither).
fn line_item(line: Node<'_, '_>) -> Result<Option<LineItem>, EInvoiceError> {
    let d = |steps: &[Step]| descend(line, steps);
    let item = LineItem {
        description: string(d(&[&["SpecifiedTradeProduct"], &["Name"]])),
        quantity: parsed(
            d(&[
                &[
                    "SpecifiedLineTradeDelivery",
                    "SpecifiedSupplyChainTradeDelivery",
                ],
                &["BilledQuantity"],
            ]),
            "a quantity",
            quantity,
        )?,
        unit_price: parsed(
            d(&[
                &[
                    "SpecifiedLineTradeAgreement",
                    "SpecifiedSupplyChainTradeAgreement",
                ],
                &["NetPriceProductTradePrice"],
                &["ChargeAmount"],
            ]),
            "an amount",
            amount,
        )?,
        amount: parsed(
            d(&[
                &[
                    "SpecifiedLineTradeSettlement",
                    "SpecifiedSupplyChainTradeSettlement",
                ],
                &[
                    "SpecifiedTradeSettlementLineMonetarySummation",
                    "SpecifiedTradeSettlementMonetarySummation",
                ],
                &["LineTotalAmount"],
            ]),
            "an amount",
            amount,
        )?,
    };
    let keep = item.description.is_some() || item.amount.is_some();
    Ok(keep.then_some(item))
}
