//! `ocrlty serve` (the HTTP API, with in-process job workers) and `ocrlty worker` (job workers
//! only, with their probes on a small port).

use std::time::Duration;

use anyhow::Context;
use ocrlty::config::{ServeArgs, WorkerArgs};
use ocrlty::server::{AppState, JobsConfig, Role, ServerSettings};

pub fn run(args: ServeArgs) -> anyhow::Result<std::process::ExitCode> {
    let port = args.port;
    run_as(args, Role::Api, port)
}

pub fn run_worker(args: WorkerArgs) -> anyhow::Result<std::process::ExitCode> {
    if args.serve.jobs.workers == 0 {
        anyhow::bail!("a worker needs --workers of at least 1");
    }
    run_as(args.serve, Role::Worker, args.health_port)
}

fn run_as(args: ServeArgs, role: Role, port: u16) -> anyhow::Result<std::process::ExitCode> {
    let config = args.resolve()?;
    let store_settings = args.jobs.store_settings()?;
    tracing::info!(config = ?args, "effective configuration");
    let settings = ServerSettings::from_args(&args, config.request.clone());
    let grace = Duration::from_secs_f64(args.shutdown_grace.max(0.0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ocrlty-http")
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let store = jobs::open(
            args.jobs.database_url(),
            &args.jobs.data_dir,
            store_settings,
        )
        .await
        .context("cannot open the job queue")?;
        let jobs = JobsConfig {
            store,
            workers: args.jobs.workers,
            allowed_hosts: jobs::webhook::AllowedHosts::parse(&args.jobs.webhook_allowed_hosts),
            webhook_secret: args.jobs.webhook_secret.0.clone(),
        };
        let addr = format!("{}:{}", args.host, port);
        let listener = tokio::net::TcpListener::bind(&addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        let local = listener.local_addr()?;
        tracing::info!(addr = %local, ?role, "listening on http://{local}");
        let state = AppState::with_jobs(settings, Some(jobs));
        let load = move || config.build().map_err(|e| e.to_string());
        ocrlty::server::serve(listener, state, role, load, grace)
            .await
            .context("the server stopped")?;
        tracing::info!("stopped");
        Ok(std::process::ExitCode::SUCCESS)
    })
}
