//! Text recognition: rec-model input batches and CTC greedy decoding with per-character
//! time-step spans (from which word boxes are derived).

use image::RgbImage;
use serde::{Deserialize, Serialize};

use crate::error::{OcrError, Result, Stage};

/// Recogniser settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecOptions {
    /// Input height of the rec model.
    pub height: u32,
    /// Most crops in one model call.
    pub batch_size: usize,
    /// A batch is closed when the next crop is wider than its first by this factor, so
    /// little compute goes to padding.
    pub max_width_spread: f32,
    /// Every batch is padded to at least this width, as PaddleOCR and RapidOCR pad (320). The
    /// v4 rec model reads short crops worse without that right margin (CER on the dev sets
    /// 2.2 % against 1.7 %); 0 pads only to the widest crop of the batch.
    pub min_width: u32,
    /// Columns of padding added right of the widest crop of a batch.
    pub right_pad: u32,
    /// Lines whose mean character probability is below this are dropped.
    pub min_score: f32,
    /// Two characters further apart than this many times the line's median character pitch
    /// are split into two words even without a space between them (the v4 model often drops
    /// spaces).
    pub word_gap: f32,
    /// Batches recognised at once, each on a session of its own with its share of the
    /// intra-op threads (`intra_threads / lanes`, at least one): whole batches scale across
    /// cores better than one batch's operators do. 0 chooses one lane per four threads, at
    /// most four (measured: 16 threads, 4 lanes: rec 1.4× faster; 2 threads: no gain).
    pub lanes: usize,
}

impl Default for RecOptions {
    fn default() -> Self {
        Self {
            height: 48,
            batch_size: 8,
            max_width_spread: 1.3,
            min_width: 320,
            right_pad: 0,
            min_score: 0.5,
            word_gap: 2.0,
            lanes: 0,
        }
    }
}

/// Splits crops, sorted by ascending width, into batches: at most `batch_size` crops, and a new
/// batch whenever the next crop is more than `spread` times the batch's first crop.
pub fn plan_batches(
    sorted_widths: &[u32],
    batch_size: usize,
    spread: f32,
) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 0..sorted_widths.len() {
        let len = i - start;
        if len > 0
            && (len >= batch_size.max(1)
                || sorted_widths[i] as f32 > sorted_widths[start] as f32 * spread)
        {
            out.push(start..i);
            start = i;
        }
    }
    if start < sorted_widths.len() {
        out.push(start..sorted_widths.len());
    }
    out
}

/// Writes crops into one NCHW tensor of width `width`, BGR, normalised to [-1, 1], each crop
/// left-aligned and the rest zero (PP-OCR's padding value after normalisation).
pub fn batch_tensor(crops: &[&RgbImage], height: u32, width: u32) -> (Vec<f32>, [usize; 4]) {
    let (h, w) = (height as usize, width as usize);
    let plane = h * w;
    let mut data = vec![0.0f32; crops.len() * 3 * plane];
    for (n, crop) in crops.iter().enumerate() {
        let base = n * 3 * plane;
        let cw = (crop.width() as usize).min(w);
        for y in 0..(crop.height() as usize).min(h) {
            for x in 0..cw {
                let px = crop.get_pixel(x as u32, y as u32);
                let i = y * w + x;
                data[base + i] = f32::from(px[2]) / 127.5 - 1.0;
                data[base + plane + i] = f32::from(px[1]) / 127.5 - 1.0;
                data[base + 2 * plane + i] = f32::from(px[0]) / 127.5 - 1.0;
            }
        }
    }
    (data, [crops.len(), 3, h, w])
}

/// A recognised character and the time steps `[first, last]` it was emitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedChar {
    pub ch: String,
    pub prob: f32,
    pub first_step: usize,
    pub last_step: usize,
}

/// One decoded line.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub chars: Vec<DecodedChar>,
    /// Time steps of the model output (the padded input width / steps = pixels per step).
    pub steps: usize,
}

impl Decoded {
    pub fn text(&self) -> String {
        self.chars.iter().map(|c| c.ch.as_str()).collect()
    }

    /// Mean probability of the emitted characters (0 for an empty line), as PP-OCR scores.
    pub fn confidence(&self) -> f32 {
        if self.chars.is_empty() {
            return 0.0;
        }
        self.chars.iter().map(|c| c.prob).sum::<f32>() / self.chars.len() as f32
    }
}

/// CTC greedy decoding over a PP-OCR character dictionary: class 0 is the blank, classes
/// 1..=N the dictionary entries, and N+1 a space when the model was trained with one.
#[derive(Debug, Clone)]
pub struct CtcDecoder {
    classes: Vec<String>,
}

impl CtcDecoder {
    /// Builds the decoder for a model with `num_classes` outputs from its dictionary entries
    /// (one per line, as in the `character` metadata or a dictionary file).
    pub fn new(dictionary: &str, num_classes: usize) -> Result<Self> {
        let entries: Vec<&str> = dictionary
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        // A trailing newline in a file gives one empty last entry that is not a class.
        let entries = match entries.split_last() {
            Some((&"", rest)) => rest.to_vec(),
            _ => entries,
        };
        let mut classes = Vec::with_capacity(entries.len() + 2);
        classes.push(String::new());
        classes.extend(entries.iter().map(|s| (*s).to_string()));
        if num_classes == classes.len() + 1 {
            classes.push(" ".to_string());
        }
        if classes.len() != num_classes {
            return Err(OcrError::Dictionary(format!(
                "{} entries do not fit a model with {num_classes} output classes \
                 (expected {} or {} entries)",
                entries.len(),
                num_classes.saturating_sub(2),
                num_classes.saturating_sub(1)
            )));
        }
        Ok(Self { classes })
    }

    pub fn num_classes(&self) -> usize {
        self.classes.len()
    }

    /// Decodes one `[steps, classes]` row-major probability matrix.
    pub fn decode(&self, probs: &[f32], steps: usize) -> Result<Decoded> {
        let c = self.classes.len();
        if probs.len() != steps * c {
            return Err(OcrError::BadOutput {
                stage: Stage::Rec,
                message: format!("{} values for {steps} steps × {c} classes", probs.len()),
            });
        }
        let mut chars: Vec<DecodedChar> = Vec::new();
        let mut prev = usize::MAX;
        for t in 0..steps {
            let row = &probs[t * c..(t + 1) * c];
            let (idx, p) = argmax(row);
            if idx != 0 && idx == prev {
                if let Some(last) = chars.last_mut() {
                    last.last_step = t;
                }
            } else if idx != 0 {
                chars.push(DecodedChar {
                    ch: self.classes[idx].clone(),
                    prob: p,
                    first_step: t,
                    last_step: t,
                });
            }
            prev = idx;
        }
        Ok(Decoded { chars, steps })
    }
}

/// The first index of the largest value and the value (`(0, -inf)` for an empty row or one
/// with nothing but NaN). The maximum is found eight lanes at a time, which the compiler
/// vectorises; a step's row holds the whole dictionary (6,625 classes for v4).
fn argmax(row: &[f32]) -> (usize, f32) {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = row.chunks_exact(8);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (m, &v) in lanes.iter_mut().zip(chunk) {
            *m = m.max(v);
        }
    }
    let best = lanes
        .iter()
        .chain(tail)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    match row.iter().position(|&v| v == best) {
        Some(i) => (i, best),
        None => (0, f32::NEG_INFINITY),
    }
}

/// A word of a decoded line: its text, mean probability, and horizontal extent in the rec
/// input's pixels.
#[derive(Debug, Clone, PartialEq)]
pub struct WordSpan {
    pub text: String,
    pub prob: f32,
    pub x0: f32,
    pub x1: f32,
}

/// Splits a decoded line into words at spaces, and where the model dropped a space (the v4
/// model often does) at gaps much wider than the line's usual character pitch. Each word is
/// located by the time steps of its characters. `input_width` is the padded width the model
/// saw, `content_width` the width the crop occupied in it.
pub fn word_spans(
    d: &Decoded,
    input_width: u32,
    content_width: u32,
    gap_factor: f32,
) -> Vec<WordSpan> {
    if d.steps == 0 {
        return Vec::new();
    }
    let px_per_step = input_width as f32 / d.steps as f32;
    let limit = content_width as f32;
    // The median distance between successive characters of the same word-run, in steps.
    let mut pitches: Vec<usize> = d
        .chars
        .windows(2)
        .filter(|w| !w[0].ch.trim().is_empty() && !w[1].ch.trim().is_empty())
        .map(|w| w[1].first_step - w[0].first_step)
        .collect();
    pitches.sort_unstable();
    let pitch = pitches.get(pitches.len() / 2).copied().unwrap_or(0) as f32;
    let break_at = (pitch * gap_factor).max(3.0);
    let mut words = Vec::new();
    let mut cur: Vec<&DecodedChar> = Vec::new();
    let flush = |cur: &mut Vec<&DecodedChar>, words: &mut Vec<WordSpan>| {
        if let (Some(first), Some(last)) = (cur.first(), cur.last()) {
            let x0 = (first.first_step as f32 * px_per_step).min(limit);
            let x1 = ((last.last_step + 1) as f32 * px_per_step).min(limit);
            words.push(WordSpan {
                text: cur.iter().map(|c| c.ch.as_str()).collect(),
                prob: cur.iter().map(|c| c.prob).sum::<f32>() / cur.len() as f32,
                x0,
                x1: x1.max(x0),
            });
        }
        cur.clear();
    };
    for c in &d.chars {
        if c.ch.trim().is_empty() {
            flush(&mut cur, &mut words);
            continue;
        }
        if pitches.len() >= 2
            && let Some(prev) = cur.last()
            && (c.first_step - prev.first_step) as f32 >= break_at
        {
            flush(&mut cur, &mut words);
        }
        cur.push(c);
    }
    flush(&mut cur, &mut words);
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probs(rows: &[usize], classes: usize) -> Vec<f32> {
        let mut v = vec![0.01f32; rows.len() * classes];
        for (t, &k) in rows.iter().enumerate() {
            v[t * classes + k] = 0.9;
        }
        v
    }

    #[test]
    fn argmax_takes_the_first_largest_value_like_a_plain_scan() {
        let plain = |row: &[f32]| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                    if v > best.1 { (i, v) } else { best }
                })
        };
        let mut rows: Vec<Vec<f32>> = vec![
            vec![],
            vec![f32::NAN, f32::NAN],
            vec![0.5],
            vec![0.1, 0.7, 0.7, 0.2],
            vec![f32::NAN, 0.3, 0.9, f32::NAN, 0.9],
        ];
        // Longer rows with the maximum in the chunked part, in the tail, and repeated.
        for len in [8usize, 9, 17, 6625] {
            for at in [0, len / 2, len - 1] {
                let mut row: Vec<f32> = (0..len).map(|i| ((i * 37) % 101) as f32 / 200.0).collect();
                row[at] = 0.99;
                rows.push(row.clone());
                row[len - 1] = 0.99;
                rows.push(row);
            }
        }
        for row in &rows {
            assert_eq!(argmax(row), plain(row), "{row:?}");
        }
    }

    #[test]
    fn dictionary_must_fit_the_model() {
        assert_eq!(
            CtcDecoder::new("a\nb\nc", 5)
                .expect("with space")
                .num_classes(),
            5
        );
        assert_eq!(
            CtcDecoder::new("a\nb\nc\n", 4)
                .expect("no space")
                .num_classes(),
            4
        );
        let err = CtcDecoder::new("a\nb", 9).expect_err("mismatch");
        assert!(err.to_string().contains("9 output classes"), "{err}");
    }

    #[test]
    fn greedy_decoding_collapses_repeats_and_drops_blanks() {
        // classes: 0 blank, 1 'a', 2 'b', 3 ' '
        let dec = CtcDecoder::new("a\nb", 4).expect("dec");
        let d = dec
            .decode(&probs(&[1, 1, 0, 1, 2, 2, 0, 3, 2], 4), 9)
            .expect("decode");
        assert_eq!(d.text(), "aab b");
        assert_eq!(d.chars[0].first_step, 0);
        assert_eq!(d.chars[0].last_step, 1);
        assert_eq!(d.chars[2].first_step, 4);
        assert_eq!(d.chars[2].last_step, 5);
        assert!((d.confidence() - 0.9).abs() < 1e-6);
        assert!(dec.decode(&[0.0; 7], 2).is_err());
    }

    #[test]
    fn words_split_on_spaces_and_wide_gaps() {
        let dec = CtcDecoder::new("a\nb", 4).expect("dec");
        // Characters every 3 steps: "ab", a space, "ab", then "a" 9 steps after the last "b"
        // (three pitches: a dropped space), then "b" at the usual pitch.
        let rows = [
            1, 0, 0, 2, 0, 0, 3, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2,
        ];
        let d = dec.decode(&probs(&rows, 4), rows.len()).expect("decode");
        assert_eq!(d.text(), "ab abab");
        // 25 steps over 200 px: 8 px per step.
        let w = word_spans(&d, 200, 200, 2.0);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["ab", "ab", "ab"]);
        assert_eq!((w[0].x0, w[0].x1), (0.0, 32.0));
        assert_eq!((w[2].x0, w[2].x1), (168.0, 200.0));
        // Content narrower than the padded input clips the boxes.
        let w = word_spans(&d, 200, 180, 2.0);
        assert_eq!((w[2].x0, w[2].x1), (168.0, 180.0));
    }

    #[test]
    fn batches_close_on_size_and_spread() {
        assert_eq!(plan_batches(&[10, 11, 12, 13], 2, 2.0), vec![0..2, 2..4]);
        assert_eq!(plan_batches(&[10, 12, 20, 21], 8, 1.3), vec![0..2, 2..4]);
        assert_eq!(
            plan_batches(&[], 8, 1.3),
            Vec::<std::ops::Range<usize>>::new()
        );
        assert_eq!(plan_batches(&[5], 8, 1.3), vec![0..1]);
    }

    #[test]
    fn batch_tensor_pads_with_zero() {
        let a = RgbImage::from_pixel(2, 2, image::Rgb([255, 255, 255]));
        let (data, shape) = batch_tensor(&[&a], 2, 4);
        assert_eq!(shape, [1, 3, 2, 4]);
        assert_eq!(&data[0..4], &[1.0, 1.0, 0.0, 0.0]);
    }
}
