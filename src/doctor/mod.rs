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
//!   timeout, and whether the batch `reserve` and `reserve_many` endpoints exist.
//! - `s3` (when `OMS_S3_ALLOW` / `OMS_S3_UPLOAD` is set): S3 answers with the
//!   credentials in force; `s3 allow <prefix>`: each allowed prefix can be listed;
//!   `s3 upload <prefix>`: a tiny test object can be written there and removed.
//!
//! Doctor is an edge tool: it reads the configuration and asks each adapter for the
//! probe it offers. Every
//! check runs on a thread of its own with a time limit, so a backend that does not
//! answer costs at most [`CHECK_TIMEOUT`] (the checks of the ports run at the same
//! time), and nothing a backend does makes doctor panic or hang.

use crate::config::{BusChoice, Config, QueueChoice, StoreChoice, WmsChoice};
use crate::domain::secret::{hosts, redact_credentials as redact};
use serde::Serialize;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

mod bus;
mod embedded;
mod queue;
/// The S3 checks, for configurations that read order files from S3.
pub mod s3;
mod store;
mod warehouse;

use embedded::embedded_database;

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
    pub(crate) fn pass(name: &str, detail: impl Into<String>) -> Self {
        Self {
            name: name.to_owned(),
            ok: true,
            detail: detail.into(),
            fix: None,
        }
    }

    pub(crate) fn fail(name: &str, detail: impl Into<String>, fix: impl Into<String>) -> Self {
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
    let s3 = crate::wiring::s3_settings(config);
    let (queue, bus, store, warehouse, files) = tokio::join!(
        queue::check(config, db.clone()),
        bus::check(config, db.clone()),
        store::check(config, db.clone()),
        warehouse::check(config, db),
        async {
            match &s3 {
                Some(settings) => s3::checks(settings).await,
                None => Vec::new(),
            }
        },
    );
    checks.extend(queue);
    checks.push(bus);
    checks.push(store);
    checks.push(warehouse);
    checks.extend(files);
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
            "queue={queue} bus={bus} store={store} wms={wms}{files}; group {}; data dir {}; \
             storage root {}",
            config.group,
            config.data_dir.display(),
            config.storage_root.display(),
            files = config
                .s3
                .as_ref()
                .map(|s3| format!(" files=s3({})", s3.describe()))
                .unwrap_or_default(),
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

#[cfg(test)]
mod tests {
    use super::*;

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
