//! Fulfil: the event consumer. For each order event: if the order is still `on_hold`,
//! reserve all its items at the warehouse, all or nothing; `new_order` on success,
//! `on_hold` with reason `insufficient_inventory` otherwise. Offsets are committed only
//! after the outcomes are stored; with the embedded default, reservation, status change
//! and offset commit are one transaction, and everywhere the reservation is keyed by
//! (seller, order) so a redelivered event never deducts twice.

use super::backoff::Backoff;
use super::{AppError, Backends, Shutdown, in_transaction};
use crate::domain::wms_contract::RESERVE_MANY_MAX;
use crate::domain::{OrderKey, Outcome, Status};
use crate::ports::{BusError, Consumer, Delivered, Reservation};
// foldhash, not SipHash: a batch's keys are hashed several times each (SipHash was ~4 %
// of the CPU of an embedded fulfil).
use foldhash::{HashMap, HashSet, HashSetExt};
use std::sync::Arc;
use std::time::Duration;

/// Events per batch when the store or the warehouse is remote: each event is then a
/// round trip to both, and a batch must end well inside the consumer's poll deadline
/// (its session timeout, 6 s at least on Kafka), or the member is put out of the group,
/// its commit fails and the same events come back again and again.
pub const REMOTE_BATCH: usize = 25;

/// Events per batch when only the warehouse is remote: its reservations go out several
/// at once (see `Warehouse::reserve_many`), a batch being the most one `reserve_many`
/// request of the contract takes, so it still takes well under a second against a
/// warehouse answering in milliseconds, even one that takes each order on its own.
/// 500 rather than 200: ~15 % faster against `oms wms serve` (fewer requests and
/// transactions on both sides).
pub const REMOTE_WMS_BATCH: usize = RESERVE_MANY_MAX;

/// Events per batch when the store and the warehouse are both the embedded database:
/// each batch is one transaction, which also deducts the stock of every (hub, sku) its
/// orders name once, after one read of the stock. 20000 rather than 5000: ~7 % faster
/// on 250k orders (a batch of 5000 already names most (hub, sku) of a big catalogue, so
/// the stock is read and deducted about once per batch whatever its size), and a batch
/// still takes well under a second. Memory: ~60 MB more than 5000 at peak.
pub const LOCAL_BATCH: usize = 20_000;

/// Events per batch: `flag` when the operator gave one; otherwise a local batch is one
/// quick transaction, with a remote warehouse its reservations are sent several at
/// once, and a remote store is a round trip per event.
#[must_use]
pub fn batch_size(flag: Option<u32>, store_local: bool, wms_local: bool) -> usize {
    match flag {
        Some(n) => n as usize,
        None if store_local && wms_local => FulfilOptions::default().batch,
        None if store_local => REMOTE_WMS_BATCH,
        None => REMOTE_BATCH,
    }
}

/// How `fulfil` runs.
#[derive(Debug, Clone)]
pub struct FulfilOptions {
    pub group: String,
    /// Exit once the group's committed offsets reach the end of the log.
    pub drain: bool,
    /// Events taken per batch (one transaction on the embedded default).
    pub batch: usize,
    /// Wait of one poll.
    pub wait: Duration,
}

impl Default for FulfilOptions {
    fn default() -> Self {
        Self {
            group: "oms-fulfil".into(),
            drain: false,
            batch: LOCAL_BATCH,
            wait: Duration::from_secs(1),
        }
    }
}

/// Counts since the start of one `fulfil` run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FulfilTotals {
    pub events: u64,
    pub new_order: u64,
    pub on_hold: u64,
    /// Events for orders already past `on_hold`, unknown, or unreadable.
    pub skipped: u64,
    /// With `drain`: the group's offsets reached the end of the log (false when a
    /// shutdown came first).
    pub drained: bool,
}

/// With `drain`, a poll or batch failing this many times in a row ends the run with
/// the error (a backend is down); without it, `fulfil` keeps retrying.
pub const DRAIN_ATTEMPTS: u32 = 6;

/// With `drain`, how long the group's lag may stay the same, above zero, while this
/// member is given nothing, before it leaves the group and joins again. A broker can
/// leave a formed group with partitions assigned to nobody (seen with tansu after a
/// restart: every member heart-beating, none fetching); joining again makes it assign
/// them anew.
pub const DRAIN_STALL: Duration = Duration::from_secs(20);

/// What `fulfil` tells whoever watches it: a live pane on a terminal, periodic log
/// lines elsewhere. Every hook has a no-op default; hooks must be quick.
pub trait FulfilObserver: Send + Sync {
    /// A batch is committed: its own counts, and the totals since the start.
    fn batch_done(&self, _batch: &FulfilTotals, _totals: &FulfilTotals) {}
    /// A poll came back empty.
    fn idle(&self) {}
    /// The group's lag (events not yet committed), measured every
    /// [`FulfilObserver::lag_every`] and while draining.
    fn lag(&self, _lag: u64) {}
    /// A failure that the consumer survives (a poll, a batch to be tried again).
    fn error(&self, _what: &str) {}
    /// How often to measure the group's lag (on a task of its own, so the consumer
    /// never waits for it); `None`: never.
    fn lag_every(&self) -> Option<Duration> {
        None
    }
}

/// An observer that wants to know nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl FulfilObserver for NoObserver {}

/// Runs the consumer until shutdown (or, with `drain`, until the group has no lag),
/// telling `observer` what it does.
///
/// # Errors
/// When the bus cannot be joined at all.
pub async fn run(
    b: &Backends,
    opts: &FulfilOptions,
    shutdown: Shutdown,
    observer: Arc<dyn FulfilObserver>,
) -> Result<FulfilTotals, AppError> {
    let lag_watch = observer.lag_every().map(|every| {
        let (bus, group, observer) = (
            Arc::clone(&b.bus),
            opts.group.clone(),
            Arc::clone(&observer),
        );
        tokio::spawn(async move {
            loop {
                if let Ok(n) = bus.lag(&group).await {
                    observer.lag(n);
                }
                tokio::time::sleep(every).await;
            }
        })
    });
    let r = consume(b, opts, shutdown, observer.as_ref()).await;
    if let Some(w) = lag_watch {
        w.abort();
    }
    r
}

async fn consume(
    b: &Backends,
    opts: &FulfilOptions,
    mut shutdown: Shutdown,
    observer: &dyn FulfilObserver,
) -> Result<FulfilTotals, AppError> {
    let mut consumer = b.bus.subscribe(&opts.group).await?;
    let mut totals = FulfilTotals::default();
    let mut backoff = Backoff::CONSUMER;
    // With nothing to do, a drain ends at once rather than after an empty poll.
    let mut drained = opts.drain && matches!(b.bus.lag(&opts.group).await, Ok(0));
    let mut failures = 0u32;
    // With `drain`: the lag last seen on an empty poll, and since when it is so.
    let mut stalled: Option<(u64, std::time::Instant)> = None;
    loop {
        if shutdown.is_set() || drained {
            break;
        }
        let polled = tokio::select! {
            () = shutdown.wait() => break,
            r = consumer.poll(opts.batch, opts.wait) => r,
        };
        let batch = match polled {
            Ok(batch) => batch,
            Err(e) => {
                failures += 1;
                if opts.drain && failures >= DRAIN_ATTEMPTS {
                    consumer.close().await;
                    return Err(e.into());
                }
                observer.error(&format!("poll failed: {e}"));
                tracing::warn!("poll failed: {e}; retrying in {:?}", backoff.delay());
                if backoff.wait(&mut shutdown).await {
                    break;
                }
                continue;
            }
        };
        if batch.is_empty() {
            observer.idle();
            if opts.drain {
                let lag = b.bus.lag(&opts.group).await;
                if let Ok(n) = lag {
                    observer.lag(n);
                }
                match lag {
                    Ok(0) => {
                        drained = true;
                        break;
                    }
                    Ok(n) => {
                        tracing::debug!(lag = n, "draining: waiting for the rest of the log");
                        match stalled {
                            Some((was, since)) if was == n => {
                                if since.elapsed() >= DRAIN_STALL {
                                    tracing::warn!(
                                        lag = n,
                                        "nothing delivered for {}s while the group's lag \
                                         stays at {n}: joining the group again",
                                        DRAIN_STALL.as_secs()
                                    );
                                    consumer.close().await;
                                    consumer = b.bus.subscribe(&opts.group).await?;
                                    stalled = None;
                                }
                            }
                            _ => stalled = Some((n, std::time::Instant::now())),
                        }
                    }
                    Err(e) => tracing::warn!("cannot read the lag: {e}"),
                }
            }
            continue;
        }
        stalled = None;
        // The same batch is tried until it is done, the partition moves, or shutdown.
        loop {
            match apply(b, consumer.as_mut(), &batch).await {
                Ok(t) => {
                    failures = 0;
                    totals.events += t.events;
                    totals.new_order += t.new_order;
                    totals.on_hold += t.on_hold;
                    totals.skipped += t.skipped;
                    backoff.reset();
                    observer.batch_done(&t, &totals);
                    if opts.drain {
                        // This batch may have been the end of the log: look before
                        // waiting through an empty poll.
                        if let Ok(0) = b.bus.lag(&opts.group).await {
                            observer.lag(0);
                            drained = true;
                        }
                    }
                    tracing::debug!(
                        events = t.events,
                        new_order = t.new_order,
                        on_hold = t.on_hold,
                        "batch done"
                    );
                    break;
                }
                Err(Failure::Rebalanced(p)) => {
                    tracing::info!(
                        partition = p,
                        "partition moved to another consumer; its events are theirs now"
                    );
                    break;
                }
                Err(Failure::Retry(e)) => {
                    failures += 1;
                    if opts.drain && failures >= DRAIN_ATTEMPTS {
                        consumer.close().await;
                        return Err(e);
                    }
                    observer.error(&format!("batch not done: {e}"));
                    tracing::warn!("batch not done: {e}; retrying in {:?}", backoff.delay());
                    if backoff.wait(&mut shutdown).await {
                        break;
                    }
                }
            }
        }
    }
    consumer.close().await;
    totals.drained = drained;
    Ok(totals)
}

enum Failure {
    Rebalanced(i32),
    Retry(AppError),
}

impl<E: Into<AppError>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::Retry(e.into())
    }
}

/// One batch in one unit of work: outcomes stored, then offsets committed.
async fn apply(
    b: &Backends,
    consumer: &mut dyn Consumer,
    batch: &[Delivered],
) -> Result<FulfilTotals, Failure> {
    in_transaction(&*b.uow, async || apply_in_tx(b, consumer, batch).await).await
}

async fn apply_in_tx(
    b: &Backends,
    consumer: &mut dyn Consumer,
    batch: &[Delivered],
) -> Result<FulfilTotals, Failure> {
    let mut t = FulfilTotals {
        events: batch.len() as u64,
        ..FulfilTotals::default()
    };
    let mut keys = Vec::with_capacity(batch.len());
    for d in batch {
        // Only the order's key is read: the store holds the order itself.
        let key = match &d.order {
            Some(key) => Ok(key.clone()),
            None => serde_json::from_str::<OrderKey>(&d.payload),
        };
        match key {
            Ok(key) => keys.push(key),
            Err(e) => {
                t.skipped += 1;
                tracing::warn!(
                    partition = d.partition,
                    offset = d.offset,
                    "not an order event, skipped: {e}"
                );
            }
        }
    }
    let mut orders: HashMap<OrderKey, _> = b
        .store
        .get_orders(&keys)
        .await?
        .into_iter()
        .map(|o| (o.key(), o))
        .collect();
    // The orders still on hold, each once (an event may be in the batch twice).
    let mut pending = Vec::with_capacity(keys.len());
    let mut seen = HashSet::with_capacity(keys.len());
    for key in keys {
        if !seen.insert(key.clone()) {
            t.skipped += 1;
            continue;
        }
        let Some(order) = orders.remove(&key) else {
            t.skipped += 1;
            tracing::warn!(order = %key, "event for an order the store does not have, skipped");
            continue;
        };
        if order.status != Status::OnHold {
            t.skipped += 1;
            continue;
        }
        pending.push((key, order.items));
    }
    let reservations = b.wms.reserve_many(&pending).await?;
    let outcomes: Vec<(OrderKey, Outcome)> = pending
        .into_iter()
        .zip(reservations)
        .map(|((key, _), r)| {
            let outcome = match r {
                Reservation::Reserved | Reservation::AlreadyReserved => Outcome::fulfilled(),
                Reservation::Insufficient { hub_id, sku_id } => {
                    tracing::debug!(order = %key, %hub_id, %sku_id, "insufficient inventory");
                    Outcome::insufficient()
                }
            };
            (key, outcome)
        })
        .collect();
    b.store.set_outcomes(&outcomes).await?;
    for (_, outcome) in &outcomes {
        if outcome.status == Status::NewOrder {
            t.new_order += 1;
        } else {
            t.on_hold += 1;
        }
    }
    match consumer.commit(batch).await {
        Ok(()) => Ok(t),
        Err(BusError::Rebalanced(p)) => Err(Failure::Rebalanced(p)),
        Err(e) => Err(e.into()),
    }
}
