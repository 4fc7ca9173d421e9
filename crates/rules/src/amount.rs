//! Amounts as printed on receipts → exact decimals (never a float).

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::currency::{LocaleHints, leading_currency, minor_unit};

/// Why a string is not an amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    #[error("empty amount")]
    Empty,
    #[error("amount string too long ({0} characters)")]
    TooLong(usize),
    #[error("no digits in {0:?}")]
    NoDigits(String),
    #[error("{0:?} is not a number")]
    NotANumber(String),
    #[error("{0:?} has too many digits")]
    TooManyDigits(String),
}

/// An amount and what the string said besides the number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedAmount {
    /// Negative for `-12.50`, `12.50-` and `(12.50)`.
    pub value: Decimal,
    /// A currency printed with the amount (`RM 12.50`, `12,50 €`).
    pub currency: Option<&'static str>,
    /// True when letters had to be read as digits (`1O.5O`): an OCR confusion.
    pub repaired: bool,
}

const MAX_LEN: usize = 64;

/// Parses an amount. `currency` (an ISO code), when known, gives the scale: its minor unit
/// decides whether `1.346` is a thousand or a decimal, and results carry at least that many
/// decimals (`1234` USD is `1234.00`).
pub fn parse_amount(raw: &str, currency: Option<&str>) -> Result<ParsedAmount, AmountError> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(AmountError::Empty);
    }
    let n_chars = s.chars().count();
    if n_chars > MAX_LEN {
        return Err(AmountError::TooLong(n_chars));
    }
    let hints = LocaleHints::default();
    let mut seen_currency: Option<&'static str> = None;
    let mut negative = false;
    // Accounting parentheses enclose the number (`(65.50)`, `(RM 65.50)`); a currency in
    // parentheses before it (`(RM) 65.50`) is not a sign.
    let mut paren_open = false;
    let mut body = String::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if !c.is_ascii_digit()
            && let Some((code, _, len)) = leading_currency(rest, &hints)
        {
            seen_currency = seen_currency.or(Some(code));
            rest = &rest[len..];
            continue;
        }
        match c {
            '-' | '−' | '–' => {
                negative = true;
            }
            '(' if body.is_empty() => paren_open = true,
            ')' => {
                negative |= paren_open && !body.trim().is_empty();
                paren_open = false;
            }
            '+' | '*' | ':' | '=' => {}
            c if c.is_whitespace() || c == '\u{2009}' || c == '\u{202f}' => body.push(' '),
            _ => body.push(c),
        }
        rest = &rest[c.len_utf8()..];
    }
    // An opening parenthesis never closed (`(65.50`, the `)` lost) still marks a negative.
    negative |= paren_open;
    let minor = currency.or(seen_currency).and_then(minor_unit);
    let (digits, repaired) = repair_confusions(body.trim(), s)?;
    let value = digits_to_decimal(&digits, minor, s)?;
    let value = if negative { -value } else { value };
    Ok(ParsedAmount {
        value,
        currency: seen_currency,
        repaired,
    })
}

/// Reads letters OCR confuses with digits as digits, but only inside a number that already
/// has a real digit: O/o/D→0, l/I/|/i→1, S/s→5, B→8, Z→2. Any other letter fails the parse.
fn repair_confusions(body: &str, raw: &str) -> Result<(String, bool), AmountError> {
    if !body.chars().any(|c| c.is_ascii_digit()) {
        return Err(AmountError::NoDigits(raw.to_string()));
    }
    let mut out = String::with_capacity(body.len());
    let mut repaired = false;
    for c in body.chars() {
        let d = match c {
            '0'..='9' | '.' | ',' | '\'' | '’' | ' ' | '\u{a0}' => c,
            'O' | 'o' | 'D' => '0',
            'l' | 'I' | '|' | 'i' => '1',
            'S' | 's' => '5',
            'B' => '8',
            'Z' => '2',
            _ => return Err(AmountError::NotANumber(raw.to_string())),
        };
        repaired |= d != c;
        out.push(d);
    }
    Ok((out, repaired))
}

/// Decides which separator is the decimal mark and builds the decimal.
fn digits_to_decimal(body: &str, minor: Option<u32>, raw: &str) -> Result<Decimal, AmountError> {
    // Apostrophes (1'234.56) and spaces (1 234,56) only group thousands.
    let s: String = body
        .chars()
        .filter(|c| !matches!(c, '\'' | '’' | ' ' | '\u{a0}'))
        .collect();
    let seps: Vec<(usize, char)> = s
        .char_indices()
        .filter(|(_, c)| *c == '.' || *c == ',')
        .collect();
    let decimal_at: Option<usize> = match seps.as_slice() {
        [] => None,
        [(i, _)] => {
            let after = s.len() - i - 1;
            let before = *i;
            let thousands =
                after == 3 && before > 0 && before <= 3 && !s.starts_with('0') && minor != Some(3);
            if thousands || (minor == Some(0) && after == 3) || after == 0 {
                None
            } else {
                Some(*i)
            }
        }
        many => {
            let (last_i, last_c) = many[many.len() - 1];
            let mixed = many.iter().any(|(_, c)| *c != last_c);
            let last_group = s.len() - last_i - 1;
            if mixed || (last_group != 3 && last_group > 0) || (last_group == 3 && minor == Some(3))
            {
                Some(last_i)
            } else {
                None
            }
        }
    };
    let mut int_part = String::new();
    let mut frac_part = String::new();
    for (i, c) in s.char_indices() {
        if c.is_ascii_digit() {
            if decimal_at.is_some_and(|d| i > d) {
                frac_part.push(c);
            } else {
                int_part.push(c);
            }
        }
    }
    if int_part.is_empty() && frac_part.is_empty() {
        return Err(AmountError::NoDigits(raw.to_string()));
    }
    let int_trimmed = int_part.trim_start_matches('0');
    if int_trimmed.len() + frac_part.len() > 20 || frac_part.len() > 12 {
        return Err(AmountError::TooManyDigits(raw.to_string()));
    }
    let text = format!(
        "{}.{}",
        if int_trimmed.is_empty() {
            "0"
        } else {
            int_trimmed
        },
        if frac_part.is_empty() {
            "0"
        } else {
            &frac_part
        }
    );
    let mut value =
        Decimal::from_str(&text).map_err(|_| AmountError::NotANumber(raw.to_string()))?;
    let printed_scale = frac_part.len() as u32;
    match minor {
        Some(m) => {
            // At least the currency's decimals; trailing zeros beyond them dropped.
            value = value.normalize();
            if value.scale() < m {
                value.rescale(m);
            }
        }
        None => value.rescale(printed_scale),
    }
    Ok(value)
}

/// An amount as the plain decimal string the JSON output carries (`"1346000"`, `"9.00"`).
pub fn format_amount(value: &Decimal) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn amount(raw: &str, currency: Option<&str>) -> String {
        parse_amount(raw, currency)
            .unwrap_or_else(|e| panic!("{raw:?}: {e}"))
            .value
            .to_string()
    }

    #[test]
    fn printed_styles() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("1,234.56", None, "1234.56"),
            ("1.234,56", None, "1234.56"),
            ("1 234,56", None, "1234.56"),
            ("1\u{a0}234,56", None, "1234.56"),
            ("1\u{202f}234,56", None, "1234.56"),
            ("1'234.56", None, "1234.56"),
            ("1’234.56", None, "1234.56"),
            ("1234", Some("USD"), "1234.00"),
            ("1234", None, "1234"),
            ("RM 12.50", None, "12.50"),
            ("RM12.50", None, "12.50"),
            ("12.50-", None, "-12.50"),
            ("RMI11.90", None, "111.90"),
            ("-12.50", None, "-12.50"),
            ("(12.50)", None, "-12.50"),
            ("(RM 12.50)", None, "-12.50"),
            ("(12.50", None, "-12.50"),
            ("(RM) 65.50", None, "65.50"),
            ("(€) 12,50", None, "12.50"),
            ("€12,50", None, "12.50"),
            ("12,50 €", None, "12.50"),
            ("12,50€", None, "12.50"),
            ("USD 1,200", None, "1200.00"),
            ("Rp 1.346.000", None, "1346000"),
            ("1.346.000", Some("IDR"), "1346000"),
            ("Rp. 50.000", None, "50000"),
            ("¥1,200", None, "1200"),
            ("1,200", Some("JPY"), "1200"),
            ("0.500", Some("KWD"), "0.500"),
            ("1.234", Some("KWD"), "1.234"),
            ("1.234", Some("EUR"), "1234.00"),
            ("0,99", None, "0.99"),
            (".99", None, "0.99"),
            ("12.5", Some("USD"), "12.50"),
            ("12.500", Some("MYR"), "12500.00"),
            ("1.234.567,89", None, "1234567.89"),
            ("1,234,567.89", None, "1234567.89"),
            ("12,345,678", Some("USD"), "12345678.00"),
            ("9.00", Some("MYR"), "9.00"),
            ("9.000", Some("MYR"), "9000.00"),
            ("$ 4.11", None, "4.11"),
            ("4.11 USD", None, "4.11"),
            ("12.", None, "12"),
            ("  7.10 ", None, "7.10"),
            ("*12.00", None, "12.00"),
            ("= 12.00", None, "12.00"),
            ("+12.00", None, "12.00"),
        ];
        for (raw, cur, want) in cases {
            assert_eq!(amount(raw, *cur), *want, "{raw:?} with {cur:?}");
        }
    }

    #[test]
    fn ocr_confusions_in_a_numeric_context() {
        let cases = [
            ("1O.5O", "10.50"),
            ("l2.00", "12.00"),
            ("I2.S0", "12.50"),
            ("B.00", "8.00"),
            ("12,o0", "12.00"),
        ];
        for (raw, want) in cases {
            let p = parse_amount(raw, None).expect(raw);
            assert_eq!(p.value.to_string(), want, "{raw}");
            assert!(p.repaired, "{raw}");
        }
        assert!(!parse_amount("12.00", None).expect("ok").repaired);
    }

    #[test]
    fn currencies_seen_in_the_string() {
        assert_eq!(
            parse_amount("RM 12.50", None).expect("ok").currency,
            Some("MYR")
        );
        assert_eq!(
            parse_amount("12,50 €", None).expect("ok").currency,
            Some("EUR")
        );
        assert_eq!(parse_amount("12.50", None).expect("ok").currency, None);
    }

    #[test]
    fn bad_strings_are_errors_not_panics() {
        for raw in [
            "",
            "   ",
            "TOTAL",
            "OOO",
            "abc12",
            "12.50 apples",
            "€",
            "--",
            "()",
            "1.2.3.4.5.6.7.8.9.0.1.2.3.4.5.6.7.8.9.0.1",
        ] {
            assert!(parse_amount(raw, None).is_err(), "{raw:?} parsed");
        }
        assert_eq!(
            parse_amount(&"9".repeat(65), None),
            Err(AmountError::TooLong(65))
        );
        assert!(matches!(
            parse_amount(&"9".repeat(30), None),
            Err(AmountError::TooManyDigits(_))
        ));
    }
}
