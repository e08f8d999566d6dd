//! Reading jobs: the newest ones, and one by its id.

use super::{AppError, Backends};
use crate::domain::Job;

/// The newest `limit` jobs, newest first (without their rejects).
///
/// # Errors
/// The store's errors.
pub async fn list(b: &Backends, limit: usize) -> Result<Vec<Job>, AppError> {
    Ok(b.store.list_jobs(limit).await?)
}

/// One job with its rejects.
///
/// # Errors
/// [`AppError::NotFound`] for an unknown job; the store's errors.
pub async fn get(b: &Backends, job_id: &str) -> Result<Job, AppError> {
    b.store
        .get_job(job_id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no job {job_id}")))
}
