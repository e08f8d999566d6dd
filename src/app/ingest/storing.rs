//! Storing a checked file's orders: made chunk by chunk on a thread of their own, each
//! chunk stored while the events of the one before are published, then the job
//! recorded.

use super::IngestObserver;
use crate::app::jobs::report;
use crate::app::orders::bus_event;
use crate::app::{AppError, Backends, Shutdown};
use crate::domain::orders_file::ParsedOrders;
use crate::domain::{Job, JobCounts, NewOrder, OrderEvent, Status};
use crate::ports::{Event, Inserted, JobRecord};

/// Orders stored (and their events published) per call; shutdown is checked between.
const STORE_CHUNK: usize = 2000;

/// Orders ready to store, with the event of each made ahead.
struct Chunk {
    orders: Vec<NewOrder>,
    events: Vec<Event>,
}

/// Hands out the orders chunk by chunk, each with its events, on a thread of its own:
/// the next chunk is made while the last one is stored. Stops when the orders run out
/// or when nobody takes chunks any more; gives the parsed file back for its rejects.
fn make_chunks(
    mut parsed: ParsedOrders,
    job_id: String,
    out: &tokio::sync::mpsc::Sender<std::io::Result<Chunk>>,
) -> ParsedOrders {
    loop {
        let chunk = parsed.next_orders(STORE_CHUNK).map(|orders| {
            let events = orders
                .iter()
                .map(|o| bus_event(&OrderEvent::created(o, &job_id)))
                .collect();
            Chunk { orders, events }
        });
        if matches!(&chunk, Ok(c) if c.orders.is_empty()) {
            break;
        }
        let failed = chunk.is_err();
        if out.blocking_send(chunk).is_err() || failed {
            break;
        }
    }
    parsed
}

/// Stores and publishes the orders, records the job done; `None` when shutdown came
/// first (whatever was written must then be rolled back and the message released).
///
/// A chunk is stored while the events of the one before are published: each order's
/// event still follows its own insert, and on the embedded default both are written
/// in the job's one transaction.
pub(super) async fn store_and_publish(
    b: &Backends,
    job: Job,
    parsed: ParsedOrders,
    observer: &dyn IngestObserver,
    shutdown: &Shutdown,
) -> Result<Option<JobRecord>, AppError> {
    let job_id = job.job_id.as_str();
    let mut counts = JobCounts {
        rows: parsed.rows(),
        orders_rejected: parsed.orders_rejected(),
        warnings: parsed.warnings(),
        ..JobCounts::default()
    };
    let (tx, mut chunks) = tokio::sync::mpsc::channel(1);
    let id = job_id.to_owned();
    let maker = tokio::task::spawn_blocking(move || make_chunks(parsed, id, &tx));
    let temporary =
        |e: std::io::Error| AppError::Unavailable(format!("temporary space: {e}").into());
    let mut pending: Vec<Event> = Vec::new();
    while let Some(chunk) = chunks.recv().await {
        let chunk = chunk.map_err(temporary)?;
        // A big file takes seconds to store: shutdown is checked between chunks so
        // that it is answered within one chunk's time, not the whole file's.
        if shutdown.is_set() {
            return Ok(None);
        }
        let (results, published) = tokio::join!(
            b.store.insert_orders(job_id, &chunk.orders),
            b.bus.publish(&pending)
        );
        published?;
        pending.clear();
        for (event, r) in chunk.events.into_iter().zip(results?) {
            let publish = match r {
                Inserted::Created => true,
                // Stored by an earlier delivery of this same job, maybe before its
                // events were published: publish again (fulfil is idempotent).
                Inserted::Existing {
                    job_id: ref j,
                    status,
                    ..
                } if j == job_id => status == Status::OnHold,
                Inserted::Existing { .. } => {
                    counts.orders_duplicate += 1;
                    continue;
                }
            };
            counts.orders_accepted += 1;
            if publish {
                pending.push(event);
            }
        }
        observer.orders_stored(job_id, counts.orders_accepted + counts.orders_duplicate);
    }
    b.bus.publish(&pending).await?;
    let mut parsed = maker
        .await
        .map_err(|e| AppError::Failed(e.to_string().into()))?;
    let report = report(job.finish(counts, parsed.take_rejects())?);
    b.store.record_job(&report).await?;
    Ok(Some(report))
}
