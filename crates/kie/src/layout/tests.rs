use super::*;
use ocr_document::{DocPage, DocWord, PageSource};

/// A page from rows of (x, text) at 40 px pitch; words 10 px per character.
fn page(rows: &[&[(f32, &str)]]) -> OcrDocument {
    let mut words = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let y = 20.0 + 40.0 * r as f32;
        for (x, text) in row.iter() {
            let mut x = *x;
            for w in text.split(' ') {
                let wdt = 10.0 * w.chars().count() as f32;
                words.push(DocWord {
                    text: w.into(),
                    bbox: [x, y, x + wdt, y + 20.0],
                    conf: 0.98,
                });
                x += wdt + 8.0;
            }
        }
    }
    OcrDocument {
        pages: vec![DocPage::from_words(
            0,
            600,
            40 * rows.len() as u32 + 40,
            PageSource::Ocr,
            words,
        )],
    }
}

fn opts() -> ExtractOptions {
    ExtractOptions {
        rules: rules::RuleContext {
            today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date"),
            ..rules::RuleContext::default()
        },
        fields: None,
        lists: None,
        page_images: Vec::new(),
    }
}

#[test]
fn amounts_as_ocr_breaks_them() {
    let doc = page(&[
        &[(100.0, "CORNER CAFE")],
        &[(20.0, "Coffee"), (450.0, "4.50")],
        &[(20.0, "Cake"), (450.0, "5.20")],
        &[(20.0, "Price/G: $ 2.619")],
        &[(20.0, "Tax"), (450.0, "0:58")],
        &[(20.0, "Grand Tota1RM10.28")],
        &[(20.0, "Change"), (450.0, "-50. 00")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    // The amount run into its label, read with the label.
    assert_eq!(out.total.value.as_deref(), Some("10.28"));
    assert_eq!(
        out.total.evidence.as_ref().map(|e| e.text.as_str()),
        Some("RM10.28")
    );
    // A decimal mark read as `:`, taken beside an amount label only.
    assert_eq!(out.tax_amount.value.as_deref(), Some("0.58"));

    // An amount split after its decimal mark; a three-decimal price is not money here.
    let doc = page(&[
        &[(100.0, "CORNER CAFE")],
        &[(20.0, "Coffee"), (450.0, "4.50")],
        &[(20.0, "Fuel 10.889 gal @ $ 2.619")],
        &[(20.0, "Total"), (450.0, "5. 75")],
        &[(20.0, "Cash"), (450.0, "20.00")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("5.75"));
    let doc = page(&[
        &[(100.0, "CORNER CAFE")],
        &[(20.0, "Coffee 4.50"), (300.0, "5.00"), (450.0, "9.50")],
        &[(20.0, "Fuel 10.889 gal @ $ 2.619")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(
        out.total.value.as_deref(),
        Some("9.50"),
        "no 10889 nor 2619"
    );
    // A number before `%` is a rate.
    let doc = page(&[
        &[(20.0, "Happy hour 50.00 %")],
        &[(20.0, "Coffee"), (450.0, "3.00")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("3.00"));
}

#[test]
fn merchant_names_with_their_trade() {
    // The name proper over its trade, both large: joined.
    let doc = page(&[
        &[(200.0, "Iron Horse")],
        &[(220.0, "Tavern")],
        &[(20.0, "Check: 65")],
        &[(20.0, "Total"), (450.0, "9.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.merchant.value.as_deref(), Some("Iron Horse Tavern"));
    // A logo read as a word does not beat a name with its trade; a ZIP line is a place;
    // a TIP in the name is no tip label.
    let doc = page(&[
        &[(500.0, "IBER The")],
        &[(200.0, "Tip Top Meats")],
        &[(200.0, "CARLSBAD, CA 92011")],
        &[(20.0, "Total"), (450.0, "9.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.merchant.value.as_deref(), Some("Tip Top Meats"));
}

#[test]
fn two_label_columns_on_a_row_and_total_column_headings() {
    let doc = page(&[
        &[(20.0, "Coolblue B.V.")],
        &[(20.0, "Omschrijving"), (300.0, "Price Subtotal")],
        &[(20.0, "Laptop"), (300.0, "593,36")],
        &[
            (20.0, "Exclusief BTW"),
            (160.0, "€ 593,36"),
            (300.0, "Subtotaal"),
            (450.0, "€ 717,97"),
        ],
        &[(20.0, "BTW 21%"), (160.0, "€ 124,61")],
        &[(300.0, "Totaal"), (450.0, "€ 717,97")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.subtotal.value.as_deref(), Some("593.36"));
    assert_eq!(out.tax_amount.value.as_deref(), Some("124.61"));
    assert_eq!(out.total.value.as_deref(), Some("717.97"));
}

#[test]
fn an_earlier_total_raised_by_a_printed_amount_is_the_subtotal() {
    let doc = page(&[
        &[(100.0, "RISTORANTE CIAO BELLA")],
        &[(20.0, "Pesce del giorno"), (450.0, "300,00")],
        &[(20.0, "Vino"), (450.0, "142,00")],
        &[(20.0, "Totale"), (450.0, "442,00")],
        &[(450.0, "53,00")],
        &[(20.0, "Totale EURO"), (450.0, "495,00")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("495.00"));
    assert_eq!(out.subtotal.value.as_deref(), Some("442.00"));
    assert!(out.subtotal.confidence <= 0.5);
}

#[test]
fn of_two_amounts_touching_a_skewed_row_the_level_one() {
    let w = |text: &str, x: f32, y: f32, h: f32| DocWord {
        text: text.into(),
        bbox: [x, y, x + 10.0 * text.chars().count() as f32, y + h],
        conf: 0.98,
    };
    // The taller value column sits 10 px above the labels: each label row touches two
    // amounts of it, and the rightmost of them is not the label's.
    let words = vec![
        w("CORNER", 100.0, 20.0, 20.0),
        w("CAFE", 170.0, 20.0, 20.0),
        w("Subtotal", 20.0, 100.0, 20.0),
        w("9.70", 450.0, 90.0, 24.0),
        w("Tax", 20.0, 120.0, 20.0),
        w("0.60", 451.0, 110.0, 24.0),
        w("Total", 20.0, 140.0, 20.0),
        w("10.30", 450.0, 130.0, 24.0),
    ];
    let doc = OcrDocument {
        pages: vec![DocPage::from_words(0, 600, 200, PageSource::Ocr, words)],
    };
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.tax_amount.value.as_deref(), Some("0.60"));
    assert_eq!(out.subtotal.value.as_deref(), Some("9.70"));
    assert_eq!(out.total.value.as_deref(), Some("10.30"));
}

#[test]
fn an_unlabelled_amount_closing_the_sum_is_the_tax_at_low_confidence() {
    let rows = |middle: &'static str| {
        page(&[
            &[(100.0, "Transmetropolitan")],
            &[(20.0, "1 Veg Med"), (450.0, "14.85")],
            &[(20.0, "Diet Coke"), (450.0, "1.75")],
            &[(300.0, "SubTotal:"), (450.0, "16.60")],
            &[(300.0, middle), (450.0, "1.16")],
            &[(300.0, "Total:"), (450.0, "17.76")],
        ])
    };
    let out = LayoutBackend
        .extract(&rows("Sales:"), &opts())
        .expect("extracts");
    assert_eq!(out.tax_amount.value.as_deref(), Some("1.16"));
    assert!(out.tax_amount.confidence <= 0.45);
    // The same receipt with its tax labelled: the sum confirms the total; inferred, it
    // must not.
    let labelled = LayoutBackend
        .extract(&rows("Sales Tax:"), &opts())
        .expect("extracts");
    assert!(out.total.confidence < labelled.total.confidence);
    // An amount with a label of its own is not taken for the tax.
    let service = LayoutBackend
        .extract(&rows("Gratuity"), &opts())
        .expect("extracts");
    assert_eq!(service.tax_amount.value, None);
}

#[test]
fn the_total_is_the_amount_payable_after_rounding() {
    let doc = page(&[
        &[(100.0, "ONE ONE THREE SEAFOOD RESTAURANT SDN BHD")],
        &[(20.0, "Total (Excluding GST):"), (450.0, "62.00")],
        &[(20.0, "GST 6%"), (450.0, "3.72")],
        &[(20.0, "Total (Inclusive of GST):"), (450.0, "65.72")],
        &[(20.0, "Rounding Adj"), (450.0, "-0.02")],
        &[(20.0, "TOTAL:"), (450.0, "65.70")],
        &[(20.0, "CASH :"), (450.0, "65.70")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("65.70"));
    assert_eq!(out.subtotal.value.as_deref(), Some("62.00"));
    // Without a rounding line the larger total that adds up stays.
    let doc = page(&[
        &[(100.0, "CORNER CAFE")],
        &[(20.0, "Subtotal"), (450.0, "62.00")],
        &[(20.0, "GST 6%"), (450.0, "3.72")],
        &[(20.0, "Total"), (450.0, "65.72")],
        &[(20.0, "Item count"), (450.0, "65.70")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("65.72"));
}

#[test]
fn the_trading_name_not_the_owner() {
    let doc = page(&[
        &[(100.0, "CORNER STATIONERY SHOP")],
        &[(60.0, "NO. 31G, JALAN SETIA INDAH")],
        &[(60.0, "Owned By :")],
        &[(60.0, "CORNER SUPPLY SDN BHD (1135772-K)")],
        &[(20.0, "Total"), (450.0, "9.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(
        out.merchant.value.as_deref(),
        Some("CORNER STATIONERY SHOP")
    );
}

#[test]
fn the_subtotal_that_adds_up_wins() {
    let doc = page(&[
        &[(100.0, "SUBWAY")],
        &[(20.0, "Sub Total"), (450.0, "7.24")],
        &[(20.0, "Taxable Amount"), (450.0, "6.09")],
        &[(20.0, "Sales Tax (7.75%)"), (450.0, "0.47")],
        &[(20.0, "Total"), (450.0, "7.71")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.subtotal.value.as_deref(), Some("7.24"));
    assert_eq!(out.tax_amount.value.as_deref(), Some("0.47"));
    assert_eq!(out.total.value.as_deref(), Some("7.71"));
}

#[test]
fn a_malaysian_receipt() {
    let doc = page(&[
        &[(100.0, "KEDAI RUNCIT MAJU SDN BHD")],
        &[(120.0, "(1234567-X)")],
        &[(60.0, "NO 12, JALAN MAJU 3, 43000 KAJANG")],
        &[(60.0, "Tel: 03-1234 5678")],
        &[(200.0, "TAX INVOICE")],
        &[(20.0, "Date: 25/12/2018 8:13 PM")],
        &[(20.0, "Milo 1kg"), (450.0, "18.90")],
        &[(20.0, "Total Qty: 3")],
        &[(20.0, "SUBTOTAL"), (450.0, "61.79")],
        &[(20.0, "SST 6%"), (450.0, "3.71")],
        &[(20.0, "TOTAL (RM)"), (450.0, "65.50")],
        &[(20.0, "CASH"), (450.0, "100.00")],
        &[(20.0, "CHANGE"), (450.0, "34.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("65.50"));
    assert_eq!(out.subtotal.value.as_deref(), Some("61.79"));
    assert_eq!(out.tax_amount.value.as_deref(), Some("3.71"));
    assert_eq!(out.date.value.as_deref(), Some("2018-12-25"));
    assert_eq!(out.currency.value.as_deref(), Some("MYR"));
    assert_eq!(
        out.merchant.value.as_deref(),
        Some("KEDAI RUNCIT MAJU SDN BHD")
    );
    // The one item printed (of the three counted) does not make the subtotal.
    let codes: Vec<&str> = out.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["mismatch.line_items"], "{:?}", out.warnings);
    assert_eq!(out.line_items.len(), 1);
    assert!(out.total.confidence > 0.8);
    let e = out.total.evidence.as_ref().expect("evidence");
    assert_eq!(e.text, "65.50");
    assert_eq!(e.page, 0);
}

#[test]
fn without_a_subtotal_line_it_is_inferred_at_low_confidence_and_confirms_nothing() {
    let rows: [&[(f32, &str)]; 4] = [
        &[(20.0, "Corner Cafe")],
        &[(20.0, "Latte"), (300.0, "4.50")],
        &[(20.0, "Cookie"), (300.0, "2.00")],
        &[(20.0, "TOTAL"), (300.0, "6.50")],
    ];
    let out = LayoutBackend
        .extract(&page(&rows), &opts())
        .expect("extracts");
    assert_eq!(out.subtotal.value.as_deref(), Some("6.50"));
    assert!(
        out.subtotal.confidence <= 0.35,
        "{}",
        out.subtotal.confidence
    );
    let mut with_line = rows.to_vec();
    with_line.insert(3, &[(20.0, "SUBTOTAL"), (300.0, "6.50")]);
    let printed = LayoutBackend
        .extract(&page(&with_line), &opts())
        .expect("extracts");
    assert!(
        out.total.confidence < printed.total.confidence,
        "an inferred subtotal must not raise the total's confidence"
    );
    // Tax printed, no subtotal line: total less tax, when that amount is on the page.
    let taxed = page(&[
        &[(20.0, "Corner Cafe")],
        &[(20.0, "Net"), (300.0, "10.00")],
        &[(20.0, "VAT 20%"), (300.0, "2.00")],
        &[(20.0, "TOTAL"), (300.0, "12.00")],
    ]);
    let out = LayoutBackend.extract(&taxed, &opts()).expect("extracts");
    assert_eq!(out.tax_amount.value.as_deref(), Some("2.00"));
    assert_eq!(out.subtotal.value.as_deref(), Some("10.00"));
    assert_eq!(
        out.subtotal.evidence.as_ref().map(|e| e.text.as_str()),
        Some("10.00")
    );
}

#[test]
fn merchant_lines_that_are_whole_names_are_not_joined_to_a_note_above() {
    let doc = page(&[
        &[(20.0, "tan chay yee")],
        &[(20.0, "ABC HO TRADING")],
        &[(20.0, "No.2&4, JALAN HARMONI 3/2")],
        &[(20.0, "TOTAL"), (300.0, "6.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.merchant.value.as_deref(), Some("ABC HO TRADING"));
    // A name split before its legal form is still joined.
    let doc = page(&[
        &[(20.0, "CT281 - TEALIVE SHELL KEPONG")],
        &[(20.0, "OTTOGO ENTERPRISE")],
        &[(20.0, "TOTAL"), (300.0, "6.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(
        out.merchant.value.as_deref(),
        Some("CT281 - TEALIVE SHELL KEPONG OTTOGO ENTERPRISE")
    );
    let doc = page(&[
        &[(20.0, "Amazon Web Services Invoice")],
        &[(20.0, "TOTAL"), (300.0, "6.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.merchant.value.as_deref(), Some("Amazon Web Services"));
}

#[test]
fn currency_evidence_is_not_a_code_inside_a_receipt_number() {
    let doc = page(&[
        &[(100.0, "KEDAI RUNCIT MAJU SDN BHD")],
        &[(20.0, "Invoice No: KRM-000482")],
        &[(20.0, "TOTAL (RM)"), (450.0, "65.50")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.currency.value.as_deref(), Some("MYR"));
    let e = out.currency.evidence.as_ref().expect("evidence");
    assert_eq!(e.text, "(RM)");
}

#[test]
fn a_german_invoice_with_values_below_labels_and_a_due_date() {
    let doc = page(&[
        &[(20.0, "Muster Bürobedarf"), (400.0, "Rechnung")],
        &[(20.0, "GmbH")],
        &[(20.0, "Hauptstraße 5, 10115 Berlin")],
        &[(20.0, "Rechnungsdatum:"), (300.0, "Fällig am:")],
        &[(20.0, "15.03.2024"), (300.0, "14.04.2024")],
        &[(20.0, "Pos. Beschreibung Menge Einzelpreis Betrag")],
        &[(20.0, "1 Papier"), (300.0, "4"), (450.0, "99,60 €")],
        &[(20.0, "Nettobetrag"), (450.0, "225,80 €")],
        &[(20.0, "MwSt. 19 %"), (450.0, "42,90 €")],
        &[(20.0, "Gesamtbetrag"), (450.0, "268,70 €")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("268.70"));
    assert_eq!(out.subtotal.value.as_deref(), Some("225.80"));
    assert_eq!(out.tax_amount.value.as_deref(), Some("42.90"));
    assert_eq!(out.currency.value.as_deref(), Some("EUR"));
    assert_eq!(out.date.value.as_deref(), Some("2024-03-15"));
    assert_eq!(
        out.merchant.value.as_deref(),
        Some("Muster Bürobedarf GmbH")
    );
}

#[test]
fn an_e_invoice_rendering_gives_the_labelled_seller_and_the_headings_date() {
    let doc = page(&[
        &[(
            20.0,
            "Stylesheet zur Lesbarmachung der XML-Daten von ZUGFeRD-Rechnungen",
        )],
        &[(20.0, "ZUGFeRD-Version: 2.1 vom 24.03.2020")],
        &[(20.0, "Handelsrechnung Nr. 280081 vom 13.07.2018")],
        &[(
            20.0,
            "Liefer-/Leistungszeitraum : 09.07.2018 bis 11.07.2018",
        )],
        &[(20.0, "Verkäufer:")],
        &[(20.0, "Globale Nummer: 4000001123452 (GTIN)")],
        &[(20.0, "Lieferant GmbH")],
        &[(20.0, "Lieferantenstraße 20")],
        &[(20.0, "Käufer:")],
        &[(20.0, "Kunden AG Mitte")],
        &[(20.0, "Rechnungssumme ohne USt."), (500.0, "214,09")],
        &[(20.0, "Steuerbetrag"), (500.0, "16,39")],
        &[(20.0, "Bruttosumme"), (500.0, "230,48")],
        &[(20.0, "Erhaltene Anzahlungen"), (500.0, "-100,00")],
        &[(20.0, "Zahlbetrag"), (500.0, "130,48")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.merchant.value.as_deref(), Some("Lieferant GmbH"));
    assert_eq!(out.date.value.as_deref(), Some("2018-07-13"));
    assert_eq!(out.subtotal.value.as_deref(), Some("214.09"));
    assert_eq!(out.tax_amount.value.as_deref(), Some("16.39"));
    assert_eq!(out.total.value.as_deref(), Some("230.48"));
}

#[test]
fn a_name_key_beside_its_value_and_a_name_begun_above_it() {
    let doc = page(&[
        &[(
            20.0,
            "Rechnung des Versicherers Nr. 7-2018-1 vom 11.03.2018",
        )],
        &[(20.0, "Verkäufer")],
        &[(20.0, "Nummer:"), (300.0, "549910")],
        &[(300.0, "MVM Musterhafter")],
        &[
            (20.0, "Name:"),
            (300.0, "Versicherungsverein Musterstadt a.G."),
        ],
        &[(20.0, "Anschrift:"), (300.0, "Musterstr. 12")],
        &[(20.0, "Käufer/Leistungsempfänger")],
        &[(20.0, "Name:"), (300.0, "Max Mustermann")],
        &[(20.0, "Gesamtbetrag"), (500.0, "220,00")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(
        out.merchant.value.as_deref(),
        Some("MVM Musterhafter Versicherungsverein Musterstadt a.G.")
    );
    assert_eq!(out.date.value.as_deref(), Some("2018-03-11"));
    // The seller on the label's own line, and a kerned label from a text layer.
    let doc = page(&[
        &[(20.0, "Ver käufer: Grundbesitz GmbH & Co.")],
        &[(20.0, "Total"), (500.0, "10.00")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(
        out.merchant.value.as_deref(),
        Some("Grundbesitz GmbH & Co.")
    );
}

#[test]
fn a_tax_table_with_its_headings_over_the_values() {
    // One rate and a sum row (Dutch): only the total has a label beside it.
    let doc = page(&[
        &[(20.0, "Strategic Corp")],
        &[(20.0, "Onderhoudsset"), (560.0, "49,99")],
        &[(300.0, "Factuur totaal EUR"), (560.0, "49,99")],
        &[
            (200.0, "BTW %"),
            (300.0, "Grondslag"),
            (420.0, "BTW bedrag"),
            (560.0, "Totaal"),
        ],
        &[
            (200.0, "21 %"),
            (300.0, "41,31"),
            (420.0, "8,68"),
            (560.0, "49,99"),
        ],
        &[(300.0, "41,31"), (420.0, "8,68"), (560.0, "49,99")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("49.99"));
    assert_eq!(out.subtotal.value.as_deref(), Some("41.31"));
    assert_eq!(out.tax_amount.value.as_deref(), Some("8.68"));
    assert_eq!(
        out.tax_amount.evidence.as_ref().map(|e| e.text.as_str()),
        Some("8,68")
    );
    // Two rates and no sum row: the rows added up.
    let doc = page(&[
        &[(20.0, "Lieferant GmbH")],
        &[
            (20.0, "Art"),
            (300.0, "Basisbetrag"),
            (450.0, "USt. %"),
            (560.0, "Steuerbetrag"),
        ],
        &[
            (20.0, "Umsatzsteuer"),
            (300.0, "202,33"),
            (450.0, "7"),
            (560.0, "14,16"),
        ],
        &[
            (20.0, "Umsatzsteuer"),
            (300.0, "11,76"),
            (450.0, "19"),
            (560.0, "2,23"),
        ],
        &[(20.0, "Gesamtbetrag"), (560.0, "230,48")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("230.48"));
    assert_eq!(out.subtotal.value.as_deref(), Some("214.09"));
    assert_eq!(out.tax_amount.value.as_deref(), Some("16.39"));
}

#[test]
fn credit_notes_come_out_negative_and_self_billed_invoices_do_not() {
    let rows = |heading: &'static str| {
        page(&[
            &[(20.0, "Papeterie Lefèvre SARL")],
            &[(20.0, heading)],
            &[(20.0, "Total HT"), (500.0, "120,00 €")],
            &[(20.0, "TVA 20 %"), (500.0, "24,00 €")],
            &[(20.0, "Total TTC"), (500.0, "144,00 €")],
        ])
    };
    for heading in [
        "Avoir n° AV-2024-031",
        "Credit Note CN-7",
        "Rechnungskorrektur zu RE-17",
    ] {
        let out = LayoutBackend
            .extract(&rows(heading), &opts())
            .expect("extracts");
        assert_eq!(out.total.value.as_deref(), Some("-144.00"), "{heading}");
        assert_eq!(out.subtotal.value.as_deref(), Some("-120.00"), "{heading}");
        assert_eq!(out.tax_amount.value.as_deref(), Some("-24.00"), "{heading}");
        assert!(
            out.warnings.iter().any(|w| w.code == "credit_note"),
            "{heading}"
        );
        assert!(!out.warnings.iter().any(|w| w.code.starts_with("negative.")));
    }
    let out = LayoutBackend
        .extract(
            &rows("Gutschrift (Selbst ausgestellte Rechnung) Nr. 4711"),
            &opts(),
        )
        .expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("144.00"));
    let out = LayoutBackend
        .extract(&rows("Facture n° 2024-031"), &opts())
        .expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("144.00"));
}

#[test]
fn the_payee_is_the_seller_where_the_top_names_the_customer() {
    let doc = page(&[
        &[(400.0, "ALEXINUX")],
        &[(400.0, "27 rue Henri Rolland")],
        &[(20.0, "Facture n° 2022089083")],
        &[(20.0, "Total TTC :"), (500.0, "56,02 €")],
        &[(
            20.0,
            "BRED BANQUE POPULAIRE – Titulaire du compte : NETPRESSE",
        )],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.merchant.value.as_deref(), Some("NETPRESSE"));
    assert_eq!(
        crate::labels::payee_name("Payment received by OYO"),
        Some("OYO")
    );
    assert_eq!(crate::labels::payee_name("Paid through Cash"), None);
}

#[test]
fn no_total_label_is_a_low_confidence_guess_and_empty_is_an_error() {
    let doc = page(&[
        &[(20.0, "Corner Cafe")],
        &[(20.0, "Latte"), (300.0, "4.50")],
        &[(20.0, "Cookie"), (300.0, "2.00")],
    ]);
    let out = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("4.50"));
    assert!(out.total.confidence < 0.4);
    assert_eq!(
        out.currency.value, None,
        "no currency evidence, none invented"
    );
    assert!(matches!(
        LayoutBackend.extract(&OcrDocument::default(), &opts()),
        Err(KieError::EmptyDocument)
    ));
}

#[test]
fn only_wanted_fields_are_returned() {
    let doc = page(&[&[(20.0, "TOTAL"), (300.0, "RM 9.00")]]);
    let o = ExtractOptions {
        fields: Some(vec![FieldName::Total]),
        ..opts()
    };
    let out = LayoutBackend.extract(&doc, &o).expect("extracts");
    assert_eq!(out.total.value.as_deref(), Some("9.00"));
    assert_eq!(out.currency.value, None);
}

#[test]
fn a_currency_in_parentheses_before_the_amount_is_not_a_sign() {
    // Amounts right after their labels, the total's currency in parentheses: `(RM) 65.50` is
    // a positive total, not an accounting negative.
    let doc = page(&[
        &[(20.0, "KEDAI RUNCIT MAJU JAYA SDN BHD")],
        &[(20.0, "Date: 14/03/2024 10:42")],
        &[(20.0, "Sub Total 61.80")],
        &[(20.0, "SST 6% 3.71")],
        &[(20.0, "Rounding -0.01")],
        &[(20.0, "TOTAL (RM) 65.50")],
        &[(20.0, "Cash 70.00")],
        &[(20.0, "Change 4.50")],
    ]);
    let x = extract(&doc, &ExtractOptions::default());
    assert_eq!(x.total.value.as_deref(), Some("65.50"));
    assert_eq!(x.subtotal.value.as_deref(), Some("61.80"));
    assert_eq!(x.tax_amount.value.as_deref(), Some("3.71"));
    assert_eq!(x.currency.value.as_deref(), Some("MYR"));
}

/// An item's description, quantity, unit price and amount.
type ItemValues<'a> = (
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
    Option<&'a str>,
);

fn items_of(x: &Extraction) -> Vec<ItemValues<'_>> {
    x.line_items
        .iter()
        .map(|i| {
            (
                i.description.as_deref(),
                i.quantity.as_deref(),
                i.unit_price.as_deref(),
                i.amount.as_deref(),
            )
        })
        .collect()
}

#[test]
fn receipt_items_between_the_header_and_the_totals() {
    let doc = page(&[
        &[(20.0, "CORNER CAFE")],
        &[(20.0, "12 Main St")],
        &[(20.0, "Cappuccino"), (480.0, "4.50")],
        &[(20.0, "2 x Croissant"), (480.0, "6.00")],
        &[(20.0, "Bottle deposit"), (480.0, "0.25")],
        &[(20.0, "Discount"), (480.0, "1.00-")],
        &[(20.0, "SUBTOTAL"), (480.0, "9.75")],
        &[(20.0, "TAX 8%"), (480.0, "0.78")],
        &[(20.0, "TOTAL"), (480.0, "10.53")],
    ]);
    let x = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(
        items_of(&x),
        [
            (Some("Cappuccino"), None, None, Some("4.50")),
            (Some("Croissant"), Some("2"), None, Some("6.00")),
            (Some("Bottle deposit"), None, None, Some("0.25")),
            (Some("Discount"), None, None, Some("-1.00")),
        ]
    );
    assert!(
        x.warnings.iter().all(|w| w.code != "mismatch.line_items"),
        "they add up to the subtotal: {:?}",
        x.warnings
    );
    assert!(x.line_items.iter().all(|i| i.confidence > 0.6));
    // Each item is boxed on its row.
    let e = x.line_items[1].evidence.as_ref().expect("evidence");
    assert_eq!(e.page, 0);
    assert!(
        e.text.contains("Croissant") && e.text.contains("6.00"),
        "{}",
        e.text
    );
    // The tax line that prints its rate is the breakdown.
    assert_eq!(x.tax_breakdown.len(), 1);
    assert_eq!(x.tax_breakdown[0].rate.as_deref(), Some("8"));
    assert_eq!(x.tax_breakdown[0].amount.as_deref(), Some("0.78"));
}

#[test]
fn invoice_items_under_their_header_with_wrapped_descriptions() {
    let doc = page(&[
        &[(20.0, "ACME GmbH")],
        &[
            (20.0, "Pos"),
            (60.0, "Beschreibung"),
            (300.0, "Menge"),
            (380.0, "Preis"),
            (480.0, "Betrag"),
        ],
        &[
            (20.0, "1"),
            (60.0, "Beratung"),
            (300.0, "3"),
            (380.0, "100,00"),
            (480.0, "300,00"),
        ],
        &[(60.0, "vor Ort")],
        &[
            (20.0, "2"),
            (60.0, "Reisekosten"),
            (300.0, "1"),
            (380.0, "50,00"),
            (480.0, "50,00"),
        ],
        &[(20.0, "Nettobetrag"), (480.0, "350,00")],
        &[(20.0, "MwSt 19%"), (480.0, "66,50")],
        &[(20.0, "Gesamtbetrag"), (480.0, "416,50")],
    ]);
    let x = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(
        items_of(&x),
        [
            (
                Some("Beratung vor Ort"),
                Some("3"),
                Some("100.00"),
                Some("300.00")
            ),
            (Some("Reisekosten"), Some("1"), Some("50.00"), Some("50.00")),
        ]
    );
    // quantity × price = amount, and the items make the subtotal.
    assert!(
        x.line_items.iter().all(|i| i.confidence > 0.85),
        "{:?}",
        x.line_items
    );
    let e = x.line_items[0].evidence.as_ref().expect("evidence");
    assert!(
        e.text.contains("vor Ort"),
        "the wrapped line is in the box: {}",
        e.text
    );
}

#[test]
fn items_that_do_not_add_up_are_flagged_and_lists_can_be_left_out() {
    let doc = page(&[
        &[(20.0, "Tea"), (480.0, "3.00")],
        &[(20.0, "Cake"), (480.0, "4.00")],
        &[(20.0, "TOTAL"), (480.0, "9.00")],
    ]);
    let x = LayoutBackend.extract(&doc, &opts()).expect("extracts");
    assert_eq!(x.line_items.len(), 2);
    let w = x
        .warnings
        .iter()
        .find(|w| w.code == "mismatch.line_items")
        .expect("a warning");
    assert!(w.message.contains("7.00"), "{}", w.message);
    assert!(x.line_items.iter().all(|i| i.confidence < 0.6));
    let o = ExtractOptions {
        fields: Some(vec![FieldName::Total]),
        lists: Some(Vec::new()),
        ..opts()
    };
    let x = LayoutBackend.extract(&doc, &o).expect("extracts");
    assert!(x.line_items.is_empty() && x.tax_breakdown.is_empty());
    assert_eq!(x.total.value.as_deref(), Some("9.00"));
}
