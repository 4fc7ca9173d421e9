//! The backend: Arctic-TILT in process, one question per wanted field, answers normalised by
//! the rules and located on the page.

use kie::{ExtractOptions, Extraction, FieldName, KieBackend, KieError};
use tilt_infer::{EngineInfo, TiltEngine, TiltRequest};

use ocr_document::OcrDocument;

use crate::settings::TiltSettings;

pub(crate) const NAME: &str = "tilt";

/// The backend: the engine thread and the questions.
#[derive(Debug)]
pub struct TiltBackend {
    engine: TiltEngine,
    settings: TiltSettings,
}

impl TiltBackend {
    /// Loads the model (fails with what is missing or mis-shaped).
    pub fn load(settings: TiltSettings) -> Result<Self, KieError> {
        let engine = settings
            .load_engine()
            .map_err(|e| KieError::unavailable(NAME, e.to_string()).caused_by(e))?;
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
        // The pages as the OCR read them; a page without one is read as blank paper.
        let images = (0..doc.pages.len())
            .map(|i| opts.page_images.get(i).map(|p| p.0.as_ref().clone()))
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
            .map_err(|e| KieError::unavailable(NAME, e.to_string()).caused_by(e))?;
        let resp = rx
            .recv_timeout(self.settings.timeout)
            .map_err(|_| KieError::timeout(NAME))?
            .map_err(|e| KieError::bad_answer(NAME, e.to_string()).caused_by(e))?;
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
