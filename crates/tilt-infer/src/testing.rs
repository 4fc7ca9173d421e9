//! Model directories made in code, for tests and benchmarks: deterministic random weights
//! under the real tensor names, written as safetensors with a `config.json`, and a small
//! Unigram `tokenizer.json` with T5's special ids (0 pad, 1 EOS, 2 unk). Answers from such a
//! model are meaningless; the plumbing around them is real.

use std::collections::BTreeMap;
use std::path::Path;

use tch::Tensor;
use tokenizers::Tokenizer;
use tokenizers::models::unigram::Unigram;
use tokenizers::pre_tokenizers::metaspace::{Metaspace, PrependScheme};

use crate::{TiltConfig, TiltError, WeightMap};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TiltError + '_ {
    move |e| TiltError::Io {
        path: path.to_path_buf(),
        source: e,
    }
}

/// Writes `config.json` and `model.safetensors` holding `ckpt` into `dir`.
pub fn write_checkpoint(
    dir: &Path,
    cfg: &TiltConfig,
    ckpt: &BTreeMap<String, Tensor>,
) -> Result<(), TiltError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let json = serde_json::to_string_pretty(cfg).map_err(|e| TiltError::Config(e.to_string()))?;
    let cfg_path = dir.join("config.json");
    std::fs::write(&cfg_path, json).map_err(io(&cfg_path))?;
    let list: Vec<(&str, &Tensor)> = ckpt.iter().map(|(k, v)| (k.as_str(), v)).collect();
    Tensor::write_safetensors(&list, dir.join("model.safetensors"))
        .map_err(|e| TiltError::Weights(e.to_string()))
}

/// A complete model directory: deterministic weights ([`WeightMap::random_checkpoint`]) and
/// [`tokenizer`] sized to the config's vocabulary.
pub fn write_random_model(
    dir: &Path,
    cfg: &TiltConfig,
    seed: u64,
    std: f64,
) -> Result<(), TiltError> {
    write_checkpoint(dir, cfg, &WeightMap::random_checkpoint(cfg, seed, std))?;
    tokenizer(cfg.vocab_size)
        .save(dir.join("tokenizer.json"), false)
        .map_err(|e| TiltError::Tokenizer(e.to_string()))
}

/// A Unigram tokenizer of `vocab` pieces: a few whole words, then single characters with and
/// without the word-start mark, padded with unused pieces.
pub fn tokenizer(vocab: usize) -> Tokenizer {
    let mut pieces: Vec<(String, f64)> = vec![
        ("<pad>".into(), 0.0),
        ("</s>".into(), 0.0),
        ("<unk>".into(), 0.0),
    ];
    for w in [
        "▁Total",
        "▁total",
        "▁amount",
        "▁What",
        "▁is",
        "▁the",
        "▁:",
        "▁",
        "▁date",
        "▁|",
    ] {
        pieces.push((w.into(), -2.0));
    }
    for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:?-/$€".chars() {
        pieces.push((c.to_string(), -5.0));
        pieces.push((format!("▁{c}"), -5.5));
    }
    let mut k = 0;
    while pieces.len() < vocab {
        pieces.push((format!("<extra_{k}>"), -20.0));
        k += 1;
    }
    pieces.truncate(vocab.max(3));
    let mut tok = match Unigram::from(pieces, Some(2), false) {
        Ok(model) => Tokenizer::new(model),
        Err(_) => Tokenizer::new(Unigram::default()),
    };
    tok.with_pre_tokenizer(Some(Metaspace::new('▁', PrependScheme::Always, true)));
    tok.with_decoder(Some(Metaspace::new('▁', PrependScheme::Always, true)));
    tok
}
