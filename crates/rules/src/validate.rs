//! From raw strings to normalised fields, and the arithmetic cross-checks.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::amount::{format_amount, parse_amount};
use crate::currency::{LocaleHints, detect_currency, iso_code, leading_currency, minor_unit};
use crate::date::{DateContext, format_date, parse_date};
use crate::items::{
    NormalizedItem, NormalizedTaxLine, RawLineItem, RawTaxLine, check_item_sum, normalize_items,
    normalize_tax_lines, passthrough_items, passthrough_tax_lines,
};
use crate::merchant::clean_merchant;

/// A raw value a backend found, with the backend's confidence in it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldInput {
    pub raw: String,
    pub confidence: f32,
}

impl FieldInput {
    pub fn new(raw: impl Into<String>, confidence: f32) -> Self {
        FieldInput {
            raw: raw.into(),
            confidence,
        }
    }
}

/// Lines that legitimately make subtotal + tax differ from the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    Rounding,
    ServiceCharge,
    Discount,
    Tip,
}

/// An adjustment line's raw amount. Discounts count negative whatever their printed sign.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Adjustment {
    pub kind: AdjustmentKind,
    pub raw: String,
}

/// What a backend found: raw strings for the six fields and the adjustment lines.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RawFields {
    pub merchant: Option<FieldInput>,
    pub date: Option<FieldInput>,
    pub currency: Option<FieldInput>,
    pub subtotal: Option<FieldInput>,
    pub tax_amount: Option<FieldInput>,
    pub total: Option<FieldInput>,
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    /// The document is a refund or credit note: its amounts are negative (one printed without
    /// a sign is made negative) and a negative amount raises no warning.
    #[serde(default)]
    pub refund: bool,
    /// The item rows, top to bottom.
    #[serde(default)]
    pub line_items: Vec<RawLineItem>,
    /// The tax summary's rows, one per rate.
    #[serde(default)]
    pub tax_breakdown: Vec<RawTaxLine>,
}

/// Locale hints, today's date, and whether the rules run at all.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleContext {
    pub hints: LocaleHints,
    pub today: NaiveDate,
    /// `RULES_ENABLED=0`: raw values pass through untouched.
    pub enabled: bool,
}

impl Default for RuleContext {
    fn default() -> Self {
        RuleContext {
            hints: LocaleHints::default(),
            today: chrono::Local::now().date_naive(),
            enabled: true,
        }
    }
}

/// A normalised field: the value (or null), the raw string it came from, a confidence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NormalizedField {
    pub value: Option<String>,
    pub raw: Option<String>,
    pub confidence: f32,
}

/// A problem the rules found; values are never silently changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// Stable, e.g. `mismatch.total`, `unparsed.date`, `ambiguous.date`, `negative.total`.
    pub code: String,
    pub message: String,
}

/// The six normalised fields and the warnings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Normalized {
    pub merchant: NormalizedField,
    pub date: NormalizedField,
    pub currency: NormalizedField,
    pub subtotal: NormalizedField,
    pub tax_amount: NormalizedField,
    pub total: NormalizedField,
    /// Indexed like [`RawFields::line_items`] (an item is never dropped).
    pub line_items: Vec<NormalizedItem>,
    /// Indexed like [`RawFields::tax_breakdown`].
    pub tax_breakdown: Vec<NormalizedTaxLine>,
    pub warnings: Vec<Warning>,
}

fn warn(out: &mut Vec<Warning>, code: &str, message: String) {
    out.push(Warning {
        code: code.to_string(),
        message,
    });
}

fn passthrough(f: &Option<FieldInput>) -> NormalizedField {
    f.as_ref()
        .map(|f| NormalizedField {
            value: Some(f.raw.trim().to_string()),
            raw: Some(f.raw.clone()),
            confidence: f.confidence,
        })
        .unwrap_or_default()
}

/// Normalises and cross-checks the raw fields.
pub fn normalize(raw: &RawFields, ctx: &RuleContext) -> Normalized {
    if !ctx.enabled {
        return Normalized {
            merchant: passthrough(&raw.merchant),
            date: passthrough(&raw.date),
            currency: passthrough(&raw.currency),
            subtotal: passthrough(&raw.subtotal),
            tax_amount: passthrough(&raw.tax_amount),
            total: passthrough(&raw.total),
            line_items: passthrough_items(&raw.line_items),
            tax_breakdown: passthrough_tax_lines(&raw.tax_breakdown),
            warnings: Vec::new(),
        };
    }
    let mut warnings = Vec::new();

    // Currency first: it sets the amounts' scale.
    let mut currency = NormalizedField::default();
    if let Some(f) = &raw.currency {
        let trimmed = f.raw.trim();
        let found = iso_code(&trimmed.to_ascii_uppercase())
            .map(|c| (c.to_string(), 1.0))
            // A bare symbol given as the currency field ("RM", "kr" with a hint).
            .or_else(|| {
                leading_currency(trimmed, &ctx.hints)
                    .filter(|(_, _, len)| trimmed[*len..].trim().is_empty())
                    .map(|(c, conf, _)| (c.to_string(), conf))
            })
            .or_else(|| detect_currency(trimmed, &ctx.hints).map(|m| (m.code, m.confidence)));
        match found {
            Some((code, conf)) => {
                currency = NormalizedField {
                    value: Some(code),
                    raw: Some(f.raw.clone()),
                    confidence: f.confidence * conf,
                }
            }
            None => warn(
                &mut warnings,
                "unparsed.currency",
                format!("{:?} is not a known currency", f.raw),
            ),
        }
    }

    let mut amounts: [(NormalizedField, Option<Decimal>); 3] = Default::default();
    for (k, (name, f)) in [
        ("subtotal", &raw.subtotal),
        ("tax_amount", &raw.tax_amount),
        ("total", &raw.total),
    ]
    .into_iter()
    .enumerate()
    {
        let Some(f) = f else { continue };
        match parse_amount(&f.raw, currency.value.as_deref()) {
            Ok(p) => {
                if currency.value.is_none()
                    && let Some(code) = p.currency
                {
                    currency = NormalizedField {
                        value: Some(code.to_string()),
                        raw: Some(f.raw.clone()),
                        confidence: f.confidence * 0.9,
                    };
                }
                let mut conf = f.confidence * if p.repaired { 0.8 } else { 1.0 };
                let value = if raw.refund && p.value > Decimal::ZERO {
                    -p.value
                } else {
                    p.value
                };
                if value.is_sign_negative() && !value.is_zero() && !raw.refund {
                    conf *= 0.5;
                    warn(
                        &mut warnings,
                        &format!("negative.{name}"),
                        format!("{name} {value} is negative on a document that is not a refund"),
                    );
                }
                amounts[k] = (
                    NormalizedField {
                        value: Some(format_amount(&value)),
                        raw: Some(f.raw.clone()),
                        confidence: conf,
                    },
                    Some(value),
                );
            }
            Err(e) => warn(&mut warnings, &format!("unparsed.{name}"), e.to_string()),
        }
    }
    // Amounts parsed before the currency was known get its scale now.
    if let Some(m) = currency.value.as_deref().and_then(minor_unit) {
        for (field, value) in amounts.iter_mut() {
            if let Some(v) = value
                && v.scale() < m
            {
                v.rescale(m);
                field.value = Some(format_amount(v));
            }
        }
    }
    let [
        (mut subtotal, sub_v),
        (mut tax_amount, tax_v),
        (mut total, total_v),
    ] = amounts;
    cross_check(
        raw,
        currency.value.as_deref(),
        (&mut subtotal, sub_v),
        (&mut tax_amount, tax_v),
        (&mut total, total_v),
        &mut warnings,
    );
    let code = currency.value.as_deref();
    let mut line_items = normalize_items(&raw.line_items, code, raw.refund, &mut warnings);
    check_item_sum(
        &mut line_items,
        subtotal.value.as_deref(),
        total.value.as_deref(),
        code,
        &mut warnings,
    );
    let tax_breakdown = normalize_tax_lines(
        &raw.tax_breakdown,
        code,
        tax_amount.value.as_deref(),
        &mut warnings,
    );

    let mut date = NormalizedField::default();
    if let Some(f) = &raw.date {
        let dctx = DateContext::from_hints(&ctx.hints, currency.value.as_deref(), ctx.today);
        match parse_date(&f.raw, &dctx) {
            Ok(d) => {
                if d.ambiguous {
                    warn(
                        &mut warnings,
                        "ambiguous.date",
                        format!(
                            "{:?} could be read day-first or month-first; read day-first",
                            f.raw
                        ),
                    );
                }
                date = NormalizedField {
                    value: Some(format_date(d.date)),
                    raw: Some(f.raw.clone()),
                    confidence: f.confidence * d.confidence,
                };
            }
            Err(e) => warn(&mut warnings, "unparsed.date", e.to_string()),
        }
    }

    let mut merchant = NormalizedField::default();
    if let Some(f) = &raw.merchant {
        match clean_merchant(&f.raw) {
            Some(name) => {
                merchant = NormalizedField {
                    value: Some(name),
                    raw: Some(f.raw.clone()),
                    confidence: f.confidence,
                }
            }
            None => warn(
                &mut warnings,
                "unparsed.merchant",
                format!("{:?} is not a name", f.raw),
            ),
        }
    }

    Normalized {
        merchant,
        date,
        currency,
        subtotal,
        tax_amount,
        total,
        line_items,
        tax_breakdown,
        warnings,
    }
}

/// subtotal + tax (+ adjustments) = total within the currency's minor unit → confidence up;
/// otherwise a warning. Also: tax no larger than the total.
fn cross_check(
    raw: &RawFields,
    currency: Option<&str>,
    subtotal: (&mut NormalizedField, Option<Decimal>),
    tax: (&mut NormalizedField, Option<Decimal>),
    total: (&mut NormalizedField, Option<Decimal>),
    warnings: &mut Vec<Warning>,
) {
    let unit = Decimal::new(1, currency.and_then(minor_unit).unwrap_or(2));
    let adjustments: Decimal = raw
        .adjustments
        .iter()
        .filter_map(|a| {
            parse_amount(&a.raw, currency).ok().map(|p| match a.kind {
                AdjustmentKind::Discount => -p.value.abs(),
                _ => p.value,
            })
        })
        .sum();
    let boost = |f: &mut NormalizedField| {
        f.confidence = (f.confidence + (1.0 - f.confidence) * 0.6).min(1.0)
    };
    match (subtotal.1, tax.1, total.1) {
        (Some(s), Some(t), Some(g)) => {
            let diff = (s + t + adjustments - g).abs();
            let diff_no_adj = (s + t - g).abs();
            if diff < unit || diff_no_adj < unit {
                boost(subtotal.0);
                boost(tax.0);
                boost(total.0);
            } else if (s + adjustments - g).abs() < unit || (s - g).abs() < unit {
                // Tax included in the subtotal (common in the EU and Malaysia): still consistent.
                boost(subtotal.0);
                boost(total.0);
            } else {
                warnings.push(Warning {
                    code: "mismatch.total".into(),
                    message: format!("subtotal {s} + tax {t} + adjustments {adjustments} = {} differs from total {g}", s + t + adjustments),
                });
            }
        }
        (Some(s), None, Some(g)) => {
            if (s + adjustments - g).abs() < unit || (s - g).abs() < unit {
                boost(subtotal.0);
                boost(total.0);
            } else if s > g + adjustments.abs() + unit {
                warnings.push(Warning {
                    code: "mismatch.subtotal".into(),
                    message: format!("subtotal {s} is larger than total {g}"),
                });
            }
        }
        _ => {}
    }
    if let (Some(t), Some(g)) = (tax.1, total.1)
        && t.abs() > g.abs()
    {
        tax.0.confidence *= 0.5;
        warnings.push(Warning {
            code: "mismatch.tax_amount".into(),
            message: format!("tax {t} is larger than total {g}"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> RuleContext {
        RuleContext {
            today: NaiveDate::from_ymd_opt(2026, 11, 22).expect("date"),
            ..RuleContext::default()
        }
    }

    fn f(s: &str) -> Option<FieldInput> {
        Some(FieldInput::new(s, 0.8))
    }

    #[test]
    fn consistent_amounts_raise_confidence() {
        let raw = RawFields {
            subtotal: f("100.00"),
            tax_amount: f("6.00"),
            total: f("106.00"),
            currency: f("RM"),
            ..RawFields::default()
        };
        let out = normalize(&raw, &ctx());
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
        assert!(out.total.confidence > 0.9);
        assert_eq!(out.currency.value.as_deref(), Some("MYR"));
    }

    #[test]
    fn adjustments_and_rounding_count() {
        let raw = RawFields {
            subtotal: f("10.02"),
            tax_amount: f("0.60"),
            total: f("10.60"),
            adjustments: vec![Adjustment {
                kind: AdjustmentKind::Rounding,
                raw: "-0.02".into(),
            }],
            ..RawFields::default()
        };
        assert!(normalize(&raw, &ctx()).warnings.is_empty());
        let raw = RawFields {
            subtotal: f("50.00"),
            tax_amount: f("3.00"),
            total: f("48.00"),
            adjustments: vec![Adjustment {
                kind: AdjustmentKind::Discount,
                raw: "5.00".into(),
            }],
            ..RawFields::default()
        };
        assert!(normalize(&raw, &ctx()).warnings.is_empty());
    }

    #[test]
    fn mismatches_warn_and_never_change_values() {
        let raw = RawFields {
            subtotal: f("100.00"),
            tax_amount: f("6.00"),
            total: f("160.00"),
            ..RawFields::default()
        };
        let out = normalize(&raw, &ctx());
        assert_eq!(out.total.value.as_deref(), Some("160.00"));
        assert_eq!(out.warnings[0].code, "mismatch.total");
        let raw = RawFields {
            tax_amount: f("20.00"),
            total: f("10.00"),
            ..RawFields::default()
        };
        let out = normalize(&raw, &ctx());
        assert!(out.warnings.iter().any(|w| w.code == "mismatch.tax_amount"));
        assert!(out.tax_amount.confidence < 0.5);
    }

    #[test]
    fn negative_amounts_only_on_refunds() {
        let raw = RawFields {
            total: f("(12.50)"),
            ..RawFields::default()
        };
        let out = normalize(&raw, &ctx());
        assert_eq!(out.total.value.as_deref(), Some("-12.50"));
        assert_eq!(out.warnings[0].code, "negative.total");
        let out = normalize(
            &RawFields {
                refund: true,
                ..raw
            },
            &ctx(),
        );
        assert!(out.warnings.is_empty());
        // A credit note's amounts printed without a sign are negative.
        let out = normalize(
            &RawFields {
                subtotal: f("120,00"),
                tax_amount: f("24,00"),
                total: f("144,00"),
                refund: true,
                ..RawFields::default()
            },
            &ctx(),
        );
        assert_eq!(out.total.value.as_deref(), Some("-144.00"));
        assert_eq!(out.subtotal.value.as_deref(), Some("-120.00"));
        assert_eq!(out.tax_amount.value.as_deref(), Some("-24.00"));
        assert_eq!(
            out.total.raw.as_deref(),
            Some("144,00"),
            "raw stays as printed"
        );
        assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    }

    #[test]
    fn currency_scale_applies_to_amounts() {
        let raw = RawFields {
            total: f("Rp 1.346.000"),
            subtotal: f("1.346.000"),
            ..RawFields::default()
        };
        let out = normalize(&raw, &ctx());
        assert_eq!(out.currency.value.as_deref(), Some("IDR"));
        assert_eq!(out.total.value.as_deref(), Some("1346000"));
        assert_eq!(out.subtotal.value.as_deref(), Some("1346000"));
        let raw = RawFields {
            total: f("4"),
            currency: f("usd"),
            ..RawFields::default()
        };
        assert_eq!(normalize(&raw, &ctx()).total.value.as_deref(), Some("4.00"));
    }

    #[test]
    fn dates_merchants_and_bad_strings() {
        let raw = RawFields {
            date: f("03/04/2024"),
            merchant: f("|| KEDAI RUNCIT MAJU SDN BHD"),
            total: f("TOTAL"),
            ..RawFields::default()
        };
        let out = normalize(&raw, &ctx());
        assert_eq!(out.date.value.as_deref(), Some("2024-04-03"));
        assert!(out.warnings.iter().any(|w| w.code == "ambiguous.date"));
        assert!(out.warnings.iter().any(|w| w.code == "unparsed.total"));
        assert_eq!(out.total.value, None);
        assert_eq!(
            out.merchant.value.as_deref(),
            Some("KEDAI RUNCIT MAJU SDN BHD")
        );
    }

    #[test]
    fn disabled_rules_pass_raw_values_through() {
        let raw = RawFields {
            total: f(" RM 12,50 "),
            ..RawFields::default()
        };
        let out = normalize(
            &raw,
            &RuleContext {
                enabled: false,
                ..ctx()
            },
        );
        assert_eq!(out.total.value.as_deref(), Some("RM 12,50"));
    }
}
