//! Field labels as printed on receipts and invoices, in the languages the rules read.

/// What a label announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    Total,
    Subtotal,
    Tax,
    Rounding,
    Discount,
    Service,
    /// Cash given, change, tendered, quantities, savings: amounts that are not the total.
    NotTotal,
}

/// Upper case, punctuation to spaces, spaces collapsed, and the OCR look-alikes `0` and `1`
/// read as `O` and `L` inside words (`T0TAL`, `TOTA1`).
pub fn norm(text: &str) -> String {
    let up: String = text
        .to_uppercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    up.split_whitespace()
        .map(|w| {
            if !w.chars().any(|c| c.is_alphabetic()) {
                return w.to_string();
            }
            let letters = w.replace('0', "O").replace('1', "L");
            if is_label_word(&letters) {
                return letters;
            }
            // `TAX1`, `GST2`: a label word numbered without a space.
            let stem = w.trim_end_matches(|c: char| c.is_ascii_digit());
            if stem.len() < w.len() && stem.chars().all(char::is_alphabetic) {
                return format!("{stem} {}", &w[stem.len()..]);
            }
            w.replace('0', "O")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Words of trade that mark a line as a business name ("Waterleaf Restaurant").
pub fn has_trade_word(text: &str) -> bool {
    any(
        &norm(text),
        &[
            "RESTAURANT",
            "RESTORAN",
            "RESTAURANTE",
            "CAFE",
            "CAFÉ",
            "COFFEE",
            "BAKERY",
            "BAKERIES",
            "KITCHEN",
            "MART",
            "MARKET",
            "SUPERMARKET",
            "SHOP",
            "HARDWARE",
            "PHARMACY",
            "BISTRO",
            "GRILL",
            "PIZZA",
            "PIZZERIA",
            "TAVERN",
            "DINER",
            "DELI",
            "HOTEL",
            "KEDAI",
            "STATIONERY",
            "BOOKSTORE",
            "FOODS",
            "MEATS",
            "BAR",
            "PUB",
            "BRASSERIE",
            "TRATTORIA",
            "BÄCKEREI",
            "BAECKEREI",
            "APOTHEKE",
            "MAGAZIN",
            "KAFE",
            "МАГАЗИН",
            "АПТЕКА",
            "КАФЕ",
            "РЕСТОРАН",
        ],
    )
}

/// Whether `word` is a word of one of the amount labels (the set built once: `norm` asks for
/// every word of every line).
fn is_label_word(word: &str) -> bool {
    static WORDS: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
        std::sync::LazyLock::new(|| {
            [
                &TOTAL_STRONG,
                &TOTAL_WEAK,
                &SUBTOTAL,
                &TAX,
                &NOT_TOTAL,
                &ROUNDING,
                &DISCOUNT,
                &SERVICE,
            ]
            .into_iter()
            .flat_map(Lexicon::phrases)
            .flat_map(|phrase| phrase.split(' '))
            .collect()
        });
    WORDS.contains(word)
}

fn has_phrase(n: &str, phrase: &str) -> bool {
    let padded = format!(" {n} ");
    padded.contains(&format!(" {phrase} "))
}

fn any(n: &str, phrases: &[&str]) -> bool {
    phrases.iter().any(|p| has_phrase(n, p))
}

/// One label's phrases by language, written as [`norm`] leaves text (upper case, words
/// separated by single spaces, no punctuation). Order does not matter: a line matches when it
/// holds any phrase as whole words.
#[derive(Debug)]
struct Lexicon {
    en: &'static [&'static str],
    de: &'static [&'static str],
    fr: &'static [&'static str],
    nl: &'static [&'static str],
    es: &'static [&'static str],
    it: &'static [&'static str],
    /// Malay and Indonesian.
    ms: &'static [&'static str],
    ru: &'static [&'static str],
}

impl Lexicon {
    const EMPTY: Lexicon = Lexicon {
        en: &[],
        de: &[],
        fr: &[],
        nl: &[],
        es: &[],
        it: &[],
        ms: &[],
        ru: &[],
    };

    fn phrases(&self) -> impl Iterator<Item = &'static str> + '_ {
        [
            self.en, self.de, self.fr, self.nl, self.es, self.it, self.ms, self.ru,
        ]
        .into_iter()
        .flatten()
        .copied()
    }

    /// Whether the normalised text `n` holds one of the phrases as whole words.
    fn any(&self, n: &str) -> bool {
        self.phrases().any(|p| has_phrase(n, p))
    }

    /// Whether the normalised text `n` is one of the phrases.
    fn is(&self, n: &str) -> bool {
        self.phrases().any(|p| p == n)
    }
}

/// Amounts that are not the total: what was handed over or given back, counts, card lines,
/// prepayments.
const NOT_TOTAL: Lexicon = Lexicon {
    en: &[
        "CASH",
        "CHANGE",
        "CHANGE DUE",
        "TENDERED",
        "TENDER",
        "PAID",
        "BALANCE",
        "QTY",
        "QUANTITY",
        "ITEMS",
        "ITEM",
        "SAVINGS",
        "SAVED",
        "YOU SAVED",
        "POINTS",
        "CARD",
        "VISA",
        "MASTERCARD",
        "PREPAID AMOUNT",
        "PREPAYMENT",
    ],
    de: &[
        "WECHSELGELD",
        "GEGEBEN",
        "KREDITKARTE",
        "EC KARTE",
        "ANZAHLUNG",
        "ANZAHLUNGEN",
        "VORAUSZAHLUNG",
        "ZAHLBETRAG",
        "RESTBETRAG",
    ],
    fr: &["RENDU", "ACOMPTE"],
    es: &["CAMBIO"],
    ms: &["KEMBALI", "TUNAI", "BAKI"],
    ru: &["СДАЧА", "НАЛИЧНЫМИ"],
    ..Lexicon::EMPTY
};
const ROUNDING: Lexicon = Lexicon {
    en: &[
        "ROUNDING",
        "ROUNDED ADJ",
        "ROUNDING ADJ",
        "ROUND ADJ",
        "ADJ",
    ],
    de: &["RUNDUNG"],
    fr: &["ARRONDI"],
    ms: &["PEMBULATAN"],
    ..Lexicon::EMPTY
};
const DISCOUNT: Lexicon = Lexicon {
    en: &["DISCOUNT", "DISC", "VOUCHER", "PROMO"],
    de: &["RABATT"],
    fr: &["REMISE"],
    nl: &["KORTING"],
    es: &["DESCUENTO"],
    it: &["SCONTO"],
    ms: &["DISKON"],
    ru: &["СКИДКА"],
};
const SERVICE: Lexicon = Lexicon {
    en: &[
        "SERVICE CHARGE",
        "SERVICE CHG",
        "SVC CHG",
        "SVC",
        "TIP",
        "GRATUITY",
    ],
    de: &["TRINKGELD"],
    fr: &["POURBOIRE"],
    ..Lexicon::EMPTY
};
/// The amount before tax.
const SUBTOTAL: Lexicon = Lexicon {
    en: &[
        "SUBTOTAL",
        "SUB TOTAL",
        "TOTAL EXCL",
        "TOTAL EXCLUDING",
        "EXCL VAT",
        "EXCL TAX",
        "EXCL GST",
        "BEFORE TAX",
        "UNTAXED AMOUNT",
        "NET AMOUNT",
        "TOTAL SALES EXCLUDING",
        "TOTAL SALES EXCL",
        "TOTAL NET",
        "AMOUNT EXCL",
        "TOTAL BEFORE",
        "TAXABLE",
        "TAX BASIS",
        "NET VALUE",
    ],
    de: &[
        "ZWISCHENSUMME",
        "NETTO",
        "NETTOBETRAG",
        "NETTOSUMME",
        "SUMME NETTO",
        "NETTOWERT",
        "OHNE UST",
        "OHNE MWST",
        "OHNE STEUER",
        "EXKL UST",
        "EXKL MWST",
        "BASISBETRAG",
        "STEUERBASISBETRAG",
        "STEUERBASIS",
    ],
    fr: &[
        "TOTAL HT",
        "MONTANT HT",
        "PRIX HT",
        "BASE HT",
        "SOUS TOTAL",
        "HORS TAXE",
        "TOTAL HORS TAXES",
    ],
    nl: &[
        "SUBTOTAAL",
        "NETTO BEDRAG",
        "EXCLUSIEF BTW",
        "EXCL BTW",
        "TOTAAL EXCL",
    ],
    es: &["BASE IMPONIBLE", "IMPONIBLE"],
    it: &["SUBTOTALE"],
    ru: &["СУММА БЕЗ НДС"],
    ..Lexicon::EMPTY
};
const TAX: Lexicon = Lexicon {
    en: &[
        "TAX",
        "GST",
        "SST",
        "VAT",
        "HST",
        "PST",
        "QST",
        "SALES TAX",
        "SERVICE TAX",
        "TOTAL TAX",
        "TAX AMOUNT",
        "TOTAL GST",
        "TOTAL VAT",
        "VAT AMOUNT",
    ],
    de: &[
        "MWST",
        "UST",
        "MEHRWERTSTEUER",
        "UMSATZSTEUER",
        "STEUERBETRAG",
        "STEUERSUMME",
        "UST BETRAG",
        "MWST BETRAG",
    ],
    fr: &["TVA", "MONTANT TVA", "TOTAL TVA"],
    nl: &["BTW"],
    es: &["IVA"],
    ms: &["PPN", "PAJAK", "CUKAI", "PB 1"],
    ru: &["НДС"],
    ..Lexicon::EMPTY
};
/// Phrases with a tax word that are not tax amounts: registration numbers, headings.
const TAX_NOT: Lexicon = Lexicon {
    en: &[
        "TAX INVOICE",
        "GST REG",
        "GST ID",
        "GST NO",
        "GST SUMMARY",
        "VAT NO",
        "VAT REG",
        "VAT ID",
        "VAT NUMBER",
        "TAX ID",
        "TAX CODE",
        "TAX NO",
        "TAX REG",
        "SST NO",
        "SST REG",
        "TAX EXEMPT",
        "TAX FREE",
    ],
    de: &["UST IDNR", "UST ID", "USTIDNR", "STEUERNR", "STEUERNUMMER"],
    ms: &["NPWP"],
    ru: &["ИНН"],
    ..Lexicon::EMPTY
};
/// Labels that name the total outright.
const TOTAL_STRONG: Lexicon = Lexicon {
    en: &[
        "GRAND TOTAL",
        "TOTAL AMOUNT",
        "AMOUNT DUE",
        "TOTAL DUE",
        "BALANCE DUE",
        "NETT TOTAL",
        "NET TOTAL",
        "TOTAL RM",
        "TOTAL PAYABLE",
        "AMOUNT PAYABLE",
        "TOTAL INCL",
        "TOTAL INCLUSIVE",
        "TOTAL SALES",
        "ROUNDED TOTAL",
        "INVOICE TOTAL",
        "TOTAL EUR",
        "TOTAL USD",
        "AMOUNT",
        "TO PAY",
        "NET AMT",
        "NETT AMT",
        "NETT AMOUNT",
        "AMT DUE",
        "AMT PAID",
    ],
    de: &[
        "GESAMT",
        "GESAMTBETRAG",
        "GESAMTSUMME",
        "SUMME",
        "ENDBETRAG",
        "RECHNUNGSBETRAG",
        "RECHNUNGSSUMME",
        "ZU ZAHLEN",
        "BRUTTO",
        "BRUTTOSUMME",
        "BRUTTOBETRAG",
        "BETRAG",
    ],
    fr: &[
        "MONTANT TTC",
        "TOTAL TTC",
        "NET A PAYER",
        "A PAYER",
        "SOMME",
        "MONTANT",
    ],
    nl: &["TOTAAL", "TE BETALEN"],
    es: &["IMPORTE TOTAL", "TOTAL A PAGAR"],
    it: &["TOTALE", "TOTALE EURO"],
    ms: &["JUMLAH", "JUMLAH BESAR", "TOTAL BAYAR", "TOTAL BELANJA"],
    ru: &["ИТОГО", "К ОПЛАТЕ", "ВСЕГО"],
};
/// `Total` alone, and how receipts misprint or shorten it.
const TOTAL_WEAK: Lexicon = Lexicon {
    en: &["TOTAL", "TOTL", "TTL", "TOTAI", "TOT", "SUM", "DUE"],
    ..Lexicon::EMPTY
};

/// The label a line's text starts with or consists of, with its strength (0..1).
pub fn label_of(text: &str) -> Option<(LabelKind, f32)> {
    let n = norm(text);
    if n.is_empty() {
        return None;
    }
    let totalish = TOTAL_STRONG.any(&n) || TOTAL_WEAK.any(&n);
    // "Total After Adj", "Rounded Total" are totals, not the rounding line.
    if ROUNDING.any(&n) && !totalish {
        return Some((LabelKind::Rounding, 0.9));
    }
    if SUBTOTAL.any(&n) {
        // "Taxable amount" is the subtotal only when no line says so outright.
        let weak = any(&n, &["TAXABLE"]) || any(&n, &["NETTO", "NET AMOUNT"]);
        return Some((LabelKind::Subtotal, if weak { 0.7 } else { 0.9 }));
    }
    if DISCOUNT.any(&n) && !any(&n, &["TOTAL AFTER", "AFTER DISCOUNT"]) {
        return Some((LabelKind::Discount, 0.8));
    }
    let taxish = TAX.any(&n) && !TAX_NOT.any(&n);
    // "Total incl. VAT" is the total; "incl. 19 % MwSt 3,80" alone is the tax.
    let total_incl = totalish && any(&n, &["INCL", "INCLUSIVE", "INKL", "TTC", "INCLUDING"]);
    if taxish
        && !total_incl
        && !any(
            &n,
            &[
                "GRAND TOTAL",
                "TOTAL AMOUNT",
                "TOTAL SALES",
                "AMOUNT DUE",
                "TOTAL INCL",
            ],
        )
    {
        return Some((
            LabelKind::Tax,
            if any(&n, &["TOTAL TAX", "TAX AMOUNT", "TOTAL GST", "TOTAL VAT"]) {
                0.95
            } else {
                0.8
            },
        ));
    }
    // `PAY` alone is what the customer handed over; `PAY THIS AMOUNT`, `TO PAY` are the total.
    let paid = NOT_TOTAL.any(&n) || (any(&n, &["PAY"]) && !totalish && !any(&n, &["TO PAY"]));
    if paid
        && !any(
            &n,
            &[
                "BALANCE DUE",
                "AMOUNT PAID",
                "AMT PAID",
                "TOTAL PAID",
                "TO PAY",
            ],
        )
    {
        return Some((LabelKind::NotTotal, 0.9));
    }
    // "Service", "5.5% Service": the word alone; "AWS Service Charges", "SERVICE PUMP" are
    // items or headings.
    let bare_service = n
        .split(' ')
        .filter(|w| !w.chars().all(|c| c.is_ascii_digit()))
        .eq(["SERVICE"]);
    if SERVICE.any(&n) || bare_service {
        return Some((LabelKind::Service, 0.7));
    }
    if TOTAL_STRONG.any(&n) {
        return Some((LabelKind::Total, 1.0));
    }
    if totalish {
        return Some((LabelKind::Total, 0.85));
    }
    None
}

/// Words that mark a table header row (a `Total` there is a column, not a label).
pub fn is_table_header(text: &str) -> bool {
    let n = norm(text);
    let hits = [
        "QTY",
        "QUANTITY",
        "DESCRIPTION",
        "UNIT PRICE",
        "PRICE",
        "ITEM",
        "MENGE",
        "BESCHREIBUNG",
        "EINZELPREIS",
        "ARTICLE",
        "QUANTITE",
        "PRIX",
        "AMOUNT",
        "RATE",
    ]
    .iter()
    .filter(|p| has_phrase(&n, p))
    .count();
    hits >= 2
}

/// "Price Subtotal", "Qty Total": one line naming a total column beside an item column.
pub fn is_total_column_heading(text: &str) -> bool {
    let n = norm(text);
    let item_column = any(
        &n,
        &[
            "QTY",
            "QUANTITY",
            "DESCRIPTION",
            "PRICE",
            "ITEM",
            "MENGE",
            "PREIS",
            "PRIX",
            "PRECIO",
            "PREZZO",
            "CANT",
            "UNIT",
        ],
    );
    item_column && any(&n, &["SUBTOTAL", "SUB TOTAL", "TOTAL"])
}

/// Date labels; due, expiry and delivery dates are not the document date.
pub fn date_label(text: &str) -> Option<f32> {
    let n = norm(text);
    let words: Vec<&str> = n.split(' ').collect();
    // Periods, payment terms and print stamps carry dates that are not the issue date
    // (`Abrechnungszeitraum`, `Leistungszeitraum 01.10. bis 31.10.`, `Fälligkeit`,
    // `Stylesheet-Version 2.0 vom 18.10.2018`).
    let compound_not = ["ZEITRAUM", "PERIODE", "FÄLLIGKEIT", "FALLIGKEIT"];
    if words
        .iter()
        .any(|w| compound_not.iter().any(|c| w.ends_with(c)))
        || any(
            &n,
            &[
                "BIS",
                "PERIOD",
                "SKONTO",
                "ZAHLBAR",
                "VERSION",
                "STYLESHEET",
                "SERVICE PERIOD",
                "BILLING PERIOD",
            ],
        )
    {
        return Some(-1.0);
    }
    // The document's heading with its date: `Rechnung Nr. 17 vom 13.07.2018`,
    // `Facture n° 12 du 02/04/2024`, `Invoice 88 dated 5 May 2024`, or `vom 31.10.2018` under it.
    let heading = words.iter().any(|w| {
        ["RECHNUNG", "GUTSCHRIFT", "RECHNUNGSKORREKTUR"]
            .iter()
            .any(|h| w.ends_with(h))
            || ["INVOICE", "FACTURE", "AVOIR", "FACTUUR", "FACTURA"].contains(w)
    });
    let numbered = any(&n, &["NR", "NO", "N", "NUMMER", "NUMBER", "NUM"]);
    if (heading && numbered && any(&n, &["VOM", "DU", "DATED", "OF", "DEL", "VAN"]))
        || words[0] == "VOM"
    {
        return Some(1.0);
    }
    if any(
        &n,
        &[
            "DUE",
            "EXPIRY",
            "EXP",
            "VALID",
            "FÄLLIG",
            "FALLIG",
            "ECHEANCE",
            "ÉCHÉANCE",
            "DELIVERY",
            "LIEFERDATUM",
            "VENCIMIENTO",
            "SCADENZA",
            "BIRTH",
        ],
    ) {
        return Some(-1.0);
    }
    if any(
        &n,
        &[
            "INVOICE DATE",
            "RECHNUNGSDATUM",
            "DATE DE FACTURE",
            "FECHA DE FACTURA",
            "DATA FATTURA",
            "FACTUURDATUM",
            "TARIKH",
            "TGL",
            "TANGGAL",
            "DATUM",
            "ДАТА",
            "FECHA",
            "DATA",
            "DATE",
            "DATED",
            "ISSUE DATE",
            "ORDER DATE",
            "BILL DATE",
        ],
    ) {
        return Some(1.0);
    }
    None
}

/// Labels of an invoice's seller block: the name follows on the label's line or under it.
const SELLER: Lexicon = Lexicon {
    en: &[
        "SELLER",
        "SUPPLIER",
        "VENDOR",
        "BILL FROM",
        "INVOICE FROM",
        "SOLD BY",
    ],
    de: &[
        "VERKÄUFER",
        "VERKAEUFER",
        "LIEFERANT",
        "RECHNUNGSSTELLER",
        "LEISTUNGSERBRINGER",
        "AUFTRAGNEHMER",
        "VERKAUFT VON",
    ],
    fr: &[
        "FOURNISSEUR",
        "VENDEUR",
        "ÉMETTEUR",
        "EMETTEUR",
        "VENDU PAR",
    ],
    nl: &["VERKOPER", "LEVERANCIER"],
    es: &["PROVEEDOR"],
    it: &["FORNITORE"],
    ..Lexicon::EMPTY
};
/// Labels naming who is paid: the seller, where no seller block says otherwise.
const PAYEE: Lexicon = Lexicon {
    en: &[
        "ACCOUNT HOLDER",
        "ACCOUNT NAME",
        "BENEFICIARY",
        "PAYEE",
        "PAYABLE TO",
        "MAKE CHEQUES PAYABLE TO",
        "PAYMENT RECEIVED BY",
        "PAID TO",
    ],
    de: &["KONTOINHABER", "BEGÜNSTIGTER"],
    fr: &[
        "TITULAIRE DU COMPTE",
        "TITULAIRE",
        "BÉNÉFICIAIRE",
        "BENEFICIAIRE",
    ],
    nl: &["REKENINGHOUDER"],
    ..Lexicon::EMPTY
};
/// Labels of the buyer's block, where a seller block ends.
const BUYER: Lexicon = Lexicon {
    en: &[
        "BUYER", "CUSTOMER", "BILL TO", "SOLD TO", "SHIP TO", "CLIENT",
    ],
    de: &[
        "KÄUFER",
        "KAEUFER",
        "KUNDE",
        "RECHNUNGSEMPFÄNGER",
        "LEISTUNGSEMPFÄNGER",
        "KÄUFER LEISTUNGSEMPFÄNGER",
    ],
    fr: &["ACHETEUR", "DESTINATAIRE"],
    nl: &["KLANT"],
    es: &["CLIENTE"],
    ..Lexicon::EMPTY
};
/// Labels of a name inside a party block (`Name: Grundbesitz GmbH`).
const NAME_KEY: Lexicon = Lexicon {
    en: &["NAME", "COMPANY", "COMPANY NAME"],
    de: &["FIRMA", "FIRMENNAME"],
    fr: &["NOM", "RAISON SOCIALE"],
    nl: &["NAAM"],
    es: &["NOMBRE"],
    ..Lexicon::EMPTY
};

/// A `key: value` line split at its first colon, the key normalised; `None` without a colon.
fn key_value(text: &str) -> Option<(String, &str)> {
    let (k, v) = text.split_once(':')?;
    Some((norm(k), v.trim()))
}

/// When `text` is a seller label (`Verkäufer:`, `Seller`, `Fournisseur : ACME SARL`): the
/// text after it (empty when the label stands alone).
pub fn after_seller_label(text: &str) -> Option<&str> {
    // Text layers split kerned words (`Ver käufer:`): compare without spaces.
    let is_seller = |k: &str| {
        let k = k.replace(' ', "");
        SELLER.phrases().any(|s| s.replace(' ', "") == k)
    };
    match key_value(text) {
        Some((k, v)) => is_seller(&k).then_some(v),
        None => is_seller(&norm(text)).then_some(""),
    }
}

/// The name a payee label gives (`Titulaire du compte : NETPRESSE`, `Kontoinhaber: Muster
/// GmbH`, `Payment received by OYO`), with or without a colon.
pub fn payee_name(text: &str) -> Option<&str> {
    for (i, _) in text.char_indices().filter(|(_, c)| *c == ':') {
        let key = norm(&text[..i]);
        let key = key.rsplit(" - ").next().unwrap_or(&key);
        if PAYEE.phrases().any(|p| key.ends_with(p)) {
            let v = text[i + 1..].trim();
            return (!v.is_empty()).then_some(v);
        }
    }
    let words: Vec<(usize, &str)> = text
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - text.as_ptr() as usize, w))
        .collect();
    let n = norm(text);
    for p in PAYEE.phrases().filter(|p| p.contains(' ')) {
        let k = p.split(' ').count();
        if n.starts_with(&format!("{p} ")) && words.len() > k {
            return Some(text[words[k].0..].trim());
        }
    }
    None
}

/// Whether a heading names the document a credit note (`Gutschrift Nr. 12`, `Avoir n° 3`,
/// `Credit note`, `Rechnungskorrektur zu ...`): it starts with the term and is short. A
/// self-billed invoice (`Gutschrift (Selbst ausgestellte Rechnung)`) is an invoice.
pub fn credit_note_heading(text: &str) -> bool {
    let n = norm(text);
    if n.split(' ').count() > 8
        || any(
            &n,
            &[
                "SELBST AUSGESTELLTE",
                "SELF BILLED",
                "SELF BILLING",
                "SELBSTFAKTURIERUNG",
                "AUTOFACTURATION",
            ],
        )
    {
        return false;
    }
    [
        "CREDIT NOTE",
        "CREDIT MEMO",
        "AVOIR",
        "FACTURE D AVOIR",
        "RECHNUNGSKORREKTUR",
        "STORNORECHNUNG",
        "GUTSCHRIFT",
        "CREDITNOTA",
        "CREDITFACTUUR",
        "NOTA DE CREDITO",
        "NOTA DI CREDITO",
    ]
    .iter()
    .any(|p| n == *p || n.starts_with(&format!("{p} ")))
}

/// Whether `text` is a buyer label (`Käufer:`, `Bill to`, `Client :`).
pub fn is_buyer_label(text: &str) -> bool {
    let k = key_value(text).map_or_else(|| norm(text), |(k, _)| k);
    BUYER.is(&k)
}

/// How a line inside a party block reads: `Some(Some(value))` for `Name: value`, `Some(None)`
/// for a bare `Name:` key (its value printed to the right), `None` for anything else.
pub fn name_key(text: &str) -> Option<Option<&str>> {
    let (k, v) = key_value(text)?;
    NAME_KEY.is(&k).then_some((!v.is_empty()).then_some(v))
}

/// Whether `text` is some other `key: value` line of a party block (`Nummer : 123`,
/// `USt.-Id.-Nr.: DE123`).
pub fn is_key_value(text: &str) -> bool {
    key_value(text).is_some_and(|(k, _)| !k.is_empty() && k.split(' ').count() <= 4)
}

/// Lines that are not a merchant name: headings, addresses, phones, tax ids, web addresses.
pub fn not_a_name(text: &str) -> bool {
    let n = norm(text);
    let heading = [
        "RECEIPT",
        "TAX INVOICE",
        "INVOICE",
        "SIMPLIFIED TAX INVOICE",
        "CASH SALE",
        "CASH BILL",
        "OFFICIAL RECEIPT",
        "RECHNUNG",
        "FACTURE",
        "FACTURA",
        "FATTURA",
        "FACTUUR",
        "QUITTUNG",
        "BON",
        "KASSENBON",
        "ЧЕК",
        "КАССОВЫЙ ЧЕК",
        "WELCOME",
        "THANK YOU",
        "THANKS",
        "TERIMA KASIH",
        "ORDER",
        "BILL",
        "CUSTOMER COPY",
        "MERCHANT COPY",
        "COPY",
        "DUPLICATE",
        "ORIGINAL",
        "NOTA",
        "STRUK",
        "KWITANSI",
        "TABLE",
        "CHECK",
        "GUEST",
        "INVOICE NO",
        "PAGE",
        "PAYMENT RECEIPT",
        "SALES RECEIPT",
        "TAX RECEIPT",
        "CASH RECEIPT",
        "PROFORMA INVOICE",
        "STORE",
        "BRANCH",
        "OUTLET",
        "THANK",
    ];
    // A heading, possibly with its number: "Facture n° 2024-17", "INVOICE # 1234".
    let mut words: Vec<&str> = n.split(' ').collect();
    while words.len() > 1
        && words.last().is_some_and(|w| {
            ["NO", "N", "NR", "NUMBER", "NUM"].contains(w) || w.chars().all(|c| c.is_ascii_digit())
        })
    {
        words.pop();
    }
    // "Invoice INV/2023/03/0008": a heading and its number.
    let mut raw: Vec<&str> = text.split_whitespace().collect();
    while raw.len() > 1
        && raw
            .last()
            .is_some_and(|w| w.chars().any(|c| c.is_ascii_digit()))
    {
        raw.pop();
    }
    let numbered = norm(&raw.join(" "));
    if heading.contains(&n.as_str())
        || heading.contains(&words.join(" ").as_str())
        || heading.contains(&numbered.as_str())
    {
        return true;
    }
    let markers = [
        "TEL",
        "TELEPHONE",
        "PHONE",
        "FAX",
        "HP",
        "MOBILE",
        "EMAIL",
        "E MAIL",
        "WWW",
        "HTTP",
        "COM",
        "GST REG",
        "GST ID",
        "GST NO",
        "SST",
        "REG NO",
        "CO REG",
        "COMPANY NO",
        "CO NO",
        "ROC",
        "VAT",
        "UST",
        "IDNR",
        "STEUER",
        "JALAN",
        "JLN",
        "LOT",
        "TAMAN",
        "BANDAR",
        "LORONG",
        "PERSIARAN",
        "STREET",
        "ROAD",
        "RD",
        "AVENUE",
        "AVE",
        "STR",
        "STRASSE",
        "STRAßE",
        "PLATZ",
        "RUE",
        "VIA",
        "CALLE",
        "BLVD",
        "SUITE",
        "FLOOR",
        "NO",
        "KM",
        "UL",
        "ДОМ",
        "ИНН",
        "КПП",
        "ОГРН",
        "INVOICE NO",
        "RECEIPT NO",
        "BILL NO",
        "DOC NO",
        "CASHIER",
        "DATE",
        "TIME",
        "TABLE",
        "SELANGOR",
        "KUALA LUMPUR",
        "JOHOR",
        "MALAYSIA",
        "PO BOX",
        "POSTFACH",
        "HOURS",
        "BILL TO",
        "SHIP TO",
        "SOLD TO",
        "BILLING",
        "SHIPPING",
        "DELIVER TO",
        "FACTUURADRES",
        "LEVERADRES",
        "RECHNUNGSADRESSE",
        "LIEFERADRESSE",
        "ADRESSE",
        "ADDRESS",
        "CUSTOMER",
        "CLIENT",
        "KUNDE",
        "ATTN",
        "THANK YOU",
        "COME AGAIN",
        "GOODS SOLD",
        "NOT RETURNABLE",
        "POSTED",
        "ACCOUNT",
        "NUMBER",
        "NAME",
        "GUEST",
        "WELCOME",
        "SERVED BY",
        "SALESPERSON",
        "ORDER NO",
        "RECEIPT NO",
        "SOLD BY",
        "SOLD TO",
        "INVOICE TO",
        "FACTURE N",
        "SIRET",
        "TVA INTRA",
        "IBAN",
        "BIC",
        "SWIFT",
    ];
    // A name with its legal form may carry its country, state or registration number
    // ("AMANO MALAYSIA SDN BHD", "Dion Realties Sdn Bhd (Co. No:20154-T)").
    // So may a trade name without a number ("Main Street Restaurant").
    let legal = rules::has_legal_suffix(text)
        || (has_trade_word(text) && !text.chars().any(|c| c.is_ascii_digit()));
    let incidental = [
        "STREET",
        "ROAD",
        "AVENUE",
        "PLATZ",
        "BANDAR",
        "TAMAN",
        "SELANGOR",
        "KUALA LUMPUR",
        "JOHOR",
        "MALAYSIA",
        "CO NO",
        "COMPANY NO",
        "CO REG",
        "REG NO",
        "ROC",
        "NO",
    ];
    if markers
        .iter()
        .any(|m| has_phrase(&n, m) && !(legal && incidental.contains(m)))
    {
        return true;
    }
    // German-style street names run the street word into the name.
    if n.split(' ').any(|w| {
        ["STRASSE", "GASSE", "ALLEE", "PLATZ", "WEG", "STR"]
            .iter()
            .any(|s| w.len() > s.len() && w.ends_with(s))
    }) {
        return true;
    }
    // A place and its ZIP code last: "CARLSBAD, CA 92011", "Palo Alto California 94301".
    let last = text.split_whitespace().last().unwrap_or_default();
    let zip = last.trim_start_matches('.');
    let zip_last = zip.len() == 5 && zip.chars().all(|c| c.is_ascii_digit())
        || zip.len() == 10
            && zip
                .chars()
                .enumerate()
                .all(|(i, c)| if i == 5 { c == '-' } else { c.is_ascii_digit() });
    if zip_last && n.split(' ').count() >= 2 {
        return true;
    }
    // A postal code first: "69100 VILLEURBANNE", "10115 Berlin".
    if n.split(' ')
        .next()
        .is_some_and(|w| (4..=6).contains(&w.len()) && w.chars().all(|c| c.is_ascii_digit()))
    {
        return true;
    }
    // Registration numbers after a name ("AEON CO. (M) BHD (126926-H)") do not make it an id line.
    let cleaned = rules::clean_merchant(text)
        .map(|c| norm(&c))
        .unwrap_or_else(|| n.clone());
    let digits = cleaned.chars().filter(char::is_ascii_digit).count();
    let letters = cleaned.chars().filter(|c| c.is_alphabetic()).count();
    letters < 3 || digits * 2 > letters || text.contains('@')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_and_their_look_alikes() {
        let cases: &[(&str, Option<LabelKind>)] = &[
            ("TOTAL", Some(LabelKind::Total)),
            ("T0TAL:", Some(LabelKind::Total)),
            ("Grand Total", Some(LabelKind::Total)),
            ("TOTAL (RM)", Some(LabelKind::Total)),
            ("Nett Total", Some(LabelKind::Total)),
            ("Amount Due", Some(LabelKind::Total)),
            ("JUMLAH", Some(LabelKind::Total)),
            ("ИТОГО", Some(LabelKind::Total)),
            ("К ОПЛАТЕ", Some(LabelKind::Total)),
            ("Montant TTC", Some(LabelKind::Total)),
            ("Gesamtbetrag", Some(LabelKind::Total)),
            ("Summe", Some(LabelKind::Total)),
            ("Totale", Some(LabelKind::Total)),
            ("Total Sales (Inclusive GST)", Some(LabelKind::Total)),
            ("Total incl. VAT", Some(LabelKind::Total)),
            ("SUBTOTAL", Some(LabelKind::Subtotal)),
            ("Sub Total", Some(LabelKind::Subtotal)),
            ("Total excl. VAT", Some(LabelKind::Subtotal)),
            ("Total HT", Some(LabelKind::Subtotal)),
            ("Zwischensumme", Some(LabelKind::Subtotal)),
            ("TOTAL QTY", Some(LabelKind::NotTotal)),
            ("Total Items", Some(LabelKind::NotTotal)),
            ("TOTAL SAVINGS", Some(LabelKind::NotTotal)),
            ("CHANGE", Some(LabelKind::NotTotal)),
            ("CASH", Some(LabelKind::NotTotal)),
            ("TENDERED", Some(LabelKind::NotTotal)),
            ("ROUNDING", Some(LabelKind::Rounding)),
            ("Rounding Adj", Some(LabelKind::Rounding)),
            ("Total After Adj Incl GST", Some(LabelKind::Total)),
            ("DISCOUNT", Some(LabelKind::Discount)),
            ("GST 6%", Some(LabelKind::Tax)),
            ("SST 6%", Some(LabelKind::Tax)),
            ("MwSt. 19%", Some(LabelKind::Tax)),
            ("USt 19 %", Some(LabelKind::Tax)),
            ("TVA 20%", Some(LabelKind::Tax)),
            ("IVA", Some(LabelKind::Tax)),
            ("PPN 10%", Some(LabelKind::Tax)),
            ("НДС 20%", Some(LabelKind::Tax)),
            ("Total Tax", Some(LabelKind::Tax)),
            ("Incl. 10 x TVA", Some(LabelKind::Tax)),
            ("inkl. 19% MwSt", Some(LabelKind::Tax)),
            ("Prix HT", Some(LabelKind::Subtotal)),
            ("Somme", Some(LabelKind::Total)),
            ("Grand Tota1", Some(LabelKind::Total)),
            ("Due", Some(LabelKind::Total)),
            ("Net Amt :", Some(LabelKind::Total)),
            ("AMT PAID incL GST:", Some(LabelKind::Total)),
            ("Net Amount", Some(LabelKind::Subtotal)),
            ("PAY THIS AMOUNT:", Some(LabelKind::Total)),
            ("To pay SGD", Some(LabelKind::Total)),
            ("Pay", Some(LabelKind::NotTotal)),
            ("TAX1", Some(LabelKind::Tax)),
            ("5.5% Service", Some(LabelKind::Service)),
            ("Service Charge 10%", Some(LabelKind::Service)),
            ("SERVICE PUMP# 04", None),
            ("10X PB1", Some(LabelKind::Tax)),
            ("15.00% HST:", Some(LabelKind::Tax)),
            ("TAXABLE2", Some(LabelKind::Subtotal)),
            ("TAX INVOICE", None),
            ("GST Reg No: 000123", None),
            ("Thank you", None),
        ];
        for (text, want) in cases {
            assert_eq!(label_of(text).map(|l| l.0), *want, "{text}");
        }
    }

    #[test]
    fn names_addresses_and_dates() {
        for t in [
            "TAX INVOICE",
            "Invoice INV/2023/03/0008",
            "CARLSBAD, CA 92011",
            "AUSTIN TX .78748",
            "Store #1458",
            "Tel: 03-1234 5678",
            "NO. 12, JALAN MAJU 3",
            "GST REG NO: 001234567",
            "www.shop.com",
            "Hauptstraße 5, 10115 Berlin",
        ] {
            assert!(not_a_name(t), "{t}");
        }
        for t in [
            "KEDAI RUNCIT MAJU SDN BHD",
            "Main Street Restaurant",
            "Muster Bürobedarf GmbH",
            "Corner Cafe",
        ] {
            assert!(!not_a_name(t), "{t}");
        }
        assert_eq!(date_label("Invoice Date:"), Some(1.0));
        assert_eq!(date_label("Due Date:"), Some(-1.0));
        assert_eq!(date_label("Tarikh"), Some(1.0));
        assert_eq!(date_label("TOTAL"), None);
    }
}
