//! Reading a local file once for its submit checks: the SHA-256 of every byte read, and
//! how far the reading got, told to a [`FileProgress`] at a steady pace.

use crate::ports::FileProgress;
use sha2::{Digest, Sha256};
use std::io::{self, Read};
use std::sync::Arc;

/// Bytes between two [`FileProgress::progress`] calls (and one at the end).
pub const REPORT_EVERY: u64 = 1 << 20;

/// A reader that hashes every byte read through it.
pub struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    bytes: u64,
}

impl<R: Read> HashingReader<R> {
    /// Hashes what is read from `inner`.
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    /// Reads what is left, then returns the hex SHA-256 of everything and the size.
    ///
    /// # Errors
    /// An I/O error while reading the rest.
    pub fn finish(mut self) -> io::Result<(String, u64)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((hex(&self.hasher.finalize()), self.bytes))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }
}

/// Lower-case hex of `bytes`.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Tells `progress` how far the reading of a `total`-byte file got: every
/// [`REPORT_EVERY`] bytes and at the end.
pub struct Observed<R> {
    inner: R,
    done: u64,
    total: u64,
    next: u64,
    progress: Arc<dyn FileProgress>,
}

impl<R: Read> Observed<R> {
    pub fn new(inner: R, total: u64, progress: Arc<dyn FileProgress>) -> Self {
        Self {
            inner,
            done: 0,
            total,
            next: REPORT_EVERY,
            progress,
        }
    }
}

impl<R: Read> Read for Observed<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done >= self.next || n == 0 {
            self.next = self.done + REPORT_EVERY;
            self.progress.progress(self.done, self.total.max(self.done));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn hashing_reader_hashes_everything() {
        let r = HashingReader::new(&b"abc"[..]);
        let (h, n) = r.finish().unwrap();
        assert_eq!(n, 3);
        assert_eq!(
            h,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[derive(Default)]
    struct Seen(Mutex<Vec<(u64, u64)>>);

    impl FileProgress for Seen {
        fn progress(&self, done: u64, total: u64) {
            self.0.lock().unwrap().push((done, total));
        }
    }

    #[test]
    fn progress_is_told_every_mebibyte_and_at_the_end() {
        let data = vec![b'x'; (2 * REPORT_EVERY + 10) as usize];
        let seen = Arc::new(Seen::default());
        let r = Observed::new(&data[..], data.len() as u64, seen.clone());
        let (_, n) = HashingReader::new(r).finish().unwrap();
        assert_eq!(n, data.len() as u64);
        let seen = seen.0.lock().unwrap().clone();
        assert!(seen.len() >= 3, "{seen:?}");
        assert_eq!(seen.last(), Some(&(n, n)));
        assert!(seen.windows(2).all(|w| w[0].0 <= w[1].0), "{seen:?}");
    }
}
