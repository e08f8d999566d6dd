//! A data dir written by the first release opens in this one and is migrated in place.
//!
//! `tests/fixtures/embedded-v1/oms.db` was made by the first release's binary (schema
//! version 1, no `user_version`): stock loaded; a job done (6 orders stored, one order
//! rejected for an unknown SKU) and fulfilled (4 `new_order`, 2 `on_hold` for want of
//! stock), its offsets committed; a job failed (its file changed after submit); a
//! second job done whose 3 orders were not fulfilled yet; 2 of the first job's orders
//! published again (`orders retry`), not fulfilled either; one more job still queued.

use crate::support::{Oms, Stock, block_on, n, s};
use oms::adapters::embedded::{BusSettings, Db, EmbeddedBus};
use oms::ports::{Delivered, EventBus};
use rusqlite::Connection;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/embedded-v1/oms.db"
);
const FIRST_JOB: &str = "55783bd5-7d3b-4426-bc05-e2c8abdcc61d";
const FAILED_JOB: &str = "5016f00f-2284-4f71-aacd-1e682e1ecca4";
const SECOND_JOB: &str = "2e64adcc-54ed-4ffb-814c-c2960f0a567e";
const QUEUED_JOB: &str = "bd3ea3ca-a4d3-4837-8a8a-a515d392d6c1";

/// `tests/fixtures/embedded-v3/oms.db` was made by the release before an order's
/// status changes moved into its row (schema version 3): stock loaded (hub 1: sku 15
/// x5, sku 7 x1); a job of 4 orders stored and fulfilled (8001, 8003, 8004
/// `new_order`; 8002 `on_hold` for want of stock); sku 7 restocked by 1 and 8002
/// published again (`orders retry`); a second job (8101, 8102) stored, not fulfilled.
const FIXTURE_V3: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/embedded-v3/oms.db"
);

/// A machine whose data dir is a copy of the first release's fixture.
fn old_machine() -> Oms {
    machine_from(FIXTURE)
}

/// A machine whose data dir is a copy of `fixture`.
fn machine_from(fixture: &str) -> Oms {
    let oms = Oms::new();
    std::fs::create_dir_all(&oms.data).expect("the data dir");
    std::fs::copy(fixture, oms.db_file()).expect("copy the fixture");
    oms
}

/// The file's schema version and, per table, its rows as text, read with SQLite
/// alone (as any other reader of the file would).
fn raw(oms: &Oms, sql: &str) -> Vec<Vec<String>> {
    let c = Connection::open(oms.db_file()).expect("open the file");
    let mut q = c.prepare(sql).expect(sql);
    let cols = q.column_count();
    q.query_map([], |r| {
        (0..cols)
            .map(|i| {
                Ok(match r.get_ref(i)? {
                    rusqlite::types::ValueRef::Null => "NULL".to_owned(),
                    rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                    v => v.as_str()?.to_owned(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
    })
    .expect(sql)
    .collect::<Result<_, _>>()
    .expect(sql)
}

/// The event log as the `bus_log` view shows it, and the committed offsets.
fn log_and_offsets(oms: &Oms) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    (
        raw(
            oms,
            "SELECT partition, offset, key, payload FROM bus_log ORDER BY partition, offset",
        ),
        raw(
            oms,
            "SELECT grp, partition, next_offset FROM bus_offsets ORDER BY grp, partition",
        ),
    )
}

/// `oms fulfil --drain`'s (events, new_order, on_hold).
fn fulfil_counts(oms: &Oms) -> (u64, u64, u64) {
    let t = oms.fulfil_drain();
    (n(&t["events"]), n(&t["new_order"]), n(&t["on_hold"]))
}

/// Items as objects (`orders show`, or a row before schema 5), as (sku, hub, quantity).
fn items_of(items: &Value) -> Vec<(String, String, u64)> {
    items
        .as_array()
        .expect("items")
        .iter()
        .map(|i| (s(&i["sku_id"]), s(&i["hub_id"]), n(&i["quantity"])))
        .collect()
}

fn user_version(oms: &Oms) -> String {
    raw(oms, "PRAGMA user_version")[0][0].clone()
}

/// Every event of the log as the bus port delivers it, to a group of its own.
fn delivered(oms: &Oms, group: &str) -> Vec<(i32, i64, String, String)> {
    let bus = EmbeddedBus::new(
        Db::open(&oms.data).expect("open the data dir"),
        BusSettings::default(),
    );
    block_on(async {
        let mut c = bus.subscribe(group).await.expect("subscribe");
        let mut all: Vec<Delivered> = Vec::new();
        loop {
            let got = c
                .poll(1000, Duration::from_millis(200))
                .await
                .expect("poll");
            if got.is_empty() {
                break;
            }
            all.extend(got);
        }
        c.close().await;
        let mut out: Vec<_> = all
            .into_iter()
            .map(|d| (d.partition, d.offset, d.key, d.payload))
            .collect();
        out.sort();
        out
    })
}

/// Status and reason of every order, by order id.
fn statuses(oms: &Oms) -> BTreeMap<String, (String, Option<String>)> {
    oms.orders()
        .iter()
        .map(|o| {
            (
                s(&o["order_id"]),
                (s(&o["status"]), o["reason"].as_str().map(str::to_owned)),
            )
        })
        .collect()
}

fn status(st: &str, reason: Option<&str>) -> (String, Option<String>) {
    (st.to_owned(), reason.map(str::to_owned))
}

fn stock(lines: &[(&str, &str, i64)]) -> Stock {
    lines
        .iter()
        .map(|&(h, sku, q)| ((h.to_owned(), sku.to_owned()), q))
        .collect()
}

#[test]
fn an_old_data_dir_keeps_everything_and_fulfil_goes_on_from_its_offsets() {
    let oms = old_machine();
    assert_eq!(
        user_version(&oms),
        "0",
        "the fixture is the first release's file"
    );
    let events_before = raw(
        &oms,
        "SELECT partition, offset, key, payload FROM bus_log ORDER BY partition, offset",
    );
    let offsets_before = raw(
        &oms,
        "SELECT grp, partition, next_offset FROM bus_offsets ORDER BY grp, partition",
    );
    assert_eq!(events_before.len(), 11);

    // Orders, as the first release left them.
    let before = statuses(&oms);
    assert_eq!(user_version(&oms), "6", "opened once: migrated in place");
    let insufficient = Some("insufficient_inventory");
    let mut want: BTreeMap<String, (String, Option<String>)> = [
        ("5001", status("new_order", None)),
        ("5002", status("new_order", None)),
        ("5003", status("on_hold", insufficient)),
        ("5004", status("new_order", None)),
        ("5005", status("new_order", None)),
        ("5007", status("on_hold", insufficient)),
        ("7001", status("on_hold", None)),
        ("7002", status("on_hold", None)),
        ("7003", status("on_hold", None)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(before, want);
    // Its status changes, moved into the orders' rows, with the order's creation first.
    let h = history(&oms, "5003");
    let h: Vec<(&str, Option<&str>)> = h
        .iter()
        .map(|(s, r, _)| (s.as_str(), r.as_deref()))
        .collect();
    assert_eq!(h, [("on_hold", None), ("on_hold", insufficient)]);
    let o7002 = oms.json(&["orders", "show", "7002", "--output", "json"]);
    assert_eq!(s(&o7002["job_id"]), SECOND_JOB);
    let items = items_of(&o7002["items"]);
    assert_eq!(
        items,
        [("29".into(), "2".into(), 4), ("15".into(), "2".into(), 1)]
    );

    // Jobs: done, failed, done, queued; the rejected row kept.
    let jobs: BTreeMap<String, Value> = oms
        .jobs()
        .into_iter()
        .map(|j| (s(&j["job_id"]), j))
        .collect();
    let state = |id: &str| s(&jobs[id]["state"]);
    assert_eq!(
        [FIRST_JOB, FAILED_JOB, SECOND_JOB, QUEUED_JOB].map(state),
        ["done", "failed", "done", "queued"]
    );
    assert!(s(&jobs[FAILED_JOB]["error"]).contains("the file changed since it was submitted"));
    let first = oms.job(FIRST_JOB);
    assert_eq!(
        (n(&first["orders_accepted"]), n(&first["orders_rejected"])),
        (6, 1)
    );
    assert!(
        s(&first["rejects"][0]["reason"]).contains("sku_id 99 is not known"),
        "{first}"
    );
    assert_eq!(
        oms.queue_depth().visible,
        1,
        "the queued job's message is kept"
    );

    // Stock, and the event log: every payload delivered as the first release stored
    // it, the committed offsets unchanged.
    let stock_before = stock(&[
        ("1", "15", 8),
        ("1", "22", 3),
        ("1", "7", 4),
        ("2", "15", 3),
        ("2", "29", 15),
        ("3", "40", 0),
    ]);
    assert_eq!(oms.stock(), stock_before);
    let events_after: Vec<Vec<String>> = delivered(&oms, "migration-check")
        .into_iter()
        .map(|(p, o, k, v)| vec![p.to_string(), o.to_string(), k, v])
        .collect();
    assert_eq!(
        events_after, events_before,
        "the bus port delivers them unchanged"
    );
    assert_eq!(
        raw(
            &oms,
            "SELECT partition, offset, key, payload FROM bus_log ORDER BY partition, offset"
        ),
        events_before,
        "the bus_log view shows them unchanged"
    );
    assert_eq!(
        raw(
            &oms,
            "SELECT grp, partition, next_offset FROM bus_offsets \
             WHERE grp = 'oms-fulfil' ORDER BY grp, partition"
        ),
        offsets_before
    );

    // Fulfil goes on from the committed offsets: the second job's 3 orders and the 2
    // retried ones, nothing of what was fulfilled before.
    assert_eq!(fulfil_counts(&oms), (5, 2, 3));
    want.insert("7001".into(), status("new_order", None));
    want.insert("7002".into(), status("new_order", None));
    want.insert("7003".into(), status("on_hold", insufficient));
    assert_eq!(statuses(&oms), want);
    let mut stock_after = stock_before.clone();
    for (hub, sku, q) in [("1", "15", 1), ("2", "29", 4), ("2", "15", 1)] {
        *stock_after
            .get_mut(&(hub.into(), sku.into()))
            .expect("a line") -= q;
    }
    assert_eq!(
        oms.stock(),
        stock_after,
        "only the orders not fulfilled before took stock"
    );
    assert_eq!(oms.fulfil_drain()["events"], 0, "nothing left to fulfil");
}

#[test]
fn events_stored_after_the_upgrade_read_as_published() {
    let oms = old_machine();
    oms.write(
        "later.csv",
        "order_id,sku_id,quantity,seller_id,hub_id\n9001,15,1,1,1\n9001,7,2,1,1\n",
    );
    let job = oms.submit("storage/later.csv");
    // The queued job's message names a file outside this machine's storage root: that
    // job fails, and the run says so (exit 5).
    let r = oms.run(&["--log-format", "json", "ingest", "--drain"]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    let t = r.event("ingest stopped");
    assert_eq!((n(&t["jobs_done"]), n(&t["jobs_failed"])), (1, 1), "{t}");
    let published = format!(
        r#"{{"event":"order_created","seller_id":"1","order_id":"9001","job_id":"{job}","status":"on_hold","items":[{{"sku_id":"15","hub_id":"1","quantity":1}},{{"sku_id":"7","hub_id":"1","quantity":2}}]}}"#
    );
    let events = delivered(&oms, "after-upgrade");
    let ours: Vec<_> = events.iter().filter(|e| e.2 == "1/9001").collect();
    assert_eq!(ours.len(), 1, "{events:?}");
    assert_eq!(
        ours[0].3, published,
        "the bus port gives the payload as published"
    );
    let (p, o) = (ours[0].0, ours[0].1);
    let view = raw(
        &oms,
        &format!("SELECT payload FROM bus_log WHERE partition = {p} AND offset = {o}"),
    );
    assert_eq!(view[0][0], published, "and so does the bus_log view");
    let stored = raw(
        &oms,
        &format!(
            "SELECT length(payload), enc FROM bus_events WHERE partition = {p} AND offset = {o}"
        ),
    );
    let len: usize = stored[0][0].parse().expect("a length");
    assert!(
        len < published.len() / 2 && stored[0][1] == "1",
        "kept compact: {stored:?}"
    );
    let t = oms.fulfil_drain();
    assert_eq!((n(&t["events"]), n(&t["new_order"])), (6, 3), "{t}");
}

#[test]
fn a_file_of_a_newer_oms_is_refused_untouched() {
    let oms = old_machine();
    let c = Connection::open(oms.db_file()).expect("open the file");
    c.pragma_update(None, "user_version", 99)
        .expect("set a version");
    drop(c);
    let r = oms.run(&["orders", "ls"]);
    assert_ne!(r.code, 0, "{}", r.stdout);
    assert!(r.stderr.contains("schema version 99"), "{}", r.stderr);
    assert_eq!(user_version(&oms), "99");
    assert_eq!(raw(&oms, "SELECT count(*) FROM bus_log")[0][0], "11");
}

/// An order's history as `orders show` gives it: (status, reason, at) per change.
fn history(oms: &Oms, order: &str) -> Vec<(String, Option<String>, String)> {
    let o = oms.json(&["orders", "show", order, "--seller", "1", "--output", "json"]);
    o["history"]
        .as_array()
        .expect("a history")
        .iter()
        .map(|h| {
            (
                s(&h["status"]),
                h["reason"].as_str().map(str::to_owned),
                s(&h["at"]),
            )
        })
        .collect()
}

#[test]
fn the_last_releases_data_dir_keeps_every_orders_history_and_fulfil_goes_on() {
    let oms = machine_from(FIXTURE_V3);
    assert_eq!(
        user_version(&oms),
        "3",
        "the fixture is the last release's file"
    );
    // What the last release stored, read with SQLite alone before oms opens the file.
    let created: BTreeMap<String, String> = raw(&oms, "SELECT order_id, created_at FROM orders")
        .into_iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let changes = raw(
        &oms,
        "SELECT order_id, status, reason, at FROM order_history ORDER BY rowid",
    );
    assert_eq!(changes.len(), 4, "{changes:?}");
    let before = log_and_offsets(&oms);
    assert_eq!(before.0.len(), 7);
    // Each order's items as the last release kept them: objects, in the file's order.
    let items_before: BTreeMap<String, Vec<(String, String, u64)>> =
        raw(&oms, "SELECT order_id, items FROM orders")
            .into_iter()
            .map(|r| {
                let v: Value = serde_json::from_str(&r[1]).expect("items JSON");
                (r[0].clone(), items_of(&v))
            })
            .collect();
    assert_eq!(items_before.len(), 6);

    // Every order's history: created on_hold, then each change the last release made,
    // in its order, with its own time.
    let want = |order: &str| {
        let mut h = vec![("on_hold".to_owned(), None, created[order].clone())];
        for c in changes.iter().filter(|c| c[0] == order) {
            let reason = (c[2] != "NULL").then(|| c[2].clone());
            h.push((c[1].clone(), reason, c[3].clone()));
        }
        h
    };
    for order in ["8001", "8002", "8003", "8004", "8101", "8102"] {
        assert_eq!(history(&oms, order), want(order), "order {order}");
    }
    assert_eq!(user_version(&oms), "6", "opened once: migrated in place");
    assert_eq!(
        raw(
            &oms,
            "SELECT count(*) FROM sqlite_master WHERE name = 'order_history'"
        ),
        [["0"]],
        "the changes moved into the orders' rows"
    );
    assert_eq!(
        raw(
            &oms,
            "SELECT count(*) FROM sqlite_master WHERE name = 'orders_listing'"
        ),
        [["0"]],
        "listings read from the status index"
    );
    // Every order listed once, of either status, oldest first.
    let listed = oms.json(&["orders", "ls", "--output", "json"]);
    let listed: Vec<(String, String)> = listed
        .as_array()
        .expect("orders")
        .iter()
        .map(|o| {
            (
                o["created_at"].as_str().unwrap().to_owned(),
                o["order_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut in_order = listed.clone();
    in_order.sort();
    assert_eq!(listed, in_order, "oldest first");
    let ids: BTreeSet<&str> = listed.iter().map(|(_, id)| id.as_str()).collect();
    assert_eq!(ids.len(), listed.len(), "each order once: {listed:?}");
    assert!(
        ["8001", "8002", "8003", "8004", "8101", "8102"]
            .iter()
            .all(|id| ids.contains(id)),
        "{listed:?}"
    );
    // The same items, in the same order, now kept as [[sku, hub, quantity], ...].
    for (order, items) in &items_before {
        let shown = oms.json(&["orders", "show", order, "--output", "json"]);
        let shown = items_of(&shown["items"]);
        assert_eq!(&shown, items, "order {order}");
        let stored = raw(
            &oms,
            &format!("SELECT items FROM orders WHERE order_id = '{order}'"),
        );
        let compact: Vec<(String, String, u64)> =
            serde_json::from_str(&stored[0][0]).expect("the compact form");
        assert_eq!(&compact, items, "order {order} as stored");
    }
    let insufficient = Some("insufficient_inventory");
    let mut want_status: BTreeMap<String, (String, Option<String>)> = [
        ("8001", status("new_order", None)),
        ("8002", status("on_hold", insufficient)),
        ("8003", status("new_order", None)),
        ("8004", status("new_order", None)),
        ("8101", status("on_hold", None)),
        ("8102", status("on_hold", None)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(statuses(&oms), want_status);
    let stock_before = stock(&[("1", "15", 2), ("1", "7", 1)]);
    assert_eq!(oms.stock(), stock_before);
    assert_eq!(
        log_and_offsets(&oms),
        before,
        "the log and the offsets unchanged"
    );

    // Fulfil goes on from the committed offsets: 8002 again, 8101 and 8102.
    assert_eq!(fulfil_counts(&oms), (3, 2, 1));
    want_status.insert("8002".into(), status("new_order", None));
    want_status.insert("8101".into(), status("new_order", None));
    want_status.insert("8102".into(), status("on_hold", insufficient));
    assert_eq!(statuses(&oms), want_status);
    assert_eq!(oms.stock(), stock(&[("1", "15", 1), ("1", "7", 0)]));
    // The new change comes after the old ones, in the same history.
    let h = history(&oms, "8002");
    assert_eq!(h[..2], want("8002")[..], "{h:?}");
    assert_eq!(h.len(), 3, "{h:?}");
    assert_eq!((h[2].0.as_str(), h[2].1.as_deref()), ("new_order", None));
    assert!(h[2].2 > h[1].2, "{h:?}");
    for order in ["8001", "8003", "8004"] {
        assert_eq!(
            history(&oms, order),
            want(order),
            "not fulfilled again: {order}"
        );
    }
    assert_eq!(oms.fulfil_drain()["events"], 0, "nothing left to fulfil");
}
