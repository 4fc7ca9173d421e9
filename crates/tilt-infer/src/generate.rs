//! From an OCR Document and questions to answers (§5.2, §6, §7): input preparation with
//! `tilt-prep`, page features, chunked encoding into the fusion-in-decoder memory, and greedy
//! decoding of a batch of questions with a KV cache, stopping at EOS or `max_tokens`.

use std::path::Path;

use ocr_document::OcrDocument;
use tch::{Device, Kind, Tensor};
use tilt_prep::tilt_input::{self, DocumentTokens, PageImage};
use tokenizers::Tokenizer;

use crate::TiltError;
use crate::model::{ChunkInput, Precision, TiltModel};

/// Why decoding stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FinishReason {
    /// The model emitted EOS.
    Stop,
    /// `max_tokens` were produced without EOS.
    Length,
}

impl FinishReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
        }
    }
}

/// Greedy output of one sequence.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    /// Generated ids, EOS included when it was produced.
    pub ids: Vec<i64>,
    /// Log-probability of each generated id under the raw fp32 logits.
    pub logprobs: Vec<f32>,
    pub finish: FinishReason,
}

impl Generation {
    /// `exp(min log-prob)` over every generated token, EOS included (§7.1); 0 when empty.
    pub fn score(&self) -> f64 {
        self.logprobs
            .iter()
            .copied()
            .reduce(f32::min)
            .map(|m| (m as f64).exp())
            .unwrap_or(0.0)
    }
}

/// Greedy decoding from token `start` for every memory, each up to its `max_tokens`, with the
/// decoder's KV cache; finished sequences leave the batch.
pub fn greedy(model: &TiltModel, memories: &[Tensor], max_tokens: &[usize]) -> Vec<Generation> {
    let _g = tch::no_grad_guard();
    let eos = model.cfg.eos_token_id as i64;
    let start = model.cfg.decoder_start_token_id as i64;
    let mut out: Vec<Generation> = (0..memories.len())
        .map(|_| Generation {
            ids: Vec::new(),
            logprobs: Vec::new(),
            finish: FinishReason::Length,
        })
        .collect();
    // Rows of the batch → index in `out`.
    let mut alive: Vec<usize> = (0..memories.len()).filter(|&i| max_tokens[i] > 0).collect();
    if alive.is_empty() {
        return out;
    }
    let live_memories: Vec<Tensor> = alive.iter().map(|&i| memories[i].shallow_clone()).collect();
    let mut state = model.start_decoding(&live_memories);
    let mut tokens = vec![start; alive.len()];
    while !alive.is_empty() {
        let input = Tensor::from_slice(&tokens).view([-1, 1]);
        let logits = model.decode(&mut state, &input).squeeze_dim(1);
        let next = logits.argmax(-1, false);
        let logp = logits
            .log_softmax(-1, Kind::Float)
            .gather(1, &next.unsqueeze(1), false)
            .squeeze_dim(1);
        let next: Vec<i64> = Vec::try_from(&next.to_device(Device::Cpu)).unwrap_or_default();
        let logp: Vec<f32> = Vec::try_from(&logp.to_device(Device::Cpu)).unwrap_or_default();
        let mut keep = Vec::new();
        let mut still = Vec::new();
        for (row, &i) in alive.iter().enumerate() {
            let (Some(&id), Some(&lp)) = (next.get(row), logp.get(row)) else {
                continue;
            };
            let g = &mut out[i];
            g.ids.push(id);
            g.logprobs.push(lp);
            if id == eos {
                g.finish = FinishReason::Stop;
            } else if g.ids.len() < max_tokens[i] {
                keep.push(row as i64);
                still.push(i);
            }
        }
        if still.len() != alive.len() && !still.is_empty() {
            state.retain(&keep);
        }
        tokens = keep.iter().map(|&r| next[r as usize]).collect();
        alive = still;
    }
    out
}

/// A document ready for questions: its tokens and the U-Net features of its pages.
#[derive(Debug)]
pub struct PreparedDocument {
    pub tokens: DocumentTokens,
    /// `[N, C, H/8, W/8]` fp32; `None` when no page has an image (RoIs then pool to 0).
    pub features: Option<Tensor>,
    /// The visual embedding of every document token, `[n, d_model]` fp32: RoIs do not depend
    /// on the question, so they are pooled once per document, not once per question and chunk.
    pub image_rows: Tensor,
}

/// One question's answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The decoded text, special tokens skipped, trimmed.
    pub text: String,
    /// `text` split on the answer separator `|`, each trimmed, empty values dropped.
    pub values: Vec<String>,
    /// `exp(min token log-prob)`.
    pub score: f64,
    /// The vocabulary piece of each generated id (for OpenAI-style logprobs).
    pub pieces: Vec<String>,
    pub generation: Generation,
}

/// The model with its tokenizer: documents and questions in, answers out.
#[derive(Debug)]
pub struct Tilt {
    pub model: TiltModel,
    pub tokenizer: Tokenizer,
}

impl Tilt {
    /// Loads a model directory (`config.json`, `tokenizer.json`, `*.safetensors`) on `device`
    /// (CUDA when available if `None`) in `precision` (fp32 on CPU, bf16 on CUDA if `None`).
    pub fn load(
        dir: &Path,
        device: Option<Device>,
        precision: Option<Precision>,
    ) -> Result<Self, TiltError> {
        if !dir.is_dir() {
            return Err(TiltError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "model directory not found",
                ),
            });
        }
        let tok_path = dir.join("tokenizer.json");
        if !tok_path.is_file() {
            return Err(TiltError::MissingFile {
                dir: dir.to_path_buf(),
                what: "tokenizer.json".into(),
            });
        }
        let tokenizer = Tokenizer::from_file(&tok_path)
            .map_err(|e| TiltError::Tokenizer(format!("{}: {e}", tok_path.display())))?;
        let device = device.unwrap_or_else(Device::cuda_if_available);
        let precision = precision.unwrap_or_else(|| Precision::default_for(device));
        let model = TiltModel::load(dir, device, precision)?;
        Ok(Tilt { model, tokenizer })
    }

    /// Tokenises the document and runs the U-Net over its page images (pages without an image,
    /// and pages from `image_limit` on, get none).
    pub fn prepare(
        &self,
        doc: &OcrDocument,
        images: &[Option<image::RgbImage>],
    ) -> Result<PreparedDocument, TiltError> {
        let cfg = self.model.cfg.prep();
        let tokens = tilt_input::tokenize_document(&self.tokenizer, doc, &cfg)?;
        if tokens.ids.is_empty() {
            return Err(TiltError::Prep(tilt_prep::tilt_input::PrepError::NoTokens));
        }
        let mut pages: Vec<PageImage> = Vec::new();
        for (i, page) in doc.pages.iter().enumerate() {
            let img = images.get(i).and_then(|o| o.as_ref());
            pages.push(match img {
                Some(img) if i < cfg.image_limit => tilt_input::page_image(img, &cfg)?,
                // A page without an image gets a white one (what the reference server does),
                // sized like the page, so that its RoIs read blank paper.
                _ => {
                    let h = ((page.height.max(1) as f64) * cfg.image_width as f64
                        / page.width.max(1) as f64)
                        .round_ties_even()
                        .clamp(1.0, cfg.max_image_height as f64) as u32;
                    PageImage {
                        width: cfg.image_width,
                        height: h,
                        pixels: vec![1.0; (cfg.image_width * h) as usize],
                    }
                }
            });
        }
        let features = if pages.is_empty() {
            None
        } else {
            let (h, w, px) = tilt_input::pad_images(&pages);
            let t = Tensor::from_slice(&px).view([pages.len() as i64, 1, h as i64, w as i64]);
            Some(self.model.page_features(&t))
        };
        let image_rows = match &features {
            Some(f) => self.model.roi_embeddings(f, &tokens.rois),
            None => Tensor::zeros(
                [tokens.ids.len() as i64, self.model.cfg.d_model as i64],
                (Kind::Float, self.model.device),
            ),
        };
        Ok(PreparedDocument {
            tokens,
            features,
            image_rows,
        })
    }

    /// The fusion-in-decoder memory of one question over a prepared document.
    pub fn encode(&self, doc: &PreparedDocument, question: &str) -> Result<Tensor, TiltError> {
        let cfg = self.model.cfg.prep();
        let prefix = tilt_input::question_prefix(&self.tokenizer, question, &cfg)?;
        let chunks = tilt_input::chunk(&prefix, &doc.tokens, cfg.chunk_length)?;
        let d = self.model.cfg.d_model as i64;
        let dev = self.model.device;
        let mut outputs = Vec::with_capacity(chunks.len());
        let mut start = 0i64;
        for c in &chunks {
            let ids: Vec<i64> = c.ids.iter().map(|&i| i as i64).collect();
            let boxes: Vec<f32> = c.bboxes.iter().flatten().copied().collect();
            let p = c.prefix_len as i64;
            let n = c.rois.len() as i64;
            let doc_rows = doc.image_rows.narrow(0, start, n);
            start += n;
            let image = Tensor::cat(&[Tensor::zeros([p, d], (Kind::Float, dev)), doc_rows], 0);
            let input = ChunkInput {
                ids: Tensor::from_slice(&ids),
                boxes: Tensor::from_slice(&boxes).view([-1, 4]),
                image,
            };
            outputs.extend(self.model.encode_packed(&[input]));
        }
        Ok(TiltModel::memory(&outputs, prefix.ids.len() as i64))
    }

    /// Answers a batch of (document, question, max_tokens): one encoder pass per question,
    /// then one batched greedy decode.
    pub fn answer(
        &self,
        requests: &[(&PreparedDocument, &str, usize)],
    ) -> Result<Vec<Answer>, TiltError> {
        let memories = requests
            .iter()
            .map(|(doc, q, _)| self.encode(doc, q))
            .collect::<Result<Vec<_>, _>>()?;
        let max: Vec<usize> = requests.iter().map(|r| r.2).collect();
        let gens = greedy(&self.model, &memories, &max);
        gens.into_iter().map(|g| self.to_answer(g)).collect()
    }

    /// Decodes a generation into text and values.
    pub fn to_answer(&self, g: Generation) -> Result<Answer, TiltError> {
        let ids: Vec<u32> = g
            .ids
            .iter()
            .filter(|&&i| i != self.model.cfg.eos_token_id as i64)
            .map(|&i| i as u32)
            .collect();
        let text = self
            .tokenizer
            .decode(&ids, true)
            .map_err(|e| TiltError::Tokenizer(e.to_string()))?
            .trim()
            .to_string();
        let values = text
            .split('|')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect();
        let pieces = g
            .ids
            .iter()
            .map(|&i| self.tokenizer.id_to_token(i as u32).unwrap_or_default())
            .collect();
        Ok(Answer {
            pieces,
            text,
            values,
            score: g.score(),
            generation: g,
        })
    }
}
