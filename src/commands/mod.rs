//! One file per subcommand: parsed arguments -> use case -> rendered output -> exit
//! code. What every command shares (printing, output formats, the exit codes, the
//! shutdown signal) is here.

mod completions;
mod dlq;
mod doctor;
mod fulfil;
mod ingest;
mod inventory;
mod jobs;
mod orders;
mod serve;
mod status;
mod submit;
mod token;
mod wms;

use crate::app::{AppError, Shutdown};
use crate::cli::{Cli, Command, OutputFormat};
use crate::config::{Config, Overrides};
use crate::ui::{self, Format};
use anyhow::Context;
use std::io::Write;

/// The documented exit codes (`oms --help`, the README).
pub mod exit {
    pub const OK: u8 = 0;
    pub const INTERNAL: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const BAD_INPUT: u8 = 3;
    pub const UNAVAILABLE: u8 = 4;
    pub const PARTIAL: u8 = 5;
}

/// Runs the command; its exit code, or the error the edge maps to one.
///
/// # Errors
/// [`UsageError`], [`AppError`] and anything else, for [`exit_code`].
pub async fn run(cli: Cli) -> anyhow::Result<u8> {
    let overrides = Overrides {
        config: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        storage_root: cli.global.storage_root.clone(),
    };
    let quiet = cli.global.quiet;
    match cli.command {
        Command::Completions(a) => completions::run(&a),
        // Before connecting: doctor reports a configuration or a backend that is wrong
        // or down, it does not fail on it.
        Command::Doctor(a) => doctor::run(&a, &overrides).await,
        command => {
            let config = Config::load(&overrides).map_err(|e| bad(format!("{e:#}")))?;
            match command {
                Command::Submit(a) => submit::run(a, &config, quiet).await,
                Command::Ingest(a) => ingest::run(&a, &config, quiet).await,
                Command::Fulfil(a) => fulfil::run(a, &config, quiet).await,
                Command::Orders(c) => orders::run(c, &config).await,
                Command::Jobs(c) => jobs::run(c, &config).await,
                Command::Dlq(c) => dlq::run(c, &config).await,
                Command::Inventory(c) => inventory::run(c, &config).await,
                Command::Status(a) => status::run(&a, &config).await,
                Command::Wms(c) => wms::run(c, &config).await,
                Command::Serve(a) => serve::run(&a, &config).await,
                Command::Token(c) => token::run(c, &config),
                Command::Completions(_) | Command::Doctor(_) => unreachable!("handled above"),
            }
        }
    }
}

/// The exit code for an error that ended a command.
#[must_use]
pub fn exit_code(e: &anyhow::Error) -> u8 {
    if e.downcast_ref::<UsageError>().is_some() {
        return exit::USAGE;
    }
    match e.downcast_ref::<AppError>() {
        Some(AppError::BadInput(_) | AppError::NotFound(_)) => exit::BAD_INPUT,
        Some(AppError::Unavailable(_)) => exit::UNAVAILABLE,
        _ => exit::INTERNAL,
    }
}

/// An error that exits 2 like clap's usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(String);

/// A question that cannot be asked is a usage error (exit 2): the flag is missing.
fn usage(e: ui::prompt::PromptError) -> anyhow::Error {
    UsageError(e.to_string()).into()
}

/// Bad input (exit 3).
fn bad(e: impl std::fmt::Display) -> anyhow::Error {
    AppError::BadInput(e.to_string()).into()
}

/// How a listing is rendered: in the format asked for, fitted to the terminal, now.
fn view(o: OutputFormat) -> ui::View {
    ui::View::new(match o {
        OutputFormat::Table => Format::Table,
        OutputFormat::Wide => Format::Wide,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    })
}

/// Writes `s` to stdout; a closed pipe (`oms orders ls | head`) is not an error.
fn print(s: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r.context("cannot write to stdout"),
    }
}

/// Ctrl-C or SIGTERM asks the long-running loops to finish; a second one exits at once.
fn shutdown_on_signals() -> Shutdown {
    let (trigger, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        wait_signal().await;
        tracing::info!("shutting down: finishing the work in hand (again to quit at once)");
        trigger.trigger();
        wait_signal().await;
        std::process::exit(130);
    });
    shutdown
}

async fn wait_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {},
                    _ = term.recv() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
