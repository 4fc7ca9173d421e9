//! Image decoding: a pixel limit checked before decoding, EXIF orientation, alpha flattening.
//! Any bytes get an upright image within the limit or an error that blames the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

/// Small, so that a header claiming a big image is refused rather than decoded slowly.
const MAX_PIXELS: u64 = 4_000_000;

fuzz_target!(|data: &[u8]| {
    match ocr_core::decode_image(data, MAX_PIXELS) {
        Ok(img) => {
            let pixels = u64::from(img.width()) * u64::from(img.height());
            assert!(
                pixels > 0 && pixels <= MAX_PIXELS,
                "{}x{}",
                img.width(),
                img.height()
            );
        }
        Err(e) => assert!(e.is_input_error(), "{e}"),
    }
});
