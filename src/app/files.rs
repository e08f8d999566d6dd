//! Order files as the use cases reach them: [`FileSources`], the router that sends each
//! location to the source serving it (`s3://bucket/key` to S3 when S3 is configured,
//! any other location to the storage root on this machine), and [`Tally`], the reader
//! through which a file is counted, hashed and watched for a source failure while it is
//! parsed. The use cases read files through these only.

use crate::ports::{CheckedFile, Detail, FileError, FileProgress, OpenedFile, OrderFiles};
use async_trait::async_trait;
use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::io::{self, Read};
use std::rc::Rc;
use std::sync::Arc;

/// Whether `location` names an S3 object (`s3://bucket/key`).
#[must_use]
pub fn is_s3(location: &str) -> bool {
    location
        .trim_start()
        .get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("s3://"))
}

/// Why an `s3://` location is refused where no S3 source is configured.
#[must_use]
pub fn s3_not_configured(location: &str) -> String {
    format!(
        "{location}: S3 files are not accepted here: no S3 prefix is allowed (set \
         OMS_S3_ALLOW, or [s3] allow in oms.toml, to the s3://bucket/prefix/ list order \
         files may come from)"
    )
}

/// Every order-file source, as one [`OrderFiles`].
#[derive(Clone)]
pub struct FileSources {
    local: Arc<dyn OrderFiles>,
    s3: Option<Arc<dyn OrderFiles>>,
}

impl FileSources {
    /// `local` serves paths; `s3`, when configured, `s3://` locations.
    #[must_use]
    pub fn new(local: Arc<dyn OrderFiles>, s3: Option<Arc<dyn OrderFiles>>) -> Self {
        Self { local, s3 }
    }

    /// Whether a source here serves `location` (false: an `s3://` location without S3).
    #[must_use]
    pub fn serves(&self, location: &str) -> bool {
        !is_s3(location) || self.s3.is_some()
    }

    fn source(&self, location: &str) -> Result<&dyn OrderFiles, FileError> {
        if !is_s3(location) {
            return Ok(self.local.as_ref());
        }
        self.s3
            .as_deref()
            .ok_or_else(|| FileError::Refused(s3_not_configured(location).into()))
    }
}

#[async_trait]
impl OrderFiles for FileSources {
    async fn check(
        &self,
        location: &str,
        progress: Arc<dyn FileProgress>,
    ) -> Result<CheckedFile, FileError> {
        self.source(location)?.check(location, progress).await
    }

    async fn open(&self, location: &str, version: Option<&str>) -> Result<OpenedFile, FileError> {
        self.source(location)?.open(location, version).await
    }
}

/// Reads through to `inner`, counting and hashing the bytes read, and keeping the last
/// read error: a parser that fails on it reports only its text, while the error itself
/// may say that the source is unavailable ([`FileError::from_io`]).
pub struct Tally<R> {
    inner: R,
    hasher: Sha256,
    bytes: Rc<Cell<u64>>,
    error: Option<io::Error>,
}

impl<R: Read> Tally<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: Rc::new(Cell::new(0)),
            error: None,
        }
    }

    /// The count of bytes read so far, readable while the tally is being read.
    pub fn counter(&self) -> Rc<Cell<u64>> {
        Rc::clone(&self.bytes)
    }

    /// Why reading the file failed: the source's own [`FileError`] when the last read
    /// error carries one, otherwise `why` (the file is not usable:
    /// [`FileError::Refused`]).
    pub fn failure(&mut self, why: String) -> FileError {
        let source = self
            .error
            .take()
            .and_then(io::Error::into_inner)
            .and_then(|inner| inner.downcast::<FileError>().ok());
        match source {
            Some(e) => *e,
            None => FileError::Refused(Detail::new(why)),
        }
    }

    /// Reads what is left; the hex SHA-256 of everything read.
    ///
    /// # Errors
    /// As [`Tally::failure`], when the rest cannot be read.
    pub fn finish(mut self) -> Result<String, FileError> {
        if let Err(e) = io::copy(&mut self, &mut io::sink()) {
            return Err(self.failure(format!("cannot read the file: {e}")));
        }
        Ok(self
            .hasher
            .finalize()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect())
    }
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.hasher.update(&buf[..n]);
                self.bytes.set(self.bytes.get() + n as u64);
                Ok(n)
            }
            Err(e) => {
                let told = io::Error::new(e.kind(), e.to_string());
                self.error = Some(e);
                Err(told)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_locations_are_told_by_their_scheme() {
        assert!(is_s3("s3://b/k.csv") && is_s3("S3://b/k") && is_s3(" s3://b/"));
        assert!(!is_s3("storage/s3://x") && !is_s3("s3:/b/k") && !is_s3("s3"));
        let why = s3_not_configured("s3://b/k.csv");
        assert!(why.starts_with("s3://b/k.csv: ") && why.contains("OMS_S3_ALLOW"));
    }

    #[test]
    fn the_tally_hashes_counts_and_keeps_the_source_error() {
        let t = Tally::new(&b"abc"[..]);
        let bytes = t.counter();
        assert_eq!(
            t.finish().unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(bytes.get(), 3);

        struct Down;
        impl Read for Down {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other(FileError::Unavailable(
                    "S3 is down".into(),
                )))
            }
        }
        let mut t = Tally::new(Down);
        let told = t.read(&mut [0; 4]).unwrap_err();
        assert!(
            FileError::from_io(&told).is_none(),
            "a copy without the cause"
        );
        assert!(told.to_string().contains("S3 is down"));
        assert!(matches!(t.failure("x".into()), FileError::Unavailable(_)));
        assert!(
            matches!(Tally::new(Down).finish(), Err(FileError::Unavailable(d)) if d.text() == "S3 is down")
        );
        let mut plain = Tally::new(&b""[..]);
        assert!(
            matches!(plain.failure("bad row".into()), FileError::Refused(d) if d.text() == "bad row")
        );
    }
}
