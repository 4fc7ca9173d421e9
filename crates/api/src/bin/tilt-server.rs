//! `tilt-server`: Arctic-TILT behind HTTP on :8001 (see `ocrlty::tilt_server`).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use ocrlty::tilt_server::{TiltState, router};
use tilt_infer::TiltEngine;

/// Serves an Arctic-TILT model directory: /v1/tilt/generate, /v1/chat/completions
/// (input_ocr_document), /v1/models, /health, /ping.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Model directory: config.json, tokenizer.json, *.safetensors.
    #[arg(long, env = "TILT_MODEL")]
    model: std::path::PathBuf,

    /// The model name listed by /v1/models (default: the directory's name).
    #[arg(long, env = "TILT_MODEL_NAME")]
    model_name: Option<String>,

    #[arg(long, env = "TILT_HOST", default_value = "0.0.0.0")]
    host: String,

    /// Port (0: any free port; the chosen one is logged).
    #[arg(long, env = "TILT_PORT", default_value_t = 8001)]
    port: u16,

    /// auto (CUDA when available), cpu, cuda, cuda:N.
    #[arg(long, env = "TILT_DEVICE", default_value = "auto")]
    device: String,

    /// auto (float32 on CPU, bfloat16 on CUDA), float32, bfloat16.
    #[arg(long, env = "TILT_DTYPE", default_value = "auto")]
    dtype: String,

    /// Questions decoded together at most.
    #[arg(long, env = "TILT_MAX_BATCH", default_value_t = 16)]
    max_batch: usize,

    /// Requests waiting at most (503 beyond).
    #[arg(long, env = "TILT_QUEUE", default_value_t = 64)]
    queue: usize,

    /// `max_tokens` when a request gives none.
    #[arg(long, env = "TILT_MAX_TOKENS", default_value_t = 256)]
    max_tokens: usize,

    /// Largest request body in MiB (page images travel as base64).
    #[arg(long, env = "TILT_MAX_BODY_MB", default_value_t = 64)]
    max_body_mb: usize,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tilt-server: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> anyhow::Result<()> {
    let device = tilt_infer::parse_device(&args.device)?;
    let precision = match args.dtype.as_str() {
        "auto" => None,
        d => Some(d.parse()?),
    };
    let engine = TiltEngine::load(
        &args.model,
        Some(device),
        precision,
        args.max_batch,
        args.queue,
    )
    .with_context(|| format!("cannot load the model in {}", args.model.display()))?;
    let i = &engine.info;
    tracing::info!(model = %i.model_dir.display(), device = %i.device, dtype = i.dtype,
        parameters = i.parameters, max_batch = i.max_batch, "model loaded");
    let model_name = args.model_name.clone().unwrap_or_else(|| {
        args.model
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "arctic-tilt".into())
    });
    let state = Arc::new(TiltState {
        engine,
        model_name,
        default_max_tokens: args.max_tokens.max(1),
        max_tokens_limit: args.max_tokens.max(1).max(512),
    });
    let app = router(state, args.max_body_mb.max(1) << 20);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let addr = format!("{}:{}", args.host, args.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(addr = %local, "listening on http://{local}");
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("the server stopped")
    })
}
