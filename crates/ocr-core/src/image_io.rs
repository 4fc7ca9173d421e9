//! Decoding untrusted image bytes: format by magic bytes, a pixel limit checked before any
//! pixel is decoded (decompression bombs), EXIF orientation applied, alpha flattened on white.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, RgbImage};

use crate::error::{OcrError, Result};

/// The image formats the engine reads.
pub const SUPPORTED_FORMATS: [ImageFormat; 4] = [
    ImageFormat::Png,
    ImageFormat::Jpeg,
    ImageFormat::Tiff,
    ImageFormat::WebP,
];

/// Default limit on decoded pixels: 50 Mpx (a 7016×4961 A4 scan at 600 dpi is 35 Mpx).
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

/// Decodes PNG, JPEG, TIFF or WebP bytes into an upright RGB image.
pub fn decode_image(bytes: &[u8], max_pixels: u64) -> Result<RgbImage> {
    if bytes.is_empty() {
        return Err(OcrError::EmptyInput);
    }
    let format = image::guess_format(bytes).map_err(|_| OcrError::UnsupportedFormat {
        seen: describe_magic(bytes),
    })?;
    if !SUPPORTED_FORMATS.contains(&format) {
        return Err(OcrError::UnsupportedFormat {
            seen: format!("{format:?} image (supported: PNG, JPEG, TIFF, WebP)"),
        });
    }
    // Dimensions from the header alone, so a decompression bomb is refused before the decoder
    // allocates anything.
    if let Ok(size) = imagesize::blob_size(bytes) {
        let (w, h) = (
            u32::try_from(size.width).unwrap_or(u32::MAX),
            u32::try_from(size.height).unwrap_or(u32::MAX),
        );
        check_dimensions(w, h, max_pixels)?;
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    // The decoder's own allocation cap, as a second line behind the pixel check below.
    limits.max_alloc = Some(max_pixels.saturating_mul(8).max(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(OcrError::Decode)?;
    let (width, height) = decoder.dimensions();
    check_dimensions(width, height, max_pixels)?;
    let orientation = decoder.orientation().map_err(OcrError::Decode)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(OcrError::Decode)?;
    img.apply_orientation(orientation);
    Ok(flatten_to_rgb(img))
}

/// Rejects zero-sized images and images over the pixel limit.
pub fn check_dimensions(width: u32, height: u32, max_pixels: u64) -> Result<()> {
    if width == 0 || height == 0 {
        return Err(OcrError::ZeroSize { width, height });
    }
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(OcrError::TooManyPixels {
            width,
            height,
            pixels,
            max_pixels,
        });
    }
    Ok(())
}

/// RGB of the image, with any alpha composited over white (a transparent PNG's text stays
/// readable instead of turning black).
fn flatten_to_rgb(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let (w, h) = rgba.dimensions();
    let mut out = RgbImage::new(w, h);
    for (dst, src) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(src[3]);
        for c in 0..3 {
            let v = (u16::from(src[c]) * a + 255 * (255 - a) + 127) / 255;
            dst[c] = v as u8;
        }
    }
    out
}

/// A short human description of unknown leading bytes, for error messages.
pub fn describe_magic(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(8)];
    let printable: String = head
        .iter()
        .map(|&b| if b.is_ascii_graphic() { b as char } else { '.' })
        .collect();
    let hex: Vec<String> = head.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "unknown format (first bytes {} \"{printable}\")",
        hex.join(" ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(img: &DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png)
            .expect("encode png");
        out.into_inner()
    }

    #[test]
    fn zero_bytes_is_empty_input() {
        assert!(matches!(decode_image(&[], 100), Err(OcrError::EmptyInput)));
    }

    #[test]
    fn unknown_bytes_name_what_was_seen() {
        let err = decode_image(b"hello world", 100).expect_err("must fail");
        let msg = err.to_string();
        assert!(msg.contains("68 65 6c 6c"), "{msg}");
        assert_eq!(err.code(), "unsupported_format");
    }

    #[test]
    fn gif_is_recognised_but_unsupported() {
        let err = decode_image(b"GIF89a\x01\x00\x01\x00", 100).expect_err("must fail");
        assert!(err.to_string().contains("Gif"), "{err}");
    }

    #[test]
    fn pixel_limit_checked_from_header() {
        let img = DynamicImage::new_rgb8(300, 200);
        let bytes = png_bytes(&img);
        let err = decode_image(&bytes, 50_000).expect_err("over limit");
        assert!(
            matches!(err, OcrError::TooManyPixels { pixels: 60_000, .. }),
            "{err}"
        );
        assert!(decode_image(&bytes, 60_000).is_ok());
    }

    #[test]
    fn bomb_header_rejected_without_decoding() {
        // A PNG header claiming 50000×50000 pixels, and nothing behind it.
        let mut png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&50_000u32.to_be_bytes());
        png.extend_from_slice(&[8, 2, 0, 0, 0]);
        let crc = crc32(&png[12..]);
        png.extend_from_slice(&crc.to_be_bytes());
        let err = decode_image(&png, DEFAULT_MAX_PIXELS).expect_err("bomb");
        assert!(matches!(err, OcrError::TooManyPixels { .. }), "{err}");
    }

    #[test]
    fn truncated_png_is_a_decode_error() {
        let img = DynamicImage::new_rgb8(64, 64);
        let bytes = png_bytes(&img);
        let err = decode_image(&bytes[..bytes.len() / 2], DEFAULT_MAX_PIXELS).expect_err("cut");
        assert!(matches!(err, OcrError::Decode(_)), "{err}");
    }

    #[test]
    fn transparent_pixels_become_white() {
        let mut img = image::RgbaImage::new(2, 1);
        img.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        img.put_pixel(1, 0, image::Rgba([10, 20, 30, 255]));
        let bytes = png_bytes(&DynamicImage::ImageRgba8(img));
        let rgb = decode_image(&bytes, 100).expect("decode");
        assert_eq!(rgb.get_pixel(0, 0).0, [255, 255, 255]);
        assert_eq!(rgb.get_pixel(1, 0).0, [10, 20, 30]);
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xffff_ffffu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 != 0 {
                    (crc >> 1) ^ 0xedb8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
