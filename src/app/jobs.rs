//! Jobs: reading them (the newest ones, one by its id), and the report through which
//! a job's state is recorded.

use super::{AppError, Backends};
use crate::domain::Job;
use crate::ports::JobReport;

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

/// What the store records of a job after a transition of its lifecycle.
pub(super) fn report(job: Job) -> JobReport {
    JobReport {
        job_id: job.job_id,
        state: job.state,
        error: job.error,
        counts: job.counts,
        rejects: job.rejects,
    }
}
