//! The rewrites on a small model built here, checked against ONNX Runtime running the model as
//! it was written.

use super::wire;
use super::*;

/// Writes ONNX protobuf messages for the test models.
#[derive(Default)]
struct ModelBuilder {
    graph: Vec<u8>,
}

fn tensor_bytes(name: &str, dims: &[i64], data: &[f32]) -> Vec<u8> {
    encode_tensor(
        name,
        &Tensor {
            dims: dims.to_vec(),
            data: data.to_vec(),
        },
    )
}

fn value_info(name: &str, dims: &[i64]) -> Vec<u8> {
    let mut shape = Vec::new();
    for &d in dims {
        let mut dim = Vec::new();
        wire::put_uint(&mut dim, 1, d as u64);
        wire::put_bytes(&mut shape, 1, &dim);
    }
    let mut tensor_type = Vec::new();
    wire::put_uint(&mut tensor_type, 1, DATA_TYPE_FLOAT);
    wire::put_bytes(&mut tensor_type, 2, &shape);
    let mut ty = Vec::new();
    wire::put_bytes(&mut ty, 1, &tensor_type);
    let mut vi = Vec::new();
    wire::put_str(&mut vi, VALUE_INFO_NAME, name);
    wire::put_bytes(&mut vi, 2, &ty);
    vi
}

impl ModelBuilder {
    fn input(&mut self, name: &str, dims: &[i64]) -> &mut Self {
        wire::put_bytes(&mut self.graph, GRAPH_INPUT, &value_info(name, dims));
        self
    }

    fn output(&mut self, name: &str, dims: &[i64]) -> &mut Self {
        wire::put_bytes(&mut self.graph, GRAPH_OUTPUT, &value_info(name, dims));
        self
    }

    fn initializer(&mut self, name: &str, dims: &[i64], data: &[f32]) -> &mut Self {
        wire::put_bytes(
            &mut self.graph,
            GRAPH_INITIALIZER,
            &tensor_bytes(name, dims, data),
        );
        self
    }

    /// A `Constant` node, as PaddlePaddle's exporter writes weights.
    fn constant(&mut self, name: &str, dims: &[i64], data: &[f32]) -> &mut Self {
        let mut attr = Vec::new();
        wire::put_str(&mut attr, ATTR_NAME, "value");
        wire::put_bytes(&mut attr, ATTR_T, &tensor_bytes(name, dims, data));
        wire::put_uint(&mut attr, ATTR_TYPE, 4);
        let mut node = Vec::new();
        wire::put_str(&mut node, NODE_OUTPUT, name);
        wire::put_str(&mut node, NODE_OP_TYPE, "Constant");
        wire::put_bytes(&mut node, NODE_ATTRIBUTE, &attr);
        wire::put_bytes(&mut self.graph, GRAPH_NODE, &node);
        self
    }

    /// A node; `ints` are INTS attributes (pads, group as a one-element list is not valid,
    /// so `group` goes through `int_attrs`).
    fn node(
        &mut self,
        op: &str,
        inputs: &[&str],
        output: &str,
        ints: &[(&str, &[i64])],
        int_attrs: &[(&str, i64)],
    ) -> &mut Self {
        let mut node = Vec::new();
        for i in inputs {
            wire::put_str(&mut node, NODE_INPUT, i);
        }
        wire::put_str(&mut node, NODE_OUTPUT, output);
        wire::put_str(&mut node, NODE_NAME, output);
        wire::put_str(&mut node, NODE_OP_TYPE, op);
        for (name, values) in ints {
            let mut attr = Vec::new();
            wire::put_str(&mut attr, ATTR_NAME, name);
            for &v in *values {
                wire::put_uint(&mut attr, ATTR_INTS, v as u64);
            }
            wire::put_uint(&mut attr, ATTR_TYPE, 7);
            wire::put_bytes(&mut node, NODE_ATTRIBUTE, &attr);
        }
        for (name, v) in int_attrs {
            let mut attr = Vec::new();
            wire::put_str(&mut attr, ATTR_NAME, name);
            wire::put_uint(&mut attr, 3, *v as u64);
            wire::put_uint(&mut attr, ATTR_TYPE, 2);
            wire::put_bytes(&mut node, NODE_ATTRIBUTE, &attr);
        }
        wire::put_bytes(&mut self.graph, GRAPH_NODE, &node);
        self
    }

    fn model(&self) -> Vec<u8> {
        let mut opset = Vec::new();
        wire::put_str(&mut opset, 1, "");
        wire::put_uint(&mut opset, 2, 13);
        let mut prop = Vec::new();
        wire::put_str(&mut prop, 1, "character");
        wire::put_str(&mut prop, 2, "abc");
        let mut out = Vec::new();
        wire::put_uint(&mut out, 1, 8);
        wire::put_bytes(&mut out, 8, &opset);
        wire::put_bytes(&mut out, MODEL_GRAPH, &self.graph);
        wire::put_bytes(&mut out, 14, &prop);
        out
    }
}

/// Deterministic values in [-1, 1).
fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

/// conv (padded) → affine → hard-swish → affine → 1×1 conv → relu → affine → padded
/// depthwise conv: every rewrite has one place to apply, and the last affine must stay.
fn backbone_like() -> Vec<u8> {
    let mut b = ModelBuilder::default();
    b.input("x", &[1, 2, 6, 6])
        .constant("w1", &[4, 2, 3, 3], &values(72, 1))
        .constant("b1", &[4], &values(4, 2))
        .initializer("s1", &[1], &[1.38])
        .initializer("t1", &[], &[0.59])
        .initializer("three", &[1], &[3.0])
        .initializer("zero", &[], &[0.0])
        .initializer("six", &[], &[6.0])
        .initializer("six1", &[1], &[6.0])
        .initializer("s2", &[1], &[0.17])
        .initializer("t2", &[1], &[-0.25])
        .initializer("w2", &[3, 4, 1, 1], &values(12, 3))
        .initializer("b2", &[3], &values(3, 4))
        .initializer("s3", &[1], &[1.7])
        .initializer("t3", &[1], &[0.4])
        .initializer("w3", &[3, 1, 3, 3], &values(27, 5))
        .node(
            "Conv",
            &["x", "w1", "b1"],
            "y1",
            &[("pads", &[1, 1, 1, 1])],
            &[],
        )
        .node("Mul", &["y1", "s1"], "m1", &[], &[])
        .node("Add", &["m1", "t1"], "a1", &[], &[])
        .node("Add", &["a1", "three"], "h1", &[], &[])
        .node("Clip", &["h1", "zero", "six"], "h2", &[], &[])
        .node("Mul", &["a1", "h2"], "h3", &[], &[])
        .node("Div", &["h3", "six1"], "hs", &[], &[])
        .node("Mul", &["s2", "hs"], "m2", &[], &[])
        .node("Add", &["m2", "t2"], "a2", &[], &[])
        .node("Conv", &["a2", "w2", "b2"], "y2", &[], &[])
        .node("Relu", &["y2"], "r", &[], &[])
        .node("Mul", &["r", "s3"], "m3", &[], &[])
        .node("Add", &["t3", "m3"], "a3", &[], &[])
        .node(
            "Conv",
            &["a3", "w3"],
            "y",
            &[("pads", &[1, 1, 1, 1])],
            &[("group", 3)],
        )
        .output("y", &[1, 3, 6, 6]);
    b.model()
}

fn run(model: &[u8], input: &[f32]) -> Vec<f32> {
    let env = crate::session::environment(None).expect("ONNX Runtime (run scripts/setup)");
    let mut session = ort::session::Session::builder(env)
        .expect("builder")
        .with_intra_threads(1)
        .expect("threads")
        .commit_from_memory(model)
        .expect("session");
    let x = ort::value::TensorRef::from_array_view(([1usize, 2, 6, 6], input)).expect("input");
    let out = session.run(ort::inputs![x]).expect("run");
    let (_, data) = out[0].try_extract_tensor::<f32>().expect("output");
    data.to_vec()
}

fn ops(model: &[u8]) -> Vec<String> {
    let fields = wire::parse(model).expect("model");
    let graph = fields
        .iter()
        .find(|f| f.num == MODEL_GRAPH)
        .and_then(Field::bytes)
        .expect("graph");
    Graph::parse(graph)
        .expect("graph")
        .nodes
        .into_iter()
        .map(|n| n.op)
        .collect()
}

#[test]
fn rewrites_apply_once_each_and_keep_the_output() {
    let model = backbone_like();
    let (fused, report) = fuse_model(&model).expect("fuse");
    assert_eq!(
        report,
        FuseReport {
            conv_affine: 1,
            hard_swish: 1,
            affine_conv: 1,
        }
    );
    let fused = fused.expect("rewritten");
    let ops = ops(&fused);
    assert_eq!(
        ops,
        [
            "Conv",
            "HardSigmoid",
            "Mul",
            "Conv",
            "Relu",
            "Mul",
            "Add",
            "Conv"
        ],
        "the folded Mul/Add, Clip, Div and the unused Constant nodes are gone; the affine \
         in front of the padded conv stays"
    );
    let x = values(72, 9);
    let want = run(&model, &x);
    let got = run(&fused, &x);
    assert_eq!(want.len(), got.len());
    let worst = want
        .iter()
        .zip(&got)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-5, "largest difference {worst}");
    assert!(
        want.iter().any(|v| v.abs() > 0.1),
        "the model computes something"
    );
}

#[test]
fn model_fields_outside_the_graph_are_kept() {
    let model = backbone_like();
    let (fused, _) = fuse_model(&model).expect("fuse");
    let fused = fused.expect("rewritten");
    let before = wire::parse(&model).expect("model");
    let after = wire::parse(&fused).expect("model");
    fn others<'a>(fs: &[Field<'a>]) -> Vec<(u32, Value<'a>)> {
        fs.iter()
            .filter(|f| f.num != MODEL_GRAPH)
            .map(|f| (f.num, f.value))
            .collect()
    }
    assert_eq!(others(&before), others(&after));
}

#[test]
fn a_model_without_the_patterns_is_left_alone() {
    let mut b = ModelBuilder::default();
    b.input("x", &[1, 2, 6, 6])
        .initializer("s", &[1], &[2.0])
        .node("Mul", &["x", "s"], "m", &[], &[])
        .node("Relu", &["m"], "y", &[], &[])
        .output("y", &[1, 2, 6, 6]);
    let (fused, report) = fuse_model(&b.model()).expect("fuse");
    assert!(fused.is_none());
    assert_eq!(report.total(), 0);
}

/// `Conv → Mul(s) → Add(t)` with a scale of shape `scale_dims`; `outputs` are handed out.
fn conv_affine(scale_dims: &[i64], outputs: &[&str]) -> ModelBuilder {
    let mut b = ModelBuilder::default();
    b.input("x", &[1, 2, 6, 6])
        .initializer("w", &[2, 2, 1, 1], &values(4, 1))
        .initializer("s", scale_dims, &[2.0])
        .initializer("t", &[1], &[1.0])
        .node("Conv", &["x", "w"], "y", &[], &[])
        .node("Mul", &["y", "s"], "m", &[], &[])
        .node("Add", &["m", "t"], "z", &[], &[]);
    for o in outputs {
        b.output(o, &[1, 2, 6, 6]);
    }
    b
}

#[test]
fn an_affine_the_graph_hands_out_is_not_folded() {
    // `m` is a graph output: the Mul after the conv must stay.
    let (fused, report) = fuse_model(&conv_affine(&[1], &["m", "z"]).model()).expect("fuse");
    assert!(fused.is_none(), "{report:?}");
}

#[test]
fn scalars_of_higher_rank_or_models_with_subgraphs_are_left_alone() {
    // A [1, 1, 1, 1] "scalar" could broadcast a lower-rank tensor up: not folded.
    let b = conv_affine(&[1, 1, 1, 1], &["z"]);
    assert!(fuse_model(&b.model()).expect("fuse").0.is_none());

    // The same pattern with a [1] scale folds, unless a node holds a subgraph.
    let mut b = conv_affine(&[1], &["z"]);
    assert_eq!(fuse_model(&b.model()).expect("fuse").1.conv_affine, 1);
    let mut attr = Vec::new();
    wire::put_str(&mut attr, ATTR_NAME, "then_branch");
    wire::put_bytes(&mut attr, ATTR_G, &[]);
    let mut node = Vec::new();
    wire::put_str(&mut node, NODE_INPUT, "cond");
    wire::put_str(&mut node, NODE_OUTPUT, "branch");
    wire::put_str(&mut node, NODE_OP_TYPE, "If");
    wire::put_bytes(&mut node, NODE_ATTRIBUTE, &attr);
    wire::put_bytes(&mut b.graph, GRAPH_NODE, &node);
    let (fused, report) = fuse_model(&b.model()).expect("fuse");
    assert!(fused.is_none() && report.total() == 0);
}

#[test]
fn unreadable_models_are_errors() {
    assert!(fuse_model(b"not a model at all").is_err());
    assert!(fuse_model(&[]).is_err(), "no graph");
    let mut truncated = backbone_like();
    truncated.truncate(truncated.len() / 2);
    assert!(fuse_model(&truncated).is_err());
}
