//! The order-file source on this machine's disk: the storage root (`--storage-root`,
//! `OMS_STORAGE_ROOT`), as an [`OrderFiles`] adapter. A location is a path inside the
//! root; it is named in queue messages as the configured root joined with the file's
//! place inside it (`storage/orders.csv`). Local files have no versions: the SHA-256
//! that the message carries is what ties a job to its bytes.
//!
//! - [`root`]: the storage root's rules ([`StorageRoot`], [`PathError`]).
//! - [`hashing`]: the SHA-256 of a file read once, with progress.

pub mod hashing;
pub mod root;

pub use root::{PathError, StorageRoot};

use crate::domain::check_header;
use crate::ports::{CheckedFile, Detail, FileError, FileProgress, OpenedFile, OrderFiles};
use async_trait::async_trait;
use hashing::{HashingReader, Observed};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Order files under a storage root on this machine.
#[derive(Debug, Clone)]
pub struct LocalFiles {
    root: Root,
}

#[derive(Debug, Clone)]
enum Root {
    Open(StorageRoot),
    /// Not there when the source was made: looked for again at each use.
    Later(PathBuf),
}

/// A refused path, as the port says it.
fn refused(e: PathError) -> FileError {
    FileError::Refused(Detail::caused(e.to_string(), e))
}

impl LocalFiles {
    /// The files under `root`, which must be an existing directory.
    ///
    /// # Errors
    /// [`FileError::Refused`] naming `root` when it is not an existing directory.
    pub fn open(root: &Path) -> Result<LocalFiles, FileError> {
        Ok(Self {
            root: Root::Open(StorageRoot::open(root).map_err(refused)?),
        })
    }

    /// The files under `root`, which need not exist yet (a machine that reads only S3
    /// files may have no storage root): until it does, every local path is refused
    /// naming it.
    #[must_use]
    pub fn at(root: &Path) -> LocalFiles {
        Self::open(root).unwrap_or_else(|_| Self {
            root: Root::Later(root.to_owned()),
        })
    }

    fn root(&self) -> Result<StorageRoot, FileError> {
        match &self.root {
            Root::Open(r) => Ok(r.clone()),
            Root::Later(p) => StorageRoot::open(p).map_err(refused),
        }
    }
}

/// Checks the header of the resolved file `path` (named `shown` in messages) and hashes
/// it whole; its SHA-256 and size.
fn hash_checked(
    path: &Path,
    shown: &str,
    progress: Arc<dyn FileProgress>,
) -> Result<(String, u64), FileError> {
    let bad = |e: &dyn std::fmt::Display| FileError::Refused(format!("{shown}: {e}").into());
    let f = File::open(path).map_err(|e| bad(&e))?;
    let total = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut r = HashingReader::new(BufReader::with_capacity(
        1 << 16,
        Observed::new(f, total, progress),
    ));
    check_header(&mut r).map_err(|e| bad(&e))?;
    r.finish().map_err(|e| bad(&e))
}

#[async_trait]
impl OrderFiles for LocalFiles {
    async fn check(
        &self,
        location: &str,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        let root = self.root()?;
        let resolved = root.resolve(location).map_err(refused)?;
        let message_path = root.message_path(&resolved);
        let shown = location.to_owned();
        let (sha256, bytes) =
            tokio::task::spawn_blocking(move || hash_checked(&resolved, &shown, progress))
                .await
                .map_err(|e| FileError::Failed(Detail::caused("the file check stopped", e)))??;
        Ok(CheckedFile {
            location: message_path,
            version: None,
            sha256,
            bytes,
        })
    }

    /// `version` is not looked at: a local file has none (the app compares the SHA-256
    /// it reads with the one submitted).
    async fn open(&self, location: &str, _version: Option<&str>) -> Result<OpenedFile, FileError> {
        let root = self.root()?;
        let path = root.resolve(location).map_err(refused)?;
        let file = File::open(&path).map_err(|e| {
            FileError::Refused(Detail::caused(format!("cannot open the file: {e}"), e))
        })?;
        let bytes = file.metadata().ok().map(|m| m.len());
        Ok(OpenedFile {
            reader: Box::new(file),
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::NoProgress;
    use std::io::Read;

    const HEADER: &str = "order_id,sku_id,quantity,seller_id,hub_id\n";

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    fn check(files: &LocalFiles, location: &str) -> Result<CheckedFile, FileError> {
        block_on(files.check(location, Arc::new(NoProgress)))
    }

    #[test]
    fn a_checked_file_is_named_by_the_configured_root_and_hashed() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("{HEADER}1,15,2,1,1\n");
        std::fs::write(dir.path().join("o.csv"), &text).unwrap();
        let files = LocalFiles::open(dir.path()).unwrap();
        let c = check(&files, "o.csv").unwrap();
        assert_eq!(c.location, dir.path().join("o.csv").display().to_string());
        assert_eq!(c.version, None);
        assert_eq!(c.bytes, text.len() as u64);
        let (sha, _) = HashingReader::new(text.as_bytes()).finish().unwrap();
        assert_eq!(c.sha256, sha);

        let mut opened = block_on(files.open(&c.location, None)).unwrap();
        assert_eq!(opened.bytes, Some(text.len() as u64));
        let mut read = String::new();
        opened.reader.read_to_string(&mut read).unwrap();
        assert_eq!(read, text);
    }

    #[test]
    fn bad_files_are_refused_with_the_rule_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("storage");
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("empty.csv"), "").unwrap();
        std::fs::write(root.join("cols.csv"), "order_id,sku_id\n1,2\n").unwrap();
        std::fs::write(dir.path().join("outside.csv"), HEADER).unwrap();
        let files = LocalFiles::open(&root).unwrap();
        let outside = dir.path().join("outside.csv");
        for (location, want) in [
            ("nope.csv", "nope.csv: no such file"),
            (outside.to_str().unwrap(), "outside the storage root"),
            ("empty.csv", "empty.csv: "),
            ("cols.csv", "quantity"),
        ] {
            match check(&files, location) {
                Err(FileError::Refused(d)) => {
                    assert!(d.text().contains(want), "{location}: {d}");
                }
                other => panic!("{location}: {other:?}"),
            }
        }
        match block_on(files.open("nope.csv", None)) {
            Err(FileError::Refused(d)) => assert_eq!(d.text(), "nope.csv: no such file"),
            other => panic!("{:?}", other.err()),
        }
    }

    #[test]
    fn a_missing_root_is_refused_until_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("later");
        let e = LocalFiles::open(&root).unwrap_err();
        assert!(
            matches!(&e, FileError::Refused(d) if d.text().contains("does not exist")),
            "{e:?}"
        );
        let files = LocalFiles::at(&root);
        assert!(matches!(
            check(&files, "o.csv"),
            Err(FileError::Refused(d)) if d.text().contains("does not exist")
        ));
        std::fs::create_dir(&root).unwrap();
        std::fs::write(root.join("o.csv"), HEADER).unwrap();
        assert_eq!(check(&files, "o.csv").unwrap().bytes, HEADER.len() as u64);
    }
}
