//! Safetensors checkpoints by the tensor names of tilt-architecture.md §4: the expected name
//! and shape table, loading (q/k/v separate or fused, any stored float dtype cast on load),
//! a report of missing, unexpected and mis-shaped tensors, and deterministic random weights
//! for tests and benchmarks.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use tch::{Device, Kind, Tensor};

use crate::TiltError;
use crate::config::TiltConfig;

/// U-Net blocks: (module, block prefix, in channels, out channels) in the checkpoint's names.
pub(crate) fn unet_blocks(cfg: &TiltConfig) -> Vec<(String, String, i64, i64)> {
    let f = cfg.unet_init_features as i64;
    let specs: [(&str, &str, i64, i64); 10] = [
        ("encoder1", "enc1", cfg.unet_in_channels as i64, f),
        ("encoder2", "enc2", f, 2 * f),
        ("encoder3", "enc3", 2 * f, 2 * f),
        ("encoder4", "enc4", 2 * f, 4 * f),
        ("encoder5", "enc5", 4 * f, 4 * f),
        ("encoder6", "enc6", 4 * f, 8 * f),
        ("bottleneck", "bottleneck", 8 * f, 16 * f),
        ("decoder6", "dec6", 16 * f, 8 * f),
        ("decoder5", "dec5", 8 * f, 4 * f),
        ("decoder4", "dec4", 8 * f, cfg.unet_out_features as i64),
    ];
    specs
        .iter()
        .map(|(m, p, i, o)| (m.to_string(), p.to_string(), *i, *o))
        .collect()
}

/// Transposed convolutions: (name, in channels, out channels).
pub(crate) fn unet_upconvs(cfg: &TiltConfig) -> Vec<(String, i64, i64)> {
    let f = cfg.unet_init_features as i64;
    vec![
        ("upconv6".into(), 16 * f, 8 * f),
        ("upconv5".into(), 8 * f, 4 * f),
        ("upconv4".into(), 4 * f, 4 * f),
    ]
}

/// Every checkpoint tensor with its shape, q/k/v stored separately (the form the reference's
/// loader reads). BatchNorm's `num_batches_tracked` is listed but optional.
pub fn expected_shapes(cfg: &TiltConfig) -> Vec<(String, Vec<i64>)> {
    let (d, f, v) = (cfg.d_model as i64, cfg.d_ff as i64, cfg.vocab_size as i64);
    let (inner, h, b) = (
        cfg.inner_dim() as i64,
        cfg.num_attention_heads as i64,
        cfg.bias_num_buckets as i64,
    );
    let mut out: Vec<(String, Vec<i64>)> = vec![("embedding.weight".into(), vec![v, d])];
    let mut push = |n: String, s: &[i64]| out.push((n, s.to_vec()));
    for i in 0..cfg.num_hidden_layers {
        let e = format!("encoder.blocks.{i}");
        push(format!("{e}.self_attention.layer_norm.weight"), &[d]);
        for p in ["q", "k", "v"] {
            push(format!("{e}.self_attention.{p}.weight"), &[inner, d]);
        }
        push(format!("{e}.self_attention.o.weight"), &[d, inner]);
        push(format!("{e}.ffn.layer_norm.weight"), &[d]);
        push(format!("{e}.ffn.w1.weight"), &[f, d]);
        push(format!("{e}.ffn.w2.weight"), &[d, f]);
        push(format!("{e}.fusion.layer_norm.weight"), &[d]);
        for p in ["to_v", "to_r", "to_out"] {
            push(format!("{e}.fusion.{p}.weight"), &[d, d]);
        }
    }
    push(
        "encoder.sequential_bias.embedding.bucket_embeddings.weight".into(),
        &[b, h],
    );
    push(
        "encoder.planar_bias.horizontal_embedding.bucket_embeddings.weight".into(),
        &[b, h],
    );
    push(
        "encoder.planar_bias.vertical_embedding.bucket_embeddings.weight".into(),
        &[b, h],
    );
    push("encoder.output_net.weight".into(), &[d]);
    for i in 0..cfg.num_hidden_layers {
        let e = format!("decoder.blocks.{i}");
        push(format!("{e}.self_attention.layer_norm.weight"), &[d]);
        for p in ["q", "k", "v"] {
            push(format!("{e}.self_attention.{p}.weight"), &[inner, d]);
        }
        push(format!("{e}.self_attention.o.weight"), &[d, inner]);
        push(format!("{e}.cross_attention.layer_norm.weight"), &[d]);
        for p in ["q", "k", "v"] {
            push(format!("{e}.cross_attention.{p}.weight"), &[inner, d]);
        }
        push(format!("{e}.cross_attention.o.weight"), &[d, inner]);
        push(format!("{e}.ffn.layer_norm.weight"), &[d]);
        push(format!("{e}.ffn.w1.weight"), &[f, d]);
        push(format!("{e}.ffn.w2.weight"), &[d, f]);
    }
    push(
        "decoder.sequential_bias.embedding.bucket_embeddings.weight".into(),
        &[b, h],
    );
    push("decoder.output_net.weight".into(), &[d]);
    let u = cfg.unet_out_features as i64;
    push("proxy_layer.weight".into(), &[d, u]);
    push("proxy_layer.bias".into(), &[d]);
    for (m, p, i, o) in unet_blocks(cfg) {
        push(format!("unet.{m}.{p}conv1.weight"), &[o, i, 3, 3]);
        push(format!("unet.{m}.{p}conv2.weight"), &[o, o, 3, 3]);
        for n in ["norm1", "norm2"] {
            for t in ["weight", "bias", "running_mean", "running_var"] {
                push(format!("unet.{m}.{p}{n}.{t}"), &[o]);
            }
            push(format!("unet.{m}.{p}{n}.num_batches_tracked"), &[]);
        }
    }
    for (n, i, o) in unet_upconvs(cfg) {
        push(format!("unet.{n}.weight"), &[i, o, 2, 2]);
        push(format!("unet.{n}.bias"), &[o]);
    }
    out
}

/// Whether a tensor stays fp32 when the model runs in bf16 (§3): embeddings, norms, bias
/// tables and the proxy layer.
pub fn keeps_fp32(name: &str) -> bool {
    name == "embedding.weight"
        || name.starts_with("proxy_layer.")
        || name.contains("bucket_embeddings")
        || name.ends_with("layer_norm.weight")
        || name.ends_with("output_net.weight")
}

/// The loaded tensors, by checkpoint name, with q/k/v already fused where the model fuses
/// them (`…self_attention.qkv.weight`, `…cross_attention.kv.weight`).
#[derive(Debug)]
pub struct WeightMap {
    tensors: HashMap<String, Tensor>,
}

impl WeightMap {
    /// Takes a tensor out (every name is taken exactly once by the model).
    pub(crate) fn take(&mut self, name: &str) -> Result<Tensor, TiltError> {
        self.tensors
            .remove(name)
            .ok_or_else(|| TiltError::Weights(format!("tensor {name} was not loaded")))
    }

    /// Reads every `*.safetensors` file of `dir`, checks the set against `cfg` and casts each
    /// tensor to the kind it runs in on `device` (`compute` for the transformer's Linears and
    /// the U-Net, fp32 for the rest).
    pub fn load(
        dir: &Path,
        cfg: &TiltConfig,
        device: Device,
        compute: Kind,
    ) -> Result<Self, TiltError> {
        let files = safetensors_files(dir)?;
        let mut raw: BTreeMap<String, Tensor> = BTreeMap::new();
        for file in &files {
            let tensors = Tensor::read_safetensors(file)
                .map_err(|e| TiltError::Weights(format!("{}: {e}", file.display())))?;
            for (name, t) in tensors {
                if raw.insert(name.clone(), t).is_some() {
                    return Err(TiltError::Weights(format!(
                        "tensor {name} appears in more than one file"
                    )));
                }
            }
        }
        Self::from_tensors(raw, cfg, device, compute)
    }

    /// Checks and converts an in-memory checkpoint (the names of §4).
    pub fn from_tensors(
        mut raw: BTreeMap<String, Tensor>,
        cfg: &TiltConfig,
        device: Device,
        compute: Kind,
    ) -> Result<Self, TiltError> {
        unfuse(&mut raw, cfg)?;
        // The LM head is the embedding; a checkpoint that stores it anyway is accepted.
        raw.remove("lm_head.weight");
        let expected = expected_shapes(cfg);
        let mut report = LoadReport::default();
        let mut tensors = HashMap::new();
        for (name, shape) in &expected {
            match raw.remove(name) {
                None if name.ends_with("num_batches_tracked") => {}
                None => report.missing.push(name.clone()),
                Some(t) if t.size() != *shape => {
                    report
                        .misshaped
                        .push(format!("{name}: found {:?}, expected {shape:?}", t.size()));
                }
                Some(t) if name.ends_with("num_batches_tracked") => drop(t),
                Some(t) => {
                    if !t.is_floating_point() {
                        report
                            .misshaped
                            .push(format!("{name}: stored as {:?}, expected floats", t.kind()));
                        continue;
                    }
                    let kind = if keeps_fp32(name) || name.contains("running_") {
                        Kind::Float
                    } else {
                        compute
                    };
                    tensors.insert(name.clone(), t.to_device(device).to_kind(kind));
                }
            }
        }
        // Unknown names ending in `.bias` are skipped, as the reference's loader does.
        report.unexpected = raw.into_keys().filter(|n| !n.ends_with(".bias")).collect();
        if !report.is_empty() {
            return Err(TiltError::Weights(report.to_string()));
        }
        fuse(&mut tensors, cfg)?;
        Ok(WeightMap { tensors })
    }

    /// Deterministic random weights (see [`det_uniform`]): normal-ish values of std `std` for
    /// matrices, BatchNorm running statistics with variance in [0.5, 1.5).
    pub fn random_checkpoint(cfg: &TiltConfig, seed: u64, std: f64) -> BTreeMap<String, Tensor> {
        let mut out = BTreeMap::new();
        for (name, shape) in expected_shapes(cfg) {
            let n: i64 = shape.iter().product();
            let s = seed ^ fnv1a(&name);
            let t = if name.ends_with("num_batches_tracked") {
                Tensor::from(0i64)
            } else {
                let vals = det_uniform(s, n as usize);
                let scaled: Vec<f32> = if name.ends_with("running_var") {
                    vals.iter().map(|u| (1.0 + 0.5 * u) as f32).collect()
                } else if name.ends_with("layer_norm.weight") || name.ends_with("output_net.weight")
                {
                    vals.iter().map(|u| (1.0 + 0.2 * u) as f32).collect()
                } else if name.ends_with("norm1.weight") || name.ends_with("norm2.weight") {
                    vals.iter().map(|u| (1.0 + 0.2 * u) as f32).collect()
                } else if name.starts_with("unet.")
                    && (name.ends_with("conv1.weight") || name.ends_with("conv2.weight"))
                {
                    // He-like scale so that activations neither vanish nor explode over depth.
                    let fan_in = (shape[1] * 9) as f64;
                    let a = (6.0 / fan_in).sqrt();
                    vals.iter().map(|u| (a * u) as f32).collect()
                } else {
                    vals.iter()
                        .map(|u| (std * 3f64.sqrt() * u) as f32)
                        .collect()
                };
                Tensor::from_slice(&scaled).reshape(&shape)
            };
            out.insert(name, t);
        }
        out
    }
}

/// FNV-1a of a tensor name: each tensor's stream of [`det_uniform`] values is seeded by it.
pub fn fnv1a(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// `n` values in [-1, 1) from SplitMix64 seeded with `seed` (the same generator is written in
/// `tools/tilt-ref`, so both sides build identical weights and inputs without sharing files).
pub fn det_uniform(seed: u64, n: usize) -> Vec<f64> {
    let mut state = seed;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// The `*.safetensors` files of a model directory, sorted (sharded checkpoints).
pub fn safetensors_files(dir: &Path) -> Result<Vec<PathBuf>, TiltError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TiltError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(TiltError::MissingFile {
            dir: dir.to_path_buf(),
            what: "*.safetensors (the model weights)".into(),
        });
    }
    Ok(files)
}

/// Splits checkpoint-fused `qkv` / `kv` tensors into q, k, v so that one table checks them.
fn unfuse(raw: &mut BTreeMap<String, Tensor>, cfg: &TiltConfig) -> Result<(), TiltError> {
    let inner = cfg.inner_dim() as i64;
    let fused: Vec<String> = raw
        .keys()
        .filter(|k| k.ends_with(".qkv.weight") || k.ends_with("cross_attention.kv.weight"))
        .cloned()
        .collect();
    for name in fused {
        let Some(t) = raw.remove(&name) else { continue };
        let (stem, parts): (&str, &[&str]) = if let Some(s) = name.strip_suffix("qkv.weight") {
            (s, &["q", "k", "v"])
        } else if let Some(s) = name.strip_suffix("kv.weight") {
            (s, &["k", "v"])
        } else {
            continue;
        };
        let rows = inner * parts.len() as i64;
        if t.size().first() != Some(&rows) {
            return Err(TiltError::Weights(format!(
                "{name}: found {:?}, expected [{rows}, {}]",
                t.size(),
                cfg.d_model
            )));
        }
        for (j, p) in parts.iter().enumerate() {
            raw.insert(
                format!("{stem}{p}.weight"),
                t.narrow(0, j as i64 * inner, inner),
            );
        }
    }
    Ok(())
}

/// Fuses q/k/v of self-attention and k/v of cross-attention into the matrices the model uses.
fn fuse(tensors: &mut HashMap<String, Tensor>, cfg: &TiltConfig) -> Result<(), TiltError> {
    let mut take = |n: &str| {
        tensors
            .remove(n)
            .ok_or_else(|| TiltError::Weights(format!("tensor {n} was not loaded")))
    };
    let mut fused = Vec::new();
    for stack in ["encoder", "decoder"] {
        for i in 0..cfg.num_hidden_layers {
            let sa = format!("{stack}.blocks.{i}.self_attention");
            let parts = [
                take(&format!("{sa}.q.weight"))?,
                take(&format!("{sa}.k.weight"))?,
                take(&format!("{sa}.v.weight"))?,
            ];
            fused.push((format!("{sa}.qkv.weight"), Tensor::cat(&parts, 0)));
            if stack == "decoder" {
                let ca = format!("{stack}.blocks.{i}.cross_attention");
                let parts = [
                    take(&format!("{ca}.k.weight"))?,
                    take(&format!("{ca}.v.weight"))?,
                ];
                fused.push((format!("{ca}.kv.weight"), Tensor::cat(&parts, 0)));
            }
        }
    }
    tensors.extend(fused);
    Ok(())
}

/// What was wrong with a checkpoint.
#[derive(Debug, Default)]
struct LoadReport {
    missing: Vec<String>,
    unexpected: Vec<String>,
    misshaped: Vec<String>,
}

impl LoadReport {
    fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.misshaped.is_empty()
    }
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let list = |v: &[String]| {
            let shown: Vec<&str> = v.iter().take(20).map(String::as_str).collect();
            let more = v.len().saturating_sub(20);
            if more > 0 {
                format!("{} (and {more} more)", shown.join(", "))
            } else {
                shown.join(", ")
            }
        };
        let mut parts = Vec::new();
        if !self.missing.is_empty() {
            parts.push(format!(
                "{} missing: {}",
                self.missing.len(),
                list(&self.missing)
            ));
        }
        if !self.unexpected.is_empty() {
            parts.push(format!(
                "{} unexpected: {}",
                self.unexpected.len(),
                list(&self.unexpected)
            ));
        }
        if !self.misshaped.is_empty() {
            parts.push(format!(
                "{} mis-shaped: {}",
                self.misshaped.len(),
                list(&self.misshaped)
            ));
        }
        write!(
            f,
            "checkpoint does not match config.json — {}",
            parts.join("; ")
        )
    }
}
