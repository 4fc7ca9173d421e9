//! ONNX Runtime: loading the shared library once per process, and pools of sessions so that
//! concurrent callers do not serialise on one model.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;

use crate::error::{OcrError, Result, Stage};
use crate::fuse::{FuseReport, fuse_model};

/// Which execution provider sessions run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Device {
    #[default]
    Cpu,
    /// CUDA; needs the `cuda` cargo feature and a CUDA build of ONNX Runtime. Registration
    /// failure is an error, never a silent fall back to the CPU.
    Cuda,
    /// CUDA when this build and machine have it, else the CPU (with a warning when the build
    /// has CUDA support but it cannot start).
    Auto,
}

impl Device {
    /// The ONNX Runtime name of the provider (`Auto` is resolved when the engine starts).
    pub fn provider_name(self) -> &'static str {
        match self {
            Device::Cpu => "CPUExecutionProvider",
            Device::Cuda => "CUDAExecutionProvider",
            Device::Auto => "auto",
        }
    }

    /// Whether this build can run on CUDA at all (the `cuda` feature).
    pub const fn cuda_built() -> bool {
        cfg!(feature = "cuda")
    }
}

impl std::str::FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cpu" => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda),
            "auto" => Ok(Device::Auto),
            other => Err(format!("unknown device '{other}' (known: auto, cpu, cuda)")),
        }
    }
}

static ENVIRONMENT: OnceLock<std::result::Result<Environment, String>> = OnceLock::new();
static LOADED_FROM: OnceLock<PathBuf> = OnceLock::new();

/// The library path to load: `ORT_DYLIB_PATH`, else `<OCRLTY_DEPS>/onnxruntime/lib`, else
/// `.deps/onnxruntime/lib` under the current folder, else the system's search path.
pub fn default_runtime_path() -> PathBuf {
    if let Some(p) = std::env::var_os("ORT_DYLIB_PATH") {
        return PathBuf::from(p);
    }
    if let Some(deps) = std::env::var_os("OCRLTY_DEPS") {
        return Path::new(&deps).join("onnxruntime/lib/libonnxruntime.so.1");
    }
    let local = Path::new(".deps/onnxruntime/lib/libonnxruntime.so.1");
    if local.exists() {
        return local.to_path_buf();
    }
    PathBuf::from("libonnxruntime.so.1")
}

/// Loads ONNX Runtime (once per process; later calls return the same environment).
pub fn environment(path: Option<&Path>) -> Result<&'static Environment> {
    let path = path
        .map(Path::to_path_buf)
        .unwrap_or_else(default_runtime_path);
    let env = ENVIRONMENT.get_or_init(|| {
        let _ = LOADED_FROM.set(path.clone());
        if !path.exists() && path.components().count() > 1 {
            return Err(
                "file not found (run scripts/setup, or set ORT_DYLIB_PATH to libonnxruntime.so.1)"
                    .to_string(),
            );
        }
        ort::init_from(&path)
            .map_err(|e| e.to_string())?
            .with_name("ocrlty")
            .build()
            .map_err(|e| e.to_string())
    });
    env.as_ref().map_err(|message| OcrError::RuntimeLoad {
        path: LOADED_FROM.get().cloned().unwrap_or(path),
        message: message.clone(),
    })
}

/// The library ONNX Runtime was loaded from, once it was.
pub fn runtime_path() -> Option<&'static Path> {
    LOADED_FROM.get().map(PathBuf::as_path)
}

/// Session options shared by every model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionOptions {
    /// Threads inside one operator; 0 lets ONNX Runtime choose (one per core).
    pub intra_threads: usize,
    pub device: Device,
    /// Rewrite the graph before loading it ([`crate::fuse`]).
    pub fuse: bool,
}

/// Sessions of one model, handed out round-robin; a busy session is skipped when another is
/// free.
#[derive(Debug)]
pub struct SessionPool {
    stage: Stage,
    sessions: Vec<Mutex<Session>>,
    next: AtomicUsize,
    path: PathBuf,
    rewrites: FuseReport,
}

impl SessionPool {
    pub fn load(stage: Stage, path: &Path, size: usize, opts: SessionOptions) -> Result<Self> {
        if !path.is_file() {
            return Err(OcrError::ModelMissing {
                path: path.to_path_buf(),
                hint: " (run scripts/setup, or point the model configuration at the file)".into(),
            });
        }
        let env = environment(None)?;
        let (fused, rewrites) = if opts.fuse {
            let bytes = std::fs::read(path).map_err(|source| OcrError::Io {
                path: path.to_path_buf(),
                source,
            })?;
            fuse_model(&bytes).map_err(|e| OcrError::ModelGraph {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?
        } else {
            (None, FuseReport::default())
        };
        if rewrites.total() > 0 {
            tracing::debug!(model = %path.display(), ?rewrites, "graph rewritten");
        }
        let mut sessions = Vec::with_capacity(size.max(1));
        for _ in 0..size.max(1) {
            let session = build_session(env, path, fused.as_deref(), opts).map_err(|source| {
                OcrError::ModelLoad {
                    path: path.to_path_buf(),
                    source,
                }
            })?;
            sessions.push(Mutex::new(session));
        }
        Ok(Self {
            stage,
            sessions,
            next: AtomicUsize::new(0),
            path: path.to_path_buf(),
            rewrites,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What [`crate::fuse`] rewrote in this model (all zero when it was loaded as it is).
    pub fn rewrites(&self) -> FuseReport {
        self.rewrites
    }

    /// Reads a custom metadata entry of the model.
    pub fn metadata(&self, key: &str) -> Result<Option<String>> {
        let session = self.lock(0);
        let meta = session.metadata().map_err(|source| OcrError::Inference {
            stage: self.stage,
            source,
        })?;
        Ok(meta.custom(key))
    }

    fn lock(&self, i: usize) -> std::sync::MutexGuard<'_, Session> {
        // A poisoned session only means another caller panicked mid-run; ORT sessions hold no
        // Rust invariants that a panic could break.
        self.sessions[i]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs the model on one f32 tensor and hands the first output's shape and data to `read`.
    /// Returns what `read` returns and the seconds spent inside ONNX Runtime.
    pub fn run<T>(
        &self,
        shape: [usize; 4],
        data: &[f32],
        read: impl FnOnce(&[i64], &[f32]) -> Result<T>,
    ) -> Result<(T, f64)> {
        let n = self.sessions.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let mut guard = None;
        for k in 0..n {
            if let Ok(g) = self.sessions[(start + k) % n].try_lock() {
                guard = Some(g);
                break;
            }
        }
        let mut session = match guard {
            Some(g) => g,
            None => self.lock(start),
        };
        let stage = self.stage;
        let err = |source| OcrError::Inference { stage, source };
        let input = ort::value::TensorRef::from_array_view((shape, data)).map_err(err)?;
        let t0 = Instant::now();
        let outputs = session.run(ort::inputs![input]).map_err(err)?;
        let secs = t0.elapsed().as_secs_f64();
        let (out_shape, out) = outputs[0].try_extract_tensor::<f32>().map_err(err)?;
        let dims: Vec<i64> = out_shape.iter().copied().collect();
        Ok((read(&dims, out)?, secs))
    }
}

/// Builds a session from `fused` (the rewritten model) when given, else from the file.
fn build_session(
    env: &Environment,
    path: &Path,
    fused: Option<&[u8]>,
    opts: SessionOptions,
) -> ort::Result<Session> {
    let mut builder = Session::builder(env)?
        .with_optimization_level(GraphOptimizationLevel::All)?
        .with_intra_threads(opts.intra_threads)?
        .with_inter_threads(1)?
        .with_memory_pattern(true)?
        // Idle intra-op workers sleep instead of spinning: between model calls the cores go to
        // our own crop and decode threads (and to other requests) rather than to busy-waiting.
        // Measured at 2 threads (ocr_bench v4, 12 SROIE receipts, alternating runs): the same
        // throughput, pipeline / model time 1.047–1.049 against 1.051–1.055 spinning.
        .with_intra_op_spinning(false)?;
    builder = match opts.device {
        // The CPU arena is on: det's activations are megapixel-sized and the arena saves a
        // quarter of det's time (research/perf-anchors.md §6).
        Device::Cpu => builder.with_execution_providers([ort::ep::CPU::default()
            .with_arena_allocator(true)
            .build()
            .error_on_failure()])?,
        Device::Cuda => builder.with_execution_providers([cuda_provider()?])?,
        Device::Auto => unreachable!("the engine resolves Device::Auto before loading sessions"),
    };
    match fused {
        Some(bytes) => builder.commit_from_memory(bytes),
        None => builder.commit_from_file(path),
    }
}

#[cfg(feature = "cuda")]
fn cuda_provider() -> ort::Result<ort::ep::ExecutionProviderDispatch> {
    Ok(ort::ep::CUDA::default().build().error_on_failure())
}

#[cfg(not(feature = "cuda"))]
fn cuda_provider() -> ort::Result<ort::ep::ExecutionProviderDispatch> {
    Err(ort::Error::new(
        "this build has no CUDA support: rebuild with `--features cuda`",
    ))
}
