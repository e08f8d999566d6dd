//! Submit: check a seller's file (inside the storage root, a regular readable file, a
//! valid header), record the job and enqueue the bulk-order request. Shared by
//! `oms submit` and the HTTP bulkorder endpoint.

use super::files::{HashingReader, StorageRoot};
use super::{AppError, Backends};
use crate::domain::{
    BulkOrderRequest, Job, JobCounts, JobState, SellerField, SellerId, check_header, timestamp,
};
use crate::ports::JobReport;
use std::fs::File;
use std::io::BufReader;

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
    let resolved = root
        .resolve(file_path)
        .map_err(|e| AppError::BadInput(e.to_string()))?;
    let message_path = root.message_path(&resolved);
    let shown = file_path.to_owned();
    let (sha256, bytes) =
        tokio::task::spawn_blocking(move || -> Result<(String, u64), AppError> {
            let f =
                File::open(&resolved).map_err(|e| AppError::BadInput(format!("{shown}: {e}")))?;
            let mut r = HashingReader::new(BufReader::with_capacity(1 << 16, f));
            check_header(&mut r).map_err(|e| AppError::BadInput(format!("{shown}: {e}")))?;
            r.finish()
                .map_err(|e| AppError::BadInput(format!("{shown}: {e}")))
        })
        .await
        .map_err(|e| AppError::Failed(e.to_string()))??;

    let job_id = uuid::Uuid::new_v4().to_string();
    let now = timestamp::now();
    b.store
        .open_job(&Job {
            job_id: job_id.clone(),
            seller_id: seller.to_string(),
            file_path: message_path.clone(),
            sha256: Some(sha256.clone()),
            state: JobState::Queued,
            error: None,
            counts: JobCounts::default(),
            created_at: now.clone(),
            updated_at: now,
            rejects: Vec::new(),
        })
        .await?;
    let request = BulkOrderRequest {
        seller_id: SellerField(seller.to_string()),
        file_path: message_path.clone(),
        job_id: Some(job_id.clone()),
        sha256: Some(sha256.clone()),
    };
    if let Err(e) = b.queue.send(&request.to_json()).await {
        let _ = b
            .store
            .finish_job(&JobReport {
                job_id: job_id.clone(),
                state: JobState::Failed,
                error: Some(format!("could not be enqueued: {e}")),
                counts: JobCounts::default(),
                rejects: Vec::new(),
            })
            .await;
        return Err(e.into());
    }
    Ok(Submitted {
        job_id,
        file_path: message_path,
        sha256,
        bytes,
    })
}
