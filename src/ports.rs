//! The ports oms talks through: the job queue, the event bus, the order store and the
//! warehouse (WMS) with its operator side (inventory), plus the optional unit of work
//! that lets adapters sharing one database commit several ports' changes at once. Each
//! port has one error enum, whose variants carry a [`Detail`]: adapters map their driver
//! errors into it, keep the driver's error as its cause, and never leak driver types.

use crate::domain::stock_file::Stock;
use crate::domain::{
    HubId, Job, JobCounts, JobState, NewOrder, Order, OrderItem, OrderKey, Outcome, Quantity,
    Reject, SellerId, SkuId, Status,
};
use async_trait::async_trait;
use std::time::Duration;

mod files;
pub use files::{
    CheckedFile, FileError, FileProgress, FileUpload, NoProgress, OpenedFile, OrderFiles,
};

// ---------------------------------------------------------------------------------------
// Error detail
// ---------------------------------------------------------------------------------------

/// The error a backend's driver returned, kept behind a port error.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a port error says: the adapter's own summary, and the driver's error it comes
/// from where there is one, so that a caller (or `oms doctor`) can look at the cause's
/// type (a refused credential, a time-out) instead of searching text. Its text is the
/// summary alone; the cause is its [`std::error::Error::source`].
#[derive(Debug)]
pub struct Detail {
    text: String,
    cause: Option<Cause>,
}

impl Detail {
    /// A summary with no driver error behind it.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            cause: None,
        }
    }

    /// A summary and the driver error it comes from.
    pub fn caused(text: impl Into<String>, cause: impl Into<Cause>) -> Self {
        Self {
            text: text.into(),
            cause: Some(cause.into()),
        }
    }

    /// The summary.
    #[must_use]
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The first error of the cause chain that is an `E`, if any.
    #[must_use]
    pub fn find_cause<E: std::error::Error + 'static>(&self) -> Option<&E> {
        let mut next: Option<&(dyn std::error::Error + 'static)> = self
            .cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static));
        while let Some(e) = next {
            if let Some(found) = e.downcast_ref::<E>() {
                return Some(found);
            }
            next = e.source();
        }
        None
    }
}

impl std::fmt::Display for Detail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for Detail {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl From<String> for Detail {
    fn from(text: String) -> Self {
        Self::new(text)
    }
}

impl From<&str> for Detail {
    fn from(text: &str) -> Self {
        Self::new(text)
    }
}

// ---------------------------------------------------------------------------------------
// Job queue
// ---------------------------------------------------------------------------------------

/// Errors of the job queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The queue cannot be reached now; the caller retries later.
    #[error("queue unavailable: {0}")]
    Unavailable(#[source] Detail),
    /// The receipt no longer holds the message (its visibility ran out and another
    /// worker took it, or it was deleted).
    #[error("the message is no longer held by this worker")]
    LostReceipt,
    /// Anything else the queue said no to.
    #[error("queue error: {0}")]
    Other(#[source] Detail),
}

/// A message taken from the queue, invisible to others until acknowledged or its
/// visibility timeout runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// Stable id of the message (the same on every delivery).
    pub id: String,
    /// Handle of this delivery, for `ack`, `extend` and `release`.
    pub receipt: String,
    pub body: String,
    /// How many times the message has been received, this time included.
    pub receive_count: u32,
}

/// A message in the dead-letter queue.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DeadLetter {
    pub id: String,
    pub body: String,
    /// Receives before it was dead-lettered, where the queue knows.
    pub receive_count: u32,
}

/// How many messages are where, as far as the queue knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepth {
    pub visible: u64,
    pub in_flight: u64,
    pub dead: u64,
}

/// A queue of bulk-order jobs with at-least-once delivery.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Enqueues `body`; returns the message id.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn send(&self, body: &str) -> Result<String, QueueError>;

    /// Waits up to `wait` for a message. A message received more than the queue's
    /// maximum number of times goes to the dead-letter queue instead of being returned.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn receive(&self, wait: Duration) -> Result<Option<QueueMessage>, QueueError>;

    /// Keeps the message invisible for `by` from now.
    ///
    /// # Errors
    /// [`QueueError::LostReceipt`], [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn extend(&self, msg: &QueueMessage, by: Duration) -> Result<(), QueueError>;

    /// Deletes the message: its work is done.
    ///
    /// # Errors
    /// [`QueueError::LostReceipt`], [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn ack(&self, msg: &QueueMessage) -> Result<(), QueueError>;

    /// Makes the message visible again now (its work was not done).
    ///
    /// # Errors
    /// [`QueueError::LostReceipt`], [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn release(&self, msg: &QueueMessage) -> Result<(), QueueError>;

    /// Counts of visible, in-flight and dead-lettered messages.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn depth(&self) -> Result<QueueDepth, QueueError>;

    /// Up to `max` dead-lettered messages, oldest first, left where they are.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError>;

    /// Moves every dead-lettered message back to the queue (receive count reset);
    /// returns how many moved.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn redrive(&self) -> Result<u64, QueueError>;

    /// Deletes every dead-lettered message; returns how many were deleted.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`], [`QueueError::Other`].
    async fn purge_dead(&self) -> Result<u64, QueueError>;
}

// ---------------------------------------------------------------------------------------
// Event bus
// ---------------------------------------------------------------------------------------

/// Errors of the event bus.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// The broker cannot be reached now.
    #[error("event bus unavailable: {0}")]
    Unavailable(#[source] Detail),
    /// This consumer no longer owns the partition it tried to commit (a rebalance gave
    /// it to another member); the uncommitted events will be delivered to that member.
    #[error("partition {0} was reassigned to another consumer")]
    Rebalanced(i32),
    #[error("event bus error: {0}")]
    Other(#[source] Detail),
}

/// An event to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Events with the same key are delivered in the order published.
    pub key: String,
    pub payload: String,
}

/// An event as delivered to a consumer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub payload: String,
    /// The order the payload names, when the bus has it already without parsing the
    /// payload (the embedded log keeps order events in a form that holds it); `None`
    /// otherwise: the consumer then reads it from the payload.
    pub order: Option<OrderKey>,
}

/// An append-only, partitioned log of events.
#[async_trait]
pub trait EventBus: Send + Sync {
    /// Appends `events`; all or none (as far as the broker allows).
    ///
    /// # Errors
    /// [`BusError::Unavailable`], [`BusError::Other`].
    async fn publish(&self, events: &[Event]) -> Result<(), BusError>;

    /// Joins consumer group `group`.
    ///
    /// # Errors
    /// [`BusError::Unavailable`], [`BusError::Other`].
    async fn subscribe(&self, group: &str) -> Result<Box<dyn Consumer>, BusError>;

    /// Events of the log not yet committed by `group`, over all partitions.
    ///
    /// # Errors
    /// [`BusError::Unavailable`], [`BusError::Other`].
    async fn lag(&self, group: &str) -> Result<u64, BusError>;

    /// Every consumer group of the log with its lag and live members, by name; `None`
    /// when the bus cannot list them (the default: `oms status` then asks
    /// [`EventBus::lag`] of the configured group).
    ///
    /// # Errors
    /// [`BusError::Unavailable`], [`BusError::Other`].
    async fn groups(&self) -> Result<Option<Vec<GroupState>>, BusError> {
        Ok(None)
    }
}

/// A consumer group as [`EventBus::groups`] sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupState {
    pub group: String,
    /// Events not yet committed by the group.
    pub lag: u64,
    /// Members that polled within the session timeout.
    pub members: u64,
}

/// One member of a consumer group.
#[async_trait]
pub trait Consumer: Send {
    /// Up to `max` events from the partitions this member owns, waiting up to `wait`.
    /// Events after the last committed offset are delivered again after a restart or
    /// a rebalance.
    ///
    /// # Errors
    /// [`BusError::Unavailable`], [`BusError::Other`].
    async fn poll(&mut self, max: usize, wait: Duration) -> Result<Vec<Delivered>, BusError>;

    /// Commits: every event up to and including each of `events` is done. Only pass
    /// events whose work is finished, and, per partition, only a prefix.
    ///
    /// # Errors
    /// [`BusError::Rebalanced`], [`BusError::Unavailable`], [`BusError::Other`].
    async fn commit(&mut self, events: &[Delivered]) -> Result<(), BusError>;

    /// Leaves the group so others take the partitions at once.
    async fn close(&mut self);
}

// ---------------------------------------------------------------------------------------
// Order store
// ---------------------------------------------------------------------------------------

/// Errors of the order store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("order store unavailable: {0}")]
    Unavailable(#[source] Detail),
    #[error("order store error: {0}")]
    Other(#[source] Detail),
}

/// What happened to each order handed to [`OrderStore::insert_orders`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inserted {
    /// Stored now, `on_hold`.
    Created,
    /// The seller already had an order with that id; nothing was changed.
    Existing {
        job_id: String,
        status: Status,
        reason: Option<String>,
    },
}

/// Filters of `orders ls` (all optional; `limit` caps the result).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrderFilter {
    pub status: Option<Status>,
    pub seller: Option<SellerId>,
    pub hub: Option<HubId>,
    pub job: Option<String>,
    pub order_id: Option<crate::domain::OrderId>,
    /// RFC 3339 UTC; orders created at or after it.
    pub since: Option<String>,
    /// Orders skipped before the first one returned (pages).
    pub offset: usize,
    pub limit: usize,
}

/// A job's state as one transition of its lifecycle left it (started, failed or
/// finished: see `domain::job`), with its counts and rejects, to record in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    pub job_id: String,
    pub state: JobState,
    pub error: Option<String>,
    pub counts: JobCounts,
    pub rejects: Vec<Reject>,
}

/// Orders, their status history, and jobs.
#[async_trait]
pub trait OrderStore: Send + Sync {
    /// Records a job if it is not known yet (state queued or processing); a known job is
    /// left as it is. Returns the job as stored.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn open_job(&self, job: &Job) -> Result<Job, StoreError>;

    /// Records a transition of a job: its state, counts and rejects (rejects replace
    /// earlier ones).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn record_job(&self, record: &JobRecord) -> Result<(), StoreError>;

    /// Stores each order `on_hold` unless the seller already has one with its id.
    /// The result has one entry per order, in the same order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn insert_orders(
        &self,
        job_id: &str,
        orders: &[NewOrder],
    ) -> Result<Vec<Inserted>, StoreError>;

    /// The orders with these keys that exist (any order of results).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn get_orders(&self, keys: &[OrderKey]) -> Result<Vec<Order>, StoreError>;

    /// One order with its status history.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn get_order(&self, key: &OrderKey) -> Result<Option<Order>, StoreError>;

    /// Applies `outcome` to the order if it is still `on_hold` (a conditional update);
    /// returns whether anything changed. Setting the status and reason it already has
    /// changes nothing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn set_outcome(&self, key: &OrderKey, outcome: &Outcome) -> Result<bool, StoreError>;

    /// [`OrderStore::set_outcome`] for each order in turn; whether each changed, in order.
    ///
    /// # Errors
    /// As [`OrderStore::set_outcome`]; outcomes applied before the error may stay.
    async fn set_outcomes(
        &self,
        outcomes: &[(OrderKey, Outcome)],
    ) -> Result<Vec<bool>, StoreError> {
        let mut out = Vec::with_capacity(outcomes.len());
        for (key, outcome) in outcomes {
            out.push(self.set_outcome(key, outcome).await?);
        }
        Ok(out)
    }

    /// Orders matching `filter`, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn list_orders(&self, filter: &OrderFilter) -> Result<Vec<Order>, StoreError>;

    /// One job with its rejects.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn get_job(&self, job_id: &str) -> Result<Option<Job>, StoreError>;

    /// The newest `limit` jobs (without their rejects), newest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn list_jobs(&self, limit: usize) -> Result<Vec<Job>, StoreError>;

    /// How many jobs are in each state (states with none may be left out).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`] (also when the store cannot
    /// count cheaply).
    async fn count_jobs_by_state(&self) -> Result<Vec<(JobState, u64)>, StoreError> {
        Err(StoreError::Other("counting jobs is not supported".into()))
    }

    /// How many orders have each status (statuses with none may be left out).
    ///
    /// # Errors
    /// As [`OrderStore::count_jobs_by_state`].
    async fn count_orders_by_status(&self) -> Result<Vec<(Status, u64)>, StoreError> {
        Err(StoreError::Other("counting orders is not supported".into()))
    }

    /// The ids of the jobs whose id starts with `prefix`, in id order, at most `limit`
    /// of them: how a short job id (`6f1c2a3b`) is resolved. The default reads every
    /// job through [`OrderStore::list_jobs`]; an adapter may answer with one query.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn find_jobs_by_prefix(
        &self,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        let mut ids: Vec<String> = self
            .list_jobs(usize::MAX)
            .await?
            .into_iter()
            .map(|j| j.job_id)
            .filter(|id| id.starts_with(prefix))
            .collect();
        ids.sort();
        ids.truncate(limit);
        Ok(ids)
    }

    /// How many jobs in each state were last changed at or after `since` (RFC 3339
    /// UTC; states with none may be left out); `None` when the store cannot count so
    /// (the default), and `oms status` shows the figure as unknown.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn count_jobs_changed_since(
        &self,
        since: &str,
    ) -> Result<Option<Vec<(JobState, u64)>>, StoreError> {
        let _ = since;
        Ok(None)
    }

    /// How many orders have each status and reason (pairs with none may be left out);
    /// `None` when the store cannot count so (the default).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn count_orders_by_status_and_reason(
        &self,
    ) -> Result<Option<Vec<(Status, Option<String>, u64)>>, StoreError> {
        Ok(None)
    }

    /// The `limit` jobs with an error (failed ones) that changed last, the latest
    /// first, without their rejects; `None` when the store cannot tell (the default).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`], [`StoreError::Other`].
    async fn last_job_errors(&self, limit: usize) -> Result<Option<Vec<Job>>, StoreError> {
        let _ = limit;
        Ok(None)
    }
}

// ---------------------------------------------------------------------------------------
// Warehouse
// ---------------------------------------------------------------------------------------

/// Errors of the warehouse. None of them means "valid" or "reserved".
#[derive(Debug, thiserror::Error)]
pub enum WmsError {
    /// Not reachable, timed out, or a 5xx: retried by the caller, the work stays
    /// unacknowledged.
    #[error("warehouse unavailable: {0}")]
    Unavailable(#[source] Detail),
    /// The warehouse answered something outside its contract.
    #[error("warehouse protocol error: {0}")]
    Protocol(#[source] Detail),
}

/// The warehouse's word on a (hub, sku) pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Validation {
    Known,
    /// The hub or the SKU does not exist; the text says which, for the seller.
    Unknown(String),
}

/// The warehouse's word on reserving all items of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reservation {
    /// Every item deducted now.
    Reserved,
    /// This (seller, order) was reserved before; nothing deducted now.
    AlreadyReserved,
    /// Some item has not enough stock (or none at all); nothing deducted.
    Insufficient { hub_id: HubId, sku_id: SkuId },
}

/// The warehouse: knows hubs and SKUs and holds the stock.
#[async_trait]
pub trait Warehouse: Send + Sync {
    /// Whether the hub and the SKU exist.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`], [`WmsError::Protocol`].
    async fn validate(&self, hub: &HubId, sku: &SkuId) -> Result<Validation, WmsError>;

    /// [`Warehouse::validate`] for several pairs, the answers in the same order.
    /// Adapters answer it in one database call or several requests at once; the
    /// default asks one pair after the other.
    ///
    /// # Errors
    /// As [`Warehouse::validate`].
    async fn validate_many(&self, pairs: &[(HubId, SkuId)]) -> Result<Vec<Validation>, WmsError> {
        let mut out = Vec::with_capacity(pairs.len());
        for (hub, sku) in pairs {
            out.push(self.validate(hub, sku).await?);
        }
        Ok(out)
    }

    /// Deducts every item of order `key`, all or nothing; idempotent by `key` where the
    /// warehouse supports it.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`], [`WmsError::Protocol`].
    async fn reserve(&self, key: &OrderKey, items: &[OrderItem]) -> Result<Reservation, WmsError>;

    /// [`Warehouse::reserve`] for several orders, the answers in the same order. Each
    /// order stays all or nothing on its own and idempotent by its key, so after an
    /// error the same call may be made again. Adapters answer it in one database call
    /// or several requests at once; the default asks one order after the other.
    ///
    /// # Errors
    /// As [`Warehouse::reserve`]; orders reserved before the error stay reserved.
    async fn reserve_many(
        &self,
        orders: &[(OrderKey, Vec<OrderItem>)],
    ) -> Result<Vec<Reservation>, WmsError> {
        let mut out = Vec::with_capacity(orders.len());
        for (key, items) in orders {
            out.push(self.reserve(key, items).await?);
        }
        Ok(out)
    }
}

/// The result of deducting one item ([`Inventory::deduct`], the original contract's
/// `validate_inventory`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deduction {
    /// The quantity was there and is deducted now.
    Done,
    /// The hub holds the SKU, but less than asked; nothing deducted.
    Insufficient,
    /// The hub holds no line for the SKU; nothing deducted.
    NotFound,
}

/// The stock a warehouse holds, set and read by the operator (`oms inventory`) and
/// deducted item by item by the original contract (`oms wms serve`); the embedded
/// warehouse offers it.
#[async_trait]
pub trait Inventory: Send + Sync {
    /// Sets the stock of each (hub, sku) in `lines` (others are left as they are), all
    /// together; returns how many lines were set.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`]; nothing is changed then.
    async fn load(&self, lines: Vec<Stock>) -> Result<usize, WmsError>;

    /// Every stock line, by hub then SKU.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`].
    async fn list(&self) -> Result<Vec<Stock>, WmsError>;

    /// Deducts `qty` of one (hub, sku) if that much is in stock, as one conditional
    /// update: concurrent calls never drive stock below zero. Not idempotent: each
    /// call that is [`Deduction::Done`] deducts again.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`]; nothing is deducted then.
    async fn deduct(&self, hub: &HubId, sku: &SkuId, qty: Quantity) -> Result<Deduction, WmsError>;
}

// ---------------------------------------------------------------------------------------
// Unit of work
// ---------------------------------------------------------------------------------------

/// Errors of a unit of work.
#[derive(Debug, thiserror::Error)]
#[error("transaction failed: {0}")]
pub struct TxError(#[source] pub Detail);

/// Groups the writes of several ports into one atomic commit where the adapters share
/// one database (the embedded default); a no-op elsewhere.
#[async_trait]
pub trait UnitOfWork: Send + Sync {
    /// Starts a transaction that the following port calls join.
    ///
    /// # Errors
    /// [`TxError`] when the database cannot start one.
    async fn begin(&self) -> Result<(), TxError>;
    /// Makes the writes since `begin` durable, all together.
    ///
    /// # Errors
    /// [`TxError`] when the commit fails (then nothing since `begin` happened).
    async fn commit(&self) -> Result<(), TxError>;
    /// Drops the writes since `begin`.
    async fn rollback(&self);
}

/// A unit of work for backends that cannot share a transaction.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTransaction;

#[async_trait]
impl UnitOfWork for NoTransaction {
    async fn begin(&self) -> Result<(), TxError> {
        Ok(())
    }
    async fn commit(&self) -> Result<(), TxError> {
        Ok(())
    }
    async fn rollback(&self) {}
}

/// Temporary space for work that outgrows memory: an ingest holds about
/// [`ScratchSpace::memory_budget`] bytes of a file's orders and spills the rest to a
/// [`SpillArea`](crate::domain::orders_file::SpillArea), which is removed when dropped.
pub trait ScratchSpace: Send + Sync {
    /// Bytes of a file's orders an ingest holds in memory before it spills.
    fn memory_budget(&self) -> usize;
    /// A new, empty area for one file.
    ///
    /// # Errors
    /// The temporary space cannot be used.
    fn spill_area(&self) -> std::io::Result<Box<dyn crate::domain::orders_file::SpillArea>>;
}
