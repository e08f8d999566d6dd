//! The `oms` binary: parse the command line, set up logging and the runtime, run the
//! command, and map what ended it to the documented exit codes.

use clap::Parser;
use oms::cli::{Cli, LogFormat};
use oms::commands::{self, exit};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(exit::INTERNAL);
        }
    };
    let result = rt.block_on(commands::run(cli));
    // Dropping the runtime would wait for every blocking task; one stuck in a client
    // library (a Kafka request nobody answers) must not keep the process alive.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {}", chain(e.as_ref()));
            ExitCode::from(commands::exit_code(&e))
        }
    }
}

/// An error and its sources, each said once: `a: b: c` (a port error repeats the
/// summary of the detail it wraps; a driver's error may repeat its own cause).
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

fn init_tracing(cli: &Cli) {
    use tracing_subscriber::EnvFilter;
    let level = if cli.global.quiet {
        "warn"
    } else {
        match cli.global.verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{level},oms={level}")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(oms::ui::progress::log_writer)
        .with_target(false);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = !no_color && std::io::IsTerminal::is_terminal(&std::io::stderr());
    match cli.global.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(ansi).compact().init(),
    }
}
