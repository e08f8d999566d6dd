//! Submit: check a seller's file (inside the storage root, a regular readable file, a
//! valid header), record the job and enqueue the bulk-order request. Shared by
//! `oms submit` and the HTTP bulkorder endpoint.

use super::files::{HashingReader, StorageRoot};
use super::jobs::report;
use super::{AppError, Backends};
use crate::domain::{BulkOrderRequest, Job, SellerField, SellerId, check_header, timestamp};
use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::Arc;

/// What `submit` tells whoever watches it (a bytes bar while a large file is hashed).
/// Hooks have no-op defaults and are called from the thread that reads the file.
pub trait SubmitObserver: Send + Sync {
    /// `done` of `total` bytes hashed; called every [`REPORT_EVERY`] bytes and at the end.
    fn hashing(&self, _done: u64, _total: u64) {}
}

/// An observer that wants to know nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl SubmitObserver for NoObserver {}

/// Bytes between two [`SubmitObserver::hashing`] calls.
pub const REPORT_EVERY: u64 = 1 << 20;

/// Tells the observer how far the reading got.
struct Observed {
    inner: File,
    done: u64,
    total: u64,
    next: u64,
    observer: Arc<dyn SubmitObserver>,
}

impl Read for Observed {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.done >= self.next || n == 0 {
            self.next = self.done + REPORT_EVERY;
            self.observer.hashing(self.done, self.total.max(self.done));
        }
        Ok(n)
    }
}

/// What a successful submit gives back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Submitted {
    pub job_id: String,
    pub file_path: String,
    pub sha256: String,
    pub bytes: u64,
}

/// Checks `file_path` for `seller` and enqueues it.
///
/// # Errors
/// [`AppError::BadInput`] for a bad path or header (nothing is enqueued then);
/// [`AppError::Unavailable`] / [`AppError::Failed`] when the store or queue fails.
pub async fn submit(
    b: &Backends,
    root: &StorageRoot,
    seller: &SellerId,
    file_path: &str,
) -> Result<Submitted, AppError> {
    submit_observed(b, root, seller, file_path, Arc::new(NoObserver)).await
}

/// [`submit`], telling `observer` how far the hashing of the file got.
///
/// # Errors
/// As [`submit`].
pub async fn submit_observed(
    b: &Backends,
    root: &StorageRoot,
    seller: &SellerId,
    file_path: &str,
    observer: Arc<dyn SubmitObserver>,
) -> Result<Submitted, AppError> {
    let resolved = root
        .resolve(file_path)
        .map_err(|e| AppError::BadInput(e.to_string()))?;
    let message_path = root.message_path(&resolved);
    let shown = file_path.to_owned();
    let (sha256, bytes) =
        tokio::task::spawn_blocking(move || -> Result<(String, u64), AppError> {
            let f =
                File::open(&resolved).map_err(|e| AppError::BadInput(format!("{shown}: {e}")))?;
            let total = f.metadata().map(|m| m.len()).unwrap_or(0);
            let f = Observed {
                inner: f,
                done: 0,
                total,
                next: REPORT_EVERY,
                observer,
            };
            let mut r = HashingReader::new(BufReader::with_capacity(1 << 16, f));
            check_header(&mut r).map_err(|e| AppError::BadInput(format!("{shown}: {e}")))?;
            r.finish()
                .map_err(|e| AppError::BadInput(format!("{shown}: {e}")))
        })
        .await
        .map_err(|e| AppError::Failed(e.to_string().into()))??;

    let job_id = uuid::Uuid::new_v4().to_string();
    let job = Job::queued(
        job_id.clone(),
        seller,
        message_path.clone(),
        Some(sha256.clone()),
        timestamp::now(),
    );
    b.store.open_job(&job).await?;
    let request = BulkOrderRequest {
        seller_id: SellerField(seller.to_string()),
        file_path: message_path.clone(),
        job_id: Some(job_id.clone()),
        sha256: Some(sha256.clone()),
    };
    if let Err(e) = b.queue.send(&request.to_json()).await {
        // Best effort: the enqueue error is what the caller must hear about.
        if let Ok(failed) = job.fail(format!("could not be enqueued: {e}")) {
            let _ = b.store.record_job(&report(failed)).await;
        }
        return Err(e.into());
    }
    Ok(Submitted {
        job_id,
        file_path: message_path,
        sha256,
        bytes,
    })
}
