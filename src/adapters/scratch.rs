//! Scratch space in temporary files: a directory per file being ingested (under the
//! system's temporary directory, `TMPDIR`), one file per spilled stream, all removed
//! when the area is dropped (after the job, or as an error or a panic unwinds).

use crate::domain::orders_file::SpillArea;
use crate::ports::ScratchSpace;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

/// Temporary files under `dir` (the system's temporary directory when `None`).
#[derive(Debug, Clone)]
pub struct TempScratch {
    dir: Option<PathBuf>,
    memory_budget: usize,
}

impl TempScratch {
    /// Spilling past `memory_budget` bytes into temporary files under `dir`.
    pub fn new(dir: Option<PathBuf>, memory_budget: usize) -> Self {
        Self { dir, memory_budget }
    }
}

/// One directory of spilled streams.
#[derive(Debug)]
pub struct TempSpill {
    dir: tempfile::TempDir,
}

impl ScratchSpace for TempScratch {
    fn memory_budget(&self) -> usize {
        self.memory_budget
    }

    fn spill_area(&self) -> io::Result<Box<dyn SpillArea>> {
        let mut b = tempfile::Builder::new();
        b.prefix("oms-ingest-");
        let dir = match &self.dir {
            Some(d) => b.tempdir_in(d)?,
            None => b.tempdir()?,
        };
        Ok(Box::new(TempSpill { dir }))
    }
}

impl SpillArea for TempSpill {
    fn create(&mut self, n: usize) -> io::Result<Box<dyn Write + Send>> {
        let f = File::create(self.dir.path().join(n.to_string()))?;
        Ok(Box::new(BufWriter::with_capacity(1 << 15, f)))
    }

    fn open(&mut self, n: usize) -> io::Result<Box<dyn Read + Send>> {
        let f = File::open(self.dir.path().join(n.to_string()))?;
        Ok(Box::new(BufReader::with_capacity(1 << 15, f)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_read_back_and_the_directory_goes_with_the_area() {
        let parent = tempfile::tempdir().unwrap();
        let scratch = TempScratch::new(Some(parent.path().to_owned()), 1);
        let mut area = scratch.spill_area().unwrap();
        let mut w = area.create(3).unwrap();
        w.write_all(b"spilled").unwrap();
        drop(w);
        let mut back = String::new();
        area.open(3).unwrap().read_to_string(&mut back).unwrap();
        assert_eq!(back, "spilled");
        assert_eq!(std::fs::read_dir(parent.path()).unwrap().count(), 1);
        drop(area);
        assert_eq!(
            std::fs::read_dir(parent.path()).unwrap().count(),
            0,
            "removed with the area"
        );
    }
}
