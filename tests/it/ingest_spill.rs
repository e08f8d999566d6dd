//! Ingest under a memory budget: a file whose orders are spilled to temporary files
//! (`OMS_INGEST_MEMORY_MB=0`: every order) is stored exactly as without a budget, and
//! its temporary files are gone afterwards.

use crate::support::*;
use serde_json::Value;
use std::fs;

/// Orders whose rows are spread through the file, repeated (sku, hub) rows, bad rows,
/// an unknown SKU, a row of another seller, rows without an order id.
fn spread_file() -> String {
    let pairs = [
        ("1", "15"),
        ("1", "7"),
        ("1", "22"),
        ("2", "15"),
        ("2", "29"),
    ];
    let mut f = String::from("order_id,sku_id,quantity,seller_id,hub_id\n");
    for i in 0..400usize {
        let order = format!("S{}", i % 61);
        let (hub, sku) = pairs[(i / 61) % pairs.len()];
        let (sku, qty, seller) = match i {
            7 => (sku, "0", "1"),
            99 => ("404", "1", "1"),
            150 => (sku, "2", "2"),
            _ => (sku, "1", "1"),
        };
        let order = if i % 97 == 0 { String::new() } else { order };
        f.push_str(&format!("{order},{sku},{qty},{seller},{hub}\n"));
        if i % 61 == 3 {
            // A repeated (sku, hub) row of the same order: summed, with a warning.
            f.push_str(&format!("{order},{sku},1,1,{hub}\n"));
        }
    }
    f
}

/// What a user sees of the orders: everything but the times and the job id.
fn stored(oms: &Oms) -> Vec<Value> {
    oms.orders()
        .into_iter()
        .map(|mut o| {
            let m = o.as_object_mut().expect("an order object");
            for k in ["created_at", "updated_at", "job_id"] {
                m.remove(k);
            }
            o
        })
        .collect()
}

/// The job's state, counts and rejects.
fn job_outcome(oms: &Oms, id: &str) -> (Value, Value) {
    let j = oms.job(id);
    let counts = [
        "state",
        "rows",
        "orders_accepted",
        "orders_rejected",
        "orders_duplicate",
        "warnings",
    ]
    .map(|k| (k.to_owned(), j[k].clone()));
    (
        Value::Object(counts.into_iter().collect()),
        j["rejects"].clone(),
    )
}

#[test]
fn a_spilled_ingest_stores_what_an_in_memory_one_stores() {
    let file = spread_file();
    let plain = Oms::new();
    let mut tiny = Oms::new();
    let tmp = tiny.home.join("tmp");
    fs::create_dir(&tmp).unwrap();
    tiny.set_env("OMS_INGEST_MEMORY_MB", "0");
    tiny.set_env("TMPDIR", tmp.display().to_string());

    let mut outcomes = Vec::new();
    for oms in [&plain, &tiny] {
        oms.ok(&["inventory", "load", "storage/inventory.csv"]);
        oms.write("spread.csv", &file);
        let job = oms.submit("storage/spread.csv");
        let run = oms.ok(&["--log-format", "json", "ingest", "--drain"]);
        let spilled = run.stderr.contains("orders spilled past the memory budget");
        assert_eq!(spilled, std::ptr::eq(oms, &tiny), "{}", run.stderr);
        assert_eq!(n(&run.event("ingest stopped")["jobs_done"]), 1);
        outcomes.push((stored(oms), job_outcome(oms, &job)));
    }
    let (orders, (counts, rejects)) = &outcomes[0];
    assert!(
        orders.len() > 30,
        "most orders are accepted: {}",
        orders.len()
    );
    assert!(n(&counts["orders_rejected"]) >= 3, "{counts}");
    assert!(n(&counts["warnings"]) > 0, "{counts}");
    assert!(
        rejects.as_array().is_some_and(|r| r.len() > 10),
        "{rejects}"
    );
    assert_eq!(outcomes[1], outcomes[0], "spilled and in memory differ");
    assert_eq!(
        fs::read_dir(&tmp).unwrap().count(),
        0,
        "the temporary files are removed"
    );
}

#[test]
fn a_bad_memory_setting_is_refused() {
    let mut oms = Oms::new();
    oms.set_env("OMS_INGEST_MEMORY_MB", "lots");
    let r = oms.run(&["ingest", "--drain"]);
    assert_ne!(r.code, 0);
    assert!(r.stderr.contains("OMS_INGEST_MEMORY_MB"), "{}", r.stderr);
}
