//! Tables that fit, off a terminal: piped output is fitted to 120 columns (or
//! `COLUMNS`), columns that do not fit are left out in the order `--help` states,
//! `--output wide` shows them all, JSON and CSV keep their full values and field names;
//! a job is named by the start of its id anywhere a job id is taken, and a start that
//! names several jobs is an error naming them. (The same tables in a real terminal of
//! 80 and 100 columns: `tty`.)

use crate::support::*;
use std::process::Command;

/// `oms ARGS` with `COLUMNS` set to `columns`, or unset.
fn piped(oms: &Oms, args: &[&str], columns: Option<&str>) -> Run {
    let mut c: Command = oms.cmd(args);
    match columns {
        Some(v) => c.env("COLUMNS", v),
        None => c.env_remove("COLUMNS"),
    };
    run_cmd(c).ok()
}

fn widest(text: &str) -> usize {
    text.lines().map(|l| l.chars().count()).max().unwrap_or(0)
}

fn header(text: &str) -> Vec<&str> {
    text.lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect()
}

/// Orders with ids long enough that the whole `orders ls` table is wider than 120.
fn long_ids(oms: &Oms) {
    let mut csv = String::from(ORDERS_HEADER);
    for i in 0..3 {
        csv.push_str(&format!(
            "ORDER-WITH-A-VERY-LONG-ID-0000000000{i},15,1,1,1\n"
        ));
    }
    oms.write("long.csv", &csv);
    oms.submit("storage/long.csv");
    oms.ingest_drain();
}

#[test]
fn piped_tables_fit_120_columns_or_columns_and_wide_shows_everything() {
    let oms = Oms::new();
    let job = sample_flow(&oms);
    long_ids(&oms);

    let out = piped(&oms, &["orders", "ls"], None).stdout;
    assert!(widest(&out) <= 120, "wider than 120:\n{out}");
    let h = header(&out);
    assert!(!h.contains(&"UPDATED"), "UPDATED is left out first:\n{out}");
    assert!(h.contains(&"JOB") && h.contains(&"ITEMS"), "{out}");
    assert!(
        out.contains(&job[..8]) && !out.contains(&job),
        "short ids:\n{out}"
    );
    assert!(out.contains("2 items, 3 units"), "items summed up:\n{out}");

    let out = piped(&oms, &["orders", "ls"], Some("80")).stdout;
    assert!(widest(&out) <= 80, "wider than COLUMNS=80:\n{out}");
    let h = header(&out);
    for gone in ["UPDATED", "JOB", "SELLER"] {
        assert!(!h.contains(&gone), "{gone} left out at 80:\n{out}");
    }
    assert!(out.contains("insufficient_inventory"), "{out}");

    let out = piped(&oms, &["orders", "ls", "--output", "wide"], Some("80")).stdout;
    assert_eq!(
        header(&out),
        [
            "ORDER", "SELLER", "STATUS", "REASON", "ITEMS", "JOB", "AGE", "UPDATED"
        ]
    );
    assert_eq!(out.lines().count(), 1 + 9, "one line per order:\n{out}");

    let out = piped(&oms, &["jobs", "ls"], Some("100")).stdout;
    assert!(widest(&out) <= 100, "{out}");
    assert!(!header(&out).contains(&"WARNINGS"), "{out}");
}

#[test]
fn json_and_csv_keep_full_values_and_their_field_names() {
    let oms = Oms::new();
    let job = sample_flow(&oms);
    let csv = piped(&oms, &["orders", "ls", "--output", "csv"], Some("40")).stdout;
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some("order_id,seller_id,status,reason,items,job_id,created_at,updated_at")
    );
    let first = lines.next().expect("a row");
    assert!(first.contains(&job), "the whole job id: {first}");
    assert!(first.contains("15@1×2"), "items as before: {first}");
    let orders = oms.orders();
    assert_eq!(s(&orders[0]["job_id"]), job);
    let created = s(&orders[0]["created_at"]);
    assert!(
        created.len() == 27 && created.ends_with('Z'),
        "RFC 3339: {created}"
    );
    let jobs = piped(&oms, &["jobs", "ls", "--output", "csv"], Some("40")).stdout;
    assert!(
        jobs.starts_with(
            "job_id,seller_id,file,state,rows,accepted,rejected,duplicate,warnings,created_at,error\n"
        ),
        "{jobs}"
    );
}

#[test]
fn orders_show_lists_the_items_and_sums_them_up() {
    let oms = Oms::new();
    let job = sample_flow(&oms);
    let out = piped(&oms, &["orders", "show", "2004"], Some("80")).stdout;
    assert!(widest(&out) <= 80, "{out}");
    assert!(out.contains("2 items, 7 units"), "{out}");
    assert!(out.contains(&job), "the whole job id in the fields:\n{out}");
    let items: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("SKU"))
        .skip(1)
        .take_while(|l| !l.is_empty())
        .collect();
    assert_eq!(items.len(), 2, "{out}");
    assert!(
        items[0].starts_with("15 ") && items[0].ends_with(" 2"),
        "{out}"
    );
    assert!(
        items[1].starts_with("8 ") && items[1].ends_with(" 5"),
        "{out}"
    );
}

#[test]
fn a_short_job_id_is_taken_everywhere_a_job_id_is() {
    let oms = Oms::new();
    let job = sample_flow(&oms);
    let short = &job[..8];

    assert_eq!(s(&oms.job(short)["job_id"]), job);
    assert_eq!(
        oms.ok(&["jobs", "rejects", short]).stdout,
        oms.ok(&["jobs", "rejects", &job]).stdout
    );
    let listed = oms.json(&["orders", "ls", "--job", short, "--output", "json"]);
    assert_eq!(listed.as_array().expect("orders").len(), 6, "{listed}");
    let r = oms.ok(&["orders", "retry", "--job", short, "--yes"]);
    assert_eq!(r.stdout.trim(), "3", "the three on_hold orders: {r:?}");
    let table = oms.ok(&["jobs", "show", short]).stdout;
    assert!(table.contains(&job), "{table}");

    let r = oms.run(&["jobs", "show", "0000dead"]);
    assert_eq!(r.code, 3, "an unknown job: {r:?}");
    assert!(r.stderr.contains("no job 0000dead"), "{}", r.stderr);
}

#[test]
fn an_ambiguous_job_id_is_an_error_naming_the_jobs() {
    let oms = Oms::new();
    // Two jobs whose ids start alike: requests of another program, with ids of its own.
    for id in ["abc12345-0001", "abc12345-0002"] {
        oms.enqueue(&format!(
            r#"{{"sellerID":1,"filePath":"storage/orders.csv","jobId":"{id}"}}"#
        ));
    }
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    oms.ingest_drain();
    for args in [
        &["jobs", "show", "abc12345"][..],
        &["jobs", "rejects", "abc1"],
        &["orders", "ls", "--job", "abc12345"],
        &["orders", "retry", "--job", "abc", "--yes"],
    ] {
        let r = oms.run(args);
        assert_eq!(r.code, 3, "{r:?}");
        assert!(r.stdout.is_empty(), "{r:?}");
        assert!(
            r.stderr.contains("is ambiguous")
                && r.stderr.contains("abc12345-0001")
                && r.stderr.contains("abc12345-0002"),
            "the error names the jobs: {}",
            r.stderr
        );
    }
    assert_eq!(s(&oms.job("abc12345-0002")["job_id"]), "abc12345-0002");
    // A whole id is never ambiguous, even when another id starts with it.
    oms.enqueue(r#"{"sellerID":1,"filePath":"storage/orders.csv","jobId":"abc12345-00011"}"#);
    oms.ingest_drain();
    assert_eq!(s(&oms.job("abc12345-0001")["job_id"]), "abc12345-0001");
}
