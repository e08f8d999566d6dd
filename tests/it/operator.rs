//! Operator commands on the embedded default, off a terminal: a job's rejects as CSV
//! for the seller to fix, retrying on_hold orders after a restock (and the refusal to
//! do it unasked), listings in every output format, queries while Kafka is down.

use crate::support::*;

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut r = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    r.records()
        .map(|rec| rec.expect("CSV").iter().map(str::to_owned).collect())
        .collect()
}

#[test]
fn job_rejects_are_the_files_own_rows_with_their_reasons() {
    let oms = Oms::new();
    let job = sample_flow(&oms);
    let out = oms.ok(&["jobs", "rejects", &job]).stdout;
    let rows = csv_rows(&out);
    assert_eq!(
        rows[0],
        [
            "order_id",
            "sku_id",
            "quantity",
            "seller_id",
            "hub_id",
            "row",
            "column",
            "reason"
        ]
    );
    let body = &rows[1..];
    assert_eq!(body.len(), 7, "{out}");
    // Line 11 of storage/orders.csv: `2007,7,2,2,1`, another seller's row.
    let r11 = body.iter().find(|r| r[5] == "11").expect("row 11");
    assert_eq!(&r11[..5], ["2007", "7", "2", "2", "1"]);
    assert_eq!(r11[6], "seller_id");
    // Line 14: the decimal quantity, written back as the seller wrote it.
    let r14 = body.iter().find(|r| r[5] == "14").expect("row 14");
    assert_eq!(r14[2], "1.5");
    assert!(r14[7].contains("whole number"), "{r14:?}");
    // Both rows of order 2012 are listed, so the whole order can be resubmitted.
    assert_eq!(body.iter().filter(|r| r[0] == "2012").count(), 2);

    // The seller fixes the rows (keeping the file's columns) and submits them again.
    let fixed: String = std::iter::once("order_id,sku_id,quantity,seller_id,hub_id".to_owned())
        .chain(
            body.iter()
                .filter(|r| r[0] == "2010")
                .map(|r| format!("{},{},2,{},{}", r[0], r[1], r[3], r[4])),
        )
        .collect::<Vec<_>>()
        .join("\n");
    oms.write("fixed.csv", &fixed);
    oms.submit("storage/fixed.csv");
    oms.ingest_drain();
    let orders = by_id(&oms.orders());
    assert!(orders.contains_key("2010"), "the fixed order is stored");
}

#[test]
fn job_rejects_without_the_file_still_give_row_column_and_reason() {
    let oms = Oms::new();
    let job = sample_flow(&oms);
    std::fs::remove_file(oms.root.join("orders.csv")).expect("remove");
    let rows = csv_rows(&oms.ok(&["jobs", "rejects", &job]).stdout);
    assert_eq!(rows[0], ["row", "order_id", "column", "reason"]);
    assert_eq!(rows.len(), 8);
    let r = oms.run(&["jobs", "rejects", "no-such-job"]);
    assert_eq!(r.code, 3, "{r:?}");
}

#[test]
fn retry_refuses_unasked_off_a_terminal_and_retries_with_yes_after_a_restock() {
    let oms = Oms::new();
    // Six orders of one SKU with no stock: all on hold.
    let mut text = String::from(ORDERS_HEADER);
    for i in 0..6 {
        text.push_str(&format!("R{i},15,1,1,1\n"));
    }
    oms.write("scarce.csv", &text);
    oms.write("zero.csv", "hub_id,sku_id,quantity\n1,15,0\n");
    oms.ok(&["inventory", "load", "storage/zero.csv"]);
    oms.submit("storage/scarce.csv");
    oms.ingest_drain();
    oms.fulfil_drain();
    let held = oms.orders();
    assert!(held.iter().all(|o| o["status"] == "on_hold"));

    // More than five orders and no --yes, no terminal: a usage error, nothing published.
    let r = oms.run(&["orders", "retry", "--hub", "1"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    let f = oms.fulfil_drain();
    assert_eq!(n(&f["events"]), 0, "nothing was published: {f}");

    // Restock four, retry all six: four are fulfilled, two stay on hold.
    oms.write("restock.csv", "hub_id,sku_id,quantity\n1,15,4\n");
    oms.ok(&["inventory", "load", "storage/restock.csv"]);
    let r = oms.ok(&["orders", "retry", "--hub", "1", "--yes"]);
    assert_eq!(r.stdout.trim(), "6");
    let f = oms.fulfil_drain();
    assert_eq!(n(&f["new_order"]), 4, "{f}");
    let orders = oms.orders();
    assert_eq!(
        orders.iter().filter(|o| o["status"] == "new_order").count(),
        4
    );
    assert_eq!(oms.stock()[&stock_key("1", "15")], 0);

    // A few orders (at most five) are retried without a question.
    let r = oms.ok(&["orders", "retry"]);
    assert_eq!(r.stdout.trim(), "2");
    // new_order orders are never retried, whatever the filter says.
    let r = oms.ok(&["orders", "retry", "--status", "new_order"]);
    assert_eq!(r.stdout.trim(), "2");
}

#[test]
fn every_listing_speaks_table_json_and_csv() {
    let oms = Oms::new();
    let job = sample_flow(&oms);
    for args in [
        vec!["orders", "ls"],
        vec!["jobs", "ls"],
        vec!["inventory", "ls"],
        vec!["jobs", "show", job.as_str()],
        vec!["orders", "show", "2004"],
    ] {
        for (format, check) in [("table", 't'), ("wide", 't'), ("json", 'j'), ("csv", 'c')] {
            let mut a = args.clone();
            a.extend(["--output", format]);
            let out = oms.ok(&a).stdout;
            match check {
                'j' => {
                    serde_json::from_str::<serde_json::Value>(&out)
                        .unwrap_or_else(|e| panic!("{a:?}: {e}\n{out}"));
                }
                'c' => assert!(!csv_rows(&out).is_empty(), "{a:?}"),
                // Columns two spaces apart, no commas between them, not JSON.
                _ => assert!(
                    out.lines()
                        .next()
                        .is_some_and(|l| l.contains("  ") && !l.contains(','))
                        && serde_json::from_str::<serde_json::Value>(&out).is_err(),
                    "{a:?}\n{out}"
                ),
            }
        }
    }
}

#[test]
fn job_rejects_keep_their_rows_in_crlf_files_with_blank_lines() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    // Windows line ends and blank lines: the reject of order B names line 5, and its
    // columns are line 5's.
    oms.write(
        "crlf.csv",
        "order_id,sku_id,quantity,seller_id,hub_id\r\n\r\nA,15,1,1,1\r\n\r\nB,15,0,1,1\r\nC,7,1,1,1\r\n",
    );
    let job = oms.submit("storage/crlf.csv");
    oms.ingest_drain();
    let rows = csv_rows(&oms.ok(&["jobs", "rejects", &job]).stdout);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(&rows[1][..6], ["B", "15", "0", "1", "1", "5"]);
    assert_eq!(rows[1][6], "quantity");
}

#[test]
fn queries_work_while_kafka_is_down_and_workers_say_it_is() {
    let mut oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let job = oms.submit("storage/orders.csv");
    oms.ingest_drain();
    // The bus is now a Kafka nobody listens on; the store is still the embedded one.
    oms.set_env("OMS_KAFKA_BROKERS", format!("127.0.0.1:{}", free_port()));
    let orders = oms.orders();
    assert_eq!(orders.len(), 6, "{orders:?}");
    assert!(
        orders.iter().all(|o| o["status"] == "on_hold"),
        "{orders:?}"
    );
    let jobs = oms.ok(&["jobs", "ls", "--output", "json"]).stdout;
    assert!(jobs.contains(&job), "{jobs}");
    // A worker needs the bus: it stops at once, naming it.
    let r = oms.run(&["fulfil", "--drain"]);
    assert_eq!(r.code, 4, "{r:?}");
    assert!(r.stderr.contains("OMS_KAFKA_BROKERS"), "{}", r.stderr);
}
