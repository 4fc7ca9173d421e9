//! Subtotal and tax: the labelled pair that adds up to the total, a tax summary table, the
//! adjustments (rounding, discount, service), and what the arithmetic implies where a line is
//! missing (an unlabelled tax, a subtotal equal to the total less its tax).

use rules::{Adjustment, AdjustmentKind, FieldInput, RawFields};
use rust_decimal::Decimal;

use super::money::{Money, money_evidence};
use super::pairing::Pairing;
use super::totals::Totals;
use super::{Draft, Line, input_value, v_overlap, y_centre};
use crate::labels::LabelKind;
use crate::types::{Field, FieldName};

/// Amounts the arithmetic implies, added after the rules so that they never confirm the total.
#[derive(Debug, Default)]
pub(super) struct Inferred {
    pub(super) subtotal: Option<(Money, f32)>,
    pub(super) tax: Option<Money>,
}

/// Chooses subtotal, tax and adjustments into the draft; returns the inferred amounts.
pub(super) fn subtotal_and_tax(
    lines: &[Line<'_>],
    money: &[Vec<Money>],
    p: &Pairing,
    tot: &Totals<'_>,
    table: Option<&crate::tax_table::TaxSummary>,
    d: &mut Draft,
) -> Inferred {
    let ev = |m: &Money| money_evidence(lines, m);
    let total_value = tot.money.as_ref().map(|m| m.value);
    // A subtotal above the total only when something was taken off (discounts, savings).
    let has_deduction = money.iter().flatten().any(|m| m.value < Decimal::ZERO);
    // The subtotal that adds up with a tax to the total, else the strongest label lowest down.
    let subtotal = tot
        .subtotals
        .iter()
        .filter(|s| has_deduction || total_value.is_none_or(|t| s.money.value <= t))
        .map(|s| {
            // Equal to the total only where no tax is charged.
            let untaxed = tot.taxes.iter().all(|t| t.money.value == Decimal::ZERO);
            let fits = total_value.is_some_and(|g| {
                (untaxed && s.money.value == g)
                    || tot.taxes.iter().any(|t| {
                        t.money.value > Decimal::ZERO && s.money.value + t.money.value == g
                    })
            });
            let score = s.strength + 0.1 * lines[s.label_line].y_rel + 0.5 * fits as u8 as f32;
            (score, s)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s.clone());
    let sub_money = subtotal.as_ref().map(|s| s.money.clone());
    if let Some(s) = subtotal {
        d.raw.subtotal = Some(FieldInput::new(s.money.raw.clone(), 0.6 + 0.3 * s.strength));
        d.evidence.push((FieldName::Subtotal, ev(&s.money)));
    }
    let sub_value = input_value(&d.raw.subtotal);
    let tax = tot
        .taxes
        .iter()
        .filter(|t| total_value.is_none_or(|g| t.money.value < g))
        .map(|t| {
            let fits =
                matches!((sub_value, total_value), (Some(s), Some(g)) if s + t.money.value == g);
            (
                t.strength + if fits { 1.0 } else { 0.0 } + 0.1 * lines[t.label_line].y_rel,
                t,
            )
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, t)| t.clone());
    // No tax line, but exactly one unlabelled amount between the subtotal and the total that
    // closes the sum ("Sales: 1.16", its label cut short): the tax, as an inference added after
    // the rules like the inferred subtotal, so that it never confirms the total.
    let mut inferred_tax: Option<Money> = None;
    if tax.is_none()
        && let (Some(sm), Some(tm)) = (&sub_money, &tot.money)
        && lines[sm.line].page == lines[tm.line].page
    {
        let closing: Vec<&Money> = money
            .iter()
            .flatten()
            .filter(|m| {
                lines[m.line].page == lines[tm.line].page
                    && y_centre(&m.bbox) > y_centre(&sm.bbox)
                    && y_centre(&m.bbox) < y_centre(&tm.bbox)
                    && m.value > Decimal::ZERO
                    && sm.value + m.value == tm.value
                    && !lines.iter().enumerate().any(|(j, o)| {
                        o.page == lines[m.line].page
                            && (j == m.line || v_overlap(&o.bbox, &m.bbox) >= 0.5)
                            && p.line_labels[j].is_some()
                    })
            })
            .collect();
        if let [m] = closing.as_slice() {
            inferred_tax = Some((*m).clone());
        }
    }
    if let Some(t) = tax {
        d.raw.tax_amount = Some(FieldInput::new(
            t.money.raw.clone(),
            0.55 + 0.3 * t.strength,
        ));
        d.evidence.push((FieldName::TaxAmount, ev(&t.money)));
    }
    // A tax summary table (column headings over the values) decides subtotal and tax where
    // the labelled reading found no pair that adds up to the total and the table's does.
    if let Some(t) = table {
        let (sub, tax, total) = (
            input_value(&d.raw.subtotal),
            input_value(&d.raw.tax_amount),
            input_value(&d.raw.total),
        );
        let labelled_fit = matches!((sub, tax, total), (Some(s), Some(x), Some(g)) if s + x == g);
        let table_fit = total.is_some_and(|g| t.base.value + t.tax.value == g)
            || (total.is_none() && t.gross.is_some());
        if table_fit && !labelled_fit {
            d.raw.subtotal = Some(FieldInput::new(t.base.value.to_string(), 0.8));
            d.raw.tax_amount = Some(FieldInput::new(t.tax.value.to_string(), 0.8));
            d.evidence.push((FieldName::Subtotal, t.base.evidence()));
            d.evidence.push((FieldName::TaxAmount, t.tax.evidence()));
            if total.is_none()
                && let Some(g) = &t.gross
            {
                d.raw.total = Some(FieldInput::new(g.value.to_string(), 0.7));
                d.evidence.push((FieldName::Total, g.evidence()));
            }
        }
    }
    for (kind, adj) in [
        (LabelKind::Rounding, AdjustmentKind::Rounding),
        (LabelKind::Discount, AdjustmentKind::Discount),
        (LabelKind::Service, AdjustmentKind::ServiceCharge),
    ] {
        if let Some(c) = p.of_kind(kind).next_back() {
            d.raw.adjustments.push(Adjustment {
                kind: adj,
                raw: c.money.raw.clone(),
            });
        }
    }

    // No subtotal line. With nothing between the parts and the total (no rounding, discount
    // or service line), the subtotal is the total less its tax when that amount is printed,
    // or — no tax on the document either — the total itself. Both are inferences: low
    // confidence, and added after the rules so that they never "confirm" the total.
    let mut inferred_subtotal: Option<(Money, f32)> = None;
    if d.raw.subtotal.is_none()
        && d.raw.adjustments.is_empty()
        && let Some(t) = &tot.money
    {
        let tax_value = input_value(&d.raw.tax_amount);
        let found = match tax_value {
            Some(tv) => money
                .iter()
                .flatten()
                .find(|m| m.value == t.value - tv && m.value > Decimal::ZERO)
                .map(|m| (m.clone(), 0.45)),
            None => Some((t.clone(), 0.3)),
        };
        inferred_subtotal = found;
    }
    // Two tot.totals, the lower one larger by an amount printed between them ("Totale 442,00",
    // "53,00", "Totale EURO 495,00"): the first is the subtotal.
    if d.raw.subtotal.is_none()
        && let Some((_, chosen)) = tot.chosen
    {
        let (page, y) = (
            lines[chosen.label_line].page,
            lines[chosen.label_line].bbox[1],
        );
        let earlier = tot.totals.iter().filter(|c| {
            let l = &lines[c.label_line];
            l.page == page && l.bbox[1] < y && c.money.value < chosen.money.value
        });
        let rounding: Vec<usize> = p
            .of_kind(LabelKind::Rounding)
            .map(|r| r.money.line)
            .collect();
        for c in earlier {
            let (top, bottom) = (y_centre(&c.money.bbox), y_centre(&chosen.money.bbox));
            let step = chosen.money.value - c.money.value;
            let between = money.iter().flatten().any(|m| {
                lines[m.line].page == page
                    && !rounding.contains(&m.line)
                    && y_centre(&m.bbox) > top
                    && y_centre(&m.bbox) < bottom
                    && m.value == step
            });
            if between {
                inferred_subtotal = Some((c.money.clone(), 0.5));
            }
        }
    }
    Inferred {
        subtotal: inferred_subtotal,
        tax: inferred_tax,
    }
}

/// An amount the arithmetic implies rather than a label announces (a subtotal, a tax),
/// normalised on its own — after the cross-checks, so that it never confirms the total.
pub(super) fn inferred_amount(
    name: FieldName,
    m: &Money,
    conf: f32,
    currency: &Option<FieldInput>,
    ctx: &rules::RuleContext,
) -> Option<Field> {
    let input = Some(FieldInput::new(m.raw.clone(), conf));
    let mut alone = RawFields {
        currency: currency.clone(),
        ..RawFields::default()
    };
    match name {
        FieldName::Subtotal => alone.subtotal = input,
        FieldName::TaxAmount => alone.tax_amount = input,
        _ => return None,
    }
    let n = rules::normalize(&alone, ctx);
    let f = if name == FieldName::Subtotal {
        n.subtotal
    } else {
        n.tax_amount
    };
    f.value.is_some().then(|| f.into())
}
