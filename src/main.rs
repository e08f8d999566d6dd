//! The `oms` binary: parse the command line, set up logging, run the use case, and map
//! errors to the documented exit codes.

use anyhow::Context;
use clap::{CommandFactory, Parser};
use oms::app::{self, AppError, Shutdown, files::StorageRoot};
use oms::cli::{
    Cli, Command, InventoryCommand, JobsCommand, LogFormat, OrdersCommand, OutputFormat, WmsCommand,
};
use oms::config::{Config, Overrides, StoreChoice, WmsChoice};
use oms::domain::{self, HubId, OrderId, OrderKey, SellerId, Status};
use oms::ports::OrderFilter;
use oms::ui::{self, Format};
use std::io::Write;
use std::process::ExitCode;

const EXIT_INTERNAL: u8 = 1;
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
    match rt.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = match e.downcast_ref::<AppError>() {
                Some(AppError::BadInput(_)) => EXIT_BAD_INPUT,
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
        .with_writer(std::io::stderr)
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
    let config = Config::load(&Overrides {
        config: cli.global.config.clone(),
        data_dir: cli.global.data_dir.clone(),
        storage_root: cli.global.storage_root.clone(),
    })
    .map_err(|e| bad(format!("{e:#}")))?;
    match &cli.command {
        Command::Inventory(_) | Command::Wms(_) => {
            return inventory_commands(cli.command, &config).await;
        }
        _ => {}
    }
    let b = config.backends().await?;

    match cli.command {
        Command::Submit(a) => {
            let seller = SellerId::parse(&a.seller).map_err(|e| bad(format!("--seller {e}")))?;
            let root = StorageRoot::open(&config.storage_root).map_err(bad)?;
            let done = app::submit::submit(&b, &root, &seller, &a.file).await?;
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
            let t = app::ingest::run(&b, &root, opts, shutdown_on_signals()).await?;
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
            let local = matches!(config.store_backend, StoreChoice::Embedded)
                && matches!(config.wms_backend, WmsChoice::Embedded);
            let opts = app::fulfil::FulfilOptions {
                group: a.group.unwrap_or(config.group.clone()),
                drain: a.drain,
                // A local batch is one quick transaction; a remote one a round trip per event.
                batch: if local {
                    app::fulfil::FulfilOptions::default().batch
                } else {
                    app::fulfil::REMOTE_BATCH
                },
                ..app::fulfil::FulfilOptions::default()
            };
            tracing::info!(backends = %config.describe(), group = %opts.group, drain = a.drain, "fulfil started");
            let t = app::fulfil::run(&b, &opts, shutdown_on_signals()).await?;
            tracing::info!(
                events = t.events,
                new_order = t.new_order,
                on_hold = t.on_hold,
                skipped = t.skipped,
                "fulfil stopped"
            );
            Ok(0)
        }
        Command::Orders(OrdersCommand::Ls(a)) => {
            let filter = OrderFilter {
                status: a
                    .status
                    .as_deref()
                    .map(str::parse::<Status>)
                    .transpose()
                    .map_err(bad)?,
                seller: a
                    .seller
                    .as_deref()
                    .map(SellerId::parse)
                    .transpose()
                    .map_err(|e| bad(format!("--seller {e}")))?,
                hub: a
                    .hub
                    .as_deref()
                    .map(HubId::parse)
                    .transpose()
                    .map_err(|e| bad(format!("--hub {e}")))?,
                job: a.job,
                order_id: None,
                since: a
                    .since
                    .as_deref()
                    .map(|s| domain::timestamp::parse_since(s, time::OffsetDateTime::now_utc()))
                    .transpose()
                    .map_err(bad)?,
                offset: 0,
                limit: a.limit,
            };
            let orders = b.store.list_orders(&filter).await.map_err(AppError::from)?;
            print(&ui::orders(fmt(a.output.output), &orders))?;
            Ok(0)
        }
        Command::Orders(OrdersCommand::Show(a)) => {
            let order_id = OrderId::parse(&a.order_id).map_err(|e| bad(format!("order id {e}")))?;
            let seller = match a.seller {
                Some(s) => SellerId::parse(&s).map_err(|e| bad(format!("--seller {e}")))?,
                None => {
                    let found = b
                        .store
                        .list_orders(&OrderFilter {
                            order_id: Some(order_id.clone()),
                            limit: 2,
                            ..OrderFilter::default()
                        })
                        .await
                        .map_err(AppError::from)?;
                    match found.as_slice() {
                        [one] => one.seller_id.clone(),
                        [] => return Err(bad(format!("no order {order_id}"))),
                        _ => {
                            return Err(bad(format!(
                                "several sellers have an order {order_id}: add --seller"
                            )));
                        }
                    }
                }
            };
            let key = OrderKey {
                seller_id: seller,
                order_id,
            };
            let order = b
                .store
                .get_order(&key)
                .await
                .map_err(AppError::from)?
                .ok_or_else(|| {
                    bad(format!(
                        "no order {} of seller {}",
                        key.order_id, key.seller_id
                    ))
                })?;
            print(&ui::order(fmt(a.output.output), &order))?;
            Ok(0)
        }
        Command::Jobs(JobsCommand::Ls(a)) => {
            let jobs = b.store.list_jobs(a.limit).await.map_err(AppError::from)?;
            print(&ui::jobs(fmt(a.output.output), &jobs))?;
            Ok(0)
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
        Command::Inventory(_) | Command::Wms(_) => unreachable!("handled above"),
        Command::Completions(_) => unreachable!("handled above"),
    }
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
