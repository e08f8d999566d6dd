//! Hostile order files through the real binary, on the embedded default: each test has
//! its own temporary directory (see `crate::support`). Every file goes through
//! `oms submit` and, when submit takes it, `oms ingest --drain`. Wanted: a clear error
//! (exit 3 at submit) or clear rejects / a failed job with its error at ingest (exit 5
//! for a failed job), never a panic, and bounded memory on huge input.
//!
//! A file that changes between submit and ingest is covered by `crate::e2e`.

use crate::support::*;
use serde_json::Value;
use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// `run`, asserting the process did not panic.
fn run(oms: &Oms, args: &[&str]) -> Run {
    let r = oms.run(args);
    no_panic(&r);
    r
}

fn no_panic(r: &Run) {
    assert!(
        !r.stderr.contains("panicked") && !r.stdout.contains("panicked"),
        "`{}` panicked:\n{}",
        r.what,
        r.stderr
    );
}

/// A submit that must be refused: exit 3, a message saying `says`, nothing queued.
fn refused(oms: &Oms, file: &str, says: &str) -> Run {
    let r = run(oms, &["submit", file, "--seller", "1"]);
    assert_eq!(r.code, 3, "`{}` should exit 3: {r:?}", r.what);
    assert!(
        r.stderr.contains(says),
        "`{}` should say {says:?}: {}",
        r.what,
        r.stderr
    );
    assert!(r.stdout.trim().is_empty(), "no job id: {r:?}");
    assert!(oms.jobs().is_empty(), "`{}` recorded a job", r.what);
    r
}

/// A submit that must be taken; gives the job id.
fn taken(oms: &Oms, file: &str) -> String {
    let r = run(oms, &["submit", file, "--seller", "1"]).ok();
    let id = r.stdout.trim().to_owned();
    assert!(!id.is_empty(), "submit printed no job id");
    id
}

/// `oms ingest --drain` (JSON logs); gives the run and its job.
fn ingest(oms: &Oms, job_id: &str) -> (Run, Value) {
    let r = run(oms, &["--log-format", "json", "ingest", "--drain"]);
    let job = oms.job(job_id);
    (r, job)
}

/// Ingest must record the job done, exit 0; gives the job.
fn ingest_done(oms: &Oms, job_id: &str) -> Value {
    let (r, job) = ingest(oms, job_id);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(job["state"], "done", "{job}");
    for rej in job["rejects"].as_array().expect("rejects") {
        assert!(
            rej["row"].as_u64().is_some(),
            "a reject without a row: {rej}"
        );
        assert!(!s(&rej["reason"]).is_empty(), "{rej}");
    }
    job
}

/// The job must be recorded failed with an error saying `says`, nothing stored.
fn job_failed(oms: &Oms, job_id: &str, says: &str) -> Value {
    let job = oms.job(job_id);
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        s(&job["error"]).contains(says),
        "the job's error should say {says:?}: {job}"
    );
    assert_eq!(n(&job["orders_accepted"]), 0, "{job}");
    assert!(oms.orders().is_empty(), "nothing stored");
    job
}

fn rejects(job: &Value) -> Vec<Value> {
    job["rejects"].as_array().expect("rejects").clone()
}

fn write_bytes(oms: &Oms, name: &str, bytes: &[u8]) {
    fs::write(oms.root.join(name), bytes).expect("write a storage file");
}

/// A deterministic byte stream (xorshift), for garbage.
fn garbage(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

// ---------------------------------------------------------------------------------
// Peak memory
// ---------------------------------------------------------------------------------

/// Runs `oms ARGS` and measures its peak resident set size in KiB: with
/// `/usr/bin/time -v` when it is there (the kernel's `ru_maxrss` of the child), else by
/// reading `VmHWM` from `/proc/<pid>/status` while it runs.
fn peak_rss(oms: &Oms, args: &[&str]) -> (Run, u64) {
    let inner = oms.cmd(args);
    let time = Path::new("/usr/bin/time");
    let probe = Command::new(time).args(["-v", "true"]).output();
    if probe.is_ok_and(|o| o.status.success()) {
        let report = oms.home.join(format!("time-{}.txt", std::process::id()));
        let mut c = Command::new(time);
        for (k, v) in inner.get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c.current_dir(&oms.home)
            .arg("-v")
            .arg("-o")
            .arg(&report)
            .arg(BIN)
            .args(inner.get_args());
        let r = run_cmd(c);
        no_panic(&r);
        let text = fs::read_to_string(&report).expect("the report of /usr/bin/time");
        let kib = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no maximum RSS in {text}"));
        return (r, kib);
    }
    // /proc polling.
    let mut c = inner;
    c.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let what = described(&c);
    let mut child = c.spawn().expect("spawn oms");
    let status_file = format!("/proc/{}/status", child.id());
    let mut kib = 0;
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Ok(text) = fs::read_to_string(&status_file)
            && let Some(v) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        {
            kib = kib.max(v);
        }
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        assert!(Instant::now() < deadline, "`{what}` took too long");
        std::thread::sleep(Duration::from_millis(2));
    };
    let out = child.wait_with_output().expect("output");
    let r = Run {
        what,
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    no_panic(&r);
    assert!(kib > 0, "no VmHWM read for `{}`", r.what);
    (r, kib)
}

// ---------------------------------------------------------------------------------
// Refused at submit
// ---------------------------------------------------------------------------------

#[test]
fn an_empty_file_is_refused() {
    let oms = Oms::new();
    oms.write("empty.csv", "");
    refused(&oms, "storage/empty.csv", "empty");
    oms.write("blank.csv", "\n\r\n   \n,,,\n");
    refused(&oms, "storage/blank.csv", "empty");
}

#[test]
fn a_header_missing_a_column_is_refused_and_names_it() {
    let oms = Oms::new();
    for missing in ["order_id", "sku_id", "quantity", "seller_id", "hub_id"] {
        let cols: Vec<&str> = ORDERS_HEADER
            .trim()
            .split(',')
            .filter(|c| *c != missing)
            .collect();
        oms.write("missing.csv", &format!("{}\n1,2,3,4\n", cols.join(",")));
        refused(&oms, "storage/missing.csv", &format!("`{missing}` column"));
    }
}

#[test]
fn a_duplicated_header_is_refused_unless_the_column_is_an_extra() {
    let oms = Oms::new();
    oms.write(
        "dup.csv",
        "order_id,sku_id,quantity,seller_id,hub_id,SKU_ID\n1,15,1,1,1,15\n",
    );
    refused(&oms, "storage/dup.csv", "`sku_id` column more than once");
    oms.write(
        "dup-all.csv",
        &format!("{h},{h}\n", h = ORDERS_HEADER.trim()),
    );
    refused(&oms, "storage/dup-all.csv", "more than once");

    // Extra columns may repeat: they are not read.
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    oms.write(
        "dup-extra.csv",
        "note,order_id,sku_id,note,quantity,seller_id,hub_id,note\nx,1,15,y,2,1,1,z\n",
    );
    let job_id = taken(&oms, "storage/dup-extra.csv");
    let job = ingest_done(&oms, &job_id);
    assert_eq!(n(&job["orders_accepted"]), 1, "{job}");
}

#[test]
fn binary_garbage_is_refused_or_rejected_never_a_panic() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    // Garbage as the header: refused at submit.
    for seed in 1..=5 {
        write_bytes(&oms, "garbage.csv", &garbage(seed, 64 * 1024));
        let r = run(&oms, &["submit", "storage/garbage.csv", "--seller", "1"]);
        assert_eq!(r.code, 3, "{r:?}");
        assert!(
            r.stderr.contains("not valid UTF-8")
                || r.stderr.contains("column")
                || r.stderr.contains("longer than"),
            "a clear error: {}",
            r.stderr
        );
    }
    assert!(oms.jobs().is_empty());
    // NUL bytes and a UTF-16 file (what some spreadsheets export).
    write_bytes(&oms, "nul.csv", &[0u8; 4096]);
    refused(&oms, "storage/nul.csv", "column");
    let utf16: Vec<u8> = "\u{feff}order_id,sku_id,quantity,seller_id,hub_id\n1,15,1,1,1\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    write_bytes(&oms, "utf16.csv", &utf16);
    refused(&oms, "storage/utf16.csv", "UTF-8");

    // Garbage after a valid header: taken, then each row rejected (or the whole file
    // refused at ingest), and nothing stored.
    let mut jobs = Vec::new();
    for seed in 1..=3 {
        let mut bytes = ORDERS_HEADER.as_bytes().to_vec();
        bytes.extend(garbage(seed, 256 * 1024));
        write_bytes(&oms, &format!("tail-{seed}.csv"), &bytes);
        jobs.push(taken(&oms, &format!("storage/tail-{seed}.csv")));
    }
    let r = run(&oms, &["--log-format", "json", "ingest", "--drain"]);
    assert!(r.code == 0 || r.code == 5, "{r:?}");
    for id in &jobs {
        let job = oms.job(id);
        match job["state"].as_str() {
            Some("done") => {
                assert!(n(&job["rows"]) > 0, "{job}");
                assert!(
                    !rejects(&job).is_empty(),
                    "garbage rows are rejected: {job}"
                );
                assert!(
                    rejects(&job)
                        .iter()
                        .all(|x| x["row"].as_u64().is_some_and(|r| r >= 2)),
                    "every reject has its row"
                );
            }
            Some("failed") => assert!(!s(&job["error"]).is_empty(), "{job}"),
            other => panic!("job {id} is {other:?}: {job}"),
        }
    }
}

/// The 1,000,000-column header (about 6.9 MB on one line) is over the 1 MiB row cap:
/// refused at submit. A 100,000-column header (about 690 KB) is under it: its columns
/// are found wherever they are and its rows (as wide) are read.
#[test]
fn a_very_wide_header_is_refused_past_the_row_cap_and_read_below_it() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let wide = |cols: usize| -> String {
        let mut names: Vec<String> = (0..cols).map(|i| format!("c{i}")).collect();
        // The required columns first, in the middle and last.
        names[0] = "hub_id".into();
        names[cols / 2] = "order_id".into();
        names[cols / 2 + 1] = "sku_id".into();
        names[cols - 2] = "quantity".into();
        names[cols - 1] = "seller_id".into();
        names.join(",")
    };
    let started = Instant::now();
    oms.write("wide-1m.csv", &format!("{}\n", wide(1_000_000)));
    refused(&oms, "storage/wide-1m.csv", "longer than 1048576 bytes");

    let cols = 100_000;
    let mut text = wide(cols);
    text.push('\n');
    for (order, sku) in [("W1", "15"), ("W2", "7")] {
        let mut row = vec![""; cols];
        row[0] = "1";
        row[cols / 2] = order;
        row[cols / 2 + 1] = sku;
        row[cols - 2] = "1";
        row[cols - 1] = "1";
        text.push_str(&row.join(","));
        text.push('\n');
    }
    oms.write("wide-100k.csv", &text);
    let job_id = taken(&oms, "storage/wide-100k.csv");
    let job = ingest_done(&oms, &job_id);
    assert_eq!(
        (n(&job["rows"]), n(&job["orders_accepted"])),
        (2, 2),
        "{job}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

// ---------------------------------------------------------------------------------
// Taken at submit: clear rejects or a failed job
// ---------------------------------------------------------------------------------

#[test]
fn a_header_only_file_is_a_done_job_with_no_rows() {
    let oms = Oms::new();
    oms.write("header.csv", ORDERS_HEADER);
    let job_id = taken(&oms, "storage/header.csv");
    let job = ingest_done(&oms, &job_id);
    assert_eq!(
        (
            n(&job["rows"]),
            n(&job["orders_accepted"]),
            n(&job["orders_rejected"])
        ),
        (0, 0, 0),
        "{job}"
    );
    assert!(rejects(&job).is_empty());
    // No final newline, CRLF and a BOM: the same.
    oms.write(
        "header2.csv",
        "\u{feff}order_id,sku_id,quantity,seller_id,hub_id\r\n\r\n",
    );
    let job_id = taken(&oms, "storage/header2.csv");
    assert_eq!(n(&ingest_done(&oms, &job_id)["rows"]), 0);
}

#[test]
fn invalid_utf8_in_fields_rejects_those_rows_and_names_the_column() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let mut bytes = ORDERS_HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"1,\xff\xfe,1,1,1\n"); // line 2: sku
    bytes.extend_from_slice(b"2,15,1,1,\xc3\n"); // line 3: hub (a cut sequence)
    bytes.extend_from_slice(b"\xed\xa0\x80,15,1,1,1\n"); // line 4: order id (a surrogate)
    bytes.extend_from_slice(b"3,15,\xef\xbc\x91,1,1\n"); // line 5: a fullwidth digit
    bytes.extend_from_slice(b"4,15,2,1,1,\xff extra\n"); // line 6: an extra column: fine
    write_bytes(&oms, "utf8.csv", &bytes);
    let job_id = taken(&oms, "storage/utf8.csv");
    let job = ingest_done(&oms, &job_id);
    assert_eq!(
        (
            n(&job["rows"]),
            n(&job["orders_accepted"]),
            n(&job["orders_rejected"])
        ),
        (5, 1, 3),
        "orders 1, 2, 3 rejected; the row without an order id belongs to none: {job}"
    );
    let rej = rejects(&job);
    let at = |row: u64, col: &str, says: &str| {
        assert!(
            rej.iter()
                .any(|r| r["row"] == row && r["column"] == col && s(&r["reason"]).contains(says)),
            "line {row} should be rejected for {col} ({says}): {rej:?}"
        );
    };
    at(2, "sku_id", "UTF-8");
    at(3, "hub_id", "UTF-8");
    at(4, "order_id", "UTF-8");
    at(5, "quantity", "whole number");
    let stored: Vec<String> = oms.orders().iter().map(|o| s(&o["order_id"])).collect();
    assert_eq!(stored, ["4"]);
    // `jobs rejects` writes them out without failing on the bytes.
    let r = run(&oms, &["jobs", "rejects", &job_id]).ok();
    assert!(r.stdout.contains("UTF-8"), "{}", r.stdout);
}

#[test]
fn quantities_beyond_i64_are_rejected() {
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let max = i64::MAX;
    let text = format!(
        "{ORDERS_HEADER}\
         1,15,9223372036854775808,1,1\n\
         2,15,{huge},1,1\n\
         3,15,-9223372036854775809,1,1\n\
         4,15,{max},1,1\n\
         4,15,1,1,1\n\
         5,15,{max},1,1\n\
         6,15,0,1,1\n\
         7,15,1e30,1,1\n",
        huge = "9".repeat(5000)
    );
    oms.write("big-qty.csv", &text);
    let job_id = taken(&oms, "storage/big-qty.csv");
    let job = ingest_done(&oms, &job_id);
    let rej = rejects(&job);
    assert_eq!(n(&job["orders_rejected"]), 6, "{rej:?}");
    for (row, says) in [
        (2, "too large"),
        (3, "too large"),
        (4, "greater than zero"),
        (6, "too large"), // the sum of rows 5 and 6
        (8, "greater than zero"),
        (9, "whole number"),
    ] {
        assert!(
            rej.iter().any(|r| r["row"] == row
                && r["column"] == "quantity"
                && s(&r["reason"]).contains(says)),
            "line {row}: {says}: {rej:?}"
        );
    }
    // A huge value is cut in the message.
    assert!(rej.iter().all(|r| s(&r["reason"]).len() < 200), "{rej:?}");
    // Order 5 holds i64::MAX of a stock line of 10: it is stored (on_hold), not
    // rejected: the warehouse decides later.
    let stored: Vec<String> = oms.orders().iter().map(|o| s(&o["order_id"])).collect();
    assert_eq!(stored, ["5"]);
}

// ---------------------------------------------------------------------------------
// Bounded memory
// ---------------------------------------------------------------------------------

/// One 64 MB line with no newline, as the header (refused at submit) and after a valid
/// header (taken at submit, which only checks the header and hashes the rest; the job
/// fails at ingest). The parser caps a row at 1 MiB (`MAX_ROW_BYTES`), so neither
/// command holds the line: the bound, 48 MiB, is the measured ~20 MiB of an idle `oms`
/// plus room, and well under the 64 MB the line would take if it were read whole (the
/// line is 64 MB rather than 20 MB so that the bound tells the two apart).
#[test]
fn one_huge_line_fails_cleanly_in_bounded_memory() {
    const BOUND_KIB: u64 = 48 * 1024;
    const LINE: usize = 64 * 1000 * 1000;
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);

    let write_line = |name: &str, prefix: &str, byte: u8| {
        let f = fs::File::create(oms.root.join(name)).expect("create");
        let mut w = BufWriter::new(f);
        w.write_all(prefix.as_bytes()).expect("write");
        let chunk = vec![byte; 1 << 20];
        let mut left = LINE;
        while left > 0 {
            let k = left.min(chunk.len());
            w.write_all(&chunk[..k]).expect("write");
            left -= k;
        }
        w.flush().expect("flush");
    };

    write_line("huge-header.csv", "", b'x');
    let (r, submit_kib) = peak_rss(
        &oms,
        &["submit", "storage/huge-header.csv", "--seller", "1"],
    );
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("line 1 is longer than 1048576 bytes"),
        "{}",
        r.stderr
    );
    eprintln!("peak RSS, submit of a 64 MB header line: {submit_kib} KiB");
    assert!(submit_kib < BOUND_KIB, "submit peaked at {submit_kib} KiB");

    write_line("huge-row.csv", ORDERS_HEADER, b'9');
    let job_id = taken(&oms, "storage/huge-row.csv");
    let (r, ingest_kib) = peak_rss(&oms, &["--log-format", "json", "ingest", "--drain"]);
    assert_eq!(r.code, 5, "a failed job: {r:?}");
    eprintln!("peak RSS, ingest of a 64 MB data line: {ingest_kib} KiB");
    assert!(ingest_kib < BOUND_KIB, "ingest peaked at {ingest_kib} KiB");
    job_failed(&oms, &job_id, "line 2 is longer than 1048576 bytes");
}

/// 2,000,000 short rows (about 25 MB), written on the fly: 1,000 orders of 4 items,
/// each (sku, hub) repeated 500 times (summed, counted as warnings), so the store and
/// the warehouse see little and the parser is what is measured. The parser streams the
/// rows; what it keeps per row is the line number of the row in its order (two `u64`
/// per row: about 32 MB for 2M rows), so the bound, 80 MiB, is the ~20 MiB of an idle
/// `oms` plus those 32 MB plus room. Holding the file's text as well (25 MB, more with
/// growth) or a string per row would break it. Measured: 52-54 MiB.
#[test]
fn two_million_rows_are_ingested_in_bounded_memory() {
    const BOUND_KIB: u64 = 80 * 1024;
    const ROWS: usize = 2_000_000;
    let oms = Oms::new();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    {
        let f = fs::File::create(oms.root.join("large.csv")).expect("create");
        let mut w = BufWriter::new(f);
        w.write_all(ORDERS_HEADER.as_bytes()).expect("write");
        let pairs = [("15", "1"), ("7", "1"), ("29", "2"), ("8", "3")];
        for i in 0..ROWS {
            let (sku, hub) = pairs[(i / 1000) % 4];
            writeln!(w, "{},{sku},1,1,{hub}", 100_000 + i % 1000).expect("write");
        }
        w.flush().expect("flush");
    }
    let job_id = taken(&oms, "storage/large.csv");
    let (r, kib) = peak_rss(&oms, &["--log-format", "json", "ingest", "--drain"]);
    assert_eq!(r.code, 0, "{r:?}");
    eprintln!("peak RSS, ingest of {ROWS} rows: {kib} KiB");
    let job = oms.job(&job_id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (
            n(&job["rows"]),
            n(&job["orders_accepted"]),
            n(&job["orders_rejected"]),
            n(&job["warnings"])
        ),
        (ROWS as u64, 1000, 0, ROWS as u64 - 4000),
        "{job}"
    );
    assert!(kib < BOUND_KIB, "ingest peaked at {kib} KiB");
}
