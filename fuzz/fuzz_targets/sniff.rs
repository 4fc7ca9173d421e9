//! Sniffing: any bytes get a kind or an error, and the kind agrees with its own MIME type.
#![no_main]

use doc_input::{DocumentKind, sniff};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match sniff(data) {
        Ok(kind) => assert_eq!(DocumentKind::from_mime(kind.mime()), Some(kind)),
        Err(e) => {
            assert!(e.is_input_error(), "{e}");
            assert!(!e.to_string().is_empty());
        }
    }
    let seen = doc_input::describe_magic(data);
    assert!(seen.len() < 256, "{seen}");
});
