//! The submit checks on an object: present (HEAD), not empty, a header row with the
//! required columns (a ranged GET of the first bytes, not a download), and its SHA-256
//! (S3's own full-object checksum, the `sha256` entry oms's uploads record, or the
//! object streamed through the hash).

use super::S3Files;
use super::errors::{FaultKind, map_err, own};
use super::location::ObjectUri;
use super::reader::{Pin, Source, get, spawn_pump};
use crate::domain::orders_file::{FileError as HeaderError, MAX_ROW_BYTES, check_header};
use crate::ports::{CheckedFile, Detail, FileError, FileProgress};
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::types::{ChecksumMode, ChecksumType};
use base64::Engine as _;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::Arc;

/// The bytes read first for the header row.
const FIRST_RANGE: u64 = 64 * 1024;
/// The most read for the header row: one row's cap and the CSV reader's read-ahead,
/// so that a longer header trips the cap ([`MAX_ROW_BYTES`]) instead of looking cut.
const LAST_RANGE: u64 = MAX_ROW_BYTES + 64 * 1024;
/// The user metadata entry holding the hex SHA-256 of an object oms uploaded.
pub(super) const SHA256_METADATA: &str = "sha256";

/// Lower-case hex of `bytes`.
pub(super) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Whether `text` is a hex SHA-256.
pub(super) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The hex SHA-256 of the whole object, from S3's SHA-256 checksum when it is a
/// full-object one (not a multipart upload's composite checksum of its parts).
pub(super) fn full_object_sha256(
    checksum: Option<&str>,
    kind: Option<&ChecksumType>,
) -> Option<String> {
    if matches!(kind, Some(ChecksumType::Composite)) {
        return None;
    }
    let checksum = checksum?;
    // A composite checksum ends in `-<parts>` (S3 says so where it gives no type).
    if checksum.contains('-') {
        return None;
    }
    let raw = base64::engine::general_purpose::STANDARD
        .decode(checksum)
        .ok()?;
    (raw.len() == 32).then(|| hex(&raw))
}

/// The SHA-256 a HEAD tells without reading the object: S3's full-object checksum, or
/// the `sha256` metadata entry of oms's uploads.
pub(super) fn known_sha256(head: &HeadObjectOutput) -> Option<String> {
    full_object_sha256(head.checksum_sha256(), head.checksum_type()).or_else(|| {
        head.metadata()
            .and_then(|m| m.get(SHA256_METADATA))
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| is_sha256_hex(s))
    })
}

/// The first bytes of a longer object: reading past them sets `cut` and fails, so a
/// header row that does not end within them is told from a wrong one.
struct FirstBytes {
    data: io::Cursor<Vec<u8>>,
    more: bool,
    cut: Rc<Cell<bool>>,
}

impl Read for FirstBytes {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf)?;
        if n == 0 && self.more && !buf.is_empty() {
            self.cut.set(true);
            return Err(io::Error::other(
                "the header row goes on past the bytes read",
            ));
        }
        Ok(n)
    }
}

/// What the header check of the first `data` bytes of an object of `size` says:
/// `Ok(None)` when the header row goes on past them.
fn header_of(data: Vec<u8>, size: u64) -> Result<Option<()>, HeaderError> {
    let more = (data.len() as u64) < size;
    let cut = Rc::new(Cell::new(false));
    let result = check_header(FirstBytes {
        data: io::Cursor::new(data),
        more,
        cut: Rc::clone(&cut),
    });
    match result {
        Ok(_) => Ok(Some(())),
        Err(HeaderError::RowTooLong { line, max }) => Err(HeaderError::RowTooLong { line, max }),
        Err(_) if cut.get() => Ok(None),
        Err(e) => Err(e),
    }
}

impl S3Files {
    /// HEAD of `object` with its checksum; a missing object is `Refused` saying
    /// whether the bucket exists.
    pub(super) async fn head(&self, object: &ObjectUri) -> Result<HeadObjectOutput, FileError> {
        let uri = object.uri();
        match self
            .inner
            .client
            .head_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await
        {
            Ok(head) => Ok(head),
            Err(e) => {
                let e = map_err("HEAD", &uri, e);
                if FaultKind::of(&e) != FaultKind::NoSuchObject {
                    return Err(e);
                }
                // A HEAD's 404 has no body: ask whether the bucket itself is there.
                match self
                    .inner
                    .client
                    .head_bucket()
                    .bucket(&object.bucket)
                    .send()
                    .await
                {
                    Err(b) => {
                        let b = map_err("HEAD", &format!("s3://{}/", object.bucket), b);
                        if matches!(
                            FaultKind::of(&b),
                            FaultKind::NoSuchObject | FaultKind::NoSuchBucket
                        ) {
                            Err(own(
                                FaultKind::NoSuchBucket,
                                format!("{uri}: no such bucket `{}`", object.bucket),
                            ))
                        } else {
                            Err(e)
                        }
                    }
                    Ok(_) => Err(e),
                }
            }
        }
    }

    /// The submit checks on `object` (allowed already).
    pub(super) async fn check_object(
        &self,
        object: &ObjectUri,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        let uri = object.uri();
        let head = self.head(object).await?;
        let size = head
            .content_length
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0);
        if size == 0 {
            return Err(FileError::Refused(Detail::new(format!(
                "{uri}: {}",
                HeaderError::Empty
            ))));
        }
        let pin = Pin::of(head.version_id(), head.e_tag()).ok_or_else(|| {
            own(
                FaultKind::Other,
                format!("S3 HEAD {uri}: S3 gave neither a version id nor an ETag"),
            )
        })?;
        self.check_header(object, &pin, size).await?;
        let sha256 = match known_sha256(&head) {
            Some(sha) => {
                progress.progress(size, size);
                sha
            }
            None => self.hash(object, &pin, size, &*progress).await?,
        };
        Ok(CheckedFile {
            location: uri,
            version: Some(pin.text().to_owned()),
            sha256,
            bytes: size,
        })
    }

    /// The first `n` bytes of exactly `pin`.
    async fn first_bytes(
        &self,
        object: &ObjectUri,
        pin: &Pin,
        n: u64,
    ) -> Result<Vec<u8>, FileError> {
        let uri = object.uri();
        let mut req = self
            .inner
            .client
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .range(format!("bytes=0-{}", n - 1));
        match pin {
            Pin::Version(v) => req = req.version_id(v),
            Pin::ETag(e) => req = req.if_match(e),
        }
        let out = req.send().await.map_err(|e| map_err("GET", &uri, e))?;
        let mut body = out.body;
        let mut data = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                super::errors::body_failed(&uri, super::errors::describe(&e), Some(e.into()))
            })?;
            data.extend_from_slice(&chunk);
            if data.len() as u64 > n {
                // A server that ignores the range: keep what was asked for.
                data.truncate(usize::try_from(n).unwrap_or(usize::MAX));
                break;
            }
        }
        Ok(data)
    }

    /// The header check on the first bytes of the object (more of them when the header
    /// row is longer than the first range).
    async fn check_header(
        &self,
        object: &ObjectUri,
        pin: &Pin,
        size: u64,
    ) -> Result<(), FileError> {
        let refuse =
            |e: HeaderError| FileError::Refused(Detail::new(format!("{}: {e}", object.uri())));
        for range in [FIRST_RANGE, LAST_RANGE] {
            let data = self.first_bytes(object, pin, range.min(size)).await?;
            match header_of(data, size).map_err(refuse)? {
                Some(()) => return Ok(()),
                None => continue,
            }
        }
        Err(refuse(HeaderError::RowTooLong {
            line: 1,
            max: MAX_ROW_BYTES,
        }))
    }

    /// The SHA-256 of exactly `pin`, streamed (resumed after transient failures).
    async fn hash(
        &self,
        object: &ObjectUri,
        pin: &Pin,
        size: u64,
        progress: &dyn FileProgress,
    ) -> Result<String, FileError> {
        let client = self.inner.client.clone();
        let out = get(&client, object, Some(pin), 0).await?;
        let mut rx = spawn_pump(
            Source {
                client,
                object: object.clone(),
                pin: Some(pin.clone()),
                size: Some(size),
            },
            out.body,
        );
        let mut hasher = Sha256::new();
        let mut done = 0u64;
        while let Some(chunk) = rx.recv().await {
            let chunk = chunk?;
            hasher.update(&chunk);
            done += chunk.len() as u64;
            progress.progress(done.min(size), size);
        }
        if done != size {
            return Err(super::errors::body_failed(
                &object.uri(),
                format!("read {done} bytes of {size}"),
                None,
            ));
        }
        Ok(hex(&hasher.finalize()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_full_object_sha256_checksum_is_taken_as_the_hash() {
        // SHA-256 of "abc".
        let b64 = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";
        let hex_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(
            full_object_sha256(Some(b64), None).as_deref(),
            Some(hex_abc)
        );
        assert_eq!(
            full_object_sha256(Some(b64), Some(&ChecksumType::FullObject)).as_deref(),
            Some(hex_abc)
        );
        assert_eq!(
            full_object_sha256(Some(b64), Some(&ChecksumType::Composite)),
            None
        );
        assert_eq!(full_object_sha256(Some(&format!("{b64}-3")), None), None);
        assert_eq!(full_object_sha256(Some("AAAA"), None), None);
        assert_eq!(full_object_sha256(None, None), None);
    }

    #[test]
    fn a_header_cut_by_the_range_asks_for_more_and_a_wrong_one_is_refused() {
        let good = b"order_id,sku_id,quantity,seller_id,hub_id\n1,a,1,1,h\n".to_vec();
        let size = good.len() as u64;
        assert_eq!(header_of(good.clone(), size), Ok(Some(())));
        // Only the first bytes of a longer object, cut inside the header row.
        assert_eq!(header_of(good[..20].to_vec(), size), Ok(None));
        // Cut right after the header row's end: enough.
        assert_eq!(header_of(good[..42].to_vec(), size), Ok(Some(())));
        let bad = b"order_id,sku,quantity,seller_id,hub_id\n".to_vec();
        let n = bad.len() as u64;
        assert_eq!(
            header_of(bad, n + 100),
            Err(HeaderError::MissingColumn("sku_id".into()))
        );
        // The whole object is a header without a line end: complete.
        let only = b"order_id,sku_id,quantity,seller_id,hub_id".to_vec();
        let n = only.len() as u64;
        assert_eq!(header_of(only, n), Ok(Some(())));
    }
}
