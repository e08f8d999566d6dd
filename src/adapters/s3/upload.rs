//! Uploading a local file to `<upload prefix><sha256>.csv`: nothing when an object of
//! the same size and SHA-256 is there already; one PutObject (with its SHA-256 checksum
//! for S3 to verify) up to [`PART_BYTES`]; above, a multipart upload of
//! [`PART_BYTES`] parts, each retried with backoff, aborted when it fails. Every byte
//! sent is hashed again, so a file that changed since its check is refused instead of
//! stored under a name that is not its hash.

use super::S3Files;
use super::check::{SHA256_METADATA, hex, is_sha256_hex, known_sha256};
use super::errors::{FaultKind, S3Fault, map_err, own};
use super::location::ObjectUri;
use super::reader::{MAX_TRIES, Pin, backoff};
use crate::ports::{CheckedFile, Detail, FileError, FileProgress};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart};
use base64::Engine as _;
use bytes::Bytes;
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The size of one part of a multipart upload, and the largest file put in one
/// request.
pub const PART_BYTES: u64 = 8 * 1024 * 1024;

/// Runs `call` until it succeeds, fails for good, or failed transiently
/// [`MAX_TRIES`] times (pausing with backoff in between).
async fn retrying<T, F, Fut>(mut call: F) -> Result<T, FileError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, FileError>>,
{
    let mut tries = 0;
    loop {
        match call().await {
            Ok(v) => return Ok(v),
            Err(e) if FaultKind::of(&e).is_transient() && tries + 1 < MAX_TRIES => {
                tries += 1;
                tracing::warn!(tries, "S3 upload step failed ({e}); trying again");
                tokio::time::sleep(backoff(tries)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// `path` cannot be read: bad input.
fn unreadable(path: &Path, e: &std::io::Error) -> FileError {
    FileError::Refused(Detail::new(format!(
        "{}: cannot be read: {e}",
        path.display()
    )))
}

/// `path` is not what was checked.
fn changed(path: &Path) -> FileError {
    FileError::Refused(Detail::new(format!(
        "{}: the file changed since it was checked; submit it again",
        path.display()
    )))
}

/// An error of the destination: a missing bucket there is a configuration problem
/// (`Failed`), not bad input.
fn at_destination(e: FileError) -> FileError {
    match e {
        FileError::Refused(d)
            if d.find_cause::<S3Fault>()
                .is_some_and(|f| f.kind() == FaultKind::NoSuchBucket) =>
        {
            FileError::Failed(d)
        }
        e => e,
    }
}

/// Reads up to `len` bytes of `path` from `offset` (on a blocking thread).
async fn read_part(path: &Path, offset: u64, len: u64) -> Result<Bytes, FileError> {
    let owned: PathBuf = path.to_owned();
    let read = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<u8>> {
        let mut f = std::fs::File::open(&owned)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        f.take(len).read_to_end(&mut buf)?;
        Ok(buf)
    })
    .await
    .map_err(|e| own(FaultKind::Other, format!("reading {}: {e}", path.display())))?;
    read.map(Bytes::from).map_err(|e| unreadable(path, &e))
}

impl S3Files {
    /// See [`crate::ports::FileUpload::upload`].
    pub(super) async fn upload_file(
        &self,
        path: &Path,
        checked: &CheckedFile,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        let prefix = self.inner.upload.as_ref().ok_or_else(|| {
            own(
                FaultKind::Other,
                "no S3 upload prefix is configured (OMS_S3_UPLOAD, or `upload` in the [s3] \
                 section of oms.toml)"
                    .into(),
            )
        })?;
        let sha = checked.sha256.to_ascii_lowercase();
        if !is_sha256_hex(&sha) {
            return Err(FileError::Refused(Detail::new(format!(
                "{}: `{sha}` is not a SHA-256",
                path.display()
            ))));
        }
        let object = ObjectUri {
            bucket: prefix.bucket.clone(),
            key: format!("{}{sha}.csv", prefix.prefix),
        };
        let uri = object.uri();
        let size = std::fs::metadata(path)
            .map_err(|e| unreadable(path, &e))?
            .len();
        if size != checked.bytes {
            return Err(changed(path));
        }
        match self.head(&object).await.map_err(at_destination) {
            Ok(head) => {
                let same = head.content_length.and_then(|n| u64::try_from(n).ok()) == Some(size)
                    && known_sha256(&head).as_deref() == Some(sha.as_str());
                if let Some(pin) = Pin::of(head.version_id(), head.e_tag()).filter(|_| same) {
                    progress.progress(size, size);
                    return Ok(CheckedFile {
                        location: uri,
                        version: Some(pin.text().to_owned()),
                        sha256: sha,
                        bytes: size,
                    });
                }
            }
            Err(e) if FaultKind::of(&e) == FaultKind::NoSuchObject => {}
            Err(e) => return Err(e),
        }
        let pin = if size <= PART_BYTES {
            self.put_whole(path, &object, &sha, size).await
        } else {
            self.put_parts(path, &object, &sha, size, &*progress).await
        }
        .map_err(at_destination)?;
        progress.progress(size, size);
        Ok(CheckedFile {
            location: uri,
            version: Some(pin.text().to_owned()),
            sha256: sha,
            bytes: size,
        })
    }

    /// One PutObject of the whole file, with its SHA-256 checksum.
    async fn put_whole(
        &self,
        path: &Path,
        object: &ObjectUri,
        sha: &str,
        size: u64,
    ) -> Result<Pin, FileError> {
        let data = read_part(path, 0, size + 1).await?;
        let digest = Sha256::digest(&data);
        if data.len() as u64 != size || hex(&digest) != sha {
            return Err(changed(path));
        }
        let checksum = base64::engine::general_purpose::STANDARD.encode(digest);
        let uri = object.uri();
        let out = retrying(|| {
            let req = self
                .inner
                .client
                .put_object()
                .bucket(&object.bucket)
                .key(&object.key)
                .content_type("text/csv")
                .metadata(SHA256_METADATA, sha)
                .checksum_algorithm(ChecksumAlgorithm::Sha256)
                .checksum_sha256(&checksum)
                .body(ByteStream::from(data.clone()));
            let uri = &uri;
            async move { req.send().await.map_err(|e| map_err("PUT", uri, e)) }
        })
        .await?;
        Pin::of(out.version_id(), out.e_tag()).ok_or_else(|| {
            own(
                FaultKind::Other,
                format!("S3 PUT {uri}: no version id nor ETag"),
            )
        })
    }

    /// A multipart upload of the file in [`PART_BYTES`] parts; aborted on failure.
    async fn put_parts(
        &self,
        path: &Path,
        object: &ObjectUri,
        sha: &str,
        size: u64,
        progress: &dyn FileProgress,
    ) -> Result<Pin, FileError> {
        let uri = object.uri();
        let client = &self.inner.client;
        let created = retrying(|| {
            let req = client
                .create_multipart_upload()
                .bucket(&object.bucket)
                .key(&object.key)
                .content_type("text/csv")
                .metadata(SHA256_METADATA, sha);
            let uri = &uri;
            async move {
                req.send()
                    .await
                    .map_err(|e| map_err("multipart upload", uri, e))
            }
        })
        .await?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        let result = self
            .send_parts(path, object, &upload_id, sha, size, progress)
            .await;
        let parts = match result {
            Ok(parts) => parts,
            Err(e) => {
                let aborted = client
                    .abort_multipart_upload()
                    .bucket(&object.bucket)
                    .key(&object.key)
                    .upload_id(&upload_id)
                    .send()
                    .await;
                if let Err(a) = aborted {
                    tracing::warn!(
                        "could not abort the multipart upload of {uri}: {}",
                        map_err("abort", &uri, a)
                    );
                }
                return Err(e);
            }
        };
        let done = retrying(|| {
            let req = client
                .complete_multipart_upload()
                .bucket(&object.bucket)
                .key(&object.key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts.clone()))
                        .build(),
                );
            let uri = &uri;
            async move {
                req.send()
                    .await
                    .map_err(|e| map_err("multipart completion", uri, e))
            }
        })
        .await?;
        Pin::of(done.version_id(), done.e_tag()).ok_or_else(|| {
            own(
                FaultKind::Other,
                format!("S3 multipart completion {uri}: no version id nor ETag"),
            )
        })
    }

    /// Sends every part, hashing as it goes; refuses a file whose hash is not `sha`.
    async fn send_parts(
        &self,
        path: &Path,
        object: &ObjectUri,
        upload_id: &str,
        sha: &str,
        size: u64,
        progress: &dyn FileProgress,
    ) -> Result<Vec<CompletedPart>, FileError> {
        let uri = object.uri();
        let mut hasher = Sha256::new();
        let mut parts = Vec::new();
        let mut offset = 0u64;
        let mut number = 1i32;
        while offset < size {
            let len = PART_BYTES.min(size - offset);
            let data = read_part(path, offset, len).await?;
            if data.len() as u64 != len {
                return Err(changed(path));
            }
            hasher.update(&data);
            let out = retrying(|| {
                let req = self
                    .inner
                    .client
                    .upload_part()
                    .bucket(&object.bucket)
                    .key(&object.key)
                    .upload_id(upload_id)
                    .part_number(number)
                    .body(ByteStream::from(data.clone()));
                let uri = &uri;
                async move { req.send().await.map_err(|e| map_err("part upload", uri, e)) }
            })
            .await?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .build(),
            );
            offset += len;
            number += 1;
            progress.progress(offset, size);
        }
        if hex(&hasher.finalize()) != sha {
            return Err(changed(path));
        }
        Ok(parts)
    }
}
