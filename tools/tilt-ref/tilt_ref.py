"""Arctic-TILT reference in plain PyTorch, written from ../shared/research/tilt-architecture.md
(§4 names, §5 forward pass, §7 greedy decoding), independently of the Rust port: dense
per-sequence attention with an explicit bias, the chunks packed into one sequence with a
block-diagonal chunk mask (as the vLLM fork batches them), and a decoder that recomputes the
whole prefix at every step (no KV cache).

    tools/tilt-ref/setup-torch                 # once: CPU torch in .deps/pytorch
    .deps/pytorch/bin/tilt-python tools/tilt-ref/tilt_ref.py golden crates/tilt-infer/tests/golden
    .deps/pytorch/bin/tilt-python tools/tilt-ref/tilt_ref.py bench --config full ...

`golden` writes small safetensors files of inputs and outputs that
crates/tilt-infer/tests/golden.rs compares against (max abs diff <= 1e-4 in fp32). The weights
are not stored: both sides build them from the same SplitMix64 stream seeded by FNV-1a of each
tensor name.
"""

import argparse
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import save_file

M64 = (1 << 64) - 1

# ---------------------------------------------------------------------------------------------
# Configuration (§2 defaults) and deterministic weights


def default_config():
    return dict(
        model_type="tilt", vocab_size=32128, d_model=1024, d_ff=4096, d_kv=64,
        num_attention_heads=16, num_hidden_layers=24, bias_num_buckets=32,
        bias_max_distance=128, bias_planar_max_distance=100, bias_horz_scale=100.0,
        bias_vert_scale=100.0, layer_norm_epsilon=1e-6, pad_token_id=0, eos_token_id=1,
        decoder_start_token_id=0, roi_expansion_width=0, unet_in_channels=1,
        unet_init_features=32, unet_out_features=128, max_seq_length=125000,
        max_output_length=512, max_question_length=256, chunk_length=1024, image_width=768,
        max_image_height=2048, image_limit=250,
    )


def golden_config():
    c = default_config()
    c.update(d_model=64, num_attention_heads=16, d_kv=8, d_ff=128, num_hidden_layers=2,
             unet_init_features=4, unet_out_features=8, vocab_size=256, chunk_length=64,
             max_question_length=16, max_seq_length=4096, image_width=128)
    return c


def fnv1a(name):
    h = 0xCBF29CE484222325
    for b in name.encode():
        h = ((h ^ b) * 0x100000001B3) & M64
    return h


def det_uniform(seed, n):
    out = [0.0] * n
    s = seed
    for i in range(n):
        s = (s + 0x9E3779B97F4A7C15) & M64
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        out[i] = (z >> 11) * (1.0 / (1 << 53)) * 2.0 - 1.0
    return out


def unet_spec(c):
    f = c["unet_init_features"]
    blocks = [("encoder1", "enc1", 1, f), ("encoder2", "enc2", f, 2 * f),
              ("encoder3", "enc3", 2 * f, 2 * f), ("encoder4", "enc4", 2 * f, 4 * f),
              ("encoder5", "enc5", 4 * f, 4 * f), ("encoder6", "enc6", 4 * f, 8 * f),
              ("bottleneck", "bottleneck", 8 * f, 16 * f), ("decoder6", "dec6", 16 * f, 8 * f),
              ("decoder5", "dec5", 8 * f, 4 * f), ("decoder4", "dec4", 8 * f, c["unet_out_features"])]
    ups = [("upconv6", 16 * f, 8 * f), ("upconv5", 8 * f, 4 * f), ("upconv4", 4 * f, 4 * f)]
    return blocks, ups


def shapes(c):
    d, F_, V = c["d_model"], c["d_ff"], c["vocab_size"]
    inner, H, B = c["num_attention_heads"] * c["d_kv"], c["num_attention_heads"], c["bias_num_buckets"]
    s = {"embedding.weight": [V, d]}
    for i in range(c["num_hidden_layers"]):
        e = f"encoder.blocks.{i}"
        s[f"{e}.self_attention.layer_norm.weight"] = [d]
        for p in "qkv":
            s[f"{e}.self_attention.{p}.weight"] = [inner, d]
        s[f"{e}.self_attention.o.weight"] = [d, inner]
        s[f"{e}.ffn.layer_norm.weight"] = [d]
        s[f"{e}.ffn.w1.weight"] = [F_, d]
        s[f"{e}.ffn.w2.weight"] = [d, F_]
        s[f"{e}.fusion.layer_norm.weight"] = [d]
        for p in ("to_v", "to_r", "to_out"):
            s[f"{e}.fusion.{p}.weight"] = [d, d]
        g = f"decoder.blocks.{i}"
        s[f"{g}.self_attention.layer_norm.weight"] = [d]
        for p in "qkv":
            s[f"{g}.self_attention.{p}.weight"] = [inner, d]
            s[f"{g}.cross_attention.{p}.weight"] = [inner, d]
        s[f"{g}.self_attention.o.weight"] = [d, inner]
        s[f"{g}.cross_attention.layer_norm.weight"] = [d]
        s[f"{g}.cross_attention.o.weight"] = [d, inner]
        s[f"{g}.ffn.layer_norm.weight"] = [d]
        s[f"{g}.ffn.w1.weight"] = [F_, d]
        s[f"{g}.ffn.w2.weight"] = [d, F_]
    for n in ("encoder.sequential_bias.embedding", "encoder.planar_bias.horizontal_embedding",
              "encoder.planar_bias.vertical_embedding", "decoder.sequential_bias.embedding"):
        s[f"{n}.bucket_embeddings.weight"] = [B, H]
    s["encoder.output_net.weight"] = [d]
    s["decoder.output_net.weight"] = [d]
    s["proxy_layer.weight"] = [d, c["unet_out_features"]]
    s["proxy_layer.bias"] = [d]
    blocks, ups = unet_spec(c)
    for m, p, i, o in blocks:
        s[f"unet.{m}.{p}conv1.weight"] = [o, i, 3, 3]
        s[f"unet.{m}.{p}conv2.weight"] = [o, o, 3, 3]
        for n in ("norm1", "norm2"):
            for t in ("weight", "bias", "running_mean", "running_var"):
                s[f"unet.{m}.{p}{n}.{t}"] = [o]
    for n, i, o in ups:
        s[f"unet.{n}.weight"] = [i, o, 2, 2]
        s[f"unet.{n}.bias"] = [o]
    return s


def make_weights(c, seed, std, fast=False):
    """The same values as tilt_infer::WeightMap::random_checkpoint (fast=True: torch's RNG
    instead, for the full-size benchmark where only speed matters)."""
    w = {}
    for name, shape in shapes(c).items():
        n = math.prod(shape)
        if fast:
            t = (torch.rand(n, dtype=torch.float64) * 2 - 1)
            vals = t
        else:
            vals = torch.tensor(det_uniform(seed ^ fnv1a(name), n), dtype=torch.float64)
        if name.endswith("running_var"):
            vals = 1.0 + 0.5 * vals
        elif name.endswith(("layer_norm.weight", "output_net.weight", "norm1.weight", "norm2.weight")):
            vals = 1.0 + 0.2 * vals
        elif name.startswith("unet.") and name.endswith(("conv1.weight", "conv2.weight")):
            vals = math.sqrt(6.0 / (shape[1] * 9)) * vals
        else:
            vals = (std * math.sqrt(3.0)) * vals
        w[name] = vals.to(torch.float32).reshape(shape)
    return w


# ---------------------------------------------------------------------------------------------
# Model (§5)


def bucketize(dist, scale, bidirectional, num_buckets, max_distance):
    """§5.5: r = trunc(scale·d); small |r| exact, larger log-spaced, capped."""
    n = num_buckets // 2 if bidirectional else num_buckets
    nl = n // 2
    K = (n - nl) / math.log(max_distance / nl)
    r = (dist.float() * scale).long()
    a = r.abs()
    big = (torch.log(a.clamp(min=1).float() / nl) * K + nl).long().clamp(max=n - 1)
    out = torch.where(a < nl, a, big)
    if bidirectional:
        return out + (r < 0).long() * n
    return torch.where(r >= 0, out, torch.zeros_like(out))


def rmsnorm(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


class Tilt:
    def __init__(self, c, w, dtype=torch.float32, device="cpu"):
        self.c, self.dt, self.dev = c, dtype, device
        keep32 = lambda n: (n == "embedding.weight" or n.startswith("proxy_layer.")
                            or "bucket_embeddings" in n or n.endswith("layer_norm.weight")
                            or n.endswith("output_net.weight") or "running_" in n)
        self.w = {n: t.to(device=device, dtype=torch.float32 if keep32(n) else dtype) for n, t in w.items()}
        self.H = c["num_attention_heads"]
        self.eps = c["layer_norm_epsilon"]

    def lin(self, x, name):
        return F.linear(x.to(self.dt), self.w[name])

    # -- visual branch (§5.4)
    def unet(self, img):
        w = self.w
        blocks, ups = unet_spec(self.c)

        def block(x, m, p):
            for k in ("1", "2"):
                x = F.conv2d(x, w[f"unet.{m}.{p}conv{k}.weight"], padding=1)
                pre = f"unet.{m}.{p}norm{k}"
                x = F.batch_norm(x, w[pre + ".running_mean"], w[pre + ".running_var"],
                                 w[pre + ".weight"].to(x.dtype), w[pre + ".bias"].to(x.dtype),
                                 training=False, eps=1e-5)
                x = F.relu(x)
            return x

        def up(x, n):
            return F.conv_transpose2d(x, w[f"unet.{n}.weight"], w[f"unet.{n}.bias"], stride=2)

        x = 1.0 - img.to(self.dt)
        skips = []
        for m, p, _, _ in blocks[:6]:
            x = block(x, m, p)
            skips.append(x)
            x = F.max_pool2d(x, 2)
        x = block(x, "bottleneck", "bottleneck")
        for (m, p, _, _), (n, _, _), skip in zip(blocks[7:], ups, [skips[5], skips[4], skips[3]]):
            x = block(torch.cat([up(x, n), skip], 1), m, p)
        return x.float()

    def roi_pool(self, feat, rois):
        """torchvision.ops.roi_pool(output 1x1, spatial_scale 1/8), written out."""
        N, C, Hf, Wf = feat.shape
        out = torch.zeros(rois.shape[0], C)
        e = self.c["roi_expansion_width"]
        for r in range(rois.shape[0]):
            b, x1, y1, x2, y2 = rois[r].tolist()
            x1 = max(x1 - e, 0.0)
            x2 = min(x2 + e, Wf * 8 - 1.0)
            rnd = lambda v: int(math.floor(abs(v) * 0.125 + 0.5)) * (1 if v >= 0 else -1)
            sw, sh, ew, eh = rnd(x1), rnd(y1), rnd(x2), rnd(y2)
            rw, rh = max(ew - sw + 1, 1), max(eh - sh + 1, 1)
            h0, h1 = min(max(sh, 0), Hf), min(max(sh + rh, 0), Hf)
            w0, w1 = min(max(sw, 0), Wf), min(max(sw + rw, 0), Wf)
            if h1 > h0 and w1 > w0:
                out[r] = feat[int(b), :, h0:h1, w0:w1].amax(dim=(1, 2))
        return out

    def image_embeddings(self, feat, rois):
        return F.linear(self.roi_pool(feat.cpu(), rois).to(self.dev),
                        self.w["proxy_layer.weight"], self.w["proxy_layer.bias"])

    # -- encoder (§5.5, §5.6)
    def encoder_bias(self, pos, boxes, chunk_ids):
        c, w = self.c, self.w
        B = c["bias_num_buckets"]
        b1 = bucketize(pos[:, None] - pos[None, :], 1.0, True, B, c["bias_max_distance"])
        cx = (boxes[:, 0] + boxes[:, 2]) / 2
        cy = (boxes[:, 1] + boxes[:, 3]) / 2
        sc, md = c["bias_horz_scale"], c["bias_planar_max_distance"]
        bx = bucketize(cx[:, None] - cx[None, :], sc, True, B, md)
        by = bucketize(cy[:, None] - cy[None, :], sc, True, B, md)
        t = lambda n: w[f"encoder.{n}.bucket_embeddings.weight"]
        bias = t("sequential_bias.embedding")[b1] + (
            t("planar_bias.horizontal_embedding")[bx] + t("planar_bias.vertical_embedding")[by])
        bias = bias.permute(2, 0, 1)
        mask = chunk_ids[:, None] != chunk_ids[None, :]
        return bias.masked_fill(mask[None], torch.finfo(torch.float32).min)

    def attend(self, q, k, v, bias):
        L, S = q.shape[0], k.shape[0]
        q = q.view(L, self.H, -1).transpose(0, 1)
        k = k.view(S, self.H, -1).transpose(0, 1)
        v = v.view(S, self.H, -1).transpose(0, 1)
        s = torch.matmul(q, k.transpose(1, 2)).float() + bias
        p = torch.softmax(s, dim=-1).to(v.dtype)
        return torch.matmul(p, v).transpose(0, 1).reshape(L, -1)

    def encode_packed(self, chunks, layer0=None):
        """chunks: list of (ids [L], boxes [L,4], img [L,d]); one packed sequence."""
        ids = torch.cat([c[0] for c in chunks]).to(self.dev)
        boxes = torch.cat([c[1] for c in chunks]).to(self.dev)
        img = torch.cat([c[2] for c in chunks]).to(self.dev)
        pos = torch.cat([torch.arange(len(c[0])) for c in chunks]).to(self.dev)
        cid = torch.cat([torch.full((len(c[0]),), j) for j, c in enumerate(chunks)]).to(self.dev)
        bias = self.encoder_bias(pos, boxes, cid).to(self.dt).float()
        w, eps = self.w, self.eps
        x = w["embedding.weight"][ids]
        for i in range(self.c["num_hidden_layers"]):
            p = f"encoder.blocks.{i}"
            h = rmsnorm(x, w[f"{p}.self_attention.layer_norm.weight"], eps)
            q, k, v = (self.lin(h, f"{p}.self_attention.{n}.weight") for n in "qkv")
            x = x + self.lin(self.attend(q, k, v, bias), f"{p}.self_attention.o.weight")
            h = rmsnorm(x, w[f"{p}.ffn.layer_norm.weight"], eps)
            x = x + self.lin(F.relu(self.lin(h, f"{p}.ffn.w1.weight")), f"{p}.ffn.w2.weight")
            nw = w[f"{p}.fusion.layer_norm.weight"]
            t, im = rmsnorm(x, nw, eps), rmsnorm(img, nw, eps)
            val = self.lin(t + im, f"{p}.fusion.to_v.weight")
            val = val + val * self.lin(t, f"{p}.fusion.to_r.weight")
            x = x + self.lin(val, f"{p}.fusion.to_out.weight")
            if layer0 is not None and i == 0:
                layer0.append(x.clone())
        out = rmsnorm(x, w["encoder.output_net.weight"], eps).to(self.dt).float()
        return list(out.split([len(c[0]) for c in chunks]))

    # -- decoder (§5.7), full recomputation at every step
    def decoder_logits(self, memory, tokens):
        c, w, eps = self.c, self.w, self.eps
        T = tokens.shape[0]
        d = torch.arange(T)[:, None] - torch.arange(T)[None, :]
        lut_b = bucketize(torch.arange(c["bias_max_distance"]).float(), 1.0, False,
                          c["bias_num_buckets"], c["bias_max_distance"])
        lut = w["decoder.sequential_bias.embedding.bucket_embeddings.weight"][lut_b]
        bias = lut[d.clamp(0, c["bias_max_distance"] - 1)].permute(2, 0, 1).to(self.dev)
        bias = bias.masked_fill((d < 0)[None].to(self.dev), torch.finfo(torch.float32).min)
        mem = memory.to(self.dev).to(self.dt)
        y = w["embedding.weight"][tokens.to(self.dev)]
        for i in range(c["num_hidden_layers"]):
            p = f"decoder.blocks.{i}"
            h = rmsnorm(y, w[f"{p}.self_attention.layer_norm.weight"], eps)
            q, k, v = (self.lin(h, f"{p}.self_attention.{n}.weight") for n in "qkv")
            y = y + self.lin(self.attend(q, k, v, bias), f"{p}.self_attention.o.weight")
            h = rmsnorm(y, w[f"{p}.cross_attention.layer_norm.weight"], eps)
            q = self.lin(h, f"{p}.cross_attention.q.weight")
            k = F.linear(mem, w[f"{p}.cross_attention.k.weight"])
            v = F.linear(mem, w[f"{p}.cross_attention.v.weight"])
            y = y + self.lin(self.attend(q, k, v, torch.zeros((), device=self.dev)),
                             f"{p}.cross_attention.o.weight")
            h = rmsnorm(y, w[f"{p}.ffn.layer_norm.weight"], eps)
            y = y + self.lin(F.relu(self.lin(h, f"{p}.ffn.w1.weight")), f"{p}.ffn.w2.weight")
        y = rmsnorm(y, w["decoder.output_net.weight"], eps) * c["d_model"] ** -0.5
        return y.float() @ w["embedding.weight"].t()

    def greedy(self, memory, max_tokens):
        tokens = [self.c["decoder_start_token_id"]]
        ids, lps, steps = [], [], []
        for _ in range(max_tokens):
            logits = self.decoder_logits(memory, torch.tensor(tokens))[-1]
            nxt = int(torch.argmax(logits))
            ids.append(nxt)
            lps.append(float(torch.log_softmax(logits, -1)[nxt]))
            steps.append(logits)
            if nxt == self.c["eos_token_id"]:
                break
            tokens.append(nxt)
        return ids, lps, torch.stack(steps)


def fusion_in_decoder(outs, p):
    return torch.cat([outs[0]] + [o[p:] for o in outs[1:]])


# ---------------------------------------------------------------------------------------------
# Golden fixtures


def golden_inputs(c, seed=7):
    """A 2-page document of 150 tokens and a 5-token question (3 chunks at chunk_length 64)."""
    u = lambda s, n: torch.tensor(det_uniform(s, n), dtype=torch.float64)
    n, p = 150, 5
    ids = (2 + ((u(seed, n) + 1) / 2 * (c["vocab_size"] - 3)).floor()).long()
    prefix_ids = (2 + ((u(seed + 1, p) + 1) / 2 * (c["vocab_size"] - 3)).floor()).long()
    W = c["image_width"]
    s = (1 / math.sqrt(2)) / 1000.0  # pages are 1000 x 1400 px
    page_h = 1400 * s
    boxes, rois = [], []
    r = u(seed + 2, 4 * n)
    for t in range(n):
        page = 0 if t < 80 else 1
        k = t if page == 0 else t - 80
        x1 = 40 + 900 * (r[4 * t] + 1) / 2 * 0.8
        w_ = 20 + 60 * (r[4 * t + 1] + 1) / 2
        y1 = 30 + k * 16 + 4 * r[4 * t + 2]
        b = torch.tensor([x1, y1, min(x1 + w_, 1000.0), y1 + 14], dtype=torch.float32)
        nb = b * torch.tensor(s, dtype=torch.float32)
        rois.append(torch.cat([torch.tensor([float(page)]), nb * (W / (1 / math.sqrt(2)))]))
        off = page * page_h
        boxes.append(nb + torch.tensor([0, off, 0, off], dtype=torch.float32))
    boxes = torch.stack(boxes).float()
    rois = torch.stack(rois).float()
    prefix_boxes = torch.tensor([[-0.01 + 0.05 * k, -0.01, -0.01 + 0.05 * k, -0.01] for k in range(p)],
                                dtype=torch.float32)
    # Page images 128 x 192: white paper with dark strokes where the words are, plus noise.
    Hp = 192
    img = torch.ones(2, 1, Hp, W)
    for t in range(n):
        pg, x1, y1, x2, y2 = rois[t].tolist()
        img[int(pg), 0, int(y1):int(math.ceil(y2)), int(x1):int(math.ceil(x2))] = 0.2
    img = (img + 0.05 * u(seed + 3, 2 * Hp * W).float().view(2, 1, Hp, W)).clamp(0, 1)
    return dict(ids=ids, prefix_ids=prefix_ids, boxes=boxes, prefix_boxes=prefix_boxes,
                rois=rois, images=img)


def golden(out_dir):
    c = golden_config()
    torch.set_num_threads(1)
    w = make_weights(c, seed=42, std=0.05)
    m = Tilt(c, w)
    x = golden_inputs(c)
    p = len(x["prefix_ids"])
    feat = m.unet(x["images"])
    emb = m.image_embeddings(feat, x["rois"])
    u = c["chunk_length"] - p
    n = len(x["ids"])
    chunks = []
    for j, s in enumerate(range(0, n, u)):
        e = min(s + u, n)
        ids = torch.cat([x["prefix_ids"], x["ids"][s:e]])
        boxes = torch.cat([x["prefix_boxes"], x["boxes"][s:e]])
        img = torch.cat([torch.zeros(p, c["d_model"]), emb[s:e]])
        chunks.append((ids, boxes, img))
    layer0 = []
    outs = m.encode_packed(chunks, layer0)
    single_bias = m.encoder_bias(torch.arange(len(chunks[0][0])), chunks[0][1],
                                 torch.zeros(len(chunks[0][0]), dtype=torch.long))
    memory = fusion_in_decoder(outs, p)
    ids, lps, logits = m.greedy(memory, 12)
    tensors = dict(x)
    tensors.update(features=feat, image_embeddings=emb, bias_chunk0_heads0to3=single_bias[:4].contiguous(),
                   layer0_packed=layer0[0], memory=memory, step_logits=logits,
                   greedy_ids=torch.tensor(ids), logprobs=torch.tensor(lps))
    for j, o in enumerate(outs):
        tensors[f"encoder_chunk{j}"] = o
    tensors = {k: v.contiguous() for k, v in tensors.items()}
    os.makedirs(out_dir, exist_ok=True)
    save_file(tensors, os.path.join(out_dir, "tiny.safetensors"))
    meta = dict(config=c, weight_seed=42, weight_std=0.05, chunks=len(chunks), greedy_ids=ids,
                torch=torch.__version__)
    with open(os.path.join(out_dir, "tiny.json"), "w") as f:
        json.dump(meta, f, indent=1, sort_keys=True)
    print(f"golden: {len(chunks)} chunks, greedy {ids}, files in {out_dir}")


# ---------------------------------------------------------------------------------------------
# Benchmark (full-size config, random weights): the same measurements as the Rust bench


def bench(args):
    c = default_config()
    dev = "cuda" if torch.cuda.is_available() else "cpu"
    dt = torch.bfloat16 if (dev == "cuda" and args.dtype == "bf16") else torch.float32
    torch.manual_seed(0)
    m = Tilt(c, make_weights(c, 0, 0.02, fast=True), dt, dev)
    res = dict(device=torch.cuda.get_device_name() if dev == "cuda" else "cpu", dtype=str(dt))

    def sync():
        if dev == "cuda":
            torch.cuda.synchronize()

    with torch.no_grad():
        for pages in args.pages:
            n = pages * 590
            L = c["chunk_length"]
            p = 10
            u = L - p
            chunks = []
            for s in range(0, n, u):
                e = min(s + u, n)
                k = e - s + p
                chunks.append((torch.randint(2, 32000, (k,)), torch.rand(k, 4).sort(-1).values,
                               torch.randn(k, c["d_model"]) * 0.1))
            m.encode_packed(chunks[:1])
            sync()
            t = time.perf_counter()
            for ch in chunks:
                m.encode_packed([ch])
            sync()
            res[f"prefill_{pages}p_ms"] = (time.perf_counter() - t) * 1e3
        mem = torch.randn(600, c["d_model"], device=dev)
        toks = torch.zeros(16, dtype=torch.long)
        m.decoder_logits(mem, toks[:2])
        sync()
        t = time.perf_counter()
        m.decoder_logits(mem, toks)
        sync()
        res["decode_full_recompute_16tok_ms"] = (time.perf_counter() - t) * 1e3
    print(json.dumps(res))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("golden")
    g.add_argument("out")
    b = sub.add_parser("bench")
    b.add_argument("--pages", type=int, nargs="+", default=[1, 10])
    b.add_argument("--dtype", default="bf16")
    a = ap.parse_args()
    if a.cmd == "golden":
        golden(a.out)
    else:
        bench(a)
