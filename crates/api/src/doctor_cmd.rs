//! `ocrlty doctor`: what this machine has for OCRlty, and the fix for what it lacks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use ocr_core::{ModelPreset, default_model_dir};

struct Check {
    name: &'static str,
    ok: bool,
    detail: String,
    fix: Option<String>,
    required: bool,
}

fn file_check(name: &'static str, path: &Path, required: bool, fix: &str) -> Check {
    let ok = path.is_file();
    Check {
        name,
        ok,
        detail: path.display().to_string(),
        fix: (!ok).then(|| fix.to_string()),
        required,
    }
}

fn deps_dir() -> PathBuf {
    std::env::var_os("OCRLTY_DEPS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".deps"))
}

const SETUP: &str = "run scripts/setup (fetches it into .deps/) or set the variable to its path";

pub fn run() -> anyhow::Result<ExitCode> {
    let mut checks = Vec::new();

    let ort = ocr_core::session::default_runtime_path();
    let mut c = file_check(
        "ONNX Runtime",
        &ort,
        true,
        &format!("ORT_DYLIB_PATH: {SETUP}"),
    );
    if c.ok {
        match ocr_core::session::environment(Some(&ort)) {
            Ok(_) => c.detail = format!("{} (loads; execution provider: CPU)", ort.display()),
            Err(e) => {
                c.ok = false;
                c.detail = format!("{}: {e}", ort.display());
                c.fix = Some("the library is there but does not load: re-run scripts/setup".into());
            }
        }
    }
    checks.push(c);

    let pdfium_dir = doc_input::default_library_dir();
    let mut c = file_check(
        "pdfium",
        &pdfium_dir.join("libpdfium.so"),
        true,
        &format!("PDFIUM_LIB_DIR: {SETUP}"),
    );
    if c.ok
        && let Err(e) = doc_input::PdfLibrary::bind(Some(&pdfium_dir))
    {
        c.ok = false;
        c.detail = e.to_string();
    }
    checks.push(c);

    let models = default_model_dir();
    for (name, preset) in [
        ("PP-OCRv6 models", ModelPreset::V6),
        ("PP-OCRv4 models", ModelPreset::V4),
    ] {
        let files = preset.files(&models);
        let mut paths = vec![files.det.clone(), files.rec.clone()];
        paths.extend(files.cls.clone());
        let missing: Vec<_> = paths.iter().filter(|p| !p.is_file()).collect();
        checks.push(Check {
            name,
            ok: missing.is_empty(),
            detail: if missing.is_empty() {
                format!(
                    "{} (det, rec{})",
                    models.display(),
                    if files.cls.is_some() { ", cls" } else { "" }
                )
            } else {
                format!(
                    "missing {}",
                    missing
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            fix: (!missing.is_empty()).then(|| format!("OCR_MODEL_DIR: {SETUP}")),
            required: preset == ModelPreset::V6,
        });
    }

    let libtorch = std::env::var_os("LIBTORCH")
        .map(PathBuf::from)
        .unwrap_or_else(|| deps_dir().join("libtorch"));
    let mut c = file_check(
        "libtorch",
        &libtorch.join("lib/libtorch_cpu.so"),
        false,
        &format!("LIBTORCH: {SETUP}"),
    );
    c.detail.push_str(&tilt_summary(&libtorch));
    checks.push(c);

    let mut c = file_check(
        "label font",
        &ocrlty::visualize::default_font_path(),
        false,
        &format!("OCRLTY_FONT: {SETUP}"),
    );
    c.detail.push_str(" (for extract --visualize)");
    checks.push(c);

    let gpu = gpu_summary();
    checks.push(Check {
        name: "GPU",
        ok: true,
        detail: gpu,
        fix: None,
        required: false,
    });

    let mut missing_required = 0;
    for c in &checks {
        let mark = match (c.ok, c.required) {
            (true, _) => "ok  ",
            (false, true) => "MISSING",
            (false, false) => "absent",
        };
        println!("{mark:8} {:16} {}", c.name, c.detail);
        if let Some(fix) = &c.fix {
            println!("{:8} {:16} fix: {fix}", "", "");
        }
        if !c.ok && c.required {
            missing_required += 1;
        }
    }
    if missing_required == 0 {
        println!("\neverything `ocrlty extract` and `ocrlty serve` need is here");
        Ok(ExitCode::SUCCESS)
    } else {
        println!("\n{missing_required} required piece(s) missing");
        Ok(ExitCode::from(1))
    }
}

/// What the tilt backend would run on: whether this build has it, and the CUDA devices
/// libtorch sees (none with the CPU-only libtorch of `scripts/setup`).
fn tilt_summary(libtorch: &std::path::Path) -> String {
    #[cfg(feature = "tilt")]
    {
        let cuda_lib = libtorch.join("lib/libtorch_cuda.so").exists();
        match kie_tilt::cuda_device_count() {
            0 if cuda_lib => " (the tilt backend's; CUDA libtorch, but no CUDA device: TILT_DEVICE=auto runs on the CPU)".into(),
            0 => " (the tilt backend's; CPU-only libtorch: `scripts/setup cuda` and `scripts/build --release --gpu` for the GPU)".into(),
            n => format!(" (the tilt backend's; {n} CUDA device(s): TILT_DEVICE=auto uses cuda:0)"),
        }
    }
    #[cfg(not(feature = "tilt"))]
    {
        let _ = libtorch;
        " (for the tilt backend, which this build leaves out: build with --features tilt)".into()
    }
}

/// NVIDIA GPUs seen by the driver, if any, and whether this build can run OCR on them.
fn gpu_summary() -> String {
    let build = if ocr_core::Device::cuda_built() {
        "this build has CUDA OCR (OCR_DEVICE=auto uses it when it starts)"
    } else {
        "this build runs OCR on the CPU (build with --features cuda for the GPU)"
    };
    let smi = std::process::Command::new("nvidia-smi")
        .args(["--query-gpu=name,memory.total", "--format=csv,noheader"])
        .output();
    match smi {
        Ok(o) if o.status.success() => {
            let names = String::from_utf8_lossy(&o.stdout)
                .trim()
                .replace('\n', "; ");
            format!("{names}; {build}")
        }
        _ if Path::new("/dev/nvidia0").exists() => {
            format!("an NVIDIA device node exists but nvidia-smi does not answer; {build}")
        }
        _ => format!("none found; {build}"),
    }
}
