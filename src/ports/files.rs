//! The order-file port: where the sellers' CSV files are read from. A location is what a
//! bulk-order request's `filePath` says: a path under this machine's storage root, or
//! `s3://bucket/key` under one of the allowed S3 prefixes. The adapters (the storage
//! root on disk, S3) pass one contract suite; the app never opens a file itself.

use super::Detail;
use async_trait::async_trait;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

/// Why an order file cannot be used. `Refused` is bad input (exit 3 / HTTP 400):
/// the location is outside the allowed places, missing, empty, not a regular file or
/// object, or its header is not an order file's. `Changed`: the bytes are no longer
/// the ones submitted (the job fails for good, the reason named). `Unavailable`: the
/// source cannot be reached now (leave the message for redelivery). `Failed`: the
/// source answered with something else.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{0}")]
    Refused(Detail),
    #[error("{0}")]
    Changed(Detail),
    #[error("{0}")]
    Unavailable(Detail),
    #[error("{0}")]
    Failed(Detail),
}

impl FileError {
    /// The [`FileError`] a reader returned from [`OpenedFile::reader`] carries, if any:
    /// a reader reports a source failure as `io::Error::other(FileError::…)`, so that
    /// the caller can tell an outage (`Unavailable`: try the job again later) from a
    /// broken file.
    #[must_use]
    pub fn from_io(e: &std::io::Error) -> Option<&FileError> {
        e.get_ref()
            .and_then(|inner| inner.downcast_ref::<FileError>())
    }
}

/// A file that passed the submit checks, identified down to its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedFile {
    /// How the file is named in the queue message and the job (`storage/orders.csv`,
    /// `s3://bucket/prefix/orders.csv`).
    pub location: String,
    /// The exact version to read: the S3 version id, or the object's ETag (quoted, as S3
    /// gives it) when the bucket keeps no versions; `None` for a local file.
    pub version: Option<String>,
    /// Hex SHA-256 of the whole content.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// A file opened for reading: a blocking reader (read it on a blocking thread) that
/// streams the content with bounded memory and retries transient errors itself.
pub struct OpenedFile {
    pub reader: Box<dyn Read + Send>,
    /// Size in bytes, when the source knows it.
    pub bytes: Option<u64>,
}

/// Told how far a long step (hashing, uploading) got. Called from whatever thread does
/// the work; must be quick.
pub trait FileProgress: Send + Sync {
    /// `done` of `total` bytes.
    fn progress(&self, _done: u64, _total: u64) {}
}

/// A progress observer that wants to know nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl FileProgress for NoProgress {}

/// Where order files are read from.
#[async_trait]
pub trait OrderFiles: Send + Sync {
    /// Checks a submitted location: allowed, present, not empty, a header with the
    /// required columns (read without downloading the whole file where the source
    /// allows it), and the SHA-256 of the content (streamed, or the source's own
    /// SHA-256 checksum when it has one).
    ///
    /// # Errors
    /// [`FileError::Refused`] naming the rule; `Unavailable` / `Failed` from the source.
    async fn check(
        &self,
        location: &str,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError>;

    /// Opens `location` for reading. With `version`, exactly that version is read;
    /// when it is gone or the object changed, [`FileError::Changed`].
    ///
    /// # Errors
    /// `Refused` (outside the allowed places, missing), `Changed`, `Unavailable`,
    /// `Failed`.
    async fn open(&self, location: &str, version: Option<&str>) -> Result<OpenedFile, FileError>;
}

/// Where `oms submit` puts local files when uploads are configured.
#[async_trait]
pub trait FileUpload: Send + Sync {
    /// Puts the local file `path` (already checked: `checked.sha256`) at a
    /// content-addressed location (`<prefix><sha256>.csv`), unless an object with that
    /// content is already there; retries transient failures. Returns the uploaded
    /// file, checked (`location` the URI, `version` the stored version).
    ///
    /// # Errors
    /// `Unavailable` / `Failed` from the destination; `Refused` when `path` cannot be
    /// read.
    async fn upload(
        &self,
        path: &Path,
        checked: &CheckedFile,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError>;
}
