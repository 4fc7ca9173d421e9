//! `ocrlty serve`: the HTTP API.

use std::time::Duration;

use anyhow::Context;
use ocrlty::config::ServeArgs;
use ocrlty::server::{AppState, ServerSettings};

pub fn run(args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let config = args.resolve()?;
    tracing::info!(config = ?args, "effective configuration");
    let settings = ServerSettings::from_args(&args, config.request.clone());
    let grace = Duration::from_secs_f64(args.shutdown_grace.max(0.0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ocrlty-http")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let addr = format!("{}:{}", args.host, args.port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(addr = %local, "listening on http://{local}");
        let state = AppState::new(settings);
        let load = move || config.build().map_err(|e| e.to_string());
        ocrlty::server::serve(listener, state, load, grace)
            .await
            .context("the server stopped")?;
        tracing::info!("stopped");
        Ok(std::process::ExitCode::SUCCESS)
    })
}
