//! The relative attention biases of tilt-architecture.md §5.5: the bucketizer (in libtorch f32
//! ops, as the reference computes it, so that the float hazards at exact bucket boundaries fall
//! the same way), the encoder's 1-D + 2-D bias and the decoder's bucket lookup table.

use tch::{Kind, Tensor};

/// Maps relative distances to bucket indices.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucketizer {
    pub num_buckets: i64,
    pub max_distance: i64,
    pub scale: f64,
    pub bidirectional: bool,
}

impl Bucketizer {
    /// Buckets of `d` (an f32 tensor of distances, query minus key), as int64.
    pub fn bucket(&self, d: &Tensor) -> Tensor {
        let n = if self.bidirectional {
            self.num_buckets / 2
        } else {
            self.num_buckets
        };
        let nl = n / 2;
        // K is computed in double and applied as a scalar to the f32 tensor.
        let k = (n - nl) as f64 / (self.max_distance as f64 / nl as f64).ln();
        let r = (d.to_kind(Kind::Float) * self.scale).to_kind(Kind::Int64);
        let a = r.abs();
        let large = ((a.clamp_min(1).to_kind(Kind::Float) / nl as f64).log() * k + nl as f64)
            .to_kind(Kind::Int64)
            .clamp_max(n - 1);
        let b = a.where_self(&a.lt(nl), &large);
        if self.bidirectional {
            b + r.lt(0).to_kind(Kind::Int64) * n
        } else {
            b.where_self(&r.ge(0), &b.zeros_like())
        }
    }
}

/// Gathers `[.., H]` rows of a `[B, H]` bucket table for an index tensor `[...]` → `[..., H]`.
fn gather(table: &Tensor, idx: &Tensor) -> Tensor {
    let shape = idx.size();
    let h = table.size()[1];
    let mut out_shape = shape.clone();
    out_shape.push(h);
    table
        .index_select(0, &idx.flatten(0, -1))
        .view(out_shape.as_slice())
}

/// The encoder's bias tables and bucketizers.
#[derive(Debug)]
pub struct EncoderBias {
    pub sequential: Tensor,
    pub horizontal: Tensor,
    pub vertical: Tensor,
    pub seq_buckets: Bucketizer,
    pub planar_buckets: Bucketizer,
}

impl EncoderBias {
    /// The `[H, L, L]` bias of one sequence: `positions` `[L]` (int64, restarting in every
    /// chunk), `boxes` `[L, 4]` f32, and optional `chunk_ids` `[L]` whose differing pairs get
    /// the mask value.
    pub fn bias(&self, positions: &Tensor, boxes: &Tensor, chunk_ids: Option<&Tensor>) -> Tensor {
        let pos = positions.to_kind(Kind::Float);
        let d1 = pos.unsqueeze(1) - pos.unsqueeze(0);
        let b1 = self.seq_buckets.bucket(&d1);
        let cx = (boxes.select(1, 0) + boxes.select(1, 2)) / 2.0;
        let cy = (boxes.select(1, 1) + boxes.select(1, 3)) / 2.0;
        let dx = cx.unsqueeze(1) - cx.unsqueeze(0);
        let dy = cy.unsqueeze(1) - cy.unsqueeze(0);
        let bx = self.planar_buckets.bucket(&dx);
        let by = self.planar_buckets.bucket(&dy);
        let planar = gather(&self.horizontal, &bx) + gather(&self.vertical, &by);
        let mut bias = (gather(&self.sequential, &b1) + planar).permute([2, 0, 1]);
        if let Some(ids) = chunk_ids {
            let differ = ids.unsqueeze(1).ne_tensor(&ids.unsqueeze(0));
            bias = bias.masked_fill(&differ.unsqueeze(0), f32::MIN as f64);
        }
        bias.contiguous()
    }
}

/// The decoder's lookup table: `lut[t]` = bias of distance `t` (0..max_distance), `[T, H]`.
pub fn decoder_lut(table: &Tensor, buckets: &Bucketizer) -> Tensor {
    let t = Tensor::arange(buckets.max_distance, (Kind::Float, table.device()));
    gather(table, &buckets.bucket(&t))
}

/// The decoder self-attention bias `[H, Tq, Tk]` for query positions `q_pos` and keys
/// `0..tk`: `lut[min(q − k, T − 1)]`, and the mask value where the key is after the query.
pub fn decoder_bias(lut: &Tensor, q_pos: &[i64], tk: i64) -> Tensor {
    let dev = lut.device();
    let max = lut.size()[0] - 1;
    let q = Tensor::from_slice(q_pos).to_device(dev);
    let k = Tensor::arange(tk, (Kind::Int64, dev));
    let d = q.unsqueeze(1) - k.unsqueeze(0);
    let future = d.lt(0);
    let bias = gather(lut, &d.clamp(0, max)).permute([2, 0, 1]);
    bias.masked_fill(&future.unsqueeze(0), f32::MIN as f64)
        .contiguous()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// |r| → bucket for every distance below `limit`, from the spec's boundary table.
    fn table(bounds: &[(i64, i64)], exact: i64, limit: i64) -> Vec<i64> {
        (0..limit)
            .map(|r| {
                if r < exact {
                    r
                } else {
                    bounds
                        .iter()
                        .find(|(hi, _)| r <= *hi)
                        .map(|(_, b)| *b)
                        .unwrap_or(bounds.last().map(|(_, b)| *b + 1).unwrap_or(0))
                }
            })
            .collect()
    }

    fn buckets(b: &Bucketizer, distances: &[f32]) -> Vec<i64> {
        let t = b.bucket(&Tensor::from_slice(distances));
        Vec::<i64>::try_from(&t).expect("int64 buckets")
    }

    #[test]
    fn encoder_1d_buckets_match_the_spec_table() {
        // enc 1-D: 0–7 identity; 8–11→8; 12–15→9; 16–22→10; 23–31→11; 32–45→12; 46–63→13;
        // 64–90→14; ≥91→15, with +16 on the negative side.
        let want = table(
            &[
                (11, 8),
                (15, 9),
                (22, 10),
                (31, 11),
                (45, 12),
                (63, 13),
                (90, 14),
            ],
            8,
            1100,
        );
        let b = Bucketizer {
            num_buckets: 32,
            max_distance: 128,
            scale: 1.0,
            bidirectional: true,
        };
        let pos: Vec<f32> = (0..1100).map(|r| r as f32).collect();
        assert_eq!(buckets(&b, &pos), want);
        let neg: Vec<f32> = (0..1100).map(|r| -(r as f32)).collect();
        let want_neg: Vec<i64> = want
            .iter()
            .enumerate()
            .map(|(r, w)| if r == 0 { 0 } else { w + 16 })
            .collect();
        assert_eq!(buckets(&b, &neg), want_neg);
        // The float hazards: exactly on the integers 10, 12, 14.
        assert_eq!(buckets(&b, &[16.0, 32.0, 64.0]), vec![10, 12, 14]);
    }

    #[test]
    fn planar_buckets_scale_by_100_and_truncate() {
        // enc 2-D: 0–7 identity; 8–10→8; 11–15→9; 16–20→10; 21–28→11; 29–38→12; 39–53→13;
        // 54–72→14; ≥73→15.
        let want = table(
            &[
                (10, 8),
                (15, 9),
                (20, 10),
                (28, 11),
                (38, 12),
                (53, 13),
                (72, 14),
            ],
            8,
            400,
        );
        let b = Bucketizer {
            num_buckets: 32,
            max_distance: 100,
            scale: 100.0,
            bidirectional: true,
        };
        let d: Vec<f32> = (0..400).map(|r| r as f32 / 100.0 + 0.001).collect();
        assert_eq!(buckets(&b, &d), want);
        // Truncation toward zero on both sides: 0.0799 → r=7, −0.0799 → r=−7 → 7+16.
        assert_eq!(buckets(&b, &[0.0799, -0.0799, -0.0001]), vec![7, 23, 0]);
    }

    #[test]
    fn decoder_buckets_are_unidirectional() {
        // dec 1-D: 0–15 identity; 16–18→16; 19–20→17; 21–23→18; 24–26→19; 27–30→20; 31–34→21;
        // 35–39→22; 40–45→23; 46–51→24; 52–58→25; 59–66→26; 67–76→27; 77–86→28; 87–98→29;
        // 99–112→30; ≥113→31.
        let want = table(
            &[
                (18, 16),
                (20, 17),
                (23, 18),
                (26, 19),
                (30, 20),
                (34, 21),
                (39, 22),
                (45, 23),
                (51, 24),
                (58, 25),
                (66, 26),
                (76, 27),
                (86, 28),
                (98, 29),
                (112, 30),
            ],
            16,
            300,
        );
        let b = Bucketizer {
            num_buckets: 32,
            max_distance: 128,
            scale: 1.0,
            bidirectional: false,
        };
        let d: Vec<f32> = (0..300).map(|r| r as f32).collect();
        assert_eq!(buckets(&b, &d), want);
        assert_eq!(buckets(&b, &[-1.0, -50.0]), vec![0, 0]);
    }

    #[test]
    fn encoder_bias_sums_tables_and_masks_other_chunks() {
        let h = 2;
        let seq = Tensor::arange(32 * h, (Kind::Float, tch::Device::Cpu)).view([32, h]);
        let horiz = seq.shallow_clone() * 100.0;
        let vert = seq.shallow_clone() * 10_000.0;
        let eb = EncoderBias {
            sequential: seq,
            horizontal: horiz,
            vertical: vert,
            seq_buckets: Bucketizer {
                num_buckets: 32,
                max_distance: 128,
                scale: 1.0,
                bidirectional: true,
            },
            planar_buckets: Bucketizer {
                num_buckets: 32,
                max_distance: 100,
                scale: 100.0,
                bidirectional: true,
            },
        };
        let pos = Tensor::from_slice(&[0i64, 1, 0]);
        let boxes = Tensor::from_slice(&[
            0.0f32, 0.0, 0.0, 0.0, 0.125, 0.0, 0.125, 0.0, 0.0, 0.1, 0.0, 0.1,
        ])
        .view([3, 4]);
        let ids = Tensor::from_slice(&[0i64, 0, 1]);
        let bias = eb.bias(&pos, &boxes, Some(&ids));
        assert_eq!(bias.size(), vec![2, 3, 3]);
        // (q=0, k=1): d1 = −1 → 1+16; dx = −0.125 → r −12 → 9+16; dy 0 → 0.
        assert_eq!(bias.double_value(&[0, 0, 1]), 34.0 + 5000.0);
        // Head 1 of (q=1, k=0): d1 = 1 → 1; dx 12 → 9; dy 0.
        assert_eq!(bias.double_value(&[1, 1, 0]), 3.0 + 1900.0 + 10_000.0);
        assert_eq!(bias.double_value(&[0, 2, 0]), f32::MIN as f64);
    }

    #[test]
    fn decoder_bias_uses_the_lut_and_is_causal() {
        let lut = Tensor::arange(128, (Kind::Float, tch::Device::Cpu)).view([128, 1]);
        let b = decoder_bias(&lut, &[0, 1, 200], 3);
        assert_eq!(b.double_value(&[0, 0, 0]), 0.0);
        assert_eq!(b.double_value(&[0, 0, 1]), f32::MIN as f64);
        assert_eq!(b.double_value(&[0, 1, 0]), 1.0);
        assert_eq!(b.double_value(&[0, 2, 0]), 127.0);
    }
}
