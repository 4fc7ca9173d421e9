//! The `tilt` KIE backend: Arctic-TILT in process ([`tilt_infer::TiltEngine`]), one question
//! per wanted field, answers normalised by the rules and located on the page.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kie::{ExtractOptions, Extraction, FieldName, KieBackend, KieError};
use tilt_infer::{EngineInfo, Precision, TiltEngine, TiltRequest};
use tilt_prep::OcrDocument;

const NAME: &str = "tilt";

/// How the backend loads and asks.
#[derive(Debug, Clone)]
pub struct TiltSettings {
    /// `config.json`, `tokenizer.json`, `*.safetensors`.
    pub model_dir: PathBuf,
    /// `auto`, `cpu`, `cuda`, `cuda:N`.
    pub device: String,
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
    pub fn new(model_dir: impl Into<PathBuf>) -> Self {
        TiltSettings {
            model_dir: model_dir.into(),
            device: "auto".into(),
            precision: None,
            max_batch: 16,
            queue: 64,
            max_tokens: 32,
            questions: BTreeMap::new(),
            timeout: Duration::from_secs(300),
        }
    }
}

/// Reads a TOML table of `field = "question"` (`configs/tilt-questions.toml`).
pub fn read_questions(path: &Path) -> Result<BTreeMap<FieldName, String>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: BTreeMap<String, String> =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    table
        .into_iter()
        .map(|(k, v)| {
            let f = FieldName::ALL
                .into_iter()
                .find(|f| f.as_str() == k)
                .ok_or_else(|| {
                    format!(
                        "{}: '{k}' is not a field (merchant, date, currency, subtotal, \
                         tax_amount, total)",
                        path.display()
                    )
                })?;
            if v.trim().is_empty() {
                return Err(format!(
                    "{}: the question for '{k}' is empty",
                    path.display()
                ));
            }
            Ok((f, v))
        })
        .collect()
}

/// The backend: the engine thread and the questions.
#[derive(Debug)]
pub struct TiltBackend {
    engine: TiltEngine,
    settings: TiltSettings,
}

impl TiltBackend {
    /// Loads the model (fails with what is missing or mis-shaped).
    pub fn load(settings: TiltSettings) -> Result<Self, KieError> {
        let unavailable = |message: String| KieError::Unavailable {
            backend: NAME.into(),
            message,
        };
        let device =
            tilt_infer::parse_device(&settings.device).map_err(|e| unavailable(e.to_string()))?;
        let engine = TiltEngine::load(
            &settings.model_dir,
            Some(device),
            settings.precision,
            settings.max_batch,
            settings.queue,
        )
        .map_err(|e| unavailable(e.to_string()))?;
        tracing::info!(
            model = %settings.model_dir.display(),
            device = %engine.info.device,
            dtype = engine.info.dtype,
            parameters = engine.info.parameters,
            "tilt backend loaded"
        );
        Ok(TiltBackend { engine, settings })
    }

    pub fn info(&self) -> &EngineInfo {
        &self.engine.info
    }

    fn question(&self, f: FieldName) -> String {
        self.settings
            .questions
            .get(&f)
            .cloned()
            .unwrap_or_else(|| f.question().to_string())
    }
}

impl KieBackend for TiltBackend {
    fn name(&self) -> &str {
        NAME
    }

    fn model_version(&self) -> String {
        let dir = &self.settings.model_dir;
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| dir.display().to_string());
        format!("tilt:{name}")
    }

    fn extract(&self, doc: &OcrDocument, opts: &ExtractOptions) -> Result<Extraction, KieError> {
        if doc.pages.is_empty() {
            return Err(KieError::EmptyDocument);
        }
        let fields = opts.wanted_fields();
        // Page images as sent (JPEG/PNG) or rendered (PDF); a page whose image does not decode
        // is read as blank paper.
        let images = doc
            .pages
            .iter()
            .enumerate()
            .map(|(i, _)| {
                opts.page_images
                    .get(i)
                    .and_then(|p| image::load_from_memory(&p.bytes).ok())
                    .map(|img| img.to_rgb8())
            })
            .collect();
        let req = TiltRequest {
            doc: doc.clone(),
            images,
            questions: fields.iter().map(|f| self.question(*f)).collect(),
            max_tokens: self.settings.max_tokens,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        self.engine
            .submit(req, move |r| {
                let _ = tx.send(r);
            })
            .map_err(|e| KieError::Unavailable {
                backend: NAME.into(),
                message: e.to_string(),
            })?;
        let resp = rx
            .recv_timeout(self.settings.timeout)
            .map_err(|_| KieError::Timeout {
                backend: NAME.into(),
            })?
            .map_err(|e| KieError::BadAnswer {
                backend: NAME.into(),
                message: e.to_string(),
            })?;
        let answers = fields
            .into_iter()
            .zip(resp.answers)
            .filter_map(|(f, a)| match a {
                Ok(a) if !a.text.is_empty() => Some((f, a.text, a.score as f32)),
                Ok(_) => None,
                Err(e) => {
                    tracing::warn!(field = f.as_str(), error = %e, "tilt question failed");
                    None
                }
            });
        Ok(Extraction::from_answers(doc, answers, &opts.rules))
    }

    fn wants_page_images(&self) -> bool {
        true
    }
}
