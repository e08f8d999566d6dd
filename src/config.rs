//! Settings: defaults < `oms.toml` (`--config` / `OMS_CONFIG`) < `OMS_*` environment <
//! flags, read and validated into a [`Config`] that names the backend of each port.
//! Turning a `Config` into adapters is `wiring`'s job; nothing here connects.

mod s3;

pub use crate::domain::secret::{Secret, redact_credentials};
use anyhow::{Context, bail};
pub use s3::{S3Config, S3File, s3_config, s3_prefix};
use serde::Deserialize;
use std::path::{Path, PathBuf};
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
    #[serde(default)]
    pub api: ApiFile,
    #[serde(default)]
    pub s3: S3File,
    #[serde(default)]
    pub ingest: IngestFile,
}

/// `[ingest]`: `memory_mb`, the megabytes of a file's orders an ingest holds before it
/// spills the rest to temporary files (`OMS_INGEST_MEMORY_MB`, default 128; 0 spills
/// every order).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestFile {
    pub memory_mb: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiFile {
    pub tokens_file: Option<PathBuf>,
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

/// The job queue's delivery rules (both backends).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueConfig {
    /// How long a received message stays invisible to other workers.
    pub visibility_timeout: Duration,
    /// Receives after which a message is dead-lettered.
    pub max_receives: u32,
}

/// The embedded bus's shape and its consumer session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusConfig {
    pub partitions: i32,
    /// A member silent this long leaves its group.
    pub session_timeout: Duration,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub storage_root: PathBuf,
    pub queue: QueueConfig,
    /// Long-poll wait of one receive.
    pub queue_wait: Duration,
    pub bus: BusConfig,
    pub group: String,
    pub queue_backend: QueueChoice,
    pub bus_backend: BusChoice,
    pub store_backend: StoreChoice,
    pub wms_backend: WmsChoice,
    /// The bearer token `oms serve` requires (`OMS_API_TOKEN`): the operator's, for
    /// every seller.
    pub api_token: Option<Secret>,
    /// The file of seller-scoped API tokens (`OMS_API_TOKENS_FILE`, `[api]
    /// tokens_file`).
    pub api_tokens_file: Option<PathBuf>,
    /// The warehouse's bearer token (`OMS_WMS_TOKEN`): what `oms wms serve` requires,
    /// and what the HTTP warehouse adapter sends.
    pub wms_token: Option<Secret>,
    /// Order files in S3, when any S3 prefix is allowed.
    pub s3: Option<S3Config>,
    /// Megabytes of a file's orders an ingest holds in memory (`[ingest] memory_mb`).
    pub ingest_memory_mb: u64,
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
        let q = QueueConfig {
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
        let bus = BusConfig {
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
            api_token: std::env::var("OMS_API_TOKEN").ok().map(Secret),
            api_tokens_file: env_str("OMS_API_TOKENS_FILE")
                .map(PathBuf::from)
                .or(file.api.tokens_file),
            wms_token: std::env::var("OMS_WMS_TOKEN").ok().map(Secret),
            s3: s3_config(file.s3, &env_str)?,
            ingest_memory_mb: env_num("OMS_INGEST_MEMORY_MB")?
                .or(file.ingest.memory_mb)
                .unwrap_or(128),
        })
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
        let mut line = format!("queue={queue} bus={bus} store={store} wms={wms}");
        if let Some(s3) = &self.s3 {
            line.push_str(&format!(" s3={}", s3.describe()));
        }
        line
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

    #[test]
    fn s3_is_read_from_the_config_file_and_described() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("oms.toml");
        std::fs::write(&f, "[s3]\nallow = [\"s3://orders/in/\"]\n").unwrap();
        let c = Config::load(&Overrides {
            config: Some(f.clone()),
            ..Overrides::default()
        })
        .unwrap();
        if std::env::var_os("OMS_S3_ALLOW").is_none() && std::env::var_os("OMS_S3_UPLOAD").is_none()
        {
            let s3 = c.s3.as_ref().expect("configured");
            assert_eq!(s3.allow, ["s3://orders/in/"]);
            assert!(
                c.describe().ends_with(" s3=allow(s3://orders/in/)"),
                "{}",
                c.describe()
            );
        }
        std::fs::write(&f, "[s3]\nalow = [\"s3://orders/in/\"]\n").unwrap();
        let err = Config::load(&Overrides {
            config: Some(f),
            ..Overrides::default()
        })
        .unwrap_err();
        assert!(format!("{err:#}").contains("alow"), "{err:#}");
    }
}
