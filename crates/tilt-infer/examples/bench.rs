//! Full-size Arctic-TILT with random weights: encoder prefill for documents of N pages (about
//! 590 tokens a page, chunked at 1024 with a 10-token question), decode ms/token at batch 1
//! and 16 with the KV cache, and peak GPU memory when on CUDA. Prints one JSON line.
//! `scripts/bench-tilt` runs it beside the PyTorch reference and prints the ratio.
//!
//!     cargo run --release -p tilt-infer --example bench -- [--pages 1 10] [--tokens 32] [--device auto]

use std::time::Instant;

use tch::{Device, Kind, Tensor};
use tilt_infer::{ChunkInput, Precision, TiltConfig, TiltModel, WeightMap, parse_device};

fn arg_list(args: &[String], name: &str) -> Vec<String> {
    let Some(i) = args.iter().position(|a| a == name) else {
        return Vec::new();
    };
    args[i + 1..]
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .cloned()
        .collect()
}

fn sync(d: Device) {
    if let Device::Cuda(i) = d {
        tch::Cuda::synchronize(i as i64);
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let pages: Vec<usize> = match arg_list(&args, "--pages") {
        v if v.is_empty() => vec![1, 10],
        v => v.iter().map(|s| s.parse()).collect::<Result<_, _>>()?,
    };
    let tokens: usize = arg_list(&args, "--tokens")
        .first()
        .map_or(Ok(32), |s| s.parse())?;
    let batches: Vec<usize> = match arg_list(&args, "--batch") {
        v if v.is_empty() => vec![1, 16],
        v => v.iter().map(|s| s.parse()).collect::<Result<_, _>>()?,
    };
    let device = parse_device(arg_list(&args, "--device").first().map_or("auto", |s| s))?;
    let precision = Precision::default_for(device);
    let cfg = TiltConfig::default();
    let t = Instant::now();
    let ckpt = WeightMap::random_checkpoint(&cfg, 0, 0.02);
    let weights = WeightMap::from_tensors(ckpt, &cfg, device, precision.kind())?;
    let model = TiltModel::from_weights(cfg.clone(), weights, device, precision)?;
    let load_s = t.elapsed().as_secs_f64();
    let mut out = serde_json::Map::new();
    out.insert("device".into(), tilt_infer::device_name(device).into());
    out.insert("dtype".into(), precision.as_str().into());
    out.insert("parameters".into(), cfg.parameter_count().into());
    out.insert("load_s".into(), load_s.into());
    let d = cfg.d_model as i64;
    let chunk = |len: i64| ChunkInput {
        ids: Tensor::randint_low(2, 32000, [len], (Kind::Int64, Device::Cpu)),
        boxes: Tensor::rand([len, 4], (Kind::Float, Device::Cpu))
            .sort(-1, false)
            .0,
        image: Tensor::randn([len, d], (Kind::Float, Device::Cpu)) * 0.1,
    };
    let _ = model.encode_packed(&[chunk(64)]);
    let mut memory = None;
    for &p in &pages {
        let n = (p * 590) as i64;
        let (q, cl) = (10i64, cfg.chunk_length as i64);
        let u = cl - q;
        let lens: Vec<i64> = (0..n)
            .step_by(u as usize)
            .map(|s| (n - s).min(u) + q)
            .collect();
        let inputs: Vec<ChunkInput> = lens.iter().map(|&l| chunk(l)).collect();
        sync(device);
        let t = Instant::now();
        let outs: Vec<Tensor> = inputs
            .into_iter()
            .flat_map(|c| model.encode_packed(&[c]))
            .collect();
        sync(device);
        out.insert(
            format!("prefill_{p}p_ms"),
            (t.elapsed().as_secs_f64() * 1e3).into(),
        );
        if memory.is_none() {
            memory = Some(TiltModel::memory(&outs, q));
        }
    }
    let memory = memory.unwrap_or_else(|| Tensor::randn([600, d], (Kind::Float, device)));
    for &b in &batches {
        let mems: Vec<Tensor> = (0..b).map(|_| memory.shallow_clone()).collect();
        let mut state = model.start_decoding(&mems);
        let tok = Tensor::zeros([b as i64, 1], (Kind::Int64, Device::Cpu));
        let _ = model.decode(&mut state, &tok);
        sync(device);
        let t = Instant::now();
        for _ in 0..tokens {
            let _ = model.decode(&mut state, &tok);
        }
        sync(device);
        out.insert(
            format!("decode_b{b}_ms_per_token"),
            (t.elapsed().as_secs_f64() * 1e3 / tokens as f64).into(),
        );
    }
    println!("{}", serde_json::Value::Object(out));
    Ok(())
}
