//! Ingest: the queue consumer. For each bulk-order message: open the file through its
//! source (exactly the version the message names), parse it and check its checksum,
//! validate each distinct (hub, sku) once at the warehouse, store the valid orders
//! `on_hold`, publish one event per stored order, record the job, and only then
//! acknowledge. Anything that may succeed later (a file source or a backend that is
//! unavailable) leaves the message for redelivery; redelivery creates nothing twice.

mod storing;

use super::backoff::{Backoff, retry_transient};
use super::files::{Tally, s3_not_configured};
use super::jobs::report;
use super::{AppError, Backends, Shutdown, in_transaction};
use crate::domain::orders_file::{
    FileError as ParseError, Limits, ParsedOrders, parse_orders_within,
};
use crate::domain::{BulkOrderRequest, HubId, Job, JobState, SellerId, SkuId, timestamp};
use crate::ports::{
    FileError, JobRecord, OrderFiles, QueueDepth, QueueMessage, ScratchSpace, Validation, WmsError,
};
use std::cell::Cell;
use std::collections::HashMap;
use std::io::{BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// (hub, sku) pairs per warehouse validation call.
const VALIDATE_CHUNK: usize = 256;

/// How `ingest` runs.
#[derive(Debug, Clone, Copy)]
pub struct IngestOptions {
    /// Exit once nothing is visible or in flight.
    pub drain: bool,
    /// Long-poll wait of one receive.
    pub wait: Duration,
    /// How long a taken message stays invisible; extended while its file is worked on.
    pub visibility: Duration,
    /// Tries of a warehouse call before the message is left for redelivery.
    pub wms_attempts: u32,
}

impl Default for IngestOptions {
    fn default() -> Self {
        Self {
            drain: false,
            wait: Duration::from_secs(20),
            visibility: Duration::from_secs(30),
            wms_attempts: 5,
        }
    }
}

/// Counts since the start of one `ingest` run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestTotals {
    pub messages: u64,
    pub jobs_done: u64,
    pub jobs_failed: u64,
    /// Messages left for redelivery (a backend failed, shutdown, or not a request).
    pub left_for_redelivery: u64,
    pub rows: u64,
    pub orders_accepted: u64,
    pub orders_rejected: u64,
    pub orders_duplicate: u64,
    /// A drain stopped because a backend was unavailable (its message left for the
    /// next run).
    pub gave_up: bool,
}

/// What `ingest` tells whoever watches it: a live pane on a terminal, periodic log
/// lines elsewhere. Every hook has a no-op default. Hooks are called from the
/// consumer's tasks and from the thread that parses a file, so they must be quick and
/// must not block.
pub trait IngestObserver: Send + Sync {
    /// A message's file is about to be read: its job, its path as submitted, and its
    /// size when known.
    fn file_started(&self, _job_id: &str, _path: &str, _bytes: Option<u64>) {}
    /// Rows parsed so far and bytes read so far; called every few thousand rows.
    fn rows_read(&self, _job_id: &str, _rows: u64, _bytes: u64) {}
    /// The whole file is parsed: its rows, and the distinct (hub, sku) pairs the
    /// warehouse is now asked about.
    fn file_parsed(&self, _job_id: &str, _rows: u64, _pairs: u64) {}
    /// The warehouse answered: orders about to be stored, orders rejected.
    fn file_checked(&self, _job_id: &str, _orders: u64, _rejected: u64) {}
    /// Orders stored (or found stored) so far; called after each chunk.
    fn orders_stored(&self, _job_id: &str, _stored: u64) {}
    /// The job is recorded, done or failed for good, and its message acknowledged.
    fn file_finished(&self, _report: &JobRecord) {}
    /// A message was left for redelivery (its job when known, and why).
    fn left_for_redelivery(&self, _job_id: Option<&str>, _why: &str) {}
    /// A receive came back empty; the queue's depth when it is known.
    fn idle(&self, _depth: Option<QueueDepth>) {}
    /// The queue's depth, measured every [`IngestObserver::depth_every`].
    fn queue_depth(&self, _depth: QueueDepth) {}
    /// A failure that the consumer survives (a receive, an acknowledgement).
    fn error(&self, _what: &str) {}
    /// How often to measure the queue's depth (on a task of its own, so the consumer
    /// never waits for it); `None`: never.
    fn depth_every(&self) -> Option<Duration> {
        None
    }
}

/// An observer that wants to know nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl IngestObserver for NoObserver {}

/// What became of one message.
#[derive(Debug)]
enum Handled {
    /// The job is recorded (done or failed for good): acknowledge.
    Recorded(JobRecord),
    /// Leave the message; it comes back after its visibility timeout.
    Leave(String),
    /// A backend (or the file's source) is unavailable, after the tries of its own:
    /// leave the message like [`Handled::Leave`]; a drain gives up.
    Unavailable(String),
    /// Shutdown came first: make it visible again now.
    Interrupted,
}

/// Runs the consumer until shutdown (or, with `drain`, until the queue is empty),
/// telling `observer` what it does.
///
/// # Errors
/// Only when the queue itself keeps failing at start; per-message failures are logged
/// and left for redelivery.
pub async fn run(
    b: &Backends,
    opts: IngestOptions,
    shutdown: Shutdown,
    observer: Arc<dyn IngestObserver>,
) -> Result<IngestTotals, AppError> {
    let depth_watch = observer.depth_every().map(|every| {
        let (queue, observer) = (Arc::clone(&b.queue), Arc::clone(&observer));
        tokio::spawn(async move {
            loop {
                if let Ok(d) = queue.depth().await {
                    observer.queue_depth(d);
                }
                tokio::time::sleep(every).await;
            }
        })
    });
    let r = consume(b, opts, shutdown, &observer).await;
    if let Some(w) = depth_watch {
        w.abort();
    }
    r
}

async fn consume(
    b: &Backends,
    opts: IngestOptions,
    mut shutdown: Shutdown,
    observer: &Arc<dyn IngestObserver>,
) -> Result<IngestTotals, AppError> {
    let mut totals = IngestTotals::default();
    let mut backoff = Backoff::CONSUMER;
    // While draining, the queue is checked before each receive, so the run ends as
    // soon as the last message is done (or at once when there is none) instead of
    // after one more empty long poll.
    loop {
        if shutdown.is_set() {
            break;
        }
        if opts.drain
            && let Ok(d) = b.queue.depth().await
            && d.visible == 0
            && d.in_flight == 0
        {
            observer.idle(Some(d));
            break;
        }
        let received = tokio::select! {
            () = shutdown.wait() => break,
            r = b.queue.receive(opts.wait) => r,
        };
        let msg = match received {
            Ok(Some(m)) => m,
            Ok(None) => {
                if opts.drain {
                    let d = b.queue.depth().await?;
                    observer.idle(Some(d));
                    if d.visible == 0 && d.in_flight == 0 {
                        break;
                    }
                    tracing::debug!(
                        in_flight = d.in_flight,
                        "draining: waiting for in-flight messages"
                    );
                } else {
                    observer.idle(None);
                }
                continue;
            }
            Err(e) => {
                observer.error(&format!("receive failed: {e}"));
                tracing::warn!("receive failed: {e}; retrying in {:?}", backoff.delay());
                if backoff.wait(&mut shutdown).await {
                    break;
                }
                continue;
            }
        };
        backoff.reset();
        totals.messages += 1;
        let keeper = keep_invisible(b, &msg, opts.visibility);
        let cx = Ctx { b, opts, observer };
        let (job, handled) = handle(cx, &msg, shutdown.clone()).await;
        keeper.abort();
        match handled {
            Handled::Recorded(report) => {
                if let Err(e) = b.queue.ack(&msg).await {
                    observer.error(&format!("job {}: acknowledge failed: {e}", report.job_id));
                    tracing::warn!(job = %report.job_id, "acknowledge failed ({e}); the message will be redelivered and change nothing");
                }
                totals.rows += report.counts.rows;
                totals.orders_accepted += report.counts.orders_accepted;
                totals.orders_rejected += report.counts.orders_rejected;
                totals.orders_duplicate += report.counts.orders_duplicate;
                if report.state == JobState::Done {
                    totals.jobs_done += 1;
                    tracing::info!(
                        job = %report.job_id,
                        rows = report.counts.rows,
                        accepted = report.counts.orders_accepted,
                        rejected = report.counts.orders_rejected,
                        duplicate = report.counts.orders_duplicate,
                        warnings = report.counts.warnings,
                        "job done"
                    );
                } else {
                    totals.jobs_failed += 1;
                    tracing::warn!(job = %report.job_id, error = report.error.as_deref().unwrap_or(""), "job failed");
                }
                observer.file_finished(&report);
            }
            Handled::Leave(why) => {
                totals.left_for_redelivery += 1;
                observer.left_for_redelivery(job.as_deref(), &why);
                tracing::warn!(message_id = %msg.id, receives = msg.receive_count, "left for redelivery: {why}");
            }
            Handled::Unavailable(why) => {
                totals.left_for_redelivery += 1;
                observer.left_for_redelivery(job.as_deref(), &why);
                tracing::warn!(message_id = %msg.id, receives = msg.receive_count, "left for redelivery: {why}");
                if opts.drain {
                    // The backend did not come back within the tries of its own: a
                    // drain cannot finish now; the message waits for the next run.
                    totals.gave_up = true;
                    tracing::warn!(
                        "a backend is unavailable: the drain gives up; run it again later"
                    );
                    break;
                }
            }
            Handled::Interrupted => {
                totals.left_for_redelivery += 1;
                let _ = b.queue.release(&msg).await;
                observer.left_for_redelivery(job.as_deref(), "shutdown: released for redelivery");
                tracing::info!(message_id = %msg.id, "shutdown: message released for redelivery");
                break;
            }
        }
    }
    Ok(totals)
}

/// Extends the message's visibility while its file is worked on.
fn keep_invisible(
    b: &Backends,
    msg: &QueueMessage,
    visibility: Duration,
) -> tokio::task::JoinHandle<()> {
    let (queue, msg) = (Arc::clone(&b.queue), msg.clone());
    tokio::spawn(async move {
        let every = (visibility / 3).max(Duration::from_millis(200));
        loop {
            tokio::time::sleep(every).await;
            if let Err(e) = queue.extend(&msg, visibility).await {
                tracing::warn!(message_id = %msg.id, "cannot extend visibility: {e}");
            }
        }
    })
}

/// The job failed for good: its report, to be recorded before the message is
/// acknowledged.
fn failed(job: Job, why: String) -> Result<Handled, AppError> {
    Ok(Handled::Recorded(report(job.fail(why)?)))
}

/// What every message is handled with.
#[derive(Clone, Copy)]
struct Ctx<'a> {
    b: &'a Backends,
    opts: IngestOptions,
    observer: &'a Arc<dyn IngestObserver>,
}

/// Handles one message; gives its job id too, once it is known.
async fn handle(cx: Ctx<'_>, msg: &QueueMessage, shutdown: Shutdown) -> (Option<String>, Handled) {
    let mut job = None;
    let handled = handle_message(cx, msg, shutdown, &mut job).await;
    (job, handled)
}

async fn handle_message(
    cx: Ctx<'_>,
    msg: &QueueMessage,
    mut shutdown: Shutdown,
    job_of: &mut Option<String>,
) -> Handled {
    let b = cx.b;
    let req = match BulkOrderRequest::from_json(msg.body.as_bytes()) {
        Ok(r) => r,
        Err(e) => {
            return Handled::Leave(format!(
                "{e}; it goes to the dead-letter queue after its last receive"
            ));
        }
    };
    // A message without a job id (sent by another program) gets one from its own id,
    // so its redeliveries are the same job.
    let job_id = req
        .job_id
        .clone()
        .unwrap_or_else(|| format!("msg-{}", msg.id));
    *job_of = Some(job_id.clone());
    let seller = match req.seller() {
        Ok(s) => s,
        Err(e) => return Handled::Leave(e.to_string()),
    };
    // An S3 file on a worker without S3 is this worker's configuration, not the file's
    // fault: another worker (or this one once S3 is configured) may read it, and after its
    // last receive it waits in the dead-letter queue to be redriven.
    if !b.files.serves(&req.file_path) {
        return Handled::Leave(format!(
            "{}; it goes to the dead-letter queue after its last receive",
            s3_not_configured(&req.file_path)
        ));
    }
    // A job the store does not know yet (the message came from another program) is
    // recorded as started at once.
    let arrived = Job::queued(
        job_id,
        &seller,
        req.file_path.clone(),
        req.sha256.clone(),
        timestamp::now(),
    )
    .start();
    let opened = match b.store.open_job(&arrived).await {
        Ok(j) => j,
        Err(e) => return left(e.into()),
    };
    let job = if opened.state == JobState::Processing {
        opened
    } else {
        let started = opened.start();
        if let Err(e) = b.store.record_job(&report(started.clone())).await {
            return left(e.into());
        }
        started
    };
    let report = match process(cx, &req, job, &seller, &mut shutdown).await {
        Ok(h) => h,
        Err(e) => return left(e),
    };
    match report {
        Handled::Recorded(r) if r.state == JobState::Failed => match b.store.record_job(&r).await {
            Ok(()) => Handled::Recorded(r),
            Err(e) => left(e.into()),
        },
        other => other,
    }
}

/// The message is left for redelivery because of `e`: [`Handled::Unavailable`] when a
/// backend is unavailable, [`Handled::Leave`] otherwise.
fn left(e: AppError) -> Handled {
    match e {
        AppError::Unavailable(_) => Handled::Unavailable(e.to_string()),
        _ => Handled::Leave(e.to_string()),
    }
}

/// Rows between two calls of the parser's `stop` check (its own pace).
const ROWS_PER_CHECK: u64 = 4096;

/// Reasons a job keeps (the first by line), however bad its file: beyond them a job's
/// record would grow with the file, and no one reads past the first thousands (the
/// count of the rest is the last reason). Orders rejected are always counted exactly.
pub const REJECTS_KEPT: usize = 50_000;

/// A file read: its orders, the distinct (hub, sku) pairs of its accepted orders, and
/// its SHA-256.
type ReadFile = (ParsedOrders, Vec<(HubId, SkuId)>, String);

/// Why a file could not be read to the end.
enum ReadError {
    /// The file or its source: the job fails when the file is refused or changed, the
    /// message is left for redelivery when the source is unavailable.
    Source(FileError),
    /// The temporary space for its orders: the message is left for redelivery.
    Scratch(String),
}

/// Reads and hashes the file in one pass, telling `observer` how far it got; `None`
/// when shutdown came first. A file that cannot be parsed is [`FileError::Refused`]; a
/// source that fails while it is read gives its own error.
fn read_file(
    reader: Box<dyn Read + Send>,
    seller: SellerId,
    stop: Arc<AtomicBool>,
    job_id: String,
    observer: Arc<dyn IngestObserver>,
    scratch: Arc<dyn ScratchSpace>,
) -> Result<Option<ReadFile>, ReadError> {
    let mut r = Tally::new(BufReader::with_capacity(1 << 16, reader));
    let bytes = r.counter();
    let rows = Cell::new(0u64);
    // The parser asks whether to stop every few thousand rows: the moment to report.
    let check = || {
        rows.set(rows.get() + ROWS_PER_CHECK);
        observer.rows_read(&job_id, rows.get(), bytes.get());
        stop.load(Ordering::Relaxed)
    };
    let scratch_error = |e: std::io::Error| ReadError::Scratch(format!("temporary space: {e}"));
    let area = scratch.spill_area().map_err(scratch_error)?;
    let limits = Limits {
        memory_bytes: scratch.memory_budget(),
        rejects: REJECTS_KEPT,
    };
    let parsed = match parse_orders_within(&mut r, &seller, &check, limits, Some(area)) {
        Ok(p) => p,
        Err(ParseError::Spill(e)) => return Err(ReadError::Scratch(e)),
        Err(e) => return Err(ReadError::Source(r.failure(e.to_string()))),
    };
    let Some(mut parsed) = parsed else {
        return Ok(None);
    };
    let sha = r.finish().map_err(ReadError::Source)?;
    observer.rows_read(&job_id, parsed.rows(), bytes.get());
    if parsed.spilled() {
        tracing::info!(job = %job_id, rows = parsed.rows(), "orders spilled past the memory budget");
    }
    let pairs = parsed.distinct_pairs().map_err(scratch_error)?;
    Ok(Some((parsed, pairs, sha)))
}

/// A file that cannot be used: the job fails for good when the file is refused or
/// changed; an unavailable or failing source leaves the message for redelivery.
fn file_failed(job: Job, e: FileError) -> Result<Handled, AppError> {
    match e {
        FileError::Refused(why) | FileError::Changed(why) => failed(job, why.to_string()),
        other => Err(other.into()),
    }
}

/// Works through the file of a started `job`: the job's report once it is done or
/// failed for good, [`Handled::Interrupted`] on shutdown; an error leaves the message
/// for redelivery.
async fn process(
    cx: Ctx<'_>,
    req: &BulkOrderRequest,
    job: Job,
    seller: &SellerId,
    shutdown: &mut Shutdown,
) -> Result<Handled, AppError> {
    let Ctx { b, opts, observer } = cx;
    let job_id = job.job_id.clone();
    let job_id = job_id.as_str();
    let opened = match b.files.open(&req.file_path, req.version.as_deref()).await {
        Ok(f) => f,
        Err(e) => return file_failed(job, e),
    };
    observer.file_started(job_id, &req.file_path, opened.bytes);
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, mut sd) = (Arc::clone(&stop), shutdown.clone());
        tokio::spawn(async move {
            sd.wait().await;
            stop.store(true, Ordering::Relaxed);
        })
    };
    let (seller2, job2, observer2) = (seller.clone(), job_id.to_owned(), Arc::clone(observer));
    let (reader, scratch) = (opened.reader, Arc::clone(&b.scratch));
    let read = tokio::task::spawn_blocking(move || {
        read_file(reader, seller2, stop, job2, observer2, scratch)
    })
    .await;
    watcher.abort();
    let (mut parsed, pairs, sha) = match read.map_err(|e| AppError::Failed(e.to_string().into()))? {
        Ok(Some(v)) => v,
        Ok(None) => return Ok(Handled::Interrupted),
        Err(ReadError::Source(e)) => return file_failed(job, e),
        Err(ReadError::Scratch(why)) => return Err(AppError::Unavailable(why.into())),
    };
    if let Some(want) = req
        .sha256
        .as_ref()
        .filter(|w| !w.eq_ignore_ascii_case(&sha))
    {
        return failed(
            job,
            format!(
                "the file changed since it was submitted (sha256 {sha}, submitted {want}); submit it again"
            ),
        );
    }

    // Each distinct (hub, sku) once, in chunks (the adapter sends a chunk's pairs
    // several at a time, or answers it in one database call); a chunk that fails for
    // a while is tried again, shutdown is checked between chunks.
    let mut verdicts: HashMap<(HubId, SkuId), Validation> = HashMap::new();
    observer.file_parsed(job_id, parsed.rows(), pairs.len() as u64);
    for chunk in pairs.chunks(VALIDATE_CHUNK) {
        if shutdown.is_set() {
            return Ok(Handled::Interrupted);
        }
        let unavailable = |e: &WmsError| matches!(e, WmsError::Unavailable(_));
        let mut sd = shutdown.clone();
        let answers = match retry_transient(opts.wms_attempts, &mut sd, unavailable, || {
            b.wms.validate_many(chunk)
        })
        .await
        {
            Ok(v) => v,
            Err(_) if shutdown.is_set() => return Ok(Handled::Interrupted),
            Err(e) => return Err(e.into()),
        };
        if answers.len() != chunk.len() {
            return Err(AppError::Failed(
                format!(
                    "the warehouse answered {} of {} validations",
                    answers.len(),
                    chunk.len()
                )
                .into(),
            ));
        }
        verdicts.extend(chunk.iter().cloned().zip(answers));
    }
    if shutdown.is_set() {
        return Ok(Handled::Interrupted);
    }
    // A pass over the accepted orders (read back from the spill area when they were
    // spilled): off the async threads.
    let checked = tokio::task::spawn_blocking(move || {
        parsed
            .reject_unknown(|h, s| match verdicts.get(&(h.clone(), s.clone())) {
                Some(Validation::Unknown(why)) => Some(why.clone()),
                _ => None,
            })
            .map(|()| parsed)
    })
    .await
    .map_err(|e| AppError::Failed(e.to_string().into()))?;
    parsed = checked.map_err(|e| AppError::Unavailable(format!("temporary space: {e}").into()))?;
    if shutdown.is_set() {
        return Ok(Handled::Interrupted);
    }
    observer.file_checked(job_id, parsed.orders(), parsed.orders_rejected());

    // Handed out chunk by chunk while stored: memory is released as the job goes.
    tracing::debug!(job = %job_id, orders = parsed.orders(), "storing orders");
    let stored = in_transaction(&*b.uow, async || {
        storing::store_and_publish(b, job, parsed, observer.as_ref(), shutdown)
            .await?
            .ok_or(Unfinished::Shutdown)
    })
    .await;
    match stored {
        Ok(report) => Ok(Handled::Recorded(report)),
        // Shutdown between two chunks: nothing of the job is recorded, so the message
        // must not be acknowledged. On the embedded default the orders, events and job
        // record are one transaction and the rollback leaves nothing; elsewhere the
        // chunks stored so far stay, and the redelivery finds them as this job's own
        // orders (publishes their events again; fulfil is idempotent) and creates
        // nothing twice, exactly as after a crash.
        Err(Unfinished::Shutdown) => {
            tracing::info!(job = %job_id, "shutdown while storing: nothing recorded");
            Ok(Handled::Interrupted)
        }
        Err(Unfinished::Failed(e)) => Err(e),
    }
}

/// Why storing a job's orders ended without its report: either way its transaction is
/// rolled back.
enum Unfinished {
    Shutdown,
    Failed(AppError),
}

impl<E: Into<AppError>> From<E> for Unfinished {
    fn from(e: E) -> Self {
        Unfinished::Failed(e.into())
    }
}
