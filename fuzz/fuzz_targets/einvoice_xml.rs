//! E-invoice XML (CII, UBL): entity expansion, deep nesting, odd encodings. Any bytes get an
//! invoice or an error; what is read is bounded by what was sent.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if einvoice::sniff(data).is_none() {
        return;
    }
    if let Ok(inv) = einvoice::parse(data) {
        assert!(inv.line_items.len() <= data.len());
    }
});
