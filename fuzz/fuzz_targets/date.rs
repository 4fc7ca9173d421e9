#![no_main]
//! Any string, any order hint, any "today": parse_date never panics and never returns a date
//! outside 1990..=today+1.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let days = i32::from(data[0]) * 400 - 50_000;
    let Some(today) = chrono::NaiveDate::from_ymd_opt(2026, 11, 22)
        .and_then(|d| d.checked_add_signed(chrono::TimeDelta::days(days.into())))
    else {
        return;
    };
    if let Ok(s) = std::str::from_utf8(&data[1..]) {
        for order in [
            None,
            Some(rules::DateOrder::Dmy),
            Some(rules::DateOrder::Mdy),
            Some(rules::DateOrder::Ymd),
        ] {
            let ctx = rules::DateContext { order, today };
            for (d, _) in rules::find_dates(s, &ctx) {
                let earliest = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).expect("date");
                let latest = today
                    .checked_add_days(chrono::Days::new(1))
                    .unwrap_or(today);
                assert!(
                    d.date >= earliest && d.date <= latest,
                    "{} on {today}",
                    d.date
                );
                assert!(d.confidence >= 0.0 && d.confidence <= 1.0);
            }
            let _ = rules::parse_date(s, &ctx);
        }
    }
});
