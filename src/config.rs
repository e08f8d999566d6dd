//! Configuration: defaults < `oms.toml` (`--config` / `OMS_CONFIG`) < `OMS_*`
//! environment < flags, and the choice of adapter for each port.

use crate::adapters::embedded::{
    BusSettings, Db, EmbeddedBus, EmbeddedQueue, EmbeddedStore, EmbeddedWarehouse, QueueSettings,
};
use crate::app::Backends;
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
}

/// What the flags (and, through clap, the environment) say about the shared settings.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub storage_root: Option<PathBuf>,
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
            group: file.bus.group.unwrap_or_else(|| "oms-fulfil".into()),
        })
    }

    /// Opens the adapter of each port (all embedded for now).
    ///
    /// # Errors
    /// When the embedded database cannot be opened.
    pub fn backends(&self) -> anyhow::Result<(Backends, EmbeddedWarehouse)> {
        let open = || {
            Db::open(&self.data_dir).with_context(|| {
                format!(
                    "cannot open the embedded database in {}",
                    self.data_dir.display()
                )
            })
        };
        let shared = open()?;
        let queue_db = open()?;
        let wms = EmbeddedWarehouse::new(shared.clone());
        let backends = Backends {
            queue: Arc::new(EmbeddedQueue::new(queue_db, self.queue)),
            bus: Arc::new(EmbeddedBus::new(shared.clone(), self.bus)),
            store: Arc::new(EmbeddedStore::new(shared.clone())),
            wms: Arc::new(wms.clone()),
            uow: Arc::new(shared),
        };
        Ok((backends, wms))
    }
}

fn read_file(p: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read the config file {}", p.display()))?;
    toml::from_str(&text).with_context(|| format!("invalid config file {}", p.display()))
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
