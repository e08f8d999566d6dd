//! The command line: clap derive only. Parsing happens here; `main` turns these into
//! configuration and use-case calls.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

macro_rules! exit_codes {
    () => {
        "Exit codes:
  0  success
  1  internal error
  2  usage error (bad flags or arguments; a confirmation needed off a terminal without --yes)
  3  bad input (file, path, header, request): fix it and run again
  4  a backend is unavailable (queue, bus, store, warehouse): run again later
  5  partial failure (some of the work was not done; see the messages)"
    };
}

macro_rules! s3_settings {
    () => {
        "Order files in S3 (region and credentials from the AWS chain):
  OMS_S3_ALLOW       s3://bucket/prefix/ list (comma-separated) files may come from
  OMS_S3_UPLOAD      s3://bucket/prefix/ where submit uploads local files (allowed too)
  OMS_S3_ENDPOINT    an S3-compatible endpoint (or AWS_ENDPOINT_URL_S3)
  OMS_S3_PATH_STYLE  path-style addressing (default: true with OMS_S3_ENDPOINT)
  ([s3] allow, upload, endpoint, path_style in oms.toml)"
    };
}

#[derive(Debug, Parser)]
#[command(
    name = "oms",
    version,
    about = "Order management for bulk order files: submit, ingest, fulfil, query",
    long_about = "Order management for bulk order files.\n\n\
        Sellers hand in CSV files (order_id,sku_id,quantity,seller_id,hub_id). `oms submit` checks \
        a file and queues it; `oms ingest` validates and stores its orders (on_hold) and publishes \
        them; `oms fulfil` reserves inventory and moves each order to new_order. With no \
        configuration everything runs on an embedded database in ./.oms.",
    after_help = concat!(
        "Example (the whole flow on one machine):\n",
        "  oms inventory load storage/inventory.csv\n",
        "  oms submit storage/orders.csv --seller 1\n",
        "  oms ingest --drain && oms fulfil --drain\n",
        "  oms orders ls --status on_hold\n\n",
        "Configuration: defaults < oms.toml (--config / OMS_CONFIG) < OMS_* environment < flags.\n\n",
        exit_codes!()
    ),
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./oms.toml when it exists]
    #[arg(long, global = true, env = "OMS_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory of the embedded database [default: ./.oms]
    #[arg(long, global = true, env = "OMS_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Directory every submitted local file must be inside [default: ./storage]
    #[arg(long, global = true, env = "OMS_STORAGE_ROOT", value_name = "DIR")]
    pub storage_root: Option<PathBuf>,
    /// Log format of the messages on stderr
    #[arg(long, global = true, env = "OMS_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// More log detail (-v debug, -vv trace); RUST_LOG overrides
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only warnings and errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Fitted to the terminal (piped: 120 columns, or COLUMNS); short ids, ages
    Table,
    /// Every column, each as wide as its values
    Wide,
    /// Full values (whole ids, RFC 3339 times)
    Json,
    /// Full values (whole ids, RFC 3339 times)
    Csv,
}

#[derive(Debug, Args)]
pub struct OutputArg {
    /// Output format
    #[arg(long, short = 'o', value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check an order file (a local path or s3://bucket/key) and queue it for ingest;
    /// prints the job id
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  oms submit storage/orders.csv --seller 1\n",
            "  oms submit s3://orders/in/2026-12-02.csv --seller 1\n",
            "  OMS_S3_UPLOAD=s3://orders/uploads/ oms submit storage/orders.csv --seller 1\n\n",
            s3_settings!(),
            "\n\nWith OMS_S3_UPLOAD a local file is uploaded (to PREFIX<sha256>.csv, once per\n",
            "content) and the job records both the file's name and the S3 URI."
        )
    )]
    Submit(SubmitArgs),
    /// Consume queued files: validate, store (on_hold), publish; runs until Ctrl-C
    #[command(
        after_help = concat!(
            "Examples:\n",
            "  oms ingest            # in a tmux pane, until Ctrl-C\n",
            "  oms ingest --drain    # process what is queued, then exit\n\n",
            "A queued s3:// file is read from S3 (exactly the version that was submitted) when\n",
            "its prefix is allowed here (OMS_S3_ALLOW); S3 being unavailable leaves the message\n",
            "for redelivery, like any backend outage.\n\n",
            s3_settings!()
        )
    )]
    Ingest(IngestArgs),
    /// Consume order events: reserve inventory, on_hold -> new_order; runs until Ctrl-C
    #[command(
        after_help = "Examples:\n  oms fulfil            # in a tmux pane, until Ctrl-C\n  oms fulfil --drain    # process every published event, then exit"
    )]
    Fulfil(FulfilArgs),
    /// Query stored orders
    #[command(
        subcommand,
        after_help = "Examples:\n  oms orders ls --status on_hold\n  oms orders show 1011 --seller 1"
    )]
    Orders(OrdersCommand),
    /// Query bulk-order jobs
    #[command(
        subcommand,
        after_help = "Examples:\n  oms jobs ls --limit 10\n  oms jobs show 6f1c2a3b"
    )]
    Jobs(JobsCommand),
    /// The embedded warehouse's stock
    #[command(
        subcommand,
        after_help = "Examples:\n  oms inventory load storage/inventory.csv\n  oms inventory ls --output json"
    )]
    Inventory(InventoryCommand),
    /// Messages that could not be processed after the maximum number of receives
    #[command(
        subcommand,
        after_help = "Examples:\n  oms dlq ls\n  oms dlq redrive     # back to the queue, after fixing the cause\n  oms dlq purge       # asks you to type the number of messages"
    )]
    Dlq(DlqCommand),
    /// The pipeline on one screen: jobs, queue depth, consumer lag, orders, last error
    #[command(
        after_help = "Examples:\n  oms status\n  oms status --watch        # redrawn in place every 2 s, until Ctrl-C\n  oms status --output json\n\nJobs queued and in progress are counted now, done and failed over the last 24 h.\nA figure a backend cannot give is shown as –."
    )]
    Status(StatusArgs),
    /// Check the configuration and every configured backend
    #[command(
        after_help = "Example:\n  oms doctor\n\nExits 4 when any check fails; each failed check says how to fix it."
    )]
    Doctor(DoctorArgs),
    /// The reference warehouse service over HTTP
    #[command(
        subcommand,
        after_help = "Example:\n  oms wms serve --bind 127.0.0.1:8082"
    )]
    Wms(WmsCommand),
    /// The bulkorder HTTP API and read-only order and job queries
    #[command(
        after_help = "Examples:\n  oms serve                                   # 127.0.0.1:8081, no token needed\n  OMS_API_TOKEN=s3cret oms serve --bind 0.0.0.0:8081\n  curl -X POST localhost:8081/api/v1/orders/bulkorder -d '{\"sellerID\":1,\"filePath\":\"storage/orders.csv\"}'\n\nfilePath is a path inside the storage root, or s3://bucket/key under an allowed prefix\n(OMS_S3_ALLOW); with OMS_S3_UPLOAD a local file is uploaded to S3 before it is queued.\n\nA non-loopback address needs OMS_API_TOKEN or a tokens file (OMS_API_TOKENS_FILE);\nwith either, every /api route needs `Authorization: Bearer TOKEN`. OMS_API_TOKEN acts\nfor every seller; a token of the file (`oms token add`) only for its sellers. The file\nis read again when it changes and on SIGHUP. The API is described at /openapi.json."
    )]
    Serve(ServeArgs),
    /// Seller-scoped API tokens of `oms serve` (the tokens file, OMS_API_TOKENS_FILE)
    #[command(
        subcommand,
        after_help = "Examples:\n  oms token add acme --seller 7 --seller 8   # prints the new token once\n  oms token ls\n  oms token rm acme\n\nThe file (OMS_API_TOKENS_FILE, or [api] tokens_file in oms.toml) holds each token's\nSHA-256 only. A running `oms serve` reads it again when it changes and on SIGHUP."
    )]
    Token(TokenCommand),
    /// Print a shell completion script
    #[command(
        after_help = "Example:\n  oms completions bash > ~/.local/share/bash-completion/completions/oms"
    )]
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The order file: a path inside the storage root, or s3://bucket/key under an
    /// allowed prefix (OMS_S3_ALLOW)
    pub file: String,
    /// The submitting seller; rows of other sellers are rejected (asked for on a
    /// terminal when missing)
    #[arg(long, short = 's', env = "OMS_SELLER")]
    pub seller: Option<String>,
    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Process everything queued (waiting for in-flight messages), then exit
    #[arg(long)]
    pub drain: bool,
}

#[derive(Debug, Args)]
pub struct FulfilArgs {
    /// Process every published event (until the group's offsets reach the end), then exit
    #[arg(long)]
    pub drain: bool,
    /// Consumer group [default: oms-fulfil]
    #[arg(long, env = "OMS_KAFKA_GROUP")]
    pub group: Option<String>,
    /// Events taken per batch (one transaction on the embedded default) [default: 20000
    /// embedded, 500 with a remote warehouse, 25 with a remote store]
    #[arg(long, env = "OMS_FULFIL_BATCH", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub batch: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum OrdersCommand {
    /// List orders (oldest first)
    #[command(
        after_help = "Examples:\n  oms orders ls --status on_hold\n  oms orders ls --seller 1 --since 2h --output json\n  oms orders ls --job 6f1c2a3b\n\nThe table fits the terminal; columns that do not fit are left out in this order:\nUPDATED, JOB, SELLER, AGE, ITEMS, REASON. --output wide shows them all."
    )]
    Ls(OrdersLsArgs),
    /// One order with its items and status history
    #[command(after_help = "Example:\n  oms orders show 1011 --seller 1")]
    Show(OrdersShowArgs),
    /// Publish on_hold orders again so `oms fulfil` tries them again (after a restock)
    #[command(
        after_help = "Examples:\n  oms orders retry --hub 3            # asks before retrying more than 5 orders\n  oms orders retry --job 6f1c2a3b --yes\n\nOnly on_hold orders are retried; the filters are those of `orders ls`."
    )]
    Retry(OrdersRetryArgs),
}

/// The filters of `orders ls` and `orders retry`.
#[derive(Debug, Args)]
pub struct OrderFilterArgs {
    /// on_hold or new_order
    #[arg(long)]
    pub status: Option<String>,
    #[arg(long)]
    pub seller: Option<String>,
    /// Orders with at least one item from this hub
    #[arg(long)]
    pub hub: Option<String>,
    /// Orders stored by this job (its id, or the start of it as the tables show it)
    #[arg(long)]
    pub job: Option<String>,
    /// Created at or after: RFC 3339 (2026-11-29T10:00:00Z), a date, or an age (30m, 2h, 7d)
    #[arg(long)]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub struct OrdersLsArgs {
    #[command(flatten)]
    pub filter: OrderFilterArgs,
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct OrdersRetryArgs {
    #[command(flatten)]
    pub filter: OrderFilterArgs,
    /// At most this many orders
    #[arg(long, default_value_t = 10_000)]
    pub limit: usize,
    /// Do not ask for confirmation (required off a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct OrdersShowArgs {
    pub order_id: String,
    /// Needed when several sellers have an order with this id
    #[arg(long)]
    pub seller: Option<String>,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// List jobs, newest first
    #[command(
        after_help = "Example:\n  oms jobs ls --limit 10\n\nThe table fits the terminal; columns that do not fit are left out in this order:\nWARNINGS, DUPLICATE, SELLER, ROWS, AGE, FILE, ERROR. --output wide shows them all."
    )]
    Ls(JobsLsArgs),
    /// One job: file, seller, state, counts and every reject with its row
    #[command(after_help = "Example:\n  oms jobs show 6f1c2a3b")]
    Show(JobsShowArgs),
    /// The rejected rows of a job as CSV (the file's own columns, then row, column and
    /// reason), for the seller to fix and submit again
    #[command(after_help = "Example:\n  oms jobs rejects 6f1c2a3b > storage/fix-me.csv")]
    Rejects(JobsRejectsArgs),
}

#[derive(Debug, Args)]
pub struct JobsRejectsArgs {
    /// The job's id, or the start of it (the 8 characters the tables show)
    pub job_id: String,
}

#[derive(Debug, Args)]
pub struct JobsLsArgs {
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct JobsShowArgs {
    /// The job's id, or the start of it (the 8 characters the tables show)
    pub job_id: String,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Subcommand)]
pub enum InventoryCommand {
    /// Set stock from a CSV file with columns hub_id,sku_id,quantity
    #[command(after_help = "Example:\n  oms inventory load storage/inventory.csv")]
    Load(InventoryLoadArgs),
    /// List stock
    #[command(after_help = "Example:\n  oms inventory ls --output json")]
    Ls(InventoryLsArgs),
}

#[derive(Debug, Args)]
pub struct InventoryLoadArgs {
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct InventoryLsArgs {
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead-lettered messages
    #[command(after_help = "Example:\n  oms dlq ls --output json")]
    Ls(DlqLsArgs),
    /// Move every dead-lettered message back to the queue
    #[command(after_help = "Example:\n  oms dlq redrive --yes")]
    Redrive(ConfirmArgs),
    /// Delete every dead-lettered message for good
    #[command(
        after_help = "Example:\n  oms dlq purge       # type the number of messages to confirm"
    )]
    Purge(ConfirmArgs),
}

#[derive(Debug, Args)]
pub struct DlqLsArgs {
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct ConfirmArgs {
    /// Do not ask for confirmation (required off a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Redraw in place every SECS seconds until Ctrl-C [default: 2]
    #[arg(long, short = 'w', value_name = "SECS", num_args = 0..=1, default_missing_value = "2",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub watch: Option<u64>,
    /// Output format (json: the figures once)
    #[arg(long, short = 'o', value_enum, default_value_t = StatusFormat::Table)]
    pub output: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Table,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum WmsCommand {
    /// Serve the embedded inventory of the data dir as a warehouse over HTTP: the
    /// original wms-service endpoints plus an all-or-nothing, idempotent batch reserve
    #[command(
        after_help = "Examples:\n  oms wms serve --bind 127.0.0.1:8082\n  OMS_WMS_URL=http://127.0.0.1:8082 oms ingest\n  OMS_WMS_TOKEN=s3cret oms wms serve --bind 0.0.0.0:8082\n  OMS_WMS_URL=http://wms:8082 OMS_WMS_TOKEN=s3cret oms ingest\n\nA non-loopback address needs OMS_WMS_TOKEN; with a token every /api route needs\n`Authorization: Bearer TOKEN`, which oms sends when OMS_WMS_TOKEN is set where it runs."
    )]
    Serve(WmsServeArgs),
}

#[derive(Debug, Args)]
pub struct WmsServeArgs {
    /// Address to listen on
    #[arg(long, env = "OMS_WMS_BIND", default_value = "127.0.0.1:8082")]
    pub bind: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "OMS_API_BIND", default_value = "127.0.0.1:8081")]
    pub bind: String,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Make a new token for some sellers (or all); prints it once, stores its SHA-256
    #[command(
        after_help = "Examples:\n  oms token add acme --seller 7\n  oms token add reports --all-sellers"
    )]
    Add(TokenAddArgs),
    /// List the tokens: names, sellers, when each was added (never a token)
    #[command(after_help = "Example:\n  oms token ls --output json")]
    Ls(TokenLsArgs),
    /// Remove a token (a running `oms serve` refuses it once it has read the file again)
    #[command(after_help = "Example:\n  oms token rm acme")]
    Rm(TokenRmArgs),
}

#[derive(Debug, Args)]
pub struct TokenAddArgs {
    /// The token's name (letters, digits, '.', '_', '-'), in logs and `oms token ls`
    pub name: String,
    /// A seller the token may submit for and read (repeat for several)
    #[arg(long, short = 's', required_unless_present = "all_sellers")]
    pub seller: Vec<String>,
    /// The token may act for every seller
    #[arg(long, conflicts_with = "seller")]
    pub all_sellers: bool,
}

#[derive(Debug, Args)]
pub struct TokenLsArgs {
    #[command(flatten)]
    pub output: OutputArg,
}

#[derive(Debug, Args)]
pub struct TokenRmArgs {
    pub name: String,
}
