//! Order files in AWS S3 (aws-sdk-s3): the order-file port ([`OrderFiles`]) on
//! objects `s3://bucket/key` under the allowed prefixes, and uploads ([`FileUpload`])
//! of local files to a content-addressed key under the upload prefix.
//!
//! - Locations: only `s3://bucket/key` under one of the allowed prefixes (and the
//!   upload prefix, whose objects are oms's own) are accepted; anything else is
//!   `Refused` naming the rule, before any call to S3.
//! - `check`: HEAD (missing -> `Refused`), not empty, the header row by a ranged GET of
//!   the first bytes (more, up to a bit over one row's cap, when the header is longer),
//!   the SHA-256 from S3's own full-object SHA-256 checksum or a `sha256` metadata entry
//!   oms wrote when uploading (ingest hashes what it reads and compares, so a wrong
//!   entry fails the job, never passes other bytes), else by streaming the object. The
//!   version is the version id when the bucket keeps versions, else the ETag; every
//!   read after the HEAD asks for exactly that version (`versionId` / `If-Match`).
//! - `open`: a blocking reader fed through a bounded channel by a task that streams
//!   the object; a transient failure midway resumes with a ranged GET of the same
//!   version from the offset reached (with backoff, a bounded number of tries), then
//!   gives up with `io::Error::other(FileError::Unavailable(..))`.
//! - `upload`: `<upload prefix><sha256>.csv`, skipped when an object of the same size
//!   and SHA-256 is there; one PutObject (with its SHA-256 checksum, which S3 verifies)
//!   up to 8 MiB, a multipart upload of 8 MiB parts above (each part retried, the upload
//!   aborted on failure); the bytes are hashed again as they are sent, so a file that
//!   changed since its check is not uploaded under the wrong name.
//!
//! No SDK type crosses the port: errors become [`FileError`], with an [`S3Fault`]
//! behind each telling its [`FaultKind`] by type.
//!
//! The files of this folder, by concern: `location` (parsing and the allowed-prefix
//! rule), `setup` (the client and the settings), `errors` (sorting SDK errors),
//! `check` (the submit checks), `reader` (the streaming reader), `upload`, `probe`
//! (what `oms doctor` asks).

mod check;
mod errors;
mod location;
mod probe;
mod reader;
mod setup;
mod upload;

pub use errors::{FaultKind, S3Fault};
pub use location::{ObjectUri, Prefix, is_s3, parse_object, parse_prefix};
pub use probe::{Listed, ProbeFailure, S3Probe, Writable};
pub use upload::PART_BYTES;

use crate::ports::{CheckedFile, FileError, FileProgress, FileUpload, OpenedFile, OrderFiles};
use async_trait::async_trait;
use aws_sdk_s3::Client;
use std::path::Path;
use std::sync::Arc;

/// Where order files may be read from and uploaded to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3Settings {
    /// Endpoint override (emulators such as moto); `None`: the AWS chain's
    /// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`) or AWS itself.
    pub endpoint: Option<String>,
    /// The allowed prefixes, each `s3://bucket/prefix/` or `s3://bucket/`.
    pub allow: Vec<String>,
    /// Where `oms submit` uploads local files: `s3://bucket/prefix/`.
    pub upload: Option<String>,
    /// Path-style addressing (`endpoint/bucket/key`) even without an endpoint
    /// override (with one it is always used: emulators need it).
    pub force_path_style: bool,
}

/// The S3 adapter of the order-file port. Clones share one client.
#[derive(Debug, Clone)]
pub struct S3Files {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    allowed: Vec<Prefix>,
    upload: Option<Prefix>,
    /// The endpoint in force, `None` for AWS.
    endpoint: Option<String>,
    region: String,
}

impl S3Files {
    /// The allowed prefixes, the upload prefix among them.
    fn places(&self) -> Vec<Prefix> {
        let mut all = self.inner.allowed.clone();
        if let Some(u) = &self.inner.upload
            && !all.contains(u)
        {
            all.push(u.clone());
        }
        all
    }

    /// `location` parsed, when it lies under an allowed prefix.
    fn allowed(&self, location: &str) -> Result<ObjectUri, FileError> {
        location::allowed_object(location, &self.places())
    }

    /// The endpoint in force (`None`: AWS itself).
    #[must_use]
    pub fn endpoint(&self) -> Option<&str> {
        self.inner.endpoint.as_deref()
    }

    /// The region in force.
    #[must_use]
    pub fn region(&self) -> &str {
        &self.inner.region
    }
}

#[async_trait]
impl OrderFiles for S3Files {
    async fn check(
        &self,
        location: &str,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        let object = self.allowed(location)?;
        self.check_object(&object, progress).await
    }

    async fn open(&self, location: &str, version: Option<&str>) -> Result<OpenedFile, FileError> {
        let object = self.allowed(location)?;
        self.open_object(object, version).await
    }
}

#[async_trait]
impl FileUpload for S3Files {
    async fn upload(
        &self,
        path: &Path,
        checked: &CheckedFile,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        self.upload_file(path, checked, progress).await
    }
}
