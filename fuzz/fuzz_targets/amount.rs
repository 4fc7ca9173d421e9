#![no_main]
//! Any string, with or without a currency: parse_amount returns a value or an error, never panics.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        for cur in [None, Some("USD"), Some("IDR"), Some("KWD"), Some("XYZ")] {
            if let Ok(p) = rules::parse_amount(s, cur) {
                // The output form is a plain decimal the scorer and JSON accept.
                let out = rules::format_amount(&p.value);
                assert!(
                    out.chars()
                        .all(|c| c.is_ascii_digit() || c == '.' || c == '-'),
                    "{out}"
                );
            }
        }
    }
});
