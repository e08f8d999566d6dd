//! Configuration: defaults < `oms.toml` (`--config` / `OMS_CONFIG`) < `OMS_*`
//! environment < flags, and the choice of adapter for each port.

use crate::adapters::embedded::db::{DbError, is_busy};
use crate::adapters::embedded::{
    BusSettings, Db, EmbeddedBus, EmbeddedQueue, EmbeddedStore, EmbeddedWarehouse, QueueSettings,
};
use crate::adapters::kafka::{KafkaBus, KafkaSettings};
use crate::adapters::mongo::MongoStore;
use crate::adapters::sqs::{SqsQueue, SqsSettings};
use crate::adapters::wms_http::HttpWarehouse;
use crate::app::{AppError, Backends};
use crate::ports::{EventBus, JobQueue, NoTransaction, OrderStore, UnitOfWork, Warehouse};
use anyhow::{Context, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// The config file's shape; every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub data_dir: Option<PathBuf>,
    pub storage_root: Option<PathBuf>,
    #[serde(default)]
    pub queue: QueueFile,
    #[serde(default)]
    pub bus: BusFile,
    #[serde(default)]
    pub sqs: SqsFile,
    #[serde(default)]
    pub kafka: KafkaFile,
    #[serde(default)]
    pub mongodb: MongoFile,
    #[serde(default)]
    pub wms: WmsFile,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqsFile {
    pub queue: Option<String>,
    pub endpoint: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaFile {
    pub brokers: Option<String>,
    pub topic: Option<String>,
    pub partitions: Option<i32>,
    pub debug: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MongoFile {
    pub uri: Option<String>,
    pub database: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WmsFile {
    pub url: Option<String>,
    pub timeout_secs: Option<u64>,
}

/// A value that must not appear in logs or errors (a connection string may hold a
/// password).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

/// Which adapter serves the queue.
#[derive(Debug, Clone)]
pub enum QueueChoice {
    Embedded,
    Sqs {
        queue: String,
        endpoint: Option<String>,
    },
}

/// Which adapter serves the bus.
#[derive(Debug, Clone)]
pub enum BusChoice {
    Embedded,
    Kafka {
        brokers: String,
        topic: String,
        partitions: i32,
        /// librdkafka `debug` contexts (`OMS_KAFKA_DEBUG`), for a support session.
        debug: Option<String>,
    },
}

/// Which adapter serves the store.
#[derive(Debug, Clone)]
pub enum StoreChoice {
    Embedded,
    Mongo { uri: Secret, database: String },
}

/// Which adapter serves the warehouse.
#[derive(Debug, Clone)]
pub enum WmsChoice {
    Embedded,
    Http { url: String, timeout: Duration },
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueFile {
    pub visibility_timeout_secs: Option<u64>,
    pub max_receives: Option<u32>,
    pub wait_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusFile {
    pub partitions: Option<i32>,
    pub session_timeout_secs: Option<u64>,
    pub group: Option<String>,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub storage_root: PathBuf,
    pub queue: QueueSettings,
    /// Long-poll wait of one receive.
    pub queue_wait: Duration,
    pub bus: BusSettings,
    pub group: String,
    pub queue_backend: QueueChoice,
    pub bus_backend: BusChoice,
    pub store_backend: StoreChoice,
    pub wms_backend: WmsChoice,
}

/// What the flags (and, through clap, the environment) say about the shared settings.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub storage_root: Option<PathBuf>,
}

fn env_str(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_num<T: std::str::FromStr>(name: &str) -> anyhow::Result<Option<T>> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{name}={v:?} is not a valid number")),
        _ => Ok(None),
    }
}

impl Config {
    /// Builds the configuration from the layers.
    ///
    /// # Errors
    /// An unreadable or invalid config file (the error names the file and key), or a
    /// bad `OMS_*` value.
    pub fn load(o: &Overrides) -> anyhow::Result<Self> {
        let file = match &o.config {
            Some(p) => Some(read_file(p)?),
            None if Path::new("oms.toml").is_file() => Some(read_file(Path::new("oms.toml"))?),
            None => None,
        }
        .unwrap_or_default();

        let secs = |v: Option<u64>, default: u64| Duration::from_secs(v.unwrap_or(default));
        let q = QueueSettings {
            visibility_timeout: secs(
                env_num("OMS_QUEUE_VISIBILITY_TIMEOUT_SECS")?
                    .or(file.queue.visibility_timeout_secs),
                30,
            ),
            max_receives: env_num("OMS_QUEUE_MAX_RECEIVES")?
                .or(file.queue.max_receives)
                .unwrap_or(5),
        };
        if q.max_receives == 0 || q.visibility_timeout.is_zero() {
            bail!("queue.max_receives and queue.visibility_timeout_secs must be at least 1");
        }
        let bus = BusSettings {
            partitions: env_num("OMS_BUS_PARTITIONS")?
                .or(file.bus.partitions)
                .unwrap_or(4),
            session_timeout: secs(
                env_num("OMS_BUS_SESSION_TIMEOUT_SECS")?.or(file.bus.session_timeout_secs),
                10,
            ),
        };
        if bus.partitions < 1 || bus.session_timeout.is_zero() {
            bail!("bus.partitions and bus.session_timeout_secs must be at least 1");
        }
        Ok(Self {
            data_dir: o
                .data_dir
                .clone()
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(".oms")),
            storage_root: o
                .storage_root
                .clone()
                .or(file.storage_root)
                .unwrap_or_else(|| PathBuf::from("storage")),
            queue: q,
            queue_wait: secs(env_num("OMS_QUEUE_WAIT_SECS")?.or(file.queue.wait_secs), 20),
            bus,
            group: env_str("OMS_KAFKA_GROUP")
                .or(file.bus.group)
                .unwrap_or_else(|| "oms-fulfil".into()),
            queue_backend: match env_str("OMS_SQS_QUEUE").or(file.sqs.queue) {
                Some(queue) => QueueChoice::Sqs {
                    queue,
                    endpoint: env_str("OMS_SQS_ENDPOINT").or(file.sqs.endpoint),
                },
                None => QueueChoice::Embedded,
            },
            bus_backend: match env_str("OMS_KAFKA_BROKERS").or(file.kafka.brokers) {
                Some(brokers) => BusChoice::Kafka {
                    brokers,
                    topic: env_str("OMS_KAFKA_TOPIC")
                        .or(file.kafka.topic)
                        .unwrap_or_else(|| "oms.orders".into()),
                    partitions: env_num("OMS_KAFKA_PARTITIONS")?
                        .or(file.kafka.partitions)
                        .unwrap_or(3),
                    debug: env_str("OMS_KAFKA_DEBUG").or(file.kafka.debug),
                },
                None => BusChoice::Embedded,
            },
            store_backend: match env_str("OMS_MONGODB_URI").or(file.mongodb.uri) {
                Some(uri) => StoreChoice::Mongo {
                    uri: Secret(uri),
                    database: env_str("OMS_MONGODB_DATABASE")
                        .or(file.mongodb.database)
                        .unwrap_or_else(|| "oms".into()),
                },
                None => StoreChoice::Embedded,
            },
            wms_backend: match env_str("OMS_WMS_URL").or(file.wms.url) {
                Some(url) => WmsChoice::Http {
                    url,
                    timeout: secs(
                        env_num("OMS_WMS_TIMEOUT_SECS")?.or(file.wms.timeout_secs),
                        10,
                    ),
                },
                None => WmsChoice::Embedded,
            },
        })
    }

    /// How to use Kafka, when the bus is Kafka.
    #[must_use]
    pub fn kafka_settings(&self) -> Option<KafkaSettings> {
        match &self.bus_backend {
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
                session_timeout: self.bus.session_timeout.max(Duration::from_secs(6)),
                max_poll_interval: crate::adapters::kafka::MAX_POLL_INTERVAL,
                debug: debug.clone(),
            }),
        }
    }

    /// One line naming the adapter of each port (no secrets), for logs.
    pub fn describe(&self) -> String {
        let queue = match &self.queue_backend {
            QueueChoice::Embedded => "embedded".to_owned(),
            QueueChoice::Sqs { queue, .. } => format!("sqs({queue})"),
        };
        let bus = match &self.bus_backend {
            BusChoice::Embedded => "embedded".to_owned(),
            BusChoice::Kafka { topic, .. } => format!("kafka({topic})"),
        };
        let store = match &self.store_backend {
            StoreChoice::Embedded => "embedded".to_owned(),
            StoreChoice::Mongo { database, .. } => format!("mongodb({database})"),
        };
        let wms = match &self.wms_backend {
            WmsChoice::Embedded => "embedded".to_owned(),
            WmsChoice::Http { url, .. } => format!("http({})", redact_credentials(url)),
        };
        format!("queue={queue} bus={bus} store={store} wms={wms}")
    }

    fn open_db(&self) -> anyhow::Result<Db> {
        Db::open(&self.data_dir).map_err(|e| self.db_error(e))
    }

    /// An error opening the embedded database, naming its directory.
    fn db_error(&self, e: DbError) -> anyhow::Error {
        let context = format!(
            "cannot open the embedded database in {}",
            self.data_dir.display()
        );
        match &e {
            // Another process holds the write lock longer than the busy timeout: the
            // embedded backend is unavailable for now (exit 4), not broken.
            DbError::Sqlite(s) if is_busy(s) => {
                anyhow::Error::new(AppError::Unavailable(e.to_string())).context(context)
            }
            _ => anyhow::Error::new(e).context(context),
        }
    }

    /// The embedded warehouse's stock (what `oms wms serve` serves).
    ///
    /// # Errors
    /// When the embedded database cannot be opened.
    pub fn inventory(&self) -> anyhow::Result<EmbeddedWarehouse> {
        Ok(EmbeddedWarehouse::new(self.open_db()?))
    }

    /// Opens the adapter of each port. The embedded ones share one connection, which is
    /// then also the unit of work; the embedded queue has its own.
    ///
    /// # Errors
    /// When the embedded database cannot be opened, or a real backend cannot be
    /// reached ([`AppError::Unavailable`]) or set up.
    pub async fn backends(&self) -> anyhow::Result<Backends> {
        self.open_backends(false).await
    }

    /// [`Config::backends`] for a long-running worker (`ingest`, `fulfil`, `serve`):
    /// the shared embedded connection leaves its WAL checkpoints to a thread of their
    /// own.
    ///
    /// # Errors
    /// As [`Config::backends`].
    pub async fn worker_backends(&self) -> anyhow::Result<Backends> {
        self.open_backends(true).await
    }

    async fn open_backends(&self, worker: bool) -> anyhow::Result<Backends> {
        let all_real = !matches!(self.bus_backend, BusChoice::Embedded)
            && !matches!(self.store_backend, StoreChoice::Embedded)
            && !matches!(self.wms_backend, WmsChoice::Embedded);
        let shared = if all_real {
            None
        } else {
            let db = self.open_db()?;
            Some(if worker {
                db.checkpoint_in_background()
                    .map_err(|e| self.db_error(e))?
            } else {
                db
            })
        };
        let db = || shared.clone().expect("opened when a port is embedded");

        let queue: Arc<dyn JobQueue> = match &self.queue_backend {
            QueueChoice::Embedded => Arc::new(EmbeddedQueue::new(self.open_db()?, self.queue)),
            QueueChoice::Sqs { queue, endpoint } => Arc::new(
                SqsQueue::connect(SqsSettings {
                    queue: queue.clone(),
                    endpoint: endpoint.clone(),
                    visibility_timeout: self.queue.visibility_timeout,
                    max_receives: self.queue.max_receives,
                })
                .await
                .map_err(AppError::from)
                .context("SQS (OMS_SQS_QUEUE)")?,
            ),
        };
        let bus: Arc<dyn EventBus> = match self.kafka_settings() {
            None => Arc::new(EmbeddedBus::new(db(), self.bus)),
            Some(settings) => Arc::new(
                KafkaBus::connect(settings)
                    .await
                    .map_err(AppError::from)
                    .context("Kafka (OMS_KAFKA_BROKERS)")?,
            ),
        };
        let store: Arc<dyn OrderStore> = match &self.store_backend {
            StoreChoice::Embedded => Arc::new(EmbeddedStore::new(db())),
            StoreChoice::Mongo { uri, database } => Arc::new(
                MongoStore::connect(&uri.0, database)
                    .await
                    .map_err(AppError::from)
                    .context("MongoDB (OMS_MONGODB_URI)")?,
            ),
        };
        let wms: Arc<dyn Warehouse> = match &self.wms_backend {
            WmsChoice::Embedded => Arc::new(EmbeddedWarehouse::new(db())),
            WmsChoice::Http { url, timeout } => Arc::new(
                HttpWarehouse::new(url, *timeout)
                    .map_err(AppError::BadInput)
                    .context("the warehouse (OMS_WMS_URL)")?,
            ),
        };
        let uow: Arc<dyn UnitOfWork> = match shared {
            Some(db) => Arc::new(db),
            None => Arc::new(NoTransaction),
        };
        Ok(Backends {
            queue,
            bus,
            store,
            wms,
            uow,
        })
    }
}

fn read_file(p: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read the config file {}", p.display()))?;
    toml::from_str(&text).map_err(|e| {
        // The parser quotes the offending line, which may hold a connection string.
        anyhow::anyhow!(
            "invalid config file {}: {}",
            p.display(),
            redact_credentials(&e.to_string())
        )
    })
}

/// Replaces the `user:password@` part of every URL in `text` with `***@`.
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, '/' | '?' | '#' | '"' | '\'' | ')'))
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_the_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("oms.toml");
        std::fs::write(
            &f,
            "data_dir = \"/from/file\"\nstorage_root = \"/file/storage\"\n[queue]\nmax_receives = 3\n[bus]\ngroup = \"g\"\n",
        )
        .unwrap();
        let c = Config::load(&Overrides {
            config: Some(f.clone()),
            data_dir: Some("/from/flag".into()),
            storage_root: None,
        })
        .unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/from/flag"));
        assert_eq!(c.storage_root, PathBuf::from("/file/storage"));
        assert_eq!(c.queue.max_receives, 3);
        assert_eq!(c.group, "g");
        assert_eq!(c.queue.visibility_timeout, Duration::from_secs(30));
    }

    #[test]
    fn credentials_in_urls_are_redacted() {
        assert_eq!(
            redact_credentials("uri = \"mongodb://oms:s3cret@db:27017/x\" and http://h/p"),
            "uri = \"mongodb://***@db:27017/x\" and http://h/p"
        );
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("oms.toml");
        std::fs::write(
            &f,
            "[mongodb]\nuri = \"mongodb://oms:s3cret@db/\"\ntypo = 1\n",
        )
        .unwrap();
        let err = Config::load(&Overrides {
            config: Some(f),
            ..Overrides::default()
        })
        .unwrap_err();
        let text = format!("{err:#}");
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("typo"), "{text}");
    }

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
        let k = c.kafka_settings().expect("the bus is Kafka");
        if std::env::var_os("OMS_KAFKA_DEBUG").is_none() {
            assert_eq!(k.debug.as_deref(), Some("cgrp,fetch"));
        }
        // The session is at least 6 s on Kafka, the poll deadline a minute.
        assert_eq!(k.session_timeout, Duration::from_secs(6));
        assert_eq!(k.max_poll_interval, Duration::from_secs(60));
    }

    #[test]
    fn unknown_keys_and_missing_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.toml");
        std::fs::write(&f, "data_dri = \"x\"\n").unwrap();
        let err = Config::load(&Overrides {
            config: Some(f),
            ..Overrides::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("bad.toml"), "{err:#}");
        assert!(format!("{err:#}").contains("data_dri"), "{err:#}");
        let err = Config::load(&Overrides {
            config: Some(dir.path().join("none.toml")),
            ..Overrides::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("none.toml"));
    }
}
