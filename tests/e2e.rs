//! End-to-end tests: the built `oms` binary run as separate processes over one data
//! dir, the way an operator runs it. Every test has its own temporary directory (the
//! working directory of every command) holding the data dir and the storage root; the
//! sample files of `storage/` are copied in. Results are read with `--output json` and
//! `--log-format json`.

use oms::adapters::embedded::{Db, EmbeddedQueue, QueueSettings};
use oms::ports::{JobQueue, QueueDepth};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_oms");
const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/storage");
/// No single command may take longer than this.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------

/// One operator's machine: a working directory with `data/` and `storage/`.
struct Oms {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    data: PathBuf,
    root: PathBuf,
    visibility_secs: u64,
    session_secs: u64,
}

/// What a finished command gave back.
#[derive(Debug)]
struct Run {
    what: String,
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "`{}` exited {}\nstdout: {}\nstderr: {}",
            self.what, self.code, self.stdout, self.stderr
        );
        self
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` did not print JSON ({e}):\n{}\nstderr: {}",
                self.what, self.stdout, self.stderr
            )
        })
    }

    /// The fields of the JSON log event with this message (needs `--log-format json`).
    fn event(&self, message: &str) -> Value {
        let lines: Vec<&str> = self.stderr.lines().collect();
        event(&lines, message).unwrap_or_else(|| {
            panic!(
                "`{}` logged no {message:?} event; stderr:\n{}",
                self.what, self.stderr
            )
        })
    }
}

fn event<S: AsRef<str>>(lines: &[S], message: &str) -> Option<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l.as_ref()).ok())
        .find(|v| v["fields"]["message"] == message)
        .map(|v| v["fields"].clone())
}

fn described(c: &Command) -> String {
    let args: Vec<String> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("oms {}", args.join(" "))
}

/// Runs a command to its end (with a timeout), reading its output as it comes.
fn run_cmd(mut c: Command) -> Run {
    let what = described(&c);
    c.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
    let read_all = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = read_all(Box::new(child.stdout.take().expect("piped stdout")));
    let err = read_all(Box::new(child.stderr.take().expect("piped stderr")));
    let status = wait_timeout(&mut child, COMMAND_TIMEOUT)
        .unwrap_or_else(|| panic!("`{what}` did not finish within {COMMAND_TIMEOUT:?}"));
    Run {
        what,
        code: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// Waits for the child to exit; kills it and returns `None` after `timeout`.
fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            return Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// A long-running `oms` process whose stderr lines are read as they come. Killed when
/// dropped, so a failing test leaves nothing running.
struct Proc {
    what: String,
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Proc {
    fn spawn(mut c: Command) -> Self {
        let what = described(&c);
        c.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = c
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start `{what}`: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            what,
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads stderr until a line contains `needle`.
    fn wait_for(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let hit = line.contains(needle);
                    self.seen.push(line);
                    if hit {
                        return;
                    }
                }
                Err(e) => panic!(
                    "`{}` never logged {needle:?} ({e:?}); stderr so far:\n{}",
                    self.what,
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then wait for a clean exit; gives back every stderr line.
    fn terminate(mut self) -> (ExitStatus, Vec<String>) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill -TERM");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let status = wait_timeout(&mut self.child, Duration::from_secs(20))
            .unwrap_or_else(|| panic!("`{}` did not stop after SIGTERM", self.what));
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Oms {
    fn new() -> Self {
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
        }
    }

    /// `oms` with none of the caller's `OMS_*` settings, short timings, run from `home`.
    fn bare(&self) -> Command {
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
        c
    }

    /// `oms ARGS` on this machine's data dir and storage root.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = self.bare();
        c.env("OMS_DATA_DIR", &self.data)
            .env("OMS_STORAGE_ROOT", &self.root)
            .args(args);
        c
    }

    fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args))
    }

    fn ok(&self, args: &[&str]) -> Run {
        self.run(args).ok()
    }

    fn json(&self, args: &[&str]) -> Value {
        self.ok(args).json()
    }

    fn spawn(&self, args: &[&str]) -> Proc {
        Proc::spawn(self.cmd(args))
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.root.join(name);
        fs::write(&p, text).expect("write a storage file");
        p
    }

    fn submit(&self, file: &str) -> String {
        let r = self.ok(&["submit", file, "--seller", "1"]);
        let id = r.stdout.trim().to_owned();
        assert!(!id.is_empty(), "submit printed no job id");
        id
    }

    fn orders(&self) -> Vec<Value> {
        let v = self.json(&["orders", "ls", "--limit", "1000000", "--output", "json"]);
        v.as_array().expect("a JSON array of orders").clone()
    }

    fn jobs(&self) -> Vec<Value> {
        let v = self.json(&["jobs", "ls", "--output", "json"]);
        v.as_array().expect("a JSON array of jobs").clone()
    }

    fn job(&self, id: &str) -> Value {
        self.json(&["jobs", "show", id, "--output", "json"])
    }

    /// (hub, sku) -> quantity.
    fn stock(&self) -> BTreeMap<(String, String), i64> {
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
    fn ingest_drain(&self) -> Value {
        self.ok(&["--log-format", "json", "ingest", "--drain"])
            .event("ingest stopped")
    }

    fn fulfil_drain(&self) -> Value {
        self.ok(&["--log-format", "json", "fulfil", "--drain"])
            .event("fulfil stopped")
    }

    /// The embedded queue as seen from outside the CLI.
    fn queue_depth(&self) -> QueueDepth {
        let q = EmbeddedQueue::new(
            Db::open(&self.data).expect("open the data dir"),
            QueueSettings::default(),
        );
        block_on(q.depth()).expect("queue depth")
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn by_id(orders: &[Value]) -> BTreeMap<String, Value> {
    orders
        .iter()
        .map(|o| (s(&o["order_id"]), o.clone()))
        .collect()
}

fn key(hub: &str, sku: &str) -> (String, String) {
    (hub.to_owned(), sku.to_owned())
}

/// The stock of `storage/inventory.csv` after the sample orders 2001, 2002 and 2011.
fn sample_stock_after_flow() -> BTreeMap<(String, String), i64> {
    [
        (key("1", "15"), 5), // 10 - 2 (2001) - 3 (2011)
        (key("1", "7"), 4),  // 5 - 1 (2001)
        (key("1", "22"), 3), // 2003 wanted 5: untouched
        (key("2", "15"), 4), // 2004 is all or nothing: untouched
        (key("2", "29"), 2), // 6 - 4 (2002, two rows summed)
        (key("3", "8"), 2),  // 2004 wanted 5: untouched
        (key("3", "12"), 0),
    ]
    .into_iter()
    .collect()
}

// ---------------------------------------------------------------------------------
// Generated workloads
// ---------------------------------------------------------------------------------

/// (hub, sku) -> quantity of one order.
type Items = BTreeMap<(String, String), i64>;

struct Workload {
    /// CSV text of each file.
    files: Vec<String>,
    /// Every order of every file, all valid for seller 1.
    orders: BTreeMap<String, Items>,
    stock: BTreeMap<(String, String), i64>,
}

impl Workload {
    /// `files` files of `per_file` orders, 1-3 rows each, over hubs 1-3 and SKUs 1-8;
    /// a quarter of the (hub, sku) pairs are scarce, a quarter short, the rest plenty.
    fn new(seed: u64, files: usize, per_file: usize) -> Self {
        let mut x = seed;
        let mut rnd = |m: u64| {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (x >> 33) % m
        };
        let mut orders = BTreeMap::new();
        let mut texts = Vec::new();
        let mut id = 500_000;
        for _ in 0..files {
            let mut t = String::from("order_id,sku_id,quantity,seller_id,hub_id\n");
            for _ in 0..per_file {
                id += 1;
                let mut items = Items::new();
                for _ in 0..=rnd(3) {
                    let (sku, hub, qty) = (rnd(8) + 1, rnd(3) + 1, rnd(3) + 1);
                    t.push_str(&format!("{id},{sku},{qty},1,{hub}\n"));
                    *items.entry((hub.to_string(), sku.to_string())).or_insert(0) +=
                        i64::try_from(qty).expect("small");
                }
                orders.insert(id.to_string(), items);
            }
            texts.push(t);
        }
        let mut stock = BTreeMap::new();
        for hub in 1..=3 {
            for sku in 1..=8 {
                let q = match (hub * 8 + sku) % 4 {
                    0 => 25,
                    1 => 300,
                    _ => 1_000_000,
                };
                stock.insert((hub.to_string(), sku.to_string()), q);
            }
        }
        Self {
            files: texts,
            orders,
            stock,
        }
    }

    fn inventory_csv(&self) -> String {
        let mut t = String::from("hub_id,sku_id,quantity\n");
        for ((hub, sku), q) in &self.stock {
            t.push_str(&format!("{hub},{sku},{q}\n"));
        }
        t
    }

    /// Writes the inventory and the order files into the storage root, loads the
    /// inventory; gives the order files' names.
    fn install(&self, oms: &Oms) -> Vec<String> {
        let inv = oms.write("gen-inventory.csv", &self.inventory_csv());
        oms.ok(&["inventory", "load", inv.to_str().expect("UTF-8 path")]);
        self.files
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let name = format!("gen-orders-{i}.csv");
                oms.write(&name, text);
                format!("storage/{name}")
            })
            .collect()
    }

    /// Orders not yet through fulfil (on_hold without a reason).
    fn unsettled(orders: &[Value]) -> usize {
        orders
            .iter()
            .filter(|o| o["status"] == "on_hold" && o["reason"].is_null())
            .count()
    }

    /// Every order stored exactly once with its items; each one new_order, or on_hold
    /// for insufficient inventory; and for every (hub, sku) the stock that is gone is
    /// exactly what the new_order orders hold. Gives (new_order, on_hold).
    fn assert_consistent(&self, oms: &Oms) -> (usize, usize) {
        let orders = oms.orders();
        let ids: Vec<String> = orders.iter().map(|o| s(&o["order_id"])).collect();
        let distinct: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "an order is stored twice");
        assert_eq!(
            ids.len(),
            self.orders.len(),
            "orders stored: {} of {}",
            ids.len(),
            self.orders.len()
        );

        let mut used: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut held = Vec::new();
        let (mut new_order, mut on_hold) = (0, 0);
        for o in &orders {
            let id = s(&o["order_id"]);
            let want = self
                .orders
                .get(&id)
                .unwrap_or_else(|| panic!("order {id} was never submitted"));
            let mut got = Items::new();
            for it in o["items"].as_array().expect("items") {
                *got.entry(key(&s(&it["hub_id"]), &s(&it["sku_id"])))
                    .or_insert(0) += it["quantity"].as_i64().expect("a quantity");
            }
            assert_eq!(&got, want, "items of order {id}");
            match (o["status"].as_str(), o["reason"].as_str()) {
                (Some("new_order"), None) => {
                    new_order += 1;
                    for (k, q) in &got {
                        *used.entry(k.clone()).or_insert(0) += q;
                    }
                }
                (Some("on_hold"), Some("insufficient_inventory")) => {
                    on_hold += 1;
                    held.push(got);
                }
                other => panic!("order {id} is {other:?}"),
            }
        }

        let remaining = oms.stock();
        assert_eq!(
            remaining.keys().collect::<Vec<_>>(),
            self.stock.keys().collect::<Vec<_>>(),
            "the stock lines"
        );
        for (k, initial) in &self.stock {
            let left = remaining[k];
            let taken = used.get(k).copied().unwrap_or(0);
            assert!(left >= 0, "{k:?} is below zero: {left}");
            assert_eq!(
                *initial,
                left + taken,
                "{k:?}: initial {initial} != remaining {left} + new_order items {taken}"
            );
        }
        // Stock only goes down, so an order held for lack of stock still lacks it.
        for items in &held {
            assert!(
                items.iter().any(|(k, q)| remaining[k] < *q),
                "an order is on_hold although every item is in stock: {items:?}"
            );
        }
        (new_order, on_hold)
    }
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

/// 1. The README's flow over the sample files.
#[test]
fn sample_flow_stores_fulfils_and_reports_every_reject() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let job_id = oms.submit("storage/orders.csv");
    let ingested = oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    let fulfilled = oms.fulfil_drain();
    assert_eq!(n(&fulfilled["events"]), 6, "{fulfilled}");

    let orders = by_id(&oms.orders());
    assert_eq!(
        orders.keys().map(String::as_str).collect::<Vec<_>>(),
        ["2001", "2002", "2003", "2004", "2005", "2011"],
        "stored orders"
    );
    for id in ["2001", "2002", "2011"] {
        assert_eq!(orders[id]["status"], "new_order", "order {id}");
        assert!(orders[id]["reason"].is_null(), "order {id}");
    }
    for id in ["2003", "2004", "2005"] {
        assert_eq!(orders[id]["status"], "on_hold", "order {id}");
        assert_eq!(orders[id]["reason"], "insufficient_inventory", "order {id}");
    }
    for o in orders.values() {
        assert_eq!(o["seller_id"], "1");
        assert_eq!(s(&o["job_id"]), job_id);
    }
    // Two rows of (29, hub 2) in 2002 are one item of 3 + 1.
    let items = orders["2002"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["quantity"], 4);
    assert_eq!(orders["2001"]["items"].as_array().expect("items").len(), 2);

    let job = oms.job(&job_id);
    assert_eq!(job["state"], "done");
    assert!(job["error"].is_null());
    assert_eq!(job["seller_id"], "1");
    assert_eq!(
        (
            n(&job["rows"]),
            n(&job["orders_accepted"]),
            n(&job["orders_rejected"]),
            n(&job["orders_duplicate"]),
            n(&job["warnings"])
        ),
        (16, 6, 6, 0, 1),
        "counts: {job}"
    );
    let rejects = job["rejects"].as_array().expect("rejects");
    let of = |id: &str| -> Vec<&Value> { rejects.iter().filter(|r| r["order_id"] == id).collect() };
    let one = |id: &str, row: u64, column: &str, says: &str| {
        let r = of(id);
        assert_eq!(r.len(), 1, "rejects of {id}: {r:?}");
        assert_eq!(r[0]["row"], row, "row of {id}'s reject");
        assert_eq!(r[0]["column"], column, "column of {id}'s reject");
        assert!(
            s(&r[0]["reason"]).contains(says),
            "{id}'s reason {} should mention {says:?}",
            r[0]["reason"]
        );
    };
    one("2006", 10, "quantity", "greater than zero");
    one("2007", 11, "seller_id", "not the submitting seller");
    one("2008", 12, "hub_id/sku_id", "sku_id 99");
    one("2009", 13, "hub_id/sku_id", "hub_id 9");
    one("2010", 14, "quantity", "1.5");
    let r2012 = of("2012");
    assert_eq!(r2012.len(), 2, "2012's rejects: {r2012:?}");
    assert!(
        r2012
            .iter()
            .any(|r| r["row"] == 16 && s(&r["reason"]).contains("rejected whole")),
        "2012's valid row 16 is rejected with its order: {r2012:?}"
    );
    assert!(
        r2012
            .iter()
            .any(|r| r["row"] == 17 && r["column"] == "sku_id"),
        "2012's row 17 is rejected for its empty sku_id: {r2012:?}"
    );
    assert_eq!(rejects.len(), 7, "{rejects:?}");

    assert_eq!(oms.stock(), sample_stock_after_flow());
}

/// 2. The original service's seed file, as seller 1.
#[test]
fn seed_file_keeps_only_the_submitting_sellers_order() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let job_id = oms.submit("storage/seed-orders.csv");
    oms.ingest_drain();

    let orders = oms.orders();
    assert_eq!(orders.len(), 1, "{orders:?}");
    assert_eq!(orders[0]["order_id"], "1011");
    assert_eq!(orders[0]["status"], "on_hold");
    let items = orders[0]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(
        (
            &items[0]["hub_id"],
            &items[0]["sku_id"],
            &items[0]["quantity"]
        ),
        (&Value::from("1"), &Value::from("15"), &Value::from(4)),
        "the two rows of 1011 summed"
    );

    let job = oms.job(&job_id);
    assert_eq!(job["state"], "done");
    assert_eq!(
        (
            n(&job["rows"]),
            n(&job["orders_accepted"]),
            n(&job["orders_rejected"]),
            n(&job["warnings"])
        ),
        (20, 1, 9, 1),
        "{job}"
    );
    let rejects = job["rejects"].as_array().expect("rejects");
    assert_eq!(rejects.len(), 18, "both rows of 1012..1020: {rejects:?}");
    let rows: BTreeSet<u64> = rejects.iter().map(|r| n(&r["row"])).collect();
    assert_eq!(rows, (4..=21).collect(), "every row of another seller");
    for r in rejects {
        assert_eq!(r["column"], "seller_id", "{r}");
        assert_ne!(r["order_id"], "1011");
    }
}

/// 3. The same file submitted twice is stored, and deducted, once.
#[test]
fn resubmitting_a_file_creates_no_duplicates() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let first = oms.submit("storage/orders.csv");
    let second = oms.json(&["submit", "storage/orders.csv", "--seller", "1", "--json"]);
    let second = s(&second["job_id"]);
    assert_ne!(first, second, "two jobs");
    assert_eq!(oms.jobs().len(), 2);

    let ingested = oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 2, "{ingested}");
    oms.fulfil_drain();

    let (a, b) = (oms.job(&first), oms.job(&second));
    assert_eq!((&a["state"], &b["state"]), (&"done".into(), &"done".into()));
    assert_eq!(n(&a["orders_accepted"]), 6, "{a}");
    assert_eq!(n(&a["orders_duplicate"]), 0, "{a}");
    assert_eq!(n(&b["orders_accepted"]), 0, "{b}");
    assert_eq!(
        n(&b["orders_duplicate"]),
        n(&a["orders_accepted"]),
        "the second job's duplicates are the first's orders: {b}"
    );

    let orders = oms.orders();
    assert_eq!(orders.len(), 6, "no order stored twice");
    assert!(orders.iter().all(|o| s(&o["job_id"]) == first));
    assert_eq!(
        oms.stock(),
        sample_stock_after_flow(),
        "stock deducted once"
    );
}

/// 4. Every refused submit exits 3 and queues nothing.
#[test]
fn refused_submits_exit_3_and_queue_nothing() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    fs::write(oms.home.join("secret.csv"), "order_id\n").expect("write");
    let elsewhere = tempfile::tempdir().expect("tempdir");
    let outside = elsewhere.path().join("orders.csv");
    fs::copy(oms.root.join("orders.csv"), &outside).expect("copy");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, oms.root.join("link.csv")).expect("symlink");
    fs::create_dir(oms.root.join("sub")).expect("mkdir");
    oms.write(
        "no-seller.csv",
        "order_id,sku_id,quantity,hub_id\n1,15,1,1\n",
    );
    oms.write("empty.csv", "");

    let outside = outside.to_str().expect("UTF-8 path");
    let mut cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["submit", "storage/../secret.csv", "--seller", "1"],
            "outside the storage root",
        ),
        (vec!["submit", outside, "--seller", "1"], "outside"),
        (
            vec!["submit", "storage/sub", "--seller", "1"],
            "not a regular file",
        ),
        (
            vec!["submit", "storage/missing.csv", "--seller", "1"],
            "no such file",
        ),
        (
            vec!["submit", "storage/no-seller.csv", "--seller", "1"],
            "`seller_id` column",
        ),
        (
            vec!["submit", "storage/empty.csv", "--seller", "1"],
            "empty",
        ),
        (
            vec!["submit", "storage/orders.csv", "--seller", ""],
            "--seller",
        ),
    ];
    if cfg!(unix) {
        cases.push((
            vec!["submit", "storage/link.csv", "--seller", "1"],
            "outside",
        ));
    }
    for (args, says) in &cases {
        let r = oms.run(args);
        assert_eq!(r.code, 3, "`{}`: {r:?}", r.what);
        assert!(
            r.stderr.contains(says),
            "`{}` should say {says:?}: {}",
            r.what,
            r.stderr
        );
        assert!(r.stdout.trim().is_empty(), "no job id: {r:?}");
        assert!(oms.jobs().is_empty(), "`{}` recorded a job", r.what);
    }

    let ingested = oms.ingest_drain();
    assert_eq!(
        n(&ingested["messages"]),
        0,
        "nothing was queued: {ingested}"
    );
    assert!(oms.jobs().is_empty());
    assert!(oms.orders().is_empty());

    let r = oms.run(&["orders", "ls", "--status", "shipped"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("shipped"), "{}", r.stderr);
}

/// 5. A file edited after its submit is not ingested.
#[test]
fn a_file_changed_after_submit_fails_its_job() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let text = fs::read_to_string(oms.root.join("orders.csv")).expect("read");
    oms.write("changing.csv", &text);
    let job_id = oms.submit("storage/changing.csv");
    oms.write("changing.csv", &format!("{text}\n2099,15,1,1,1\n"));

    let run = oms.run(&["--log-format", "json", "ingest", "--drain"]);
    assert_eq!(run.code, 5, "a failed job is a partial failure: {run:?}");
    let ingested = run.event("ingest stopped");
    assert_eq!(n(&ingested["jobs_failed"]), 1, "{ingested}");
    let job = oms.job(&job_id);
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        s(&job["error"]).contains("changed"),
        "the error says the file changed: {job}"
    );
    assert_eq!(n(&job["orders_accepted"]), 0);
    assert!(oms.orders().is_empty(), "nothing stored");
}

/// 6. A message of the original service (no jobId, no sha256) is processed too.
#[test]
fn a_message_in_the_original_format_is_ingested() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let queue = EmbeddedQueue::new(
        Db::open(&oms.data).expect("open the data dir"),
        QueueSettings::default(),
    );
    block_on(queue.send(r#"{"sellerID": 1, "filePath": "storage/orders.csv"}"#)).expect("send");
    drop(queue);

    let ingested = oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    let jobs = oms.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job_id = s(&jobs[0]["job_id"]);
    assert!(job_id.starts_with("msg-"), "{job_id}");
    let job = oms.job(&job_id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["seller_id"], "1");
    assert!(job["sha256"].is_null(), "{job}");
    assert_eq!(n(&job["orders_accepted"]), 6, "{job}");
    assert_eq!(n(&job["orders_rejected"]), 6, "{job}");

    let orders = oms.orders();
    assert_eq!(orders.len(), 6);
    assert!(
        orders
            .iter()
            .all(|o| s(&o["job_id"]) == job_id && o["status"] == "on_hold")
    );
}

/// 7. `kill -9` in the middle of ingest and of fulfil loses and duplicates nothing.
#[test]
fn sigkill_mid_ingest_and_mid_fulfil_loses_and_doubles_nothing() {
    let mut oms = Oms::new();
    // Long enough that the drain below sees the killed run's message still in flight.
    oms.visibility_secs = 2;
    let w = Workload::new(7, 1, 5000);
    let files = w.install(&oms);
    let job_id = oms.submit(&files[0]);

    // Ingest: kill it once it has taken the message and before it acknowledges it
    // (the file takes a few hundred milliseconds). Too early leaves the message
    // visible: try again a little later.
    let mut delay = Duration::from_millis(40);
    loop {
        let mut p = oms.spawn(&["--log-format", "json", "ingest"]);
        p.wait_for("ingest started");
        thread::sleep(delay);
        p.kill9();
        let d = oms.queue_depth();
        eprintln!("ingest killed {delay:?} after start: {d:?}");
        if d.in_flight == 1 {
            break;
        }
        assert_eq!(
            d.visible, 1,
            "killed {delay:?} after start, the message was already acknowledged: {d:?}"
        );
        assert!(
            delay < Duration::from_secs(2),
            "ingest never took the message"
        );
        delay *= 2;
    }
    assert_ne!(
        oms.job(&job_id)["state"],
        "done",
        "killed before the job was done"
    );
    assert!(
        oms.orders().is_empty(),
        "nothing of the killed run is stored"
    );

    // The drain waits for the message to come back, then does the whole file.
    let ingested = oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    let job = oms.job(&job_id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(n(&job["orders_accepted"]), 5000, "{job}");
    assert_eq!(n(&job["orders_duplicate"]), 0, "{job}");
    let d = oms.queue_depth();
    assert_eq!((d.visible, d.in_flight, d.dead), (0, 0, 0), "{d:?}");

    // Fulfil: kill it after a batch of 500 is committed, at once or while the next
    // one is being worked on, three times (each run waits for the partitions of the
    // one killed before it to be free).
    for (round, after) in [(1, 0), (2, 25), (3, 60)] {
        let mut p = oms.spawn(&["--log-format", "json", "-v", "fulfil"]);
        p.wait_for("batch done");
        thread::sleep(Duration::from_millis(after));
        p.kill9();
        let left = Workload::unsettled(&oms.orders());
        eprintln!("fulfil killed (round {round}): {left} orders still to do");
        assert!(
            left > 0 && left < 5000,
            "kill {round} was not in the middle: {left} orders left"
        );
    }
    let fulfilled = oms.fulfil_drain();
    assert!(n(&fulfilled["events"]) > 0, "{fulfilled}");

    let (new_order, on_hold) = w.assert_consistent(&oms);
    assert!(new_order > 0 && on_hold > 0, "{new_order} / {on_hold}");
    assert_eq!(n(&oms.fulfil_drain()["events"]), 0, "nothing left");
}

/// 8. Two fulfil processes at once, while ingest stores more orders.
#[test]
fn two_fulfils_and_an_ingest_at_once_neither_oversell_nor_deduct_twice() {
    let mut oms = Oms::new();
    oms.session_secs = 2;
    let w = Workload::new(8, 3, 1500);
    let files = w.install(&oms);
    for f in &files {
        oms.submit(f);
    }

    let mut a = oms.spawn(&["--log-format", "json", "fulfil"]);
    let mut b = oms.spawn(&["--log-format", "json", "fulfil"]);
    a.wait_for("fulfil started");
    b.wait_for("fulfil started");
    // Both have joined the group and split the partitions.
    thread::sleep(Duration::from_millis(400));

    let ingested = oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 3, "{ingested}");
    assert_eq!(n(&ingested["accepted"]), 4500, "{ingested}");

    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let orders = oms.orders();
        if orders.len() == w.orders.len() && Workload::unsettled(&orders) == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "fulfil did not finish: {} orders, {} unsettled",
            orders.len(),
            Workload::unsettled(&orders)
        );
        thread::sleep(Duration::from_millis(250));
    }

    let mut events = 0;
    let mut new_orders = 0;
    for p in [a, b] {
        let (status, lines) = p.terminate();
        assert!(status.success(), "fulfil after SIGTERM: {status:?}");
        let stopped = event(&lines, "fulfil stopped").expect("fulfil stopped logged");
        assert!(
            n(&stopped["events"]) > 0,
            "both consumers worked: {stopped}"
        );
        events += n(&stopped["events"]);
        new_orders += n(&stopped["new_order"]);
    }
    assert!(events >= 4500, "{events} events");

    let (new_order, on_hold) = w.assert_consistent(&oms);
    assert!(new_order > 0 && on_hold > 0, "{new_order} / {on_hold}");
    assert_eq!(new_orders, new_order as u64, "each order fulfilled once");
    assert_eq!(n(&oms.fulfil_drain()["events"]), 0, "nothing left");
}

/// 9. Help, completions, and the command that is not there yet.
#[test]
fn every_command_has_help_with_an_example() {
    let oms = Oms::new();
    let commands: &[&[&str]] = &[
        &[],
        &["submit"],
        &["ingest"],
        &["fulfil"],
        &["orders"],
        &["orders", "ls"],
        &["orders", "show"],
        &["jobs"],
        &["jobs", "ls"],
        &["jobs", "show"],
        &["inventory"],
        &["inventory", "load"],
        &["inventory", "ls"],
        &["serve"],
        &["completions"],
    ];
    for c in commands {
        let mut args = c.to_vec();
        args.push("--help");
        let r = oms.ok(&args);
        assert!(r.stdout.contains("Example"), "`{}`:\n{}", r.what, r.stdout);
    }

    let r = oms.ok(&["completions", "bash"]);
    assert!(r.stdout.contains("oms"), "{}", r.stdout);

    let r = oms.run(&["serve"]);
    assert_ne!(r.code, 0, "{r:?}");
    assert!(r.stderr.contains("not available"), "{}", r.stderr);
}

/// 10. defaults < oms.toml < OMS_DATA_DIR < --data-dir.
#[test]
fn config_file_environment_and_flags_are_layered() {
    let oms = Oms::new();
    let h = &oms.home;
    let cfg = h.join("cfg");
    fs::create_dir(&cfg).expect("mkdir");
    let file = cfg.join("oms.toml");
    fs::write(
        &file,
        format!(
            "data_dir = {:?}\nstorage_root = {:?}\n",
            h.join("from-file"),
            oms.root
        ),
    )
    .expect("write oms.toml");
    let file = file.to_str().expect("UTF-8 path");
    let db = |dir: &str| h.join(dir).join("oms.db");
    let ls = ["inventory", "ls", "--output", "json"];

    let mut c = oms.bare();
    c.args(["--config", file]).args(ls);
    run_cmd(c).ok();
    assert!(db("from-file").is_file(), "the file's data_dir is used");

    let mut c = oms.bare();
    c.env("OMS_CONFIG", file)
        .env("OMS_DATA_DIR", h.join("from-env"))
        .args(ls);
    run_cmd(c).ok();
    assert!(db("from-env").is_file(), "OMS_DATA_DIR beats the file");

    let mut c = oms.bare();
    c.env("OMS_DATA_DIR", h.join("from-env-2"))
        .args(["--config", file, "--data-dir"])
        .arg(h.join("from-flag"))
        .args(ls);
    run_cmd(c).ok();
    assert!(db("from-flag").is_file(), "--data-dir beats both");
    assert!(!h.join("from-env-2").exists(), "OMS_DATA_DIR was not used");

    // ./oms.toml is read when no --config is given.
    fs::write(h.join("oms.toml"), "data_dir = \"from-cwd-file\"\n").expect("write");
    let mut c = oms.bare();
    c.args(ls);
    run_cmd(c).ok();
    assert!(db("from-cwd-file").is_file(), "./oms.toml is the default");

    assert!(
        !h.join(".oms").exists(),
        "the default data dir was never used"
    );
    assert!(!oms.data.exists(), "nothing used the test's own data dir");
}
