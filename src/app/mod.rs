//! Use cases over the ports: submit, ingest, fulfil, and the read-only queries (the
//! pipeline's status among them). They know the ports and the domain, never the command
//! line, a backend's driver or the file system: order files are read through
//! [`files::FileSources`].

pub mod backoff;
pub mod dlq;
pub mod files;
pub mod fulfil;
pub mod ingest;
pub mod inventory;
pub mod jobs;
pub mod orders;
pub mod status;
pub mod submit;

use crate::domain::TransitionError;
use crate::ports::{
    BusError, Detail, EventBus, FileError, FileUpload, JobQueue, OrderStore, QueueError,
    StoreError, TxError, UnitOfWork, Warehouse, WmsError,
};
use files::FileSources;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// The adapters serving each port, chosen by the configuration.
#[derive(Clone)]
pub struct Backends {
    pub queue: Arc<dyn JobQueue>,
    pub bus: Arc<dyn EventBus>,
    pub store: Arc<dyn OrderStore>,
    pub wms: Arc<dyn Warehouse>,
    /// Commits the bus, store and warehouse writes of one step together where they
    /// share a database; [`crate::ports::NoTransaction`] elsewhere.
    pub uow: Arc<dyn UnitOfWork>,
    /// Where order files are read: the storage root, and S3 when it is configured.
    pub files: Arc<FileSources>,
    /// Where `submit` puts a local file when uploads are configured (`OMS_S3_UPLOAD`).
    pub upload: Option<Arc<dyn FileUpload>>,
    /// Temporary space for a file's orders beyond the memory budget (ingest).
    pub scratch: Arc<dyn crate::ports::ScratchSpace>,
}

/// What went wrong in a use case, by what the operator should do about it. A backend's
/// error is kept as the source of `Unavailable` and `Failed`, so its cause chain (down
/// to the driver's error) reaches the edge.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input (file, path, request, argument) is wrong: fix it and try again.
    #[error("{0}")]
    BadInput(String),
    /// What was asked for does not exist (an order, a job).
    #[error("{0}")]
    NotFound(String),
    /// A backend cannot be reached now: try again later.
    #[error(transparent)]
    Unavailable(Detail),
    /// A backend refused or failed in another way.
    #[error(transparent)]
    Failed(Detail),
}

impl AppError {
    /// A port error, by whether trying again later may help.
    fn from_port(unavailable: bool, e: impl std::error::Error + Send + Sync + 'static) -> Self {
        let detail = Detail::caused(e.to_string(), e);
        if unavailable {
            AppError::Unavailable(detail)
        } else {
            AppError::Failed(detail)
        }
    }
}

impl From<QueueError> for AppError {
    fn from(e: QueueError) -> Self {
        Self::from_port(matches!(e, QueueError::Unavailable(_)), e)
    }
}

impl From<BusError> for AppError {
    fn from(e: BusError) -> Self {
        Self::from_port(matches!(e, BusError::Unavailable(_)), e)
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        Self::from_port(matches!(e, StoreError::Unavailable(_)), e)
    }
}

impl From<WmsError> for AppError {
    fn from(e: WmsError) -> Self {
        Self::from_port(matches!(e, WmsError::Unavailable(_)), e)
    }
}

/// A refused or changed file is the input's fault; a source that cannot be reached is
/// unavailable.
impl From<FileError> for AppError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Refused(d) | FileError::Changed(d) => AppError::BadInput(d.to_string()),
            FileError::Unavailable(d) => AppError::Unavailable(d),
            FileError::Failed(d) => AppError::Failed(d),
        }
    }
}

impl From<TxError> for AppError {
    fn from(e: TxError) -> Self {
        Self::from_port(true, e)
    }
}

/// A job transition the lifecycle refuses is a fault of the use case, not of the input.
impl From<TransitionError> for AppError {
    fn from(e: TransitionError) -> Self {
        AppError::Failed(Detail::caused(e.to_string(), e))
    }
}

/// Runs `work` in one unit of work: begins, commits when `work` succeeds, rolls back
/// when it fails.
///
/// # Errors
/// The error of `begin` or `commit` (as `E`), or `work`'s own error (after the
/// rollback).
pub async fn in_transaction<T, E>(
    uow: &dyn UnitOfWork,
    work: impl AsyncFnOnce() -> Result<T, E>,
) -> Result<T, E>
where
    E: From<TxError>,
{
    uow.begin().await?;
    match work().await {
        Ok(v) => {
            uow.commit().await?;
            Ok(v)
        }
        Err(e) => {
            uow.rollback().await;
            Err(e)
        }
    }
}

/// A shutdown signal that long-running loops watch.
#[derive(Debug, Clone)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending side of [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl ShutdownTrigger {
    /// Asks every [`Shutdown`] of this trigger to stop.
    pub fn trigger(&self) {
        let _ = self.0.send(true);
    }
}

impl Shutdown {
    /// A signal not yet set, and the trigger that sets it.
    #[must_use]
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// Whether shutdown was asked for.
    #[must_use]
    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown is asked for (or its trigger is gone).
    pub async fn wait(&mut self) {
        let _ = self.0.wait_for(|v| *v).await;
    }

    /// Sleeps for `d`, or less when shutdown comes first; true when it did.
    pub async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            () = self.wait() => true,
            () = tokio::time::sleep(d) => self.is_set(),
        }
    }
}
