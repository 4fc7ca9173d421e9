//! # rules
//!
//! Turns the raw strings a KIE backend found into validated, normalised values: amounts as
//! exact decimals, dates as `YYYY-MM-DD`, currencies as ISO 4217 codes, merchant names
//! cleaned up; then cross-checks the amounts (subtotal + tax = total) and reports what does
//! not add up as warnings — never by changing a value.
//!
//! ```
//! use rules::{FieldInput, RawFields, RuleContext, normalize};
//!
//! let raw = RawFields {
//!     subtotal: Some(FieldInput::new("61,79", 0.8)),
//!     tax_amount: Some(FieldInput::new("3,71", 0.8)),
//!     total: Some(FieldInput::new("RM 65.50", 0.9)),
//!     ..RawFields::default()
//! };
//! let out = normalize(&raw, &RuleContext::default());
//! assert_eq!(out.total.value.as_deref(), Some("65.50"));
//! assert_eq!(out.currency.value.as_deref(), Some("MYR"));
//! assert!(out.warnings.is_empty());
//! ```

pub mod amount;
pub mod currency;
pub mod date;
pub mod items;
pub mod merchant;
pub mod validate;

pub use amount::{AmountError, ParsedAmount, format_amount, parse_amount};
pub use currency::{
    CurrencyMatch, LocaleHints, country_currency, detect_currency, document_currency,
    infer_country, minor_unit,
};
pub use date::{
    DateContext, DateError, DateOrder, ParsedDate, find_dates, format_date, parse_date,
};
pub use items::{
    NormalizedItem, NormalizedTaxLine, RawLineItem, RawTaxLine, parse_quantity, parse_rate,
};
pub use merchant::{LEGAL_SUFFIXES, clean_merchant, has_legal_suffix};
pub use validate::{
    Adjustment, AdjustmentKind, FieldInput, Normalized, NormalizedField, RawFields, RuleContext,
    Warning, normalize,
};

/// Bumped on every change of behaviour; reported in every response's `meta`.
pub const RULESET_VERSION: &str = "rules-2026.12.06.2";
