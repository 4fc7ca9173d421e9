//! The TILT settings, read once: flags and environment variables shared by `ocrlty` (the
//! in-process backend) and `tilt-server`, checked into [`TiltSettings`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kie::FieldName;
use tilt_infer::Precision;

/// A TILT setting that cannot be used, naming the flag and why.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

/// Arctic-TILT in process: the model, where it runs and how much it decodes at once.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "The tilt backend (the tilt feature)")]
pub struct TiltArgs {
    /// Model directory (config.json, tokenizer.json, *.safetensors); in `ocrlty` setting it
    /// enables the `tilt` backend.
    #[arg(long = "tilt-model", env = "TILT_MODEL")]
    pub model: Option<PathBuf>,

    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long = "tilt-device", env = "TILT_DEVICE", default_value = "auto")]
    pub device: String,

    /// auto (float32 on CPU, bfloat16 on CUDA), float32, bfloat16.
    #[arg(long = "tilt-dtype", env = "TILT_DTYPE", default_value = "auto")]
    pub dtype: String,

    /// Questions decoded together at most.
    #[arg(long = "tilt-max-batch", env = "TILT_MAX_BATCH", default_value_t = 16)]
    pub max_batch: usize,

    /// Requests waiting for the engine at most (more are refused).
    #[arg(long = "tilt-queue", env = "TILT_QUEUE", default_value_t = 64)]
    pub queue: usize,

    /// Most tokens per answer (tilt-server: when a request gives no `max_tokens`).
    #[arg(
        long = "tilt-max-tokens",
        env = "TILT_MAX_TOKENS",
        default_value_t = 32
    )]
    pub max_tokens: usize,

    /// TOML file of per-field questions (`total = "What is the total amount?"`).
    #[arg(long = "tilt-questions", env = "TILT_QUESTIONS")]
    pub questions: Option<PathBuf>,
}

/// Checked TILT settings.
#[derive(Debug, Clone)]
pub struct TiltSettings {
    /// `config.json`, `tokenizer.json`, `*.safetensors`.
    pub model_dir: PathBuf,
    pub device: tch::Device,
    /// `None`: fp32 on CPU, bf16 on CUDA.
    pub precision: Option<Precision>,
    /// Questions decoded together at most.
    pub max_batch: usize,
    /// Requests waiting at most.
    pub queue: usize,
    pub max_tokens: usize,
    /// Per-field questions; fields not listed use [`FieldName::question`].
    pub questions: BTreeMap<FieldName, String>,
    /// How long one extraction may wait for the engine.
    pub timeout: Duration,
}

impl TiltSettings {
    /// Defaults for a model directory (the device chosen as `auto` would).
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        TiltSettings {
            model_dir: model_dir.into(),
            device: tilt_infer::auto_device(),
            precision: None,
            max_batch: 16,
            queue: 64,
            max_tokens: 32,
            questions: BTreeMap::new(),
            timeout: Duration::from_secs(300),
        }
    }
}

impl TiltSettings {
    /// Loads the model onto its device and starts the engine thread (fails with what is
    /// missing or mis-shaped), and logs what was loaded.
    pub fn load_engine(&self) -> Result<tilt_infer::TiltEngine, tilt_infer::TiltError> {
        let engine = tilt_infer::TiltEngine::load(
            &self.model_dir,
            Some(self.device),
            self.precision,
            self.max_batch,
            self.queue,
        )?;
        let i = &engine.info;
        tracing::info!(model = %i.model_dir.display(), device = %i.device, dtype = i.dtype,
            parameters = i.parameters, max_batch = i.max_batch, "tilt model loaded");
        Ok(engine)
    }
}

impl TiltArgs {
    /// The checked settings, or `None` when no model directory is configured.
    pub fn settings(&self) -> Result<Option<TiltSettings>, SettingsError> {
        let Some(dir) = &self.model else {
            return Ok(None);
        };
        let bad = |e: tilt_infer::TiltError| SettingsError(e.to_string());
        let mut s = TiltSettings::new(dir.clone());
        s.device = tilt_infer::parse_device(&self.device).map_err(bad)?;
        s.precision = match self.dtype.as_str() {
            "auto" | "" => None,
            d => Some(d.parse().map_err(bad)?),
        };
        if self.max_batch == 0 || self.max_tokens == 0 || self.queue == 0 {
            return Err(SettingsError(
                "--tilt-max-batch, --tilt-queue and --tilt-max-tokens must be at least 1".into(),
            ));
        }
        s.max_batch = self.max_batch;
        s.queue = self.queue;
        s.max_tokens = self.max_tokens;
        if let Some(q) = &self.questions {
            s.questions = read_questions(q)?;
        }
        Ok(Some(s))
    }
}

/// Reads a TOML table of `field = "question"` (`configs/tilt-questions.toml`).
pub fn read_questions(path: &Path) -> Result<BTreeMap<FieldName, String>, SettingsError> {
    let err = |m: String| SettingsError(format!("{}: {m}", path.display()));
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    let table: BTreeMap<String, String> = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
    table
        .into_iter()
        .map(|(k, v)| {
            let f = FieldName::ALL
                .into_iter()
                .find(|f| f.as_str() == k)
                .ok_or_else(|| {
                    err(format!(
                        "'{k}' is not a field (merchant, date, currency, subtotal, tax_amount, \
                         total)"
                    ))
                })?;
            if v.trim().is_empty() {
                return Err(err(format!("the question for '{k}' is empty")));
            }
            Ok((f, v))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        tilt: TiltArgs,
    }

    fn parse(args: &[&str]) -> Result<Option<TiltSettings>, SettingsError> {
        let mut argv = vec!["t"];
        argv.extend_from_slice(args);
        Cli::try_parse_from(argv)
            .expect("flags parse")
            .tilt
            .settings()
    }

    #[test]
    fn no_model_means_no_backend_and_bad_values_name_their_flag() {
        assert!(parse(&[]).expect("ok").is_none());
        let s = parse(&[
            "--tilt-model",
            "/m",
            "--tilt-device",
            "cpu",
            "--tilt-dtype",
            "bf16",
        ])
        .expect("ok")
        .expect("some");
        assert_eq!(s.device, tch::Device::Cpu);
        assert_eq!(s.precision, Some(Precision::Bf16));
        assert_eq!(s.max_tokens, 32);
        let e = parse(&["--tilt-model", "/m", "--tilt-max-batch", "0"]).expect_err("zero");
        assert!(e.to_string().contains("--tilt-max-batch"), "{e}");
        let e = parse(&["--tilt-model", "/m", "--tilt-dtype", "fp8"]).expect_err("dtype");
        assert!(e.to_string().contains("fp8"), "{e}");
    }

    #[test]
    fn questions_file_names_the_unknown_field() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("q.toml");
        std::fs::write(&p, "total = \"How much?\"\nvat = \"Tax?\"\n").expect("write");
        let e = read_questions(&p).expect_err("vat");
        assert!(e.to_string().contains("'vat' is not a field"), "{e}");
        std::fs::write(&p, "total = \"How much?\"\n").expect("write");
        let q = read_questions(&p).expect("ok");
        assert_eq!(
            q.get(&FieldName::Total).map(String::as_str),
            Some("How much?")
        );
    }
}
