//! Submit: check a seller's file through its source (inside the storage root or an
//! allowed S3 prefix, present, not empty, a valid header, its SHA-256), upload a local
//! file when uploads are configured, record the job and enqueue the bulk-order request.
//! Shared by `oms submit` and the HTTP bulkorder endpoint.

use super::files::is_s3;
use super::jobs::report;
use super::{AppError, Backends};
use crate::domain::{BulkOrderRequest, Job, SellerField, SellerId, timestamp};
use crate::ports::{FileProgress, OrderFiles};
use std::path::Path;
use std::sync::Arc;

/// What `submit` tells whoever watches it (a bytes bar while a large file is hashed or
/// uploaded). Hooks have no-op defaults and are called from the thread doing the work.
pub trait SubmitObserver: Send + Sync {
    /// `done` of `total` bytes hashed.
    fn hashing(&self, _done: u64, _total: u64) {}
    /// `done` of `total` bytes uploaded (`OMS_S3_UPLOAD`).
    fn uploading(&self, _done: u64, _total: u64) {}
}

/// An observer that wants to know nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl SubmitObserver for NoObserver {}

/// The hashing of the file, told to the observer.
struct Hashing(Arc<dyn SubmitObserver>);

impl FileProgress for Hashing {
    fn progress(&self, done: u64, total: u64) {
        self.0.hashing(done, total);
    }
}

/// The upload of the file, told to the observer.
struct Uploading(Arc<dyn SubmitObserver>);

impl FileProgress for Uploading {
    fn progress(&self, done: u64, total: u64) {
        self.0.uploading(done, total);
    }
}

/// What a successful submit gives back.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Submitted {
    pub job_id: String,
    /// Where the file is read from: the path in the storage root, or the S3 URI.
    pub file_path: String,
    /// The S3 object's version (or ETag) that ingest reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub sha256: String,
    pub bytes: u64,
    /// The file as the seller named it, when it was uploaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
}

/// Checks `file_path` for `seller` and enqueues it. With an uploader, a local file is
/// uploaded first and the upload is queued.
///
/// # Errors
/// [`AppError::BadInput`] for a bad path, object or header (nothing is enqueued then);
/// [`AppError::Unavailable`] / [`AppError::Failed`] when the file source, the upload,
/// the store or the queue fails.
pub async fn submit(
    b: &Backends,
    seller: &SellerId,
    file_path: &str,
) -> Result<Submitted, AppError> {
    submit_observed(b, seller, file_path, Arc::new(NoObserver)).await
}

/// [`submit`], telling `observer` how far the hashing and the upload of the file got.
///
/// # Errors
/// As [`submit`].
pub async fn submit_observed(
    b: &Backends,
    seller: &SellerId,
    file_path: &str,
    observer: Arc<dyn SubmitObserver>,
) -> Result<Submitted, AppError> {
    let checked = b
        .files
        .check(file_path, Arc::new(Hashing(Arc::clone(&observer))))
        .await?;
    let bytes = checked.bytes;
    let (file, source_file) = match &b.upload {
        Some(upload) if !is_s3(&checked.location) => {
            let path = checked.location.clone();
            let uploaded = upload
                .upload(Path::new(&path), &checked, Arc::new(Uploading(observer)))
                .await?;
            (uploaded, Some(file_path.to_owned()))
        }
        _ => (checked, None),
    };

    let job_id = uuid::Uuid::new_v4().to_string();
    let mut job = Job::queued(
        job_id.clone(),
        seller,
        file.location.clone(),
        Some(file.sha256.clone()),
        timestamp::now(),
    );
    if let Some(name) = &source_file {
        job = job.with_source_file(name.clone());
    }
    b.store.open_job(&job).await?;
    let request = BulkOrderRequest {
        seller_id: SellerField(seller.to_string()),
        file_path: file.location.clone(),
        job_id: Some(job_id.clone()),
        sha256: Some(file.sha256.clone()),
        version: file.version.clone(),
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
        file_path: file.location,
        version: file.version,
        sha256: file.sha256,
        bytes,
        source_file,
    })
}
