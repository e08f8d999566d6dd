//! End-to-end tests on real backends only: the built `oms` binary, as separate
//! processes, with its job queue on SQS (moto server), its event bus on Kafka (tansu),
//! its order store on MongoDB (SecantusDB) and its warehouse over HTTP: an
//! `oms wms serve` process on a free loopback port, serving the embedded inventory of a
//! data dir of its own, loaded with `oms inventory load`.
//!
//! Every test uses fresh, uniquely named queue, topic, consumer group and database, so
//! tests never share state. The `oms` processes under test still get an `OMS_DATA_DIR`
//! in the test's temporary directory, and each test checks at the end that it was never
//! created: nothing on all-real backends needs the embedded database.
//!
//! `scripts/services up` starts the services and `eval "$(scripts/services env)"` sets
//! the variables read here (`OMS_SQS_ENDPOINT`, `OMS_KAFKA_BROKERS`, `OMS_MONGODB_URI`,
//! and the `AWS_*` region and credentials). Without them a test is skipped with a note,
//! or fails when `OMS_REQUIRE_SERVICES=1` (CI), so nothing is skipped silently.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

/// One test's world: an operator's machine whose `oms` runs on the real services
/// (names of its own), and the warehouse's machine (its data dir holds the stock that
/// `oms wms serve` serves).
struct Site {
    oms: Oms,
    wms: Oms,
    wms_bind: String,
    wms_proc: Option<Proc>,
    services: RealServices,
    queue: String,
}

impl Site {
    /// `None` when the services are not configured (and not required).
    fn new() -> Option<Self> {
        let services = RealServices::from_env()?;
        let wms_bind = format!("127.0.0.1:{}", free_port());
        let mut oms = Oms::new();
        oms.visibility_secs = 3;
        let queue = services.configure(&mut oms, "e2e", &wms_bind);
        Some(Self {
            oms,
            wms: Oms::new(),
            wms_bind,
            wms_proc: None,
            services,
            queue,
        })
    }

    /// Starts `oms wms serve` on the site's warehouse address and waits until it listens.
    fn start_wms(&mut self) {
        assert!(self.wms_proc.is_none(), "the warehouse runs already");
        self.wms_proc = Some(self.wms.serve_wms(&self.wms_bind));
    }

    /// The warehouse's stock: (hub, sku) -> quantity.
    fn stock(&self) -> Stock {
        self.wms.stock()
    }

    /// A raw SQS client (another program than `oms`) for the same endpoint.
    fn sqs(&self) -> aws_sdk_sqs::Client {
        self.services.aws.sqs_client(&self.services.sqs_endpoint)
    }

    /// The jobs queue and its dead-letter queue: (visible, in flight) of each.
    fn queues(&self) -> ((u64, u64), (u64, u64)) {
        block_on(async {
            let sqs = self.sqs();
            (
                sqs_queue_counts(&sqs, &self.queue).await,
                sqs_queue_counts(&sqs, &format!("{}-dlq", self.queue)).await,
            )
        })
    }

    /// Nothing created the data dir the `oms` processes were given.
    fn assert_data_dir_unused(&self) {
        assert!(
            !self.oms.data.exists(),
            "oms on all-real backends created its embedded data dir {}",
            self.oms.data.display()
        );
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        if let Some(p) = self.wms_proc.take() {
            if thread::panicking() {
                drop(p);
            } else {
                let (status, lines) = p.terminate();
                assert!(
                    status.success(),
                    "the warehouse after SIGTERM: {status:?}\n{}",
                    lines.join("\n")
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------

/// a. The README's flow over the sample files, all on real backends: the same outcome
/// as on the embedded default, and the warehouse's stock exactly what it must be.
#[test]
fn sample_flow_on_real_backends() {
    let Some(mut site) = Site::new() else { return };
    site.wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let initial = site.stock();
    site.start_wms();

    let job_id = site.oms.submit("storage/orders.csv");
    let ingested = site.oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    assert_eq!(n(&ingested["left"]), 0, "{ingested}");
    let fulfilled = site.oms.fulfil_drain();
    assert_eq!(n(&fulfilled["events"]), 6, "{fulfilled}");
    assert_eq!(n(&fulfilled["new_order"]), 3, "{fulfilled}");

    assert_sample_outcome(&site.oms, &job_id);
    let stock = site.stock();
    assert_eq!(stock, sample_stock_after_flow(), "the warehouse's stock");
    for k in [stock_key("2", "15"), stock_key("3", "8")] {
        assert_eq!(
            stock[&k], initial[&k],
            "2004 (one item short) deducted {k:?}"
        );
    }
    assert_eq!(
        site.queues(),
        ((0, 0), (0, 0)),
        "the message is acknowledged"
    );
    site.assert_data_dir_unused();
}

/// b. Two `oms ingest` and two `oms fulfil` processes at once on generated files (one
/// of them submitted three times) and scarce stock: every order stored once, each
/// settled, and the warehouse's stock exactly what the new_order orders took.
#[test]
fn two_ingests_and_two_fulfils_at_once_on_real_backends() {
    let Some(mut site) = Site::new() else { return };
    let w = Workload::new(42, 4, 400);
    let files = w.install_apart(&site.oms, &site.wms);
    site.start_wms();

    let json_logs = |cmd: &str| site.oms.spawn(&["--log-format", "json", cmd]);
    let mut procs = vec![
        ("ingest", json_logs("ingest")),
        ("ingest", json_logs("ingest")),
        ("fulfil", json_logs("fulfil")),
        ("fulfil", json_logs("fulfil")),
    ];
    for (cmd, p) in &mut procs {
        p.wait_for(&format!("{cmd} started"));
    }

    let mut jobs = Vec::new();
    for f in files.iter().chain([&files[0], &files[0]]) {
        jobs.push(site.oms.submit(f));
    }
    let jobs: BTreeSet<String> = jobs.into_iter().collect();
    assert_eq!(jobs.len(), 6, "a job per submit");

    let started = Instant::now();
    // A guard against a hang, not a speed target: on a busy 2-core machine the
    // services and processes of this test have taken 95-130 s for it.
    let deadline = started + Duration::from_secs(300);
    let all_orders = || -> Vec<Value> {
        let v = site
            .oms
            .json(&["orders", "ls", "--limit", "100000", "--output", "json"]);
        v.as_array().expect("a JSON array of orders").clone()
    };
    let mut progress = Vec::new();
    loop {
        for (cmd, p) in &mut procs {
            if let Some(status) = p.exited() {
                panic!(
                    "`oms {cmd}` exited early ({status:?}):\n{}",
                    p.collect().join("\n")
                );
            }
        }
        let orders = all_orders();
        let unsettled = Workload::unsettled(&orders);
        let listed = site.oms.jobs();
        let done = listed.iter().filter(|j| j["state"] == "done").count();
        if orders.len() >= w.orders.len() && unsettled == 0 && done == jobs.len() {
            break;
        }
        progress.push(format!(
            "{:>6.1}s: {} stored, {unsettled} unsettled, {done} jobs done",
            started.elapsed().as_secs_f64(),
            orders.len()
        ));
        if Instant::now() > deadline {
            for (cmd, p) in &mut procs {
                let lines = p.collect();
                let tail = &lines[lines.len().saturating_sub(40)..];
                eprintln!("--- `oms {cmd}` (last lines):\n{}", tail.join("\n"));
            }
            panic!(
                "not settled after {:?}: {} of {} orders stored, {unsettled} unsettled, {done} of {} jobs done\n{}",
                started.elapsed(),
                orders.len(),
                w.orders.len(),
                jobs.len(),
                progress.join("\n")
            );
        }
        // Listing every order is work for the store too: not too often.
        thread::sleep(Duration::from_secs(2));
    }
    eprintln!("settled after {:?}", started.elapsed());

    for (_, p) in &procs {
        p.sigterm();
    }
    let mut fulfil_events = 0;
    for (cmd, p) in procs {
        let (status, lines) = p.stopped();
        assert!(
            status.success(),
            "`oms {cmd}` after SIGTERM: {status:?}\n{}",
            lines.join("\n")
        );
        let stopped = event(&lines, &format!("{cmd} stopped"))
            .unwrap_or_else(|| panic!("`oms {cmd}` logged no stop:\n{}", lines.join("\n")));
        eprintln!("{cmd}: {stopped}");
        if cmd == "fulfil" {
            fulfil_events += n(&stopped["events"]);
        }
    }
    assert!(fulfil_events >= 1600, "{fulfil_events} events fulfilled");

    let (new_order, on_hold) = w.assert_outcome(&all_orders(), &site.stock());
    eprintln!("{new_order} new_order, {on_hold} on_hold");
    assert!(new_order > 0 && on_hold > 0, "{new_order} / {on_hold}");

    let (mut accepted, mut duplicate) = (0, 0);
    for id in &jobs {
        let job = site.oms.job(id);
        assert_eq!(job["state"], "done", "{job}");
        accepted += n(&job["orders_accepted"]);
        duplicate += n(&job["orders_duplicate"]);
    }
    assert_eq!(accepted, 1600, "each order accepted by one job");
    assert_eq!(duplicate, 800, "the two re-submits are duplicates");
    assert_eq!(
        site.queues(),
        ((0, 0), (0, 0)),
        "every message acknowledged"
    );
    site.assert_data_dir_unused();
}

/// c. A message in the original service's format, sent by another SQS client, is
/// processed.
#[test]
fn a_message_from_another_sqs_client_is_ingested() {
    let Some(mut site) = Site::new() else { return };
    site.wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    site.start_wms();
    // Any command on the real backends creates the queue.
    assert_eq!(site.oms.jobs(), Vec::<Value>::new());

    let sent = block_on(async {
        let sqs = site.sqs();
        let url = sqs
            .get_queue_url()
            .queue_name(&site.queue)
            .send()
            .await
            .expect("oms created the queue")
            .queue_url
            .expect("a queue URL");
        sqs.send_message()
            .queue_url(url)
            .message_body(r#"{"sellerID":1,"filePath":"storage/orders.csv"}"#)
            .send()
            .await
            .expect("send a message")
    });
    let message_id = sent.message_id.expect("a message id");

    let ingested = site.oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    let jobs = site.oms.jobs();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    let job_id = s(&jobs[0]["job_id"]);
    assert!(job_id.starts_with("msg-"), "{job_id}");
    assert_eq!(
        job_id,
        format!("msg-{message_id}"),
        "named after the message"
    );
    let job = site.oms.job(&job_id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(job["seller_id"], "1");
    assert_eq!(job["file_path"], "storage/orders.csv", "{job}");
    assert!(job["sha256"].is_null(), "{job}");
    assert_eq!(n(&job["orders_accepted"]), 6, "{job}");
    assert_eq!(n(&job["orders_rejected"]), 6, "{job}");

    let orders = site.oms.orders();
    assert_eq!(orders.len(), 6);
    assert!(
        orders
            .iter()
            .all(|o| s(&o["job_id"]) == job_id && o["status"] == "on_hold")
    );
    assert_eq!(
        site.queues(),
        ((0, 0), (0, 0)),
        "the message is acknowledged"
    );
    site.assert_data_dir_unused();
}

/// d. While the warehouse is down, ingest stores nothing and leaves the message; once
/// it is up, the message is processed completely.
#[test]
fn a_warehouse_outage_leaves_the_message_for_later() {
    let Some(mut site) = Site::new() else { return };
    site.wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    let job_id = site.oms.submit("storage/orders.csv");

    // The warehouse is not started: its address refuses connections. Once the
    // validation has used its tries, the drain gives up by itself (it would otherwise
    // take the message again after the visibility timeout, until the dead-letter
    // queue): unavailable, run it again later.
    let r = site.oms.run(&["--log-format", "json", "ingest", "--drain"]);
    assert_eq!(r.code, 4, "a warehouse outage: unavailable: {r:?}");
    let stopped = r.event("ingest stopped");
    assert_eq!(n(&stopped["jobs_done"]), 0, "{stopped}");
    assert!(n(&stopped["left"]) >= 1, "{stopped}");
    assert_eq!(stopped["gave_up"], true, "{stopped}");

    assert!(site.oms.orders().is_empty(), "nothing stored");
    let job = site.oms.job(&job_id);
    assert_ne!(job["state"], "done", "{job}");
    assert_eq!(n(&job["orders_accepted"]), 0, "{job}");
    let ((visible, in_flight), dlq) = site.queues();
    assert_eq!(visible + in_flight, 1, "the message is still queued");
    assert_eq!(dlq, (0, 0), "nothing dead-lettered");

    site.start_wms();
    let ingested = site.oms.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    assert_eq!(n(&ingested["left"]), 0, "{ingested}");
    let job = site.oms.job(&job_id);
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(n(&job["orders_accepted"]), 6, "{job}");
    assert_eq!(
        site.queues(),
        ((0, 0), (0, 0)),
        "the message is acknowledged"
    );

    site.oms.fulfil_drain();
    assert_sample_outcome(&site.oms, &job_id);
    assert_eq!(site.stock(), sample_stock_after_flow());
    site.assert_data_dir_unused();
}

/// e. `oms serve` on all-real backends: the original request through the API, then
/// ingest and fulfil, then the job, orders, readiness and metrics read over HTTP.
#[test]
fn the_bulkorder_api_runs_on_real_backends() {
    let Some(mut site) = Site::new() else { return };
    site.wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    site.start_wms();
    let bind = format!("127.0.0.1:{}", free_port());
    let mut server = site.oms.spawn(&["serve", "--bind", &bind]);
    server.wait_for("serving the bulkorder API");
    let base = format!("http://{bind}");

    let job_id = block_on(async {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/v1/orders/bulkorder"))
            .body(r#"{"sellerID":1,"filePath":"storage/orders.csv"}"#)
            .send()
            .await
            .expect("POST bulkorder");
        assert_eq!(r.status().as_u16(), 202);
        let v: Value = r.json().await.expect("JSON");
        assert_eq!(v["status"], "queued");
        let bad = http
            .post(format!("{base}/api/v1/orders/bulkorder"))
            .body(r#"{"sellerID":1,"filePath":"/etc/passwd"}"#)
            .send()
            .await
            .expect("POST bulkorder");
        assert_eq!(bad.status().as_u16(), 400, "a path outside the root");
        s(&v["jobId"])
    });
    site.oms.ingest_drain();
    site.oms.fulfil_drain();
    assert_sample_outcome(&site.oms, &job_id);

    block_on(async {
        let http = reqwest::Client::new();
        let get = |path: String| {
            let req = http.get(format!("{base}{path}"));
            async move {
                let r = req.send().await.expect("GET");
                let status = r.status().as_u16();
                (status, r.text().await.expect("body"))
            }
        };
        let (status, body) = get(format!("/api/v1/jobs/{job_id}")).await;
        assert_eq!(status, 200, "{body}");
        let job: Value = serde_json::from_str(&body).expect("JSON");
        assert_eq!(job["state"], "done");
        assert_eq!(n(&job["orders_accepted"]), 6);
        let (status, body) = get("/api/v1/orders?status=on_hold".into()).await;
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).expect("JSON");
        let held: BTreeSet<String> = page["orders"]
            .as_array()
            .expect("orders")
            .iter()
            .map(|o| s(&o["order_id"]))
            .collect();
        assert_eq!(
            held,
            ["2003", "2004", "2005"]
                .map(String::from)
                .into_iter()
                .collect()
        );
        let (status, body) = get("/ready".into()).await;
        assert_eq!(status, 200, "every real backend answers: {body}");
        let (_, metrics) = get("/metrics".into()).await;
        assert!(
            metrics.contains("oms_orders{status=\"new_order\"} 3"),
            "{metrics}"
        );
    });
    let (status, _) = server.terminate();
    assert!(status.success(), "oms serve after SIGTERM: {status:?}");
    site.assert_data_dir_unused();
}
