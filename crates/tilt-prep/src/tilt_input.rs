//! Arctic-TILT model inputs from the OCR Document (tilt-architecture.md §6): tokens with
//! per-token boxes split by character offsets, box normalisation and page stacking, RoI boxes,
//! the question prefix, chunking with the prefix repeated, and page images. Pure functions over
//! plain `Vec`s; the model crate turns them into tensors.

use tokenizers::Tokenizer;

use ocr_document::OcrDocument;

/// The preprocessing fields of the model's `config.json` (defaults as the spec's §2).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrepConfig {
    pub max_seq_length: usize,
    pub max_question_length: usize,
    pub chunk_length: usize,
    pub image_width: u32,
    pub max_image_height: u32,
    pub image_limit: usize,
    pub crop_bboxes: bool,
}

impl Default for PrepConfig {
    fn default() -> Self {
        PrepConfig {
            max_seq_length: 125_000,
            max_question_length: 256,
            chunk_length: 1024,
            image_width: 768,
            max_image_height: 2048,
            image_limit: 250,
            crop_bboxes: true,
        }
    }
}

/// Appended to every question.
pub const PREFIX_SEPARATOR: &str = " : ";

/// Why inputs could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PrepError {
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("Tokenized question has length {0} which is more than maximum permitted length {1}.")]
    QuestionTooLong(usize, usize),
    #[error("no page tokens produced from OCR")]
    NoTokens,
    #[error(
        "chunk_length {chunk} leaves no room for document tokens after a {prefix}-token question"
    )]
    ChunkTooShort { chunk: usize, prefix: usize },
    #[error("page image has no pixels")]
    EmptyImage,
}

/// The document's tokens.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DocumentTokens {
    pub ids: Vec<u32>,
    /// Normalised boxes (a page is 1/√2 wide), pages stacked vertically.
    pub bboxes: Vec<[f32; 4]>,
    /// (page index, x1, y1, x2, y2) in resized-image pixels, per page.
    pub rois: Vec<[f32; 5]>,
    /// Index of the word (within its page) each token came from.
    pub word_ids: Vec<u32>,
    /// Normalised y offset of each page (the sum of the heights before it).
    pub page_offsets: Vec<f64>,
}

/// The question prefix: its ids and boxes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Prefix {
    pub ids: Vec<u32>,
    pub bboxes: Vec<[f32; 4]>,
}

/// One encoder chunk: the prefix followed by a slice of the document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Chunk {
    pub ids: Vec<u32>,
    pub bboxes: Vec<[f32; 4]>,
    /// RoIs of the document tokens only (the prefix tokens get no image features).
    pub rois: Vec<[f32; 5]>,
    pub prefix_len: usize,
}

/// Splits a word's box horizontally among its tokens in proportion to their character lengths
/// (§6.2 step 4). `offsets` are the tokens' character offsets within the word.
pub fn split_word_box(bbox: [f32; 4], offsets: &[(usize, usize)]) -> Vec<[f32; 4]> {
    let lengths: Vec<usize> = offsets
        .iter()
        .enumerate()
        .map(|(k, &(start, end))| match offsets.get(k + 1) {
            Some(&(next_start, _)) if end > next_start => next_start.saturating_sub(start),
            _ => end.saturating_sub(start),
        })
        .collect();
    let total = lengths.iter().sum::<usize>().max(1) as f32;
    let [x1, y1, x2, y2] = bbox;
    let mut c0 = 0usize;
    lengths
        .iter()
        .map(|&len| {
            let c1 = c0 + len;
            let b = [
                x1 + c0 as f32 * (x2 - x1) / total,
                y1,
                x1 + c1 as f32 * (x2 - x1) / total,
                y2,
            ];
            c0 = c1;
            b
        })
        .collect()
}

/// Byte offsets within `word` (what Rust's tokenizers report) → character offsets (what the
/// reference implementation sees).
pub fn char_offsets(word: &str, byte_offsets: &[(usize, usize)]) -> Vec<(usize, usize)> {
    let to_char = |b: usize| word.char_indices().take_while(|(i, _)| *i < b).count();
    byte_offsets
        .iter()
        .map(|&(s, e)| (to_char(s), to_char(e)))
        .collect()
}

/// The normalisation factor of a page: `(1/√2) / width`, in f32 as the reference computes it.
pub fn page_scale(width: f32) -> f32 {
    (1.0f32 / 2.0f32.sqrt()) / width
}

/// Tokenises every page (§6.1–6.2), stopping at `max_seq_length` tokens.
pub fn tokenize_document(
    tok: &Tokenizer,
    doc: &OcrDocument,
    cfg: &PrepConfig,
) -> Result<DocumentTokens, PrepError> {
    let mut out = DocumentTokens::default();
    let mut offset = 0f64;
    let roi_factor = cfg.image_width as f32 / (1.0f32 / 2.0f32.sqrt());
    for page in &doc.pages {
        out.page_offsets.push(offset);
        let remaining = cfg.max_seq_length.saturating_sub(out.ids.len());
        if remaining == 0 {
            break;
        }
        let (w, h) = (page.width.max(1) as f32, page.height.max(1) as f32);
        let s = page_scale(w);
        let words: Vec<&str> = page.words.iter().map(|w| w.text.as_str()).collect();
        if !words.is_empty() {
            let enc = tok
                .encode(words.as_slice(), false)
                .map_err(|e| PrepError::Tokenizer(e.to_string()))?;
            let ids = enc.get_ids();
            let word_ids = enc.get_word_ids();
            let offsets = enc.get_offsets();
            // Tokens grouped per word, in order.
            let mut k = 0;
            while k < ids.len() && out.ids.len() < cfg.max_seq_length {
                let Some(wid) = word_ids[k] else {
                    k += 1;
                    continue;
                };
                let mut end = k;
                while end < ids.len() && word_ids[end] == Some(wid) {
                    end += 1;
                }
                let word = &page.words[wid as usize];
                let mut b = word.bbox;
                if cfg.crop_bboxes {
                    b = [
                        b[0].clamp(0.0, w),
                        b[1].clamp(0.0, h),
                        b[2].clamp(0.0, w),
                        b[3].clamp(0.0, h),
                    ];
                }
                let norm = b.map(|v| v * s);
                let char_offs = char_offsets(&word.text, &offsets[k..end]);
                for (t, tb) in split_word_box(norm, &char_offs).into_iter().enumerate() {
                    if out.ids.len() >= cfg.max_seq_length {
                        break;
                    }
                    out.ids.push(ids[k + t]);
                    out.word_ids.push(wid);
                    out.rois.push([
                        page.index as f32,
                        tb[0] * roi_factor,
                        tb[1] * roi_factor,
                        tb[2] * roi_factor,
                        tb[3] * roi_factor,
                    ]);
                    out.bboxes.push([
                        tb[0],
                        (tb[1] as f64 + offset) as f32,
                        tb[2],
                        (tb[3] as f64 + offset) as f32,
                    ]);
                }
                k = end;
            }
        }
        offset += h as f64 * s as f64;
    }
    Ok(out)
}

/// The question prefix (§6.1, §6.3): `question + " : "` tokenised without special tokens, and
/// a zero-height box per token just above the page.
pub fn question_prefix(
    tok: &Tokenizer,
    question: &str,
    cfg: &PrepConfig,
) -> Result<Prefix, PrepError> {
    let text = format!("{question}{PREFIX_SEPARATOR}");
    let enc = tok
        .encode(text.as_str(), false)
        .map_err(|e| PrepError::Tokenizer(e.to_string()))?;
    let ids = enc.get_ids().to_vec();
    if ids.len() > cfg.max_question_length {
        return Err(PrepError::QuestionTooLong(
            ids.len(),
            cfg.max_question_length,
        ));
    }
    let bboxes = prefix_boxes(ids.len());
    Ok(Prefix { ids, bboxes })
}

/// Token k of the prefix: `[-0.01 + 0.05k, -0.01, -0.01 + 0.05k, -0.01]`.
pub fn prefix_boxes(n: usize) -> Vec<[f32; 4]> {
    (0..n)
        .map(|k| {
            let x = -0.01f32 + 0.05f32 * k as f32;
            [x, -0.01, x, -0.01]
        })
        .collect()
}

/// Splits the document into encoder chunks of at most `chunk_length` tokens, each starting
/// with the prefix (§5.2).
pub fn chunk(
    prefix: &Prefix,
    doc: &DocumentTokens,
    chunk_length: usize,
) -> Result<Vec<Chunk>, PrepError> {
    let p = prefix.ids.len();
    if doc.ids.is_empty() {
        return Err(PrepError::NoTokens);
    }
    let usable =
        chunk_length
            .checked_sub(p)
            .filter(|u| *u > 0)
            .ok_or(PrepError::ChunkTooShort {
                chunk: chunk_length,
                prefix: p,
            })?;
    Ok((0..doc.ids.len())
        .step_by(usable)
        .map(|start| {
            let end = (start + usable).min(doc.ids.len());
            let mut ids = prefix.ids.clone();
            ids.extend_from_slice(&doc.ids[start..end]);
            let mut bboxes = prefix.bboxes.clone();
            bboxes.extend_from_slice(&doc.bboxes[start..end]);
            Chunk {
                ids,
                bboxes,
                rois: doc.rois[start..end].to_vec(),
                prefix_len: p,
            }
        })
        .collect())
}

/// A page image as the model reads it: grey values in [0, 1] (1 = white), `image_width` wide.
#[derive(Debug, Clone, PartialEq)]
pub struct PageImage {
    pub width: u32,
    pub height: u32,
    pub pixels: Vec<f32>,
}

/// Resizes a page to `image_width` (bicubic with antialiasing, height rounded half to even),
/// crops it to `max_image_height` rows and converts it to grey with the reference's weights
/// (§6.4). Grey conversion and resizing are both linear, so converting first gives the same
/// values up to float rounding.
pub fn page_image(img: &image::RgbImage, cfg: &PrepConfig) -> Result<PageImage, PrepError> {
    let (w, h) = img.dimensions();
    if w == 0 || h == 0 {
        return Err(PrepError::EmptyImage);
    }
    let grey: Vec<f32> = img
        .pixels()
        .map(|p| 0.001172 * p[0] as f32 + 0.002302 * p[1] as f32 + 0.000447 * p[2] as f32)
        .collect();
    let (tw, th) = if w == cfg.image_width {
        (w, h)
    } else {
        let th = ((h as f64) * cfg.image_width as f64 / w as f64)
            .round_ties_even()
            .max(1.0) as u32;
        (cfg.image_width, th)
    };
    let mut pixels = if (tw, th) == (w, h) {
        grey
    } else {
        resize_f32(&grey, w, h, tw, th)?
    };
    let height = th.min(cfg.max_image_height);
    pixels.truncate((tw * height) as usize);
    Ok(PageImage {
        width: tw,
        height,
        pixels,
    })
}

fn resize_f32(src: &[f32], w: u32, h: u32, tw: u32, th: u32) -> Result<Vec<f32>, PrepError> {
    use fast_image_resize::images::Image;
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let bytes: Vec<u8> = src.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let from =
        Image::from_vec_u8(w, h, bytes, PixelType::F32).map_err(|_| PrepError::EmptyImage)?;
    let mut to = Image::new(tw, th, PixelType::F32);
    Resizer::new()
        .resize(
            &from,
            &mut to,
            &ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom)),
        )
        .map_err(|_| PrepError::EmptyImage)?;
    Ok(to
        .buffer()
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Stacks page images for one step: right and bottom padded with 1.0 (white) to the largest
/// height and width, both rounded up to multiples of 64. Returns (height, width, pixels).
pub fn pad_images(images: &[PageImage]) -> (u32, u32, Vec<f32>) {
    let round64 = |v: u32| v.div_ceil(64) * 64;
    let h = round64(images.iter().map(|i| i.height).max().unwrap_or(0));
    let w = round64(images.iter().map(|i| i.width).max().unwrap_or(0));
    let mut out = vec![1.0f32; images.len() * (h * w) as usize];
    for (n, img) in images.iter().enumerate() {
        for y in 0..img.height as usize {
            let src = &img.pixels[y * img.width as usize..(y + 1) * img.width as usize];
            let dst = n * (h * w) as usize + y * w as usize;
            out[dst..dst + src.len()].copy_from_slice(src);
        }
    }
    (h, w, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocr_document::{BBox, DocPage, DocWord, PageSource};
    use tokenizers::models::unigram::Unigram;
    use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};

    /// A small Unigram tokenizer built in code: whole words for a few, characters otherwise.
    fn tokenizer() -> Tokenizer {
        let mut vocab: Vec<(String, f64)> = vec![
            ("<pad>".into(), 0.0),
            ("</s>".into(), 0.0),
            ("<unk>".into(), 0.0),
        ];
        for (t, s) in [
            ("▁Total", -1.0),
            ("▁To", -2.0),
            ("tal", -2.0),
            ("▁", -2.5),
            ("▁:", -1.0),
            ("▁What", -1.0),
            ("?", -1.0),
        ] {
            vocab.push((t.into(), s));
        }
        for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,ßü€".chars() {
            vocab.push((c.to_string(), -5.0));
        }
        let model = Unigram::from(vocab, Some(2), false).expect("unigram");
        let mut tok = Tokenizer::new(model);
        tok.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
        tok
    }

    /// A page: width, height and its words with boxes.
    type TestPage<'a> = (u32, u32, &'a [(&'a str, BBox)]);

    fn doc(pages: &[TestPage<'_>]) -> OcrDocument {
        OcrDocument {
            pages: pages
                .iter()
                .enumerate()
                .map(|(i, (w, h, words))| {
                    DocPage::from_words(
                        i,
                        *w,
                        *h,
                        PageSource::Ocr,
                        words.iter().map(|(t, b)| DocWord {
                            text: (*t).into(),
                            bbox: *b,
                            conf: 1.0,
                        }),
                    )
                })
                .collect(),
        }
    }

    #[test]
    fn word_boxes_split_by_character_lengths() {
        // "▁To" covers chars 0..2 of "Total" in the reference's offsets, "tal" 2..5.
        assert_eq!(
            split_word_box([100.0, 200.0, 220.0, 230.0], &[(0, 2), (2, 5)]),
            vec![[100.0, 200.0, 148.0, 230.0], [148.0, 200.0, 220.0, 230.0]]
        );
        // A bare "▁" overlapping the next token gets zero width.
        assert_eq!(
            split_word_box([0.0, 0.0, 20.0, 10.0], &[(0, 1), (0, 2)]),
            vec![[0.0, 0.0, 0.0, 10.0], [0.0, 0.0, 20.0, 10.0]]
        );
        // No characters at all: T = 1, boxes collapse to the left edge.
        assert_eq!(
            split_word_box([5.0, 0.0, 9.0, 1.0], &[(0, 0)]),
            vec![[5.0, 0.0, 5.0, 1.0]]
        );
    }

    #[test]
    fn byte_offsets_become_character_offsets() {
        // "Größe": ö and ß are 2 bytes each.
        assert_eq!(
            char_offsets("Größe", &[(0, 4), (4, 7)]),
            vec![(0, 3), (3, 5)]
        );
    }

    #[test]
    fn normalisation_rois_and_page_stacking() {
        let d = doc(&[
            (1000, 1400, &[("Total", [100.0, 200.0, 220.0, 230.0])]),
            (1000, 1400, &[("56", [230.0, 200.0, 340.0, 230.0])]),
        ]);
        let t = tokenize_document(&tokenizer(), &d, &PrepConfig::default()).expect("tokenises");
        let s = page_scale(1000.0);
        assert_eq!(t.ids.len(), t.bboxes.len());
        assert_eq!(t.rois.len(), t.ids.len());
        // Page 1: "▁Total" is one token with the whole normalised box.
        assert_eq!(t.bboxes[0], [100.0 * s, 200.0 * s, 220.0 * s, 230.0 * s]);
        // RoIs: pixels × 768 / page width, before stacking, with the page index first.
        let r = t.rois[0];
        assert_eq!(r[0], 0.0);
        assert!(
            (r[1] - 76.8).abs() < 1e-3 && (r[2] - 153.6).abs() < 1e-3,
            "{r:?}"
        );
        // Page 2 is moved down by page 1's normalised height (1400 / 1000 / √2 ≈ 0.98995).
        let off = 1400.0f64 * s as f64;
        assert!((t.page_offsets[1] - 0.989_949_5).abs() < 1e-6);
        let last = t.bboxes.last().copied().expect("token");
        assert!((last[1] as f64 - (200.0 * s as f64 + off)).abs() < 1e-6);
        assert_eq!(t.rois.last().map(|r| r[0]), Some(1.0));
        // "56" → "▁" + "5" + "6" (no whole-word token): the bare "▁" has zero width.
        let n = t.ids.len();
        let b = &t.bboxes[n - 3..];
        assert_eq!(b[0][0], b[0][2], "{b:?}");
        assert!(b[1][2] > b[1][0] && (b[2][2] - 340.0 * s).abs() < 1e-6);
    }

    #[test]
    fn the_sequence_limit_truncates() {
        let d = doc(&[(
            100,
            100,
            &[
                ("abcdef", [0.0, 0.0, 60.0, 10.0]),
                ("ghij", [0.0, 20.0, 40.0, 30.0]),
            ],
        )]);
        let cfg = PrepConfig {
            max_seq_length: 4,
            ..PrepConfig::default()
        };
        let t = tokenize_document(&tokenizer(), &d, &cfg).expect("tokenises");
        assert_eq!(t.ids.len(), 4);
    }

    #[test]
    fn question_prefix_and_its_limit() {
        let p = question_prefix(&tokenizer(), "What", &PrepConfig::default()).expect("prefix");
        // "▁What", "▁:" ; the trailing space of " : " gives a bare "▁".
        assert!(p.ids.len() >= 2);
        assert_eq!(p.bboxes[0], [-0.01, -0.01, -0.01, -0.01]);
        assert_eq!(p.bboxes[1], [-0.01 + 0.05, -0.01, -0.01 + 0.05, -0.01]);
        let cfg = PrepConfig {
            max_question_length: 1,
            ..PrepConfig::default()
        };
        let e = question_prefix(&tokenizer(), "What", &cfg).expect_err("too long");
        assert!(
            e.to_string().starts_with("Tokenized question has length"),
            "{e}"
        );
    }

    #[test]
    fn chunks_repeat_the_prefix() {
        let prefix = Prefix {
            ids: vec![7, 8],
            bboxes: prefix_boxes(2),
        };
        let doc = DocumentTokens {
            ids: (100..107).collect(),
            bboxes: (0..7).map(|i| [i as f32; 4]).collect(),
            rois: (0..7).map(|i| [0.0, i as f32, 0.0, 0.0, 0.0]).collect(),
            word_ids: (0..7).collect(),
            page_offsets: vec![0.0],
        };
        let c = chunk(&prefix, &doc, 5).expect("chunks");
        // usable = 3 → ceil(7 / 3) = 3 chunks of 3, 3, 1 document tokens.
        assert_eq!(c.len(), 3);
        assert_eq!(c[0].ids, vec![7, 8, 100, 101, 102]);
        assert_eq!(c[2].ids, vec![7, 8, 106]);
        assert_eq!(c[1].bboxes[2], [3.0; 4]);
        assert_eq!(c[2].rois, vec![[0.0, 6.0, 0.0, 0.0, 0.0]]);
        assert!(matches!(
            chunk(&prefix, &doc, 2),
            Err(PrepError::ChunkTooShort { .. })
        ));
        assert!(matches!(
            chunk(&prefix, &DocumentTokens::default(), 5),
            Err(PrepError::NoTokens)
        ));
    }

    #[test]
    fn page_images_resized_cropped_grey_and_padded() {
        let white = image::RgbImage::from_pixel(1536, 5000, image::Rgb([255, 255, 255]));
        let p = page_image(&white, &PrepConfig::default()).expect("image");
        assert_eq!(
            (p.width, p.height),
            (768, 2048),
            "2500 rows after resize, cropped to 2048"
        );
        assert!(
            p.pixels.iter().all(|v| (v - 0.999_855).abs() < 1e-4),
            "white is ~1.0"
        );
        // 100 x 131 → height round(131 * 7.68) = round(1006.08) = 1006.
        let small = image::RgbImage::from_pixel(100, 131, image::Rgb([0, 0, 0]));
        let q = page_image(&small, &PrepConfig::default()).expect("image");
        assert_eq!((q.width, q.height), (768, 1006));
        assert!(q.pixels.iter().all(|v| v.abs() < 1e-5));
        let (h, w, px) = pad_images(&[
            q.clone(),
            PageImage {
                width: 768,
                height: 10,
                pixels: vec![0.5; 7680],
            },
        ]);
        assert_eq!((h, w), (1024, 768));
        assert_eq!(px.len(), 2 * 1024 * 768);
        assert_eq!(px[1023 * 768], 1.0, "padding is white");
        assert_eq!(px[1024 * 768], 0.5);
        assert_eq!(px[1024 * 768 + 10 * 768], 1.0);
    }
}
