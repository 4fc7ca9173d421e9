//! Line items and the tax breakdown: quantities, prices, amounts and rates as printed →
//! exact decimals; each item's quantity × unit price checked against its amount, the items'
//! sum against the subtotal or total, the breakdown's tax against the tax amount. What does not
//! add up lowers the confidence and raises a warning; no value is changed.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::amount::{format_amount, parse_amount};
use crate::currency::minor_unit;
use crate::validate::Warning;

/// One item as a backend read it (strings as printed).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawLineItem {
    pub description: Option<String>,
    /// `2`, `1,5 kg`, `3 Stk`, `x2`.
    pub quantity: Option<String>,
    pub unit_price: Option<String>,
    pub amount: Option<String>,
    /// The backend's confidence in the item as a whole (0..1).
    pub confidence: f32,
}

/// One row of a tax summary as a backend read it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawTaxLine {
    /// `19 %`, `7,00`, `6%`.
    pub rate: Option<String>,
    /// The net amount the rate applies to.
    pub base: Option<String>,
    /// The tax at that rate.
    pub amount: Option<String>,
    pub confidence: f32,
}

/// A normalised item: decimal strings, a confidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NormalizedItem {
    pub description: Option<String>,
    /// Plain decimal, no unit (`2`, `1.5`).
    pub quantity: Option<String>,
    /// Plain decimal, trailing zeros past the currency's minor unit dropped (`158.8800` →
    /// `158.88`).
    pub unit_price: Option<String>,
    /// Plain decimal; negative for discounts, returns and deposits given back.
    pub amount: Option<String>,
    pub confidence: f32,
}

/// A normalised tax row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NormalizedTaxLine {
    /// Percent as a plain decimal (`19`, `5.5`).
    pub rate: Option<String>,
    pub base: Option<String>,
    pub amount: Option<String>,
    pub confidence: f32,
}

/// A quantity as printed (`2`, `1,5 kg`, `3 Stk`, `x2`, `2x`, `1.000`) → a decimal. A lone
/// separator before three digits is a decimal mark (`1.000` is one: quantities of a thousand
/// are not printed that way on receipts or invoices).
pub fn parse_quantity(raw: &str) -> Option<Decimal> {
    let t = raw.trim();
    let t = t
        .strip_prefix(['x', 'X', '×'])
        .or_else(|| t.strip_suffix(['x', 'X', '×']))
        .unwrap_or(t)
        .trim();
    let start = t.find(|c: char| c.is_ascii_digit() || c == '-')?;
    let num: String = t[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ',' | '-'))
        .collect();
    // What follows the number is a unit (`Stk`, `kg`, `pcs`) or nothing.
    let rest = t[start + num.len()..].trim();
    if !t[..start].trim().is_empty() || rest.chars().any(|c| c.is_ascii_digit()) {
        return None;
    }
    let seps = num.matches(['.', ',']).count();
    let plain = match seps {
        0 => num,
        1 => num.replace(',', "."),
        _ => return None,
    };
    let v: Decimal = plain.parse().ok()?;
    (v.abs() < Decimal::from(1_000_000)).then(|| v.normalize())
}

/// A rate as printed (`19 %`, `7,00`, `5.5%`, `MwSt 19%`) → percent as a decimal.
pub fn parse_rate(raw: &str) -> Option<Decimal> {
    let t = raw.trim();
    let start = t.find(|c: char| c.is_ascii_digit())?;
    let num: String = t[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | ','))
        .collect();
    let v: Decimal = num.replace(',', ".").parse().ok()?;
    (v >= Decimal::ZERO && v <= Decimal::from(100)).then(|| v.normalize())
}

/// Trailing zeros dropped down to `scale` decimals (`158.8800` → `158.88` for EUR).
fn trimmed(v: Decimal, scale: u32) -> Decimal {
    let mut n = v.normalize();
    if n.scale() < scale {
        n.rescale(scale);
    }
    n
}

fn money(raw: &Option<String>, currency: Option<&str>, scale: u32) -> Result<Option<Decimal>, ()> {
    match raw.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => parse_amount(s, currency)
            .map(|p| Some(trimmed(p.value, scale)))
            .map_err(|_| ()),
    }
}

fn warn(out: &mut Vec<Warning>, code: &str, message: String) {
    out.push(Warning {
        code: code.into(),
        message,
    });
}

/// Normalises the items and checks each one's arithmetic (quantity × unit price = amount,
/// within half a minor unit per item rounding). `refund`: a credit note's items count negative.
pub fn normalize_items(
    items: &[RawLineItem],
    currency: Option<&str>,
    refund: bool,
    warnings: &mut Vec<Warning>,
) -> Vec<NormalizedItem> {
    let scale = currency.and_then(minor_unit).unwrap_or(2);
    let unit = Decimal::new(1, scale);
    let mut off = Vec::new();
    let out = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let mut conf = it.confidence.clamp(0.0, 1.0);
            let amount = money(&it.amount, currency, scale).unwrap_or_else(|()| {
                conf *= 0.5;
                None
            });
            let unit_price = money(&it.unit_price, currency, scale).unwrap_or(None);
            let quantity = it.quantity.as_deref().and_then(parse_quantity);
            let amount = amount.map(|a| if refund && a > Decimal::ZERO { -a } else { a });
            if let (Some(q), Some(p), Some(a)) = (quantity, unit_price, amount) {
                // Up to one minor unit of rounding (prices with four decimals).
                if (q * p - a).abs() <= unit || (q * p + a).abs() <= unit {
                    conf = (conf + (1.0 - conf) * 0.5).min(1.0);
                } else {
                    conf *= 0.7;
                    off.push(i + 1);
                }
            }
            NormalizedItem {
                description: it
                    .description
                    .as_deref()
                    .map(|d| d.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|d| !d.is_empty()),
                quantity: quantity.map(|q| q.to_string()),
                unit_price: unit_price.map(|p| format_amount(&p)),
                amount: amount.map(|a| format_amount(&a)),
                confidence: conf,
            }
        })
        .collect();
    if !off.is_empty() {
        warn(
            warnings,
            "mismatch.line_item",
            format!("quantity × unit price is not the amount on item(s) {off:?} (1-based)"),
        );
    }
    out
}

/// The items' amounts against the subtotal (else the total): adding up raises every item's
/// confidence, not adding up lowers it and warns. Nothing to check with fewer than one amount.
pub fn check_item_sum(
    items: &mut [NormalizedItem],
    subtotal: Option<&str>,
    total: Option<&str>,
    currency: Option<&str>,
    warnings: &mut Vec<Warning>,
) {
    let amounts: Vec<Decimal> = items
        .iter()
        .filter_map(|i| i.amount.as_deref()?.parse().ok())
        .collect();
    if amounts.is_empty() {
        return;
    }
    let sum: Decimal = amounts.iter().sum();
    let unit = Decimal::new(1, currency.and_then(minor_unit).unwrap_or(2));
    let targets: Vec<Decimal> = [subtotal, total]
        .into_iter()
        .flatten()
        .filter_map(|s| s.parse().ok())
        .collect();
    if targets.is_empty() {
        return;
    }
    let adds_up = targets.iter().any(|t| (sum - t).abs() < unit);
    for it in items.iter_mut() {
        it.confidence = if adds_up {
            (it.confidence + (1.0 - it.confidence) * 0.5).min(1.0)
        } else {
            it.confidence * 0.8
        };
    }
    if !adds_up {
        let against = if subtotal.is_some() {
            "subtotal"
        } else {
            "total"
        };
        warn(
            warnings,
            "mismatch.line_items",
            format!(
                "the {} line item amounts add up to {sum}, the {against} is {}",
                amounts.len(),
                targets[0]
            ),
        );
    }
}

/// Normalises the tax rows; their tax against the tax amount (and base + tax against the
/// total when the rows carry both) raises or lowers their confidence.
pub fn normalize_tax_lines(
    lines: &[RawTaxLine],
    currency: Option<&str>,
    tax_amount: Option<&str>,
    warnings: &mut Vec<Warning>,
) -> Vec<NormalizedTaxLine> {
    let scale = currency.and_then(minor_unit).unwrap_or(2);
    let unit = Decimal::new(1, scale);
    let mut out: Vec<NormalizedTaxLine> = Vec::with_capacity(lines.len());
    let mut off = Vec::new();
    let mut tax_sum = Decimal::ZERO;
    let mut all_taxes = true;
    for (i, l) in lines.iter().enumerate() {
        let mut conf = l.confidence.clamp(0.0, 1.0);
        let rate = l.rate.as_deref().and_then(parse_rate);
        let base = money(&l.base, currency, scale).unwrap_or(None);
        let amount = money(&l.amount, currency, scale).unwrap_or(None);
        match amount {
            Some(a) => tax_sum += a,
            None => all_taxes = false,
        }
        if let (Some(r), Some(b), Some(a)) = (rate, base, amount) {
            // Rounded per row: within one minor unit.
            if (b * r / Decimal::from(100) - a).abs() <= unit {
                conf = (conf + (1.0 - conf) * 0.5).min(1.0);
            } else {
                conf *= 0.7;
                off.push(i + 1);
            }
        }
        out.push(NormalizedTaxLine {
            rate: rate.map(|r| r.to_string()),
            base: base.map(|b| format_amount(&b)),
            amount: amount.map(|a| format_amount(&a)),
            confidence: conf,
        });
    }
    if !off.is_empty() {
        warn(
            warnings,
            "mismatch.tax_line",
            format!("base × rate is not the tax on tax row(s) {off:?} (1-based)"),
        );
    }
    if all_taxes
        && !out.is_empty()
        && let Some(t) = tax_amount.and_then(|t| t.parse::<Decimal>().ok())
    {
        let adds_up = (tax_sum - t).abs() < unit;
        for l in &mut out {
            l.confidence = if adds_up {
                (l.confidence + (1.0 - l.confidence) * 0.5).min(1.0)
            } else {
                l.confidence * 0.8
            };
        }
        if !adds_up {
            warn(
                warnings,
                "mismatch.tax_breakdown",
                format!("the tax rows add up to {tax_sum}, the tax amount is {t}"),
            );
        }
    }
    out
}

/// The strings as given, for `RULES_ENABLED=0`.
pub fn passthrough_items(items: &[RawLineItem]) -> Vec<NormalizedItem> {
    items
        .iter()
        .map(|i| NormalizedItem {
            description: i.description.clone(),
            quantity: i.quantity.clone(),
            unit_price: i.unit_price.clone(),
            amount: i.amount.clone(),
            confidence: i.confidence,
        })
        .collect()
}

/// The strings as given, for `RULES_ENABLED=0`.
pub fn passthrough_tax_lines(lines: &[RawTaxLine]) -> Vec<NormalizedTaxLine> {
    lines
        .iter()
        .map(|l| NormalizedTaxLine {
            rate: l.rate.clone(),
            base: l.base.clone(),
            amount: l.amount.clone(),
            confidence: l.confidence,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(desc: &str, q: &str, p: &str, a: &str) -> RawLineItem {
        let s = |v: &str| (!v.is_empty()).then(|| v.to_string());
        RawLineItem {
            description: s(desc),
            quantity: s(q),
            unit_price: s(p),
            amount: s(a),
            confidence: 0.6,
        }
    }

    #[test]
    fn quantities_as_printed() {
        for (raw, want) in [
            ("2", "2"),
            ("1,5 kg", "1.5"),
            ("3 Stk", "3"),
            ("x2", "2"),
            ("2x", "2"),
            ("1.000", "1"),
            ("0,250 kg", "0.25"),
            ("-1", "-1"),
        ] {
            assert_eq!(
                parse_quantity(raw).map(|q| q.to_string()).as_deref(),
                Some(want),
                "{raw}"
            );
        }
        for raw in ["", "Stk", "A4 2", "1.2.3", "12/03"] {
            assert_eq!(parse_quantity(raw), None, "{raw}");
        }
    }

    #[test]
    fn rates_as_printed() {
        for (raw, want) in [
            ("19 %", "19"),
            ("7,00", "7"),
            ("5.5%", "5.5"),
            ("MwSt 19%", "19"),
        ] {
            assert_eq!(
                parse_rate(raw).map(|r| r.to_string()).as_deref(),
                Some(want)
            );
        }
        assert_eq!(parse_rate("150 %"), None);
        assert_eq!(parse_rate("%"), None);
    }

    #[test]
    fn items_normalised_and_their_arithmetic_checked() {
        let mut w = Vec::new();
        let out = normalize_items(
            &[
                item("Übernachtung 2 Nächte", "1 Stk", "158,8800", "158,88"),
                item("Kaffee", "2", "2,50", "5,50"),
                item("Rabatt", "", "", "-1,00"),
                item("  Pfand\n 0,25 ", "", "", "0,25"),
            ],
            Some("EUR"),
            false,
            &mut w,
        );
        assert_eq!(out[0].unit_price.as_deref(), Some("158.88"));
        assert_eq!(out[0].quantity.as_deref(), Some("1"));
        assert_eq!(out[0].amount.as_deref(), Some("158.88"));
        assert!(out[0].confidence > 0.6, "the arithmetic holds");
        assert!(out[1].confidence < 0.6, "2 × 2.50 is not 5.50");
        assert_eq!(
            out[2].amount.as_deref(),
            Some("-1.00"),
            "a discount stays negative"
        );
        assert_eq!(out[3].description.as_deref(), Some("Pfand 0,25"));
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].code, "mismatch.line_item");
        assert!(w[0].message.contains("[2]"), "{}", w[0].message);
    }

    #[test]
    fn a_credit_notes_items_are_negative() {
        let mut w = Vec::new();
        let out = normalize_items(
            &[item("Return", "1", "10.00", "10.00")],
            Some("USD"),
            true,
            &mut w,
        );
        assert_eq!(out[0].amount.as_deref(), Some("-10.00"));
        assert!(
            w.is_empty(),
            "1 × 10.00 against -10.00 holds for a refund: {w:?}"
        );
    }

    #[test]
    fn the_sum_against_the_subtotal() {
        let mut w = Vec::new();
        let mut items = normalize_items(
            &[item("A", "", "", "10.00"), item("B", "", "", "5.50")],
            Some("USD"),
            false,
            &mut w,
        );
        check_item_sum(
            &mut items,
            Some("15.50"),
            Some("16.43"),
            Some("USD"),
            &mut w,
        );
        assert!(w.is_empty());
        assert!(items.iter().all(|i| i.confidence > 0.6));
        check_item_sum(&mut items, Some("25.50"), None, Some("USD"), &mut w);
        assert_eq!(w[0].code, "mismatch.line_items");
        assert!(w[0].message.contains("15.50"), "{}", w[0].message);
    }

    #[test]
    fn tax_rows_against_the_tax_amount() {
        let row = |r: &str, b: &str, a: &str| RawTaxLine {
            rate: Some(r.into()),
            base: Some(b.into()),
            amount: Some(a.into()),
            confidence: 0.6,
        };
        let mut w = Vec::new();
        let out = normalize_tax_lines(
            &[row("7 %", "202,33", "14,16"), row("19", "11,76", "2,23")],
            Some("EUR"),
            Some("16.39"),
            &mut w,
        );
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(out[0].rate.as_deref(), Some("7"));
        assert_eq!(out[0].base.as_deref(), Some("202.33"));
        assert!(out.iter().all(|l| l.confidence > 0.8));
        let out = normalize_tax_lines(
            &[row("19 %", "100,00", "9,00")],
            Some("EUR"),
            Some("19.00"),
            &mut w,
        );
        assert!(out[0].confidence < 0.6);
        let codes: Vec<&str> = w.iter().map(|w| w.code.as_str()).collect();
        assert_eq!(codes, ["mismatch.tax_line", "mismatch.tax_breakdown"]);
    }
}
