//! Shutdown of the long-running consumers on the embedded default: SIGTERM (what Ctrl-C
//! does too) while a large file is ingested, or while 100k order events are fulfilled,
//! ends the process within [`BOUND`], exit 0, and leaves the work either done or not
//! begun: the message is acknowledged only with its job recorded and every order stored
//! once, otherwise nothing of the file is stored and the message is visible again;
//! fulfil's committed offsets never pass an event whose outcome is not stored, and
//! every unit of stock gone is held by a `new_order` order. A second SIGTERM exits at
//! once (130), even when the first cannot finish (here: another process holds the
//! database's write lock), and the same holds after a `--drain`.
//!
//! The state is read straight from the data dir: the queue through the library
//! ([`EmbeddedQueue`]), the orders, events, offsets and stock with read-only SQL (100k
//! orders through `orders ls --output json` would be slow). Each measured shutdown
//! time is printed (`cargo test --test it shutdown:: -- --nocapture`).

use crate::support::*;
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

/// A consumer asked to stop must have exited this long after the signal.
const BOUND: Duration = Duration::from_secs(10);
/// After a second signal the process exits "at once": well within this.
const SECOND_BOUND: Duration = Duration::from_secs(3);
/// Orders of the large file; each has [`ROWS_PER_ORDER`] rows.
const ORDERS: u64 = 100_000;
const ROWS_PER_ORDER: u64 = 3;
const GROUP: &str = "oms-fulfil";

/// A machine for the large file: the inventory loaded, the file written; receives are
/// not limited (each interrupted attempt is a receive of the same message).
fn machine() -> (Oms, Stock) {
    let mut oms = Oms::new();
    oms.set_env("OMS_QUEUE_MAX_RECEIVES", "100");
    let mut rng = Lcg::new(7);
    // Three rows per order, each of its own SKU (no rows to sum), hubs 1-3.
    let mut t = String::with_capacity(5 << 20);
    t.push_str(ORDERS_HEADER);
    for id in 0..ORDERS {
        for j in 0..ROWS_PER_ORDER {
            let (sku, qty, hub) = (j * 3 + rng.below(3) + 1, rng.below(3) + 1, rng.below(3) + 1);
            t.push_str(&format!("{},{sku},{qty},1,{hub}\n", 700_000 + id));
        }
    }
    oms.write("big.csv", &t);
    // Scarce, short and plentiful lines, so fulfil gives both outcomes.
    let mut stock = Stock::new();
    let mut inv = String::from("hub_id,sku_id,quantity\n");
    for hub in 1..=3 {
        for sku in 1..=9 {
            let q = [25, 3000, 1_000_000, 1_000_000][(hub * 9 + sku) % 4];
            inv.push_str(&format!("{hub},{sku},{q}\n"));
            stock.insert((hub.to_string(), sku.to_string()), q as i64);
        }
    }
    oms.write("big-inventory.csv", &inv);
    oms.ok(&["inventory", "load", "storage/big-inventory.csv"]);
    (oms, stock)
}

/// A long-running command with JSON logs and ingest's debug events ("storing orders").
fn spawn(oms: &Oms, args: &[&str]) -> Proc {
    let mut c: Command = oms.cmd(&[&["--log-format", "json"][..], args].concat());
    c.env("RUST_LOG", "info,oms::app::ingest=debug");
    Proc::spawn(c)
}

/// Sends SIGTERM and waits at most [`BOUND`] for the exit; gives the status, the time
/// from the signal to the exit, and every stderr line.
fn sigterm_and_wait(mut p: Proc) -> (ExitStatus, Duration, Vec<String>) {
    let at = Instant::now();
    p.sigterm();
    let status = wait_timeout(&mut p.child, BOUND)
        .unwrap_or_else(|| panic!("`{}` still running {BOUND:?} after SIGTERM", p.what));
    let took = at.elapsed();
    eprintln!("`{}` exited {took:?} after SIGTERM", p.what);
    p.collect();
    (status, took, std::mem::take(&mut p.seen))
}

/// SIGTERM, and once the process says it is shutting down, SIGTERM again; gives the
/// status and the time from the second signal to the exit.
fn sigterm_twice(mut p: Proc) -> (ExitStatus, Duration) {
    p.sigterm();
    p.wait_for("shutting down");
    // The message is logged just before the handler listens again: let it.
    thread::sleep(Duration::from_millis(50));
    assert!(
        p.exited().is_none(),
        "`{}` should still be busy after the first SIGTERM (the database is locked)",
        p.what
    );
    let at = Instant::now();
    p.sigterm();
    let status = wait_timeout(&mut p.child, SECOND_BOUND).unwrap_or_else(|| {
        panic!(
            "`{}` still running {SECOND_BOUND:?} after a second SIGTERM",
            p.what
        )
    });
    (status, at.elapsed())
}

/// Takes the database's write lock, as another process busy writing would: every
/// write of `oms` waits (its busy timeout is 30 s) until the connection is dropped.
///
/// Tried every 200 µs rather than through SQLite's busy handler, whose sleeps grow to
/// 100 ms: `oms` begins its next batch right after each commit, and a waiter that
/// sleeps that long can miss every gap until the work is all done.
fn lock_db(oms: &Oms) -> Connection {
    let c = Connection::open(oms.db_file()).expect("open the database");
    c.busy_timeout(Duration::ZERO).expect("busy timeout");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match c.execute_batch("BEGIN IMMEDIATE") {
            Ok(()) => return c,
            Err(e) if Instant::now() < deadline && e.to_string().contains("locked") => {
                thread::sleep(Duration::from_micros(200));
            }
            Err(e) => panic!("cannot take the write lock: {e}"),
        }
    }
}

fn db(oms: &Oms) -> Connection {
    let c = Connection::open_with_flags(oms.db_file(), rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("open the database read-only");
    c.busy_timeout(Duration::from_secs(30))
        .expect("busy timeout");
    c
}

fn count(c: &Connection, sql: &str) -> u64 {
    let n: i64 = c.query_row(sql, [], |r| r.get(0)).expect(sql);
    u64::try_from(n).expect("a count")
}

/// True when a line holds `text` (a match on the text: one event of ingest has a
/// field named `message` too, which hides its message from a JSON parser).
fn logged(lines: &[String], text: &str) -> bool {
    lines.iter().any(|l| l.contains(text))
}

// ---------------------------------------------------------------------------------
// ingest
// ---------------------------------------------------------------------------------

/// After a stop: the job is done with every order stored and published once and the
/// message gone, or nothing of the file is stored or published and the message is
/// still queued (visible again, or in flight until its visibility timeout after an
/// exit at once). Gives true when the job is done.
fn assert_all_or_nothing(oms: &Oms, job: &str, released: bool) -> bool {
    let c = db(oms);
    let orders = count(&c, "SELECT COUNT(*) FROM orders");
    let events = count(&c, "SELECT COUNT(*) FROM bus_log");
    let state: String = c
        .query_row("SELECT state FROM jobs WHERE job_id = ?1", [job], |r| {
            r.get(0)
        })
        .expect("the job");
    let depth = oms.queue_depth();
    assert_eq!(depth.dead, 0, "{depth:?}");
    if state == "done" {
        assert_eq!((orders, events), (ORDERS, ORDERS), "a done job stores all");
        assert_eq!(
            (depth.visible, depth.in_flight),
            (0, 0),
            "acknowledged: {depth:?}"
        );
        true
    } else {
        assert_eq!(state, "processing", "the job");
        assert_eq!(
            (orders, events),
            (0, 0),
            "a job not recorded done stores and publishes nothing (message {depth:?})"
        );
        if released {
            assert_eq!(
                (depth.visible, depth.in_flight),
                (1, 0),
                "the message is visible again at once"
            );
        } else {
            assert_eq!(
                depth.visible + depth.in_flight,
                1,
                "the message is still queued: {depth:?}"
            );
        }
        false
    }
}

#[test]
fn sigterm_during_ingest_of_a_large_file_stops_in_time_and_stores_all_or_nothing() {
    let (oms, _) = machine();
    let job = oms.submit("storage/big.csv");
    let mut times = Vec::new();

    // 1. While the file is parsed.
    let mut p = spawn(&oms, &["ingest"]);
    p.wait_for("file started");
    thread::sleep(Duration::from_millis(300));
    let (status, took, lines) = sigterm_and_wait(p);
    assert_eq!(status.code(), Some(0), "{}", lines.join("\n"));
    assert!(
        !logged(&lines, "storing orders"),
        "the signal was meant to come while parsing: {}",
        lines.join("\n")
    );
    assert!(
        logged(&lines, "shutdown: message released for redelivery"),
        "{}",
        lines.join("\n")
    );
    assert!(!assert_all_or_nothing(&oms, &job, true));
    times.push(("ingest, parsing", took));

    // 2. While the orders are stored (one transaction of 100k orders, their events and
    // the job record): rolled back at the next chunk, the message released.
    let mut p = spawn(&oms, &["ingest"]);
    p.wait_for("storing orders");
    thread::sleep(Duration::from_millis(300));
    let (status, took, lines) = sigterm_and_wait(p);
    assert_eq!(status.code(), Some(0), "{}", lines.join("\n"));
    // The store takes seconds; it is not waited for (it was, before shutdown was
    // checked between chunks).
    assert!(
        !assert_all_or_nothing(&oms, &job, true),
        "the store should have been rolled back, not finished"
    );
    times.push(("ingest, storing", took));

    // 3. A first SIGTERM that cannot finish (another process holds the write lock, so
    // the store cannot begin): the second exits at once, 130.
    let mut p = spawn(&oms, &["ingest"]);
    p.wait_for("file started");
    let lock = lock_db(&oms);
    p.wait_for("storing orders");
    thread::sleep(Duration::from_millis(200));
    let (status, took) = sigterm_twice(p);
    drop(lock);
    assert_eq!(status.code(), Some(130));
    assert!(!assert_all_or_nothing(&oms, &job, false));
    times.push(("ingest, second SIGTERM", took));

    // Then a drain finishes the job, exactly.
    let t = oms.ingest_drain();
    assert_eq!(n(&t["jobs_done"]), 1, "{t}");
    assert!(assert_all_or_nothing(&oms, &job, true));
    let j = oms.job(&job);
    assert_eq!(j["state"], "done", "{j}");
    assert_eq!(
        (
            n(&j["rows"]),
            n(&j["orders_accepted"]),
            n(&j["orders_rejected"]),
            n(&j["orders_duplicate"]),
            n(&j["warnings"])
        ),
        (ORDERS * ROWS_PER_ORDER, ORDERS, 0, 0, 0),
        "{j}"
    );
    let c = db(&oms);
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(DISTINCT seller_id || '/' || order_id) FROM orders WHERE status = 'on_hold' AND reason IS NULL"
        ),
        ORDERS,
        "every order stored once, on_hold"
    );
    for (what, took) in times {
        eprintln!("shutdown time ({what}): {took:?}");
    }
}

// ---------------------------------------------------------------------------------
// fulfil
// ---------------------------------------------------------------------------------

/// The fulfil invariants at any moment between two transactions: committed offsets
/// never pass an event whose order is not settled, and exactly the committed events'
/// orders are settled (one event per order here); every `new_order` order holds a
/// reservation and every reservation a `new_order` order; for every (hub, sku) the
/// initial stock is the remaining stock plus the `new_order` orders' items. Gives the
/// events committed.
fn assert_fulfil_consistent(oms: &Oms, initial: &Stock) -> u64 {
    let c = db(oms);
    let mut settled = BTreeSet::new();
    let mut new_order = BTreeSet::new();
    let mut taken: HashMap<(String, String), i64> = HashMap::new();
    let mut q = c
        .prepare("SELECT seller_id, order_id, status, reason, items FROM orders")
        .expect("orders");
    let mut rows = q.query([]).expect("orders");
    let mut stored = 0;
    while let Some(r) = rows.next().expect("an order") {
        stored += 1;
        let k: (String, String) = (r.get(0).expect("seller"), r.get(1).expect("order"));
        let status: String = r.get(2).expect("status");
        let reason: Option<String> = r.get(3).expect("reason");
        match (status.as_str(), reason.as_deref()) {
            ("new_order", None) => {
                let items: Value =
                    serde_json::from_str(&r.get::<_, String>(4).expect("items")).expect("JSON");
                // [[sku, hub, quantity], ...]
                for it in items.as_array().expect("items") {
                    *taken.entry(stock_key(&s(&it[1]), &s(&it[0]))).or_insert(0) +=
                        it[2].as_i64().expect("a quantity");
                }
                new_order.insert(k.clone());
                settled.insert(k);
            }
            ("on_hold", Some("insufficient_inventory")) => {
                settled.insert(k);
            }
            ("on_hold", None) => {}
            other => panic!("order {k:?} is {other:?}"),
        }
    }
    assert_eq!(stored, ORDERS, "orders stored");

    let committed: HashMap<i64, i64> = c
        .prepare("SELECT partition, next_offset FROM bus_offsets WHERE grp = ?1")
        .expect("offsets")
        .query_map([GROUP], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("offsets")
        .collect::<Result<_, _>>()
        .expect("offsets");
    let mut q = c
        .prepare("SELECT partition, offset, payload FROM bus_log")
        .expect("log");
    let mut rows = q.query([]).expect("log");
    let (mut events, mut behind) = (0, 0);
    while let Some(r) = rows.next().expect("an event") {
        events += 1;
        let (p, o): (i64, i64) = (r.get(0).expect("partition"), r.get(1).expect("offset"));
        if o >= committed.get(&p).copied().unwrap_or(0) {
            continue;
        }
        behind += 1;
        let ev: Value =
            serde_json::from_str(&r.get::<_, String>(2).expect("payload")).expect("an event");
        let k = (s(&ev["seller_id"]), s(&ev["order_id"]));
        assert!(
            settled.contains(&k),
            "offset {o} of partition {p} is committed, its order {k:?} is not settled"
        );
    }
    assert_eq!(events, ORDERS, "one event per order");
    assert_eq!(
        settled.len() as u64,
        behind,
        "the settled orders are exactly those of the committed events"
    );

    let reserved: BTreeSet<(String, String)> = c
        .prepare("SELECT seller_id, order_id FROM reservations")
        .expect("reservations")
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("reservations")
        .collect::<Result<_, _>>()
        .expect("reservations");
    assert_eq!(
        reserved, new_order,
        "a reservation for every new_order order, and only for them"
    );
    let remaining: Stock = c
        .prepare("SELECT hub_id, sku_id, quantity FROM inventory")
        .expect("inventory")
        .query_map([], |r| Ok(((r.get(0)?, r.get(1)?), r.get(2)?)))
        .expect("inventory")
        .collect::<Result<_, _>>()
        .expect("inventory");
    assert_eq!(
        remaining.keys().collect::<Vec<_>>(),
        initial.keys().collect::<Vec<_>>()
    );
    for (k, q) in initial {
        let (left, used) = (remaining[k], taken.get(k).copied().unwrap_or(0));
        assert!(left >= 0, "{k:?} below zero");
        assert_eq!(
            *q,
            left + used,
            "{k:?}: initial != remaining + new_order items"
        );
    }
    behind
}

#[test]
fn sigterm_during_fulfil_of_100k_events_stops_in_time_and_commits_only_finished_events() {
    let (oms, initial) = machine();
    oms.submit("storage/big.csv");
    assert_eq!(n(&oms.ingest_drain()["accepted"]), ORDERS);
    assert_eq!(assert_fulfil_consistent(&oms, &initial), 0);

    // 1. Mid-run: the batch in hand is finished (or not begun), then exit 0.
    let mut p = spawn(&oms, &["fulfil"]);
    p.wait_for("fulfil progress");
    thread::sleep(Duration::from_millis(700));
    let (status, took, lines) = sigterm_and_wait(p);
    assert_eq!(status.code(), Some(0), "{}", lines.join("\n"));
    let first = assert_fulfil_consistent(&oms, &initial);
    assert!(
        first > 0 && first < ORDERS,
        "stopped mid-run: {first} events committed"
    );
    eprintln!("shutdown time (fulfil, mid-run): {took:?}; {first} events committed");

    // 2. A first SIGTERM that cannot finish (another process holds the write lock):
    // the second exits at once, 130, and nothing half-done is left.
    let mut p = spawn(&oms, &["fulfil"]);
    p.wait_for("fulfil progress");
    thread::sleep(Duration::from_millis(500));
    let lock = lock_db(&oms);
    thread::sleep(Duration::from_millis(300));
    let (status, took) = sigterm_twice(p);
    drop(lock);
    assert_eq!(status.code(), Some(130));
    let second = assert_fulfil_consistent(&oms, &initial);
    assert!(second > first && second < ORDERS, "{first} then {second}");
    eprintln!("shutdown time (fulfil, second SIGTERM): {took:?}; {second} events committed");

    // Then a drain fulfils the rest: every event committed, every order settled, the
    // stock exact.
    oms.fulfil_drain();
    assert_eq!(assert_fulfil_consistent(&oms, &initial), ORDERS);
}
