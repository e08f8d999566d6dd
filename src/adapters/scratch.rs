//! Scratch space in temporary files: a directory per file being ingested (under the
//! system's temporary directory, `TMPDIR`), made when the first stream is (a file that
//! fits the budget makes none), one file per spilled stream, all removed when the area
//! is dropped (after the job, or as an error or a panic unwinds; a process killed with
//! SIGKILL leaves its `oms-ingest-*` directory behind).

use crate::domain::orders_file::SpillArea;
use crate::ports::ScratchSpace;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

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

/// One directory of spilled streams, made with the first of them.
#[derive(Debug)]
pub struct TempSpill {
    parent: Option<PathBuf>,
    dir: Option<tempfile::TempDir>,
}

impl TempSpill {
    fn dir(&mut self) -> io::Result<&Path> {
        if self.dir.is_none() {
            let mut b = tempfile::Builder::new();
            b.prefix("oms-ingest-");
            self.dir = Some(match &self.parent {
                Some(d) => b.tempdir_in(d)?,
                None => b.tempdir()?,
            });
        }
        Ok(self.dir.as_ref().expect("made above").path())
    }
}

impl ScratchSpace for TempScratch {
    fn memory_budget(&self) -> usize {
        self.memory_budget
    }

    fn spill_area(&self) -> io::Result<Box<dyn SpillArea>> {
        Ok(Box::new(TempSpill {
            parent: self.dir.clone(),
            dir: None,
        }))
    }
}

impl SpillArea for TempSpill {
    fn create(&mut self, n: usize) -> io::Result<Box<dyn Write + Send>> {
        let f = File::create(self.dir()?.join(n.to_string()))?;
        Ok(Box::new(BufWriter::with_capacity(1 << 15, f)))
    }

    fn open(&mut self, n: usize) -> io::Result<Box<dyn Read + Send>> {
        let f = File::open(self.dir()?.join(n.to_string()))?;
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
        assert_eq!(
            std::fs::read_dir(parent.path()).unwrap().count(),
            0,
            "nothing made before the first stream"
        );
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
