//! The total: every labelled total scored by its label, position, size and the arithmetic
//! around it (subtotal + tax, cash − change, a rounding line), else the largest amount.

use rules::FieldInput;
use rust_decimal::Decimal;

use super::money::{Money, money_evidence};
use super::pairing::{Labelled, Pairing};
use super::{Draft, Line, height, median, y_centre};
use crate::labels::LabelKind;
use crate::types::FieldName;

/// The total chosen, and the labelled amounts the later stages weigh against it.
#[derive(Debug)]
pub(super) struct Totals<'p> {
    /// Labelled subtotals above zero.
    pub(super) subtotals: Vec<Labelled>,
    /// Labelled taxes, zero or more.
    pub(super) taxes: Vec<Labelled>,
    /// Labelled totals above zero.
    pub(super) totals: Vec<&'p Labelled>,
    /// The best labelled total with its score.
    pub(super) chosen: Option<(f32, &'p Labelled)>,
    /// The total's amount (after rounding), labelled or guessed.
    pub(super) money: Option<Money>,
}

/// Chooses the total and puts it in the draft.
pub(super) fn choose<'p>(
    lines: &[Line<'_>],
    money: &[Vec<Money>],
    p: &'p Pairing,
    d: &mut Draft,
) -> Totals<'p> {
    let ev = |m: &Money| money_evidence(lines, m);
    // The last amount on a cash-/change-like row, for the cash − change = total check.
    let last_not_total = |word: &str| {
        p.of_kind(LabelKind::NotTotal)
            .filter(|c| crate::labels::norm(lines[c.label_line].text).contains(word))
            .map(|c| c.money.value)
            .next_back()
    };
    let (cash, change) = (last_not_total("CASH"), last_not_total("CHANGE"));

    // Subtotal and tax first: they vote for the total.
    let subtotals: Vec<Labelled> = p
        .of_kind(LabelKind::Subtotal)
        .filter(|c| c.money.value > Decimal::ZERO)
        .cloned()
        .collect();
    let taxes: Vec<Labelled> = p
        .of_kind(LabelKind::Tax)
        .filter(|c| c.money.value >= Decimal::ZERO)
        .cloned()
        .collect();

    let totals: Vec<&Labelled> = p
        .of_kind(LabelKind::Total)
        .filter(|c| c.money.value > Decimal::ZERO)
        .collect();
    let max_total = totals.iter().map(|c| c.money.value).max();
    let med_h = median(lines.iter().map(|l| height(&l.bbox)));
    let chosen = totals
        .iter()
        .map(|c| {
            let l = &lines[c.label_line];
            let mut score =
                c.strength + 0.25 * l.y_rel + 0.1 * (c.money.line == c.label_line) as u8 as f32;
            if Some(c.money.value) == max_total {
                score += 0.5;
            }
            score += 0.3 * ((height(&l.bbox) / med_h - 1.0).clamp(0.0, 1.0));
            if let (Some(ca), Some(ch)) = (cash, change)
                && ca - ch == c.money.value
            {
                score += 0.6;
            }
            if subtotals.iter().any(|s| {
                taxes
                    .iter()
                    .any(|t| s.money.value + t.money.value == c.money.value)
            }) {
                score += 0.6;
            }
            // The total after rounding: another total plus the rounding line.
            if p.of_kind(LabelKind::Rounding).any(|r| {
                totals.iter().any(|t| {
                    t.money.value + r.money.value == c.money.value && t.money.value != c.money.value
                })
            }) {
                score += 0.7;
            }
            if c.below {
                score -= 0.1;
            }
            (score, *c)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0));
    let total_money = match chosen {
        Some((score, c)) => {
            let conf = (0.55 + 0.25 * c.strength + 0.1 * score.min(2.0)).min(0.97)
                * lines[c.money.line].conf.max(0.5);
            let chosen = after_rounding(c, lines, money, &p.labelled).unwrap_or(&c.money);
            d.raw.total = Some(FieldInput::new(chosen.raw.clone(), conf));
            d.evidence.push((FieldName::Total, ev(chosen)));
            Some(chosen.clone())
        }
        None => {
            // No labelled total: the largest amount not on a cash/change row, as a guess.
            let excluded: Vec<usize> = p
                .of_kind(LabelKind::NotTotal)
                .map(|c| c.money.line)
                .collect();
            let best = money
                .iter()
                .flatten()
                .filter(|m| !excluded.contains(&m.line))
                .max_by(|a, b| a.value.cmp(&b.value))
                .cloned();
            if let Some(m) = &best {
                d.raw.total = Some(FieldInput::new(m.raw.clone(), 0.25));
                d.evidence.push((FieldName::Total, ev(m)));
            }
            best
        }
    };
    Totals {
        subtotals,
        taxes,
        totals,
        chosen,
        money: total_money,
    }
}

/// The amount payable after a rounding line printed below the chosen total ("Total Incl GST
/// 65.72", "Rounding Adj -0.02", "TOTAL: 65.70"): the first amount at or below the rounding
/// row within five minor units of the total. `None` when nothing was rounded.
pub(super) fn after_rounding<'m>(
    total: &Labelled,
    lines: &[Line<'_>],
    money: &'m [Vec<Money>],
    labelled: &[Labelled],
) -> Option<&'m Money> {
    let tl = &lines[total.label_line];
    let step = Decimal::new(5, 2);
    labelled
        .iter()
        .filter(|r| r.kind == LabelKind::Rounding)
        .map(|r| &lines[r.label_line])
        .filter(|rl| rl.page == tl.page && rl.bbox[1] > tl.bbox[3] - 0.3 * height(&tl.bbox))
        .find_map(|rl| {
            money
                .iter()
                .flatten()
                .filter(|m| {
                    lines[m.line].page == rl.page
                        && y_centre(&m.bbox) >= rl.bbox[1]
                        && m.value > Decimal::ZERO
                        && m.value != total.money.value
                        && (m.value - total.money.value).abs() <= step
                })
                .min_by(|a, b| a.bbox[1].total_cmp(&b.bbox[1]))
        })
}
