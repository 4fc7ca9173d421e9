//! Exact rewrites of an ONNX graph that ONNX Runtime does not make itself, applied to the model
//! bytes before a session is built.
//!
//! PaddlePaddle's exporter writes PP-OCRv4's PPLCNetV3 backbone (det and rec) with every
//! activation spelled out: a conv, then a learnable scalar affine (`Mul`, `Add`), a hard-swish
//! as `Add(3) → Clip(0, 6) → Mul → Div(6)`, and a second scalar affine. ONNX Runtime fuses
//! none of that into the conv, so each conv costs five extra passes over its output and, worse,
//! breaks its blocked (NCHWc) conv chain with layout reorders. Measured with ORT's profiler on
//! the v4 rec model: element-wise ops and reorders took about half of the model's time.
//!
//! Three rewrites, each exact up to float rounding (outputs agree to ~1e-5):
//! - `Conv → Mul(s) → Add(t)` (scalars): the conv's weights become `s·W`, its bias `s·B + t`.
//! - `x · Clip(x + 3, 0, 6) / 6` becomes `x · HardSigmoid(x)` with α = 1/6, β = ½, which ONNX
//!   Runtime fuses into the conv in front of it as one hard-swish activation.
//! - `Mul(s) → Add(t)` (scalars) read only by unpadded convs: folded into each of them,
//!   `s·W` and `B + t·ΣW` (ΣW over each output channel's kernel). Padded convs are left alone:
//!   their zero border would become `t`.
//!
//! Anything the rewrites do not touch (other fields, unknown fields, metadata such as the rec
//! dictionary) is written back as read. A model with nothing to rewrite is left as it is.

mod wire;

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use wire::{Field, Value};

/// Why a model could not be read for rewriting.
#[derive(Debug, thiserror::Error)]
pub enum FuseError {
    #[error("not a readable ONNX model: {0}")]
    Malformed(String),
}

/// How many of each rewrite a model got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct FuseReport {
    /// `Conv → Mul → Add` folded into the conv.
    pub conv_affine: usize,
    /// Hard-swish written as `x · HardSigmoid(x)`.
    pub hard_swish: usize,
    /// `Mul → Add` folded into the unpadded convs that read it.
    pub affine_conv: usize,
}

impl FuseReport {
    pub fn total(&self) -> usize {
        self.conv_affine + self.hard_swish + self.affine_conv
    }
}

/// Rewrites a serialized ONNX model. Returns the new bytes, or `None` when nothing matched
/// (the model is then best loaded as it is), with what was done.
pub fn fuse_model(model: &[u8]) -> Result<(Option<Vec<u8>>, FuseReport), FuseError> {
    let fields = wire::parse(model)?;
    let graph_bytes = fields
        .iter()
        .find(|f| f.num == MODEL_GRAPH)
        .and_then(Field::bytes)
        .ok_or_else(|| FuseError::Malformed("the model has no graph".into()))?;
    let mut graph = Graph::parse(graph_bytes)?;
    if graph.has_subgraphs()? {
        // Subgraphs (If, Loop, Scan) may read any outer name unseen by `readers`.
        return Ok((None, FuseReport::default()));
    }
    let report = FuseReport {
        conv_affine: graph.fold_conv_affine()?,
        hard_swish: graph.hard_swish()?,
        affine_conv: graph.fold_affine_into_convs()?,
    };
    if report.total() == 0 {
        return Ok((None, report));
    }
    let new_graph = graph.encode()?;
    let mut out = Vec::with_capacity(model.len() + model.len() / 4);
    for f in &fields {
        if f.num == MODEL_GRAPH {
            wire::put_bytes(&mut out, MODEL_GRAPH, &new_graph);
        } else {
            wire::put_field(&mut out, f);
        }
    }
    Ok((Some(out), report))
}

// Field numbers of onnx.proto.
const MODEL_GRAPH: u32 = 7;
const GRAPH_NODE: u32 = 1;
const GRAPH_INITIALIZER: u32 = 5;
const GRAPH_INPUT: u32 = 11;
const GRAPH_OUTPUT: u32 = 12;
const VALUE_INFO_NAME: u32 = 1;
const NODE_INPUT: u32 = 1;
const NODE_OUTPUT: u32 = 2;
const NODE_NAME: u32 = 3;
const NODE_OP_TYPE: u32 = 4;
const NODE_ATTRIBUTE: u32 = 5;
const NODE_DOMAIN: u32 = 7;
const ATTR_NAME: u32 = 1;
const ATTR_F: u32 = 2;
const ATTR_S: u32 = 4;
const ATTR_T: u32 = 5;
const ATTR_G: u32 = 6;
const ATTR_GRAPHS: u32 = 11;
const ATTR_INTS: u32 = 8;
const ATTR_TYPE: u32 = 20;
const ATTR_TYPE_FLOAT: u64 = 1;
const TENSOR_DIMS: u32 = 1;
const TENSOR_DATA_TYPE: u32 = 2;
const TENSOR_FLOAT_DATA: u32 = 4;
const TENSOR_NAME: u32 = 8;
const TENSOR_RAW_DATA: u32 = 9;
const TENSOR_DATA_LOCATION: u32 = 14;
const DATA_TYPE_FLOAT: u64 = 1;
const DATA_LOCATION_EXTERNAL: u64 = 1;

/// A float tensor read out of the model.
#[derive(Debug, Clone, PartialEq)]
struct Tensor {
    dims: Vec<i64>,
    data: Vec<f32>,
}

/// Decodes a `TensorProto` holding floats; `None` for other types or external data.
fn decode_tensor(bytes: &[u8]) -> Result<Option<Tensor>, FuseError> {
    let fields = wire::parse(bytes)?;
    let data_type = fields
        .iter()
        .find(|f| f.num == TENSOR_DATA_TYPE)
        .and_then(Field::varint);
    let external = fields
        .iter()
        .any(|f| f.num == TENSOR_DATA_LOCATION && f.varint() == Some(DATA_LOCATION_EXTERNAL));
    if data_type != Some(DATA_TYPE_FLOAT) || external {
        return Ok(None);
    }
    let dims: Vec<i64> = wire::varints(&fields, TENSOR_DIMS)?
        .into_iter()
        .map(|d| d as i64)
        .collect();
    let count = dims.iter().try_fold(1usize, |n, &d| {
        usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
    });
    let count = count.ok_or_else(|| FuseError::Malformed(format!("tensor dims {dims:?}")))?;
    let mut data = Vec::new();
    if let Some(raw) = fields
        .iter()
        .find(|f| f.num == TENSOR_RAW_DATA)
        .and_then(Field::bytes)
    {
        data.extend(
            raw.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    } else {
        for f in fields.iter().filter(|f| f.num == TENSOR_FLOAT_DATA) {
            match f.value {
                Value::Fixed32(v) => data.push(f32::from_bits(v)),
                Value::Bytes(b) => data.extend(
                    b.chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                ),
                _ => return Err(FuseError::Malformed("float_data is not fixed32".into())),
            }
        }
    }
    if data.len() != count {
        return Err(FuseError::Malformed(format!(
            "tensor of dims {dims:?} holds {} values",
            data.len()
        )));
    }
    Ok(Some(Tensor { dims, data }))
}

fn encode_tensor(name: &str, t: &Tensor) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.data.len() * 4 + name.len() + 16);
    for &d in &t.dims {
        wire::put_uint(&mut out, TENSOR_DIMS, d as u64);
    }
    wire::put_uint(&mut out, TENSOR_DATA_TYPE, DATA_TYPE_FLOAT);
    wire::put_str(&mut out, TENSOR_NAME, name);
    let raw: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    wire::put_bytes(&mut out, TENSOR_RAW_DATA, &raw);
    out
}

/// One node: what the rewrites match on, plus its other fields (name, attributes, doc
/// string, ...) as encoded bytes.
#[derive(Debug, Clone)]
struct Node<'a> {
    op: String,
    domain: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// `AttributeProto`s as read (empty for nodes made here).
    attrs: Vec<&'a [u8]>,
    /// Every field but inputs and outputs, encoded.
    rest: Vec<u8>,
}

impl<'a> Node<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, FuseError> {
        let fields = wire::parse(bytes)?;
        let text = |f: &Field<'a>| {
            f.string()
                .map(str::to_string)
                .ok_or_else(|| FuseError::Malformed(format!("node field {} is not text", f.num)))
        };
        let mut node = Node {
            op: String::new(),
            domain: String::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            attrs: Vec::new(),
            rest: Vec::new(),
        };
        for f in &fields {
            match f.num {
                NODE_INPUT => node.inputs.push(text(f)?),
                NODE_OUTPUT => node.outputs.push(text(f)?),
                _ => {
                    match f.num {
                        NODE_OP_TYPE => node.op = text(f)?,
                        NODE_DOMAIN => node.domain = text(f)?,
                        NODE_ATTRIBUTE => node.attrs.extend(f.bytes()),
                        _ => {}
                    }
                    wire::put_field(&mut node.rest, f);
                }
            }
        }
        Ok(node)
    }

    /// A new node of the default domain.
    fn new(op: &str, name: &str, inputs: Vec<String>, outputs: Vec<String>) -> Self {
        let mut rest = Vec::new();
        wire::put_str(&mut rest, NODE_NAME, name);
        wire::put_str(&mut rest, NODE_OP_TYPE, op);
        Node {
            op: op.to_string(),
            domain: String::new(),
            inputs,
            outputs,
            attrs: Vec::new(),
            rest,
        }
    }

    fn with_float_attr(mut self, name: &str, v: f32) -> Self {
        let mut attr = Vec::new();
        wire::put_str(&mut attr, ATTR_NAME, name);
        wire::put_f32(&mut attr, ATTR_F, v);
        wire::put_uint(&mut attr, ATTR_TYPE, ATTR_TYPE_FLOAT);
        wire::put_bytes(&mut self.rest, NODE_ATTRIBUTE, &attr);
        self
    }

    fn is(&self, op: &str) -> bool {
        self.op == op && (self.domain.is_empty() || self.domain == "ai.onnx")
    }

    /// The fields of the attribute called `name`.
    fn attr(&self, name: &str) -> Result<Option<Vec<Field<'a>>>, FuseError> {
        for a in &self.attrs {
            let fields = wire::parse(a)?;
            if fields
                .iter()
                .any(|f| f.num == ATTR_NAME && f.string() == Some(name))
            {
                return Ok(Some(fields));
            }
        }
        Ok(None)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        for i in &self.inputs {
            wire::put_str(out, NODE_INPUT, i);
        }
        for o in &self.outputs {
            wire::put_str(out, NODE_OUTPUT, o);
        }
        out.extend_from_slice(&self.rest);
    }
}

fn attr_f32(fields: &[Field<'_>]) -> Option<f32> {
    fields.iter().find_map(|f| match (f.num, f.value) {
        (ATTR_F, Value::Fixed32(v)) => Some(f32::from_bits(v)),
        _ => None,
    })
}

#[derive(Debug)]
struct Graph<'a> {
    /// Graph fields other than nodes and initializers, as read.
    other: Vec<Field<'a>>,
    nodes: Vec<Node<'a>>,
    /// Initializers as read, with their names.
    initializers: Vec<(String, &'a [u8])>,
    /// Constant values by name: initializers and `Constant` nodes (`TensorProto` bytes).
    constants: HashMap<String, &'a [u8]>,
    /// Tensors made by the rewrites, written as initializers.
    made: Vec<(String, Tensor)>,
    made_index: HashMap<String, usize>,
    /// Names the graph hands out or takes in; never removed or renamed.
    boundary: HashSet<String>,
}

impl<'a> Graph<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, FuseError> {
        let mut g = Graph {
            other: Vec::new(),
            nodes: Vec::new(),
            initializers: Vec::new(),
            constants: HashMap::new(),
            made: Vec::new(),
            made_index: HashMap::new(),
            boundary: HashSet::new(),
        };
        for f in wire::parse(bytes)? {
            match (f.num, f.value) {
                (GRAPH_NODE, Value::Bytes(b)) => g.nodes.push(Node::parse(b)?),
                (GRAPH_INITIALIZER, Value::Bytes(b)) => {
                    let name = wire::parse(b)?
                        .iter()
                        .find(|f| f.num == TENSOR_NAME)
                        .and_then(Field::string)
                        .unwrap_or_default()
                        .to_string();
                    g.constants.insert(name.clone(), b);
                    g.initializers.push((name, b));
                }
                (GRAPH_INPUT | GRAPH_OUTPUT, Value::Bytes(b)) => {
                    if let Some(name) = wire::parse(b)?
                        .iter()
                        .find(|f| f.num == VALUE_INFO_NAME)
                        .and_then(Field::string)
                    {
                        g.boundary.insert(name.to_string());
                    }
                    g.other.push(f);
                }
                _ => g.other.push(f),
            }
        }
        let mut constant_nodes = Vec::new();
        for n in &g.nodes {
            if n.is("Constant")
                && n.outputs.len() == 1
                && let Some(t) = n.attr("value")?
                && let Some(b) = t.iter().find(|f| f.num == ATTR_T).and_then(Field::bytes)
            {
                constant_nodes.push((n.outputs[0].clone(), b));
            }
        }
        g.constants.extend(constant_nodes);
        Ok(g)
    }

    /// Whether a node carries a graph attribute (`g` or `graphs`).
    fn has_subgraphs(&self) -> Result<bool, FuseError> {
        for n in &self.nodes {
            for a in &n.attrs {
                if wire::parse(a)?
                    .iter()
                    .any(|f| f.num == ATTR_G || f.num == ATTR_GRAPHS)
                {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }

    fn tensor(&self, name: &str) -> Result<Option<Tensor>, FuseError> {
        if let Some(&i) = self.made_index.get(name) {
            return Ok(Some(self.made[i].1.clone()));
        }
        match self.constants.get(name) {
            Some(b) => decode_tensor(b),
            None => Ok(None),
        }
    }

    /// The value of a float constant of shape `[]` or `[1]`: broadcasting it against any
    /// tensor leaves that tensor's shape as it is, so folding it away cannot change a shape.
    fn scalar(&self, name: &str) -> Result<Option<f32>, FuseError> {
        if !self.constants.contains_key(name) && !self.made_index.contains_key(name) {
            return Ok(None);
        }
        Ok(self
            .tensor(name)?
            .filter(|t| t.data.len() == 1 && t.dims.len() <= 1)
            .map(|t| t.data[0]))
    }

    /// For a binary node with `x` as one input: the other input's scalar value.
    fn other_scalar(&self, node: &Node<'_>, x: &str) -> Result<Option<f32>, FuseError> {
        match node.inputs.as_slice() {
            [a, b] if a == x => self.scalar(b),
            [a, b] if b == x => self.scalar(a),
            _ => Ok(None),
        }
    }

    fn is_constant(&self, name: &str) -> bool {
        self.constants.contains_key(name) || self.made_index.contains_key(name)
    }

    /// Which nodes read each name.
    fn readers(&self) -> HashMap<&str, Vec<usize>> {
        let mut r: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for input in &n.inputs {
                r.entry(input.as_str()).or_default().push(i);
            }
        }
        r
    }

    /// The one node that reads `name`, when exactly one does and the graph does not hand it out.
    fn sole_reader(&self, readers: &HashMap<&str, Vec<usize>>, name: &str) -> Option<usize> {
        match readers.get(name).map(Vec::as_slice) {
            Some(&[i]) if !self.boundary.contains(name) => Some(i),
            _ => None,
        }
    }

    fn fresh_name(&self, base: &str) -> String {
        let taken = |n: &str| {
            self.constants.contains_key(n)
                || self.made_index.contains_key(n)
                || self.boundary.contains(n)
                || self.nodes.iter().any(|x| x.outputs.iter().any(|o| o == n))
        };
        let mut name = format!("{base}/fused");
        let mut k = 1;
        while taken(&name) {
            k += 1;
            name = format!("{base}/fused{k}");
        }
        name
    }

    fn add_tensor(&mut self, base: &str, t: Tensor) -> String {
        let name = self.fresh_name(base);
        self.made_index.insert(name.clone(), self.made.len());
        self.made.push((name.clone(), t));
        name
    }

    /// A conv's constant weights `[O, I/group, kh, kw]` and bias (zeros when it has none).
    fn conv_params(&self, conv: &Node<'_>) -> Result<Option<(Tensor, Vec<f32>)>, FuseError> {
        let Some(w) = conv.inputs.get(1) else {
            return Ok(None);
        };
        let Some(w) = self.tensor(w)?.filter(|t| t.dims.len() >= 3) else {
            return Ok(None);
        };
        let out_ch = usize::try_from(w.dims[0]).unwrap_or(0);
        let bias = match conv.inputs.get(2).filter(|b| !b.is_empty()) {
            Some(b) => match self.tensor(b)? {
                Some(t) if t.data.len() == out_ch => t.data,
                _ => return Ok(None),
            },
            None => vec![0.0; out_ch],
        };
        if out_ch == 0 || w.data.len() % out_ch != 0 {
            return Ok(None);
        }
        Ok(Some((w, bias)))
    }

    /// Gives `conv` new weights and bias.
    fn set_conv_params(&mut self, conv: usize, w: Tensor, bias: Vec<f32>) {
        let base = self.nodes[conv]
            .outputs
            .first()
            .cloned()
            .unwrap_or_default();
        let b = Tensor {
            dims: vec![bias.len() as i64],
            data: bias,
        };
        let w_name = self.add_tensor(&format!("{base}/w"), w);
        let b_name = self.add_tensor(&format!("{base}/b"), b);
        let node = &mut self.nodes[conv];
        node.inputs.truncate(1);
        node.inputs.push(w_name);
        node.inputs.push(b_name);
    }

    /// Rebuilds the node list: each index in `replace` is swapped for the nodes given.
    fn splice(&mut self, mut replace: HashMap<usize, Vec<Node<'a>>>) {
        let old = std::mem::take(&mut self.nodes);
        for (i, n) in old.into_iter().enumerate() {
            match replace.remove(&i) {
                Some(new) => self.nodes.extend(new),
                None => self.nodes.push(n),
            }
        }
    }

    /// For a `Mul` node fed by `x`: when it is `x · s` read only by an `Add` of `t` (both
    /// scalars), the `Add`'s index, `s` and `t`.
    fn scalar_affine(
        &self,
        readers: &HashMap<&str, Vec<usize>>,
        mul: &Node<'_>,
        x: &str,
    ) -> Result<Option<(usize, f32, f32)>, FuseError> {
        if !mul.is("Mul") || mul.outputs.len() != 1 {
            return Ok(None);
        }
        let Some(s) = self.other_scalar(mul, x)? else {
            return Ok(None);
        };
        let Some(a) = self.sole_reader(readers, &mul.outputs[0]) else {
            return Ok(None);
        };
        let add = &self.nodes[a];
        if !add.is("Add") {
            return Ok(None);
        }
        Ok(self.other_scalar(add, &mul.outputs[0])?.map(|t| (a, s, t)))
    }

    /// `Conv → Mul(s) → Add(t)` → `Conv(s·W, s·B + t)`.
    fn fold_conv_affine(&mut self) -> Result<usize, FuseError> {
        let mut plans = Vec::new();
        {
            let readers = self.readers();
            for (c, conv) in self.nodes.iter().enumerate() {
                if !conv.is("Conv") || conv.outputs.len() != 1 {
                    continue;
                }
                let y = &conv.outputs[0];
                let Some(m) = self.sole_reader(&readers, y) else {
                    continue;
                };
                let Some((a, s, t)) = self.scalar_affine(&readers, &self.nodes[m], y)? else {
                    continue;
                };
                if let Some(params) = self.conv_params(conv)? {
                    plans.push((c, m, a, s, t, params));
                }
            }
        }
        let count = plans.len();
        let mut replace = HashMap::new();
        for (c, m, a, s, t, (mut w, bias)) in plans {
            w.data.iter_mut().for_each(|v| *v *= s);
            let bias = bias.iter().map(|b| b * s + t).collect();
            self.set_conv_params(c, w, bias);
            self.nodes[c].outputs[0] = self.nodes[a].outputs[0].clone();
            replace.insert(m, Vec::new());
            replace.insert(a, Vec::new());
        }
        self.splice(replace);
        Ok(count)
    }

    /// `x · Clip(x + 3, 0, 6) / 6` → `x · HardSigmoid(x; α = 1/6, β = ½)`.
    fn hard_swish(&mut self) -> Result<usize, FuseError> {
        let mut replace = HashMap::new();
        let mut count = 0;
        let readers = self.readers();
        for (a, add) in self.nodes.iter().enumerate() {
            if !add.is("Add") || add.inputs.len() != 2 {
                continue;
            }
            let x = match (self.scalar(&add.inputs[0])?, self.scalar(&add.inputs[1])?) {
                (None, Some(3.0)) => &add.inputs[0],
                (Some(3.0), None) => &add.inputs[1],
                _ => continue,
            };
            let Some(c) = self.sole_reader(&readers, &add.outputs[0]) else {
                continue;
            };
            let clip = &self.nodes[c];
            if !clip.is("Clip") || clip.inputs.first() != Some(&add.outputs[0]) {
                continue;
            }
            let bound = |k: usize, attr: &str| -> Result<Option<f32>, FuseError> {
                match clip.inputs.get(k).filter(|n| !n.is_empty()) {
                    Some(n) => self.scalar(n),
                    None => Ok(clip.attr(attr)?.as_deref().and_then(attr_f32)),
                }
            };
            if bound(1, "min")? != Some(0.0) || bound(2, "max")? != Some(6.0) {
                continue;
            }
            let Some(m) = self.sole_reader(&readers, &clip.outputs[0]) else {
                continue;
            };
            let mul = &self.nodes[m];
            let pair = |p: &str, q: &str| {
                mul.inputs.len() == 2
                    && ((mul.inputs[0] == p && mul.inputs[1] == q)
                        || (mul.inputs[0] == q && mul.inputs[1] == p))
            };
            if !mul.is("Mul") || !pair(x, &clip.outputs[0]) {
                continue;
            }
            let Some(d) = self.sole_reader(&readers, &mul.outputs[0]) else {
                continue;
            };
            let div = &self.nodes[d];
            if !div.is("Div")
                || div.inputs.len() != 2
                || div.inputs[0] != mul.outputs[0]
                || self.scalar(&div.inputs[1])? != Some(6.0)
            {
                continue;
            }
            let out = div.outputs[0].clone();
            let gate = self.fresh_name(&format!("{out}/hardsigmoid"));
            let sigmoid = Node::new("HardSigmoid", &gate, vec![x.clone()], vec![gate.clone()])
                .with_float_attr("alpha", 1.0 / 6.0)
                .with_float_attr("beta", 0.5);
            let product = Node::new(
                "Mul",
                &format!("{out}/hardswish"),
                vec![x.clone(), gate],
                vec![out],
            );
            replace.insert(a, vec![sigmoid, product]);
            for k in [c, m, d] {
                replace.insert(k, Vec::new());
            }
            count += 1;
        }
        self.splice(replace);
        Ok(count)
    }

    /// `Mul(s) → Add(t)` read only by unpadded convs → each conv takes `s·W`, `B + t·ΣW`.
    fn fold_affine_into_convs(&mut self) -> Result<usize, FuseError> {
        let mut plans = Vec::new();
        {
            let readers = self.readers();
            for (m, mul) in self.nodes.iter().enumerate() {
                if mul.inputs.len() != 2 {
                    continue;
                }
                let x = match (
                    self.is_constant(&mul.inputs[0]),
                    self.is_constant(&mul.inputs[1]),
                ) {
                    (false, true) => &mul.inputs[0],
                    (true, false) => &mul.inputs[1],
                    _ => continue,
                };
                let Some((a, s, t)) = self.scalar_affine(&readers, mul, x)? else {
                    continue;
                };
                let y = &self.nodes[a].outputs[0];
                if self.boundary.contains(y) {
                    continue;
                }
                let Some(readers_of_y) = readers.get(y.as_str()) else {
                    continue;
                };
                let mut convs = Vec::with_capacity(readers_of_y.len());
                for &c in readers_of_y {
                    let conv = &self.nodes[c];
                    let fits = conv.is("Conv")
                        && conv.inputs.first() == Some(y)
                        && !conv.inputs[1..].contains(y)
                        && self.unpadded(conv)?;
                    if !fits {
                        break;
                    }
                    let Some(params) = self.conv_params(conv)? else {
                        break;
                    };
                    convs.push((c, params));
                }
                if convs.len() == readers_of_y.len() {
                    plans.push((m, a, x.clone(), s, t, convs));
                }
            }
        }
        let count = plans.len();
        let mut replace = HashMap::new();
        for (m, a, x, s, t, convs) in plans {
            for (c, (mut w, mut bias)) in convs {
                let per_out = w.data.len() / bias.len();
                for (o, b) in bias.iter_mut().enumerate() {
                    let sum: f32 = w.data[o * per_out..(o + 1) * per_out].iter().sum();
                    *b += t * sum;
                }
                w.data.iter_mut().for_each(|v| *v *= s);
                self.set_conv_params(c, w, bias);
                self.nodes[c].inputs[0] = x.clone();
            }
            replace.insert(m, Vec::new());
            replace.insert(a, Vec::new());
        }
        self.splice(replace);
        Ok(count)
    }

    /// A conv with no padding (explicit zeros or none, and no `auto_pad` but VALID/NOTSET).
    fn unpadded(&self, conv: &Node<'_>) -> Result<bool, FuseError> {
        if let Some(pads) = conv.attr("pads")?
            && wire::varints(&pads, ATTR_INTS)?.iter().any(|&p| p != 0)
        {
            return Ok(false);
        }
        if let Some(auto) = conv.attr("auto_pad")? {
            let mode = auto
                .iter()
                .find(|f| f.num == ATTR_S)
                .and_then(Field::string)
                .unwrap_or("NOTSET");
            if mode != "NOTSET" && mode != "VALID" {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The graph's bytes: its other fields as read, the nodes, the initializers still read
    /// by some node (and the new ones); `Constant` nodes nobody reads any more are dropped.
    fn encode(&self) -> Result<Vec<u8>, FuseError> {
        let read: HashSet<&str> = self
            .nodes
            .iter()
            .flat_map(|n| n.inputs.iter().map(String::as_str))
            .chain(self.boundary.iter().map(String::as_str))
            .collect();
        let mut out = Vec::new();
        for n in &self.nodes {
            if n.is("Constant") && n.outputs.iter().all(|o| !read.contains(o.as_str())) {
                continue;
            }
            let mut b = Vec::new();
            n.encode(&mut b);
            wire::put_bytes(&mut out, GRAPH_NODE, &b);
        }
        for (name, bytes) in &self.initializers {
            if read.contains(name.as_str()) {
                wire::put_bytes(&mut out, GRAPH_INITIALIZER, bytes);
            }
        }
        for (name, t) in &self.made {
            if read.contains(name.as_str()) {
                wire::put_bytes(&mut out, GRAPH_INITIALIZER, &encode_tensor(name, t));
            }
        }
        for f in &self.other {
            wire::put_field(&mut out, f);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests;
