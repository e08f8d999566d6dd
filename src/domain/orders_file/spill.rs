//! Where the parser puts what outgrows its memory budget, and how it is written there.
//!
//! The parser knows only [`SpillArea`]: numbered byte streams, each written once and
//! read back. Where they live (temporary files, or memory in tests) is the caller's
//! business; the domain does no I/O of its own.

use super::parser::{Draft, DraftItem};
use crate::domain::ids::{OrderId, Quantity};
use crate::domain::order::Reject;
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};

/// Numbered byte streams, each created (written through) once and then read back, in
/// any order. Dropping the area removes whatever it holds.
pub trait SpillArea: Send {
    /// A new stream numbered `n`, written from its start.
    ///
    /// # Errors
    /// The area cannot hold another stream.
    fn create(&mut self, n: usize) -> io::Result<Box<dyn Write + Send>>;
    /// The stream numbered `n`, from its start (after its writer is dropped).
    ///
    /// # Errors
    /// The stream cannot be read (or was never created).
    fn open(&mut self, n: usize) -> io::Result<Box<dyn Read + Send>>;
}

/// A [`SpillArea`] in memory: for tests, where a tiny budget must take the spill path.
#[derive(Debug, Default)]
pub struct MemorySpill {
    streams: HashMap<usize, Arc<Mutex<Vec<u8>>>>,
}

struct MemWriter(Arc<Mutex<Vec<u8>>>);

impl Write for MemWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl SpillArea for MemorySpill {
    fn create(&mut self, n: usize) -> io::Result<Box<dyn Write + Send>> {
        let s = Arc::new(Mutex::new(Vec::new()));
        self.streams.insert(n, Arc::clone(&s));
        Ok(Box::new(MemWriter(s)))
    }
    fn open(&mut self, n: usize) -> io::Result<Box<dyn Read + Send>> {
        let s = self
            .streams
            .get(&n)
            .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, format!("no stream {n}")))?;
        let bytes = s.lock().map_err(|_| io::Error::other("poisoned"))?.clone();
        Ok(Box::new(io::Cursor::new(bytes)))
    }
}

// ------------------------------------------------------------------------- the codec
// A record is its length (LEB128) and then its fields: numbers as LEB128, text as its
// length and bytes, an optional value as 0 (none) or 1 and the value.

fn put_num(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_num(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
    }
}

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, "a spilled record is damaged")
}

/// Reads the fields of one record.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn num(&mut self) -> io::Result<u64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first().ok_or_else(corrupt)?;
            self.0 = rest;
            n |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(n);
            }
        }
        Err(corrupt())
    }
    fn idx(&mut self) -> io::Result<usize> {
        usize::try_from(self.num()?).map_err(|_| corrupt())
    }
    fn str(&mut self) -> io::Result<&str> {
        let n = self.idx()?;
        if n > self.0.len() {
            return Err(corrupt());
        }
        let (s, rest) = self.0.split_at(n);
        self.0 = rest;
        std::str::from_utf8(s).map_err(|_| corrupt())
    }
    fn opt_str(&mut self) -> io::Result<Option<String>> {
        match self.num()? {
            0 => Ok(None),
            _ => self.str().map(|s| Some(s.to_owned())),
        }
    }
}

/// Appends `d` as one record to `out`.
pub(super) fn encode_draft(out: &mut Vec<u8>, d: &Draft) {
    let mut rec = Vec::with_capacity(64);
    put_str(&mut rec, d.order_id.as_str());
    put_num(&mut rec, d.first);
    put_num(&mut rec, d.items.len() as u64);
    for it in &d.items {
        put_num(&mut rec, it.hub as u64);
        put_num(&mut rec, it.sku as u64);
        put_num(&mut rec, it.quantity.get() as u64);
        put_num(&mut rec, it.rows.len() as u64);
        for &r in &it.rows {
            put_num(&mut rec, r);
        }
    }
    put_num(&mut rec, d.rejects.len() as u64);
    for r in &d.rejects {
        put_num(&mut rec, r.row.map_or(0, |n| n + 1));
        put_opt_str(&mut rec, r.order_id.as_deref());
        put_opt_str(&mut rec, r.column.as_deref());
        put_str(&mut rec, &r.reason);
    }
    put_num(out, rec.len() as u64);
    out.extend_from_slice(&rec);
}

/// Reads the records of one stream back, in the order they were written.
pub(super) struct DraftReader {
    inner: io::BufReader<Box<dyn Read + Send>>,
    buf: Vec<u8>,
}

impl DraftReader {
    pub(super) fn new(r: Box<dyn Read + Send>) -> Self {
        Self {
            inner: io::BufReader::with_capacity(1 << 13, r),
            buf: Vec::new(),
        }
    }

    fn len(&mut self) -> io::Result<Option<usize>> {
        let mut n: u64 = 0;
        for (i, shift) in (0..64).step_by(7).enumerate() {
            let mut b = [0u8];
            if self.inner.read(&mut b)? == 0 {
                return if i == 0 { Ok(None) } else { Err(corrupt()) };
            }
            n |= u64::from(b[0] & 0x7f) << shift;
            if b[0] < 0x80 {
                return usize::try_from(n).map(Some).map_err(|_| corrupt());
            }
        }
        Err(corrupt())
    }

    /// The next record, or `None` at the end of the stream.
    pub(super) fn next_draft(&mut self) -> io::Result<Option<Draft>> {
        let Some(n) = self.len()? else {
            return Ok(None);
        };
        self.buf.resize(n, 0);
        self.inner.read_exact(&mut self.buf)?;
        let mut f = Fields(&self.buf);
        let order_id = OrderId::parse(f.str()?).map_err(|_| corrupt())?;
        let first = f.num()?;
        let n_items = f.idx()?;
        let mut items = Vec::with_capacity(n_items.min(1024));
        for _ in 0..n_items {
            let hub = f.idx()?;
            let sku = f.idx()?;
            let q = i64::try_from(f.num()?).map_err(|_| corrupt())?;
            let quantity = Quantity::new(q).map_err(|_| corrupt())?;
            let n_rows = f.idx()?;
            let mut rows = super::ItemRows::new();
            for _ in 0..n_rows {
                rows.push(f.num()?);
            }
            items.push(DraftItem {
                hub,
                sku,
                quantity,
                rows,
            });
        }
        let n_rejects = f.idx()?;
        let mut rejects = Vec::with_capacity(n_rejects.min(1024));
        for _ in 0..n_rejects {
            let row = f.num()?.checked_sub(1);
            let order_id = f.opt_str()?;
            let column = f.opt_str()?;
            let reason = f.str()?.to_owned();
            rejects.push(Reject {
                row,
                order_id,
                column,
                reason,
            });
        }
        Ok(Some(Draft {
            order_id,
            first,
            items,
            rejects,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drafts_come_back_as_they_were_written() {
        let d = Draft {
            order_id: OrderId::parse("A-1").unwrap(),
            first: 12,
            items: vec![DraftItem {
                hub: 3,
                sku: 70_000,
                quantity: Quantity::new(i64::MAX).unwrap(),
                rows: smallvec::smallvec![2, 9, u64::MAX - 1],
            }],
            rejects: vec![Reject {
                row: Some(0),
                order_id: None,
                column: Some("quantity".into()),
                reason: "quantity é".into(),
            }],
        };
        let empty = Draft {
            order_id: OrderId::parse("B").unwrap(),
            first: 13,
            items: Vec::new(),
            rejects: Vec::new(),
        };
        let mut area = MemorySpill::default();
        let mut w = area.create(7).unwrap();
        let mut buf = Vec::new();
        encode_draft(&mut buf, &d);
        encode_draft(&mut buf, &empty);
        w.write_all(&buf).unwrap();
        drop(w);
        let mut r = DraftReader::new(area.open(7).unwrap());
        let back = r.next_draft().unwrap().unwrap();
        assert_eq!((&back.order_id, back.first), (&d.order_id, 12));
        assert_eq!(back.items[0].rows, d.items[0].rows);
        assert_eq!(back.items[0].quantity, d.items[0].quantity);
        assert_eq!((back.items[0].hub, back.items[0].sku), (3, 70_000));
        assert_eq!(back.rejects, d.rejects);
        let back = r.next_draft().unwrap().unwrap();
        assert_eq!(back.order_id.as_str(), "B");
        assert!(back.items.is_empty() && back.rejects.is_empty());
        assert!(r.next_draft().unwrap().is_none());
        // A stream cut in the middle of a record is an error, not a short result.
        let mut area = MemorySpill::default();
        area.create(1).unwrap().write_all(&buf[..5]).unwrap();
        assert!(
            DraftReader::new(area.open(1).unwrap())
                .next_draft()
                .is_err()
        );
    }
}
