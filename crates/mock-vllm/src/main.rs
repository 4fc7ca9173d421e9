//! `mock-vllm [--port 8001]`: a stand-in for vLLM's OpenAI-compatible server.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;
use mock_vllm::{Answers, Envelope, Faults, MockState, router};

/// A stand-in for vLLM (OpenAI-compatible) with fault injection, for local runs and tests.
#[derive(Debug, Parser)]
#[command(name = "mock-vllm", version, about)]
struct Args {
    /// Port (0: any free port; the address is printed at start).
    #[arg(long, env = "MOCK_VLLM_PORT", default_value_t = 8001)]
    port: u16,
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Model id served.
    #[arg(long, default_value = "Snowflake/snowflake-arctic-tilt-v1.3")]
    model: String,
    /// Canned answers: a JSON object of field name → answer, used instead of the layout rules.
    #[arg(long)]
    answers: Option<PathBuf>,
    /// Added latency per model request, ms.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Fraction of model requests answered with --error-status.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    #[arg(long, default_value_t = 503)]
    error_status: u16,
    /// Error body shape: openai, vllm or fastapi.
    #[arg(long, default_value = "openai")]
    envelope: String,
    /// Fraction of model requests answered with truncated JSON.
    #[arg(long, default_value_t = 0.0)]
    malformed_rate: f64,
    /// Fraction of model requests whose connection is dropped mid-answer.
    #[arg(long, default_value_t = 0.0)]
    drop_rate: f64,
    /// Trickle each answer over this many ms.
    #[arg(long, default_value_t = 0)]
    slow_ms: u64,
}

fn main() -> anyhow::Result<()> {
    let t0 = Instant::now();
    let a = Args::parse();
    let envelope: Envelope = serde_json::from_value(serde_json::json!(a.envelope))
        .with_context(|| format!("--envelope '{}' is not openai, vllm or fastapi", a.envelope))?;
    let answers: Option<Answers> = match &a.answers {
        Some(p) => Some(
            serde_json::from_str(
                &std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            )
            .with_context(|| format!("{}: expected a JSON object (field → string, line_items and tax_breakdown → lists)", p.display()))?,
        ),
        None => None,
    };
    let faults = Faults {
        latency_ms: a.latency_ms,
        error_rate: a.error_rate,
        error_status: a.error_status,
        envelope,
        malformed_rate: a.malformed_rate,
        drop_rate: a.drop_rate,
        slow_ms: a.slow_ms,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind((a.host.as_str(), a.port))
            .await
            .with_context(|| format!("cannot listen on {}:{}", a.host, a.port))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "mock-vllm listening on http://{addr} (model {}, started in {:.1} ms)",
            a.model,
            t0.elapsed().as_secs_f64() * 1e3
        );
        let app = router(MockState::new(a.model, faults, answers));
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await?;
        Ok(())
    })
}

/// Resolves on SIGTERM (how orchestrators stop a container) or Ctrl-C.
async fn shutdown_signal() {
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = term => {},
    }
}
