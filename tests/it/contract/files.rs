//! The order-file contract: what every source of order files (S3 objects, files under
//! the storage root) must do. A good file is checked down to its bytes (size, SHA-256,
//! header) and read back as it is; a missing one, one outside the allowed places (with
//! nothing read), an empty one, one with a wrong header and one that cannot be read are
//! refused with the reason; a file changed after its check is never read as the
//! checked version; a file with a 64 MB line streams with bounded memory.

use async_trait::async_trait;
use oms::ports::{CheckedFile, FileError, NoProgress, OrderFiles};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

/// Runs a file test on every order-file adapter: one line per adapter (the async fn
/// that starts its fixture).
macro_rules! files_test {
    ($name:ident, $test:expr) => {
        contract_test!($name, $test, {
            local: crate::adapters::local::LocalFixture::start,
            s3: crate::adapters::s3::S3Fixture::start,
            s3_versioned: crate::adapters::s3::S3Fixture::start_versioned,
        });
    };
}

/// One source of order files under test.
#[async_trait]
pub trait FilesFixture: Send + Sync {
    /// A new adapter over the fixture's allowed places.
    async fn files(&self) -> Arc<dyn OrderFiles>;
    /// An adapter over the same allowed places whose backend cannot be reached (the
    /// one of [`FilesFixture::files`] when the backend is this machine's disk): what it
    /// refuses, it refused without reading anything.
    async fn cut_off(&self) -> Arc<dyn OrderFiles>;
    /// Puts the content of the local file `from` at a new allowed location named
    /// `name`; gives the location.
    async fn put_file(&self, name: &str, from: &Path) -> String;
    /// Replaces what is at `location` with `bytes`.
    async fn overwrite(&self, location: &str, bytes: &[u8]);
    /// An allowed location where nothing is.
    fn missing(&self) -> String;
    /// A location outside the allowed places, holding a good order file.
    async fn outside(&self) -> String;
    /// An allowed location that cannot be read (S3: in a bucket that does not exist).
    async fn unreadable(&self) -> String;
}

/// The sample order file.
const ORDERS: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/storage/orders.csv"));

/// Puts `bytes` at a new allowed location.
async fn put(f: &dyn FilesFixture, name: &str, bytes: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).expect("write the file");
    f.put_file(name, &path).await
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// All the bytes `open(location, version)` gives, read on a blocking thread.
async fn read_all(
    files: &dyn OrderFiles,
    location: &str,
    version: Option<&str>,
) -> Result<Vec<u8>, FileError> {
    let opened = files.open(location, version).await?;
    let mut reader = opened.reader;
    let read = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        reader.read_to_end(&mut out).map(|_| out)
    })
    .await
    .expect("the reading thread");
    Ok(
        read.unwrap_or_else(|e| {
            panic!("reading failed midway: {e} ({:?})", FileError::from_io(&e))
        }),
    )
}

fn refused(r: Result<CheckedFile, FileError>, what: &str) -> String {
    match r {
        Err(FileError::Refused(d)) => d.text().to_owned(),
        other => panic!("{what}: expected Refused, got {other:?}"),
    }
}

files_test!(
    a_good_file_is_checked_down_to_its_bytes_and_read_back,
    async |f| {
        let bytes = ORDERS;
        let location = put(f, "orders.csv", bytes).await;
        let files = f.files().await;
        let checked = files
            .check(&location, Arc::new(NoProgress))
            .await
            .expect("check a good file");
        assert_eq!(checked.location, location);
        assert_eq!(
            checked.sha256,
            sha256_hex(bytes),
            "the SHA-256 of the content"
        );
        assert_eq!(checked.bytes, bytes.len() as u64);
        let read = read_all(&*files, &location, checked.version.as_deref())
            .await
            .expect("open the checked version");
        assert_eq!(read, bytes, "the bytes come back as they were put");
        let unpinned = read_all(&*files, &location, None).await.expect("open");
        assert_eq!(unpinned, bytes);
    }
);

files_test!(a_missing_file_is_refused, async |f| {
    let files = f.files().await;
    let missing = f.missing();
    let why = refused(files.check(&missing, Arc::new(NoProgress)).await, "check");
    assert!(why.contains("no such"), "{why}");
    assert!(
        matches!(files.open(&missing, None).await, Err(FileError::Refused(_))),
        "open of a missing file"
    );
});

files_test!(
    a_location_outside_the_allowed_places_is_refused_before_anything_is_read,
    async |f| {
        let outside = f.outside().await;
        for files in [f.files().await, f.cut_off().await] {
            let why = refused(files.check(&outside, Arc::new(NoProgress)).await, "check");
            assert!(why.contains("outside"), "the rule is named: {why}");
            assert!(
                matches!(files.open(&outside, None).await, Err(FileError::Refused(_))),
                "open outside the allowed places"
            );
        }
    }
);

files_test!(an_empty_file_is_refused, async |f| {
    let location = put(f, "empty.csv", b"").await;
    let why = refused(
        f.files().await.check(&location, Arc::new(NoProgress)).await,
        "check",
    );
    assert!(why.contains("empty"), "{why}");
});

files_test!(a_header_only_file_is_accepted_by_the_check, async |f| {
    let header = b"order_id,sku_id,quantity,seller_id,hub_id\n";
    let location = put(f, "header.csv", header).await;
    let files = f.files().await;
    let checked = files
        .check(&location, Arc::new(NoProgress))
        .await
        .expect("a header alone passes the check (zero rows are the parser's business)");
    assert_eq!(checked.bytes, header.len() as u64);
    assert_eq!(checked.sha256, sha256_hex(header));
    let read = read_all(&*files, &location, checked.version.as_deref())
        .await
        .expect("open");
    assert_eq!(read, header);
});

files_test!(
    a_wrong_header_is_refused_naming_the_missing_column,
    async |f| {
        let location = put(
            f,
            "bad.csv",
            b"order_id,sku,quantity,seller_id,hub_id\n1,a,1,1,h\n",
        )
        .await;
        let why = refused(
            f.files().await.check(&location, Arc::new(NoProgress)).await,
            "check",
        );
        assert!(why.contains("sku_id"), "the missing column is named: {why}");
    }
);

files_test!(
    a_header_longer_than_the_first_bytes_read_is_still_checked,
    async |f| {
        let mut bytes = format!(
            "order_id,sku_id,quantity,{},seller_id,hub_id\n",
            "n".repeat(200_000)
        )
        .into_bytes();
        bytes.extend_from_slice(b"1,a,1,x,1,h\n");
        let location = put(f, "wide.csv", &bytes).await;
        let checked = f
            .files()
            .await
            .check(&location, Arc::new(NoProgress))
            .await
            .expect("a 200 KB header with every column passes");
        assert_eq!(checked.sha256, sha256_hex(&bytes));
    }
);

files_test!(
    a_file_changed_after_its_check_is_not_read_as_checked,
    async |f| {
        let before = ORDERS;
        let location = put(f, "orders.csv", before).await;
        let files = f.files().await;
        let checked = files
            .check(&location, Arc::new(NoProgress))
            .await
            .expect("check");
        let after = b"order_id,sku_id,quantity,seller_id,hub_id\n9,z,9,1,h\n";
        f.overwrite(&location, after).await;
        match checked.version.as_deref() {
            Some(version) => match files.open(&location, Some(version)).await {
                Err(FileError::Changed(d)) => {
                    assert!(d.text().contains("changed"), "{d}");
                }
                Ok(_) => {
                    let read = read_all(&*files, &location, Some(version))
                        .await
                        .expect("read the kept version");
                    assert_eq!(read, before, "a kept version is read exactly as checked");
                }
                Err(e) => panic!("open of the checked version: {e:?}"),
            },
            None => {
                // No version to pin: the reader's bytes no longer hash to the checked
                // SHA-256, which is how the caller tells.
                let read = read_all(&*files, &location, None).await.expect("open");
                assert_ne!(sha256_hex(&read), checked.sha256);
            }
        }
    }
);

/// Bytes of a file with a header and one data line of 64 MiB.
const LONG_LINE: u64 = 64 << 20;

/// The resident memory of this process, in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

files_test!(a_64_mb_line_streams_with_bounded_memory, async |f| {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("long.csv");
    let mut hasher = Sha256::new();
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        let header = b"order_id,sku_id,quantity,seller_id,hub_id\n";
        w.write_all(header).expect("write");
        hasher.update(header);
        let block = vec![b'7'; 1 << 20];
        for _ in 0..(LONG_LINE >> 20) {
            w.write_all(&block).expect("write");
            hasher.update(&block);
        }
        w.flush().expect("flush");
    }
    let size = std::fs::metadata(&path).expect("size").len();
    let sha = hex(&hasher.finalize());
    let location = f.put_file("long.csv", &path).await;
    drop(dir);
    let files = f.files().await;
    let checked = files
        .check(&location, Arc::new(NoProgress))
        .await
        .expect("check");
    assert_eq!(
        (checked.bytes, checked.sha256.as_str()),
        (size, sha.as_str())
    );
    let opened = files
        .open(&location, checked.version.as_deref())
        .await
        .expect("open");
    let mut reader = opened.reader;
    let (read, hash, growth) = tokio::task::spawn_blocking(move || {
        let base = rss();
        let mut peak = base;
        let mut buf = vec![0u8; 64 * 1024];
        let (mut read, mut hasher) = (0u64, Sha256::new());
        loop {
            let n = reader.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            read += n as u64;
            if read % (4 << 20) < n as u64 {
                peak = peak.max(rss());
            }
        }
        (read, hex(&hasher.finalize()), peak.saturating_sub(base))
    })
    .await
    .expect("the reading thread");
    eprintln!(
        "read {} MiB through the reader: the process grew by {} KiB",
        read >> 20,
        growth >> 10
    );
    assert_eq!(read, size, "every byte is read");
    assert_eq!(hash, sha);
    assert!(
        growth < 24 << 20,
        "reading a 64 MiB file grew the process by {} MiB: it must stream",
        growth >> 20
    );
});

files_test!(
    a_file_that_cannot_be_read_is_refused_with_a_clear_reason,
    async |f| {
        let location = f.unreadable().await;
        let name = location.rsplit('/').next().unwrap_or(&location).to_owned();
        match f.files().await.check(&location, Arc::new(NoProgress)).await {
            Err(FileError::Refused(d) | FileError::Failed(d)) => {
                assert!(d.text().contains(&name), "the file is named: {d}");
            }
            other => panic!("expected Refused or Failed, got {other:?}"),
        }
    }
);
