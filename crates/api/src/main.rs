//! `ocrlty`: the OCRlty command line.

mod extract_cmd;
mod ocr_cmd;

use clap::{Parser, Subcommand};

/// OCRlty: receipt and invoice extraction.
#[derive(Debug, Parser)]
#[command(name = "ocrlty", version, about)]
struct Cli {
    /// Log filter (tracing's env-filter syntax), e.g. `info` or `ocr_core=debug`.
    #[arg(long, env = "RUST_LOG", default_value = "warn", global = true)]
    log: String,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read documents (PDF pages by text layer or OCR, images by OCR) and print one JSON line
    /// per file: pages with words, lines, the path each page took and timings.
    Ocr(ocr_cmd::OcrArgs),
    /// Extract merchant, date, currency, subtotal, tax and total from documents: one JSON line
    /// per file with the values, their confidence and evidence, warnings and timings.
    Extract(extract_cmd::ExtractArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(&cli.log))
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Ocr(args) => ocr_cmd::run(args),
        Command::Extract(args) => extract_cmd::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("ocrlty: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}
