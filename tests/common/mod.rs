//! The process harness shared by the end-to-end tests (`tests/e2e.rs` on the embedded
//! default, `tests/e2e_real.rs` on real backends): the built `oms` binary run as
//! separate processes from a temporary working directory holding a data dir and a
//! storage root (the sample files of `storage/` are copied in), with the caller's
//! `OMS_*` settings stripped and only the ones a test chooses put back. Results are
//! read with `--output json` and `--log-format json`; generated workloads check that
//! nothing is lost, stored twice, oversold or deducted twice.

#![allow(dead_code)]

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

pub const BIN: &str = env!("CARGO_BIN_EXE_oms");
pub const SAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/storage");
/// No single command may take longer than this.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------

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

/// What a finished command gave back.
#[derive(Debug)]
pub struct Run {
    pub what: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "`{}` exited {}\nstdout: {}\nstderr: {}",
            self.what, self.code, self.stdout, self.stderr
        );
        self
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` did not print JSON ({e}):\n{}\nstderr: {}",
                self.what, self.stdout, self.stderr
            )
        })
    }

    /// The fields of the JSON log event with this message (needs `--log-format json`).
    pub fn event(&self, message: &str) -> Value {
        let lines: Vec<&str> = self.stderr.lines().collect();
        event(&lines, message).unwrap_or_else(|| {
            panic!(
                "`{}` logged no {message:?} event; stderr:\n{}",
                self.what, self.stderr
            )
        })
    }
}

pub fn event<S: AsRef<str>>(lines: &[S], message: &str) -> Option<Value> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l.as_ref()).ok())
        .find(|v| v["fields"]["message"] == message)
        .map(|v| v["fields"].clone())
}

pub fn described(c: &Command) -> String {
    let args: Vec<String> = c
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    format!("oms {}", args.join(" "))
}

/// Runs a command to its end (with a timeout), reading its output as it comes.
pub fn run_cmd(c: Command) -> Run {
    run_within(c, COMMAND_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a command to its end, reading its output as it comes; an `Err` (after killing
/// it) when it is still running after `timeout`. Never panics over the command's own
/// behaviour, so a caller can count a failure instead of stopping.
pub fn run_within(mut c: Command, timeout: Duration) -> Result<Run, String> {
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
    let Some(status) = wait_timeout(&mut child, timeout) else {
        return Err(format!("`{what}` did not finish within {timeout:?}"));
    };
    Ok(Run {
        what,
        code: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    })
}

/// Waits for the child to exit; kills it and returns `None` after `timeout`.
pub fn wait_timeout(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
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

/// A loopback port that was free a moment ago (bound, read, released): for a service
/// a test starts later, or as a port nothing listens on.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// A long-running `oms` process whose stderr lines are read as they come. Killed when
/// dropped, so a failing test leaves nothing running.
pub struct Proc {
    pub what: String,
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub seen: Vec<String>,
}

impl Proc {
    pub fn spawn(mut c: Command) -> Self {
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
    pub fn wait_for(&mut self, needle: &str) {
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

    /// Takes the stderr lines written so far (without waiting) into `seen`.
    pub fn collect(&mut self) -> &[String] {
        while let Ok(line) = self.lines.try_recv() {
            self.seen.push(line);
        }
        &self.seen
    }

    /// The exit status, if the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// SIGKILL (what `Child::kill` sends on Unix), then reap.
    pub fn kill9(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    /// SIGTERM, then wait for a clean exit; gives back every stderr line.
    pub fn terminate(self) -> (ExitStatus, Vec<String>) {
        self.sigterm();
        self.stopped()
    }

    /// Sends SIGTERM and returns at once (to stop several processes at the same time).
    pub fn sigterm(&self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("run kill -TERM");
        assert!(sent.success(), "kill -TERM {pid} failed");
    }

    /// SIGKILL, then reap; gives back every stderr line (the ones read before the kill
    /// and whatever was still in the pipe).
    pub fn kill9_lines(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.rest_of_lines()
    }

    /// Every stderr line once the process has exited (the pipe is closed, so this ends).
    pub fn rest_of_lines(&mut self) -> Vec<String> {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        std::mem::take(&mut self.seen)
    }

    /// Waits at most `timeout` for the process to exit; `None` (and the process still
    /// running) when it did not.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return Some(s);
            }
            if Instant::now() > deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (at most 20 s) for the process to exit; gives back every stderr line.
    pub fn stopped(mut self) -> (ExitStatus, Vec<String>) {
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

    pub fn run(&self, args: &[&str]) -> Run {
        run_cmd(self.cmd(args))
    }

    pub fn ok(&self, args: &[&str]) -> Run {
        self.run(args).ok()
    }

    pub fn json(&self, args: &[&str]) -> Value {
        self.ok(args).json()
    }

    /// `oms ARGS` to its end or `timeout`, whatever its exit code (an `Err` on timeout).
    pub fn try_run(&self, args: &[&str], timeout: Duration) -> Result<Run, String> {
        run_within(self.cmd(args), timeout)
    }

    pub fn spawn(&self, args: &[&str]) -> Proc {
        Proc::spawn(self.cmd(args))
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.root.join(name);
        fs::write(&p, text).expect("write a storage file");
        p
    }

    pub fn submit(&self, file: &str) -> String {
        let r = self.ok(&["submit", file, "--seller", "1"]);
        let id = r.stdout.trim().to_owned();
        assert!(!id.is_empty(), "submit printed no job id");
        id
    }

    pub fn orders(&self) -> Vec<Value> {
        let v = self.json(&["orders", "ls", "--limit", "1000000", "--output", "json"]);
        v.as_array().expect("a JSON array of orders").clone()
    }

    pub fn jobs(&self) -> Vec<Value> {
        let v = self.json(&["jobs", "ls", "--output", "json"]);
        v.as_array().expect("a JSON array of jobs").clone()
    }

    pub fn job(&self, id: &str) -> Value {
        self.json(&["jobs", "show", id, "--output", "json"])
    }

    /// (hub, sku) -> quantity.
    pub fn stock(&self) -> BTreeMap<(String, String), i64> {
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

    pub fn fulfil_drain(&self) -> Value {
        self.ok(&["--log-format", "json", "fulfil", "--drain"])
            .event("fulfil stopped")
    }

    /// The embedded queue as seen from outside the CLI.
    pub fn queue_depth(&self) -> QueueDepth {
        let q = EmbeddedQueue::new(
            Db::open(&self.data).expect("open the data dir"),
            QueueSettings::default(),
        );
        block_on(q.depth()).expect("queue depth")
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(f)
}

pub fn s(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("not a string: {v}"))
        .to_owned()
}

pub fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

pub fn by_id(orders: &[Value]) -> BTreeMap<String, Value> {
    orders
        .iter()
        .map(|o| (s(&o["order_id"]), o.clone()))
        .collect()
}

pub fn key(hub: &str, sku: &str) -> (String, String) {
    (hub.to_owned(), sku.to_owned())
}

/// The stock of `storage/inventory.csv` after the sample orders 2001, 2002 and 2011.
pub fn sample_stock_after_flow() -> BTreeMap<(String, String), i64> {
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

/// What the sample flow (`storage/orders.csv` as seller 1, `storage/inventory.csv` as
/// the stock) leaves in the store after ingest and fulfil: 2001, 2002 and 2011
/// new_order; 2003, 2004 and 2005 on_hold for insufficient inventory; every other order
/// rejected, each reject with its row, column and reason in `jobs show`.
pub fn assert_sample_outcome(oms: &Oms, job_id: &str) {
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

    let job = oms.job(job_id);
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
}

// ---------------------------------------------------------------------------------
// Generated workloads
// ---------------------------------------------------------------------------------

/// (hub, sku) -> quantity of one order.
pub type Items = BTreeMap<(String, String), i64>;

pub struct Workload {
    /// CSV text of each file.
    pub files: Vec<String>,
    /// Every order of every file, all valid for seller 1.
    pub orders: BTreeMap<String, Items>,
    pub stock: BTreeMap<(String, String), i64>,
}

impl Workload {
    /// `files` files of `per_file` orders, 1-3 rows each, over hubs 1-3 and SKUs 1-8;
    /// a quarter of the (hub, sku) pairs are scarce, a quarter short, the rest plenty.
    pub fn new(seed: u64, files: usize, per_file: usize) -> Self {
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
        Self {
            files: texts,
            orders,
            stock: generated_stock(),
        }
    }

    pub fn inventory_csv(&self) -> String {
        let mut t = String::from("hub_id,sku_id,quantity\n");
        for ((hub, sku), q) in &self.stock {
            t.push_str(&format!("{hub},{sku},{q}\n"));
        }
        t
    }

    /// Writes the inventory and the order files into the storage root, loads the
    /// inventory; gives the order files' names.
    pub fn install(&self, oms: &Oms) -> Vec<String> {
        self.install_apart(oms, oms)
    }

    /// Loads the inventory into `warehouse`'s data dir and writes the order files into
    /// `oms`'s storage root; gives the order files' names.
    pub fn install_apart(&self, oms: &Oms, warehouse: &Oms) -> Vec<String> {
        let inv = warehouse.write("gen-inventory.csv", &self.inventory_csv());
        warehouse.ok(&["inventory", "load", inv.to_str().expect("UTF-8 path")]);
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
    pub fn unsettled(orders: &[Value]) -> usize {
        orders
            .iter()
            .filter(|o| o["status"] == "on_hold" && o["reason"].is_null())
            .count()
    }

    /// Every order stored exactly once with its items; each one new_order, or on_hold
    /// for insufficient inventory; and for every (hub, sku) the stock that is gone is
    /// exactly what the new_order orders hold. Gives (new_order, on_hold).
    pub fn assert_consistent(&self, oms: &Oms) -> (usize, usize) {
        self.assert_outcome(&oms.orders(), &oms.stock())
    }

    /// [`Workload::assert_consistent`] over orders and a remaining stock read elsewhere
    /// (a store and a warehouse of their own).
    pub fn assert_outcome(
        &self,
        orders: &[Value],
        remaining: &BTreeMap<(String, String), i64>,
    ) -> (usize, usize) {
        let ids: Vec<(String, String)> = orders
            .iter()
            .map(|o| (s(&o["seller_id"]), s(&o["order_id"])))
            .collect();
        let distinct: BTreeSet<&(String, String)> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len(), "an order is stored twice");
        assert!(
            ids.iter().all(|(seller, _)| seller == "1"),
            "every order is seller 1's"
        );
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
        for o in orders {
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
// Seeded randomness, and workloads with invalid rows (the fault suite)
// ---------------------------------------------------------------------------------

/// A small seeded generator (SplitMix64): the same seed gives the same plan.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// 0..n (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// A duration in [lo, hi], to the millisecond.
    pub fn between(&mut self, lo: Duration, hi: Duration) -> Duration {
        let span = u64::try_from(hi.saturating_sub(lo).as_millis()).unwrap_or(u64::MAX - 1);
        lo + Duration::from_millis(self.below(span + 1))
    }
}

/// What one generated file must give once ingested: its rows, its valid and invalid
/// orders, and the line numbers its job must list as rejected.
#[derive(Debug, Clone)]
pub struct FileExpect {
    /// The path as submitted (`storage/NAME`).
    pub path: String,
    pub rows: u64,
    pub valid: BTreeSet<String>,
    pub invalid: BTreeSet<String>,
    pub reject_rows: BTreeSet<u64>,
}

/// What the stored orders are, against a workload (see [`Workload::violations`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Outcome {
    pub stored: usize,
    pub new_order: usize,
    pub on_hold: usize,
    /// on_hold without a reason: never through fulfil.
    pub unsettled: usize,
}

/// The (hub, sku) stock of the generated workloads: hubs 1-3 × SKUs 1-8; a quarter of
/// the pairs scarce (25), a quarter short (300), the rest plenty.
fn generated_stock() -> BTreeMap<(String, String), i64> {
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
    stock
}

impl Workload {
    /// `files` files of `per_file` valid orders (1-3 rows each, hubs 1-3, SKUs 1-8,
    /// the stock of [`Workload::new`]) and `invalid_per_file` invalid ones mixed in: a
    /// valid row plus one bad row (quantity 0, -2, 1.5 or `abc`, an empty sku_id: the
    /// whole order and both rows rejected by the parser; SKU 99 or hub 9: rejected by
    /// the warehouse, which lists only the unknown row). Files are written as
    /// `NAME-{i}.csv`; `orders` holds the valid orders only.
    pub fn with_invalid(
        seed: u64,
        name: &str,
        files: usize,
        per_file: usize,
        invalid_per_file: usize,
    ) -> (Self, Vec<FileExpect>) {
        let mut rng = Rng::new(seed);
        let mut orders = BTreeMap::new();
        let mut texts = Vec::new();
        let mut expects = Vec::new();
        let mut id = 700_000u64;
        for i in 0..files {
            let mut t = String::from("order_id,sku_id,quantity,seller_id,hub_id\n");
            let mut line = 1u64;
            let mut e = FileExpect {
                path: format!("storage/{name}-{i}.csv"),
                rows: 0,
                valid: BTreeSet::new(),
                invalid: BTreeSet::new(),
                reject_rows: BTreeSet::new(),
            };
            let total = per_file + invalid_per_file;
            let mut invalid_left = invalid_per_file;
            for n in 0..total {
                id += 1;
                let left = (total - n) as u64;
                let bad = invalid_left > 0 && rng.below(left) < invalid_left as u64;
                let (sku, hub, qty) = (rng.below(8) + 1, rng.below(3) + 1, rng.below(3) + 1);
                if bad {
                    invalid_left -= 1;
                    e.invalid.insert(id.to_string());
                    let kind = rng.below(7);
                    let bad_row = match kind {
                        0 => format!("{id},{sku},0,1,{hub}"),
                        1 => format!("{id},{sku},-2,1,{hub}"),
                        2 => format!("{id},{sku},1.5,1,{hub}"),
                        3 => format!("{id},{sku},abc,1,{hub}"),
                        4 => format!("{id},,{qty},1,{hub}"),
                        5 => format!("{id},99,{qty},1,{hub}"),
                        _ => format!("{id},{sku},{qty},1,9"),
                    };
                    let good_row = format!("{id},{sku},{qty},1,{hub}");
                    let bad_first = rng.below(2) == 0;
                    let (first, second) = if bad_first {
                        (&bad_row, &good_row)
                    } else {
                        (&good_row, &bad_row)
                    };
                    t.push_str(&format!("{first}\n{second}\n"));
                    let (l1, l2) = (line + 1, line + 2);
                    line += 2;
                    if kind <= 4 {
                        e.reject_rows.extend([l1, l2]);
                    } else {
                        e.reject_rows.insert(if bad_first { l1 } else { l2 });
                    }
                    continue;
                }
                let mut items = Items::new();
                for r in 0..=rng.below(3) {
                    let (sku, hub, qty) = if r == 0 {
                        (sku, hub, qty)
                    } else {
                        (rng.below(8) + 1, rng.below(3) + 1, rng.below(3) + 1)
                    };
                    t.push_str(&format!("{id},{sku},{qty},1,{hub}\n"));
                    line += 1;
                    *items.entry((hub.to_string(), sku.to_string())).or_insert(0) +=
                        i64::try_from(qty).expect("small");
                }
                e.valid.insert(id.to_string());
                orders.insert(id.to_string(), items);
            }
            e.rows = line - 1;
            texts.push(t);
            expects.push(e);
        }
        let w = Self {
            files: texts,
            orders,
            stock: generated_stock(),
        };
        (w, expects)
    }

    /// Writes each file at its path of `expects` into `oms`'s storage root.
    pub fn write_files(&self, oms: &Oms, expects: &[FileExpect]) {
        for (text, e) in self.files.iter().zip(expects) {
            let name = e.path.strip_prefix("storage/").expect("a storage path");
            oms.write(name, text);
        }
    }

    /// Loads the workload's stock into `warehouse`'s data dir.
    pub fn load_stock(&self, warehouse: &Oms) {
        let inv = warehouse.write("gen-inventory.csv", &self.inventory_csv());
        warehouse.ok(&["inventory", "load", inv.to_str().expect("UTF-8 path")]);
    }

    /// [`Workload::assert_outcome`] without panicking: every broken rule is a line of
    /// the list (empty when all holds), so a run can report them all at once.
    pub fn violations(
        &self,
        orders: &[Value],
        remaining: &BTreeMap<(String, String), i64>,
    ) -> (Vec<String>, Outcome) {
        let mut v = Vec::new();
        let mut out = Outcome {
            stored: orders.len(),
            ..Outcome::default()
        };
        let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut used: BTreeMap<(String, String), i64> = BTreeMap::new();
        let mut held = Vec::new();
        let str_of = |x: &Value| x.as_str().unwrap_or("").to_owned();
        for o in orders {
            let (seller, id) = (str_of(&o["seller_id"]), str_of(&o["order_id"]));
            *seen.entry((seller.clone(), id.clone())).or_insert(0) += 1;
            if seller != "1" {
                v.push(format!("order {id} is stored for seller {seller:?}"));
            }
            let Some(want) = self.orders.get(&id) else {
                v.push(format!(
                    "order {id} is stored but was not a valid submitted order"
                ));
                continue;
            };
            let mut got = Items::new();
            for it in o["items"].as_array().map_or(&[][..], Vec::as_slice) {
                *got.entry(key(&str_of(&it["hub_id"]), &str_of(&it["sku_id"])))
                    .or_insert(0) += it["quantity"].as_i64().unwrap_or(i64::MIN / 4);
            }
            if &got != want {
                v.push(format!("order {id}: items {got:?}, submitted {want:?}"));
            }
            match (o["status"].as_str(), o["reason"].as_str()) {
                (Some("new_order"), None) => {
                    out.new_order += 1;
                    for (k, q) in &got {
                        *used.entry(k.clone()).or_insert(0) += q;
                    }
                }
                (Some("on_hold"), Some("insufficient_inventory")) => {
                    out.on_hold += 1;
                    held.push((id, got));
                }
                (Some("on_hold"), None) => out.unsettled += 1,
                other => v.push(format!("order {id} is {other:?}")),
            }
        }
        for ((seller, id), times) in &seen {
            if *times > 1 {
                v.push(format!("order ({seller}, {id}) is stored {times} times"));
            }
        }
        if out.unsettled > 0 {
            v.push(format!(
                "{} orders are on_hold without a reason (never through fulfil)",
                out.unsettled
            ));
        }
        let missing: Vec<&String> = self
            .orders
            .keys()
            .filter(|id| !seen.contains_key(&("1".to_owned(), (*id).clone())))
            .collect();
        if !missing.is_empty() {
            v.push(format!(
                "{} valid orders were never stored (first: {:?})",
                missing.len(),
                &missing[..missing.len().min(5)]
            ));
        }
        if remaining.keys().collect::<Vec<_>>() != self.stock.keys().collect::<Vec<_>>() {
            v.push(format!(
                "the stock lines are {:?}",
                remaining.keys().collect::<Vec<_>>()
            ));
        }
        for (k, initial) in &self.stock {
            let Some(&left) = remaining.get(k) else {
                continue;
            };
            let taken = used.get(k).copied().unwrap_or(0);
            if left < 0 {
                v.push(format!("{k:?} is below zero: {left}"));
            }
            if *initial != left + taken {
                v.push(format!(
                    "{k:?}: initial {initial} != remaining {left} + new_order items {taken} \
                     (deducted {} times what new_order orders hold)",
                    if initial - left > taken {
                        "more"
                    } else {
                        "less"
                    }
                ));
            }
        }
        // Stock only goes down, so an order held for lack of stock still lacks it.
        for (id, items) in &held {
            if items
                .iter()
                .all(|(k, q)| remaining.get(k).is_some_and(|left| left >= q))
            {
                v.push(format!(
                    "order {id} is on_hold although every item is in stock: {items:?}"
                ));
            }
        }
        (v, out)
    }
}
