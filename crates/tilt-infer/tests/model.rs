//! The model on a tiny random config (16 heads kept): loader errors, shapes, the KV cache
//! against full recomputation, batched decoding against one-by-one, bf16 against fp32, and
//! the whole path from an OCR Document through the engine thread.

mod common;

use std::collections::BTreeMap;

use common::*;
use ocr_document::{DocPage, DocWord, OcrDocument, PageSource};
use tch::{Kind, Tensor};
use tilt_infer::{
    Precision, Tilt, TiltConfig, TiltEngine, TiltError, TiltModel, TiltRequest, WeightMap, greedy,
};

fn tiny() -> TiltConfig {
    TiltConfig {
        vocab_size: 256,
        ..TiltConfig::tiny()
    }
}

fn load_err(dir: &std::path::Path) -> String {
    TiltModel::load(dir, cpu(), Precision::F32)
        .expect_err("must not load")
        .to_string()
}

#[test]
fn loader_names_missing_unexpected_and_misshaped_tensors() {
    let cfg = tiny();
    let dir = tempfile::tempdir().expect("tmp");
    assert!(load_err(dir.path()).contains("config.json"));

    let mut ck = WeightMap::random_checkpoint(&cfg, 1, 0.05);
    ck.remove("encoder.blocks.1.ffn.w1.weight");
    ck.insert(
        "encoder.blocks.0.extra.weight".into(),
        Tensor::zeros([2], (Kind::Float, cpu())),
    );
    ck.insert(
        "decoder.output_net.weight".into(),
        Tensor::zeros([7], (Kind::Float, cpu())),
    );
    write_checkpoint(dir.path(), &cfg, &ck);
    let err = load_err(dir.path());
    assert!(
        err.contains("1 missing: encoder.blocks.1.ffn.w1.weight"),
        "{err}"
    );
    assert!(
        err.contains("1 unexpected: encoder.blocks.0.extra.weight"),
        "{err}"
    );
    assert!(
        err.contains("decoder.output_net.weight: found [7], expected [128]"),
        "{err}"
    );

    std::fs::remove_file(dir.path().join("model.safetensors")).expect("rm");
    assert!(load_err(dir.path()).contains("*.safetensors"));
    std::fs::write(dir.path().join("config.json"), r#"{"model_type": "t5"}"#).expect("cfg");
    assert!(load_err(dir.path()).contains("model_type"));
}

#[test]
fn fused_and_bf16_checkpoints_load_to_the_same_model() {
    let cfg = tiny();
    let ck = WeightMap::random_checkpoint(&cfg, 3, 0.05);
    let plain = tempfile::tempdir().expect("tmp");
    write_checkpoint(plain.path(), &cfg, &ck);

    // q/k/v fused, cross k/v fused, stored in bf16, with num_batches_tracked dropped.
    let mut fused: BTreeMap<String, Tensor> = BTreeMap::new();
    for (k, v) in &ck {
        if k.ends_with("num_batches_tracked") {
            continue;
        }
        fused.insert(k.clone(), v.to_kind(Kind::BFloat16));
    }
    for stack in ["encoder", "decoder"] {
        for i in 0..cfg.num_hidden_layers {
            let sa = format!("{stack}.blocks.{i}.self_attention");
            let parts: Vec<Tensor> = ["q", "k", "v"]
                .iter()
                .map(|p| fused.remove(&format!("{sa}.{p}.weight")).expect("qkv"))
                .collect();
            fused.insert(format!("{sa}.qkv.weight"), Tensor::cat(&parts, 0));
        }
    }
    for i in 0..cfg.num_hidden_layers {
        let ca = format!("decoder.blocks.{i}.cross_attention");
        let parts: Vec<Tensor> = ["k", "v"]
            .iter()
            .map(|p| fused.remove(&format!("{ca}.{p}.weight")).expect("kv"))
            .collect();
        fused.insert(format!("{ca}.kv.weight"), Tensor::cat(&parts, 0));
    }
    let other = tempfile::tempdir().expect("tmp");
    write_checkpoint(other.path(), &cfg, &fused);

    let a = TiltModel::load(plain.path(), cpu(), Precision::F32).expect("plain");
    let b = TiltModel::load(other.path(), cpu(), Precision::F32).expect("fused bf16");
    let mem = Tensor::randn([20, 128], (Kind::Float, cpu()));
    let la = a.decode(
        &mut a.start_decoding(&[mem.shallow_clone()]),
        &Tensor::from_slice(&[0i64]).view([1, 1]),
    );
    let lb = b.decode(
        &mut b.start_decoding(&[mem]),
        &Tensor::from_slice(&[0i64]).view([1, 1]),
    );
    // bf16 storage rounds the weights: same model, small differences.
    assert!(cos_sim(&la, &lb) > 0.999, "cos {}", cos_sim(&la, &lb));
}

fn tiny_model(seed: u64, precision: Precision) -> (tempfile::TempDir, TiltModel) {
    let cfg = tiny();
    let dir = tempfile::tempdir().expect("tmp");
    write_model(dir.path(), &cfg, seed, 0.05);
    let m = TiltModel::load(dir.path(), cpu(), precision).expect("load");
    (dir, m)
}

#[test]
fn kv_cached_decoding_equals_full_recomputation() {
    let (_d, m) = tiny_model(5, Precision::F32);
    tch::manual_seed(1);
    let mem = Tensor::randn([33, 128], (Kind::Float, cpu()));
    // 140 tokens: past the decoder LUT's 128 distances.
    let toks: Vec<i64> = (0..140).map(|i| (i * 37 % 250 + 2) as i64).collect();
    let full = m.decode(
        &mut m.start_decoding(&[mem.shallow_clone()]),
        &Tensor::from_slice(&toks).view([1, -1]),
    );
    assert_eq!(full.size(), vec![1, 140, 256]);
    let mut state = m.start_decoding(&[mem]);
    for (t, &tok) in toks.iter().enumerate() {
        let step = m.decode(&mut state, &Tensor::from_slice(&[tok]).view([1, 1]));
        let diff = max_abs_diff(&step.view([-1]), &full.get(0).get(t as i64));
        assert!(diff <= 1e-5, "position {t}: {diff}");
    }
    assert_eq!(state.len, 140);
}

#[test]
fn batched_greedy_equals_one_at_a_time() {
    let (_d, m) = tiny_model(9, Precision::F32);
    tch::manual_seed(2);
    let mems: Vec<Tensor> = [12i64, 40, 7]
        .iter()
        .map(|&n| Tensor::randn([n, 128], (Kind::Float, cpu())))
        .collect();
    let max = [10usize, 4, 0];
    let batch = greedy(&m, &mems, &max);
    for (i, mem) in mems.iter().enumerate() {
        let one = greedy(&m, &[mem.shallow_clone()], &[max[i]]).remove(0);
        assert_eq!(batch[i].ids, one.ids, "sequence {i}");
        for (a, b) in batch[i].logprobs.iter().zip(&one.logprobs) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
        assert!(batch[i].ids.len() <= max[i]);
    }
    assert!(batch[2].ids.is_empty());
}

#[test]
fn bf16_tracks_fp32() {
    let (_a, f32m) = tiny_model(11, Precision::F32);
    let (_b, bf) = tiny_model(11, Precision::Bf16);
    let (_, g) = golden();
    let fa = f32m.page_features(&g["images"]);
    let fb = bf.page_features(&g["images"]);
    assert!(cos_sim(&fa, &fb) > 0.99, "U-Net cos {}", cos_sim(&fa, &fb));
    tch::manual_seed(3);
    let mem = Tensor::randn([30, 128], (Kind::Float, cpu()));
    let toks = Tensor::from_slice(&[0i64, 5, 9, 77]).view([1, -1]);
    let la = f32m.decode(&mut f32m.start_decoding(&[mem.shallow_clone()]), &toks);
    let lb = bf.decode(&mut bf.start_decoding(&[mem]), &toks);
    assert!(cos_sim(&la, &lb) > 0.99, "logits cos {}", cos_sim(&la, &lb));
    assert!(
        max_abs_diff(&la, &lb) < 5e-2,
        "logits diff {}",
        max_abs_diff(&la, &lb)
    );
}

fn receipt(pages: usize) -> OcrDocument {
    let word = |t: &str, b| DocWord {
        text: t.into(),
        bbox: b,
        conf: 1.0,
    };
    OcrDocument {
        pages: (0..pages)
            .map(|i| {
                let mut words = vec![
                    word("Total", [100.0, 200.0, 220.0, 230.0]),
                    word("56.00", [230.0, 200.0, 340.0, 230.0]),
                    word("date 2024-03-01", [100.0, 260.0, 400.0, 290.0]),
                ];
                for k in 0..40 {
                    let y = 300.0 + k as f32 * 20.0;
                    words.push(word("item abc 1.50", [100.0, y, 420.0, y + 16.0]));
                }
                DocPage::from_words(i, 1000, 1400, PageSource::Ocr, words)
            })
            .collect(),
    }
}

fn model_dir(seed: u64) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    write_model(dir.path(), &tiny(), seed, 0.05);
    write_tokenizer(dir.path(), 256);
    dir
}

#[test]
fn documents_are_chunked_and_answered() {
    let dir = model_dir(13);
    let tilt = Tilt::load(dir.path(), Some(cpu()), None).expect("tilt");
    assert_eq!(tilt.model.precision, Precision::F32);
    let doc = receipt(3);
    let img = image::RgbImage::from_pixel(500, 700, image::Rgb([255, 255, 255]));
    let prepared = tilt
        .prepare(&doc, &[Some(img), None, None])
        .expect("prepare");
    let n = prepared.tokens.ids.len();
    assert!(n > 3 * 64, "{n} tokens must need several chunks");
    let f = prepared.features.as_ref().expect("features");
    assert_eq!(f.size()[0], 3);
    let q = "What is the total amount?";
    let memory = tilt.encode(&prepared, q).expect("encode");
    let p = tilt_prep::tilt_input::question_prefix(&tilt.tokenizer, q, &tilt.model.cfg.prep())
        .expect("prefix")
        .ids
        .len();
    assert_eq!(memory.size(), vec![(p + n) as i64, 128]);
    let answers = tilt
        .answer(&[(&prepared, q, 6), (&prepared, "date", 6)])
        .expect("answers");
    assert_eq!(answers.len(), 2);
    for a in &answers {
        assert!(a.generation.ids.len() <= 6);
        assert!(a.score > 0.0 && a.score <= 1.0);
    }
    // Deterministic: the same request gives the same answer.
    let again = tilt.answer(&[(&prepared, q, 6)]).expect("again");
    assert_eq!(again[0].generation.ids, answers[0].generation.ids);

    let long = "what ".repeat(40);
    let err = tilt
        .encode(&prepared, &long)
        .expect_err("question too long")
        .to_string();
    assert!(
        err.contains("more than maximum permitted length 32"),
        "{err}"
    );
    let empty = OcrDocument {
        pages: vec![DocPage::from_words(0, 100, 100, PageSource::Ocr, vec![])],
    };
    assert!(tilt.prepare(&empty, &[]).is_err());
}

#[test]
fn engine_batches_concurrent_requests_and_isolates_bad_questions() {
    let dir = model_dir(17);
    let engine = TiltEngine::load(dir.path(), Some(cpu()), None, 16, 8).expect("engine");
    assert_eq!(engine.info.dtype, "float32");
    assert!(engine.info.device.starts_with("cpu"));
    let req = |qs: Vec<String>| TiltRequest {
        doc: receipt(1),
        images: vec![],
        questions: qs,
        max_tokens: 5,
    };
    let direct = engine.run_blocking(req(vec!["total".into()])).expect("one");
    // Four requests queued back to back: the first starts at once, the others wait and are
    // decoded together in the next batch.
    let receivers: Vec<_> = (0..4)
        .map(|i| {
            let qs = if i == 3 {
                vec!["total".into(), "what ".repeat(40)]
            } else {
                vec!["total".into()]
            };
            let (tx, rx) = std::sync::mpsc::channel();
            engine
                .submit(req(qs), move |r| {
                    let _ = tx.send(r);
                })
                .expect("queued");
            rx
        })
        .collect();
    let results: Vec<_> = receivers
        .into_iter()
        .map(|rx| rx.recv().expect("reply").expect("request"))
        .collect();
    let want = &direct.answers[0].as_ref().expect("direct").generation.ids;
    for r in &results {
        assert_eq!(&r.answers[0].as_ref().expect("answer").generation.ids, want);
    }
    assert!(
        results[3].answers[1]
            .as_ref()
            .is_err_and(|e| e.contains("maximum permitted length"))
    );
    let biggest = results.iter().map(|r| r.batch_size).max().unwrap_or(0);
    assert!(biggest >= 2, "no request was batched with another");
    let bad = tempfile::tempdir().expect("tmp");
    let err = TiltEngine::load(bad.path(), Some(cpu()), None, 4, 4).expect_err("no model");
    assert!(matches!(err, TiltError::MissingFile { .. }), "{err}");
}
