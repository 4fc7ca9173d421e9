#![no_main]
//! Any string: clean_merchant never panics, and what it returns is trimmed and bounded.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        if let Some(name) = rules::clean_merchant(s) {
            assert_eq!(name.trim(), name);
            assert!(name.chars().count() <= 120);
        }
        let _ = rules::has_legal_suffix(s);
    }
});
