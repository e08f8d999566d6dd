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
//!   - `real`: private moto (SQS), a second moto (S3: every file is uploaded at submit,
//!     `OMS_S3_UPLOAD`, and ingest streams it from there), tansu (Kafka, `sqlite://`
//!     storage) and SecantusDB (MongoDB) on free loopback ports under the test's
//!     temporary directory, and an `oms wms serve`. moto keeps its queues and objects in
//!     memory, so each moto is paused (SIGSTOP, then SIGCONT); tansu is stopped (SIGTERM) and started again on the same storage and
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
//! lock, so they never run at the same time. `scripts/test` runs this suite (the
//! `fault` test binary) on its own after the other tests, with `--nocapture` so the
//! figures are in the CI log.

mod run;
mod services;
mod workers;
mod workload;
mod world;

use crate::support::{Aws, Oms, env_or};
use run::{Size, run_variant};
use services::Private;
use std::net::TcpStream;
use std::process::Command;
use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};
use world::{Faults, HttpWms, Kind, Planned, QueueAccess, World};

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

/// `OMS_FAULT_SCALE`: how many times the default number of files.
fn scale() -> f64 {
    let s = env_or("OMS_FAULT_SCALE", "1");
    let v: f64 = s
        .parse()
        .unwrap_or_else(|_| panic!("OMS_FAULT_SCALE={s:?} is not a number"));
    assert!(v > 0.0, "OMS_FAULT_SCALE must be above 0");
    v
}

/// `OMS_FAULT_SEED`, or a new seed from the clock.
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

/// `n` times `scale`, at least 2.
fn scaled(n: usize, scale: f64) -> usize {
    ((n as f64 * scale).round() as usize).max(2)
}

/// True once something listens on the loopback `port`, false after `within`.
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

/// `kill -SIG PID`; true when it was sent.
fn signal(pid: u32, sig: &str) -> bool {
    Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

/// `12.3s`.
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

/// `line` trimmed, cut at 240 characters.
fn short(line: &str) -> String {
    let t = line.trim();
    if t.chars().count() > 240 {
        format!("{}…", t.chars().take(240).collect::<String>())
    } else {
        t.to_owned()
    }
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
            db_file: oms.db_file(),
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
            db_file: oms.db_file(),
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

/// All real backends, private instances, the order files uploaded to S3 at submit and
/// streamed from there by ingest: moto (SQS) and moto (S3) paused, tansu and SecantusDB
/// stopped and started again, the warehouse killed and started again.
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
    let bucket = format!("oms-fault-{id}");
    private.boto3().create_bucket(&bucket);
    let wms = HttpWms::new();
    let mut oms = Oms::new();
    oms.visibility_secs = 3;
    oms.session_secs = 3;
    let endpoint = format!("http://127.0.0.1:{}", private.moto.port);
    for (k, v) in Aws::from_env().vars() {
        oms.set_env(k, v);
    }
    for (k, v) in [
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
        // Every submitted file is uploaded to S3 and read from there by ingest.
        ("OMS_S3_ENDPOINT", private.s3_endpoint()),
        ("OMS_S3_ALLOW", format!("s3://{bucket}/fault/")),
        ("OMS_S3_UPLOAD", format!("s3://{bucket}/fault/")),
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
            db_file: oms.db_file(),
            wms: Some(wms),
            private: Some(private),
            lock: None,
        },
        oms,
        ingests: 2,
        fulfils: 3,
        plan: vec![
            at(Kind::Sqs, 10, 8),
            at(Kind::S3, 19, 6),
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
