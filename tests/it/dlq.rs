//! End-to-end tests of `oms dlq` on the embedded default: a message ingest cannot use
//! (a poison message) is received `OMS_QUEUE_MAX_RECEIVES` times by `oms ingest
//! --drain`, which still exits; then it is in the dead-letter queue, where `dlq ls`
//! lists it, `dlq redrive` moves it back and `dlq purge` deletes it. Off a terminal
//! (every command here has a null stdin) `redrive` and `purge` refuse without `--yes`,
//! exit 2 and touch nothing. The harness is in `crate::support`.

use crate::support::*;
use serde_json::Value;
use std::time::{Duration, Instant};

/// Receives before a message is dead-lettered, in these tests.
const MAX_RECEIVES: u32 = 2;
/// How long one `ingest --drain` over a poison message may take: two receives one
/// visibility timeout (1 s) apart, plus the long polls.
const DRAIN_WITHIN: Duration = Duration::from_secs(30);

/// A machine whose queue dead-letters after [`MAX_RECEIVES`] receives, with a 1 s
/// visibility timeout.
fn machine() -> Oms {
    let mut oms = Oms::new();
    oms.visibility_secs = 1;
    oms.set_env("OMS_QUEUE_VISIBILITY_TIMEOUT_SECS", "1");
    oms.set_env("OMS_QUEUE_MAX_RECEIVES", MAX_RECEIVES.to_string());
    oms
}

/// `ingest --drain`, which must end by itself; gives the run and its "ingest stopped"
/// totals.
fn drain(oms: &Oms) -> (Run, Value) {
    let started = Instant::now();
    let r = oms.run(&["--log-format", "json", "ingest", "--drain"]);
    let took = started.elapsed();
    assert!(
        took < DRAIN_WITHIN,
        "`ingest --drain` took {took:?} over a poison message"
    );
    let totals = r.event("ingest stopped");
    (r, totals)
}

/// Drains a queue holding poison messages: every one is received [`MAX_RECEIVES`]
/// times and left, and the drain exits 5 (partial: messages were left for
/// redelivery) once they are all dead-lettered.
fn drain_poison(oms: &Oms, poison: u64) -> Value {
    let (r, totals) = drain(oms);
    assert_eq!(
        r.code, 5,
        "`ingest --drain` leaving messages for redelivery exits 5 (partial)\nstderr: {}",
        r.stderr
    );
    assert_eq!(
        n(&totals["messages"]),
        poison * u64::from(MAX_RECEIVES),
        "each poison message is received max_receives times: {totals}"
    );
    assert_eq!(n(&totals["jobs_done"]), 0, "{totals}");
    assert_eq!(
        oms.queue_depth().dead,
        poison,
        "the drain ends with the poison dead-lettered"
    );
    totals
}

/// `dlq ls --output json` as an array.
fn dead_letters(oms: &Oms, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["dlq", "ls", "--output", "json"];
    args.extend_from_slice(extra);
    oms.json(&args)
        .as_array()
        .expect("a JSON array of dead letters")
        .clone()
}

fn bodies(letters: &[Value]) -> Vec<String> {
    letters.iter().map(|d| s(&d["body"])).collect()
}

/// The whole life of a poison message: dead-lettered by ingest, listed, refused
/// without `--yes`, redriven (with all its receives again), dead-lettered again, purged.
#[test]
fn a_poison_message_is_dead_lettered_listed_redriven_and_purged() {
    let oms = machine();
    assert!(
        dead_letters(&oms, &[]).is_empty(),
        "a new data dir has no dead letters"
    );
    oms.enqueue("not json");
    assert_eq!(oms.queue_depth(), depth(1, 0, 0));

    drain_poison(&oms, 1);
    assert_eq!(oms.queue_depth(), depth(0, 0, 1));

    // Listed, in every format, and left where it is.
    let letters = dead_letters(&oms, &[]);
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["body"], "not json");
    assert_eq!(letters[0]["receive_count"], MAX_RECEIVES);
    let id = s(&letters[0]["id"]);
    assert!(!id.is_empty());
    let csv = oms.ok(&["dlq", "ls", "--output", "csv"]).stdout;
    assert_eq!(
        csv,
        format!("message_id,receives,body\n{id},{MAX_RECEIVES},not json\n"),
        "CSV: a header and one row"
    );
    let table = oms.ok(&["dlq", "ls"]).stdout;
    assert!(
        table.contains("not json") && table.contains(&id),
        "table:\n{table}"
    );
    assert_eq!(
        oms.queue_depth(),
        depth(0, 0, 1),
        "listing leaves it in place"
    );

    // Off a terminal, without --yes: refused, nothing moved.
    let refused = oms.run(&["dlq", "redrive"]);
    assert_eq!(
        refused.code, 2,
        "`dlq redrive` off a terminal without --yes is a usage error\nstdout: {}\nstderr: {}",
        refused.stdout, refused.stderr
    );
    assert!(
        refused.stderr.contains("--yes"),
        "the refusal names --yes: {}",
        refused.stderr
    );
    assert!(refused.stdout.trim().is_empty(), "{}", refused.stdout);
    assert_eq!(oms.queue_depth(), depth(0, 0, 1), "nothing moved");

    // Redriven: back in the queue with its receive count reset.
    let moved = oms.ok(&["dlq", "redrive", "--yes"]);
    assert_eq!(moved.stdout.trim(), "1", "redrive prints how many moved");
    assert_eq!(oms.queue_depth(), depth(1, 0, 0));
    assert!(dead_letters(&oms, &[]).is_empty());

    // It gets all its receives again before it is dead-lettered again.
    drain_poison(&oms, 1);
    assert_eq!(bodies(&dead_letters(&oms, &[])), ["not json"]);

    // Purge: refused off a terminal without --yes, then done with it.
    let refused = oms.run(&["dlq", "purge"]);
    assert_eq!(
        refused.code, 2,
        "`dlq purge` off a terminal without --yes is a usage error\nstdout: {}\nstderr: {}",
        refused.stdout, refused.stderr
    );
    assert!(refused.stdout.trim().is_empty(), "{}", refused.stdout);
    assert_eq!(oms.queue_depth(), depth(0, 0, 1), "nothing deleted");
    let purged = oms.ok(&["dlq", "purge", "--yes"]);
    assert_eq!(
        purged.stdout.trim(),
        "1",
        "purge prints how many were deleted"
    );
    assert!(dead_letters(&oms, &[]).is_empty());
    assert_eq!(
        oms.ok(&["dlq", "ls", "--output", "csv"]).stdout,
        "message_id,receives,body\n"
    );
    assert_eq!(oms.queue_depth(), depth(0, 0, 0));

    // On an empty dead-letter queue both succeed and change nothing.
    for args in [["dlq", "redrive", "--yes"], ["dlq", "purge", "--yes"]] {
        let r = oms.ok(&args);
        assert!(
            matches!(r.stdout.trim(), "" | "0"),
            "`{}` on an empty dead-letter queue printed {:?}",
            r.what,
            r.stdout
        );
    }
    assert_eq!(oms.queue_depth(), depth(0, 0, 0));
    let (r, _) = drain(&oms);
    assert_eq!(r.code, 0, "nothing left to drain\nstderr: {}", r.stderr);
}

/// Poison messages do not hold up good jobs; `dlq ls` lists the poison only, oldest
/// first, up to `--limit`, with bodies exact in JSON and CSV; purge counts them all.
#[test]
fn only_the_poison_is_dead_lettered_and_listed_oldest_first() {
    let oms = machine();
    oms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let poison = [
        "first poison",
        r#"second, "quoted" poison"#,
        "third ü poison",
    ];
    oms.enqueue(poison[0]);
    let job_id = oms.submit("storage/orders.csv");
    oms.enqueue(poison[1]);
    oms.enqueue(poison[2]);

    let (r, totals) = drain(&oms);
    assert_eq!(r.code, 5, "partial: poison left\nstderr: {}", r.stderr);
    assert_eq!(n(&totals["jobs_done"]), 1, "{totals}");
    assert_eq!(oms.job(&job_id)["state"], "done");
    assert_eq!(oms.orders().len(), 6, "the good file's orders are stored");
    assert_eq!(oms.queue_depth(), depth(0, 0, 3));

    let all = dead_letters(&oms, &[]);
    assert_eq!(bodies(&all), poison, "oldest first, bodies exact");
    assert!(all.iter().all(|d| d["receive_count"] == MAX_RECEIVES));
    let two = dead_letters(&oms, &["--limit", "2"]);
    assert_eq!(bodies(&two), &poison[..2], "--limit 2: the two oldest");

    let csv_text = oms.ok(&["dlq", "ls", "--output", "csv"]).stdout;
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        reader.headers().expect("a CSV header"),
        vec!["message_id", "receives", "body"]
    );
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("CSV rows");
    let csv_bodies: Vec<&str> = rows.iter().map(|r| &r[2]).collect();
    assert_eq!(
        csv_bodies, poison,
        "CSV quotes bodies with commas and quotes"
    );
    for (row, d) in rows.iter().zip(&all) {
        assert_eq!(row[0], s(&d["id"]));
        assert_eq!(row[1], MAX_RECEIVES.to_string());
    }

    let purged = oms.ok(&["dlq", "purge", "--yes"]);
    assert_eq!(purged.stdout.trim(), "3");
    assert!(dead_letters(&oms, &[]).is_empty());
    assert_eq!(oms.queue_depth(), depth(0, 0, 0));
    assert_eq!(
        oms.orders().len(),
        6,
        "purging dead letters touches no order"
    );
}
