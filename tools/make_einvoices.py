"""Write OCRlty's e-invoice fixtures (all invented): CII (Factur-X / ZUGFeRD 2, XRechnung CII,
ZUGFeRD 1.0) and UBL 2.1 (Peppol invoice, XRechnung credit note) in German, French and English,
credit notes among them, plus hostile XML (XXE, entity expansion, malformed, not an invoice).

    python3 tools/make_einvoices.py [OUT_DIR]     (default crates/einvoice/tests/fixtures)

Standard library only; deterministic. `scripts/make-samples` also calls `cii()` to embed the
sample invoice's XML in samples/facturx-muster-buerobedarf.pdf.
"""

import os
import sys
from decimal import Decimal
from xml.sax.saxutils import escape

CII_NS = {
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100",
}
ZF1_NS = {
    "rsm": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
UBL_NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}

MUSTER = {
    "id": "RE-2024-0117", "type": "380", "date": "20240315", "currency": "EUR",
    "guideline": "urn:cen.eu:en16931:2017",
    "seller": "Muster Bürobedarf GmbH", "seller_vat": "DE123456789",
    "buyer": "Beispiel AG",
    "lines": [("Kopierpapier A4 80 g (5 × 500 Blatt)", "4", "24.90", "99.60"),
              ("Tintenpatrone schwarz XL", "2", "38.50", "77.00"),
              ("Ordner breit, blau", "10", "2.95", "29.50"),
              ("Kugelschreiber (10er Pack)", "3", "6.40", "19.20")],
    "taxes": [("19", "225.50", "42.85")],
    "basis": "225.50", "tax": "42.85", "grand": "268.35", "prepaid": "0.00", "due": "268.35",
}

AVOIR_FR = {
    "id": "AV-2024-031", "type": "381", "date": "20240402", "currency": "EUR",
    "guideline": "urn:cen.eu:en16931:2017",
    "seller": "Papeterie   Lefèvre\n  SARL", "seller_vat": "FR40303265045",
    "buyer": "Atelier Moreau",
    "lines": [("Retour : cartouches d'encre", "3", "40.00", "120.00")],
    "taxes": [("20", "120.00", "24.00")],
    "basis": "120.00", "tax": "24.00", "grand": "144.00", "prepaid": "0.00", "due": "144.00",
}

XRECHNUNG_DE = {
    "id": "2024-1187", "type": "380", "date": "20241105", "currency": "EUR",
    "guideline": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
    "seller": "Hotel Seeblick KG", "seller_vat": "DE811569869",
    "buyer": "Stadtverwaltung Musterstadt",
    "lines": [("Übernachtung Einzelzimmer", "2", "89.00", "178.00"),
              ("Seminarpauschale", "1", "250.00", "250.00")],
    "taxes": [("7", "178.00", "12.46"), ("19", "250.00", "47.50")],
    "basis": "428.00", "tax": "59.96", "grand": "487.96", "prepaid": "100.00", "due": "387.96",
    # The tax once more in the accounting currency (BT-111): must not be taken.
    "tax_accounting": ("CHF", "56.37"),
}


def cii(inv):
    """A Factur-X / ZUGFeRD 2.x (EN 16931) CrossIndustryInvoice."""
    ns = " ".join(f'xmlns:{p}="{u}"' for p, u in CII_NS.items())
    lines = []
    for i, (name, qty, price, amount) in enumerate(inv["lines"], 1):
        lines.append(f"""    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:LineID>{i}</ram:LineID></ram:AssociatedDocumentLineDocument>
      <ram:SpecifiedTradeProduct><ram:Name>{escape(name)}</ram:Name></ram:SpecifiedTradeProduct>
      <ram:SpecifiedLineTradeAgreement>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount>{price}</ram:ChargeAmount></ram:NetPriceProductTradePrice>
      </ram:SpecifiedLineTradeAgreement>
      <ram:SpecifiedLineTradeDelivery><ram:BilledQuantity unitCode="H87">{qty}</ram:BilledQuantity></ram:SpecifiedLineTradeDelivery>
      <ram:SpecifiedLineTradeSettlement>
        <ram:SpecifiedTradeSettlementLineMonetarySummation><ram:LineTotalAmount>{amount}</ram:LineTotalAmount></ram:SpecifiedTradeSettlementLineMonetarySummation>
      </ram:SpecifiedLineTradeSettlement>
    </ram:IncludedSupplyChainTradeLineItem>""")
    taxes = "\n".join(f"""      <ram:ApplicableTradeTax>
        <ram:CalculatedAmount>{t}</ram:CalculatedAmount><ram:TypeCode>VAT</ram:TypeCode>
        <ram:BasisAmount>{b}</ram:BasisAmount><ram:CategoryCode>S</ram:CategoryCode>
        <ram:RateApplicablePercent>{r}</ram:RateApplicablePercent>
      </ram:ApplicableTradeTax>""" for r, b, t in inv["taxes"])
    acc = ""
    tax_currency = ""
    if "tax_accounting" in inv:
        cur, amt = inv["tax_accounting"]
        acc = f'\n        <ram:TaxTotalAmount currencyID="{cur}">{amt}</ram:TaxTotalAmount>'
        tax_currency = f"\n      <ram:TaxCurrencyCode>{cur}</ram:TaxCurrencyCode>"
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryInvoice {ns}>
  <rsm:ExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>{inv["guideline"]}</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:ExchangedDocumentContext>
  <rsm:ExchangedDocument>
    <ram:ID>{inv["id"]}</ram:ID>
    <ram:TypeCode>{inv["type"]}</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">{inv["date"]}</udt:DateTimeString></ram:IssueDateTime>
  </rsm:ExchangedDocument>
  <rsm:SupplyChainTradeTransaction>
{chr(10).join(lines)}
    <ram:ApplicableHeaderTradeAgreement>
      <ram:SellerTradeParty>
        <ram:Name>{escape(inv["seller"])}</ram:Name>
        <ram:SpecifiedTaxRegistration><ram:ID schemeID="VA">{inv["seller_vat"]}</ram:ID></ram:SpecifiedTaxRegistration>
      </ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>{escape(inv["buyer"])}</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableHeaderTradeAgreement>
    <ram:ApplicableHeaderTradeDelivery/>
    <ram:ApplicableHeaderTradeSettlement>{tax_currency}
      <ram:InvoiceCurrencyCode>{inv["currency"]}</ram:InvoiceCurrencyCode>
{taxes}
      <ram:SpecifiedTradeSettlementHeaderMonetarySummation>
        <ram:LineTotalAmount>{inv["basis"]}</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount>{inv["basis"]}</ram:TaxBasisTotalAmount>{acc}
        <ram:TaxTotalAmount currencyID="{inv["currency"]}">{inv["tax"]}</ram:TaxTotalAmount>
        <ram:GrandTotalAmount>{inv["grand"]}</ram:GrandTotalAmount>
        <ram:TotalPrepaidAmount>{inv["prepaid"]}</ram:TotalPrepaidAmount>
        <ram:DuePayableAmount>{inv["due"]}</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementHeaderMonetarySummation>
    </ram:ApplicableHeaderTradeSettlement>
  </rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>
"""


def zugferd1():
    """A ZUGFeRD 1.0 COMFORT CrossIndustryDocument, with a text-only line (no product)."""
    ns = " ".join(f'xmlns:{p}="{u}"' for p, u in ZF1_NS.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rsm:CrossIndustryDocument {ns}>
  <rsm:SpecifiedExchangedDocumentContext>
    <ram:GuidelineSpecifiedDocumentContextParameter><ram:ID>urn:ferd:CrossIndustryDocument:invoice:1p0:comfort</ram:ID></ram:GuidelineSpecifiedDocumentContextParameter>
  </rsm:SpecifiedExchangedDocumentContext>
  <rsm:HeaderExchangedDocument>
    <ram:ID>471102</ram:ID>
    <ram:Name>RECHNUNG</ram:Name>
    <ram:TypeCode>380</ram:TypeCode>
    <ram:IssueDateTime><udt:DateTimeString format="102">20140311</udt:DateTimeString></ram:IssueDateTime>
  </rsm:HeaderExchangedDocument>
  <rsm:SpecifiedSupplyChainTradeTransaction>
    <ram:ApplicableSupplyChainTradeAgreement>
      <ram:SellerTradeParty><ram:Name>Lieferant GmbH</ram:Name></ram:SellerTradeParty>
      <ram:BuyerTradeParty><ram:Name>Kunden AG Mitte</ram:Name></ram:BuyerTradeParty>
    </ram:ApplicableSupplyChainTradeAgreement>
    <ram:ApplicableSupplyChainTradeSettlement>
      <ram:InvoiceCurrencyCode>EUR</ram:InvoiceCurrencyCode>
      <ram:SpecifiedTradeSettlementMonetarySummation>
        <ram:LineTotalAmount currencyID="EUR">198.00</ram:LineTotalAmount>
        <ram:TaxBasisTotalAmount currencyID="EUR">198.00</ram:TaxBasisTotalAmount>
        <ram:TaxTotalAmount currencyID="EUR">37.62</ram:TaxTotalAmount>
        <ram:GrandTotalAmount currencyID="EUR">235.62</ram:GrandTotalAmount>
        <ram:DuePayableAmount currencyID="EUR">235.62</ram:DuePayableAmount>
      </ram:SpecifiedTradeSettlementMonetarySummation>
    </ram:ApplicableSupplyChainTradeSettlement>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:AssociatedDocumentLineDocument><ram:IncludedNote><ram:Content>Wir liefern wie vereinbart:</ram:Content></ram:IncludedNote></ram:AssociatedDocumentLineDocument>
    </ram:IncludedSupplyChainTradeLineItem>
    <ram:IncludedSupplyChainTradeLineItem>
      <ram:SpecifiedSupplyChainTradeAgreement>
        <ram:NetPriceProductTradePrice><ram:ChargeAmount currencyID="EUR">9.90</ram:ChargeAmount></ram:NetPriceProductTradePrice>
      </ram:SpecifiedSupplyChainTradeAgreement>
      <ram:SpecifiedSupplyChainTradeDelivery><ram:BilledQuantity unitCode="C62">20.0000</ram:BilledQuantity></ram:SpecifiedSupplyChainTradeDelivery>
      <ram:SpecifiedSupplyChainTradeSettlement>
        <ram:SpecifiedTradeSettlementMonetarySummation><ram:LineTotalAmount currencyID="EUR">198.00</ram:LineTotalAmount></ram:SpecifiedTradeSettlementMonetarySummation>
      </ram:SpecifiedSupplyChainTradeSettlement>
      <ram:SpecifiedTradeProduct><ram:Name>Trennblätter A4</ram:Name></ram:SpecifiedTradeProduct>
    </ram:IncludedSupplyChainTradeLineItem>
  </rsm:SpecifiedSupplyChainTradeTransaction>
</rsm:CrossIndustryDocument>
"""


def ubl(kind, inv):
    """A UBL 2.1 Invoice or CreditNote (Peppol BIS / XRechnung UBL)."""
    root = "Invoice" if kind == "Invoice" else "CreditNote"
    line = "InvoiceLine" if kind == "Invoice" else "CreditNoteLine"
    qty = "InvoicedQuantity" if kind == "Invoice" else "CreditedQuantity"
    code = "InvoiceTypeCode" if kind == "Invoice" else "CreditNoteTypeCode"
    cur = inv["currency"]
    lines = "\n".join(f"""  <cac:{line}>
    <cbc:ID>{i}</cbc:ID>
    <cbc:{qty} unitCode="C62">{q}</cbc:{qty}>
    <cbc:LineExtensionAmount currencyID="{cur}">{a}</cbc:LineExtensionAmount>
    <cac:Item><cbc:Name>{escape(n)}</cbc:Name></cac:Item>
    <cac:Price><cbc:PriceAmount currencyID="{cur}">{p}</cbc:PriceAmount></cac:Price>
  </cac:{line}>""" for i, (n, q, p, a) in enumerate(inv["lines"], 1))
    tax_totals = [f"""  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="{cur}">{inv["tax"]}</cbc:TaxAmount>
  </cac:TaxTotal>"""]
    if "tax_accounting" in inv:
        c, a = inv["tax_accounting"]
        # The accounting-currency total first: the reader must pick by currency, not order.
        tax_totals.insert(0, f"""  <cac:TaxTotal>
    <cbc:TaxAmount currencyID="{c}">{a}</cbc:TaxAmount>
  </cac:TaxTotal>""")
    trading = (f"\n        <cac:PartyName><cbc:Name>{escape(inv['trading'])}</cbc:Name></cac:PartyName>"
               if "trading" in inv else "")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{root} xmlns="urn:oasis:names:specification:ubl:schema:xsd:{root}-2" xmlns:cac="{UBL_NS['cac']}" xmlns:cbc="{UBL_NS['cbc']}">
  <cbc:CustomizationID>{inv["guideline"]}</cbc:CustomizationID>
  <cbc:ID>{inv["id"]}</cbc:ID>
  <cbc:IssueDate>{inv["date"]}</cbc:IssueDate>
  <cbc:{code}>{inv["type"]}</cbc:{code}>
  <cbc:DocumentCurrencyCode>{cur}</cbc:DocumentCurrencyCode>
  <cac:AccountingSupplierParty>
    <cac:Party>{trading}
      <cac:PartyLegalEntity><cbc:RegistrationName>{escape(inv["seller"])}</cbc:RegistrationName></cac:PartyLegalEntity>
    </cac:Party>
  </cac:AccountingSupplierParty>
  <cac:AccountingCustomerParty>
    <cac:Party><cac:PartyLegalEntity><cbc:RegistrationName>{escape(inv["buyer"])}</cbc:RegistrationName></cac:PartyLegalEntity></cac:Party>
  </cac:AccountingCustomerParty>
{chr(10).join(tax_totals)}
  <cac:LegalMonetaryTotal>
    <cbc:LineExtensionAmount currencyID="{cur}">{inv["basis"]}</cbc:LineExtensionAmount>
    <cbc:TaxExclusiveAmount currencyID="{cur}">{inv["basis"]}</cbc:TaxExclusiveAmount>
    <cbc:TaxInclusiveAmount currencyID="{cur}">{inv["grand"]}</cbc:TaxInclusiveAmount>
    <cbc:PrepaidAmount currencyID="{cur}">{inv["prepaid"]}</cbc:PrepaidAmount>
    <cbc:PayableAmount currencyID="{cur}">{inv["due"]}</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
{lines}
</{root}>
"""


PEPPOL_EN = {
    "id": "INV-88213", "type": "380", "date": "2024-05-20", "currency": "GBP",
    "guideline": "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
    "seller": "Northwind Traders Ltd", "trading": "Northwind", "buyer": "Contoso Retail plc",
    "lines": [("Oak desk, 160 cm", "2", "350.00", "700.00"), ("Desk lamp", "4", "75.00", "300.00")],
    "basis": "1000.00", "tax": "200.00", "grand": "1200.00", "prepaid": "500.00", "due": "700.00",
    "tax_accounting": ("EUR", "234.80"),
}
GUTSCHRIFT_DE = {
    "id": "GS-2024-0042", "type": "381", "date": "2024-07-01", "currency": "EUR",
    "guideline": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
    "seller": "Elektro Schmidt e.K.", "buyer": "Hausverwaltung Krause GmbH",
    "lines": [("Gutschrift Rücksendung LED-Panel", "5", "42.00", "210.00")],
    "basis": "210.00", "tax": "39.90", "grand": "249.90", "prepaid": "0.00", "due": "249.90",
}

HOSTILE = {
    "hostile-xxe.xml": """<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&xxe;</ID></Invoice>
""",
    "hostile-entity-expansion.xml": "<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n <!ENTITY lol \"lol\">\n"
    + "".join(f" <!ENTITY lol{i} \"{('&lol' + (str(i - 1) if i > 1 else '') + ';') * 10}\">\n" for i in range(1, 10))
    + "]>\n<rsm:CrossIndustryInvoice xmlns:rsm=\"urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100\">&lol9;</rsm:CrossIndustryInvoice>\n",
    "hostile-truncated.xml": cii(MUSTER)[:900],
    "not-an-invoice.xml": "<?xml version=\"1.0\"?>\n<Order xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Order-2\"><ID>1</ID></Order>\n",
    "bad-amount.xml": cii(MUSTER).replace("<ram:GrandTotalAmount>268.35<", "<ram:GrandTotalAmount>268,35 EUR<"),
}


def main():
    main_to(sys.argv[1] if len(sys.argv) > 1 else os.path.join("crates", "einvoice", "tests", "fixtures"))


def main_to(out):
    os.makedirs(out, exist_ok=True)
    files = {
        "cii-facturx-de-rechnung.xml": cii(MUSTER),
        "cii-facturx-fr-avoir.xml": cii(AVOIR_FR),
        "cii-xrechnung-de-zwei-steuersaetze.xml": cii(XRECHNUNG_DE),
        "zugferd1-de-rechnung.xml": zugferd1(),
        "ubl-peppol-en-invoice.xml": ubl("Invoice", PEPPOL_EN),
        "ubl-xrechnung-de-gutschrift.xml": ubl("CreditNote", GUTSCHRIFT_DE),
        **HOSTILE,
    }
    for name, text in files.items():
        with open(os.path.join(out, name), "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    assert Decimal(MUSTER["basis"]) + Decimal(MUSTER["tax"]) == Decimal(MUSTER["grand"])
    print(f"{len(files)} e-invoice fixtures written to {out}")


if __name__ == "__main__":
    main()
