//! `oms doctor`: checks the configuration and every configured backend, each as a
//! [`Check`] with a concrete fix when it fails.
//!
//! - `configuration`: which adapter serves each port (no secrets).
//! - `storage root`: exists, is a directory, can be listed.
//! - `embedded database` (when any port is embedded): the data dir is writable, the
//!   schema opens, the journal is in WAL mode.
//! - `queue`: embedded: its depth; SQS: reachable with the credentials in force, the
//!   queue present (created, with its dead-letter queue, when missing, as every `oms`
//!   command does on connecting), its depth; then `dead-letter queue`: the redrive
//!   policy and the queue it names.
//! - `bus`: embedded: partitions and the group's lag; Kafka: a broker answers, the topic
//!   and its partitions (created when missing, as `oms` does), the group's lag.
//! - `store`: embedded: the orders and jobs held; MongoDB: the server answers, the
//!   collections, the unique (seller_id, order_id) index and the filter indexes are
//!   present (created when missing, as `oms` does).
//! - `warehouse`: embedded: its stock lines; HTTP: `validate_order` answers within the
//!   timeout, and whether the batch `reserve` endpoint exists.
//!
//! Doctor is an edge tool: it uses the configuration and the adapters directly. Every
//! check runs on a thread of its own with a time limit, so a backend that does not
//! answer costs at most [`CHECK_TIMEOUT`] (the checks of the ports run at the same
//! time), and nothing a backend does makes doctor panic or hang.

use crate::adapters::embedded::{Db, EmbeddedBus, EmbeddedQueue, EmbeddedWarehouse};
use crate::adapters::kafka::{KafkaBus, KafkaSettings};
use crate::adapters::mongo::{MongoInspection, MongoStore};
use crate::adapters::sqs::{SqsQueue, SqsSettings};
use crate::adapters::wms_http::HttpWarehouse;
use crate::config::{BusChoice, Config, QueueChoice, StoreChoice, WmsChoice};
use crate::domain::{HubId, SkuId};
use crate::ports::{EventBus, JobQueue, QueueError, Validation, Warehouse, WmsError};
use serde::Serialize;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

/// The longest one check may take (the warehouse's: at least its own timeout + 2 s).
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest one request to a backend may take inside a check.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// One check and its verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub detail: String,
    /// What to do when the check failed.
    pub fix: Option<String>,
}

impl Check {
    fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            ok: false,
            detail: detail.into(),
            fix: Some(fix.into()),
        }
    }

    /// The same check with every `scheme://user:password@` in its texts masked.
    fn redacted(mut self) -> Self {
        self.detail = redact(&self.detail);
        self.fix = self.fix.map(|f| redact(&f));
        self
    }
}

/// The checks when the configuration itself cannot be loaded: one failed check naming
/// the problem.
pub fn unloadable(error: &anyhow::Error) -> Vec<Check> {
    vec![
        Check::fail(
            "configuration",
            format!("{error:#}"),
            "correct the config file or OMS_* variable named above (the README's \
             Configuration section lists every setting), then run `oms doctor` again",
        )
        .redacted(),
    ]
}

/// Runs every check of the configuration in force.
pub async fn run(config: &Config) -> Vec<Check> {
    let mut checks = vec![configuration(config), storage_root(&config.storage_root)];
    let any_embedded = matches!(config.queue_backend, QueueChoice::Embedded)
        || matches!(config.bus_backend, BusChoice::Embedded)
        || matches!(config.store_backend, StoreChoice::Embedded)
        || matches!(config.wms_backend, WmsChoice::Embedded);
    let db = if any_embedded {
        let (check, db) = embedded_database(config).await;
        checks.push(check);
        db
    } else {
        None
    };
    let (queue, bus, store, warehouse) = tokio::join!(
        queue(config, db.clone()),
        bus(config, db.clone()),
        store(config, db.clone()),
        warehouse(config, db),
    );
    checks.extend(queue);
    checks.push(bus);
    checks.push(store);
    checks.push(warehouse);
    checks.into_iter().map(Check::redacted).collect()
}

// ---------------------------------------------------------------------------------------
// Running a check with a time limit
// ---------------------------------------------------------------------------------------

/// Runs `make()` on a thread of its own (with its own runtime) and waits at most
/// `limit` for it. A check that does not answer is left behind: the thread is detached,
/// so it never keeps doctor from exiting; a panic is caught as an error.
async fn bounded<T, Fut>(
    limit: Duration,
    make: impl FnOnce() -> Fut + Send + 'static,
) -> Result<T, String>
where
    T: Send + 'static,
    Fut: Future<Output = T>,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    let spawned = std::thread::Builder::new()
        .name("oms-doctor".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => {
                    let _ = tx.send(rt.block_on(make()));
                }
                Err(e) => tracing::warn!("doctor: cannot start a runtime: {e}"),
            }
        });
    if let Err(e) = spawned {
        return Err(format!("cannot start the check: {e}"));
    }
    match tokio::time::timeout(limit, rx).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(_)) => Err("the check stopped unexpectedly (see the log above)".into()),
        Err(_) => Err(format!("no answer within {} s", limit.as_secs())),
    }
}

// ---------------------------------------------------------------------------------------
// Configuration and storage root
// ---------------------------------------------------------------------------------------

fn configuration(config: &Config) -> Check {
    let queue = match &config.queue_backend {
        QueueChoice::Embedded => "embedded".to_owned(),
        QueueChoice::Sqs { queue, endpoint } => match endpoint {
            Some(e) => format!("sqs({queue} at {})", hosts(e)),
            None => format!("sqs({queue})"),
        },
    };
    let bus = match &config.bus_backend {
        BusChoice::Embedded => "embedded".to_owned(),
        BusChoice::Kafka { brokers, topic, .. } => format!("kafka({topic} at {brokers})"),
    };
    let store = match &config.store_backend {
        StoreChoice::Embedded => "embedded".to_owned(),
        StoreChoice::Mongo { uri, database } => {
            format!("mongodb({database} at {})", hosts(&uri.0))
        }
    };
    let wms = match &config.wms_backend {
        WmsChoice::Embedded => "embedded".to_owned(),
        WmsChoice::Http { url, timeout } => {
            format!("http({}, timeout {} s)", redact(url), timeout.as_secs())
        }
    };
    Check::pass(
        "configuration",
        format!(
            "queue={queue} bus={bus} store={store} wms={wms}; group {}; data dir {}; \
             storage root {}",
            config.group,
            config.data_dir.display(),
            config.storage_root.display()
        ),
    )
}

fn storage_root(root: &Path) -> Check {
    const NAME: &str = "storage root";
    let shown = root.display();
    let set = "or point --storage-root / OMS_STORAGE_ROOT at the directory that holds \
               the order files";
    match std::fs::metadata(root) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Check::fail(
                NAME,
                format!("{shown} does not exist"),
                format!("create it (`mkdir -p {shown}`) {set}"),
            );
        }
        Err(e) => {
            return Check::fail(
                NAME,
                format!("{shown}: {e}"),
                format!("make it reachable by this user {set}"),
            );
        }
        Ok(m) if !m.is_dir() => {
            return Check::fail(
                NAME,
                format!("{shown} is not a directory"),
                format!(
                    "{shown} is a file: point --storage-root / OMS_STORAGE_ROOT at the \
                         directory that holds the order files"
                ),
            );
        }
        Ok(_) => {}
    }
    let canonical = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    match std::fs::read_dir(root) {
        Ok(entries) => {
            let files = entries
                .filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .count();
            Check::pass(
                NAME,
                format!("{} readable, {files} files", canonical.display()),
            )
        }
        Err(e) => Check::fail(
            NAME,
            format!("{} cannot be read: {e}", canonical.display()),
            format!(
                "give this user read and search permission (`chmod u+rx {}`) {set}",
                canonical.display()
            ),
        ),
    }
}

// ---------------------------------------------------------------------------------------
// The embedded database
// ---------------------------------------------------------------------------------------

const DATA_DIR_FIX: &str = "point --data-dir / OMS_DATA_DIR at a directory on a local \
                            disk that this user can write";

async fn embedded_database(config: &Config) -> (Check, Option<Db>) {
    const NAME: &str = "embedded database";
    let dir = config.data_dir.clone();
    match bounded(
        CHECK_TIMEOUT,
        move || async move { open_embedded(&dir).await },
    )
    .await
    {
        Ok(Ok((db, detail))) => (Check::pass(NAME, detail), Some(db)),
        Ok(Err((detail, fix))) => (Check::fail(NAME, detail, fix), None),
        Err(why) => (
            Check::fail(
                NAME,
                format!("{}: {why}", config.data_dir.display()),
                "another process may hold the database locked for long: let it finish \
                 (or stop it) and run `oms doctor` again",
            ),
            None,
        ),
    }
}

/// Opens the embedded database as `oms` does; gives it with a description, or what is
/// wrong and its fix.
async fn open_embedded(dir: &Path) -> Result<(Db, String), (String, String)> {
    let shown = dir.display().to_string();
    let existed = dir.exists();
    if existed && !dir.is_dir() {
        return Err((
            format!("the data dir {shown} is not a directory"),
            format!("{shown} is a file: {DATA_DIR_FIX}"),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        (
            format!("the data dir {shown} cannot be created: {e}"),
            format!("create it (`mkdir -p {shown}`) as a user who may, or {DATA_DIR_FIX}"),
        )
    })?;
    // Writable: SQLite needs to create its -wal and -shm files next to the database.
    let probe = dir.join(format!(".oms-doctor-{}", std::process::id()));
    let written = std::fs::write(&probe, b"oms doctor\n");
    let _ = std::fs::remove_file(&probe);
    written.map_err(|e| {
        (
            format!("the data dir {shown} is not writable: {e}"),
            format!("give this user write permission (`chmod u+rwx {shown}`), or {DATA_DIR_FIX}"),
        )
    })?;
    let db = Db::open(dir).map_err(|e| {
        let text = e.to_string();
        let fix = if text.contains("locked") || text.contains("busy") {
            "another process holds the database locked: let it finish (or stop it) and run \
             `oms doctor` again"
                .to_owned()
        } else if text.contains("not a database") || text.contains("malformed") {
            format!(
                "the file {shown}/oms.db is not a usable SQLite database: move it away \
                 (oms creates a new one) or restore it from a backup"
            )
        } else {
            format!("check the permissions of {shown} and the files in it, or {DATA_DIR_FIX}")
        };
        (format!("{shown}: {text}"), fix)
    })?;
    let facts = db
        .call(|c| {
            let mode: String = c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?;
            let tables: i64 = c.query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )?;
            Ok::<_, rusqlite::Error>((mode, tables))
        })
        .await;
    let (mode, tables) = facts.map_err(|e| {
        (
            format!("{}: {e}", db.path().display()),
            format!("check the permissions of {shown} and the files in it, or {DATA_DIR_FIX}"),
        )
    })?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err((
            format!(
                "{}: journal_mode is {mode}, not wal: several oms processes cannot share it \
                 safely",
                db.path().display()
            ),
            format!(
                "the file system of {shown} does not support WAL (network file systems do \
                 not): {DATA_DIR_FIX}"
            ),
        ));
    }
    let size = std::fs::metadata(db.path()).map_or(0, |m| m.len());
    let path = db.path().display().to_string();
    Ok((
        db,
        format!(
            "{path}: schema ready ({tables} tables), journal_mode=wal, {}, data dir writable{}",
            bytes(size),
            if existed { "" } else { " (created now)" }
        ),
    ))
}

fn bytes(n: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * KIB;
    if n >= MIB {
        format!("{:.1} MiB", n as f64 / MIB as f64)
    } else if n >= KIB {
        format!("{:.1} KiB", n as f64 / KIB as f64)
    } else {
        format!("{n} bytes")
    }
}

/// The check of an embedded port when the database could not be opened.
fn no_db(name: &str) -> Check {
    Check::fail(
        name,
        "embedded: the embedded database cannot be used (see `embedded database`)",
        "fix the `embedded database` check first",
    )
}

fn timed_out(name: &str, what: &str, why: &str, fix: &str) -> Check {
    Check::fail(name, format!("{what}: {why}"), fix)
}

// ---------------------------------------------------------------------------------------
// Queue
// ---------------------------------------------------------------------------------------

async fn queue(config: &Config, db: Option<Db>) -> Vec<Check> {
    const NAME: &str = "queue";
    match &config.queue_backend {
        QueueChoice::Embedded => {
            let Some(db) = db else {
                return vec![no_db(NAME)];
            };
            let settings = config.queue;
            let depth = bounded(CHECK_TIMEOUT, move || async move {
                EmbeddedQueue::new(db, settings).depth().await
            })
            .await;
            vec![match depth {
                Ok(Ok(d)) => Check::pass(
                    NAME,
                    format!(
                        "embedded: {} visible, {} in flight, {} dead-lettered (after {} \
                         receives){}",
                        d.visible,
                        d.in_flight,
                        d.dead,
                        settings.max_receives,
                        if d.dead > 0 { "; see `oms dlq ls`" } else { "" }
                    ),
                ),
                Ok(Err(e)) => Check::fail(
                    NAME,
                    format!("embedded: {e}"),
                    "another process may hold the database locked: run `oms doctor` again",
                ),
                Err(why) => timed_out(
                    NAME,
                    "embedded",
                    &why,
                    "another process holds the database locked: run `oms doctor` again",
                ),
            }]
        }
        QueueChoice::Sqs { queue, endpoint } => {
            let settings = SqsSettings {
                queue: queue.clone(),
                endpoint: endpoint.clone(),
                visibility_timeout: config.queue.visibility_timeout,
                max_receives: config.queue.max_receives,
            };
            match bounded(CHECK_TIMEOUT, move || sqs::checks(settings)).await {
                Ok(checks) => checks,
                Err(why) => vec![timed_out(
                    NAME,
                    &format!("sqs {queue}"),
                    &why,
                    &sqs::unreachable_fix(endpoint.is_some()),
                )],
            }
        }
    }
}

/// The SQS checks. The SDK is used directly only to learn what the adapter does not
/// tell: whether the queue existed before connecting, and its redrive policy.
mod sqs {
    use super::{Check, JobQueue, QueueError, REQUEST_TIMEOUT, SqsQueue, SqsSettings};
    use aws_sdk_sqs::Client;
    use aws_sdk_sqs::config::Region;
    use aws_sdk_sqs::config::retry::RetryConfig;
    use aws_sdk_sqs::config::timeout::TimeoutConfig;
    use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_sqs::types::QueueAttributeName;
    use std::time::Duration;

    const NAME: &str = "queue";
    const DLQ: &str = "dead-letter queue";

    pub fn unreachable_fix(endpoint: bool) -> String {
        if endpoint {
            "start the SQS service at OMS_SQS_ENDPOINT, or correct OMS_SQS_ENDPOINT".into()
        } else {
            "check the network path to SQS and the region (AWS_REGION / AWS_PROFILE)".into()
        }
    }

    fn credentials_fix() -> String {
        "set valid AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         AWS_PROFILE, or an instance role, allowed sqs:GetQueueUrl, CreateQueue, \
         GetQueueAttributes, SetQueueAttributes, SendMessage, ReceiveMessage, \
         DeleteMessage and ChangeMessageVisibility"
            .into()
    }

    /// The fix for an error of the adapter.
    fn fix_of(e: &QueueError, endpoint: bool) -> String {
        let text = e.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("credential")
            || lower.contains("access denied")
            || lower.contains("not authorized")
            || lower.contains("permission")
            || lower.contains("security token")
            || lower.contains("signature")
        {
            credentials_fix()
        } else if lower.contains("fifo") {
            "oms needs a standard queue: set OMS_SQS_QUEUE to a name without .fifo".into()
        } else if matches!(e, QueueError::Unavailable(_)) {
            unreachable_fix(endpoint)
        } else {
            "correct OMS_SQS_QUEUE (a queue name or URL) and the AWS settings, then run \
             `oms doctor` again"
                .into()
        }
    }

    async fn client(endpoint: Option<&str>) -> Client {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(e) = endpoint.filter(|e| !e.trim().is_empty()) {
            loader = loader.endpoint_url(e.trim());
        }
        let shared = loader.load().await;
        let mut conf = aws_sdk_sqs::config::Builder::from(&shared)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(REQUEST_TIMEOUT)
                    .operation_timeout(REQUEST_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(1));
        if shared.region().is_none() {
            conf = conf.region(Region::new("us-east-1"));
        }
        Client::from_conf(conf.build())
    }

    fn is_missing<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
        e.code().is_some_and(|c| {
            let c = c.rsplit('#').next().unwrap_or(c);
            let c = c.strip_prefix("AWS.SimpleQueueService.").unwrap_or(c);
            matches!(c, "NonExistentQueue" | "QueueDoesNotExist")
        })
    }

    /// Whether `name` exists: `Ok(None)` when SQS could not say (the adapter's connect
    /// then tells why), `Err` when it cannot be reached at all.
    async fn exists(client: &Client, queue: &str) -> Result<Option<bool>, String> {
        let r = if queue.starts_with("http://") || queue.starts_with("https://") {
            client
                .get_queue_attributes()
                .queue_url(queue)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (is_missing(&e), unreachable(&e), e.to_string()))
        } else {
            client
                .get_queue_url()
                .queue_name(queue)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (is_missing(&e), unreachable(&e), e.to_string()))
        };
        match r {
            Ok(()) => Ok(Some(true)),
            Err((true, _, _)) => Ok(Some(false)),
            Err((_, Some(why), _)) => Err(why),
            Err(_) => Ok(None),
        }
    }

    /// A description when the error is "no answer" (and not missing credentials).
    fn unreachable<E, R>(e: &SdkError<E, R>) -> Option<String>
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let text = chain(e);
        let no_answer = matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_));
        (no_answer && !text.to_ascii_lowercase().contains("credential")).then_some(text)
    }

    /// An error and its sources, each said once: `a: b: c`.
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

    /// Name and account of the queue a redrive policy points at.
    fn dlq_of(policy: &str) -> Option<(String, Option<String>, Option<String>)> {
        let v: serde_json::Value = serde_json::from_str(policy).ok()?;
        let arn = v.get("deadLetterTargetArn")?.as_str()?;
        let mut parts = arn.rsplitn(3, ':');
        let name = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let account = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
        let max = match v.get("maxReceiveCount") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(n) => Some(n.to_string()),
            None => None,
        };
        Some((name, account, max))
    }

    async fn dlq_exists(client: &Client, name: &str, owner: Option<&str>) -> Result<bool, String> {
        match client
            .get_queue_url()
            .queue_name(name)
            .set_queue_owner_aws_account_id(owner.map(str::to_owned))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(chain(&e)),
        }
    }

    pub async fn checks(settings: SqsSettings) -> Vec<Check> {
        let endpoint = settings.endpoint.is_some();
        let queue = settings.queue.trim().to_owned();
        let max_receives = settings.max_receives;
        let client = client(settings.endpoint.as_deref()).await;
        let existed = match exists(&client, &queue).await {
            Ok(e) => e,
            Err(why) => {
                return vec![Check::fail(
                    NAME,
                    format!("sqs {queue}: cannot reach SQS: {why}"),
                    unreachable_fix(endpoint),
                )];
            }
        };
        let q = match SqsQueue::connect(settings).await {
            Ok(q) => q,
            Err(e) => {
                return vec![Check::fail(
                    NAME,
                    format!("sqs {queue}: {e}"),
                    fix_of(&e, endpoint),
                )];
            }
        };
        let url = q.url().to_owned();
        let created = existed == Some(false);
        let queue_check = match q.depth().await {
            Ok(d) => Check::pass(
                NAME,
                format!(
                    "sqs {url}: {}reachable, credentials accepted; {} visible, {} in flight, \
                     {} dead-lettered{}",
                    if created {
                        "was missing, created now with its dead-letter queue; "
                    } else {
                        "present, "
                    },
                    d.visible,
                    d.in_flight,
                    d.dead,
                    if d.dead > 0 { "; see `oms dlq ls`" } else { "" }
                ),
            ),
            Err(e) => Check::fail(
                NAME,
                format!("sqs {url}: the queue's depth cannot be read: {e}"),
                fix_of(&e, endpoint),
            ),
        };
        let policy = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map(|out| {
                out.attributes
                    .and_then(|mut a| a.remove(&QueueAttributeName::RedrivePolicy))
                    .filter(|p| !p.trim().is_empty())
            });
        let name = url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(&queue);
        let dlq_check = match policy {
            Err(e) => Check::fail(
                DLQ,
                format!("the redrive policy of {name} cannot be read: {}", chain(&e)),
                credentials_fix(),
            ),
            Ok(Some(p)) => match dlq_of(&p) {
                None => Check::fail(
                    DLQ,
                    format!("the redrive policy of {name} cannot be read: {p}"),
                    format!(
                        "set a valid RedrivePolicy on {name} \
                         ({{\"deadLetterTargetArn\":\"ARN of {name}-dlq\",\
                         \"maxReceiveCount\":\"{max_receives}\"}}) or remove it"
                    ),
                ),
                Some((dlq, owner, max)) => {
                    match dlq_exists(&client, &dlq, owner.as_deref()).await {
                        Ok(true) => Check::pass(
                            DLQ,
                            format!(
                                "redrive policy: SQS moves a message received more than {} times \
                             to {dlq} (present)",
                                max.as_deref().unwrap_or("?").trim_matches('"')
                            ),
                        ),
                        Ok(false) => Check::fail(
                            DLQ,
                            format!(
                                "the redrive policy of {name} names {dlq}, which does not exist: \
                             messages received too often cannot be moved there"
                            ),
                            format!(
                                "create it (`aws sqs create-queue --queue-name {dlq}`), or \
                             remove the redrive policy of {name} (oms then moves such \
                             messages to {name}-dlq itself)"
                            ),
                        ),
                        Err(why) => Check::fail(
                            DLQ,
                            format!("{dlq} cannot be looked up: {why}"),
                            credentials_fix(),
                        ),
                    }
                }
            },
            Ok(None) => {
                let own = format!("{name}-dlq");
                let present = match dlq_exists(&client, &own, None).await {
                    Ok(true) => "present",
                    Ok(false) => "created on first use",
                    Err(_) => "not looked up",
                };
                Check::pass(
                    DLQ,
                    format!(
                        "no redrive policy on {name}: oms itself moves a message received \
                         more than {max_receives} times to {own} ({present}); to let SQS do \
                         it, set a RedrivePolicy naming {own}"
                    ),
                )
            }
        };
        vec![queue_check, dlq_check]
    }
}

// ---------------------------------------------------------------------------------------
// Bus
// ---------------------------------------------------------------------------------------

async fn bus(config: &Config, db: Option<Db>) -> Check {
    const NAME: &str = "bus";
    let group = config.group.clone();
    match config.kafka_settings() {
        None => {
            let Some(db) = db else {
                return no_db(NAME);
            };
            let settings = config.bus;
            let r = bounded(CHECK_TIMEOUT, move || async move {
                let partitions = db
                    .call(|c| {
                        c.query_row("SELECT count(*) FROM bus_heads", [], |r| r.get::<_, i64>(0))
                    })
                    .await
                    .map_err(|e| e.to_string())?;
                let lag = EmbeddedBus::new(db, settings)
                    .lag(&group)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>((partitions, lag, group))
            })
            .await;
            match r {
                Ok(Ok((partitions, lag, group))) => Check::pass(
                    NAME,
                    if partitions == 0 {
                        format!(
                            "embedded: no events yet ({} partitions on first use); group \
                             {group} lag {lag}",
                            settings.partitions
                        )
                    } else {
                        format!("embedded: {partitions} partitions; group {group} lag {lag}")
                    },
                ),
                Ok(Err(e)) => Check::fail(
                    NAME,
                    format!("embedded: {e}"),
                    "another process may hold the database locked: run `oms doctor` again",
                ),
                Err(why) => timed_out(
                    NAME,
                    "embedded",
                    &why,
                    "another process holds the database locked: run `oms doctor` again",
                ),
            }
        }
        Some(settings) => {
            let what = format!("kafka {} at {}", settings.topic, settings.brokers);
            match bounded(CHECK_TIMEOUT, move || kafka(settings, group)).await {
                Ok(c) => c,
                Err(why) => timed_out(NAME, &what, &why, &kafka_unreachable_fix()),
            }
        }
    }
}

fn kafka_unreachable_fix() -> String {
    "start the Kafka brokers, or correct OMS_KAFKA_BROKERS (host:port[,host:port]) and \
     check that the brokers' advertised listeners are reachable from here"
        .into()
}

async fn kafka(settings: KafkaSettings, group: String) -> Check {
    const NAME: &str = "bus";
    let what = format!("kafka {} at {}", settings.topic, settings.brokers);
    let found = match KafkaBus::inspect(&settings, REQUEST_TIMEOUT).await {
        Ok(f) => f,
        Err(e) => {
            return Check::fail(
                NAME,
                format!("{what}: no broker answers: {e}"),
                kafka_unreachable_fix(),
            );
        }
    };
    let created = found.partitions.is_none();
    let bus = match KafkaBus::connect(settings.clone()).await {
        Ok(b) => b,
        Err(e) => {
            return Check::fail(
                NAME,
                format!(
                    "{what}: {}{e}",
                    if created {
                        "the topic is missing and cannot be created: "
                    } else {
                        ""
                    }
                ),
                format!(
                    "create the topic (`kafka-topics.sh --create --topic {} --partitions {}`) \
                     or allow this client to create topics, then run `oms doctor` again",
                    settings.topic, settings.partitions
                ),
            );
        }
    };
    let partitions = match found.partitions {
        Some(n) => Some(n),
        None => KafkaBus::inspect(&settings, REQUEST_TIMEOUT)
            .await
            .ok()
            .and_then(|f| f.partitions),
    };
    let topic_text = match (created, partitions) {
        (false, Some(n)) => format!("topic present, {n} partitions"),
        (true, Some(n)) => format!("topic was missing, created now with {n} partitions"),
        (_, None) => "topic created now".to_owned(),
    };
    match bus.lag(&group).await {
        Ok(lag) => Check::pass(
            NAME,
            format!(
                "{what}: {}; {topic_text}; group {group} lag {lag}",
                match found.brokers {
                    1 => "1 broker".to_owned(),
                    n => format!("{n} brokers"),
                }
            ),
        ),
        Err(e) => Check::fail(
            NAME,
            format!("{what}: {topic_text}; the lag of group {group} cannot be read: {e}"),
            "check that the brokers' group coordinator is up and that this client may \
             describe the group and read its offsets (ACLs)",
        ),
    }
}

// ---------------------------------------------------------------------------------------
// Store
// ---------------------------------------------------------------------------------------

async fn store(config: &Config, db: Option<Db>) -> Check {
    const NAME: &str = "store";
    match &config.store_backend {
        StoreChoice::Embedded => {
            let Some(db) = db else {
                return no_db(NAME);
            };
            let r = bounded(CHECK_TIMEOUT, move || async move {
                db.call(|c| {
                    let orders: i64 =
                        c.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?;
                    let jobs: i64 = c.query_row("SELECT count(*) FROM jobs", [], |r| r.get(0))?;
                    Ok::<_, rusqlite::Error>((orders, jobs))
                })
                .await
            })
            .await;
            match r {
                Ok(Ok((orders, jobs))) => {
                    Check::pass(NAME, format!("embedded: {orders} orders, {jobs} jobs"))
                }
                Ok(Err(e)) => Check::fail(
                    NAME,
                    format!("embedded: {e}"),
                    "another process may hold the database locked: run `oms doctor` again",
                ),
                Err(why) => timed_out(
                    NAME,
                    "embedded",
                    &why,
                    "another process holds the database locked: run `oms doctor` again",
                ),
            }
        }
        StoreChoice::Mongo { uri, database } => {
            let what = format!("mongodb {database} at {}", hosts(&uri.0));
            let (uri, database) = (uri.0.clone(), database.clone());
            let w = what.clone();
            match bounded(CHECK_TIMEOUT, move || mongo(uri, database, w)).await {
                Ok(c) => c,
                Err(why) => timed_out(NAME, &what, &why, &mongo_unreachable_fix()),
            }
        }
    }
}

fn mongo_unreachable_fix() -> String {
    "start MongoDB, or correct OMS_MONGODB_URI (host, port, credentials, \
     authSource/replicaSet options)"
        .into()
}

fn missing_text(m: &MongoInspection) -> String {
    let mut parts = Vec::new();
    if !m.missing_collections.is_empty() {
        parts.push(format!("collections {}", m.missing_collections.join(", ")));
    }
    if !m.missing_indexes.is_empty() {
        let names: Vec<String> = m.missing_indexes.iter().map(ToString::to_string).collect();
        parts.push(format!("indexes {}", names.join(", ")));
    }
    parts.join("; ")
}

async fn mongo(uri: String, database: String, what: String) -> Check {
    const NAME: &str = "store";
    let before = match MongoStore::inspect(&uri, &database, REQUEST_TIMEOUT).await {
        Ok(m) => m,
        Err(e) => {
            let text = e.to_string();
            let lower = text.to_ascii_lowercase();
            let fix = if lower.contains("auth") || lower.contains("unauthorized") {
                "correct the user and password of OMS_MONGODB_URI (and authSource), and grant \
                 the user readWrite and createIndex on the database"
                    .to_owned()
            } else {
                mongo_unreachable_fix()
            };
            return Check::fail(NAME, format!("{what}: {e}"), fix);
        }
    };
    let unique_fix = |names: &[String]| {
        format!(
            "drop the non-unique index on {} (db.orders.dropIndex({{seller_id: 1, order_id: \
             1}})) after removing duplicate (seller_id, order_id) orders, then run `oms doctor` \
             again to create it unique",
            names.join(", ")
        )
    };
    if !before.not_unique.is_empty() {
        let names: Vec<String> = before
            .not_unique
            .iter()
            .map(|i| i.to_string().trim_end_matches(" unique").to_owned())
            .collect();
        return Check::fail(
            NAME,
            format!(
                "{what}: the index {} is not unique: the same order could be stored twice",
                names.join(", ")
            ),
            unique_fix(&names),
        );
    }
    if before.complete() {
        return Check::pass(
            NAME,
            format!(
                "{what}: reachable; collections orders, jobs, job_rejects, the unique \
                 (seller_id, order_id) index and every filter index present"
            ),
        );
    }
    let missing = missing_text(&before);
    if let Err(e) = MongoStore::connect(&uri, &database).await {
        let text = e.to_string();
        let fix = if text.contains("E11000") || text.contains("duplicate key") {
            "remove the orders stored twice under one (seller_id, order_id), then run `oms \
             doctor` again to create the unique index"
                .to_owned()
        } else {
            "grant the user createIndex on the database (or create the indexes listed \
             above), then run `oms doctor` again"
                .to_owned()
        };
        return Check::fail(
            NAME,
            format!("{what}: missing {missing}, and they cannot be created: {e}"),
            fix,
        );
    }
    match MongoStore::inspect(&uri, &database, REQUEST_TIMEOUT).await {
        Ok(after) if after.complete() => Check::pass(
            NAME,
            format!(
                "{what}: reachable; were missing, created now: {missing}; the unique \
                 (seller_id, order_id) index and every filter index present"
            ),
        ),
        Ok(after) => {
            let names: Vec<String> = after
                .not_unique
                .iter()
                .map(|i| i.to_string().trim_end_matches(" unique").to_owned())
                .collect();
            let still = missing_text(&after);
            Check::fail(
                NAME,
                format!(
                    "{what}: still missing after creating them: {still}{}",
                    if names.is_empty() {
                        String::new()
                    } else {
                        format!("; not unique: {}", names.join(", "))
                    }
                ),
                "the server did not keep the indexes oms creates: check that it supports \
                 (unique) compound indexes, and create them by hand",
            )
        }
        Err(e) => Check::fail(NAME, format!("{what}: {e}"), mongo_unreachable_fix()),
    }
}

// ---------------------------------------------------------------------------------------
// Warehouse
// ---------------------------------------------------------------------------------------

async fn warehouse(config: &Config, db: Option<Db>) -> Check {
    const NAME: &str = "warehouse";
    match &config.wms_backend {
        WmsChoice::Embedded => {
            let Some(db) = db else {
                return no_db(NAME);
            };
            let r = bounded(CHECK_TIMEOUT, move || async move {
                EmbeddedWarehouse::new(db).list().await
            })
            .await;
            match r {
                Ok(Ok(lines)) if lines.is_empty() => Check::pass(
                    NAME,
                    "embedded: no stock lines yet: every order is rejected until stock is \
                     loaded (`oms inventory load FILE`)",
                ),
                Ok(Ok(lines)) => {
                    let units: i64 = lines.iter().map(|l| l.quantity).sum();
                    let empty = lines.iter().filter(|l| l.quantity == 0).count();
                    Check::pass(
                        NAME,
                        format!(
                            "embedded: {} stock lines, {units} units ({empty} lines at 0)",
                            lines.len()
                        ),
                    )
                }
                Ok(Err(e)) => Check::fail(
                    NAME,
                    format!("embedded: {e}"),
                    "another process may hold the database locked: run `oms doctor` again",
                ),
                Err(why) => timed_out(
                    NAME,
                    "embedded",
                    &why,
                    "another process holds the database locked: run `oms doctor` again",
                ),
            }
        }
        WmsChoice::Http { url, timeout } => {
            let shown = redact(url);
            let what = format!("http {shown}");
            let limit = CHECK_TIMEOUT.max(*timeout + Duration::from_secs(2));
            let (url, timeout) = (url.clone(), *timeout);
            let w = what.clone();
            match bounded(limit, move || http_warehouse(url, timeout, w)).await {
                Ok(c) => c,
                Err(why) => timed_out(NAME, &what, &why, &wms_unreachable_fix(timeout)),
            }
        }
    }
}

fn wms_unreachable_fix(timeout: Duration) -> String {
    format!(
        "start the warehouse service, or correct OMS_WMS_URL (its base URL, e.g. \
         http://127.0.0.1:8082); a slow warehouse needs a longer OMS_WMS_TIMEOUT_SECS (now \
         {} s)",
        timeout.as_secs()
    )
}

async fn http_warehouse(url: String, timeout: Duration, what: String) -> Check {
    const NAME: &str = "warehouse";
    let wms = match HttpWarehouse::new(&url, timeout) {
        Ok(w) => w,
        Err(e) => {
            return Check::fail(
                NAME,
                e,
                "set OMS_WMS_URL to the warehouse's http(s) base URL, e.g. \
                 http://127.0.0.1:8082",
            );
        }
    };
    // Any (hub, sku) does: known or not, an answer is what is checked.
    let (Ok(hub), Ok(sku)) = (HubId::parse("oms-doctor"), SkuId::parse("oms-doctor")) else {
        return Check::fail(NAME, "internal: bad probe ids", "report this");
    };
    let started = std::time::Instant::now();
    let answer = match wms.validate(&hub, &sku).await {
        Ok(Validation::Known | Validation::Unknown(_)) => started.elapsed(),
        Err(WmsError::Unavailable(e)) => {
            return Check::fail(
                NAME,
                format!("{what}: validate_order got no answer: {e}"),
                wms_unreachable_fix(timeout),
            );
        }
        Err(e @ WmsError::Protocol(_)) => {
            return Check::fail(
                NAME,
                format!("{what}: validate_order answered unexpectedly: {e}"),
                "OMS_WMS_URL must be the base URL of a wms-service (POST \
                 api/v1/orders/validate_order answers 200, 400 or 404): correct it",
            );
        }
    };
    let batch = match wms.offers_batch_reserve().await {
        Ok(true) => "batch reserve offered: orders are reserved all-or-nothing, once".to_owned(),
        Ok(false) => "warning: no batch reserve endpoint (api/v1/orders/reserve): items are \
                      deducted one by one, so a multi-item order is not all-or-nothing (a \
                      short later item leaves the earlier ones deducted) and a redelivered \
                      order can be deducted twice; `oms wms serve` offers it"
            .to_owned(),
        Err(e) => format!("whether it offers batch reserve is unknown: {e}"),
    };
    Check::pass(
        NAME,
        format!(
            "{what}: validate_order answered in {} ms (timeout {} s); {batch}",
            answer.as_millis(),
            timeout.as_secs()
        ),
    )
}

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

/// `text` with the user info of every `scheme://user:password@host` masked.
pub fn redact(text: &str) -> String {
    crate::config::redact_credentials(text)
}

/// The scheme and hosts of a URL or connection string, without user info, path or
/// options.
fn hosts(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return "(not a URL)".to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let hosts = authority.rsplit('@').next().unwrap_or(authority);
    format!("{scheme}://{hosts}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_masked_everywhere() {
        assert_eq!(
            redact("cannot reach mongodb://u:p%40ss@h1:27017,h2/db?x=1 now"),
            "cannot reach mongodb://***@h1:27017,h2/db?x=1 now"
        );
        assert_eq!(
            redact("a http://x@h/p and https://h2/q@r"),
            "a http://***@h/p and https://h2/q@r"
        );
        assert_eq!(redact("no url here"), "no url here");
        assert_eq!(redact("trailing ://"), "trailing ://");
    }

    #[test]
    fn hosts_drop_credentials_and_options() {
        assert_eq!(
            hosts("mongodb://user:pw@a:1,b:2/oms?authSource=admin"),
            "mongodb://a:1,b:2"
        );
        assert_eq!(hosts("http://127.0.0.1:4566"), "http://127.0.0.1:4566");
        assert_eq!(hosts("nonsense"), "(not a URL)");
    }

    #[test]
    fn a_missing_storage_root_fails_with_a_fix() {
        let dir = tempfile::tempdir().unwrap();
        let c = storage_root(&dir.path().join("nope"));
        assert!(!c.ok);
        assert!(c.fix.unwrap().contains("mkdir -p"));
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let c = storage_root(&file);
        assert!(!c.ok && c.detail.contains("not a directory"), "{c:?}");
        let c = storage_root(dir.path());
        assert!(c.ok && c.detail.contains("1 files"), "{c:?}");
    }

    #[test]
    fn a_check_that_never_answers_is_cut_off() {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let started = std::time::Instant::now();
        let r = rt.block_on(bounded(Duration::from_millis(200), || async {
            tokio::time::sleep(Duration::from_secs(60)).await;
        }));
        assert!(r.unwrap_err().contains("no answer"));
        assert!(started.elapsed() < Duration::from_secs(5));
        let r: Result<(), String> =
            rt.block_on(bounded(Duration::from_secs(5), || async { panic!("boom") }));
        assert!(r.unwrap_err().contains("stopped unexpectedly"));
    }
}
