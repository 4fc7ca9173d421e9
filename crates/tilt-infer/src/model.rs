//! The Arctic-TILT network (tilt-architecture.md §5): encoder blocks with the fusion of visual
//! embeddings after every FFN, the U-Net visual branch with a hand-written RoI max pool and
//! the proxy layer, and the decoder with cached self-attention K/V and precomputed cross K/V.
//!
//! Residual streams are fp32. In [`Precision::Bf16`] every sub-layer normalises in fp32, runs
//! its Linears in bf16 and adds its output back to the fp32 residual (§3); in
//! [`Precision::F32`] everything is fp32.

use std::path::Path;

use tch::{Device, Kind, Tensor};

use crate::TiltError;
use crate::bias::{Bucketizer, EncoderBias, decoder_bias, decoder_lut};
use crate::config::TiltConfig;
use crate::weights::{WeightMap, unet_blocks, unet_upconvs};

/// How the transformer's Linears and the U-Net run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    /// Everything fp32 (CPU default, and the parity reference).
    F32,
    /// The reference's split: bf16 Linears/U-Net, fp32 residuals, norms, biases, softmax.
    Bf16,
}

impl Precision {
    pub fn kind(self) -> Kind {
        match self {
            Precision::F32 => Kind::Float,
            Precision::Bf16 => Kind::BFloat16,
        }
    }

    /// fp32 on CPU, bf16 on CUDA.
    pub fn default_for(device: Device) -> Self {
        if device.is_cuda() {
            Precision::Bf16
        } else {
            Precision::F32
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Precision::F32 => "float32",
            Precision::Bf16 => "bfloat16",
        }
    }
}

impl std::str::FromStr for Precision {
    type Err = TiltError;
    fn from_str(s: &str) -> Result<Self, TiltError> {
        match s.to_ascii_lowercase().as_str() {
            "f32" | "fp32" | "float32" | "float" => Ok(Precision::F32),
            "bf16" | "bfloat16" => Ok(Precision::Bf16),
            other => Err(TiltError::Config(format!(
                "dtype {other:?} is not one of float32, bfloat16"
            ))),
        }
    }
}

/// T5's RMSNorm: no mean, no bias, in fp32.
fn rms(x: &Tensor, w: &Tensor, eps: f64) -> Tensor {
    let var = x.square().mean_dim(-1, true, Kind::Float);
    x * (var + eps).rsqrt() * w
}

/// `[B, L, H·D]` → `[B, H, L, D]`.
fn heads(x: &Tensor, h: i64) -> Tensor {
    let s = x.size();
    x.view([s[0], s[1], h, s[2] / h]).transpose(1, 2)
}

/// Unscaled attention: softmax(QKᵀ + bias) V with fp32 scores and softmax; `[B, Lq, H·D]`.
fn attention(q: &Tensor, k: &Tensor, v: &Tensor, bias: &Tensor) -> Tensor {
    let scores = q.matmul(&k.transpose(-1, -2)).to_kind(Kind::Float) + bias;
    let p = scores.softmax(-1, Kind::Float).to_kind(v.kind());
    let out = p.matmul(v).transpose(1, 2);
    let s = out.size();
    out.reshape([s[0], s[1], s[2] * s[3]])
}

#[derive(Debug)]
struct SelfAttention {
    norm: Tensor,
    qkv: Tensor,
    o: Tensor,
}

#[derive(Debug)]
struct Ffn {
    norm: Tensor,
    w1: Tensor,
    w2: Tensor,
}

impl Ffn {
    fn forward(&self, x: &Tensor, eps: f64, ck: Kind) -> Tensor {
        let n = rms(x, &self.norm, eps).to_kind(ck);
        x + n
            .linear::<Tensor>(&self.w1, None)
            .relu()
            .linear::<Tensor>(&self.w2, None)
    }
}

#[derive(Debug)]
struct Fusion {
    norm: Tensor,
    to_v: Tensor,
    to_r: Tensor,
    to_out: Tensor,
}

#[derive(Debug)]
struct EncoderBlock {
    attn: SelfAttention,
    ffn: Ffn,
    fusion: Fusion,
}

#[derive(Debug)]
struct DecoderBlock {
    attn: SelfAttention,
    cross_norm: Tensor,
    cross_q: Tensor,
    cross_kv: Tensor,
    cross_o: Tensor,
    ffn: Ffn,
}

#[derive(Debug)]
struct BatchNorm {
    weight: Tensor,
    bias: Tensor,
    mean: Tensor,
    var: Tensor,
}

impl BatchNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        let k = x.kind();
        x.batch_norm(
            Some(&self.weight.to_kind(k)),
            Some(&self.bias.to_kind(k)),
            Some(&self.mean.to_kind(k)),
            Some(&self.var.to_kind(k)),
            false,
            0.1,
            1e-5,
            false,
        )
    }
}

#[derive(Debug)]
struct UnetBlock {
    conv1: Tensor,
    norm1: BatchNorm,
    conv2: Tensor,
    norm2: BatchNorm,
}

impl UnetBlock {
    fn forward(&self, x: &Tensor) -> Tensor {
        let conv = |x: &Tensor, w: &Tensor| x.conv2d::<Tensor>(w, None, [1, 1], [1, 1], [1, 1], 1);
        let x = self.norm1.forward(&conv(x, &self.conv1)).relu();
        self.norm2.forward(&conv(&x, &self.conv2)).relu()
    }
}

#[derive(Debug)]
struct UNet {
    blocks: Vec<UnetBlock>,
    up: Vec<(Tensor, Tensor)>,
}

impl UNet {
    /// `[N, 1, H, W]` grey pages (1 = white) → `[N, C, H/8, W/8]` fp32 features.
    fn forward(&self, x: &Tensor, ck: Kind) -> Tensor {
        let pool = |x: &Tensor| x.max_pool2d([2, 2], [2, 2], [0, 0], [1, 1], false);
        let up = |x: &Tensor, (w, b): &(Tensor, Tensor)| {
            x.conv_transpose2d(w, Some(b), [2, 2], [0, 0], [0, 0], 1, [1, 1])
        };
        let b = &self.blocks;
        let u0 = 1.0 - x.to_kind(ck);
        let e1 = b[0].forward(&u0);
        let e2 = b[1].forward(&pool(&e1));
        let e3 = b[2].forward(&pool(&e2));
        let e4 = b[3].forward(&pool(&e3));
        let e5 = b[4].forward(&pool(&e4));
        let e6 = b[5].forward(&pool(&e5));
        let bn = b[6].forward(&pool(&e6));
        let d6 = b[7].forward(&Tensor::cat(&[up(&bn, &self.up[0]), e6], 1));
        let d5 = b[8].forward(&Tensor::cat(&[up(&d6, &self.up[1]), e5], 1));
        let d4 = b[9].forward(&Tensor::cat(&[up(&d5, &self.up[2]), e4], 1));
        d4.to_kind(Kind::Float)
    }
}

/// The encoder's inputs for one chunk: ids, boxes and the visual embeddings of its rows.
#[derive(Debug)]
pub struct ChunkInput {
    /// `[L]` int64.
    pub ids: Tensor,
    /// `[L, 4]` f32.
    pub boxes: Tensor,
    /// `[L, d_model]` f32 (zero on prefix rows).
    pub image: Tensor,
}

/// The decoder's per-sequence state: cross K/V over the memory and the self-attention cache.
#[derive(Debug)]
pub struct DecoderState {
    /// Per layer `(K, V)` of the memory, `[B, H, M, D]`.
    cross: Vec<(Tensor, Tensor)>,
    /// `[B, 1, 1, M]`: 0, or the mask value on padded memory rows.
    cross_mask: Tensor,
    /// Per layer `(K, V)` of the decoded tokens so far, `[B, H, T, D]`.
    cache: Vec<Option<(Tensor, Tensor)>>,
    /// Tokens decoded so far (the next position).
    pub len: i64,
}

impl DecoderState {
    /// Keeps only the rows `keep` (sequences still decoding).
    pub fn retain(&mut self, keep: &[i64]) {
        let idx = Tensor::from_slice(keep).to_device(self.cross_mask.device());
        for (k, v) in &mut self.cross {
            *k = k.index_select(0, &idx);
            *v = v.index_select(0, &idx);
        }
        self.cross_mask = self.cross_mask.index_select(0, &idx);
        for (k, v) in self.cache.iter_mut().flatten() {
            *k = k.index_select(0, &idx);
            *v = v.index_select(0, &idx);
        }
    }

    pub fn batch(&self) -> i64 {
        self.cross_mask.size()[0]
    }
}

/// Arctic-TILT with its weights on one device.
#[derive(Debug)]
pub struct TiltModel {
    pub cfg: TiltConfig,
    pub device: Device,
    pub precision: Precision,
    embedding: Tensor,
    enc_blocks: Vec<EncoderBlock>,
    enc_bias: EncoderBias,
    enc_norm: Tensor,
    dec_blocks: Vec<DecoderBlock>,
    dec_lut: Tensor,
    dec_norm: Tensor,
    proxy_w: Tensor,
    proxy_b: Tensor,
    unet: UNet,
}

impl TiltModel {
    /// Loads `config.json` and the safetensors of a model directory.
    pub fn load(dir: &Path, device: Device, precision: Precision) -> Result<Self, TiltError> {
        let cfg_path = dir.join("config.json");
        if !cfg_path.is_file() {
            return Err(TiltError::MissingFile {
                dir: dir.to_path_buf(),
                what: "config.json".into(),
            });
        }
        let cfg = TiltConfig::from_file(&cfg_path)?;
        let weights = WeightMap::load(dir, &cfg, device, precision.kind())?;
        Self::from_weights(cfg, weights, device, precision)
    }

    /// Builds the model from checked weights.
    pub fn from_weights(
        cfg: TiltConfig,
        mut w: WeightMap,
        device: Device,
        precision: Precision,
    ) -> Result<Self, TiltError> {
        cfg.validate()?;
        let attn = |w: &mut WeightMap, p: &str| -> Result<SelfAttention, TiltError> {
            Ok(SelfAttention {
                norm: w.take(&format!("{p}.layer_norm.weight"))?,
                qkv: w.take(&format!("{p}.qkv.weight"))?,
                o: w.take(&format!("{p}.o.weight"))?,
            })
        };
        let ffn = |w: &mut WeightMap, p: &str| -> Result<Ffn, TiltError> {
            Ok(Ffn {
                norm: w.take(&format!("{p}.layer_norm.weight"))?,
                w1: w.take(&format!("{p}.w1.weight"))?,
                w2: w.take(&format!("{p}.w2.weight"))?,
            })
        };
        let mut enc_blocks = Vec::new();
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.blocks.{i}");
            enc_blocks.push(EncoderBlock {
                attn: attn(&mut w, &format!("{p}.self_attention"))?,
                ffn: ffn(&mut w, &format!("{p}.ffn"))?,
                fusion: Fusion {
                    norm: w.take(&format!("{p}.fusion.layer_norm.weight"))?,
                    to_v: w.take(&format!("{p}.fusion.to_v.weight"))?,
                    to_r: w.take(&format!("{p}.fusion.to_r.weight"))?,
                    to_out: w.take(&format!("{p}.fusion.to_out.weight"))?,
                },
            });
        }
        let mut dec_blocks = Vec::new();
        for i in 0..cfg.num_hidden_layers {
            let p = format!("decoder.blocks.{i}");
            dec_blocks.push(DecoderBlock {
                attn: attn(&mut w, &format!("{p}.self_attention"))?,
                cross_norm: w.take(&format!("{p}.cross_attention.layer_norm.weight"))?,
                cross_q: w.take(&format!("{p}.cross_attention.q.weight"))?,
                cross_kv: w.take(&format!("{p}.cross_attention.kv.weight"))?,
                cross_o: w.take(&format!("{p}.cross_attention.o.weight"))?,
                ffn: ffn(&mut w, &format!("{p}.ffn"))?,
            });
        }
        let (b, maxd, planar) = (
            cfg.bias_num_buckets as i64,
            cfg.bias_max_distance as i64,
            cfg.bias_planar_max_distance as i64,
        );
        let enc_bias = EncoderBias {
            sequential: w.take("encoder.sequential_bias.embedding.bucket_embeddings.weight")?,
            horizontal: w
                .take("encoder.planar_bias.horizontal_embedding.bucket_embeddings.weight")?,
            vertical: w.take("encoder.planar_bias.vertical_embedding.bucket_embeddings.weight")?,
            seq_buckets: Bucketizer {
                num_buckets: b,
                max_distance: maxd,
                scale: 1.0,
                bidirectional: true,
            },
            planar_buckets: Bucketizer {
                num_buckets: b,
                max_distance: planar,
                // The reference builds both planar bucketizers with bias_horz_scale.
                scale: cfg.bias_horz_scale,
                bidirectional: true,
            },
        };
        let dec_table = w.take("decoder.sequential_bias.embedding.bucket_embeddings.weight")?;
        let dec_lut = decoder_lut(
            &dec_table,
            &Bucketizer {
                num_buckets: b,
                max_distance: maxd,
                scale: 1.0,
                bidirectional: false,
            },
        );
        let mut blocks = Vec::new();
        for (m, p, _, _) in unet_blocks(&cfg) {
            let mut bn = |n: &str| -> Result<BatchNorm, TiltError> {
                let base = format!("unet.{m}.{p}{n}");
                Ok(BatchNorm {
                    weight: w.take(&format!("{base}.weight"))?,
                    bias: w.take(&format!("{base}.bias"))?,
                    mean: w.take(&format!("{base}.running_mean"))?,
                    var: w.take(&format!("{base}.running_var"))?,
                })
            };
            let (norm1, norm2) = (bn("norm1")?, bn("norm2")?);
            blocks.push(UnetBlock {
                conv1: w.take(&format!("unet.{m}.{p}conv1.weight"))?,
                norm1,
                conv2: w.take(&format!("unet.{m}.{p}conv2.weight"))?,
                norm2,
            });
        }
        let mut up = Vec::new();
        for (n, _, _) in unet_upconvs(&cfg) {
            up.push((
                w.take(&format!("unet.{n}.weight"))?,
                w.take(&format!("unet.{n}.bias"))?,
            ));
        }
        Ok(TiltModel {
            embedding: w.take("embedding.weight")?,
            enc_norm: w.take("encoder.output_net.weight")?,
            dec_norm: w.take("decoder.output_net.weight")?,
            proxy_w: w.take("proxy_layer.weight")?,
            proxy_b: w.take("proxy_layer.bias")?,
            enc_blocks,
            enc_bias,
            dec_blocks,
            dec_lut,
            unet: UNet { blocks, up },
            cfg,
            device,
            precision,
        })
    }

    fn ck(&self) -> Kind {
        self.precision.kind()
    }

    fn eps(&self) -> f64 {
        self.cfg.layer_norm_epsilon
    }

    fn h(&self) -> i64 {
        self.cfg.num_attention_heads as i64
    }

    /// The U-Net over page images `[N, 1, H, W]` (H, W multiples of 64; 1 = white), one page
    /// at a time (eval-mode BatchNorm makes that equal to a batch) → `[N, C, H/8, W/8]` fp32.
    pub fn page_features(&self, images: &Tensor) -> Tensor {
        let _g = tch::no_grad_guard();
        let n = images.size()[0];
        let pages: Vec<Tensor> = (0..n)
            .map(|i| {
                self.unet
                    .forward(&images.narrow(0, i, 1).to_device(self.device), self.ck())
            })
            .collect();
        Tensor::cat(&pages, 0)
    }

    /// RoI max pool (output 1×1, spatial scale 1/8) of `rois` `[R, 5]` = (page, x1, y1, x2, y2)
    /// over `features`, then the proxy layer → `[R, d_model]` fp32. Written out because libtorch
    /// has no roi_pool; the semantics are torchvision's (§5.4 step 4), an empty bin pools to 0.
    pub fn roi_embeddings(&self, features: &Tensor, rois: &[[f32; 5]]) -> Tensor {
        let _g = tch::no_grad_guard();
        let s = features.size();
        let (n, c, hf, wf) = (s[0], s[1], s[2], s[3]);
        let wp = (wf * 8) as f32;
        let feats: Vec<f32> = Vec::<f32>::try_from(
            &features
                .to_device(Device::Cpu)
                .to_kind(Kind::Float)
                .contiguous()
                .view([-1]),
        )
        .unwrap_or_default();
        let exp = self.cfg.roi_expansion_width as f32;
        let mut out = vec![0f32; rois.len() * c as usize];
        let at =
            |p: i64, ch: i64, y: i64, x: i64| feats[(((p * c + ch) * hf + y) * wf + x) as usize];
        for (r, roi) in rois.iter().enumerate() {
            let page = roi[0] as i64;
            if page < 0 || page >= n || feats.is_empty() {
                continue;
            }
            let x1 = (roi[1] - exp).max(0.0);
            let x2 = (roi[3] + exp).min(wp - 1.0);
            let round = |v: f32| (v as f64 * 0.125).round() as i64;
            let (sw, sh, ew, eh) = (round(x1), round(roi[2]), round(x2), round(roi[4]));
            let rw = (ew - sw + 1).max(1);
            let rh = (eh - sh + 1).max(1);
            let (h0, h1) = (sh.clamp(0, hf), (sh + rh).clamp(0, hf));
            let (w0, w1) = (sw.clamp(0, wf), (sw + rw).clamp(0, wf));
            if h0 >= h1 || w0 >= w1 {
                continue;
            }
            for ch in 0..c {
                let mut m = f32::MIN;
                for y in h0..h1 {
                    for x in w0..w1 {
                        m = m.max(at(page, ch, y, x));
                    }
                }
                out[r * c as usize + ch as usize] = m;
            }
        }
        let pooled = Tensor::from_slice(&out)
            .view([rois.len() as i64, c])
            .to_device(self.device);
        pooled.linear(&self.proxy_w, Some(&self.proxy_b))
    }

    /// The encoder's `[H, L, L]` attention bias for one packed sequence (§5.5).
    pub fn encoder_bias(
        &self,
        positions: &Tensor,
        boxes: &Tensor,
        chunk_ids: Option<&Tensor>,
    ) -> Tensor {
        self.enc_bias.bias(positions, boxes, chunk_ids)
    }

    /// Encodes chunks packed into one sequence as the reference's batched pass does: positions
    /// restart in each chunk and a chunk mask keeps chunks apart. Returns each chunk's rows
    /// `[L_j, d_model]` after the final norm (fp32, or bf16-rounded in bf16 mode).
    pub fn encode_packed(&self, chunks: &[ChunkInput]) -> Vec<Tensor> {
        let _g = tch::no_grad_guard();
        let dev = self.device;
        let lens: Vec<i64> = chunks.iter().map(|c| c.ids.size()[0]).collect();
        let positions: Vec<i64> = lens.iter().flat_map(|&l| 0..l).collect();
        let ids_of: Vec<i64> = lens
            .iter()
            .enumerate()
            .flat_map(|(j, &l)| std::iter::repeat_n(j as i64, l as usize))
            .collect();
        let ids = Tensor::cat(
            &chunks
                .iter()
                .map(|c| c.ids.to_device(dev))
                .collect::<Vec<_>>(),
            0,
        );
        let boxes = Tensor::cat(
            &chunks
                .iter()
                .map(|c| c.boxes.to_device(dev).to_kind(Kind::Float))
                .collect::<Vec<_>>(),
            0,
        );
        let image = Tensor::cat(
            &chunks
                .iter()
                .map(|c| c.image.to_device(dev).to_kind(Kind::Float))
                .collect::<Vec<_>>(),
            0,
        )
        .unsqueeze(0);
        let pos = Tensor::from_slice(&positions).to_device(dev);
        let cid = Tensor::from_slice(&ids_of).to_device(dev);
        let mask = (chunks.len() > 1).then_some(&cid);
        let bias = self
            .enc_bias
            .bias(&pos, &boxes, mask)
            .to_kind(self.ck())
            .to_kind(Kind::Float)
            .unsqueeze(0);
        let out = self
            .encode_rows(&ids.unsqueeze(0), &bias, &image)
            .squeeze_dim(0);
        out.split_with_sizes(lens.as_slice(), 0)
    }

    /// The encoder stack over `[B, L]` ids with a `[B, H, L, L]` bias and `[B, L, d]` image
    /// embeddings.
    fn encode_rows(&self, ids: &Tensor, bias: &Tensor, image: &Tensor) -> Tensor {
        let (eps, ck, h) = (self.eps(), self.ck(), self.h());
        let mut x = self.embedding.index_select(0, &ids.flatten(0, -1)).view([
            ids.size()[0],
            ids.size()[1],
            -1,
        ]);
        for blk in &self.enc_blocks {
            let n = rms(&x, &blk.attn.norm, eps).to_kind(ck);
            let qkv = n.linear::<Tensor>(&blk.attn.qkv, None).chunk(3, -1);
            let a = attention(
                &heads(&qkv[0], h),
                &heads(&qkv[1], h),
                &heads(&qkv[2], h),
                bias,
            );
            let hdn = &x + a.linear::<Tensor>(&blk.attn.o, None);
            let hdn = blk.ffn.forward(&hdn, eps, ck);
            let f = &blk.fusion;
            let a = rms(&hdn, &f.norm, eps);
            let b = rms(image, &f.norm, eps);
            let v = (&a + b).to_kind(ck).linear::<Tensor>(&f.to_v, None);
            let r = a.to_kind(ck).linear::<Tensor>(&f.to_r, None);
            let fused = &v + &v * r;
            x = hdn + fused.linear::<Tensor>(&f.to_out, None);
        }
        rms(&x, &self.enc_norm, eps)
            .to_kind(ck)
            .to_kind(Kind::Float)
    }

    /// The fusion-in-decoder memory (§5.2): the first chunk whole, later chunks without their
    /// prefix rows.
    pub fn memory(chunk_outputs: &[Tensor], prefix_len: i64) -> Tensor {
        let parts: Vec<Tensor> = chunk_outputs
            .iter()
            .enumerate()
            .map(|(j, t)| {
                if j == 0 {
                    t.shallow_clone()
                } else {
                    t.narrow(0, prefix_len, t.size()[0] - prefix_len)
                }
            })
            .collect();
        Tensor::cat(&parts, 0)
    }

    /// Cross K/V for a batch of memories of different lengths (padded and masked).
    pub fn start_decoding(&self, memories: &[Tensor]) -> DecoderState {
        let _g = tch::no_grad_guard();
        let (ck, h) = (self.ck(), self.h());
        let m = memories.iter().map(|t| t.size()[0]).max().unwrap_or(1);
        let d = self.cfg.d_model as i64;
        let b = memories.len() as i64;
        let padded = Tensor::zeros([b, m, d], (Kind::Float, self.device));
        let mut mask = vec![0f32; (b * m) as usize];
        for (i, t) in memories.iter().enumerate() {
            let l = t.size()[0];
            let mut dst = padded.get(i as i64).narrow(0, 0, l);
            dst.copy_(&t.to_device(self.device));
            for v in &mut mask[i * m as usize + l as usize..(i + 1) * m as usize] {
                *v = f32::MIN;
            }
        }
        let mem = padded.to_kind(ck);
        let cross = self
            .dec_blocks
            .iter()
            .map(|blk| {
                let kv = mem.linear::<Tensor>(&blk.cross_kv, None).chunk(2, -1);
                (heads(&kv[0], h), heads(&kv[1], h))
            })
            .collect();
        DecoderState {
            cross,
            cross_mask: Tensor::from_slice(&mask)
                .view([b, 1, 1, m])
                .to_device(self.device),
            cache: (0..self.dec_blocks.len()).map(|_| None).collect(),
            len: 0,
        }
    }

    /// Runs `tokens` `[B, T]` (the next T positions of every sequence) through the decoder,
    /// extending the cache; returns fp32 logits `[B, T, V]`.
    pub fn decode(&self, state: &mut DecoderState, tokens: &Tensor) -> Tensor {
        let _g = tch::no_grad_guard();
        let (eps, ck, h) = (self.eps(), self.ck(), self.h());
        let t_new = tokens.size()[1];
        let q_pos: Vec<i64> = (state.len..state.len + t_new).collect();
        let bias = decoder_bias(&self.dec_lut, &q_pos, state.len + t_new).unsqueeze(0);
        let tokens = tokens.to_device(self.device);
        let mut y = self
            .embedding
            .index_select(0, &tokens.flatten(0, -1))
            .view([tokens.size()[0], t_new, -1]);
        for (l, blk) in self.dec_blocks.iter().enumerate() {
            let n = rms(&y, &blk.attn.norm, eps).to_kind(ck);
            let qkv = n.linear::<Tensor>(&blk.attn.qkv, None).chunk(3, -1);
            let (k_new, v_new) = (heads(&qkv[1], h), heads(&qkv[2], h));
            let (k, v) = match state.cache[l].take() {
                Some((k, v)) => (Tensor::cat(&[k, k_new], 2), Tensor::cat(&[v, v_new], 2)),
                None => (k_new, v_new),
            };
            let a = attention(&heads(&qkv[0], h), &k, &v, &bias);
            state.cache[l] = Some((k, v));
            y += a.linear::<Tensor>(&blk.attn.o, None);
            let n = rms(&y, &blk.cross_norm, eps).to_kind(ck);
            let q = heads(&n.linear::<Tensor>(&blk.cross_q, None), h);
            let (ck_, cv) = &state.cross[l];
            let a = attention(&q, ck_, cv, &state.cross_mask);
            y += a.linear::<Tensor>(&blk.cross_o, None);
            y = blk.ffn.forward(&y, eps, ck);
        }
        state.len += t_new;
        let out = rms(&y, &self.dec_norm, eps) * (self.cfg.d_model as f64).powf(-0.5);
        out.to_kind(Kind::Float).matmul(&self.embedding.tr())
    }
}
