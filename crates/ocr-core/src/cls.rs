//! The 0/180° text-line classifier's input and output.

use image::RgbImage;

use crate::error::{OcrError, Result, Stage};

/// Input height and width of the PP-OCR mobile classifier.
pub const CLS_HEIGHT: u32 = 48;
pub const CLS_WIDTH: u32 = 192;

/// The width a crop of `ratio` (w/h) takes in the classifier input.
pub fn cls_width(ratio: f32) -> u32 {
    ((CLS_HEIGHT as f32 * ratio).ceil() as u32).clamp(1, CLS_WIDTH)
}

/// Reads `[N, 2]` classifier output into "is upside down" decisions: class 1 (180°) winning
/// with probability above `thresh`.
pub fn upside_down(shape: &[i64], data: &[f32], n: usize, thresh: f32) -> Result<Vec<bool>> {
    if shape.len() != 2 || shape[0] as usize != n || shape[1] != 2 || data.len() != 2 * n {
        return Err(OcrError::BadOutput {
            stage: Stage::Cls,
            message: format!("expected [{n}, 2], got {shape:?}"),
        });
    }
    Ok(data
        .chunks_exact(2)
        .map(|p| p[1] > p[0] && p[1] > thresh)
        .collect())
}

/// Whether a page sample says the page is upside down: a strict majority of the sampled lines
/// read as 180°.
pub fn page_is_upside_down(votes: &[bool]) -> bool {
    let flipped = votes.iter().filter(|&&v| v).count();
    !votes.is_empty() && flipped * 2 > votes.len()
}

/// Crops sized for the classifier input, as references for [`crate::rec::batch_tensor`].
pub fn as_refs(crops: &[RgbImage]) -> Vec<&RgbImage> {
    crops.iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions_need_class_180_above_threshold() {
        let out = upside_down(&[3, 2], &[0.9, 0.1, 0.05, 0.95, 0.15, 0.85], 3, 0.9).expect("ok");
        assert_eq!(out, [false, true, false]);
        assert!(upside_down(&[3, 3], &[0.0; 9], 3, 0.9).is_err());
    }

    #[test]
    fn majority_vote() {
        assert!(page_is_upside_down(&[true, true, false]));
        assert!(!page_is_upside_down(&[true, false]));
        assert!(!page_is_upside_down(&[]));
        assert_eq!(cls_width(10.0), 192);
        assert_eq!(cls_width(0.5), 24);
    }
}
