//! Property: an amount formatted in any supported locale style parses back to itself.

use proptest::prelude::*;
use rust_decimal::Decimal;

/// Formats `cents` (2 decimals) with the given thousands separator and decimal mark.
fn format(cents: u64, thousands: &str, decimal: char, symbol: (&str, bool)) -> String {
    let int = (cents / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i).is_multiple_of(3) {
            grouped.push_str(thousands);
        }
        grouped.push(c);
    }
    let body = format!("{grouped}{decimal}{:02}", cents % 100);
    match symbol {
        ("", _) => body,
        (s, true) => format!("{s}{body}"),
        (s, false) => format!("{body} {s}"),
    }
}

proptest! {
    #[test]
    fn locale_styles_parse_back(
        cents in 0u64..10_000_000_000,
        style in 0usize..5,
        symbol in prop::sample::select(vec![("", true), ("RM ", true), ("€", true), ("€", false), ("USD ", true), ("$", true), ("CHF", false)]),
        negative in any::<bool>(),
    ) {
        let (thousands, decimal) = [(",", '.'), (".", ','), (" ", ','), ("'", '.'), ("\u{a0}", ',')][style];
        let mut s = format(cents, thousands, decimal, symbol);
        if negative {
            s = format!("-{s}");
        }
        let want = Decimal::new(if negative { -(cents as i64) } else { cents as i64 }, 2);
        let got = rules::parse_amount(&s, None).map(|p| p.value);
        prop_assert_eq!(got, Ok(want), "{}", s);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,80}") {
        let _ = rules::parse_amount(&s, None);
        let ctx = rules::DateContext { order: None, today: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).expect("date") };
        let _ = rules::parse_date(&s, &ctx);
        let _ = rules::detect_currency(&s, &rules::LocaleHints::default());
        let _ = rules::clean_merchant(&s);
    }
}
