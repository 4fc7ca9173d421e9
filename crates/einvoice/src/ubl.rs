//! OASIS UBL 2.1 `Invoice` and `CreditNote` (XRechnung UBL, Peppol BIS Billing 3.0).

use roxmltree::Node;

use crate::tree::{Step, child, children, descend, parsed, string};
use crate::{
    EInvoiceError, Invoice, LineItem, Syntax, TaxLine, amount, date, is_credit_note_code, quantity,
};

pub(crate) fn read(root: Node<'_, '_>, syntax: Syntax) -> Result<Invoice, EInvoiceError> {
    let type_code = child(root, &["InvoiceTypeCode", "CreditNoteTypeCode"]).map(crate::tree::text);
    let currency = string(child(root, &["DocumentCurrencyCode"]));
    let cur = currency.as_ref().map(|c| c.value.clone());
    let party = descend(root, &[&["AccountingSupplierParty"], &["Party"]]);
    // The seller's name is the legal registration name (BT-27); the trading name (BT-28) only
    // where no legal name is given.
    let seller = party.and_then(|p| {
        string(descend(p, &[&["PartyLegalEntity"], &["RegistrationName"]]))
            .or_else(|| string(descend(p, &[&["PartyName"], &["Name"]])))
    });
    // One TaxTotal per currency: the document currency's (or the one with subtotals).
    let tax_totals: Vec<Node> = children(root, &["TaxTotal"]).collect();
    let amounts: Vec<Node> = tax_totals
        .iter()
        .filter_map(|t| child(*t, &["TaxAmount"]))
        .collect();
    let tax = amounts
        .iter()
        .find(|a| cur.is_some() && a.attribute("currencyID") == cur.as_deref())
        .or(amounts.first())
        .copied();
    let totals = child(root, &["LegalMonetaryTotal"]);
    let total = |name: &str| totals.and_then(|t| child(t, &[name]));
    let line_names: Step = &["InvoiceLine", "CreditNoteLine"];
    Ok(Invoice {
        syntax,
        credit_note: syntax == Syntax::UblCreditNote
            || type_code.as_deref().is_some_and(is_credit_note_code),
        type_code,
        number: string(child(root, &["ID"])),
        seller,
        issue_date: parsed(child(root, &["IssueDate"]), "a date (YYYY-MM-DD)", date)?,
        currency,
        tax_basis_total: parsed(total("TaxExclusiveAmount"), "an amount", amount)?,
        tax_total: parsed(tax, "an amount", amount)?,
        grand_total: parsed(total("TaxInclusiveAmount"), "an amount", amount)?,
        due_payable: parsed(total("PayableAmount"), "an amount", amount)?,
        line_items: children(root, line_names)
            .map(line_item)
            .collect::<Result<_, _>>()?,
        // The subtotals of the TaxTotal the tax amount came from (the document currency's).
        tax_breakdown: tax
            .and_then(|a| a.parent())
            .map(|total| {
                children(total, &["TaxSubtotal"])
                    .map(tax_line)
                    .collect::<Result<_, _>>()
            })
            .transpose()?
            .unwrap_or_default(),
    })
}

fn tax_line(t: Node<'_, '_>) -> Result<TaxLine, EInvoiceError> {
    Ok(TaxLine {
        rate: parsed(
            descend(t, &[&["TaxCategory"], &["Percent"]]),
            "a percentage",
            quantity,
        )?,
        base: parsed(child(t, &["TaxableAmount"]), "an amount", amount)?,
        amount: parsed(child(t, &["TaxAmount"]), "an amount", amount)?,
    })
}

fn line_item(line: Node<'_, '_>) -> Result<LineItem, EInvoiceError> {
    Ok(LineItem {
        description: string(descend(line, &[&["Item"], &["Name"]])),
        quantity: parsed(
            child(line, &["InvoicedQuantity", "CreditedQuantity"]),
            "a quantity",
            quantity,
        )?,
        unit_price: parsed(
            descend(line, &[&["Price"], &["PriceAmount"]]),
            "an amount",
            amount,
        )?,
        amount: parsed(child(line, &["LineExtensionAmount"]), "an amount", amount)?,
    })
}
