//! The job lifecycle: a bulk-order job is queued (submitted), then processing (taken by
//! `oms ingest`), then done or failed. [`Job`] is the job as stored, and its
//! transitions ([`Job::queued`], [`Job::start`], [`Job::finish`], [`Job::fail`]) are
//! the only way the use cases set its state.

use super::ids::SellerId;
use super::order::Reject;
use serde::{Deserialize, Serialize};
use std::fmt;

/// The life of a bulk-order job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Enqueued, not yet taken by `oms ingest`.
    Queued,
    /// Being ingested (or retried after a failure that leaves the message for redelivery).
    Processing,
    /// Every row stored or rejected; events published.
    Done,
    /// The file could not be processed at all (path, header, checksum).
    Failed,
}

impl JobState {
    /// The state as stored and shown: `queued`, `processing`, `done`, `failed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Processing => "processing",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "queued" => Ok(JobState::Queued),
            "processing" => Ok(JobState::Processing),
            "done" => Ok(JobState::Done),
            "failed" => Ok(JobState::Failed),
            other => Err(format!("unknown job state {other:?}")),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts of one job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    /// Orders stored by this job.
    pub orders_accepted: u64,
    /// Orders rejected (any invalid row, or an unknown hub/SKU).
    pub orders_rejected: u64,
    /// Valid orders that were already stored (same seller and order id), not created again.
    pub orders_duplicate: u64,
    /// Repeated (sku, hub) rows summed into one item.
    pub warnings: u64,
}

/// A job as stored. Its state changes only through the transitions below.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    pub seller_id: String,
    /// Where the file is read from: a path in the storage root, or an S3 URI.
    pub file_path: String,
    /// The file as the seller named it, when it was uploaded to S3 at submit (then
    /// `file_path` is the upload's URI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_file: Option<String>,
    pub sha256: Option<String>,
    pub state: JobState,
    pub error: Option<String>,
    #[serde(flatten)]
    pub counts: JobCounts,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub rejects: Vec<Reject>,
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("job {job_id} cannot go from {from} to {to}")]
pub struct TransitionError {
    pub job_id: String,
    pub from: JobState,
    pub to: JobState,
}

impl Job {
    /// A job just submitted: queued, nothing counted yet, created and updated `at`.
    #[must_use]
    pub fn queued(
        job_id: impl Into<String>,
        seller: &SellerId,
        file_path: impl Into<String>,
        sha256: Option<String>,
        at: impl Into<String>,
    ) -> Self {
        let at = at.into();
        Self {
            job_id: job_id.into(),
            seller_id: seller.to_string(),
            file_path: file_path.into(),
            source_file: None,
            sha256,
            state: JobState::Queued,
            error: None,
            counts: JobCounts::default(),
            created_at: at.clone(),
            updated_at: at,
            rejects: Vec::new(),
        }
    }

    /// The job of a file the seller named `name` (`storage/orders.csv`), uploaded to
    /// where its `file_path` says.
    #[must_use]
    pub fn with_source_file(self, name: impl Into<String>) -> Self {
        Self {
            source_file: Some(name.into()),
            ..self
        }
    }

    /// The job taken by a consumer: processing, its error, counts and rejects cleared.
    /// Allowed from every state: a queue delivers at least once, so the message of a
    /// job that is done or failed (its acknowledgement lost) may come back, and is then
    /// worked on again; that work creates nothing twice.
    #[must_use]
    pub fn start(self) -> Self {
        Self {
            state: JobState::Processing,
            error: None,
            counts: JobCounts::default(),
            rejects: Vec::new(),
            ..self
        }
    }

    /// The job's file is worked through: done, with what was counted and rejected.
    ///
    /// # Errors
    /// [`TransitionError`] unless the job is processing.
    pub fn finish(self, counts: JobCounts, rejects: Vec<Reject>) -> Result<Self, TransitionError> {
        self.check(JobState::Done, &[JobState::Processing])?;
        Ok(Self {
            state: JobState::Done,
            error: None,
            counts,
            rejects,
            ..self
        })
    }

    /// The job cannot be done at all (its file, its checksum, its enqueueing): failed
    /// for `reason`, nothing counted.
    ///
    /// # Errors
    /// [`TransitionError`] when the job is already done or failed.
    pub fn fail(self, reason: impl Into<String>) -> Result<Self, TransitionError> {
        self.check(JobState::Failed, &[JobState::Queued, JobState::Processing])?;
        Ok(Self {
            state: JobState::Failed,
            error: Some(reason.into()),
            counts: JobCounts::default(),
            rejects: Vec::new(),
            ..self
        })
    }

    fn check(&self, to: JobState, from: &[JobState]) -> Result<(), TransitionError> {
        if from.contains(&self.state) {
            Ok(())
        } else {
            Err(TransitionError {
                job_id: self.job_id.clone(),
                from: self.state,
                to,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queued() -> Job {
        Job::queued(
            "j1",
            &SellerId::parse("7").unwrap(),
            "storage/orders.csv",
            Some("ab".into()),
            "2026-01-01T00:00:00Z",
        )
    }

    fn counts() -> JobCounts {
        JobCounts {
            rows: 3,
            orders_accepted: 2,
            orders_rejected: 1,
            ..JobCounts::default()
        }
    }

    fn reject() -> Reject {
        Reject {
            row: Some(2),
            order_id: Some("1".into()),
            column: None,
            reason: "bad".into(),
        }
    }

    #[test]
    fn a_submitted_job_is_queued_with_nothing_counted() {
        let j = queued();
        assert_eq!(j.state, JobState::Queued);
        assert_eq!(j.seller_id, "7");
        assert_eq!(j.counts, JobCounts::default());
        assert_eq!(j.created_at, j.updated_at);
        assert!(j.error.is_none() && j.rejects.is_empty());
        assert_eq!(j.source_file, None);
    }

    #[test]
    fn an_uploaded_file_keeps_its_name_through_the_lifecycle() {
        let j = Job::queued(
            "j1",
            &SellerId::parse("7").unwrap(),
            "s3://orders/in/ab.csv",
            Some("ab".into()),
            "2026-01-01T00:00:00Z",
        )
        .with_source_file("storage/orders.csv");
        let done = j.start().finish(counts(), vec![]).unwrap();
        assert_eq!(done.source_file.as_deref(), Some("storage/orders.csv"));
        assert_eq!(done.file_path, "s3://orders/in/ab.csv");
        let json = serde_json::to_value(&done).unwrap();
        assert_eq!(json["source_file"], "storage/orders.csv");
        assert!(
            serde_json::to_value(queued())
                .unwrap()
                .get("source_file")
                .is_none()
        );
    }

    #[test]
    fn a_started_job_finishes_with_its_counts_and_rejects() {
        let done = queued()
            .start()
            .finish(counts(), vec![reject()])
            .expect("processing -> done");
        assert_eq!(done.state, JobState::Done);
        assert_eq!(done.counts, counts());
        assert_eq!(done.rejects, vec![reject()]);
        assert!(done.error.is_none());
    }

    #[test]
    fn a_job_fails_queued_or_processing_and_then_counts_nothing() {
        let f = queued()
            .fail("could not be enqueued")
            .expect("queued -> failed");
        assert_eq!(f.state, JobState::Failed);
        assert_eq!(f.error.as_deref(), Some("could not be enqueued"));
        let f = queued()
            .start()
            .fail("no such file")
            .expect("processing -> failed");
        assert_eq!(f.state, JobState::Failed);
        assert_eq!(f.counts, JobCounts::default());
        assert!(f.rejects.is_empty());
    }

    #[test]
    fn starting_again_clears_what_the_last_run_recorded() {
        let done = queued().start().finish(counts(), vec![reject()]).unwrap();
        let again = done.start();
        assert_eq!(again.state, JobState::Processing);
        assert_eq!(again.counts, JobCounts::default());
        assert!(again.rejects.is_empty() && again.error.is_none());
        let failed = queued().fail("x").unwrap().start();
        assert_eq!(failed.state, JobState::Processing);
        assert!(failed.error.is_none());
    }

    #[test]
    fn impossible_transitions_are_refused() {
        let e = queued().finish(counts(), vec![]).unwrap_err();
        assert_eq!((e.from, e.to), (JobState::Queued, JobState::Done));
        assert_eq!(e.to_string(), "job j1 cannot go from queued to done");
        let done = queued().start().finish(counts(), vec![]).unwrap();
        assert!(done.clone().finish(counts(), vec![]).is_err());
        assert!(done.fail("late").is_err());
        let failed = queued().fail("x").unwrap();
        assert!(failed.clone().fail("again").is_err());
        assert!(failed.finish(counts(), vec![]).is_err());
    }
}
