//! Contract fixture for the S3 order-file adapter, on the S3 API at
//! `OMS_TEST_S3_ENDPOINT` (a moto server of its own; region and credentials from the
//! usual AWS variables), plus what only S3 can show: content-addressed uploads (one
//! request, multipart, never twice), reads resumed after the connection drops midway,
//! objects written by another S3 client (boto3) and S3's own SHA-256 checksum used
//! instead of a download, versions that are gone, the doctor's probe.
//!
//! The file suite runs twice: on a bucket without versions (a version is an ETag) and
//! on a versioned bucket. Every fixture uses a fresh, uniquely named bucket.

use crate::contract::files::FilesFixture;
use crate::support::{Aws, free_port, s3_endpoint, services_required};
use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use oms::adapters::s3::{FaultKind, PART_BYTES, S3Files, S3Settings, Writable};
use oms::ports::{CheckedFile, FileError, FileProgress, FileUpload, NoProgress, OrderFiles};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A fresh bucket for one test.
pub struct S3Fixture {
    endpoint: String,
    bucket: String,
    client: aws_sdk_s3::Client,
}

impl S3Fixture {
    /// A fixture on a new bucket without versions; `None` (skipped) when
    /// `OMS_TEST_S3_ENDPOINT` is not set.
    pub async fn start() -> Option<Self> {
        Self::create(false).await
    }

    /// A fixture on a new versioned bucket.
    pub async fn start_versioned() -> Option<Self> {
        Self::create(true).await
    }

    async fn create(versioned: bool) -> Option<Self> {
        let endpoint = s3_endpoint()?;
        let client = Aws::from_env().s3_client(&endpoint);
        let bucket = format!("oms-test-{}", uuid::Uuid::new_v4().simple());
        client
            .create_bucket()
            .bucket(&bucket)
            .send()
            .await
            .expect("create the test bucket");
        if versioned {
            client
                .put_bucket_versioning()
                .bucket(&bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("turn versioning on");
        }
        Some(Self {
            endpoint,
            bucket,
            client,
        })
    }

    /// `s3://<bucket>/<key>`.
    fn uri(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The allowed prefix `in/`, one in a bucket that does not exist, the upload prefix
    /// `up/`, S3 at `endpoint`.
    fn settings_at(&self, endpoint: &str) -> S3Settings {
        S3Settings {
            endpoint: Some(endpoint.to_owned()),
            allow: vec![self.uri("in/"), format!("s3://{}-gone/in/", self.bucket)],
            upload: Some(self.uri("up/")),
            force_path_style: false,
        }
    }

    async fn connect_at(&self, endpoint: &str) -> S3Files {
        S3Files::connect(self.settings_at(endpoint))
            .await
            .expect("connect to S3")
    }

    async fn connect(&self) -> S3Files {
        self.connect_at(&self.endpoint).await
    }

    async fn put(&self, key: &str, bytes: &[u8]) {
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .expect("put an object");
    }

    /// The versions S3 keeps of `key` (one for an object written once).
    async fn versions(&self, key: &str) -> usize {
        self.client
            .list_object_versions()
            .bucket(&self.bucket)
            .prefix(key)
            .send()
            .await
            .expect("list versions")
            .versions()
            .iter()
            .filter(|v| v.key() == Some(key))
            .count()
    }

    /// The keys under `prefix`.
    async fn keys(&self, prefix: &str) -> Vec<String> {
        self.client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .send()
            .await
            .expect("list")
            .contents()
            .iter()
            .filter_map(|o| o.key().map(str::to_owned))
            .collect()
    }
}

#[async_trait]
impl FilesFixture for S3Fixture {
    async fn files(&self) -> Arc<dyn OrderFiles> {
        Arc::new(self.connect().await)
    }

    async fn cut_off(&self) -> Arc<dyn OrderFiles> {
        Arc::new(
            self.connect_at(&format!("http://127.0.0.1:{}", free_port()))
                .await,
        )
    }

    async fn put_file(&self, name: &str, from: &Path) -> String {
        let key = format!("in/{name}");
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&key)
            .body(ByteStream::from_path(from).await.expect("read the file"))
            .send()
            .await
            .expect("put an object");
        self.uri(&key)
    }

    async fn overwrite(&self, location: &str, bytes: &[u8]) {
        let key = location
            .strip_prefix(&self.uri(""))
            .expect("a location of this bucket");
        self.put(key, bytes).await;
    }

    fn missing(&self) -> String {
        self.uri(&format!("in/nothing-{}.csv", uuid::Uuid::new_v4().simple()))
    }

    async fn outside(&self) -> String {
        self.put(
            "out/orders.csv",
            b"order_id,sku_id,quantity,seller_id,hub_id\n1,a,1,1,h\n",
        )
        .await;
        self.uri("out/orders.csv")
    }

    async fn unreadable(&self) -> String {
        format!("s3://{}-gone/in/orders.csv", self.bucket)
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Reads all of `location` (exactly `version`) on a blocking thread.
async fn read_all(
    files: &S3Files,
    location: &str,
    version: Option<&str>,
) -> Result<Vec<u8>, std::io::Error> {
    let mut reader = files.open(location, version).await.expect("open").reader;
    tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map(|_| out)
    })
    .await
    .expect("the reading thread")
}

/// A file of `size` bytes: a header, then rows with distinct numbers.
fn order_file(size: usize) -> Vec<u8> {
    let mut out = b"order_id,sku_id,quantity,seller_id,hub_id\n".to_vec();
    let mut n = 0u64;
    while out.len() < size {
        out.extend_from_slice(format!("o{n},sku-{},1,1,hub-{}\n", n % 97, n % 13).as_bytes());
        n += 1;
    }
    out.truncate(size);
    out
}

/// Counts progress reports and keeps the last.
#[derive(Default)]
struct Progress {
    calls: AtomicU64,
    last: Mutex<(u64, u64)>,
}

impl FileProgress for Progress {
    fn progress(&self, done: u64, total: u64) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        *self.last.lock().unwrap() = (done, total);
    }
}

/// The check of a local file as submit makes it (size and hash).
fn checked_local(bytes: &[u8]) -> CheckedFile {
    CheckedFile {
        location: "storage/orders.csv".into(),
        version: None,
        sha256: sha256_hex(bytes),
        bytes: bytes.len() as u64,
    }
}

/// A file above the part size goes up in parts to `<prefix><sha256>.csv`, reads back
/// whole, and a second upload of the same content uploads nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_file_is_uploaded_in_parts_to_its_content_address_once() {
    let Some(f) = S3Fixture::start_versioned().await else {
        return;
    };
    let bytes = order_file(usize::try_from(PART_BYTES).unwrap() + 300_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, &bytes).unwrap();
    let local = checked_local(&bytes);
    let files = f.connect().await;
    let progress = Arc::new(Progress::default());
    let up = files
        .upload(&path, &local, progress.clone())
        .await
        .expect("upload");
    let key = format!("up/{}.csv", local.sha256);
    assert_eq!(up.location, f.uri(&key));
    assert_eq!(
        (up.sha256.as_str(), up.bytes),
        (local.sha256.as_str(), local.bytes)
    );
    assert!(
        progress.calls.load(Ordering::Relaxed) >= 2,
        "progress per part"
    );
    assert_eq!(*progress.last.lock().unwrap(), (local.bytes, local.bytes));
    let head = f
        .client
        .head_object()
        .bucket(&f.bucket)
        .key(&key)
        .send()
        .await
        .expect("head");
    assert!(
        head.e_tag().is_some_and(|e| e.ends_with("-2\"")),
        "uploaded in two parts: ETag {:?}",
        head.e_tag()
    );
    // Checked later, by anyone: same hash (from the upload's metadata), same bytes.
    let checked = files
        .check(&up.location, Arc::new(NoProgress))
        .await
        .expect("check the uploaded object");
    assert_eq!(checked, up);
    let read = read_all(&files, &up.location, up.version.as_deref())
        .await
        .expect("read");
    assert!(read == bytes, "the object holds the file's bytes");
    // The same content again: nothing is uploaded (no second version).
    let again = files
        .upload(&path, &local, Arc::new(NoProgress))
        .await
        .expect("upload again");
    assert_eq!(again, up);
    assert_eq!(
        f.versions(&key).await,
        1,
        "the second upload must not upload"
    );
}

/// A small file is one PutObject with S3's SHA-256 checksum; a file that changed since
/// its check is refused, not stored under the wrong hash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_file_is_put_with_its_checksum_and_a_changed_one_is_refused() {
    let Some(f) = S3Fixture::start().await else {
        return;
    };
    let bytes = order_file(10_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, &bytes).unwrap();
    let files = f.connect().await;
    let up = files
        .upload(&path, &checked_local(&bytes), Arc::new(NoProgress))
        .await
        .expect("upload");
    let key = format!("up/{}.csv", sha256_hex(&bytes));
    let head = f
        .client
        .head_object()
        .bucket(&f.bucket)
        .key(&key)
        .checksum_mode(aws_sdk_s3::types::ChecksumMode::Enabled)
        .send()
        .await
        .expect("head");
    assert!(
        head.checksum_sha256().is_some(),
        "S3 holds the SHA-256 checksum"
    );
    assert_eq!(up.version.as_deref(), head.e_tag(), "unversioned: the ETag");
    let stale = checked_local(b"order_id,sku_id,quantity,seller_id,hub_id\n");
    let mut same_size = stale.clone();
    same_size.bytes = bytes.len() as u64;
    for wrong in [stale, same_size] {
        match files.upload(&path, &wrong, Arc::new(NoProgress)).await {
            Err(FileError::Refused(d)) => assert!(d.text().contains("changed"), "{d}"),
            other => panic!("expected Refused, got {other:?}"),
        }
    }
    assert_eq!(f.keys("up/").await, vec![key], "nothing else was stored");
    let nowhere = S3Files::connect(S3Settings {
        upload: Some(format!("s3://{}-gone/up/", f.bucket)),
        ..f.settings_at(&f.endpoint)
    })
    .await
    .expect("connect");
    match nowhere
        .upload(&path, &checked_local(&bytes), Arc::new(NoProgress))
        .await
    {
        Err(e @ FileError::Failed(_)) => {
            assert_eq!(FaultKind::of(&e), FaultKind::NoSuchBucket);
            assert!(e.to_string().contains("no such bucket"), "{e}");
        }
        other => panic!("a missing upload bucket is a configuration failure: {other:?}"),
    }
}

/// boto3 puts an object with and one without a SHA-256 checksum: both are checked and
/// read like oms's own; with the checksum, the check reads only the header's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_of_another_client_are_read_and_their_checksum_saves_the_download() {
    let Some(f) = S3Fixture::start().await else {
        return;
    };
    let Some(python) = std::env::var("OMS_TEST_PYTHON")
        .ok()
        .filter(|p| !p.is_empty())
    else {
        assert!(!services_required(), "OMS_TEST_PYTHON is not set");
        eprintln!("skipped: OMS_TEST_PYTHON is not set");
        return;
    };
    let bytes = order_file(3 << 20);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, &bytes).unwrap();
    let script = r"
import boto3, os, sys
s3 = boto3.client('s3', endpoint_url=os.environ['S3_ENDPOINT'])
body = open(sys.argv[1], 'rb').read()
s3.put_object(Bucket=sys.argv[2], Key='in/plain.csv', Body=body)
s3.put_object(Bucket=sys.argv[2], Key='in/summed.csv', Body=body, ChecksumAlgorithm='SHA256')
";
    let out = std::process::Command::new(&python)
        .args(["-c", script])
        .arg(&path)
        .arg(&f.bucket)
        .env("S3_ENDPOINT", &f.endpoint)
        .output()
        .expect("run boto3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let proxy = Proxy::start(&f.endpoint, None);
    let files = f.connect_at(&proxy.url).await;
    for (key, full_read) in [("in/plain.csv", true), ("in/summed.csv", false)] {
        let before = proxy.downstream();
        let progress = Arc::new(Progress::default());
        let checked = files
            .check(&f.uri(key), progress.clone())
            .await
            .expect("check");
        let size = bytes.len() as u64;
        assert_eq!(
            *progress.last.lock().unwrap(),
            (size, size),
            "{key}: progress"
        );
        if full_read {
            assert!(
                progress.calls.load(Ordering::Relaxed) > 1,
                "{key}: the hash's progress is reported as it goes"
            );
        }
        let sent = proxy.downstream() - before;
        assert_eq!(checked.sha256, sha256_hex(&bytes), "{key}");
        assert_eq!(checked.bytes, bytes.len() as u64);
        if full_read {
            assert!(
                sent >= bytes.len() as u64,
                "{key}: hashed by reading it ({sent} bytes)"
            );
        } else {
            assert!(
                sent < 256 * 1024,
                "{key}: S3's checksum must spare the download ({sent} bytes came in)"
            );
        }
        let read = read_all(&files, &checked.location, checked.version.as_deref())
            .await
            .expect("read");
        assert!(read == bytes, "{key}: read back whole");
    }
}

/// A connection that drops midway is resumed from the offset reached (same version):
/// the reader gives every byte once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_cut_midway_resumes_where_it_stopped() {
    let Some(f) = S3Fixture::start().await else {
        return;
    };
    let bytes = order_file(4 << 20);
    f.put("in/orders.csv", &bytes).await;
    let proxy = Proxy::start(
        &f.endpoint,
        Some(Cut {
            after: 1 << 20,
            upstream: false,
            refuse: false,
        }),
    );
    let files = f.connect_at(&proxy.url).await;
    let read = read_all(&files, &f.uri("in/orders.csv"), None)
        .await
        .expect("read through the cut");
    assert!(proxy.cut.load(Ordering::SeqCst), "the connection was cut");
    assert_eq!(read.len(), bytes.len());
    assert!(read == bytes, "every byte once, in order");
}

/// A connection cut while a part goes up: the part is sent again and the upload
/// completes with the file's bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_cut_midway_sends_the_part_again() {
    let Some(f) = S3Fixture::start().await else {
        return;
    };
    let bytes = order_file(usize::try_from(PART_BYTES).unwrap() + 100_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.csv");
    std::fs::write(&path, &bytes).unwrap();
    let proxy = Proxy::start(
        &f.endpoint,
        Some(Cut {
            after: 3 << 20,
            upstream: true,
            refuse: false,
        }),
    );
    let files = f.connect_at(&proxy.url).await;
    let up = files
        .upload(&path, &checked_local(&bytes), Arc::new(NoProgress))
        .await
        .expect("the upload survives a dropped connection");
    assert!(proxy.cut.load(Ordering::SeqCst), "the connection was cut");
    let read = read_all(&f.connect().await, &up.location, up.version.as_deref())
        .await
        .expect("read");
    assert!(read == bytes, "the object holds the file's bytes");
    let pending = f
        .client
        .list_multipart_uploads()
        .bucket(&f.bucket)
        .send()
        .await
        .expect("list multipart uploads");
    assert!(pending.uploads().is_empty(), "no upload left open");
}

/// When S3 stays away after a cut, the reader gives up with `Unavailable`, so the
/// caller leaves the job for later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_gives_up_with_unavailable_when_s3_stays_away() {
    let Some(f) = S3Fixture::start().await else {
        return;
    };
    f.put("in/orders.csv", &order_file(4 << 20)).await;
    let proxy = Proxy::start(
        &f.endpoint,
        Some(Cut {
            after: 1 << 20,
            upstream: false,
            refuse: true,
        }),
    );
    let files = f.connect_at(&proxy.url).await;
    let err = read_all(&files, &f.uri("in/orders.csv"), None)
        .await
        .expect_err("the read must fail");
    match FileError::from_io(&err) {
        Some(FileError::Unavailable(_)) => {}
        other => panic!("expected Unavailable inside the io error, got {other:?} ({err})"),
    }
}

/// A version that is gone (deleted from a versioned bucket) is `Changed`; the check of
/// an unreachable S3 is `Unavailable`, not a refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_version_is_changed_and_no_answer_is_unavailable() {
    let Some(f) = S3Fixture::start_versioned().await else {
        return;
    };
    f.put("in/orders.csv", &order_file(1000)).await;
    let files = f.connect().await;
    let location = f.uri("in/orders.csv");
    let checked = files
        .check(&location, Arc::new(NoProgress))
        .await
        .expect("check");
    let version = checked.version.clone().expect("a version id");
    assert!(
        !version.starts_with('"'),
        "a versioned bucket gives a version id"
    );
    f.client
        .delete_object()
        .bucket(&f.bucket)
        .key("in/orders.csv")
        .version_id(&version)
        .send()
        .await
        .expect("delete the version");
    assert!(matches!(
        files.open(&location, Some(&version)).await,
        Err(FileError::Changed(_))
    ));
    let away = f
        .connect_at(&format!("http://127.0.0.1:{}", free_port()))
        .await;
    let e = away
        .check(&location, Arc::new(NoProgress))
        .await
        .expect_err("nothing answers");
    assert!(matches!(e, FileError::Unavailable(_)), "{e:?}");
    assert_eq!(FaultKind::of(&e), FaultKind::Unreachable);
}

/// The doctor's probe: the allowed prefix is listable, the one in a missing bucket is
/// not (sorted as such), the upload prefix is writable and the test object removed;
/// with nothing at the endpoint, one failed `s3` check with the endpoint's fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_probe_lists_writes_and_sorts_its_failures() {
    let Some(f) = S3Fixture::start().await else {
        return;
    };
    let settings = f.settings_at(&f.endpoint);
    let probe = S3Files::probe(&settings, std::time::Duration::from_secs(5)).await;
    assert_eq!(probe.reach(), Ok(()));
    assert_eq!(probe.allowed.len(), 2);
    assert!(probe.allowed[0].1.is_ok(), "{:?}", probe.allowed[0]);
    let missing = probe.allowed[1].1.as_ref().expect_err("a missing bucket");
    assert_eq!(missing.kind, FaultKind::NoSuchBucket, "{missing:?}");
    assert_eq!(probe.upload.as_ref().map(|u| &u.1), Some(&Writable::Yes));
    assert_eq!(
        f.keys("up/").await,
        Vec::<String>::new(),
        "the test object is gone"
    );
    let checks = oms::doctor::s3::checks(&settings).await;
    let verdicts: Vec<(&str, bool)> = checks.iter().map(|c| (c.name.as_str(), c.ok)).collect();
    assert_eq!(
        verdicts,
        [
            ("s3", true),
            (format!("s3 allow {}", f.uri("in/")).as_str(), true),
            (
                format!("s3 allow s3://{}-gone/in/", f.bucket).as_str(),
                false
            ),
            (format!("s3 upload {}", f.uri("up/")).as_str(), true),
        ]
    );
    assert!(checks[2].fix.as_ref().unwrap().contains("aws s3 mb"));
    let away = f.settings_at(&format!("http://127.0.0.1:{}", free_port()));
    let checks = oms::doctor::s3::checks(&away).await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    assert!(!checks[0].ok);
    assert!(checks[0].fix.as_ref().unwrap().contains("OMS_S3_ENDPOINT"));
}

// ---------------------------------------------------------------------------------------
// A TCP proxy in front of S3 that counts what S3 sends and can cut a connection
// ---------------------------------------------------------------------------------------

/// Where and how [`Proxy`] cuts a connection.
#[derive(Clone, Copy)]
struct Cut {
    /// Cut the first connection to carry more than this many bytes...
    after: u64,
    /// ...sent to S3 (else: sent by S3).
    upstream: bool,
    /// Close every connection after the cut at once.
    refuse: bool,
}

/// Forwards loopback connections to S3, counting the bytes S3 sends; with a [`Cut`],
/// cuts one connection midway (and with `refuse`, closes every later one at once).
struct Proxy {
    url: String,
    sent: Arc<AtomicU64>,
    cut: Arc<AtomicBool>,
}

impl Proxy {
    fn start(endpoint: &str, cut: Option<Cut>) -> Self {
        let upstream = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sent = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (sent2, done2) = (Arc::clone(&sent), Arc::clone(&done));
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if cut.is_some_and(|c| c.refuse) && done2.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let cut_up = cut
                    .filter(|c| c.upstream)
                    .map(|c| (c.after, Arc::clone(&done2)));
                let cut_down = cut
                    .filter(|c| !c.upstream)
                    .map(|c| (c.after, Arc::clone(&done2)));
                std::thread::spawn(move || pipe(c2, s2, None, cut_up));
                let sent = Arc::clone(&sent2);
                std::thread::spawn(move || pipe(server, client, Some(sent), cut_down));
            }
        });
        Self {
            url,
            sent,
            cut: done,
        }
    }

    /// Bytes S3 sent through the proxy so far.
    fn downstream(&self) -> u64 {
        self.sent.load(Ordering::SeqCst)
    }
}

/// Copies `from` to `to`, counting into `counter`; with a cut `(after, done)`, cuts
/// both ends after `after` bytes on this connection if no connection was cut yet.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    counter: Option<Arc<AtomicU64>>,
    cut: Option<(u64, Arc<AtomicBool>)>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut here = 0u64;
    loop {
        let mut n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let mut cut_now = false;
        if let Some((after, done)) = &cut
            && here + n as u64 > *after
            && !done.swap(true, Ordering::SeqCst)
        {
            n = usize::try_from(after - here).unwrap();
            cut_now = true;
        }
        if let Some(counter) = &counter {
            counter.fetch_add(n as u64, Ordering::SeqCst);
        }
        here += n as u64;
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
        if cut_now {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}
