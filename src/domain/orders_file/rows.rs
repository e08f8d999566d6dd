//! The records of an order file with the file line each starts on, and the cap on the
//! bytes of one row.

use super::FileError;
use csv::ByteRecord;
use std::io::{self, Read};

/// The longest row (header or data) read, in bytes: 1 MiB. A real row is five short
/// ids and a few extra columns (each id is at most [`super::ids::MAX_ID_LEN`]
/// characters), so anything near this is not an order file; without a cap one line
/// with no newline (or an endless quoted field) would be held in memory whole.
/// A run of empty lines this long counts as one row too (the CSV reader skips empty
/// lines without returning a record).
pub const MAX_ROW_BYTES: u64 = 1 << 20;

/// What the CSV reader reads through: caps the bytes of one row and keeps the last
/// bytes read (to tell how a record ended).
///
/// The cap counts what the CSV reader pulls through since the last complete record and
/// fails the read once that is more than [`MAX_ROW_BYTES`]. The CSV reader reads at most
/// its buffer (8 KiB) at a time, so a record never holds more than `MAX_ROW_BYTES` plus
/// two buffers, and a row of up to `MAX_ROW_BYTES` is always read.
struct Source<R> {
    inner: R,
    since_row: u64,
    tripped: bool,
    /// Bytes read so far.
    total: u64,
    /// The last [`TAIL`] bytes read, `tail[offset % TAIL]`.
    tail: Box<[u8; TAIL]>,
}

/// More than the CSV reader's read-ahead (its 8 KiB buffer).
const TAIL: usize = 1 << 15;

impl<R> Source<R> {
    /// The byte at `offset`, when it is among the last bytes read.
    fn byte_at(&self, offset: u64) -> Option<u8> {
        (offset < self.total && offset + TAIL as u64 >= self.total)
            .then(|| self.tail[(offset % TAIL as u64) as usize])
    }
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.since_row > MAX_ROW_BYTES {
            self.tripped = true;
            return Err(io::Error::other(format!(
                "a row is longer than {MAX_ROW_BYTES} bytes"
            )));
        }
        let n = self.inner.read(buf)?;
        // Keep the last TAIL bytes: copy (the end of) what was read into the ring.
        let skip = n.saturating_sub(TAIL);
        let (mut data, mut at) = (&buf[skip..n], self.total + skip as u64);
        while !data.is_empty() {
            let i = (at % TAIL as u64) as usize;
            let k = data.len().min(TAIL - i);
            self.tail[i..i + k].copy_from_slice(&data[..k]);
            data = &data[k..];
            at += k as u64;
        }
        self.total += n as u64;
        self.since_row += n as u64;
        Ok(n)
    }
}

/// The records of an order file, each with the file line it starts on, no row longer
/// than [`MAX_ROW_BYTES`]. The CSV reader's own record positions are not file lines:
/// it counts a CRLF's `\n` (and any empty lines it skips) into the *next* record's
/// start, so with CRLF line ends every row would be one line early.
pub struct Rows<R> {
    rdr: csv::Reader<Source<R>>,
}

impl<R: Read> Rows<R> {
    /// The rows of `r`, header included.
    pub fn new(r: R) -> Self {
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(Source {
                inner: r,
                since_row: 0,
                tripped: false,
                total: 0,
                tail: Box::new([0; TAIL]),
            });
        Self { rdr }
    }

    /// Reads the next record into `rec`; gives the line it starts on (the first line
    /// of the file is 1), or `None` at the end of the file.
    ///
    /// # Errors
    /// [`FileError::RowTooLong`] past the cap; [`FileError::Csv`] when reading fails.
    pub fn next_record(&mut self, rec: &mut ByteRecord) -> Result<Option<u64>, FileError> {
        let from = self.rdr.position().line();
        match self.rdr.read_byte_record(rec) {
            Ok(false) => Ok(None),
            Ok(true) => {
                self.rdr.get_mut().since_row = 0;
                // Count back from where the record ended: its own line ends (in quoted
                // fields), and its terminator when that was a `\n` (a `\r` is not
                // counted; the `\n` of a CRLF is counted with the next record).
                let end = self.rdr.position();
                let inner = rec.as_slice().iter().filter(|&&b| b == b'\n').count() as u64;
                let by_lf = end
                    .byte()
                    .checked_sub(1)
                    .and_then(|b| self.rdr.get_ref().byte_at(b))
                    == Some(b'\n');
                let line = end.line().saturating_sub(inner + u64::from(by_lf));
                Ok(Some(line.max(from)))
            }
            Err(_) if self.rdr.get_ref().tripped => Err(FileError::RowTooLong {
                line: from,
                max: MAX_ROW_BYTES,
            }),
            Err(e) => Err(FileError::Csv(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_read_whatever_the_read_sizes() {
        let data: Vec<u8> = (0..3 * TAIL + 123).map(|i| (i % 251) as u8).collect();
        for chunk in [1, 7, 8192, TAIL + 5, 5 * TAIL] {
            let mut src = Source {
                inner: &data[..],
                since_row: 0,
                tripped: false,
                total: 0,
                tail: Box::new([0; TAIL]),
            };
            let mut buf = vec![0; chunk];
            while src.read(&mut buf).unwrap() > 0 {
                src.since_row = 0;
            }
            let total = data.len() as u64;
            assert_eq!(src.total, total);
            for off in [total - 1, total - 2, total - TAIL as u64] {
                assert_eq!(src.byte_at(off), Some(data[off as usize]), "chunk {chunk}");
            }
            assert_eq!(src.byte_at(total - TAIL as u64 - 1), None);
            assert_eq!(src.byte_at(total), None);
        }
    }
}
