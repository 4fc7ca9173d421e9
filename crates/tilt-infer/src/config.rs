//! `config.json` of an Arctic-TILT model directory (tilt-architecture.md §2). Every field has
//! the `TiltConfig` constructor default, so a partial file (or `{}`) is a full-size model.

use std::path::Path;

use serde::{Deserialize, Serialize};
use tilt_prep::tilt_input::PrepConfig;

use crate::TiltError;

macro_rules! default_fns {
    ($($name:ident: $ty:ty = $val:expr;)*) => {
        $(fn $name() -> $ty { $val })*
    };
}

default_fns! {
    vocab_size: usize = 32128;
    d_model: usize = 1024;
    d_ff: usize = 4096;
    d_kv: usize = 64;
    heads: usize = 16;
    layers: usize = 24;
    buckets: usize = 32;
    max_distance: usize = 128;
    planar_max_distance: usize = 100;
    scale100: f64 = 100.0;
    eps: f64 = 1e-6;
    zero: u32 = 0;
    one: u32 = 1;
    zero_f: f64 = 0.0;
    unet_in: usize = 1;
    unet_init: usize = 32;
    unet_out: usize = 128;
    max_seq: usize = 125_000;
    max_out: usize = 512;
    max_question: usize = 256;
    chunk: usize = 1024;
    images_in_chunk: usize = 4;
    image_limit: usize = 250;
    image_width: u32 = 768;
    max_image_height: u32 = 2048;
    yes: bool = true;
    prefix_sep: String = " : ".into();
    answer_sep: String = " | ".into();
    model_type: String = "tilt".into();
}

/// The model's configuration. Unknown keys are ignored (HF configs carry many).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TiltConfig {
    #[serde(default = "model_type")]
    pub model_type: String,
    #[serde(default = "vocab_size")]
    pub vocab_size: usize,
    #[serde(default = "d_model")]
    pub d_model: usize,
    #[serde(default = "d_ff")]
    pub d_ff: usize,
    #[serde(default = "d_kv")]
    pub d_kv: usize,
    #[serde(default = "heads")]
    pub num_attention_heads: usize,
    #[serde(default = "layers")]
    pub num_hidden_layers: usize,
    #[serde(default = "buckets")]
    pub bias_num_buckets: usize,
    #[serde(default = "max_distance")]
    pub bias_max_distance: usize,
    #[serde(default = "planar_max_distance")]
    pub bias_planar_max_distance: usize,
    #[serde(default = "scale100")]
    pub bias_horz_scale: f64,
    /// Read but unused: the reference builds the vertical bucketizer with `bias_horz_scale`.
    #[serde(default = "scale100")]
    pub bias_vert_scale: f64,
    #[serde(default = "eps")]
    pub layer_norm_epsilon: f64,
    #[serde(default = "zero")]
    pub pad_token_id: u32,
    #[serde(default = "zero")]
    pub bos_token_id: u32,
    #[serde(default = "zero")]
    pub decoder_start_token_id: u32,
    #[serde(default = "one")]
    pub eos_token_id: u32,
    #[serde(default = "zero_f")]
    pub roi_expansion_width: f64,
    #[serde(default = "unet_in")]
    pub unet_in_channels: usize,
    #[serde(default = "unet_init")]
    pub unet_init_features: usize,
    #[serde(default = "unet_out")]
    pub unet_out_features: usize,
    #[serde(default = "max_seq")]
    pub max_seq_length: usize,
    #[serde(default = "max_out")]
    pub max_output_length: usize,
    #[serde(default = "max_question")]
    pub max_question_length: usize,
    #[serde(default = "chunk")]
    pub chunk_length: usize,
    #[serde(default = "images_in_chunk")]
    pub max_images_in_chunk: usize,
    #[serde(default = "image_limit")]
    pub image_limit: usize,
    #[serde(default = "image_width")]
    pub image_width: u32,
    #[serde(default = "max_image_height")]
    pub max_image_height: u32,
    #[serde(default = "yes")]
    pub crop_bboxes: bool,
    #[serde(default = "prefix_sep")]
    pub prefix_separator: String,
    #[serde(default = "answer_sep")]
    pub answer_separator: String,
    #[serde(default = "yes")]
    pub is_encoder_decoder: bool,
}

impl Default for TiltConfig {
    fn default() -> Self {
        // An empty object takes every serde default.
        serde_json::from_str("{}").unwrap_or_else(|_| unreachable!("defaults parse"))
    }
}

impl TiltConfig {
    /// Reads and checks `config.json`.
    pub fn from_file(path: &Path) -> Result<Self, TiltError> {
        let text = std::fs::read_to_string(path).map_err(|e| TiltError::Io {
            path: path.to_path_buf(),
            source: e,
        })?;
        let cfg: TiltConfig =
            serde_json::from_str(&text).map_err(|e| TiltError::Config(format!("{path:?}: {e}")))?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the relations between fields that the model relies on.
    pub fn validate(&self) -> Result<(), TiltError> {
        let bad = |m: String| Err(TiltError::Config(m));
        if self.model_type != "tilt" {
            return bad(format!(
                "model_type is {:?}, expected \"tilt\"",
                self.model_type
            ));
        }
        for (name, v) in [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("d_ff", self.d_ff),
            ("d_kv", self.d_kv),
            ("num_attention_heads", self.num_attention_heads),
            ("num_hidden_layers", self.num_hidden_layers),
            ("unet_init_features", self.unet_init_features),
            ("unet_out_features", self.unet_out_features),
            ("chunk_length", self.chunk_length),
        ] {
            if v == 0 {
                return bad(format!("{name} must be positive"));
            }
        }
        if self.bias_num_buckets < 4 || !self.bias_num_buckets.is_multiple_of(4) {
            return bad(format!(
                "bias_num_buckets {} must be a positive multiple of 4",
                self.bias_num_buckets
            ));
        }
        let nl = self.bias_num_buckets / 4;
        if self.bias_planar_max_distance <= nl || self.bias_max_distance <= 2 * nl {
            return bad("bias max distances must exceed the exact-bucket range".into());
        }
        if self.unet_in_channels != 1 {
            return bad("unet_in_channels must be 1 (grey page images)".into());
        }
        if self.max_question_length >= self.chunk_length {
            return bad(format!(
                "max_question_length {} leaves no document room in chunk_length {}",
                self.max_question_length, self.chunk_length
            ));
        }
        if !self.image_width.is_multiple_of(64) {
            return bad(format!(
                "image_width {} must be a multiple of 64",
                self.image_width
            ));
        }
        Ok(())
    }

    /// Heads × head size.
    pub fn inner_dim(&self) -> usize {
        self.num_attention_heads * self.d_kv
    }

    /// The preprocessing fields, for `tilt-prep`.
    pub fn prep(&self) -> PrepConfig {
        PrepConfig {
            max_seq_length: self.max_seq_length,
            max_question_length: self.max_question_length,
            chunk_length: self.chunk_length,
            image_width: self.image_width,
            max_image_height: self.max_image_height,
            image_limit: self.image_limit,
            crop_bboxes: self.crop_bboxes,
        }
    }

    /// The tiny configuration of the spec's §12 test plan (16 heads kept).
    pub fn tiny() -> Self {
        TiltConfig {
            d_model: 128,
            num_attention_heads: 16,
            d_kv: 32,
            d_ff: 256,
            num_hidden_layers: 2,
            unet_init_features: 8,
            unet_out_features: 16,
            chunk_length: 64,
            max_question_length: 32,
            max_seq_length: 4096,
            ..TiltConfig::default()
        }
    }

    /// Parameters the model holds, computed from the shapes (822 M for the defaults).
    pub fn parameter_count(&self) -> usize {
        crate::weights::expected_shapes(self)
            .iter()
            .filter(|(n, _)| !n.ends_with("num_batches_tracked"))
            .map(|(_, s)| s.iter().product::<i64>() as usize)
            .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_spec_table() {
        let c = TiltConfig::default();
        assert_eq!(
            (c.vocab_size, c.d_model, c.d_ff, c.d_kv),
            (32128, 1024, 4096, 64)
        );
        assert_eq!((c.num_attention_heads, c.num_hidden_layers), (16, 24));
        assert_eq!((c.bias_num_buckets, c.bias_max_distance), (32, 128));
        assert_eq!(c.bias_planar_max_distance, 100);
        assert_eq!((c.bias_horz_scale, c.bias_vert_scale), (100.0, 100.0));
        assert_eq!(c.layer_norm_epsilon, 1e-6);
        assert_eq!(
            (c.pad_token_id, c.eos_token_id, c.decoder_start_token_id),
            (0, 1, 0)
        );
        assert_eq!((c.unet_init_features, c.unet_out_features), (32, 128));
        assert_eq!((c.max_seq_length, c.max_output_length), (125_000, 512));
        assert_eq!((c.max_question_length, c.chunk_length), (256, 1024));
        assert_eq!(
            (c.image_limit, c.image_width, c.max_image_height),
            (250, 768, 2048)
        );
        assert_eq!(
            (c.prefix_separator.as_str(), c.answer_separator.as_str()),
            (" : ", " | ")
        );
        assert!(c.crop_bboxes);
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn full_size_parameter_count_is_822m() {
        let n = TiltConfig::default().parameter_count();
        assert!((821_700_000..821_900_000).contains(&n), "{n}");
    }

    #[test]
    fn partial_file_overrides_and_bad_values_are_named() {
        let c: TiltConfig = serde_json::from_str(r#"{"d_model": 256, "foo": 1}"#).expect("parse");
        assert_eq!(c.d_model, 256);
        assert_eq!(c.d_ff, 4096);
        let bad: TiltConfig = serde_json::from_str(r#"{"model_type": "t5"}"#).expect("parse");
        let err = bad.validate().expect_err("t5 is not tilt").to_string();
        assert!(err.contains("model_type"), "{err}");
        let bad: TiltConfig = serde_json::from_str(r#"{"chunk_length": 100}"#).expect("parse");
        assert!(bad.validate().is_err());
    }
}
