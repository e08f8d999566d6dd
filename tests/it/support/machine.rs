//! One operator's machine ([`Oms`]): a temporary working directory holding a data dir
//! and a storage root (the sample files of `storage/` copied in), on which the built
//! `oms` runs as separate processes, with the caller's `OMS_*` settings stripped and
//! only the ones a test chooses put back. Results are read with `--output json` and
//! `--log-format json`.

use super::{BIN, Proc, Run, block_on, run_cmd, s};
use oms::adapters::embedded::{Db, EmbeddedQueue, QueueSettings};
use oms::ports::{JobQueue, QueueDepth};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The sample files copied into every machine's storage root.
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/storage");

/// Stock by (hub, sku).
pub type Stock = BTreeMap<(String, String), i64>;

/// One operator's machine: a working directory with `data/` and `storage/`.
pub struct Oms {
    _tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub data: PathBuf,
    pub root: PathBuf,
    pub visibility_secs: u64,
    pub session_secs: u64,
    /// Set on every command after the caller's `OMS_*` settings are stripped (the
    /// real backends' variables, for instance); later entries win.
    pub env: Vec<(String, String)>,
}

impl Default for Oms {
    fn default() -> Self {
        Self::new()
    }
}

impl Oms {
    /// A new machine: an empty temporary directory with the sample files in
    /// `storage/`, 1 s visibility and session timeouts.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let home = tmp.path().to_path_buf();
        let root = home.join("storage");
        fs::create_dir(&root).expect("create the storage root");
        for f in ["orders.csv", "inventory.csv", "seed-orders.csv"] {
            fs::copy(Path::new(SAMPLES).join(f), root.join(f)).expect("copy a sample file");
        }
        Self {
            data: home.join("data"),
            home,
            root,
            _tmp: tmp,
            visibility_secs: 1,
            session_secs: 1,
            env: Vec::new(),
        }
    }

    /// Also sets `name=value` on every command of this machine.
    pub fn set_env(&mut self, name: &str, value: impl Into<String>) {
        self.env.push((name.to_owned(), value.into()));
    }

    /// `oms` with none of the caller's `OMS_*` settings (but this machine's `env`),
    /// short timings, run from `home`.
    pub fn bare(&self) -> Command {
        let mut c = Command::new(BIN);
        for (k, _) in std::env::vars_os() {
            if k.to_string_lossy().starts_with("OMS_") {
                c.env_remove(&k);
            }
        }
        c.env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .env(
                "OMS_QUEUE_VISIBILITY_TIMEOUT_SECS",
                self.visibility_secs.to_string(),
            )
            .env(
                "OMS_BUS_SESSION_TIMEOUT_SECS",
                self.session_secs.to_string(),
            )
            .env("OMS_QUEUE_WAIT_SECS", "1")
            .current_dir(&self.home);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// `oms ARGS` on this machine's data dir and storage root.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.bare();
        c.env("OMS_DATA_DIR", &self.data)
            .env("OMS_STORAGE_ROOT", &self.root)
            .args(args);
        c
    }

    /// `oms ARGS` to its end, whatever its exit code.
    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args))
    }

    /// `oms ARGS`, which must exit 0.
    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).ok()
    }

    /// The JSON that `oms ARGS` (exit 0) prints.
    pub fn json(&self, args: &[&str]) -> Value {
        self.ok(args).json()
    }

    /// `oms ARGS` as a long-running process.
    pub fn spawn(&self, args: &[&str]) -> Proc {
        Proc::spawn(self.cmd(args))
    }

    /// Writes `storage/NAME`; gives its path.
    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.root.join(name);
        fs::write(&p, text).expect("write a storage file");
        p
    }

    /// `oms submit FILE --seller 1`, which must be taken; gives the job id.
    pub fn submit(&self, file: &str) -> String {
        let r = self.ok(&["submit", file, "--seller", "1"]);
        let id = r.stdout.trim().to_owned();
        assert!(!id.is_empty(), "submit printed no job id");
        id
    }

    /// Every stored order (`orders ls --output json`).
    pub fn orders(&self) -> Vec<Value> {
        let v = self.json(&["orders", "ls", "--limit", "1000000", "--output", "json"]);
        v.as_array().expect("a JSON array of orders").clone()
    }

    /// The jobs of `jobs ls --output json`.
    pub fn jobs(&self) -> Vec<Value> {
        let v = self.json(&["jobs", "ls", "--output", "json"]);
        v.as_array().expect("a JSON array of jobs").clone()
    }

    /// One job with its rejects (`jobs show ID --output json`).
    pub fn job(&self, id: &str) -> Value {
        self.json(&["jobs", "show", id, "--output", "json"])
    }

    /// The warehouse's stock of this machine (`inventory ls`).
    pub fn stock(&self) -> Stock {
        let v = self.json(&["inventory", "ls", "--output", "json"]);
        v.as_array()
            .expect("a JSON array of stock lines")
            .iter()
            .map(|l| {
                (
                    (s(&l["hub_id"]), s(&l["sku_id"])),
                    l["quantity"].as_i64().expect("a quantity"),
                )
            })
            .collect()
    }

    /// Ingest with JSON logs, to the end; gives the "ingest stopped" totals.
    pub fn ingest_drain(&self) -> Value {
        self.ok(&["--log-format", "json", "ingest", "--drain"])
            .event("ingest stopped")
    }

    /// Fulfil with JSON logs, to the end; gives the "fulfil stopped" totals.
    pub fn fulfil_drain(&self) -> Value {
        self.ok(&["--log-format", "json", "fulfil", "--drain"])
            .event("fulfil stopped")
    }

    /// `oms wms serve --bind BIND` (the reference warehouse over this machine's stock),
    /// once it listens.
    pub fn serve_wms(&self, bind: &str) -> Proc {
        let mut p = self.spawn(&["wms", "serve", "--bind", bind]);
        p.wait_for("reference warehouse listening");
        p
    }

    /// The embedded database file of the data dir.
    pub fn db_file(&self) -> PathBuf {
        self.data.join(oms::adapters::embedded::db::DB_FILE)
    }

    /// The embedded job queue of the data dir, through the library (as another program
    /// on the machine would reach it).
    pub fn embedded_queue(&self, settings: QueueSettings) -> EmbeddedQueue {
        EmbeddedQueue::new(Db::open(&self.data).expect("open the data dir"), settings)
    }

    /// Puts `body` in the embedded job queue directly, as another program could (not
    /// through `oms submit`, which only queues valid requests).
    pub fn enqueue(&self, body: &str) {
        let q = self.embedded_queue(QueueSettings::default());
        block_on(q.send(body)).expect("send a message");
    }

    /// The embedded queue's depth as seen from outside the CLI.
    pub fn queue_depth(&self) -> QueueDepth {
        let q = self.embedded_queue(QueueSettings::default());
        block_on(q.depth()).expect("queue depth")
    }
}
