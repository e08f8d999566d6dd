//! End-to-end tests with the order files in S3 (a moto server of its own,
//! `OMS_TEST_S3_ENDPOINT`) and every other port real too: SQS, Kafka, MongoDB and an
//! `oms wms serve` over HTTP. Machines share no disk: each `oms` runs in a directory of
//! its own, with its own (empty) storage root and data dir; only the services are
//! common. Objects are also written by another S3 client (boto3) and messages sent by
//! another SQS client, as other programs of a deployment would.

use crate::support::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fs;
use std::thread;
use std::time::{Duration, Instant};

/// The services, a bucket of the test's own, and the machines' common settings.
struct Cluster {
    services: RealServices,
    s3: Boto3,
    bucket: String,
    /// `OMS_*` and `AWS_*` settings every machine of the cluster gets.
    common: Vec<(String, String)>,
    queue: String,
    wms: Oms,
    wms_bind: String,
    wms_proc: Option<Proc>,
}

impl Cluster {
    /// `None` when the services are not configured (and not required).
    fn new(name: &str) -> Option<Self> {
        let services = RealServices::from_env()?;
        let s3 = Boto3::from_env()?;
        let bucket = format!("oms-{name}-{}", uuid::Uuid::new_v4().simple());
        s3.create_bucket(&bucket);
        let wms_bind = format!("127.0.0.1:{}", free_port());
        let mut template = Oms::new();
        let queue = services.configure(&mut template, name, &wms_bind);
        let mut common = template.env.clone();
        common.extend([
            ("OMS_S3_ENDPOINT".to_owned(), s3.endpoint.clone()),
            ("OMS_S3_ALLOW".to_owned(), format!("s3://{bucket}/in/")),
        ]);
        Some(Self {
            services,
            s3,
            bucket,
            common,
            queue,
            wms: Oms::new(),
            wms_bind,
            wms_proc: None,
        })
    }

    /// A machine of the cluster: a directory of its own whose storage root holds no
    /// order file.
    fn machine(&self) -> Oms {
        let mut m = Oms::new();
        for f in fs::read_dir(&m.root).expect("the storage root") {
            fs::remove_file(f.expect("an entry").path()).expect("empty the storage root");
        }
        m.visibility_secs = 3;
        for (k, v) in &self.common {
            m.set_env(k, v.clone());
        }
        m
    }

    /// A submitter: a machine that uploads local files to `s3://bucket/in/`.
    fn submitter(&self) -> Oms {
        let mut m = self.machine();
        m.set_env("OMS_S3_UPLOAD", format!("s3://{}/in/", self.bucket));
        m
    }

    /// A [`Cluster::submitter`] with the sample orders file at `storage/orders.csv`.
    fn submitter_with_sample(&self) -> Oms {
        let m = self.submitter();
        fs::copy(
            concat!(env!("CARGO_MANIFEST_DIR"), "/storage/orders.csv"),
            m.root.join("orders.csv"),
        )
        .expect("the sample file");
        m
    }

    fn start_wms(&mut self) {
        self.wms_proc = Some(self.wms.serve_wms(&self.wms_bind));
    }

    /// (visible, in flight) of the jobs queue.
    fn queue_counts(&self) -> (u64, u64) {
        block_on(self.queue_counts_now())
    }

    /// [`Cluster::queue_counts`] from async code.
    async fn queue_counts_now(&self) -> (u64, u64) {
        let sqs = self.services.aws.sqs_client(&self.services.sqs_endpoint);
        sqs_queue_counts(&sqs, &self.queue).await
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(p) = self.wms_proc.take() {
            drop(p);
        }
    }
}

/// No file was written under the machine's storage root and no data dir was created.
fn assert_no_local_state(m: &Oms, who: &str) {
    let files: Vec<_> = fs::read_dir(&m.root)
        .expect("the storage root")
        .map(|e| e.expect("an entry").path())
        .collect();
    assert!(files.is_empty(), "{who} wrote order files: {files:?}");
    assert!(
        !m.data.exists(),
        "{who} created its embedded data dir {}",
        m.data.display()
    );
}

/// Files uploaded at submit from one machine are ingested by two workers on two other
/// machines (empty storage roots, separate data dirs: nothing on disk in common) and
/// fulfilled: every order stored exactly once and settled, the same file submitted
/// again is one object in S3 and its orders duplicates.
#[test]
fn uploaded_files_are_ingested_by_workers_that_share_no_disk() {
    let Some(mut c) = Cluster::new("s3e2e") else {
        return;
    };
    let submitter = c.submitter();
    let workers = [c.machine(), c.machine()];
    let w = Workload::new(7, 3, 150);
    let files = w.install_apart(&submitter, &c.wms);
    c.start_wms();

    let mut procs = Vec::new();
    for (i, m) in workers.iter().enumerate() {
        for cmd in ["ingest", "fulfil"] {
            let mut p = m.spawn(&["--log-format", "json", cmd]);
            p.wait_for(&format!("{cmd} started"));
            procs.push((format!("worker {i}: {cmd}"), p));
        }
    }

    let mut jobs = Vec::new();
    for f in files.iter().chain([&files[0]]) {
        jobs.push(submitter.submit(f));
    }
    let unique: BTreeSet<&String> = jobs.iter().collect();
    assert_eq!(unique.len(), 4, "a job per submit");

    let keys = c.s3.keys(&c.bucket, "in/");
    assert_eq!(
        keys.len(),
        3,
        "one content-addressed object per distinct file: {keys:?}"
    );
    for k in &keys {
        assert!(
            k.len() == "in/".len() + 64 + ".csv".len() && k.ends_with(".csv"),
            "in/<sha256>.csv: {k}"
        );
    }

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        for (who, p) in &mut procs {
            if let Some(status) = p.exited() {
                panic!(
                    "{who} exited early ({status:?}):\n{}",
                    p.collect().join("\n")
                );
            }
        }
        let orders = submitter.orders();
        let done = submitter
            .jobs()
            .iter()
            .filter(|j| j["state"] == "done")
            .count();
        if orders.len() >= w.orders.len() && Workload::unsettled(&orders) == 0 && done == 4 {
            break;
        }
        if Instant::now() > deadline {
            for (who, p) in &mut procs {
                let lines = p.collect();
                eprintln!(
                    "--- {who} (last lines):\n{}",
                    lines[lines.len().saturating_sub(30)..].join("\n")
                );
            }
            panic!(
                "not settled: {} of {} orders stored, {done} of 4 jobs done: {:?}",
                orders.len(),
                w.orders.len(),
                submitter.jobs()
            );
        }
        thread::sleep(Duration::from_secs(1));
    }
    for (_, p) in &procs {
        p.sigterm();
    }
    for (who, p) in procs {
        let (status, lines) = p.stopped();
        assert!(status.success(), "{who}: {status:?}\n{}", lines.join("\n"));
    }

    let (new_order, on_hold) = w.assert_outcome(&submitter.orders(), &c.wms.stock());
    assert!(new_order > 0 && on_hold > 0, "{new_order} / {on_hold}");
    let (mut accepted, mut duplicate) = (0, 0);
    for (id, file) in jobs.iter().zip(files.iter().chain([&files[0]])) {
        let job = submitter.job(id);
        assert_eq!(job["state"], "done", "{job}");
        let uri = s(&job["file_path"]);
        assert!(
            uri.starts_with(&format!("s3://{}/in/", c.bucket)),
            "the job names the uploaded object: {job}"
        );
        assert_eq!(
            job["source_file"], *file,
            "the job names the file as submitted: {job}"
        );
        accepted += n(&job["orders_accepted"]);
        duplicate += n(&job["orders_duplicate"]);
    }
    assert_eq!(accepted, 450, "each order accepted once");
    assert_eq!(duplicate, 150, "the second submit of a file: duplicates");
    assert_eq!(c.queue_counts(), (0, 0), "every message acknowledged");
    for (i, m) in workers.iter().enumerate() {
        assert_no_local_state(m, &format!("worker {i}"));
    }
}

/// An object another program put in S3 is submitted by its URI and ingested like an
/// uploaded one; a message of another SQS client naming it (the original format, no
/// job id, no checksum) is ingested too; a URI outside the allowed prefixes is refused
/// before anything is queued; an object changed after its submit fails its job with
/// the reason named.
#[test]
fn objects_of_other_clients_by_uri_and_the_rules_on_them() {
    let Some(mut c) = Cluster::new("s3uri") else {
        return;
    };
    c.wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    c.start_wms();
    let op = c.machine();
    let sample = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/storage/orders.csv"))
        .expect("the sample file");
    c.s3.put(&c.bucket, "in/seller-1/orders.csv", &sample);
    let uri = format!("s3://{}/in/seller-1/orders.csv", c.bucket);

    // Outside the allowed prefixes: bad input, nothing queued.
    c.s3.put(&c.bucket, "private/orders.csv", &sample);
    let outside = op.run(&[
        "submit",
        &format!("s3://{}/private/orders.csv", c.bucket),
        "--seller",
        "1",
    ]);
    assert_eq!(outside.code, 3, "{outside:?}");
    assert!(
        outside.stderr.contains("OMS_S3_ALLOW") || outside.stderr.contains("allowed"),
        "the refusal names the rule: {}",
        outside.stderr
    );
    let missing = op.run(&["submit", &format!("{uri}.nope"), "--seller", "1"]);
    assert_eq!(missing.code, 3, "a missing object: {missing:?}");

    let job_id = op.submit(&uri);
    let ingested = op.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    op.fulfil_drain();
    assert_sample_outcome(&op, &job_id);
    assert_eq!(s(&op.job(&job_id)["file_path"]), uri);

    // Another program's message in the original format, naming the object.
    block_on(async {
        let sqs = c.services.aws.sqs_client(&c.services.sqs_endpoint);
        let url = sqs
            .get_queue_url()
            .queue_name(&c.queue)
            .send()
            .await
            .expect("the queue")
            .queue_url
            .expect("a queue URL");
        sqs.send_message()
            .queue_url(url)
            .message_body(format!(r#"{{"sellerID":1,"filePath":"{uri}"}}"#))
            .send()
            .await
            .expect("send");
    });
    let ingested = op.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    let theirs: Vec<Value> = op
        .jobs()
        .into_iter()
        .filter(|j| s(&j["job_id"]).starts_with("msg-"))
        .collect();
    assert_eq!(theirs.len(), 1, "{theirs:?}");
    let theirs = op.job(&s(&theirs[0]["job_id"]));
    assert_eq!(
        (
            n(&theirs["orders_accepted"]),
            n(&theirs["orders_duplicate"])
        ),
        (0, 6),
        "the same orders again: duplicates, nothing twice: {theirs}"
    );

    // Changed between submit and ingest: the job fails, saying why.
    let changed = op.submit(&uri);
    c.s3.put(
        &c.bucket,
        "in/seller-1/orders.csv",
        &format!("{sample}9999,15,1,1,1\n"),
    );
    let drained = op.run(&["ingest", "--drain"]);
    assert_eq!(drained.code, 5, "a failed job: partial: {drained:?}");
    let job = op.job(&changed);
    assert_eq!(job["state"], "failed", "{job}");
    assert!(
        s(&job["error"]).contains("changed"),
        "the reason is named: {job}"
    );
    assert_eq!(
        op.orders().len(),
        6,
        "nothing stored from the changed object"
    );
    assert_eq!(c.queue_counts(), (0, 0), "every message acknowledged");
    assert_no_local_state(&op, "the operator's machine");
}

/// `oms serve` with uploads configured: a local `filePath` is uploaded and its URI
/// queued (the job keeps the name as submitted); an `s3://` one outside the allowed
/// prefixes is a 400 naming the rule, and nothing is queued; an allowed one is taken.
#[tokio::test(flavor = "multi_thread")]
async fn serve_uploads_local_files_and_refuses_objects_outside_the_prefixes() {
    let Some(mut c) = Cluster::new("s3api") else {
        return;
    };
    c.wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    c.start_wms();
    let api = c.submitter_with_sample();
    let sample = fs::read_to_string(api.root.join("orders.csv")).expect("the sample file");
    c.s3.put(&c.bucket, "in/theirs.csv", &sample);
    c.s3.put(&c.bucket, "private/orders.csv", &sample);
    let server = ApiServer::start(&api).await;

    let outside = format!("s3://{}/private/orders.csv", c.bucket);
    server
        .bulkorder(&serde_json::json!({ "sellerID": 1, "filePath": outside }))
        .await
        .error(reqwest::StatusCode::BAD_REQUEST, "allowed");
    assert_eq!(
        c.queue_counts_now().await,
        (0, 0),
        "nothing queued for a refused object"
    );

    let local = server
        .bulkorder(&serde_json::json!({ "sellerID": 1, "filePath": "storage/orders.csv" }))
        .await
        .status(reqwest::StatusCode::ACCEPTED)
        .json();
    let theirs = format!("s3://{}/in/theirs.csv", c.bucket);
    server
        .bulkorder(&serde_json::json!({ "sellerID": "1", "filePath": theirs }))
        .await
        .status(reqwest::StatusCode::ACCEPTED);
    assert_eq!(c.queue_counts_now().await.0, 2, "both queued");

    let worker = c.machine();
    let ingested = worker.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 2, "{ingested}");
    let job = worker.job(&s(&local["jobId"]));
    assert!(
        s(&job["file_path"]).starts_with(&format!("s3://{}/in/", c.bucket)),
        "the uploaded object is what was queued: {job}"
    );
    assert_eq!(job["source_file"], "storage/orders.csv", "{job}");
    assert_eq!(n(&job["orders_accepted"]), 6, "{job}");
    assert_no_local_state(&worker, "the worker");
}

/// S3 unreachable while a drain works: after the reader's own tries the drain gives up
/// with exit 4 (run again later), the message stays queued and the job unfinished;
/// with S3 back the next drain does the job.
#[test]
fn a_drain_gives_up_with_exit_4_while_s3_is_unreachable() {
    let Some(mut c) = Cluster::new("s3down") else {
        return;
    };
    c.wms.ok(&["inventory", "load", "storage/inventory.csv"]);
    c.start_wms();
    let submitter = c.submitter_with_sample();
    let job_id = submitter.submit("storage/orders.csv");

    let mut cut_off = c.machine();
    cut_off.set_env(
        "OMS_S3_ENDPOINT",
        format!("http://127.0.0.1:{}", free_port()),
    );
    let started = Instant::now();
    let r = cut_off.run(&["--log-format", "json", "ingest", "--drain"]);
    assert_eq!(r.code, 4, "S3 unreachable: unavailable: {r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(90),
        "gave up only after {:?}",
        started.elapsed()
    );
    assert_ne!(submitter.job(&job_id)["state"], "done");
    let (visible, in_flight) = c.queue_counts();
    assert_eq!(visible + in_flight, 1, "the message stays queued");

    // The message comes back after its visibility timeout (3 s here).
    let worker = c.machine();
    let ingested = worker.ingest_drain();
    assert_eq!(n(&ingested["jobs_done"]), 1, "{ingested}");
    assert_eq!(worker.job(&job_id)["state"], "done");
}
