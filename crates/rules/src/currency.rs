//! Currencies as ISO 4217 codes: from codes and symbols printed on the document, with `$`,
//! `kr`, `¥` and `Rs` resolved by context. Never invented: no evidence, no currency.

use iso_currency::Currency;
use serde::{Deserialize, Serialize};

/// What is known about the document's origin, to resolve ambiguous symbols and dates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LocaleHints {
    /// ISO 3166-1 alpha-2 country (`MY`, `DE`, `US`), if known.
    pub country: Option<String>,
    /// ISO 639-1 language of the document (`de`, `en`, `ru`), if known.
    pub language: Option<String>,
    /// The currency to assume when a document shows none (a deployment default).
    pub currency: Option<String>,
}

impl LocaleHints {
    fn country_is(&self, codes: &[&str]) -> bool {
        self.country
            .as_deref()
            .is_some_and(|c| codes.iter().any(|x| x.eq_ignore_ascii_case(c)))
    }
    fn language_is(&self, codes: &[&str]) -> bool {
        self.language
            .as_deref()
            .is_some_and(|c| codes.iter().any(|x| x.eq_ignore_ascii_case(c)))
    }
}

/// A currency found in text, with how sure the match is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurrencyMatch {
    pub code: String,
    /// The token that gave it away.
    pub evidence: String,
    pub confidence: f32,
}

/// ISO codes that are also ordinary words or common abbreviations on receipts: accepted
/// only right beside a number.
const WORDLIKE_CODES: [&str; 17] = [
    "BHD", "ALL", "CUP", "TOP", "PEN", "BOB", "GEL", "SOS", "MOP", "AMD", "BAM", "MAD", "LAK",
    "MUR", "SAR", "XXX", "XTS",
];

/// Symbols and local abbreviations. `None` marks a symbol resolved by context.
const SYMBOLS: [(&str, Option<&str>); 38] = [
    ("US$", Some("USD")),
    ("S$", Some("SGD")),
    ("SG$", Some("SGD")),
    ("A$", Some("AUD")),
    ("AU$", Some("AUD")),
    ("C$", Some("CAD")),
    ("CA$", Some("CAD")),
    ("HK$", Some("HKD")),
    ("NZ$", Some("NZD")),
    ("NT$", Some("TWD")),
    ("R$", Some("BRL")),
    ("MX$", Some("MXN")),
    ("$", None),
    ("€", Some("EUR")),
    ("£", Some("GBP")),
    ("¥", None),
    ("元", Some("CNY")),
    ("RMB", Some("CNY")),
    ("₽", Some("RUB")),
    ("руб", Some("RUB")),
    ("₹", Some("INR")),
    ("Rs", None),
    ("RM", Some("MYR")),
    ("Rp", Some("IDR")),
    ("kr", None),
    ("zł", Some("PLN")),
    ("Kč", Some("CZK")),
    ("Ft", Some("HUF")),
    ("₩", Some("KRW")),
    ("₫", Some("VND")),
    ("฿", Some("THB")),
    ("₺", Some("TRY")),
    ("₱", Some("PHP")),
    ("₪", Some("ILS")),
    ("₴", Some("UAH")),
    ("₸", Some("KZT")),
    ("лв", Some("BGN")),
    ("Fr.", Some("CHF")),
];

/// Resolves the context-dependent symbols.
fn resolve(symbol: &str, hints: &LocaleHints) -> Option<(&'static str, f32)> {
    match symbol {
        "$" => Some(if hints.country_is(&["AU"]) {
            ("AUD", 0.8)
        } else if hints.country_is(&["CA"]) {
            ("CAD", 0.8)
        } else if hints.country_is(&["SG"]) {
            ("SGD", 0.8)
        } else if hints.country_is(&["HK"]) {
            ("HKD", 0.8)
        } else if hints.country_is(&["NZ"]) {
            ("NZD", 0.8)
        } else if hints.country_is(&["MX"]) {
            ("MXN", 0.8)
        } else {
            ("USD", 0.7)
        }),
        "¥" => Some(if hints.country_is(&["CN"]) || hints.language_is(&["zh"]) {
            ("CNY", 0.8)
        } else {
            ("JPY", 0.7)
        }),
        "Rs" => Some(if hints.country_is(&["PK"]) {
            ("PKR", 0.8)
        } else if hints.country_is(&["LK"]) {
            ("LKR", 0.8)
        } else if hints.country_is(&["NP"]) {
            ("NPR", 0.8)
        } else {
            ("INR", 0.6)
        }),
        "kr" => {
            if hints.country_is(&["SE"]) || hints.language_is(&["sv"]) {
                Some(("SEK", 0.8))
            } else if hints.country_is(&["NO"]) || hints.language_is(&["no", "nb", "nn"]) {
                Some(("NOK", 0.8))
            } else if hints.country_is(&["DK"]) || hints.language_is(&["da"]) {
                Some(("DKK", 0.8))
            } else if hints.country_is(&["IS"]) || hints.language_is(&["is"]) {
                Some(("ISK", 0.8))
            } else {
                None
            }
        }
        _ => None,
    }
}

/// The ISO code of a 3-letter token, if it is one.
pub fn iso_code(token: &str) -> Option<&'static str> {
    if token.len() != 3 || !token.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    Currency::from_code(token).map(|c| c.code())
}

/// The number of decimals amounts in `code` carry in practice: ISO 4217's exponent, except
/// for currencies whose minor unit is not used on receipts (IDR prints `Rp 1.346.000`).
pub fn minor_unit(code: &str) -> Option<u32> {
    match code {
        "IDR" | "VND" | "KRW" | "JPY" | "CLP" | "ISK" | "UGX" | "PYG" => Some(0),
        _ => Currency::from_code(code)
            .and_then(|c| c.exponent())
            .map(u32::from),
    }
}

/// Whether `code` is an ISO 4217 code.
pub fn is_iso_code(code: &str) -> bool {
    Currency::from_code(code).is_some()
}

/// A currency token at the start of `s`: (code, confidence, bytes consumed). Used by the amount
/// parser to strip `RM`, `€`, `USD` and the like.
pub fn leading_currency(s: &str, hints: &LocaleHints) -> Option<(&'static str, f32, usize)> {
    for (sym, code) in SYMBOLS {
        if let Some(rest) = s.strip_prefix(sym) {
            // Letter symbols must not run on into a word ("Rsvp", "krone" is fine as a word).
            let letter_sym = sym.chars().all(char::is_alphabetic);
            // ... unless the letter is a digit misread before more digits ("RMI11.90").
            let mut after = rest.chars();
            let misread_digit = matches!(after.next(), Some('I' | 'l' | 'O' | 'o'))
                && after.next().is_some_and(|c| c.is_ascii_digit() || c == '.');
            if letter_sym && rest.chars().next().is_some_and(char::is_alphabetic) && !misread_digit
            {
                continue;
            }
            let resolved = match code {
                Some(c) => Some((c, 0.9)),
                None => resolve(sym, hints),
            };
            if let Some((c, conf)) = resolved {
                return Some((c, conf, sym.len()));
            }
        }
    }
    let head: String = s.chars().take(3).collect();
    if let Some(code) = iso_code(&head)
        && !s[head.len()..]
            .chars()
            .next()
            .is_some_and(char::is_alphabetic)
    {
        return Some((code, 0.95, head.len()));
    }
    None
}

/// Finds the document's currency in its text. Codes count most, specific symbols next, bare
/// `$` / `¥` least; the best-supported currency wins. Without any evidence, the hinted default
/// currency is returned with a low confidence, else nothing.
pub fn detect_currency(text: &str, hints: &LocaleHints) -> Option<CurrencyMatch> {
    // (code, weighted confidence, token, confidence)
    let mut votes: Vec<(&'static str, f32, String, f32)> = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let i = chars[k].0;
        let prev_alpha = k > 0 && chars[k - 1].1.is_alphabetic();
        if prev_alpha {
            k += 1;
            continue;
        }
        let rest = &text[i..];
        if let Some((code, conf, len)) = leading_currency(rest, hints) {
            let token = &rest[..len];
            // Glued to what comes before: a word with digits ("HELADEF1GEL", a SWIFT code) or
            // a long digit run (a barcode read with a stray "€") is no amount's currency.
            let glued: &str = text[..i]
                .rsplit(|c: char| c.is_whitespace() || matches!(c, ':' | '(' | '[' | '/' | '='))
                .next()
                .unwrap_or_default();
            let glued_digits = glued.chars().filter(char::is_ascii_digit).count();
            if glued.chars().any(char::is_alphabetic)
                || (glued_digits >= 8 && !glued.contains(['.', ',']))
            {
                k += token.chars().count();
                continue;
            }
            // Beside a number, allowing punctuation and a line break between: "RM 9.00",
            // "(RM): 9.00", "9.00 kr", a "TOTAL (RM)" label with its amount on the next line.
            let skip = |c: &char| !c.is_alphanumeric();
            let near_number = text[..i]
                .chars()
                .rev()
                .find(|c| !skip(c))
                .is_some_and(|c| c.is_ascii_digit())
                || rest[len..]
                    .chars()
                    .find(|c| !skip(c))
                    .is_some_and(|c| c.is_ascii_digit());
            let wordlike = WORDLIKE_CODES.contains(&token);
            // Word-like codes need the number right beside them, spaces only between ("PEN 12.00",
            // never "SDN BHD (1234-X)").
            // The amount itself, not a product code or size ("R3 GEL", "PEN 0.5MM").
            let amount_like = |t: &str| {
                let t = t.trim_matches(|c: char| matches!(c, ':' | '(' | ')' | '-'));
                t.chars().any(|c| c.is_ascii_digit())
                    && t.chars()
                        .all(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '\'' | '-'))
            };
            let tight_number = text[..i]
                .trim_end_matches(' ')
                .rsplit(char::is_whitespace)
                .next()
                .is_some_and(amount_like)
                || rest[len..]
                    .trim_start_matches(' ')
                    .split(char::is_whitespace)
                    .next()
                    .is_some_and(amount_like);
            let after_sdn = text[..i].trim_end().to_uppercase().ends_with("SDN")
                || text[..i].trim_end().ends_with(')');
            let near_number = if wordlike {
                tight_number && !after_sdn
            } else {
                near_number
            };
            let weak_letters = matches!(token, "Rs" | "kr" | "Ft" | "RM" | "Rp" | "Fr.");
            if (!wordlike && !weak_letters) || near_number {
                let weight = if token.len() == 3 && token.bytes().all(|b| b.is_ascii_uppercase()) {
                    3.0
                } else if token == "$" || token == "¥" {
                    1.0
                } else {
                    2.0
                };
                votes.push((code, conf * weight, token.to_string(), conf));
            }
            k += token.chars().count();
            continue;
        }
        k += 1;
    }
    // votes: (code, confidence, weighted confidence, token)
    let mut best: Option<(&'static str, f32, f32, String)> = None;
    for (code, _, token, _) in &votes {
        let mine = votes.iter().filter(|v| v.0 == *code);
        let score: f32 = mine.clone().map(|v| v.1).sum();
        if best.as_ref().is_none_or(|b| score > b.2) {
            let conf = mine.map(|v| v.3).fold(0.0, f32::max);
            best = Some((code, conf, score, token.clone()));
        }
    }
    if let Some((code, confidence, _, evidence)) = best {
        return Some(CurrencyMatch {
            code: code.to_string(),
            evidence,
            confidence,
        });
    }
    hints
        .currency
        .as_deref()
        .and_then(|c| Currency::from_code(&c.to_ascii_uppercase()))
        .map(|c| CurrencyMatch {
            code: c.code().to_string(),
            evidence: "locale default".into(),
            confidence: 0.3,
        })
}

/// The currency of a whole document, and the hints completed with the country it names.
///
/// Symbols and codes in `text` decide ([`detect_currency`]), else the locale's default. Where
/// no country is hinted, the country the document's words name ([`infer_country`] over
/// `words()`, the text upper-cased with punctuation as spaces) joins the hints; and where the
/// text shows only a bare `$`/`¥`, or nothing, that country's currency wins.
pub fn document_currency(
    text: &str,
    words: impl FnOnce() -> String,
    hints: &LocaleHints,
) -> (LocaleHints, Option<CurrencyMatch>) {
    let mut hints = hints.clone();
    let inferred = if hints.country.is_none() {
        infer_country(&words())
    } else {
        None
    };
    if let Some(c) = inferred {
        hints.country = Some(c.to_string());
    }
    let mut currency = detect_currency(text, &hints);
    let weak = currency
        .as_ref()
        .is_none_or(|c| matches!(c.evidence.as_str(), "$" | "¥"));
    if weak && let Some(code) = inferred.and_then(country_currency) {
        currency = Some(CurrencyMatch {
            code: code.to_string(),
            evidence: format!("country {}", inferred.unwrap_or_default()),
            confidence: 0.6,
        });
    }
    (hints, currency)
}

/// The country a document names through its legal forms, places and words, when the cues are
/// unmistakable. `words` is the document's text upper-cased with punctuation as spaces.
pub fn infer_country(words: &str) -> Option<&'static str> {
    let padded = format!(" {words} ");
    let count = |cues: &[&str]| {
        cues.iter()
            .filter(|c| padded.contains(&format!(" {c} ")))
            .count()
    };
    let my = count(&[
        "SDN BHD",
        "SDN",
        "BHD",
        "BERHAD",
        "MALAYSIA",
        "SELANGOR",
        "KUALA LUMPUR",
        "JOHOR",
        "JALAN",
        "JLN",
        "TAMAN",
        "PULAU PINANG",
        "PERAK",
        "SABAH",
        "SARAWAK",
        "MELAKA",
        "KEDAH",
    ]);
    // PB1 (the Indonesian restaurant tax) and NPWP (tax id) count twice: no other country
    // prints them.
    let id = count(&[
        "JAKARTA",
        "TUNAI",
        "KEMBALI",
        "KEMBALIAN",
        "NPWP",
        "TERIMA KASIH",
        "BANDUNG",
        "SURABAYA",
        "JL",
        "PPN",
        "PB 1",
        "INDONESIA",
        "BCA",
        "GOPAY",
    ]) + count(&["PB 1", "NPWP"]);
    let sg = count(&["SINGAPORE", "PTE LTD", "PTE"]);
    match (my, id, sg) {
        (m, i, s) if m >= 1 && m > i && m > s => Some("MY"),
        (m, i, s) if i >= 2 && i > m && i > s => Some("ID"),
        (m, i, s) if s >= 1 && s > m && s > i => Some("SG"),
        _ => None,
    }
}

/// The currency of a country [`infer_country`] can name.
pub fn country_currency(country: &str) -> Option<&'static str> {
    match country {
        "MY" => Some("MYR"),
        "ID" => Some("IDR"),
        "SG" => Some("SGD"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(text: &str) -> Option<String> {
        detect_currency(text, &LocaleHints::default()).map(|m| m.code)
    }

    fn with_country(text: &str, country: &str) -> Option<String> {
        let hints = LocaleHints {
            country: Some(country.into()),
            ..LocaleHints::default()
        };
        detect_currency(text, &hints).map(|m| m.code)
    }

    #[test]
    fn codes_and_symbols() {
        let cases = [
            ("TOTAL RM 12.50", "MYR"),
            ("Total (RM): 9.00", "MYR"),
            ("Summe 12,50 €", "EUR"),
            ("EUR 1.234,56", "EUR"),
            ("Amount due USD 1,200", "USD"),
            ("Total £4.50", "GBP"),
            ("Rp 1.346.000", "IDR"),
            ("Итого 450 ₽", "RUB"),
            ("ИТОГО 450 руб.", "RUB"),
            ("S$ 12.00", "SGD"),
            ("HK$ 88", "HKD"),
            ("Razem 12,00 zł", "PLN"),
            ("Celkem 120 Kč", "CZK"),
            ("Összesen 1 200 Ft", "HUF"),
            ("₹ 450.00", "INR"),
            ("Total ₩ 12,000", "KRW"),
            ("Tổng 50.000 ₫", "VND"),
            ("รวม ฿120", "THB"),
            ("Total: $4.11", "USD"),
            ("Total CHF 12.50", "CHF"),
        ];
        for (text, code) in cases {
            assert_eq!(detect(text).as_deref(), Some(code), "{text}");
        }
    }

    #[test]
    fn context_resolves_dollar_yen_and_krona() {
        assert_eq!(with_country("Total $12.00", "AU").as_deref(), Some("AUD"));
        assert_eq!(with_country("Total $12.00", "CA").as_deref(), Some("CAD"));
        assert_eq!(with_country("合计 ¥12", "CN").as_deref(), Some("CNY"));
        assert_eq!(detect("合計 ¥1200").as_deref(), Some("JPY"));
        assert_eq!(
            with_country("Att betala 120 kr", "SE").as_deref(),
            Some("SEK")
        );
        assert_eq!(with_country("I alt 120 kr", "DK").as_deref(), Some("DKK"));
        assert_eq!(
            detect("Total 120 kr"),
            None,
            "kr alone does not say which krona"
        );
        // A code outvotes a bare dollar sign.
        assert_eq!(
            detect("$ 12.00\nAll amounts in SGD").as_deref(),
            Some("SGD")
        );
    }

    #[test]
    fn never_invented() {
        for text in [
            "TOTAL 12.50",
            "ALL ITEMS",
            "TOP SELLER",
            "Thank you",
            "PEN x2",
            "M&G R3 GEL PEN 0.5MM 3'S",
            "SWIFT HELADEF1GEL",
            "955689420000€ 1",
            "Rsvp",
            "krone",
            "",
        ] {
            assert_eq!(detect(text), None, "{text}");
        }
        assert_eq!(detect("PEN 12.00").as_deref(), Some("PEN"));
        assert_eq!(detect("Total Incl. GST:RM 50.45").as_deref(), Some("MYR"));
        let hints = LocaleHints {
            currency: Some("myr".into()),
            ..LocaleHints::default()
        };
        let m = detect_currency("TOTAL 12.50", &hints).expect("default");
        assert_eq!(
            (m.code.as_str(), m.evidence.as_str()),
            ("MYR", "locale default")
        );
        assert!(m.confidence < 0.5);
    }

    #[test]
    fn minor_units() {
        assert_eq!(minor_unit("EUR"), Some(2));
        assert_eq!(minor_unit("JPY"), Some(0));
        assert_eq!(minor_unit("IDR"), Some(0));
        assert_eq!(minor_unit("KWD"), Some(3));
        assert_eq!(minor_unit("XYZ"), None);
    }

    #[test]
    fn a_document_naming_its_country_gets_its_currency_over_a_bare_dollar() {
        let words = || "JALAN AMPANG KUALA LUMPUR TOTAL 12 00".to_string();
        let (hints, c) = document_currency("TOTAL $12.00", words, &LocaleHints::default());
        assert_eq!(hints.country.as_deref(), Some("MY"));
        assert_eq!(c.map(|c| c.code), Some("MYR".to_string()));
        let hinted = LocaleHints {
            country: Some("US".into()),
            ..LocaleHints::default()
        };
        let (hints, c) = document_currency("TOTAL $12.00", words, &hinted);
        assert_eq!(
            hints.country.as_deref(),
            Some("US"),
            "a hint is never overridden"
        );
        assert_eq!(c.map(|c| c.code), Some("USD".to_string()));
        assert_eq!(infer_country("PTE LTD SINGAPORE"), Some("SG"));
        assert_eq!(infer_country("GMBH BERLIN"), None);
    }
}
