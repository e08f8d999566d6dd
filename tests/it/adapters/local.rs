//! The storage root on this machine's disk as an order-file source: its contract
//! fixture. Locations are paths under a temporary storage root.

use crate::contract::files::FilesFixture;
use async_trait::async_trait;
use oms::adapters::local::LocalFiles;
use oms::ports::OrderFiles;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A fresh storage root for one test, and a directory beside it (outside it).
pub struct LocalFixture {
    root: PathBuf,
    outside: PathBuf,
    _tmp: tempfile::TempDir,
}

impl LocalFixture {
    /// A fixture on a new, empty storage root (never skipped).
    pub async fn start() -> Option<Self> {
        let tmp = tempfile::tempdir().expect("temp dir");
        let root = tmp.path().join("storage");
        let outside = tmp.path().join("elsewhere");
        std::fs::create_dir(&root).expect("create the storage root");
        std::fs::create_dir(&outside).expect("create a directory outside it");
        Some(Self {
            root,
            outside,
            _tmp: tmp,
        })
    }

    fn open(&self) -> Arc<dyn OrderFiles> {
        Arc::new(LocalFiles::open(&self.root).expect("open the storage root"))
    }
}

#[async_trait]
impl FilesFixture for LocalFixture {
    async fn files(&self) -> Arc<dyn OrderFiles> {
        self.open()
    }

    async fn cut_off(&self) -> Arc<dyn OrderFiles> {
        // The disk cannot be taken away: the same source.
        self.open()
    }

    async fn put_file(&self, name: &str, from: &Path) -> String {
        let to = self.root.join(name);
        std::fs::copy(from, &to).expect("copy into the storage root");
        to.display().to_string()
    }

    async fn overwrite(&self, location: &str, bytes: &[u8]) {
        std::fs::write(location, bytes).expect("overwrite the file");
    }

    fn missing(&self) -> String {
        self.root.join("no-such-file.csv").display().to_string()
    }

    async fn outside(&self) -> String {
        let p = self.outside.join("orders.csv");
        std::fs::write(
            &p,
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/storage/orders.csv")),
        )
        .expect("write a file outside the root");
        p.display().to_string()
    }

    async fn unreadable(&self) -> String {
        // Tests run as root, so a mode-000 file would be readable: a directory named
        // like a file cannot be read as one by anyone.
        let p = self.root.join("x.csv");
        std::fs::create_dir(&p).expect("create a directory");
        p.display().to_string()
    }
}
