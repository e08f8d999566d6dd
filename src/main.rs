//! The `oms` binary: parse the command line, set up logging, run the use case, and map
//! errors to the documented exit codes.

use anyhow::Context;
use clap::{CommandFactory, Parser};
use oms::app::{self, AppError, Shutdown, files::StorageRoot, orders};
use oms::cli::{
    Cli, Command, DlqCommand, InventoryCommand, JobsCommand, LogFormat, OrderFilterArgs,
    OrdersCommand, OutputFormat, WmsCommand,
};
use oms::config::{Config, Overrides, StoreChoice, WmsChoice};
use oms::domain::{self, SellerId};
use oms::ui::{self, Format};
use std::io::Write;
use std::process::ExitCode;

const EXIT_INTERNAL: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_BAD_INPUT: u8 = 3;
const EXIT_UNAVAILABLE: u8 = 4;
const EXIT_PARTIAL: u8 = 5;

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
            return ExitCode::from(EXIT_INTERNAL);
        }
    };
    let result = rt.block_on(run(cli));
    // Dropping the runtime would wait for every blocking task; one stuck in a client
    // library (a Kafka request nobody answers) must not keep the process alive.
    rt.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if e.downcast_ref::<UsageError>().is_some() {
                eprintln!("error: {e:#}");
                return ExitCode::from(EXIT_USAGE);
            }
            let code = match e.downcast_ref::<AppError>() {
                Some(AppError::BadInput(_) | AppError::NotFound(_)) => EXIT_BAD_INPUT,
                Some(AppError::Unavailable(_)) => EXIT_UNAVAILABLE,
                _ => EXIT_INTERNAL,
            };
            eprintln!("error: {e:#}");
            ExitCode::from(code)
        }
    }
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
        .with_writer(ui::progress::log_writer)
        .with_target(false);
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let ansi = !no_color && std::io::IsTerminal::is_terminal(&std::io::stderr());
    match cli.global.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.with_ansi(ansi).compact().init(),
    }
}

fn fmt(o: OutputFormat) -> Format {
    match o {
        OutputFormat::Table => Format::Table,
        OutputFormat::Json => Format::Json,
        OutputFormat::Csv => Format::Csv,
    }
}

/// More orders than this and `orders retry` asks first.
const ASK_ABOVE: usize = 5;

fn filter_text(f: &OrderFilterArgs) -> orders::FilterText<'_> {
    orders::FilterText {
        status: f.status.as_deref(),
        seller: f.seller.as_deref(),
        hub: f.hub.as_deref(),
        job: f.job.as_deref(),
        since: f.since.as_deref(),
    }
}

/// A question that cannot be asked is a usage error (exit 2): the flag is missing.
fn usage(e: ui::prompt::PromptError) -> anyhow::Error {
    UsageError(e.to_string()).into()
}

/// An error that exits 2 like clap's usage errors.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn bad(e: impl std::fmt::Display) -> anyhow::Error {
    AppError::BadInput(e.to_string()).into()
}

fn print(s: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        // A closed pipe (`oms orders ls | head`) is not an error.
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

async fn run(cli: Cli) -> anyhow::Result<u8> {
    if let Command::Completions(a) = &cli.command {
        let mut cmd = Cli::command();
        let mut out = Vec::new();
        clap_complete::generate(a.shell, &mut cmd, "oms", &mut out);
        print(&String::from_utf8_lossy(&out))?;
        return Ok(0);
    }
    let overrides = Overrides {
        config: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        storage_root: cli.global.storage_root.clone(),
    };
    if let Command::Doctor(a) = &cli.command {
        // Before connecting: doctor reports a configuration or a backend that is wrong
        // or down, it does not fail on it.
        let checks = match Config::load(&overrides) {
            Ok(config) => app::doctor::run(&config).await,
            Err(e) => app::doctor::unloadable(&e),
        };
        print(&ui::checks(fmt(a.output.output), &checks))?;
        return Ok(if checks.iter().all(|c| c.ok) {
            0
        } else {
            EXIT_UNAVAILABLE
        });
    }
    let config = Config::load(&overrides).map_err(|e| bad(format!("{e:#}")))?;
    if let Command::Inventory(_) | Command::Wms(_) = &cli.command {
        return inventory_commands(cli.command, &config).await;
    }
    let b = if matches!(
        &cli.command,
        Command::Ingest(_) | Command::Fulfil(_) | Command::Serve(_)
    ) {
        config.worker_backends().await?
    } else {
        config.backends().await?
    };

    match cli.command {
        Command::Submit(a) => {
            let raw = match a.seller {
                Some(s) => s,
                None => match ui::prompt::ask("Seller id (--seller)").map_err(bad)? {
                    Some(s) => s,
                    None => {
                        // Off a terminal a missing --seller is the usual usage error.
                        Cli::command()
                            .error(
                                clap::error::ErrorKind::MissingRequiredArgument,
                                "the following required argument was not provided: --seller <SELLER>",
                            )
                            .exit()
                    }
                },
            };
            let seller = SellerId::parse(&raw).map_err(|e| bad(format!("--seller {e}")))?;
            let root = StorageRoot::open(&config.storage_root).map_err(bad)?;
            let view = std::sync::Arc::new(ui::progress::SubmitView::new(!cli.global.quiet));
            let done =
                app::submit::submit_observed(&b, &root, &seller, &a.file, view.clone()).await;
            view.finish();
            let done = done?;
            if a.json {
                print(&format!("{}\n", serde_json::to_string_pretty(&done)?))?;
            } else {
                tracing::info!(file = %done.file_path, sha256 = %done.sha256, bytes = done.bytes, "queued");
                print(&format!("{}\n", done.job_id))?;
            }
            Ok(0)
        }
        Command::Ingest(a) => {
            let root = StorageRoot::open(&config.storage_root).map_err(bad)?;
            let opts = app::ingest::IngestOptions {
                drain: a.drain,
                wait: if a.drain {
                    config.queue_wait.min(std::time::Duration::from_secs(1))
                } else {
                    config.queue_wait
                },
                visibility: config.queue.visibility_timeout,
                ..app::ingest::IngestOptions::default()
            };
            tracing::info!(backends = %config.describe(), storage_root = %config.storage_root.display(), drain = a.drain, "ingest started");
            let view = std::sync::Arc::new(ui::progress::IngestView::new(!cli.global.quiet));
            let t = app::ingest::run(&b, &root, opts, shutdown_on_signals(), view.clone()).await;
            view.finish();
            let t = t?;
            tracing::info!(
                messages = t.messages,
                jobs_done = t.jobs_done,
                jobs_failed = t.jobs_failed,
                left = t.left_for_redelivery,
                rows = t.rows,
                accepted = t.orders_accepted,
                rejected = t.orders_rejected,
                duplicate = t.orders_duplicate,
                "ingest stopped"
            );
            Ok(
                if a.drain && (t.left_for_redelivery > 0 || t.jobs_failed > 0) {
                    EXIT_PARTIAL
                } else {
                    0
                },
            )
        }
        Command::Fulfil(a) => {
            let local_store = matches!(config.store_backend, StoreChoice::Embedded);
            let local = local_store && matches!(config.wms_backend, WmsChoice::Embedded);
            let opts = app::fulfil::FulfilOptions {
                group: a.group.unwrap_or(config.group.clone()),
                drain: a.drain,
                // A local batch is one quick transaction; with a remote warehouse its
                // reservations are sent several at once; a remote store is a round trip
                // per event.
                batch: if let Some(n) = a.batch {
                    n as usize
                } else if local {
                    app::fulfil::FulfilOptions::default().batch
                } else if local_store {
                    app::fulfil::REMOTE_WMS_BATCH
                } else {
                    app::fulfil::REMOTE_BATCH
                },
                ..app::fulfil::FulfilOptions::default()
            };
            tracing::info!(backends = %config.describe(), group = %opts.group, drain = a.drain, "fulfil started");
            let view = std::sync::Arc::new(ui::progress::FulfilView::new(
                !cli.global.quiet,
                &opts.group,
            ));
            let t = app::fulfil::run(&b, &opts, shutdown_on_signals(), view.clone()).await;
            view.finish();
            let t = t?;
            tracing::info!(
                events = t.events,
                new_order = t.new_order,
                on_hold = t.on_hold,
                skipped = t.skipped,
                "fulfil stopped"
            );
            if a.drain && !t.drained {
                tracing::warn!(
                    "stopped before the end of the log: events are left for the next run"
                );
                return Ok(EXIT_PARTIAL);
            }
            Ok(0)
        }
        Command::Orders(OrdersCommand::Ls(a)) => {
            let filter = orders::parse_filter(filter_text(&a.filter), a.limit, 0)?;
            let found = b.store.list_orders(&filter).await.map_err(AppError::from)?;
            print(&ui::orders(fmt(a.output.output), &found))?;
            Ok(0)
        }
        Command::Orders(OrdersCommand::Show(a)) => {
            let order = orders::find(&b, &a.order_id, a.seller.as_deref()).await?;
            print(&ui::order(fmt(a.output.output), &order))?;
            Ok(0)
        }
        Command::Orders(OrdersCommand::Retry(a)) => {
            let filter = orders::parse_filter(filter_text(&a.filter), a.limit, 0)?;
            let found = orders::on_hold(&b, &filter).await?;
            if found.is_empty() {
                tracing::info!("no on_hold order matches");
                return Ok(0);
            }
            if found.len() > ASK_ABOVE && !a.yes {
                let q = format!("Retry {} on_hold orders?", found.len());
                if !ui::prompt::confirm(&q, "pass --yes to retry without asking").map_err(usage)? {
                    tracing::info!("nothing retried");
                    return Ok(0);
                }
            }
            let n = orders::retry(&b, &found).await?;
            tracing::info!(orders = n, "published again; `oms fulfil` will try them");
            print(&format!("{n}\n"))?;
            Ok(0)
        }
        Command::Jobs(JobsCommand::Ls(a)) => {
            let jobs = b.store.list_jobs(a.limit).await.map_err(AppError::from)?;
            print(&ui::jobs(fmt(a.output.output), &jobs))?;
            Ok(0)
        }
        Command::Jobs(JobsCommand::Rejects(a)) => {
            let root = StorageRoot::open(&config.storage_root).ok();
            let mut out = std::io::stdout();
            let n = orders::write_rejects(&b, root.as_ref(), &a.job_id, &mut out).await?;
            tracing::debug!(rejects = n, "rejects written");
            Ok(0)
        }
        Command::Dlq(DlqCommand::Ls(a)) => {
            let letters = b
                .queue
                .dead_letters(a.limit)
                .await
                .map_err(AppError::from)?;
            print(&ui::dead_letters(fmt(a.output.output), &letters))?;
            Ok(0)
        }
        Command::Dlq(DlqCommand::Redrive(a)) => {
            let ask = |dead: u64| {
                let q = format!("Move {dead} dead-lettered messages back to the queue?");
                ui::prompt::confirm(&q, "pass --yes to redrive without asking")
            };
            let act = async || b.queue.redrive().await;
            on_dead_letters(
                &b,
                a.yes,
                ask,
                act,
                "nothing moved",
                "moved back to the queue",
            )
            .await
        }
        Command::Dlq(DlqCommand::Purge(a)) => {
            let ask = |dead: u64| {
                let q = format!("Delete {dead} dead-lettered messages for good?");
                let expected = dead.to_string();
                ui::prompt::confirm_typed(&q, &expected, "pass --yes to purge without asking")
            };
            let act = async || b.queue.purge_dead().await;
            on_dead_letters(&b, a.yes, ask, act, "nothing deleted", "deleted").await
        }
        Command::Jobs(JobsCommand::Show(a)) => {
            let job = b
                .store
                .get_job(&a.job_id)
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| bad(format!("no job {}", a.job_id)))?;
            print(&ui::job(fmt(a.output.output), &job))?;
            Ok(0)
        }
        Command::Serve(a) => {
            let token = std::env::var("OMS_API_TOKEN").ok();
            let addr: std::net::SocketAddr = tokio::net::lookup_host(&a.bind)
                .await
                .ok()
                .and_then(|mut it| it.next())
                .ok_or_else(|| bad(format!("--bind {}: not an address", a.bind)))?;
            oms::http::api::check_bind(&addr, token.as_deref()).map_err(bad)?;
            let root = StorageRoot::open(&config.storage_root).map_err(bad)?;
            let listener = tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("cannot listen on {addr}"))?;
            tracing::info!(
                addr = %listener.local_addr()?,
                backends = %config.describe(),
                auth = token.is_some(),
                "serving the bulkorder API"
            );
            let state =
                oms::http::api::ApiState::new(b, root, config.group.clone(), token.as_deref());
            let mut shutdown = shutdown_on_signals();
            oms::http::api::serve(listener, state, async move { shutdown.wait().await })
                .await
                .context("the API server failed")?;
            tracing::info!("the API server stopped");
            Ok(0)
        }
        Command::Inventory(_) | Command::Wms(_) | Command::Doctor(_) => {
            unreachable!("handled above")
        }
        Command::Completions(_) => unreachable!("handled above"),
    }
}

/// `dlq redrive` and `dlq purge`: nothing to do on an empty dead-letter queue;
/// otherwise `ask` (unless `--yes`), then `act`, and print how many messages it
/// handled.
async fn on_dead_letters(
    b: &app::Backends,
    yes: bool,
    ask: impl FnOnce(u64) -> Result<bool, ui::prompt::PromptError>,
    act: impl AsyncFnOnce() -> Result<u64, oms::ports::QueueError>,
    declined: &str,
    done: &str,
) -> anyhow::Result<u8> {
    let dead = b.queue.depth().await.map_err(AppError::from)?.dead;
    if dead == 0 {
        tracing::info!("the dead-letter queue is empty");
        print("0\n")?;
        return Ok(0);
    }
    if !yes && !ask(dead).map_err(usage)? {
        tracing::info!("{declined}");
        return Ok(0);
    }
    let n = act().await.map_err(AppError::from)?;
    tracing::info!(messages = n, "{done}");
    print(&format!("{n}\n"))?;
    Ok(0)
}

/// The embedded warehouse's own commands: they need no other backend.
async fn inventory_commands(command: Command, config: &Config) -> anyhow::Result<u8> {
    let inventory = config.inventory()?;
    match command {
        Command::Inventory(InventoryCommand::Load(a)) => {
            let f = std::fs::File::open(&a.file)
                .map_err(|e| bad(format!("{}: {e}", a.file.display())))?;
            let lines =
                domain::stock_file::parse_stock(std::io::BufReader::new(f)).map_err(|errs| {
                    bad(format!(
                        "{}: nothing loaded:\n  {}",
                        a.file.display(),
                        errs.join("\n  ")
                    ))
                })?;
            let lines = lines
                .into_iter()
                .map(|s| oms::adapters::embedded::StockLine {
                    hub_id: s.hub_id.to_string(),
                    sku_id: s.sku_id.to_string(),
                    quantity: s.quantity,
                })
                .collect();
            let n = inventory.load(lines).await.map_err(AppError::from)?;
            tracing::info!(lines = n, file = %a.file.display(), "inventory loaded");
            Ok(0)
        }
        Command::Inventory(InventoryCommand::Ls(a)) => {
            let lines = inventory.list().await.map_err(AppError::from)?;
            print(&ui::stock(fmt(a.output.output), &lines))?;
            Ok(0)
        }
        Command::Wms(WmsCommand::Serve(a)) => {
            let listener = tokio::net::TcpListener::bind(&a.bind)
                .await
                .with_context(|| format!("cannot listen on {}", a.bind))?;
            tracing::info!(
                addr = %listener.local_addr()?,
                data_dir = %config.data_dir.display(),
                "reference warehouse listening"
            );
            let mut shutdown = shutdown_on_signals();
            oms::http::wms::serve(listener, inventory, async move { shutdown.wait().await })
                .await
                .context("the warehouse server failed")?;
            Ok(0)
        }
        _ => unreachable!("only inventory and wms commands come here"),
    }
}
