//! Wiring: the only place that turns a [`Config`] into adapters and [`Backends`].
//! Commands ask here for what they need; nothing else names an adapter's constructor.

use crate::adapters::embedded::db::{DbError, is_busy};
use crate::adapters::embedded::{
    BusSettings, Db, EmbeddedBus, EmbeddedQueue, EmbeddedStore, EmbeddedWarehouse, QueueSettings,
};
use crate::adapters::kafka::{KafkaBus, KafkaSettings};
use crate::adapters::local::LocalFiles;
use crate::adapters::mongo::MongoStore;
use crate::adapters::s3::{S3Files, S3Settings};
use crate::adapters::scratch::TempScratch;
use crate::adapters::sqs::{SqsQueue, SqsSettings};
use crate::adapters::wms_http::HttpWarehouse;
use crate::app::files::FileSources;
use crate::app::{AppError, Backends};
use crate::config::{BusChoice, Config, QueueChoice, StoreChoice, WmsChoice};
use crate::ports::{
    EventBus, FileUpload, JobQueue, NoTransaction, OrderFiles, OrderStore, UnitOfWork, Warehouse,
};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;

/// The embedded queue's delivery rules.
#[must_use]
pub fn queue_settings(config: &Config) -> QueueSettings {
    QueueSettings {
        visibility_timeout: config.queue.visibility_timeout,
        max_receives: config.queue.max_receives,
    }
}

/// The embedded bus's shape.
#[must_use]
pub fn bus_settings(config: &Config) -> BusSettings {
    BusSettings {
        partitions: config.bus.partitions,
        session_timeout: config.bus.session_timeout,
    }
}

/// How to use SQS, when the queue is SQS.
#[must_use]
pub fn sqs_settings(config: &Config) -> Option<SqsSettings> {
    match &config.queue_backend {
        QueueChoice::Embedded => None,
        QueueChoice::Sqs { queue, endpoint } => Some(SqsSettings {
            queue: queue.clone(),
            endpoint: endpoint.clone(),
            visibility_timeout: config.queue.visibility_timeout,
            max_receives: config.queue.max_receives,
        }),
    }
}

/// How to use Kafka, when the bus is Kafka.
#[must_use]
pub fn kafka_settings(config: &Config) -> Option<KafkaSettings> {
    match &config.bus_backend {
        BusChoice::Embedded => None,
        BusChoice::Kafka {
            brokers,
            topic,
            partitions,
            debug,
        } => Some(KafkaSettings {
            brokers: brokers.clone(),
            topic: topic.clone(),
            partitions: *partitions,
            session_timeout: config.bus.session_timeout.max(Duration::from_secs(6)),
            max_poll_interval: crate::adapters::kafka::MAX_POLL_INTERVAL,
            debug: debug.clone(),
        }),
    }
}

/// Opens the embedded database of the data dir.
///
/// # Errors
/// As [`db_error`].
pub fn open_db(config: &Config) -> anyhow::Result<Db> {
    Db::open(&config.data_dir).map_err(|e| db_error(config, e))
}

/// An error opening the embedded database, naming its directory: a lock held past
/// the busy timeout is [`AppError::Unavailable`] (exit 4), anything else as it is.
fn db_error(config: &Config, e: DbError) -> anyhow::Error {
    let context = format!(
        "cannot open the embedded database in {}",
        config.data_dir.display()
    );
    match &e {
        // Another process holds the write lock longer than the busy timeout: the
        // embedded backend is unavailable for now (exit 4), not broken.
        DbError::Sqlite(s) if is_busy(s) => {
            anyhow::Error::new(AppError::Unavailable(e.to_string().into())).context(context)
        }
        _ => anyhow::Error::new(e).context(context),
    }
}

/// The embedded warehouse's stock (what `oms wms serve` serves and `oms inventory`
/// loads).
///
/// # Errors
/// When the embedded database cannot be opened.
pub fn inventory(config: &Config) -> anyhow::Result<EmbeddedWarehouse> {
    Ok(EmbeddedWarehouse::new(open_db(config)?))
}

/// The HTTP warehouse adapter for `url`, sending `OMS_WMS_TOKEN` when it is set.
///
/// # Errors
/// A message when the URL or the token cannot be used.
pub fn http_warehouse(
    config: &Config,
    url: &str,
    timeout: Duration,
) -> Result<HttpWarehouse, String> {
    let w = HttpWarehouse::new(url, timeout)?;
    match &config.wms_token {
        Some(t) => w.with_token(&t.0),
        None => Ok(w),
    }
}

/// The S3 file source (and uploader, with `OMS_S3_UPLOAD`), when S3 is configured.
pub struct S3Sources {
    pub files: Arc<dyn OrderFiles>,
    pub upload: Option<Arc<dyn FileUpload>>,
}

/// Connects to S3 when it is configured; `None` (and nothing of S3 built) otherwise.
///
/// # Errors
/// When the S3 client cannot be set up.
pub async fn s3_files(config: &Config) -> anyhow::Result<Option<S3Sources>> {
    let Some(settings) = s3_settings(config) else {
        return Ok(None);
    };
    connect_s3(settings).await.map(Some)
}

/// How to use S3, when it is configured.
#[must_use]
pub fn s3_settings(config: &Config) -> Option<S3Settings> {
    config.s3.as_ref().map(|s3| S3Settings {
        endpoint: s3.endpoint.clone(),
        allow: s3.allow.clone(),
        upload: s3.upload.clone(),
        force_path_style: s3.force_path_style,
    })
}

/// The one place that builds the S3 adapter: the file source, and the uploader when
/// `OMS_S3_UPLOAD` is set. Builds the client only; nothing is asked of S3 yet.
async fn connect_s3(settings: S3Settings) -> anyhow::Result<S3Sources> {
    let uploads = settings.upload.is_some();
    let files = Arc::new(
        S3Files::connect(settings)
            .await
            .map_err(AppError::from)
            .context("S3 (OMS_S3_ALLOW, OMS_S3_UPLOAD)")?,
    );
    let upload = uploads.then(|| Arc::clone(&files) as Arc<dyn FileUpload>);
    Ok(S3Sources { files, upload })
}

/// Every order-file source: the storage root on this machine (looked for at each use
/// when it does not exist yet) and S3 when it is configured, and the uploader.
///
/// # Errors
/// As [`s3_files`].
pub async fn order_files(
    config: &Config,
) -> anyhow::Result<(Arc<FileSources>, Option<Arc<dyn FileUpload>>)> {
    let local: Arc<dyn OrderFiles> = Arc::new(LocalFiles::at(&config.storage_root));
    let (s3, upload) = match s3_files(config).await? {
        Some(S3Sources { files, upload }) => (Some(files), upload),
        None => (None, None),
    };
    Ok((Arc::new(FileSources::new(local, s3)), upload))
}

/// The storage root must exist for a worker (`ingest`, `serve`) that can read only
/// local files; with S3 configured a machine may have none (its local paths are then
/// refused one by one).
///
/// # Errors
/// The storage root's error, when it is needed and missing.
pub fn require_storage_root(config: &Config) -> Result<(), String> {
    if config.s3.is_some() {
        return Ok(());
    }
    LocalFiles::open(&config.storage_root)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// How a command uses its backends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A short command (submit, a query): the embedded connection checkpoints its WAL
    /// itself; Kafka is contacted only when the command uses the bus.
    Command,
    /// A long-running worker (`ingest`, `fulfil`, `serve`): the shared embedded
    /// connection leaves its WAL checkpoints to a thread of their own.
    Worker,
}

/// Opens the adapter of each port. The embedded ones share one connection, which is
/// then also the unit of work; the embedded queue has its own.
///
/// # Errors
/// When the embedded database cannot be opened, or a real backend cannot be reached
/// ([`AppError::Unavailable`]) or set up.
pub async fn backends(config: &Config, role: Role) -> anyhow::Result<Backends> {
    let all_real = !matches!(config.bus_backend, BusChoice::Embedded)
        && !matches!(config.store_backend, StoreChoice::Embedded)
        && !matches!(config.wms_backend, WmsChoice::Embedded);
    let shared = if all_real {
        None
    } else {
        let db = open_db(config)?;
        Some(if role == Role::Worker {
            db.checkpoint_in_background()
                .map_err(|e| db_error(config, e))?
        } else {
            db
        })
    };
    let db = || shared.clone().expect("opened when a port is embedded");

    let queue: Arc<dyn JobQueue> = match sqs_settings(config) {
        None => Arc::new(EmbeddedQueue::new(open_db(config)?, queue_settings(config))),
        Some(settings) => Arc::new(
            SqsQueue::connect(settings)
                .await
                .map_err(AppError::from)
                .context("SQS (OMS_SQS_QUEUE)")?,
        ),
    };
    let bus: Arc<dyn EventBus> = match kafka_settings(config) {
        None => Arc::new(EmbeddedBus::new(db(), bus_settings(config))),
        Some(settings) => Arc::new(
            match role {
                // A worker publishes or consumes: it says at its start that Kafka is down.
                Role::Worker => KafkaBus::connect(settings).await,
                // A command meets Kafka only if it uses the bus (`orders ls` never does).
                Role::Command => KafkaBus::new(settings),
            }
            .map_err(AppError::from)
            .context("Kafka (OMS_KAFKA_BROKERS)")?,
        ),
    };
    let store: Arc<dyn OrderStore> = match &config.store_backend {
        StoreChoice::Embedded => Arc::new(EmbeddedStore::new(db())),
        StoreChoice::Mongo { uri, database } => Arc::new(
            MongoStore::connect(&uri.0, database)
                .await
                .map_err(AppError::from)
                .context("MongoDB (OMS_MONGODB_URI)")?,
        ),
    };
    let wms: Arc<dyn Warehouse> = match &config.wms_backend {
        WmsChoice::Embedded => Arc::new(EmbeddedWarehouse::new(db())),
        WmsChoice::Http { url, timeout } => Arc::new(
            http_warehouse(config, url, *timeout)
                .map_err(AppError::BadInput)
                .context("the warehouse (OMS_WMS_URL)")?,
        ),
    };
    let uow: Arc<dyn UnitOfWork> = match shared {
        Some(db) => Arc::new(db),
        None => Arc::new(NoTransaction),
    };
    let (files, upload) = order_files(config).await?;
    let scratch = Arc::new(TempScratch::new(
        None,
        usize::try_from(config.ingest_memory_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
    ));
    Ok(Backends {
        queue,
        bus,
        store,
        wms,
        uow,
        files,
        upload,
        scratch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Overrides;

    #[test]
    fn kafka_settings_come_from_the_kafka_section() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("oms.toml");
        std::fs::write(
            &f,
            "[kafka]\nbrokers = \"k:9092\"\ndebug = \"cgrp,fetch\"\n[bus]\nsession_timeout_secs = 2\n",
        )
        .unwrap();
        let c = Config::load(&Overrides {
            config: Some(f),
            ..Overrides::default()
        })
        .unwrap();
        let k = kafka_settings(&c).expect("the bus is Kafka");
        if std::env::var_os("OMS_KAFKA_DEBUG").is_none() {
            assert_eq!(k.debug.as_deref(), Some("cgrp,fetch"));
        }
        // The session is at least 6 s on Kafka, the poll deadline a minute.
        assert_eq!(k.session_timeout, Duration::from_secs(6));
        assert_eq!(k.max_poll_interval, Duration::from_secs(60));
    }

    fn load(toml: &str) -> (tempfile::TempDir, Config) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("oms.toml");
        std::fs::write(&f, toml).unwrap();
        let c = Config::load(&Overrides {
            config: Some(f),
            ..Overrides::default()
        })
        .unwrap();
        (dir, c)
    }

    #[test]
    fn a_worker_needs_the_storage_root_unless_it_can_read_s3() {
        let (_dir, c) = load("storage_root = \"/no/such/storage\"\n");
        if c.s3.is_none() {
            let e = require_storage_root(&c).unwrap_err();
            assert!(
                e.contains("/no/such/storage") && e.contains("does not exist"),
                "{e}"
            );
        }
        let (_dir, c) =
            load("storage_root = \"/no/such/storage\"\n[s3]\nallow = [\"s3://orders/in/\"]\n");
        assert!(c.s3.is_some());
        assert_eq!(require_storage_root(&c), Ok(()));
    }

    #[tokio::test]
    async fn without_s3_settings_local_files_are_served_and_s3_refused() {
        let (dir, mut c) = load("");
        if c.s3.is_some() {
            return; // S3 set in this environment
        }
        c.storage_root = dir.path().to_owned();
        assert!(s3_files(&c).await.unwrap().is_none(), "nothing of S3 built");
        let (files, upload) = order_files(&c).await.unwrap();
        assert!(upload.is_none());
        let e = files
            .open("s3://orders/in/a.csv", None)
            .await
            .err()
            .unwrap();
        assert!(e.to_string().contains("OMS_S3_ALLOW"), "{e}");
        let e = files.open("nope.csv", None).await.err().unwrap();
        assert_eq!(e.to_string(), "nope.csv: no such file");
        assert!(files.open("oms.toml", None).await.is_ok());
    }
}
