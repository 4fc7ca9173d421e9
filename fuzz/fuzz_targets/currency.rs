#![no_main]
//! Any text and hints: detect_currency never panics and only answers ISO 4217 codes.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let (head, tail) = s.split_at(s.char_indices().nth(2).map_or(s.len(), |(i, _)| i));
        let hints = rules::LocaleHints {
            country: Some(head.to_string()),
            language: Some(head.to_string()),
            currency: Some(head.to_string()),
        };
        for h in [rules::LocaleHints::default(), hints] {
            if let Some(m) = rules::detect_currency(tail, &h) {
                assert_eq!(m.code.len(), 3, "{}", m.code);
                assert!(m.code.bytes().all(|b| b.is_ascii_uppercase()));
            }
        }
    }
});
