//! The engine thread: it owns the model, takes requests from a bounded queue, and decodes the
//! questions of every request waiting at that moment as one batch (up to `max_batch`).

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Instant;

use ocr_document::OcrDocument;

use crate::generate::{Answer, Tilt, greedy};
use crate::model::Precision;
use crate::{TiltError, device_name};

/// One document and its questions.
#[derive(Debug, Clone)]
pub struct TiltRequest {
    pub doc: OcrDocument,
    /// Page images by page index (`None`: a white page).
    pub images: Vec<Option<image::RgbImage>>,
    pub questions: Vec<String>,
    pub max_tokens: usize,
}

/// Per-question outcome of a request: an answer, or why that question failed (e.g. a question
/// longer than `max_question_length`), so that one bad question does not sink the others.
pub type QuestionResult = Result<Answer, String>;

/// What a finished request carries back.
#[derive(Debug)]
pub struct TiltResponse {
    pub answers: Vec<QuestionResult>,
    /// Tokenisation + U-Net, ms.
    pub prepare_ms: f64,
    /// Encoder + decoder of the batch this request rode in, ms.
    pub infer_ms: f64,
    /// Document tokens.
    pub doc_tokens: usize,
    /// Questions decoded together in that batch.
    pub batch_size: usize,
}

type Reply = Box<dyn FnOnce(Result<TiltResponse, TiltError>) + Send>;

struct Job {
    req: TiltRequest,
    reply: Reply,
}

/// What the engine runs, for logs and health endpoints.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EngineInfo {
    pub model_dir: PathBuf,
    pub device: String,
    pub dtype: &'static str,
    pub parameters: usize,
    pub max_batch: usize,
    pub vocab_size: usize,
}

/// A handle to the engine thread. Dropping it stops the thread once its queue is empty.
#[derive(Debug)]
pub struct TiltEngine {
    tx: Option<mpsc::SyncSender<Job>>,
    handle: Option<JoinHandle<()>>,
    pub info: EngineInfo,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("req", &self.req)
            .finish_non_exhaustive()
    }
}

impl TiltEngine {
    /// Loads the model directory and starts the engine thread.
    pub fn load(
        dir: &Path,
        device: Option<tch::Device>,
        precision: Option<Precision>,
        max_batch: usize,
        queue: usize,
    ) -> Result<Self, TiltError> {
        let tilt = Tilt::load(dir, device, precision)?;
        Ok(Self::start(tilt, dir, max_batch, queue))
    }

    /// Starts the engine thread around a loaded model.
    pub fn start(tilt: Tilt, dir: &Path, max_batch: usize, queue: usize) -> Self {
        let info = EngineInfo {
            model_dir: dir.to_path_buf(),
            device: device_name(tilt.model.device),
            dtype: tilt.model.precision.as_str(),
            parameters: tilt.model.cfg.parameter_count(),
            max_batch: max_batch.max(1),
            vocab_size: tilt.model.cfg.vocab_size,
        };
        let (tx, rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let max_batch = info.max_batch;
        let handle = std::thread::Builder::new()
            .name("tilt-engine".into())
            .spawn(move || run(tilt, rx, max_batch))
            .ok();
        TiltEngine {
            tx: Some(tx),
            handle,
            info,
        }
    }

    /// Queues a request; `reply` is called on the engine thread with the outcome. Fails at
    /// once when the queue is full or the engine has stopped.
    pub fn submit(
        &self,
        req: TiltRequest,
        reply: impl FnOnce(Result<TiltResponse, TiltError>) + Send + 'static,
    ) -> Result<(), TiltError> {
        let tx = self.tx.as_ref().ok_or(TiltError::EngineStopped)?;
        tx.try_send(Job {
            req,
            reply: Box::new(reply),
        })
        .map_err(|e| match e {
            mpsc::TrySendError::Full(_) => TiltError::Busy,
            mpsc::TrySendError::Disconnected(_) => TiltError::EngineStopped,
        })
    }

    /// Queues a request and waits for it (for synchronous callers).
    pub fn run_blocking(&self, req: TiltRequest) -> Result<TiltResponse, TiltError> {
        let (tx, rx) = mpsc::channel();
        self.submit(req, move |r| {
            let _ = tx.send(r);
        })?;
        rx.recv().map_err(|_| TiltError::EngineStopped)?
    }
}

impl Drop for TiltEngine {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run(tilt: Tilt, rx: mpsc::Receiver<Job>, max_batch: usize) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let mut questions = jobs[0].req.questions.len();
        while questions < max_batch {
            match rx.try_recv() {
                Ok(j) => {
                    questions += j.req.questions.len();
                    jobs.push(j);
                }
                Err(_) => break,
            }
        }
        let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| batch(&tilt, &jobs)));
        match outcome {
            Ok(results) => {
                for (job, r) in jobs.into_iter().zip(results) {
                    (job.reply)(r);
                }
            }
            Err(p) => {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panic".into());
                tracing::error!(error = %msg, "TILT batch failed in libtorch");
                for job in jobs {
                    (job.reply)(Err(TiltError::Torch(msg.clone())));
                }
            }
        }
    }
}

/// One batch: every job's document prepared and every question encoded, then one greedy
/// decode over all questions that encoded.
fn batch(tilt: &Tilt, jobs: &[Job]) -> Vec<Result<TiltResponse, TiltError>> {
    struct Pending {
        prepare_ms: f64,
        doc_tokens: usize,
        answers: Vec<Option<QuestionResult>>,
    }
    let started = Instant::now();
    let mut pending: Vec<Result<Pending, TiltError>> = Vec::new();
    let mut memories = Vec::new();
    let mut slots: Vec<(usize, usize, usize)> = Vec::new(); // (job, question, max_tokens)
    for (j, job) in jobs.iter().enumerate() {
        let t = Instant::now();
        match tilt.prepare(&job.req.doc, &job.req.images) {
            Err(e) => pending.push(Err(e)),
            Ok(doc) => {
                let prepare_ms = t.elapsed().as_secs_f64() * 1e3;
                let mut answers = Vec::new();
                for (q, question) in job.req.questions.iter().enumerate() {
                    match tilt.encode(&doc, question) {
                        Ok(m) => {
                            memories.push(m);
                            slots.push((j, q, job.req.max_tokens));
                            answers.push(None);
                        }
                        Err(e) => answers.push(Some(Err(e.to_string()))),
                    }
                }
                pending.push(Ok(Pending {
                    prepare_ms,
                    doc_tokens: doc.tokens.ids.len(),
                    answers,
                }));
            }
        }
    }
    let max: Vec<usize> = slots.iter().map(|s| s.2).collect();
    let gens = greedy(&tilt.model, &memories, &max);
    let infer_ms = started.elapsed().as_secs_f64() * 1e3;
    let batch_size = slots.len();
    for ((j, q, _), g) in slots.into_iter().zip(gens) {
        if let Some(Ok(p)) = pending.get_mut(j) {
            p.answers[q] = Some(tilt.to_answer(g).map_err(|e| e.to_string()));
        }
    }
    pending
        .into_iter()
        .map(|p| {
            p.map(|p| TiltResponse {
                answers: p
                    .answers
                    .into_iter()
                    .map(|a| a.unwrap_or_else(|| Err("not decoded".into())))
                    .collect(),
                prepare_ms: p.prepare_ms,
                infer_ms: infer_ms - p.prepare_ms,
                doc_tokens: p.doc_tokens,
                batch_size,
            })
        })
        .collect()
}
