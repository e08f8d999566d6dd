//! The fault suite: oms under SIGKILLs, backend outages and poison messages, then a
//! check that nothing was lost, stored twice, left half-done, oversold or deducted
//! twice.
//!
//! Each variant generates a workload of many CSV files (seeded: the seed is printed,
//! `OMS_FAULT_SEED=N` replays it) with tens of thousands of valid orders, a few invalid
//! ones per file (quantity 0, -2, 1.5 or `abc`, an empty sku_id, an unknown SKU or hub)
//! and scarce stock, so that many orders must stay `on_hold`. Two of the files are
//! submitted twice. Then, during a chaos phase:
//!
//! - two or more `oms ingest` and two or more `oms fulfil` run at once under a
//!   supervisor that SIGKILLs one of them at a random moment every second or two and
//!   starts it again, and restarts (after 1 s, like systemd's `Restart=always`) any
//!   that exits by itself during an outage;
//! - the files are submitted one by one (a submit refused during an outage is retried);
//! - a few poison messages (not JSON, no seller, an empty seller, an empty path) are
//!   put straight into the job queue; they must end in the dead-letter queue after
//!   `OMS_QUEUE_MAX_RECEIVES` receives while everything else completes;
//! - each backend is taken away for a while and given back:
//!   - `embedded`: everything in the one SQLite file of the data dir. There is no
//!     process to stop, so the test holds an exclusive write lock on it (`BEGIN
//!     EXCLUSIVE`) for 5 s (shorter than oms's 30 s busy timeout: calls stall) and for
//!     35 s (longer: calls fail with "database is locked"; during it one worker of
//!     each kind is spared the SIGKILLs so that it lives through the failures).
//!   - `embedded_http_wms`: queue, bus and store embedded, the warehouse an
//!     `oms wms serve` over HTTP (`OMS_WMS_URL`), SIGKILLed and started again on the
//!     same port (6 s, then 15 s: longer than ingest's validation retries), plus a
//!     short lock of the SQLite file.
//!   - `real`: private moto (SQS), tansu (Kafka, `sqlite://` storage) and SecantusDB
//!     (MongoDB) on free loopback ports under the test's temporary directory, and an
//!     `oms wms serve`. moto keeps its queues in memory, so it is paused (SIGSTOP, then
//!     SIGCONT); tansu is stopped (SIGTERM) and started again on the same storage and
//!     port; SecantusDB likewise on the same `--storage-path` and port; the warehouse is
//!     SIGKILLed and started again.
//!
//! After the chaos phase every worker gets SIGTERM (and must stop within 30 s), then
//! `ingest --drain` and `fulfil --drain` run until everything settles, and the
//! invariants are checked: every valid order stored exactly once with its items and
//! no invalid one; every order `new_order`, or `on_hold` with reason
//! `insufficient_inventory` (none stuck without a reason); for every (hub, sku) the
//! initial stock equals what is left plus what the `new_order` orders hold (so stock
//! was deducted exactly once per `new_order` order), none below zero, and every held
//! order still short; every submitted job `done`, its counts (rows, orders accepted,
//! rejected, duplicate) and rejected rows those of its file, its accepted count the
//! number of stored orders carrying its id, each file's orders accepted once over its
//! jobs; the job queue empty and exactly the poison messages dead-lettered; no worker
//! panicked or ignored SIGTERM. Every violation is collected and all are printed with
//! the run's figures (seed, files, rows, orders, workers started / SIGKILLed / exited
//! by themselves, outages with their durations, outcome, dead letters, elapsed), then
//! the test fails if there is any.
//!
//! Size: `OMS_FAULT_SCALE` (default 1, may be fractional) multiplies the number of
//! files. At 1, `embedded` has 24 files of 900 valid + 20 invalid orders (21,600 valid
//! orders, ~44k rows) and takes about 1.5 minutes; `embedded_http_wms` 12 files of
//! 500 (6,000 orders), about 1 minute; `real` only 12 files of 200 (2,400 orders),
//! because SecantusDB stores ~3k orders/s and fulfil over it does ~13 events/s per
//! consumer, about 2.5 minutes (most of it fulfil's backlog after the chaos phase).
//! The chaos timeline is the same at every scale; the settle phase gets more time.
//! When the settle phase fails, the drains' last log lines (at debug), the private
//! services' logs and `oms doctor` are printed; `OMS_FAULT_KEEP=1` keeps the real
//! variant's service files (tansu's and SecantusDB's storage, logs).
//!
//! The real variant needs `scripts/services env`'s `OMS_TEST_PYTHON` (its directory
//! holds `moto_server` and `secantusd-py`) and `OMS_TEST_TANSU`; without them it is
//! skipped with a note, or fails when `OMS_REQUIRE_SERVICES=1`. The variants hold one
//! lock, so they never run at the same time. `scripts/test` runs this file with
//! `--nocapture` so the figures are in the CI log.

mod common;

#[path = "support/services.rs"]
mod services;

use common::*;
use oms::adapters::embedded::{Db, EmbeddedQueue, QueueSettings};
use oms::ports::JobQueue;
use serde_json::Value;
use services::{env_or, service_env};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

/// The variants are heavy: one at a time, whatever `--test-threads` says.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Receives before a message is dead-lettered. High enough that a valid message
/// redelivered after a few SIGKILLs and outages is not dead-lettered.
const MAX_RECEIVES: u32 = 8;

/// Bodies ingest cannot use.
const POISON: [&str; 4] = [
    "not json",
    r#"{"filePath":"storage/fault-0.csv"}"#,
    r#"{"sellerID":"","filePath":"storage/fault-0.csv"}"#,
    r#"{"sellerID":1,"filePath":""}"#,
];

fn scale() -> f64 {
    let s = env_or("OMS_FAULT_SCALE", "1");
    let v: f64 = s
        .parse()
        .unwrap_or_else(|_| panic!("OMS_FAULT_SCALE={s:?} is not a number"));
    assert!(v > 0.0, "OMS_FAULT_SCALE must be above 0");
    v
}

fn seed() -> u64 {
    match std::env::var("OMS_FAULT_SEED") {
        Ok(s) => s
            .parse()
            .unwrap_or_else(|_| panic!("OMS_FAULT_SEED={s:?} is not a number")),
        Err(_) => {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("time");
            t.as_secs() ^ u64::from(t.subsec_nanos())
        }
    }
}

fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(2)
}

fn wait_port(port: u16, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(100));
    }
    false
}

fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

fn secs(d: Duration) -> String {
    format!("{:.1}s", d.as_secs_f64())
}

/// The last `n` of `lines`, each shortened, one per line.
fn tail(lines: &[String], n: usize) -> String {
    lines[lines.len().saturating_sub(n)..]
        .iter()
        .map(|l| format!("    {}", short(l)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn short(line: &str) -> String {
    let t = line.trim();
    if t.chars().count() > 240 {
        format!("{}…", t.chars().take(240).collect::<String>())
    } else {
        t.to_owned()
    }
}

// ---------------------------------------------------------------------------------
// Private real services
// ---------------------------------------------------------------------------------

/// A service process of the test's own; killed when dropped.
struct Service {
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    port: u16,
    log: PathBuf,
    child: Option<Child>,
}

impl Service {
    fn start(&mut self) -> Result<(), String> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(|e| format!("{}: log {}: {e}", self.name, self.log.display()))?;
        let child = Command::new(&self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone a file handle"))
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", self.program.display()))?;
        self.child = Some(child);
        if wait_port(self.port, Duration::from_secs(60)) {
            Ok(())
        } else {
            Err(format!(
                "{} did not listen on {} within 60 s; its log:\n{}",
                self.name,
                self.port,
                self.log_tail()
            ))
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// SIGTERM, then SIGKILL after `grace`; how long it took to exit.
    fn stop(&mut self, grace: Duration) -> (Duration, bool) {
        let started = Instant::now();
        let Some(mut child) = self.child.take() else {
            return (Duration::ZERO, true);
        };
        signal(child.id(), "TERM");
        let clean = wait_timeout(&mut child, grace).is_some();
        if !clean {
            let _ = child.kill();
            let _ = child.wait();
        }
        (started.elapsed(), clean)
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// moto, tansu and SecantusDB of this test only.
struct Private {
    moto: Service,
    tansu: Service,
    secantus: Service,
}

impl Private {
    /// `None` when the binaries are not configured (and not required).
    fn start(dir: &Path) -> Option<Self> {
        let python = PathBuf::from(service_env("OMS_TEST_PYTHON")?);
        let tansu = PathBuf::from(service_env("OMS_TEST_TANSU")?);
        let bin = python
            .parent()
            .expect("the venv's bin directory")
            .to_owned();
        let (sqs, kafka, mongo) = (free_port(), free_port(), free_port());
        let mongo_dir = dir.join("secantus");
        let kafka_dir = dir.join("tansu");
        fs::create_dir_all(&mongo_dir).expect("mkdir");
        fs::create_dir_all(&kafka_dir).expect("mkdir");
        let listener = format!("tcp://127.0.0.1:{kafka}");
        let mut p = Self {
            moto: Service {
                name: "moto",
                program: bin.join("moto_server"),
                args: vec![
                    "-H".into(),
                    "127.0.0.1".into(),
                    "-p".into(),
                    sqs.to_string(),
                ],
                port: sqs,
                log: dir.join("moto.log"),
                child: None,
            },
            tansu: Service {
                name: "tansu",
                program: tansu,
                args: vec![
                    "broker".into(),
                    "--listener-url".into(),
                    listener.clone(),
                    "--advertised-listener-url".into(),
                    listener,
                    "--storage-engine".into(),
                    // sqlite:/// + an absolute path: four slashes (tansu drops one).
                    format!("sqlite:///{}", kafka_dir.join("tansu.db").display()),
                ],
                port: kafka,
                log: dir.join("tansu.log"),
                child: None,
            },
            secantus: Service {
                name: "secantus",
                program: bin.join("secantusd-py"),
                args: vec![
                    "--host".into(),
                    "127.0.0.1".into(),
                    "--port".into(),
                    mongo.to_string(),
                    "--storage-path".into(),
                    mongo_dir.display().to_string(),
                ],
                port: mongo,
                log: dir.join("secantus.log"),
                child: None,
            },
        };
        for s in [&mut p.moto, &mut p.tansu, &mut p.secantus] {
            s.start().unwrap_or_else(|e| panic!("{e}"));
        }
        Some(p)
    }
}

// ---------------------------------------------------------------------------------
// The world of one variant
// ---------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// An exclusive write lock on the embedded SQLite file.
    DbLock,
    /// moto paused.
    Sqs,
    /// tansu stopped.
    Kafka,
    /// SecantusDB stopped.
    Mongo,
    /// `oms wms serve` SIGKILLed.
    Wms,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::DbLock => "embedded db (exclusive lock)",
            Kind::Sqs => "queue: moto SIGSTOP/SIGCONT",
            Kind::Kafka => "bus: tansu stop/start",
            Kind::Mongo => "store: SecantusDB stop/start",
            Kind::Wms => "warehouse: oms wms serve SIGKILL/start",
        }
    }
}

/// An outage of the plan: `kind` from `at` (since the chaos phase began) for `hold`.
#[derive(Debug, Clone, Copy)]
struct Planned {
    kind: Kind,
    at: Duration,
    hold: Duration,
}

/// What happened to one outage.
#[derive(Debug)]
struct Happened {
    kind: Kind,
    at: Duration,
    lasted: Duration,
    note: String,
}

/// The warehouse over HTTP: a machine of its own serving its stock.
struct HttpWms {
    machine: Oms,
    bind: String,
    proc: Option<Proc>,
}

impl HttpWms {
    fn new() -> Self {
        Self {
            machine: Oms::new(),
            bind: format!("127.0.0.1:{}", free_port()),
            proc: None,
        }
    }

    fn start(&mut self) {
        let mut p = self.machine.spawn(&["wms", "serve", "--bind", &self.bind]);
        p.wait_for("reference warehouse listening");
        self.proc = Some(p);
    }
}

/// Where poison messages go in.
#[derive(Clone)]
enum QueueAccess {
    Embedded(PathBuf),
    Sqs { endpoint: String, queue: String },
}

fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "fault",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(conf)
}

impl QueueAccess {
    fn send(&self, body: &str) -> Result<(), String> {
        match self {
            QueueAccess::Embedded(data) => {
                let db = Db::open(data).map_err(|e| e.to_string())?;
                let q = EmbeddedQueue::new(db, QueueSettings::default());
                block_on(q.send(body))
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
            QueueAccess::Sqs { endpoint, queue } => block_on(async {
                let sqs = sqs_client(endpoint);
                let url = sqs
                    .get_queue_url()
                    .queue_name(queue)
                    .send()
                    .await
                    .map_err(|e| format!("{e:?}"))?
                    .queue_url
                    .ok_or("no queue URL")?;
                sqs.send_message()
                    .queue_url(url)
                    .message_body(body)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| format!("{e:?}"))
            }),
        }
    }
}

/// One variant's machines, services and plan.
struct World {
    name: &'static str,
    oms: Oms,
    faults: Faults,
    queue: QueueAccess,
    ingests: usize,
    fulfils: usize,
    plan: Vec<Planned>,
    /// Files are submitted over this long from the start of the chaos phase.
    submit_over: Duration,
    /// The chaos phase lasts at least this long (every outage is over by then).
    chaos: Duration,
    /// Time between two SIGKILLs.
    kill_every: (Duration, Duration),
    settle_within: Duration,
}

/// What the outages act on.
struct Faults {
    /// The data dir of the embedded database.
    data: PathBuf,
    wms: Option<HttpWms>,
    private: Option<Private>,
    /// The exclusive lock held on the embedded database, during a `DbLock` outage.
    lock: Option<rusqlite::Connection>,
}

impl Faults {
    /// The last lines of the private services' logs (after a failed settle).
    fn print_logs(&self, variant: &str) {
        if let Some(p) = &self.private {
            for s in [&p.moto, &p.tansu, &p.secantus] {
                eprintln!(
                    "fault[{variant}]: the last lines of {}'s log:\n{}",
                    s.name,
                    s.log_tail()
                );
            }
        }
    }

    fn begin(&mut self, kind: Kind) -> Result<String, String> {
        match kind {
            Kind::DbLock => {
                let conn = rusqlite::Connection::open(
                    self.data.join(oms::adapters::embedded::db::DB_FILE),
                )
                .map_err(|e| e.to_string())?;
                conn.busy_timeout(Duration::from_secs(20))
                    .map_err(|e| e.to_string())?;
                let t = Instant::now();
                conn.execute_batch("BEGIN EXCLUSIVE")
                    .map_err(|e| format!("BEGIN EXCLUSIVE: {e}"))?;
                self.lock = Some(conn);
                Ok(format!("lock taken in {}", secs(t.elapsed())))
            }
            Kind::Sqs => {
                let p = self.private.as_ref().expect("private services");
                if signal(p.moto.pid(), "STOP") {
                    Ok(String::new())
                } else {
                    Err("kill -STOP moto failed".into())
                }
            }
            Kind::Kafka => {
                let p = self.private.as_mut().expect("private services");
                let (took, clean) = p.tansu.stop(Duration::from_secs(10));
                Ok(format!(
                    "tansu stopped in {}{}",
                    secs(took),
                    if clean { "" } else { " (SIGKILL)" }
                ))
            }
            Kind::Mongo => {
                let p = self.private.as_mut().expect("private services");
                let (took, clean) = p.secantus.stop(Duration::from_secs(20));
                Ok(format!(
                    "SecantusDB stopped in {}{}",
                    secs(took),
                    if clean { "" } else { " (SIGKILL)" }
                ))
            }
            Kind::Wms => {
                let w = self.wms.as_mut().expect("an HTTP warehouse");
                if let Some(p) = w.proc.take() {
                    let lines = p.kill9_lines();
                    if lines.iter().any(|l| l.contains("panicked")) {
                        return Err(format!("the warehouse had panicked: {lines:?}"));
                    }
                }
                Ok(String::new())
            }
        }
    }

    fn end(&mut self, kind: Kind) -> Result<String, String> {
        match kind {
            Kind::DbLock => {
                let conn = self.lock.take().ok_or("no lock held")?;
                conn.execute_batch("ROLLBACK").map_err(|e| e.to_string())?;
                Ok(String::new())
            }
            Kind::Sqs => {
                let p = self.private.as_ref().expect("private services");
                if signal(p.moto.pid(), "CONT") {
                    Ok(String::new())
                } else {
                    Err("kill -CONT moto failed".into())
                }
            }
            Kind::Kafka => {
                let t = Instant::now();
                let p = self.private.as_mut().expect("private services");
                p.tansu.start()?;
                Ok(format!("tansu listening again in {}", secs(t.elapsed())))
            }
            Kind::Mongo => {
                let t = Instant::now();
                let p = self.private.as_mut().expect("private services");
                p.secantus.start()?;
                Ok(format!(
                    "SecantusDB listening again in {}",
                    secs(t.elapsed())
                ))
            }
            Kind::Wms => {
                let t = Instant::now();
                self.wms.as_mut().expect("an HTTP warehouse").start();
                Ok(format!(
                    "warehouse listening again in {}",
                    secs(t.elapsed())
                ))
            }
        }
    }
}

impl World {
    /// The stock where the warehouse keeps it.
    fn stock(&self) -> BTreeMap<(String, String), i64> {
        match &self.faults.wms {
            Some(w) => w.machine.stock(),
            None => self.oms.stock(),
        }
    }
}

// ---------------------------------------------------------------------------------
// Workers and their supervisor
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct KindFigures {
    started: u32,
    killed: u32,
    /// Exits of their own during the chaos phase, by exit code.
    exited: BTreeMap<i32, u32>,
    /// A few of the last lines of those exits.
    why: BTreeSet<String>,
    /// Exit codes after the final SIGTERM.
    terminated: BTreeMap<i32, u32>,
    /// Warnings and errors logged, by their first words.
    warnings: BTreeMap<String, u32>,
}

struct Slot {
    kind: &'static str,
    proc: Option<Proc>,
    restart_at: Option<Instant>,
}

struct Supervisor {
    slots: Vec<Slot>,
    figures: BTreeMap<&'static str, KindFigures>,
    violations: Vec<String>,
}

impl Supervisor {
    fn new(ingests: usize, fulfils: usize) -> Self {
        let mut slots = Vec::new();
        for _ in 0..ingests {
            slots.push(Slot {
                kind: "ingest",
                proc: None,
                restart_at: Some(Instant::now()),
            });
        }
        for _ in 0..fulfils {
            slots.push(Slot {
                kind: "fulfil",
                proc: None,
                restart_at: Some(Instant::now()),
            });
        }
        Self {
            slots,
            figures: BTreeMap::new(),
            violations: Vec::new(),
        }
    }

    /// Looks through a finished worker's stderr: panics are violations; warnings and
    /// errors are counted by what they say (up to the first `:` or `;`), to show that
    /// the outages were felt.
    fn look_for_panics(&mut self, what: &'static str, lines: &[String]) {
        if let Some(l) = lines.iter().find(|l| l.contains("panicked")) {
            self.violations
                .push(format!("`oms {what}` panicked: {}", short(l)));
        }
        let f = self.figures.entry(what).or_default();
        for l in lines {
            let Ok(v) = serde_json::from_str::<Value>(l) else {
                continue;
            };
            if v["level"] != "WARN" && v["level"] != "ERROR" {
                continue;
            }
            let msg = v["fields"]["message"].as_str().unwrap_or("?");
            let head = msg.split([':', ';']).next().unwrap_or(msg).trim();
            let head: String = head.chars().take(60).collect();
            *f.warnings.entry(head).or_insert(0) += 1;
        }
    }

    /// Reaps workers that exited by themselves and (re)starts the ones due.
    fn tend(&mut self, oms: &Oms) {
        let now = Instant::now();
        for i in 0..self.slots.len() {
            let kind = self.slots[i].kind;
            let exited = self.slots[i]
                .proc
                .as_mut()
                .and_then(Proc::exited)
                .map(|s| s.code().unwrap_or(-1));
            if let Some(code) = exited {
                let mut p = self.slots[i].proc.take().expect("a process");
                let lines = p.rest_of_lines();
                self.look_for_panics(kind, &lines);
                let f = self.figures.entry(kind).or_default();
                *f.exited.entry(code).or_insert(0) += 1;
                if let Some(last) = lines.iter().rev().find(|l| !l.trim().is_empty())
                    && f.why.len() < 6
                {
                    f.why.insert(format!("exit {code}: {}", short(last)));
                }
                // Restart=always, RestartSec=1.
                self.slots[i].restart_at = Some(now + Duration::from_secs(1));
            }
            let slot = &mut self.slots[i];
            if slot.proc.is_none() && slot.restart_at.is_some_and(|t| t <= now) {
                slot.proc = Some(oms.spawn(&["--log-format", "json", kind]));
                slot.restart_at = None;
                self.figures.entry(kind).or_default().started += 1;
            }
        }
    }

    /// SIGKILLs one running worker (chosen by `rng`); it is started again soon. With
    /// `spare`, the first worker of each kind is left alone (so that one of each lives
    /// through a long outage instead of being killed while it waits).
    fn kill_one(&mut self, rng: &mut Rng, spare: bool) {
        let first = |i: usize| (0..i).all(|j| self.slots[j].kind != self.slots[i].kind);
        let running: Vec<usize> = (0..self.slots.len())
            .filter(|&i| self.slots[i].proc.is_some() && !(spare && first(i)))
            .collect();
        if running.is_empty() {
            return;
        }
        let i = running[rng.below(running.len() as u64) as usize];
        let kind = self.slots[i].kind;
        let lines = self.slots[i].proc.take().expect("running").kill9_lines();
        self.look_for_panics(kind, &lines);
        self.figures.entry(kind).or_default().killed += 1;
        self.slots[i].restart_at =
            Some(Instant::now() + rng.between(Duration::ZERO, Duration::from_millis(800)));
    }

    /// SIGTERM to every worker at once; each must stop within 30 s.
    fn stop_all(&mut self) {
        for s in &self.slots {
            if let Some(p) = &s.proc {
                p.sigterm();
            }
        }
        for i in 0..self.slots.len() {
            let kind = self.slots[i].kind;
            let Some(mut p) = self.slots[i].proc.take() else {
                continue;
            };
            match p.wait_exit(Duration::from_secs(30)) {
                Some(status) => {
                    let lines = p.rest_of_lines();
                    self.look_for_panics(kind, &lines);
                    let f = self.figures.entry(kind).or_default();
                    *f.terminated.entry(status.code().unwrap_or(-1)).or_insert(0) += 1;
                }
                None => {
                    let lines = p.kill9_lines();
                    let tail = &lines[lines.len().saturating_sub(5)..];
                    self.violations.push(format!(
                        "`oms {kind}` did not stop within 30 s of SIGTERM; last lines: {tail:?}"
                    ));
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Submissions (on a thread of their own, so an outage never stalls the supervisor)
// ---------------------------------------------------------------------------------

#[derive(Default)]
struct Submitted {
    /// (path, job id) of every submit that succeeded.
    jobs: Vec<(String, String)>,
    attempts: u32,
    refused: BTreeMap<i32, u32>,
    refusals: BTreeSet<String>,
    poison_sent: Vec<String>,
    errors: Vec<String>,
}

fn submit_all(
    oms: &Oms,
    paths: &[String],
    over: Duration,
    queue: &QueueAccess,
    t0: Instant,
    deadline: Instant,
) -> Submitted {
    let mut out = Submitted::default();
    let step = over / u32::try_from(paths.len().max(1)).expect("few files");
    for (i, path) in paths.iter().enumerate() {
        let due = t0 + step * u32::try_from(i).expect("few files");
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        loop {
            out.attempts += 1;
            match oms.try_run(&["submit", path, "--seller", "1"], Duration::from_secs(90)) {
                Ok(r) if r.code == 0 => {
                    out.jobs.push((path.clone(), r.stdout.trim().to_owned()));
                    break;
                }
                Ok(r) => {
                    *out.refused.entry(r.code).or_insert(0) += 1;
                    if out.refusals.len() < 4 {
                        let last = r.stderr.lines().last().unwrap_or("").to_owned();
                        out.refusals
                            .insert(format!("exit {}: {}", r.code, short(&last)));
                    }
                }
                Err(e) => {
                    *out.refused.entry(-1).or_insert(0) += 1;
                    out.refusals.insert(short(&e));
                }
            }
            if Instant::now() > deadline {
                out.errors
                    .push(format!("`oms submit {path}` never succeeded"));
                break;
            }
            thread::sleep(Duration::from_millis(500));
        }
        // The poison goes in once a third of the files are submitted.
        if i == paths.len() / 3 {
            for body in POISON {
                loop {
                    match queue.send(body) {
                        Ok(()) => {
                            out.poison_sent.push(body.to_owned());
                            break;
                        }
                        Err(e) if Instant::now() > deadline => {
                            out.errors
                                .push(format!("cannot put poison {body:?} in the queue: {e}"));
                            break;
                        }
                        Err(_) => thread::sleep(Duration::from_millis(500)),
                    }
                }
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------

/// Sizes of one variant at scale 1.
struct Size {
    files: usize,
    per_file: usize,
    invalid_per_file: usize,
}

fn run_variant(mut world: World, size: Size) {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let started = Instant::now();
    let (scale, seed) = (scale(), seed());
    eprintln!(
        "fault[{}]: seed {seed} (OMS_FAULT_SEED={seed} replays it), scale {scale}",
        world.name
    );
    let mut rng = Rng::new(seed);
    let files = scaled(size.files, scale);
    let (w, expects) =
        Workload::with_invalid(seed, "fault", files, size.per_file, size.invalid_per_file);
    w.write_files(&world.oms, &expects);
    match &world.faults.wms {
        Some(h) => w.load_stock(&h.machine),
        None => w.load_stock(&world.oms),
    }
    if let Some(h) = world.faults.wms.as_mut() {
        h.start();
    }
    // The first two files twice: their second jobs are all duplicates.
    let mut paths: Vec<String> = expects.iter().map(|e| e.path.clone()).collect();
    paths.insert(paths.len() / 2, expects[0].path.clone());
    paths.push(expects[1].path.clone());
    let rows: u64 = expects.iter().map(|e| e.rows).sum();
    let invalid: usize = expects.iter().map(|e| e.invalid.len()).sum();

    // Chaos.
    let mut sup = Supervisor::new(world.ingests, world.fulfils);
    let mut happened: Vec<Happened> = Vec::new();
    let mut violations: Vec<String> = Vec::new();
    let mut plan = world.plan.clone();
    plan.sort_by_key(|p| p.at);
    let mut next_outage = 0;
    let mut active: Option<(Planned, Instant, Instant, String)> = None;
    let t0 = Instant::now();
    let hard_end = t0 + world.chaos + Duration::from_secs(120).mul_f64(scale.max(1.0));
    let mut next_kill = t0 + rng.between(world.kill_every.0, world.kill_every.1);
    let submitted = {
        let (oms, queue, over) = (&world.oms, world.queue.clone(), world.submit_over);
        let faults = &mut world.faults;
        let paths = &paths;
        thread::scope(|sc| {
            let sub = sc.spawn(move || submit_all(oms, paths, over, &queue, t0, hard_end));
            loop {
                let now = Instant::now();
                sup.tend(oms);
                if now >= next_kill {
                    // Outages longer than the embedded busy timeout (30 s) spare a worker
                    // of each kind, which must then live through calls that fail.
                    let long = active
                        .as_ref()
                        .is_some_and(|(p, ..)| p.hold >= Duration::from_secs(30));
                    sup.kill_one(&mut rng, long);
                    next_kill = now + rng.between(world.kill_every.0, world.kill_every.1);
                }
                if let Some((p, asked, down, note)) = active.take() {
                    if now >= down + p.hold {
                        let end = faults.end(p.kind);
                        let lasted = asked.elapsed();
                        let note = match end {
                            Ok(n) => [note, n]
                                .into_iter()
                                .filter(|s| !s.is_empty())
                                .collect::<Vec<_>>()
                                .join("; "),
                            Err(e) => {
                                violations.push(format!("ending {:?}: {e}", p.kind));
                                e
                            }
                        };
                        happened.push(Happened {
                            kind: p.kind,
                            at: asked - t0,
                            lasted,
                            note,
                        });
                    } else {
                        active = Some((p, asked, down, note));
                    }
                } else if next_outage < plan.len() && now >= t0 + plan[next_outage].at {
                    let p = plan[next_outage];
                    next_outage += 1;
                    let asked = Instant::now();
                    match faults.begin(p.kind) {
                        // The hold counts from when the backend is actually down (a
                        // stop can take seconds); `at` from when it was asked.
                        Ok(note) => active = Some((p, asked, Instant::now(), note)),
                        Err(e) => violations.push(format!("starting {:?}: {e}", p.kind)),
                    }
                }
                let done = now >= t0 + world.chaos
                    && active.is_none()
                    && next_outage == plan.len()
                    && sub.is_finished();
                if done {
                    break;
                }
                if now > hard_end && active.is_none() {
                    violations.push(format!(
                        "the chaos phase did not end within {}",
                        secs(hard_end - t0)
                    ));
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
            sub.join().expect("the submitter")
        })
    };
    let chaos_took = t0.elapsed();
    // During an outage a command must say "unavailable, run again later" (exit 4),
    // nothing else.
    for (code, n) in &submitted.refused {
        if *code != 4 {
            violations.push(format!(
                "{n} submit(s) during an outage exited {code}, not 4 (unavailable): {:?}",
                submitted.refusals
            ));
        }
    }
    for (kind, k) in &sup.figures {
        for (code, n) in &k.exited {
            if *code != 4 {
                violations.push(format!(
                    "{n} `oms {kind}` exited {code} by itself during the chaos phase, not 4 \
                     (unavailable): {:?}",
                    k.why
                ));
            }
        }
    }
    sup.stop_all();
    violations.append(&mut sup.violations);
    violations.extend(submitted.errors.iter().cloned());

    // Settle: drains until every order is through.
    let t1 = Instant::now();
    let settle_deadline = t1 + world.settle_within.mul_f64(scale.max(1.0));
    let mut rounds = 0;
    let mut drain_codes: BTreeMap<String, u32> = BTreeMap::new();
    let my_jobs: BTreeSet<&str> = submitted.jobs.iter().map(|(_, j)| j.as_str()).collect();
    let settled = loop {
        rounds += 1;
        let r = world.oms.try_run(
            &["--log-format", "json", "ingest", "--drain"],
            Duration::from_secs(300),
        );
        let code = r.as_ref().map_or(-1, |r| r.code);
        *drain_codes
            .entry(format!("ingest --drain exit {code}"))
            .or_insert(0) += 1;
        if let Ok(r) = &r
            && r.stderr.contains("panicked")
        {
            violations.push(format!("`ingest --drain` panicked: {}", short(&r.stderr)));
        }
        // As many fulfils at once as during the chaos phase.
        // With oms's debug lines, so that a drain that does not end says why.
        let mut drains: Vec<Proc> = (0..world.fulfils)
            .map(|_| {
                let mut c = world
                    .oms
                    .cmd(&["--log-format", "json", "fulfil", "--drain"]);
                c.env("RUST_LOG", "warn,oms=debug")
                    .env("OMS_KAFKA_DEBUG", "cgrp");
                Proc::spawn(c)
            })
            .collect();
        for (i, p) in drains.iter_mut().enumerate() {
            let left = settle_deadline.saturating_duration_since(Instant::now());
            let exited = p.wait_exit(left.max(Duration::from_secs(30)));
            let code = exited.map_or(-1, |s| s.code().unwrap_or(-1));
            if exited.is_none() {
                let _ = p.child.kill();
            }
            let lines = p.rest_of_lines();
            if lines.iter().any(|l| l.contains("panicked")) {
                violations.push("`fulfil --drain` panicked".into());
            }
            if code != 0 {
                eprintln!(
                    "fault[{}]: fulfil --drain #{i} exit {code}; its last lines:\n{}",
                    world.name,
                    tail(&lines, 25)
                );
            }
            *drain_codes
                .entry(format!("fulfil --drain exit {code}"))
                .or_insert(0) += 1;
        }
        drop(drains);
        let orders = world.oms.orders();
        let jobs = list_jobs(&world.oms);
        let mine_done = jobs
            .iter()
            .filter(|j| my_jobs.contains(j["job_id"].as_str().unwrap_or("")))
            .all(|j| j["state"] == "done");
        if orders.len() >= w.orders.len() && Workload::unsettled(&orders) == 0 && mine_done {
            break true;
        }
        eprintln!(
            "fault[{}]: settle round {rounds}: {} of {} orders stored, {} unsettled, my jobs all done: {mine_done}",
            world.name,
            orders.len(),
            w.orders.len(),
            Workload::unsettled(&orders)
        );
        if Instant::now() > settle_deadline || rounds >= 8 {
            world.faults.print_logs(world.name);
            if let Ok(r) = world.oms.try_run(&["doctor"], Duration::from_secs(120)) {
                eprintln!(
                    "fault[{}]: oms doctor:\n{}{}",
                    world.name, r.stdout, r.stderr
                );
            }
            break false;
        }
    };
    let settle_took = t1.elapsed();
    if !settled {
        violations.push(format!(
            "not settled after {} and {rounds} rounds of drains",
            secs(settle_took)
        ));
    }

    // Invariants.
    let orders = world.oms.orders();
    let stock = world.stock();
    let (mut v, outcome) = w.violations(&orders, &stock);
    violations.append(&mut v);
    let jobs = list_jobs(&world.oms);
    let job_figures = check_jobs(
        &world.oms,
        &jobs,
        &expects,
        &submitted,
        &orders,
        &mut violations,
    );
    let letters = world
        .oms
        .try_run(
            &["dlq", "ls", "--limit", "1000", "--output", "json"],
            Duration::from_secs(120),
        )
        .ok()
        .filter(|r| r.code == 0)
        .and_then(|r| serde_json::from_str::<Value>(&r.stdout).ok())
        .and_then(|v| v.as_array().cloned());
    let dead: Vec<String> = match &letters {
        Some(l) => l
            .iter()
            .map(|d| d["body"].as_str().unwrap_or("").to_owned())
            .collect(),
        None => {
            violations.push("`oms dlq ls` failed".into());
            Vec::new()
        }
    };
    let mut want: Vec<String> = submitted.poison_sent.clone();
    want.sort();
    let mut got = dead.clone();
    got.sort();
    if got != want {
        violations.push(format!(
            "the dead-letter queue holds {got:?}, not exactly the poison messages {want:?}"
        ));
    }
    let depth = queue_left(&world);
    if depth != (0, 0) {
        violations.push(format!(
            "the job queue still holds {} visible and {} in flight",
            depth.0, depth.1
        ));
    }

    // Figures.
    let mut f = String::new();
    let _ = writeln!(f, "==== fault suite: {} ====", world.name);
    let _ = writeln!(
        f,
        "seed            {seed} (OMS_FAULT_SEED), scale {scale} (OMS_FAULT_SCALE)"
    );
    let _ = writeln!(
        f,
        "files           {} ({} submits: two files twice; {} submit attempts, refused {:?})",
        expects.len(),
        paths.len(),
        submitted.attempts,
        submitted.refused
    );
    for r in &submitted.refusals {
        let _ = writeln!(f, "                  refused: {r}");
    }
    let _ = writeln!(
        f,
        "rows            {rows} ({} valid orders, {invalid} invalid orders)",
        w.orders.len()
    );
    for (kind, k) in &sup.figures {
        let _ = writeln!(
            f,
            "{kind:<15} started {}, SIGKILLed {}, exited by themselves {:?}, after SIGTERM {:?}",
            k.started, k.killed, k.exited, k.terminated
        );
        for why in &k.why {
            let _ = writeln!(f, "                  {why}");
        }
        let mut warned: Vec<(&u32, &String)> = k.warnings.iter().map(|(m, n)| (n, m)).collect();
        warned.sort_by(|a, b| b.cmp(a));
        for (n, m) in warned.iter().take(6) {
            let _ = writeln!(f, "                  logged {n}× {m:?}");
        }
    }
    for h in &happened {
        let _ = writeln!(
            f,
            "outage          {:<40} at {:>6} for {:>6}  {}",
            h.kind.name(),
            secs(h.at),
            secs(h.lasted),
            h.note
        );
    }
    let _ = writeln!(
        f,
        "outcome         {} stored: {} new_order, {} on_hold, {} unsettled",
        outcome.stored, outcome.new_order, outcome.on_hold, outcome.unsettled
    );
    let _ = writeln!(f, "jobs            {job_figures}");
    let _ = writeln!(
        f,
        "dead letters    {} (poison sent: {}, max receives {MAX_RECEIVES})",
        dead.len(),
        submitted.poison_sent.len()
    );
    let _ = writeln!(f, "settle          {rounds} round(s) {drain_codes:?}");
    let _ = writeln!(
        f,
        "elapsed         {} (chaos {}, settle {})",
        secs(started.elapsed()),
        secs(chaos_took),
        secs(settle_took)
    );
    let _ = writeln!(f, "violations      {}", violations.len());
    for v in &violations {
        let _ = writeln!(f, "  - {v}");
    }
    eprintln!("{f}");
    assert!(
        violations.is_empty(),
        "{} violation(s) in the {} fault run (seed {seed})",
        violations.len(),
        world.name
    );
    assert!(
        outcome.new_order > 0 && outcome.on_hold > 0,
        "scarce stock should leave some orders on_hold and fulfil others"
    );
}

fn list_jobs(oms: &Oms) -> Vec<Value> {
    let v = oms.json(&["jobs", "ls", "--limit", "1000000", "--output", "json"]);
    v.as_array().expect("a JSON array of jobs").clone()
}

/// (visible, in flight) left in the job queue.
fn queue_left(world: &World) -> (u64, u64) {
    match &world.queue {
        QueueAccess::Embedded(_) => {
            let d = world.oms.queue_depth();
            (d.visible, d.in_flight)
        }
        QueueAccess::Sqs { endpoint, queue } => block_on(async {
            use aws_sdk_sqs::types::QueueAttributeName as A;
            let sqs = sqs_client(endpoint);
            let url = sqs
                .get_queue_url()
                .queue_name(queue)
                .send()
                .await
                .expect("the queue")
                .queue_url
                .expect("a queue URL");
            let attrs = sqs
                .get_queue_attributes()
                .queue_url(url)
                .attribute_names(A::ApproximateNumberOfMessages)
                .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                .send()
                .await
                .expect("queue attributes")
                .attributes
                .unwrap_or_default();
            let count = |a: A| attrs.get(&a).map_or(0, |v| v.parse().unwrap_or(u64::MAX));
            (
                count(A::ApproximateNumberOfMessages),
                count(A::ApproximateNumberOfMessagesNotVisible),
            )
        }),
    }
}

/// Every job against its file and the stored orders; gives a line of figures.
fn check_jobs(
    oms: &Oms,
    jobs: &[Value],
    expects: &[FileExpect],
    submitted: &Submitted,
    orders: &[Value],
    v: &mut Vec<String>,
) -> String {
    // A job names its file as the message did: relative to the storage root or not.
    let base = |p: &str| {
        Path::new(p)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let by_name: BTreeMap<String, &FileExpect> =
        expects.iter().map(|e| (base(&e.path), e)).collect();
    let mine: BTreeSet<&str> = submitted.jobs.iter().map(|(_, j)| j.as_str()).collect();
    let mut stored_by_job: BTreeMap<String, u64> = BTreeMap::new();
    for o in orders {
        *stored_by_job
            .entry(o["job_id"].as_str().unwrap_or("").to_owned())
            .or_insert(0) += 1;
    }
    let mut accepted_by_path: BTreeMap<&str, u64> = BTreeMap::new();
    let mut done_jobs: BTreeSet<String> = BTreeSet::new();
    let mut states: BTreeMap<String, u32> = BTreeMap::new();
    let (mut duplicates, mut unreported) = (0, 0);
    for listed in jobs {
        let id = listed["job_id"].as_str().unwrap_or("").to_owned();
        let state = listed["state"].as_str().unwrap_or("?").to_owned();
        *states.entry(state.clone()).or_insert(0) += 1;
        if !mine.contains(id.as_str()) {
            // A submit that failed: it must not stay queued or processing.
            unreported += 1;
            if state != "failed" && state != "done" {
                v.push(format!(
                    "job {id} (of a failed submit) is left {state}: {listed}"
                ));
            }
        } else if state != "done" {
            v.push(format!("job {id} is {state}, not done: {listed}"));
        }
        if state != "done" {
            continue;
        }
        let job = match oms.try_run(
            &["jobs", "show", &id, "--output", "json"],
            Duration::from_secs(60),
        ) {
            Ok(r) if r.code == 0 => r.json(),
            other => {
                v.push(format!("`jobs show {id}` failed: {other:?}"));
                continue;
            }
        };
        let path = job["file_path"].as_str().unwrap_or("");
        let Some(e) = by_name.get(&base(path)) else {
            v.push(format!("job {id} is done for an unknown file {path:?}"));
            continue;
        };
        done_jobs.insert(id.clone());
        let num = |k: &str| job[k].as_u64().unwrap_or(u64::MAX);
        let (rows, acc, rej, dup) = (
            num("rows"),
            num("orders_accepted"),
            num("orders_rejected"),
            num("orders_duplicate"),
        );
        duplicates += dup;
        *accepted_by_path.entry(e.path.as_str()).or_insert(0) += acc;
        if rows != e.rows {
            v.push(format!(
                "job {id} ({path}): rows {rows}, the file has {}",
                e.rows
            ));
        }
        if rej != e.invalid.len() as u64 {
            v.push(format!(
                "job {id} ({path}): orders_rejected {rej}, the file has {} invalid orders",
                e.invalid.len()
            ));
        }
        if acc + dup != e.valid.len() as u64 {
            v.push(format!(
                "job {id} ({path}): accepted {acc} + duplicate {dup} != {} valid orders",
                e.valid.len()
            ));
        }
        let stored = stored_by_job.get(&id).copied().unwrap_or(0);
        if stored != acc {
            v.push(format!(
                "job {id} ({path}): orders_accepted {acc}, but {stored} stored orders carry its id"
            ));
        }
        let rejects = job["rejects"].as_array().cloned().unwrap_or_default();
        let reject_orders: BTreeSet<String> = rejects
            .iter()
            .filter_map(|r| r["order_id"].as_str().map(str::to_owned))
            .collect();
        let reject_rows: BTreeSet<u64> = rejects.iter().filter_map(|r| r["row"].as_u64()).collect();
        if reject_orders != e.invalid {
            v.push(format!(
                "job {id} ({path}): rejects name {} orders, the file has {} invalid ones",
                reject_orders.len(),
                e.invalid.len()
            ));
        }
        if reject_rows != e.reject_rows || rejects.len() != e.reject_rows.len() {
            let extra: Vec<_> = reject_rows.difference(&e.reject_rows).take(5).collect();
            let missing: Vec<_> = e.reject_rows.difference(&reject_rows).take(5).collect();
            v.push(format!(
                "job {id} ({path}): {} rejects on rows other than expected (extra {extra:?}, missing {missing:?})",
                rejects.len()
            ));
        }
    }
    for (path, id) in &submitted.jobs {
        if !jobs.iter().any(|j| j["job_id"] == id.as_str()) {
            v.push(format!("no job listed for the submit of {path} ({id})"));
        }
    }
    for e in expects {
        let acc = accepted_by_path.get(e.path.as_str()).copied().unwrap_or(0);
        if acc != e.valid.len() as u64 {
            v.push(format!(
                "{}: its jobs accepted {acc} orders in all, the file has {} valid",
                e.path,
                e.valid.len()
            ));
        }
    }
    for o in orders {
        let j = o["job_id"].as_str().unwrap_or("");
        if !done_jobs.contains(j) {
            v.push(format!(
                "order {} carries job {j:?}, which is not a done job of its file",
                o["order_id"]
            ));
            break;
        }
    }
    format!(
        "{} listed {states:?} ({unreported} from refused submits), {duplicates} duplicates counted",
        jobs.len()
    )
}

// ---------------------------------------------------------------------------------
// Variants
// ---------------------------------------------------------------------------------

fn embedded_machine() -> Oms {
    let mut oms = Oms::new();
    oms.visibility_secs = 2;
    oms.session_secs = 2;
    oms.set_env("OMS_QUEUE_MAX_RECEIVES", MAX_RECEIVES.to_string());
    oms
}

fn at(kind: Kind, at_s: u64, hold_s: u64) -> Planned {
    Planned {
        kind,
        at: Duration::from_secs(at_s),
        hold: Duration::from_secs(hold_s),
    }
}

/// The embedded default: every port in the data dir's SQLite file, locked from outside
/// twice (shorter, then longer than the 30 s busy timeout).
#[test]
fn fault_embedded() {
    let oms = embedded_machine();
    let world = World {
        name: "embedded",
        queue: QueueAccess::Embedded(oms.data.clone()),
        faults: Faults {
            data: oms.data.clone(),
            wms: None,
            private: None,
            lock: None,
        },
        oms,
        ingests: 2,
        fulfils: 2,
        plan: vec![at(Kind::DbLock, 10, 5), at(Kind::DbLock, 40, 35)],
        submit_over: Duration::from_secs(60),
        chaos: Duration::from_secs(85),
        kill_every: (Duration::from_millis(300), Duration::from_millis(2500)),
        settle_within: Duration::from_secs(180),
    };
    run_variant(
        world,
        Size {
            files: 24,
            per_file: 900,
            invalid_per_file: 20,
        },
    );
}

/// Queue, bus and store embedded, the warehouse an `oms wms serve` over HTTP that is
/// killed and started again (and the SQLite file locked for a moment).
#[test]
fn fault_embedded_http_wms() {
    let mut oms = embedded_machine();
    let wms = HttpWms::new();
    oms.set_env("OMS_WMS_URL", format!("http://{}", wms.bind));
    oms.set_env("OMS_WMS_TIMEOUT_SECS", "2");
    let world = World {
        name: "embedded_http_wms",
        queue: QueueAccess::Embedded(oms.data.clone()),
        faults: Faults {
            data: oms.data.clone(),
            wms: Some(wms),
            private: None,
            lock: None,
        },
        oms,
        ingests: 2,
        fulfils: 2,
        plan: vec![
            at(Kind::Wms, 8, 6),
            at(Kind::DbLock, 20, 4),
            at(Kind::Wms, 30, 15),
        ],
        submit_over: Duration::from_secs(40),
        chaos: Duration::from_secs(55),
        kill_every: (Duration::from_millis(300), Duration::from_millis(2500)),
        settle_within: Duration::from_secs(120),
    };
    run_variant(
        world,
        Size {
            files: 12,
            per_file: 500,
            invalid_per_file: 15,
        },
    );
}

/// All real backends, private instances: moto paused, tansu and SecantusDB stopped and
/// started again, the warehouse killed and started again.
#[test]
fn fault_real() {
    let mut tmp = tempfile::tempdir().expect("tempdir");
    if std::env::var_os("OMS_FAULT_KEEP").is_some() {
        tmp.disable_cleanup(true);
        eprintln!(
            "fault[real]: services' files kept in {}",
            tmp.path().display()
        );
    }
    let Some(private) = Private::start(tmp.path()) else {
        return;
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let queue = format!("oms-fault-{id}");
    let wms = HttpWms::new();
    let mut oms = Oms::new();
    oms.visibility_secs = 3;
    oms.session_secs = 3;
    let endpoint = format!("http://127.0.0.1:{}", private.moto.port);
    for (k, v) in [
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
        ("OMS_SQS_ENDPOINT", endpoint.clone()),
        ("OMS_SQS_QUEUE", queue.clone()),
        ("OMS_QUEUE_MAX_RECEIVES", MAX_RECEIVES.to_string()),
        (
            "OMS_KAFKA_BROKERS",
            format!("127.0.0.1:{}", private.tansu.port),
        ),
        ("OMS_KAFKA_TOPIC", format!("oms-fault-{id}")),
        ("OMS_KAFKA_PARTITIONS", "3".to_owned()),
        ("OMS_KAFKA_GROUP", format!("oms-fault-fulfil-{id}")),
        (
            "OMS_MONGODB_URI",
            format!("mongodb://127.0.0.1:{}", private.secantus.port),
        ),
        ("OMS_MONGODB_DATABASE", format!("oms_fault_{id}")),
        ("OMS_WMS_URL", format!("http://{}", wms.bind)),
        ("OMS_WMS_TIMEOUT_SECS", "2".to_owned()),
    ] {
        oms.set_env(k, v);
    }
    // Creates the queue (with its dead-letter queue), the topic and the indexes; the
    // warehouse is not up yet, so doctor says ✗ for it.
    oms.run(&["doctor"]);
    let world = World {
        name: "real",
        queue: QueueAccess::Sqs { endpoint, queue },
        faults: Faults {
            data: oms.data.clone(),
            wms: Some(wms),
            private: Some(private),
            lock: None,
        },
        oms,
        ingests: 2,
        fulfils: 3,
        plan: vec![
            at(Kind::Sqs, 10, 8),
            at(Kind::Kafka, 26, 6),
            at(Kind::Mongo, 42, 6),
            at(Kind::Wms, 62, 6),
        ],
        submit_over: Duration::from_secs(55),
        chaos: Duration::from_secs(80),
        kill_every: (Duration::from_millis(1000), Duration::from_millis(4000)),
        settle_within: Duration::from_secs(300),
    };
    run_variant(
        world,
        Size {
            files: 12,
            per_file: 200,
            invalid_per_file: 8,
        },
    );
    drop(tmp);
}
