//! Dates as printed → `YYYY-MM-DD`: numeric day/month/year in any order the world prints,
//! 2-digit years, month names in English, Russian, German, French, Spanish, Italian, Dutch,
//! Indonesian and Malay; a time beside the date is ignored. Ambiguous orders are resolved by
//! locale hints and plausibility; what stays ambiguous says so.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::currency::LocaleHints;

/// The order of day, month and year in numeric dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    Dmy,
    Mdy,
    Ymd,
}

/// Why a string is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    #[error("no date in {0:?}")]
    NotADate(String),
    #[error("{0:?} is not a plausible document date (before 1990 or in the future)")]
    Implausible(String),
    #[error("date string too long ({0} characters)")]
    TooLong(usize),
}

/// A parsed date.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ParsedDate {
    pub date: NaiveDate,
    /// Day and month could be swapped and nothing decided between them.
    pub ambiguous: bool,
    /// 0..1: high for unambiguous forms, lower when a hint or a guess decided.
    pub confidence: f32,
}

/// What decides ambiguous dates: the document's locale and today's date.
#[derive(Debug, Clone, PartialEq)]
pub struct DateContext {
    pub order: Option<DateOrder>,
    pub today: NaiveDate,
}

impl DateContext {
    /// The numeric order usual where the document comes from: month first for the US (and
    /// documents priced in USD without a country), year first for East Asia, else day first.
    pub fn from_hints(hints: &LocaleHints, currency: Option<&str>, today: NaiveDate) -> Self {
        let country = hints.country.as_deref().map(str::to_ascii_uppercase);
        let order = match country.as_deref() {
            Some("US" | "PH" | "FM" | "MH" | "PW") => Some(DateOrder::Mdy),
            Some("CN" | "JP" | "KR" | "TW" | "HU" | "LT" | "MN") => Some(DateOrder::Ymd),
            Some(_) => Some(DateOrder::Dmy),
            None => match currency {
                Some("USD") => Some(DateOrder::Mdy),
                Some("CNY" | "JPY" | "KRW" | "TWD") => Some(DateOrder::Ymd),
                Some(_) => Some(DateOrder::Dmy),
                None => None,
            },
        };
        DateContext { order, today }
    }
}

const MONTHS: &[(&str, u32)] = &[
    // English
    ("january", 1),
    ("february", 2),
    ("march", 3),
    ("april", 4),
    ("may", 5),
    ("june", 6),
    ("july", 7),
    ("august", 8),
    ("september", 9),
    ("october", 10),
    ("november", 11),
    ("december", 12),
    ("sept", 9),
    // German
    ("januar", 1),
    ("jänner", 1),
    ("februar", 2),
    ("märz", 3),
    ("maerz", 3),
    ("mai", 5),
    ("juni", 6),
    ("juli", 7),
    ("oktober", 10),
    ("dezember", 12),
    ("okt", 10),
    ("dez", 12),
    ("mrz", 3),
    // French
    ("janvier", 1),
    ("février", 2),
    ("fevrier", 2),
    ("mars", 3),
    ("avril", 4),
    ("juin", 6),
    ("juillet", 7),
    ("août", 8),
    ("aout", 8),
    ("septembre", 9),
    ("octobre", 10),
    ("novembre", 11),
    ("décembre", 12),
    ("decembre", 12),
    ("janv", 1),
    ("févr", 2),
    ("fevr", 2),
    ("avr", 4),
    ("juil", 7),
    ("déc", 12),
    // Spanish
    ("enero", 1),
    ("febrero", 2),
    ("marzo", 3),
    ("abril", 4),
    ("mayo", 5),
    ("junio", 6),
    ("julio", 7),
    ("agosto", 8),
    ("septiembre", 9),
    ("setiembre", 9),
    ("octubre", 10),
    ("noviembre", 11),
    ("diciembre", 12),
    ("ene", 1),
    ("abr", 4),
    ("ago", 8),
    ("dic", 12),
    // Italian
    ("gennaio", 1),
    ("febbraio", 2),
    ("aprile", 4),
    ("maggio", 5),
    ("giugno", 6),
    ("luglio", 7),
    ("settembre", 9),
    ("ottobre", 10),
    ("dicembre", 12),
    ("gen", 1),
    ("mag", 5),
    ("giu", 6),
    ("lug", 7),
    ("set", 9),
    ("ott", 10),
    // Dutch
    ("januari", 1),
    ("februari", 2),
    ("maart", 3),
    ("mei", 5),
    ("augustus", 8),
    ("mrt", 3),
    // Indonesian and Malay
    ("maret", 3),
    ("agustus", 8),
    ("desember", 12),
    ("mac", 3),
    ("jun", 6),
    ("julai", 7),
    ("ogos", 8),
    ("disember", 12),
    ("des", 12),
    ("agu", 8),
    ("peb", 2),
    ("ogo", 8),
    // Russian (nominative, genitive, abbreviations)
    ("январь", 1),
    ("января", 1),
    ("янв", 1),
    ("февраль", 2),
    ("февраля", 2),
    ("фев", 2),
    ("март", 3),
    ("марта", 3),
    ("мар", 3),
    ("апрель", 4),
    ("апреля", 4),
    ("апр", 4),
    ("май", 5),
    ("мая", 5),
    ("июнь", 6),
    ("июня", 6),
    ("июн", 6),
    ("июль", 7),
    ("июля", 7),
    ("июл", 7),
    ("август", 8),
    ("августа", 8),
    ("авг", 8),
    ("сентябрь", 9),
    ("сентября", 9),
    ("сен", 9),
    ("сент", 9),
    ("октябрь", 10),
    ("октября", 10),
    ("окт", 10),
    ("ноябрь", 11),
    ("ноября", 11),
    ("ноя", 11),
    ("декабрь", 12),
    ("декабря", 12),
    ("дек", 12),
    // English abbreviations last (3 letters)
    ("jan", 1),
    ("feb", 2),
    ("mar", 3),
    ("apr", 4),
    ("jul", 7),
    ("aug", 8),
    ("sep", 9),
    ("oct", 10),
    ("nov", 11),
    ("dec", 12),
    ("fév", 2),
    ("mär", 3),
];

fn month_of(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    MONTHS.iter().find(|(name, _)| *name == w).map(|(_, m)| *m)
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(String),
    Word(String),
    Sep(char),
}

fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_ascii_digit() {
            let mut n = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_ascii_digit()) {
                n.push(d);
                chars.next();
            }
            out.push(Tok::Num(n));
        } else if c.is_alphabetic() {
            let mut w = String::new();
            while let Some(&d) = chars.peek().filter(|d| d.is_alphabetic()) {
                w.push(d);
                chars.next();
            }
            out.push(Tok::Word(w));
        } else {
            out.push(Tok::Sep(c));
            chars.next();
        }
    }
    out
}

/// Numbers and month words of a candidate, with the separators between them.
#[derive(Debug, Clone)]
enum Part {
    Num(String),
    Month(u32),
}

fn year_of(n: &str) -> Option<i32> {
    let v: i32 = n.parse().ok()?;
    match n.len() {
        4 => Some(v),
        // Two-digit years: 90–99 are the 1990s, the rest this century.
        2 => Some(if v >= 90 { 1900 + v } else { 2000 + v }),
        _ => None,
    }
}

fn small(n: &str) -> Option<u32> {
    (n.len() <= 2).then(|| n.parse().ok()).flatten()
}

/// Parses the first date in `raw`.
pub fn parse_date(raw: &str, ctx: &DateContext) -> Result<ParsedDate, DateError> {
    find_dates(raw, ctx)
        .into_iter()
        .next()
        .map(|(d, _)| d)
        .ok_or_else(|| {
            if raw.chars().count() > 200 {
                DateError::TooLong(raw.chars().count())
            } else if find_dates_unchecked(raw, ctx).is_empty() {
                DateError::NotADate(raw.to_string())
            } else {
                DateError::Implausible(raw.to_string())
            }
        })
}

/// Every plausible date in `text`, in order, with the index of the token run it came from.
pub fn find_dates(text: &str, ctx: &DateContext) -> Vec<(ParsedDate, usize)> {
    if text.chars().count() > 200 {
        return Vec::new();
    }
    find_dates_unchecked(text, ctx)
        .into_iter()
        .filter(|(d, _)| plausible(d.date, ctx))
        .collect()
}

fn plausible(d: NaiveDate, ctx: &DateContext) -> bool {
    let earliest = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or(NaiveDate::MIN);
    d >= earliest
        && d <= ctx
            .today
            .checked_add_days(chrono::Days::new(1))
            .unwrap_or(ctx.today)
}

fn find_dates_unchecked(text: &str, ctx: &DateContext) -> Vec<(ParsedDate, usize)> {
    let toks = tokenize(text);
    // Candidate runs: numbers and month words joined by date separators.
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let mut parts: Vec<Part> = Vec::new();
        let mut seps: Vec<char> = Vec::new();
        let mut j = i;
        while j < toks.len() && parts.len() < 3 {
            match &toks[j] {
                Tok::Num(n) => {
                    // A time (hh:mm) ends the run.
                    if matches!(toks.get(j + 1), Some(Tok::Sep(':'))) {
                        break;
                    }
                    parts.push(Part::Num(n.clone()));
                }
                Tok::Word(w) => match month_of(w) {
                    Some(m) => parts.push(Part::Month(m)),
                    // "de" (Spanish), "г" (Russian year), ordinal suffixes are skipped.
                    None if matches!(
                        w.to_lowercase().as_str(),
                        "de" | "del" | "er" | "st" | "nd" | "rd" | "th" | "г" | "года"
                    ) && !parts.is_empty() => {}
                    None => break,
                },
                Tok::Sep(c) => {
                    if !matches!(c, '/' | '.' | '-' | ' ' | ',' | '\u{a0}' | '\'' | '’')
                        || parts.is_empty()
                    {
                        if parts.is_empty() {
                            j += 1;
                            i = j;
                            continue;
                        }
                        break;
                    }
                    seps.push(*c);
                }
            }
            j += 1;
        }
        match interpret(&parts, &seps, ctx) {
            // An implausible reading ("7212-08-20" out of a phone number) must not swallow the
            // real date that starts inside it.
            Some(d) if plausible(d.date, ctx) => {
                out.push((d, i));
                i = j.max(i + 1);
            }
            Some(d) => {
                out.push((d, i));
                i += 1;
            }
            None => i += 1,
        }
    }
    out
}

fn interpret(parts: &[Part], seps: &[char], ctx: &DateContext) -> Option<ParsedDate> {
    // Numeric dates use one separator throughout ("27/10/2009", not "3- 27/10").
    let marks: Vec<char> = seps
        .iter()
        .copied()
        .filter(|c| !c.is_whitespace())
        .collect();
    let all_numeric = parts.iter().all(|p| matches!(p, Part::Num(_)));
    if all_numeric && marks.windows(2).any(|w| w[0] != w[1]) {
        return None;
    }
    let sure = |d: NaiveDate| ParsedDate {
        date: d,
        ambiguous: false,
        confidence: 0.95,
    };
    match parts {
        // 2024-03-15, 2024/3/15
        [Part::Num(a), Part::Num(b), Part::Num(c)] if a.len() == 4 => {
            let d = NaiveDate::from_ymd_opt(year_of(a)?, small(b)?, small(c)?)?;
            Some(sure(d))
        }
        [Part::Num(a), Part::Num(b), Part::Num(c)] if c.len() == 4 || c.len() == 2 => {
            // A space-only run of small numbers is more likely a quantity line than a date.
            if seps.iter().all(|s| *s == ' ') && c.len() == 2 {
                return None;
            }
            let y = year_of(c)?;
            let (x, y2) = (small(a)?, small(b)?);
            let dmy = NaiveDate::from_ymd_opt(y, y2, x);
            let mdy = NaiveDate::from_ymd_opt(y, x, y2);
            let conf2 = if c.len() == 2 { 0.05 } else { 0.0 };
            match (dmy, mdy) {
                (Some(d), None) | (None, Some(d)) => Some(ParsedDate {
                    date: d,
                    ambiguous: false,
                    confidence: 0.93 - conf2,
                }),
                (Some(d), Some(m)) if d == m => Some(ParsedDate {
                    date: d,
                    ambiguous: false,
                    confidence: 0.93 - conf2,
                }),
                (Some(d), Some(m)) => {
                    let (dp, mp) = (plausible(d, ctx), plausible(m, ctx));
                    if dp != mp {
                        let date = if dp { d } else { m };
                        return Some(ParsedDate {
                            date,
                            ambiguous: false,
                            confidence: 0.8 - conf2,
                        });
                    }
                    match ctx.order {
                        Some(DateOrder::Mdy) => Some(ParsedDate {
                            date: m,
                            ambiguous: false,
                            confidence: 0.75 - conf2,
                        }),
                        Some(_) => Some(ParsedDate {
                            date: d,
                            ambiguous: false,
                            confidence: 0.75 - conf2,
                        }),
                        None => Some(ParsedDate {
                            date: d,
                            ambiguous: true,
                            confidence: 0.45 - conf2,
                        }),
                    }
                }
                (None, None) => None,
            }
        }
        // 2024 March 15
        [Part::Num(y), Part::Month(m), Part::Num(a)] if y.len() == 4 => {
            let d = NaiveDate::from_ymd_opt(year_of(y)?, *m, small(a)?)?;
            Some(sure(d))
        }
        // 15 March 2024, 15-Mar-24, 15. März 2024
        [Part::Num(a), Part::Month(m), Part::Num(c)] => {
            let d = NaiveDate::from_ymd_opt(year_of(c)?, *m, small(a)?)?;
            Some(sure(d))
        }
        // March 15, 2024
        [Part::Month(m), Part::Num(a), Part::Num(c)] => {
            let d = NaiveDate::from_ymd_opt(year_of(c)?, *m, small(a)?)?;
            Some(sure(d))
        }
        // Compact 20240315 or 15032024
        [Part::Num(n)] if n.len() == 8 => {
            let ymd = NaiveDate::from_ymd_opt(
                n[..4].parse().ok()?,
                n[4..6].parse().ok()?,
                n[6..].parse().ok()?,
            );
            let dmy = NaiveDate::from_ymd_opt(
                n[4..].parse().ok()?,
                n[2..4].parse().ok()?,
                n[..2].parse().ok()?,
            );
            match (
                ymd.filter(|d| plausible(*d, ctx)),
                dmy.filter(|d| plausible(*d, ctx)),
            ) {
                (Some(d), None) | (None, Some(d)) => Some(ParsedDate {
                    date: d,
                    ambiguous: false,
                    confidence: 0.7,
                }),
                _ => None,
            }
        }
        _ => None,
    }
}

/// `YYYY-MM-DD`.
pub fn format_date(d: NaiveDate) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month(), d.day())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(order: Option<DateOrder>) -> DateContext {
        DateContext {
            order,
            today: NaiveDate::from_ymd_opt(2026, 11, 22).expect("date"),
        }
    }

    fn date(raw: &str, order: Option<DateOrder>) -> String {
        let d = parse_date(raw, &ctx(order)).unwrap_or_else(|e| panic!("{raw:?}: {e}"));
        format_date(d.date)
    }

    #[test]
    fn numeric_forms() {
        let cases: &[(&str, Option<DateOrder>, &str)] = &[
            ("2024-03-15", None, "2024-03-15"),
            ("2024/3/5", None, "2024-03-05"),
            ("15/03/2024", None, "2024-03-15"),
            ("15.03.2024", None, "2024-03-15"),
            ("15-03-2024", None, "2024-03-15"),
            ("03/15/2024", None, "2024-03-15"),
            ("3/15/24", None, "2024-03-15"),
            ("15.03.24", None, "2024-03-15"),
            ("25/12/2018 8:13:39 PM", None, "2018-12-25"),
            ("Date: 25/12/2018", None, "2018-12-25"),
            ("DATE 02/03/2019", Some(DateOrder::Dmy), "2019-03-02"),
            ("02/03/2019", Some(DateOrder::Mdy), "2019-02-03"),
            ("12:30 15/03/2024", None, "2024-03-15"),
            ("15 03 2024", None, "2024-03-15"),
            ("31/12/99", None, "1999-12-31"),
            ("20240315", None, "2024-03-15"),
            ("15032024", None, "2024-03-15"),
        ];
        for (raw, order, want) in cases {
            assert_eq!(date(raw, *order), *want, "{raw:?} {order:?}");
        }
    }

    #[test]
    fn month_names_in_nine_languages() {
        let cases = [
            ("15 March 2024", "2024-03-15"),
            ("March 15, 2024", "2024-03-15"),
            ("Aug 3, 2014", "2014-08-03"),
            ("3rd August 2014", "2014-08-03"),
            ("15-Mar-24", "2024-03-15"),
            ("15. März 2024", "2024-03-15"),
            ("1. Okt. 2023", "2023-10-01"),
            ("15 mars 2024", "2024-03-15"),
            ("1er février 2024", "2024-02-01"),
            ("15 de marzo de 2024", "2024-03-15"),
            ("15 marzo 2024", "2024-03-15"),
            ("15 maart 2024", "2024-03-15"),
            ("15 Maret 2024", "2024-03-15"),
            ("15 Ogos 2024", "2024-08-15"),
            ("15 Mac 2024", "2024-03-15"),
            ("15 марта 2024 г.", "2024-03-15"),
            ("15 мар 2024", "2024-03-15"),
            ("2024 March 15", "2024-03-15"),
            ("20 Dec 2018 10:30", "2018-12-20"),
            ("04NOV'17 9:32AM", "2017-11-04"),
            ("DEC23'14 2:52PM", "2014-12-23"),
            ("0994 042 7212 08/20/16 13:06", "2016-08-20"),
        ];
        for (raw, want) in cases {
            assert_eq!(date(raw, None), want, "{raw:?}");
        }
    }

    #[test]
    fn ambiguity_is_resolved_or_reported() {
        let c = ctx(None);
        let d = parse_date("03/04/2024", &c).expect("parses");
        assert!(d.ambiguous && d.confidence < 0.5);
        let d = parse_date("03/04/2024", &ctx(Some(DateOrder::Dmy))).expect("parses");
        assert_eq!(format_date(d.date), "2024-04-03");
        assert!(!d.ambiguous);
        // Plausibility: 11/12/2026 as 11 December 2026 is in the future on 2026-11-22.
        let d = parse_date("11/12/2026", &c).expect("parses");
        assert_eq!(format_date(d.date), "2026-11-12");
        assert!(!d.ambiguous);
        // Same day and month: nothing to resolve.
        assert!(!parse_date("05/05/2024", &c).expect("parses").ambiguous);
    }

    #[test]
    fn implausible_and_bad_strings() {
        let c = ctx(None);
        assert!(matches!(
            parse_date("15/03/1985", &c),
            Err(DateError::Implausible(_))
        ));
        assert!(matches!(
            parse_date("2027-01-01", &c),
            Err(DateError::Implausible(_))
        ));
        for raw in [
            "",
            "TOTAL 12.50",
            "32/13/2024",
            "2024-02-30",
            "12 34",
            "Tel 03-1234 5678",
            "1 2 3",
        ] {
            assert!(parse_date(raw, &c).is_err(), "{raw:?} parsed");
        }
        assert!(matches!(
            parse_date(&"1".repeat(300), &c),
            Err(DateError::TooLong(300))
        ));
    }

    #[test]
    fn extreme_today_does_not_panic() {
        let c = DateContext {
            order: None,
            today: NaiveDate::MAX,
        };
        assert!(parse_date("15/03/2024", &c).is_ok());
    }

    #[test]
    fn hints_choose_the_order() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 1).expect("date");
        let us = LocaleHints {
            country: Some("US".into()),
            ..LocaleHints::default()
        };
        assert_eq!(
            DateContext::from_hints(&us, None, today).order,
            Some(DateOrder::Mdy)
        );
        assert_eq!(
            DateContext::from_hints(&LocaleHints::default(), Some("MYR"), today).order,
            Some(DateOrder::Dmy)
        );
        assert_eq!(
            DateContext::from_hints(&LocaleHints::default(), None, today).order,
            None
        );
    }
}
