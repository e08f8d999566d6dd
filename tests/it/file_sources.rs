//! Order files through the file port, at the level of the use cases: `submit` uploading a
//! local file when an uploader is configured (the job records the seller's name and the
//! URI, the message the URI, version and checksum), `ingest` reading exactly the queued
//! version, failing the job for a changed or refused object and leaving the message for
//! redelivery while the source is unavailable (at open or in the middle of the file), and
//! `jobs rejects` showing an S3 file's own columns. The S3 side is a small in-memory
//! stand-in for the S3 adapter ([`FakeS3`]); the queue, store, bus and warehouse are the
//! embedded adapters on an [`Oms`] machine's data dir, so the built `oms` reads back what
//! the use cases wrote. Also the command line's refusal of bad S3 settings.

use crate::adapters::embedded::load_stock;
use crate::support::{Oms, s};
use async_trait::async_trait;
use oms::adapters::embedded::{
    BusSettings, Db, EmbeddedBus, EmbeddedQueue, EmbeddedStore, EmbeddedWarehouse, QueueSettings,
};
use oms::adapters::local::LocalFiles;
use oms::app::files::FileSources;
use oms::app::ingest::{IngestObserver, IngestOptions, IngestTotals};
use oms::app::{Backends, Shutdown, ShutdownTrigger};
use oms::domain::{JobState, SellerId};
use oms::ports::{CheckedFile, FileError, FileProgress, FileUpload, OpenedFile, OrderFiles};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const HEADER: &str = "order_id,sku_id,quantity,seller_id,hub_id\n";

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How the stand-in S3 answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Up,
    /// Every call: unavailable.
    Down,
    /// Opens, then fails as unavailable after the first bytes of the object.
    DownMidFile,
}

/// An in-memory S3: objects by URI, each with its current version; the uploads it was
/// asked for.
struct FakeS3 {
    mode: Mutex<Mode>,
    objects: Mutex<HashMap<String, (String, Vec<u8>)>>,
    uploaded_from: Mutex<Vec<PathBuf>>,
}

impl FakeS3 {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            mode: Mutex::new(Mode::Up),
            objects: Mutex::default(),
            uploaded_from: Mutex::default(),
        })
    }

    fn put(&self, uri: &str, version: &str, bytes: &[u8]) {
        self.objects
            .lock()
            .unwrap()
            .insert(uri.to_owned(), (version.to_owned(), bytes.to_vec()));
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn mode(&self) -> Mode {
        *self.mode.lock().unwrap()
    }
}

fn down() -> FileError {
    FileError::Unavailable("S3 (127.0.0.1:1): connection refused".into())
}

/// Gives `head`, then fails as the S3 reader does when S3 goes away mid-object.
struct BreaksAfter {
    head: io::Cursor<Vec<u8>>,
}

impl Read for BreaksAfter {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.head.read(buf)? {
            0 => Err(io::Error::other(down())),
            n => Ok(n),
        }
    }
}

#[async_trait]
impl OrderFiles for FakeS3 {
    async fn check(
        &self,
        location: &str,
        _progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        if self.mode() == Mode::Down {
            return Err(down());
        }
        let objects = self.objects.lock().unwrap();
        let (version, bytes) = objects
            .get(location)
            .ok_or_else(|| FileError::Refused(format!("{location}: no such object").into()))?;
        Ok(CheckedFile {
            location: location.to_owned(),
            version: Some(version.clone()),
            sha256: sha256(bytes),
            bytes: bytes.len() as u64,
        })
    }

    async fn open(&self, location: &str, version: Option<&str>) -> Result<OpenedFile, FileError> {
        if !location.starts_with("s3://orders/") {
            return Err(FileError::Refused(
                format!("{location}: outside the allowed S3 prefixes").into(),
            ));
        }
        if self.mode() == Mode::Down {
            return Err(down());
        }
        let objects = self.objects.lock().unwrap();
        let (current, bytes) = objects
            .get(location)
            .ok_or_else(|| FileError::Refused(format!("{location}: no such object").into()))?;
        if let Some(want) = version
            && want != current
        {
            return Err(FileError::Changed(
                format!(
                    "{location}: version {want} is gone (the object changed since it was submitted)"
                )
                .into(),
            ));
        }
        let reader: Box<dyn Read + Send> = if self.mode() == Mode::DownMidFile {
            Box::new(BreaksAfter {
                head: io::Cursor::new(bytes[..bytes.len() / 2].to_vec()),
            })
        } else {
            Box::new(io::Cursor::new(bytes.clone()))
        };
        Ok(OpenedFile {
            reader,
            bytes: Some(bytes.len() as u64),
        })
    }
}

#[async_trait]
impl FileUpload for FakeS3 {
    async fn upload(
        &self,
        path: &Path,
        checked: &CheckedFile,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        let bytes = std::fs::read(path)
            .map_err(|e| FileError::Refused(format!("{}: {e}", path.display()).into()))?;
        assert_eq!(
            sha256(&bytes),
            checked.sha256,
            "the checked file is uploaded"
        );
        let uri = format!("s3://orders/up/{}.csv", checked.sha256);
        self.put(&uri, "v1", &bytes);
        self.uploaded_from.lock().unwrap().push(path.to_owned());
        progress.progress(bytes.len() as u64, bytes.len() as u64);
        Ok(CheckedFile {
            location: uri,
            version: Some("v1".into()),
            sha256: checked.sha256.clone(),
            bytes: bytes.len() as u64,
        })
    }
}

/// The embedded backends of `oms`'s data dir, with the storage root and `s3` (as the file
/// source of `s3://` locations, and as the uploader when `upload`).
async fn backends(oms: &Oms, s3: Option<Arc<FakeS3>>, upload: bool) -> Backends {
    let db = Db::open(&oms.data).expect("open the data dir");
    load_stock(
        &EmbeddedWarehouse::new(db.clone()),
        &[("1", "15", 100), ("1", "16", 100)],
    )
    .await;
    let local: Arc<dyn OrderFiles> = Arc::new(LocalFiles::open(&oms.root).expect("the root"));
    let files = FileSources::new(local, s3.clone().map(|s| s as Arc<dyn OrderFiles>));
    Backends {
        queue: Arc::new(EmbeddedQueue::new(
            Db::open(&oms.data).expect("open the data dir"),
            QueueSettings {
                visibility_timeout: Duration::from_secs(1),
                max_receives: 5,
            },
        )),
        bus: Arc::new(EmbeddedBus::new(
            db.clone(),
            BusSettings {
                partitions: 2,
                session_timeout: Duration::from_secs(1),
            },
        )),
        store: Arc::new(EmbeddedStore::new(db.clone())),
        wms: Arc::new(EmbeddedWarehouse::new(db.clone())),
        uow: Arc::new(db),
        files: Arc::new(files),
        upload: s3.filter(|_| upload).map(|s| s as Arc<dyn FileUpload>),
        scratch: Arc::new(oms::adapters::scratch::TempScratch::new(None, 128 << 20)),
    }
}

/// Stops the consumer the first time a message is left for redelivery, and keeps why.
struct StopWhenLeft {
    trigger: Mutex<Option<ShutdownTrigger>>,
    why: Mutex<Vec<String>>,
}

impl IngestObserver for StopWhenLeft {
    fn left_for_redelivery(&self, _job_id: Option<&str>, why: &str) {
        self.why.lock().unwrap().push(why.to_owned());
        if let Some(t) = self.trigger.lock().unwrap().take() {
            t.trigger();
        }
    }
}

/// `ingest --drain` over `b`, stopped at the first message left for redelivery; the
/// totals and why each message was left.
async fn ingest(b: &Backends) -> (IngestTotals, Vec<String>) {
    let (trigger, shutdown) = Shutdown::new();
    let observer = Arc::new(StopWhenLeft {
        trigger: Mutex::new(Some(trigger)),
        why: Mutex::default(),
    });
    let opts = IngestOptions {
        drain: true,
        wait: Duration::from_millis(200),
        visibility: Duration::from_secs(1),
        ..IngestOptions::default()
    };
    let totals = tokio::time::timeout(
        Duration::from_secs(60),
        oms::app::ingest::run(b, opts, shutdown, observer.clone()),
    )
    .await
    .expect("ingest ends")
    .expect("ingest runs");
    let why = observer.why.lock().unwrap().clone();
    (totals, why)
}

fn seller() -> SellerId {
    SellerId::parse("1").unwrap()
}

async fn queued(b: &Backends) -> u64 {
    let d = b.queue.depth().await.expect("depth");
    d.visible + d.in_flight
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_file_is_queued_by_its_uri_and_ingested_from_s3() {
    let oms = Oms::new();
    let text = format!("{HEADER}u1,15,2,1,1\nu2,16,1,1,1\nu3,15,x,1,1\n");
    let local = oms.write("to-upload.csv", &text);
    let s3 = FakeS3::new();
    let b = backends(&oms, Some(s3.clone()), true).await;

    let done = oms::app::submit::submit(&b, &seller(), "to-upload.csv")
        .await
        .expect("submitted");
    let uri = format!("s3://orders/up/{}.csv", sha256(text.as_bytes()));
    assert_eq!(done.file_path, uri);
    assert_eq!(done.version.as_deref(), Some("v1"));
    assert_eq!(done.source_file.as_deref(), Some("to-upload.csv"));
    assert_eq!(done.sha256, sha256(text.as_bytes()));
    assert_eq!(
        *s3.uploaded_from.lock().unwrap(),
        std::slice::from_ref(&local),
        "the checked local file is what was uploaded"
    );

    // The message names the object, its version and its checksum.
    let msg = b
        .queue
        .receive(Duration::from_secs(1))
        .await
        .unwrap()
        .expect("queued");
    let body: serde_json::Value = serde_json::from_str(&msg.body).unwrap();
    assert_eq!(body["filePath"], uri.as_str(), "{body}");
    assert_eq!(body["version"], "v1", "{body}");
    assert_eq!(body["sha256"], done.sha256.as_str(), "{body}");
    b.queue.release(&msg).await.unwrap();

    // Ingest needs nothing of this machine's disk any more.
    std::fs::remove_file(&local).unwrap();
    let (totals, left) = ingest(&b).await;
    assert_eq!(
        (totals.jobs_done, totals.orders_accepted),
        (1, 2),
        "{left:?}"
    );
    assert_eq!(totals.orders_rejected, 1);
    let job = b
        .store
        .get_job(&done.job_id)
        .await
        .unwrap()
        .expect("the job");
    assert_eq!(job.state, JobState::Done);
    assert_eq!(job.file_path, uri);
    assert_eq!(job.source_file.as_deref(), Some("to-upload.csv"));

    // The rejected row with the file's own columns, read back from S3.
    let rejects = oms::app::jobs::rejects(&b, &done.job_id).await.unwrap();
    assert_eq!(
        rejects.header,
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
    assert_eq!(rejects.rows.len(), 1, "{:?}", rejects.rows);
    assert_eq!(rejects.rows[0][..6], ["u3", "15", "x", "1", "1", "4"]);

    // What the operator sees: both names of the file.
    drop(b);
    let shown = oms.json(&["jobs", "show", &done.job_id, "--output", "json"]);
    assert_eq!(s(&shown["file_path"]), uri, "{shown}");
    assert_eq!(shown["source_file"], "to-upload.csv", "{shown}");
    let table = oms.ok(&["jobs", "show", &done.job_id]).stdout;
    assert!(
        table.contains("source_file") && table.contains("to-upload.csv"),
        "{table}"
    );
    // The command line here has no S3 configured: the file cannot be read, so the rejects
    // come without the file's columns.
    let csv = oms.ok(&["jobs", "rejects", &done.job_id]).stdout;
    assert!(
        csv.starts_with("row,order_id,column,reason\n4,u3,quantity,"),
        "{csv}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_uploader_a_local_file_is_queued_as_before() {
    let oms = Oms::new();
    let text = format!("{HEADER}l1,15,2,1,1\n");
    oms.write("local.csv", &text);
    let b = backends(&oms, Some(FakeS3::new()), false).await;
    let done = oms::app::submit::submit(&b, &seller(), "local.csv")
        .await
        .unwrap();
    assert_eq!(
        done.file_path,
        oms.root.join("local.csv").display().to_string()
    );
    assert_eq!((done.version, done.source_file), (None, None));
    let job = b.store.get_job(&done.job_id).await.unwrap().unwrap();
    assert_eq!(job.source_file, None);
    let json = serde_json::to_value(&job).unwrap();
    assert!(json.get("source_file").is_none(), "{json}");
}

/// Sends the message another program (or an earlier submit) would have sent.
async fn send(b: &Backends, body: serde_json::Value) {
    b.queue.send(&body.to_string()).await.expect("send");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_or_refused_object_fails_its_job_for_good() {
    let oms = Oms::new();
    let s3 = FakeS3::new();
    let text = format!("{HEADER}c1,15,2,1,1\n");
    s3.put("s3://orders/in/a.csv", "v2", text.as_bytes());
    let b = backends(&oms, Some(s3), false).await;
    send(
        &b,
        serde_json::json!({"sellerID": 1, "filePath": "s3://orders/in/a.csv",
            "jobId": "changed", "version": "v1", "sha256": sha256(text.as_bytes())}),
    )
    .await;
    send(
        &b,
        serde_json::json!({"sellerID": 1, "filePath": "s3://elsewhere/a.csv", "jobId": "refused"}),
    )
    .await;
    let (totals, left) = ingest(&b).await;
    assert_eq!(totals.jobs_failed, 2, "{left:?}");
    assert_eq!(totals.left_for_redelivery, 0);
    for (id, says) in [
        ("changed", "version v1 is gone"),
        ("refused", "outside the allowed S3 prefixes"),
    ] {
        let job = b.store.get_job(id).await.unwrap().expect("the job");
        assert_eq!(job.state, JobState::Failed, "{id}");
        let error = job.error.unwrap_or_default();
        assert!(error.contains(says), "{id}: {error}");
    }
    assert_eq!(queued(&b).await, 0, "both messages acknowledged");
    assert!(
        b.store
            .list_orders(&crate::support::all_orders())
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unavailable_source_leaves_the_message_for_redelivery() {
    for mode in [Mode::Down, Mode::DownMidFile] {
        let oms = Oms::new();
        let s3 = FakeS3::new();
        let text = format!("{HEADER}{}", "d1,15,2,1,1\n".repeat(1000));
        s3.put("s3://orders/in/d.csv", "v1", text.as_bytes());
        s3.set_mode(mode);
        let b = backends(&oms, Some(s3.clone()), false).await;
        send(
            &b,
            serde_json::json!({"sellerID": 1, "filePath": "s3://orders/in/d.csv",
                "jobId": "down", "version": "v1", "sha256": sha256(text.as_bytes())}),
        )
        .await;
        let (totals, left) = ingest(&b).await;
        assert_eq!(totals.left_for_redelivery, 1, "{mode:?}");
        assert_eq!(totals.jobs_failed + totals.jobs_done, 0, "{mode:?}");
        assert!(
            left[0].contains("connection refused"),
            "{mode:?}: the source's error is told: {left:?}"
        );
        let job = b.store.get_job("down").await.unwrap().expect("the job");
        assert_ne!(job.state, JobState::Failed, "{mode:?}: not failed for good");
        assert_eq!(queued(&b).await, 1, "{mode:?}: the message stays");
        assert!(
            b.store
                .list_orders(&crate::support::all_orders())
                .await
                .unwrap()
                .is_empty()
        );

        // Once S3 is back, the redelivery is processed.
        s3.set_mode(Mode::Up);
        let (totals, left) = ingest(&b).await;
        assert_eq!(
            (totals.jobs_done, totals.orders_accepted),
            (1, 1),
            "{mode:?}: {left:?}"
        );
        let job = b.store.get_job("down").await.unwrap().unwrap();
        assert_eq!(job.state, JobState::Done);
        assert_eq!(queued(&b).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_s3_message_on_a_worker_without_s3_is_left_naming_the_setting() {
    let oms = Oms::new();
    let b = backends(&oms, None, false).await;
    send(
        &b,
        serde_json::json!({"sellerID": 1, "filePath": "s3://orders/in/a.csv", "jobId": "no-s3"}),
    )
    .await;
    let (totals, left) = ingest(&b).await;
    assert_eq!(totals.left_for_redelivery, 1);
    assert!(left[0].contains("OMS_S3_ALLOW"), "{left:?}");
    assert_eq!(
        queued(&b).await,
        1,
        "the message stays for a worker with S3"
    );
    let job = b.store.get_job("no-s3").await.unwrap();
    assert!(
        job.is_none_or(|j| j.state != JobState::Failed),
        "not failed"
    );
}

#[test]
fn bad_s3_settings_exit_3_naming_the_rule() {
    let mut oms = Oms::new();
    oms.set_env("OMS_S3_ALLOW", "s3://orders/in");
    let r = oms.run(&["submit", "storage/orders.csv", "--seller", "1"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stderr.contains("OMS_S3_ALLOW") && r.stderr.contains("must end with /"),
        "{}",
        r.stderr
    );
    let mut oms = Oms::new();
    oms.set_env("OMS_S3_ENDPOINT", "http://127.0.0.1:9");
    let r = oms.run(&["jobs", "ls"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stderr.contains("set OMS_S3_ALLOW"), "{}", r.stderr);
}
