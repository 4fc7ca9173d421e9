//! Image resizing (SIMD, via fast_image_resize).

use fast_image_resize::{FilterType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;

/// Bilinear resize of an RGB image. Returns the input unchanged when the size already matches.
pub fn resize_rgb(src: &RgbImage, width: u32, height: u32) -> RgbImage {
    if src.dimensions() == (width, height) {
        return src.clone();
    }
    let mut dst = RgbImage::new(width.max(1), height.max(1));
    let opts = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Bilinear));
    // Both images are U8x3 and non-empty, the only conditions under which resize can fail;
    // fall back to nearest sampling rather than panic should that ever change.
    if Resizer::new().resize(src, &mut dst, &opts).is_err() {
        dst = image::imageops::resize(src, width, height, image::imageops::FilterType::Nearest);
    }
    dst
}
