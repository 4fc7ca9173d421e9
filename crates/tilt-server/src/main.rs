//! `tilt-server`: Arctic-TILT behind HTTP on :8001 (see the `tilt_server` library).

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;
use kie_tilt::TiltArgs;
use tilt_server::{TiltState, router, shutdown_signal};

/// Serves an Arctic-TILT model directory: /v1/tilt/generate, /v1/chat/completions
/// (input_ocr_document), /v1/models, /health, /ping.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The model, device, dtype, batch and queue (shared with `ocrlty`; TILT_MODEL is required).
    #[command(flatten)]
    tilt: TiltArgs,

    /// The model name listed by /v1/models (default: the directory's name).
    #[arg(long, env = "TILT_MODEL_NAME")]
    model_name: Option<String>,

    #[arg(long, env = "TILT_HOST", default_value = "0.0.0.0")]
    host: String,

    /// Port (0: any free port; the chosen one is logged).
    #[arg(long, env = "TILT_PORT", default_value_t = 8001)]
    port: u16,

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
    let settings = args
        .tilt
        .settings()?
        .context("no model: set TILT_MODEL (or --tilt-model) to a model directory")?;
    let engine = settings
        .load_engine()
        .with_context(|| format!("cannot load the model in {}", settings.model_dir.display()))?;
    let model_name = args.model_name.clone().unwrap_or_else(|| {
        settings
            .model_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "arctic-tilt".into())
    });
    let state = Arc::new(TiltState {
        engine,
        model_name,
        default_max_tokens: settings.max_tokens,
        max_tokens_limit: settings.max_tokens.max(512),
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
            .with_graceful_shutdown(shutdown_signal())
            .await
            .context("the server stopped")
    })
}
