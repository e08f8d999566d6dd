//! The sample flow: `storage/orders.csv` submitted as seller 1 over the stock of
//! `storage/inventory.csv`, ingested and fulfilled; what it must leave behind on any
//! backend.

use super::{Oms, Stock, n, s};
use serde_json::Value;
use std::collections::BTreeMap;

/// The key of a stock line: (hub, sku).
pub fn stock_key(hub: &str, sku: &str) -> (String, String) {
    (hub.to_owned(), sku.to_owned())
}

/// Orders by order id.
pub fn by_id(orders: &[Value]) -> BTreeMap<String, Value> {
    orders
        .iter()
        .map(|o| (s(&o["order_id"]), o.clone()))
        .collect()
}

/// The stock of `storage/inventory.csv` after the sample orders 2001, 2002 and 2011.
pub fn sample_stock_after_flow() -> Stock {
    [
        (stock_key("1", "15"), 5), // 10 - 2 (2001) - 3 (2011)
        (stock_key("1", "7"), 4),  // 5 - 1 (2001)
        (stock_key("1", "22"), 3), // 2003 wanted 5: untouched
        (stock_key("2", "15"), 4), // 2004 is all or nothing: untouched
        (stock_key("2", "29"), 2), // 6 - 4 (2002, two rows summed)
        (stock_key("3", "8"), 2),  // 2004 wanted 5: untouched
        (stock_key("3", "12"), 0),
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

/// The sample flow on `oms`'s embedded default: the stock of `storage/inventory.csv`
/// loaded, `storage/orders.csv` submitted as seller 1, ingested and fulfilled; gives
/// the job id.
pub fn sample_flow(oms: &Oms) -> String {
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let job = oms.submit("storage/orders.csv");
    oms.ingest_drain();
    oms.fulfil_drain();
    job
}
