//! `ocrlty`: the OCRlty command line and server.

mod doctor_cmd;
mod extract_cmd;
mod ocr_cmd;
mod serve_cmd;

use clap::{Parser, Subcommand, ValueEnum};
use ocrlty::config::{ServeArgs, WorkerArgs, parse_with_file};

/// OCRlty: receipt and invoice extraction.
#[derive(Debug, Parser)]
#[command(name = "ocrlty", version = concat!(env!("CARGO_PKG_VERSION"), " (", env!("OCRLTY_GIT_SHA"), ", built ", env!("OCRLTY_BUILD_TIME"), ")"), about)]
struct Cli {
    /// Log filter (tracing's env-filter syntax), e.g. `info` or `ocr_core=debug`
    /// (default: `info` for serve, `warn` otherwise).
    #[arg(long, env = "RUST_LOG", global = true)]
    log: Option<String>,

    /// Log lines as JSON or text (default: json for serve, text otherwise).
    #[arg(long, env = "LOG_FORMAT", global = true)]
    log_format: Option<LogFormat>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read documents (PDF pages by text layer or OCR, images by OCR) and print one JSON line
    /// per file: pages with words, lines, the path each page took and timings.
    Ocr(ocr_cmd::OcrArgs),
    /// Extract merchant, date, currency, subtotal, tax and total from documents or folders:
    /// one JSON line per file with the values, their confidence and evidence, warnings and meta.
    Extract(extract_cmd::ExtractArgs),
    /// Serve the HTTP API (POST /v1/extract, /v1/extract-batch, /v1/jobs; docs at /docs), with
    /// --workers job workers in the same process.
    Serve(ServeArgs),
    /// Run job workers only (no API): they claim jobs from the queue the API replicas fill;
    /// probes and metrics on --health-port.
    Worker(WorkerArgs),
    /// Check the native libraries, models and GPU this machine has, and say how to fix what
    /// is missing.
    Doctor,
    /// Print every setting with its default, as configs/ocrlty.env or configs/ocrlty.toml.
    Config(ConfigArgs),
}

#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct ConfigArgs {
    /// As environment variables (configs/ocrlty.env).
    #[arg(long)]
    print_env: bool,
    /// As `serve --config` keys (configs/ocrlty.toml).
    #[arg(long)]
    print_toml: bool,
}

fn main() -> std::process::ExitCode {
    let cli = match parse_with_file::<Cli>(std::env::args_os().collect(), "config") {
        Ok(c) => c,
        Err(e) => e.exit(),
    };
    let serving = matches!(cli.command, Command::Serve(_) | Command::Worker(_));
    let filter = cli
        .log
        .clone()
        .unwrap_or_else(|| if serving { "info" } else { "warn" }.into());
    let format = cli.log_format.unwrap_or(if serving {
        LogFormat::Json
    } else {
        LogFormat::Text
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&filter))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).init(),
        LogFormat::Text => builder.init(),
    }
    let result = match cli.command {
        Command::Ocr(args) => ocr_cmd::run(args),
        Command::Extract(args) => extract_cmd::run(args),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Worker(args) => serve_cmd::run_worker(args),
        Command::Doctor => doctor_cmd::run(),
        Command::Config(c) => {
            use ocrlty::config_files::{ConfigFormat, config_file};
            let format = if c.print_toml {
                ConfigFormat::Toml
            } else {
                ConfigFormat::Env
            };
            print!("{}", config_file(format));
            Ok(std::process::ExitCode::SUCCESS)
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ocrlty: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
