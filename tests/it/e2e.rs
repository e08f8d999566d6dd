//! End-to-end tests: the built `oms` binary run as separate processes over one data
//! dir, the way an operator runs it. Every test has its own temporary directory (the
//! working directory of every command) holding the data dir and the storage root; the
//! sample files of `storage/` are copied in. Results are read with `--output json` and
//! `--log-format json`. The harness is in `crate::support`.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::thread;
use std::time::{Duration, Instant};

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

    assert_sample_outcome(&oms, &job_id);

    assert_eq!(oms.stock(), sample_stock_after_flow());
}

/// `fulfil --drain` with its warehouse down gives up (exit 4) instead of retrying for
/// ever, having changed nothing; stopped by SIGTERM before the end of the log it exits
/// 5 (partial), not 0; with the warehouse back, the same drain completes the flow.
#[test]
fn fulfil_drain_gives_up_on_a_dead_warehouse_and_reports_an_unfinished_drain() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let job_id = oms.submit("storage/orders.csv");
    oms.ingest_drain();
    let stock = oms.stock();

    // Nothing listens on a port just released.
    let dead = free_port();
    let down = |args: &[&str]| {
        let mut c = oms.cmd(args);
        c.env("OMS_WMS_URL", format!("http://127.0.0.1:{dead}"))
            .env("OMS_WMS_TIMEOUT_SECS", "1");
        c
    };
    let started = Instant::now();
    let r = run_cmd(down(&["--log-format", "json", "fulfil", "--drain"]));
    assert_eq!(r.code, 4, "a dead warehouse is 'unavailable': {}", r.stderr);
    assert!(
        started.elapsed() < Duration::from_secs(40),
        "gave up only after {:?}",
        started.elapsed()
    );
    assert!(
        oms.orders()
            .iter()
            .all(|o| o["status"] == "on_hold" && o["reason"].is_null()),
        "nothing was decided without the warehouse"
    );
    assert_eq!(oms.stock(), stock);

    // SIGTERM while it still retries: stopped before the end of the log.
    let mut p = Proc::spawn(down(&["--log-format", "json", "fulfil", "--drain"]));
    p.wait_for("batch not done");
    let (status, lines) = p.terminate();
    assert_eq!(status.code(), Some(5), "{}", lines.join("\n"));

    let done = oms.fulfil_drain();
    assert_eq!(n(&done["events"]), 6, "{done}");
    assert_sample_outcome(&oms, &job_id);
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
        // No S3 prefix is allowed on this machine: the setting to make is named.
        (
            vec!["submit", "s3://orders/in/orders.csv", "--seller", "1"],
            "OMS_S3_ALLOW",
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
    oms.enqueue(r#"{"sellerID": 1, "filePath": "storage/orders.csv"}"#);

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
    // The orders are stored a chunk at a time while the chunk before's events are
    // written: one event per order, none lost or doubled at a chunk's edge.
    let (events, keys): (i64, i64) = rusqlite::Connection::open(oms.db_file())
        .expect("the data dir's database")
        .query_row(
            "SELECT count(*), count(DISTINCT key) FROM bus_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the log");
    assert_eq!((events, keys), (5000, 5000));

    // Fulfil: kill it after a batch of 500 is committed, at once or while the next
    // one is being worked on, three times (each run waits for the partitions of the
    // one killed before it to be free).
    for (round, after) in [(1, 0), (2, 25), (3, 60)] {
        let mut p = oms.spawn(&["--log-format", "json", "-v", "fulfil", "--batch", "500"]);
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

/// 9. Help with an example everywhere, completions, and a bad filter.
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
        &["status"],
        &["serve"],
        &["wms"],
        &["wms", "serve"],
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

    let r = oms.run(&["orders", "ls", "--status", "shipped"]);
    assert_eq!(r.code, 3, "a bad filter is bad input: {r:?}");
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
