//! The job queue on AWS SQS (aws-sdk-sqs): connecting through the standard AWS
//! configuration chain, resolving (or creating) the queue and its dead-letter queue,
//! and mapping the port's operations and SDK errors onto SQS.
//!
//! Semantics kept from the port:
//!
//! - `receive` long-polls (`WaitTimeSeconds` of at most 20 s per call, looping for
//!   longer waits) for one message and sets its visibility timeout per receive.
//! - Dead letters: a queue created here gets a dead-letter queue `<name>-dlq` and a
//!   `RedrivePolicy`, so SQS itself moves a message received more than `max_receives`
//!   times. On an existing queue without a redrive policy the adapter does it: such a
//!   message is copied to `<name>-dlq` (created when missing) and deleted from the queue
//!   instead of being returned.
//! - The dead-letter queue can be listed, redriven and purged. SQS has no "peek":
//!   `dead_letters` receives from it with a short visibility timeout, collects up to
//!   `max` distinct messages and makes them visible again at once (a crash in between
//!   hides them for a few seconds at most); it sees at most what SQS hands out, sorted
//!   by sent time. `redrive` receives, sends each body to the queue (a new message,
//!   receive count 0), then deletes it from the dead-letter queue, until it is empty: a
//!   crash in between may leave a copy in both, which ingest tolerates. `purge_dead`
//!   receives and deletes (`PurgeQueue` is refused more than once a minute and tells
//!   no count). A message the adapter dead-letters itself carries its receives in the
//!   message attribute `oms-receives`; one moved by SQS had the redrive policy's
//!   `maxReceiveCount`.
//! - Receipts: SQS may accept a receipt handle of an earlier delivery (`DeleteMessage`
//!   succeeds, and emulators even act on it). So the adapter remembers, for the receipts
//!   it handed out, until when each holds its message by its own clock; a receipt whose
//!   visibility ran out, or that was already acknowledged or released, is
//!   [`QueueError::LostReceipt`] without asking SQS. Receipts it does not know (handed
//!   out by another client) are left to SQS.
//!
//! No SDK type crosses the port: errors become [`QueueError`] (network, timeouts, 5xx
//! and throttling are `Unavailable`; invalid or expired receipts are `LostReceipt`),
//! and the [`SqsFault`] behind each one's detail tells its [`FaultKind`] (refused
//! credentials, a missing queue, no answer ...) by type, with SQS's error code.
//!
//! The files of this folder, by concern: `setup` (the client, connecting, creating the
//! queues and reading redrive policies), `errors` (sorting SDK errors into
//! [`QueueError`]), `receipts` (the receipt book), `messages` (send, receive, extend,
//! ack, release, depth), `dead_letters` (moving, listing, redriving and purging dead
//! letters), `probe` (what `oms doctor` asks: [`SqsQueue::probe`]).

mod dead_letters;
mod errors;
mod messages;
mod probe;
mod receipts;
mod setup;

pub use errors::{FaultKind, SqsFault};
pub use probe::{ProbeFailure, Redrive, SqsFound, SqsProbe};

use crate::ports::{DeadLetter, JobQueue, QueueDepth, QueueError, QueueMessage};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use receipts::ReceiptBook;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Where and how to use the SQS queue.
#[derive(Debug, Clone)]
pub struct SqsSettings {
    /// Queue name or URL; created (with its dead-letter queue) when missing.
    pub queue: String,
    /// Endpoint override (emulators such as moto); `None` for AWS.
    pub endpoint: Option<String>,
    /// Visibility of a received message; SQS counts whole seconds, so it is rounded up
    /// (at least 1 s).
    pub visibility_timeout: Duration,
    /// Receives before a message is dead-lettered, when the queue has no redrive policy.
    pub max_receives: u32,
}

/// The longest visibility timeout SQS accepts (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;

/// The SQS adapter. Clones share one client and one receipt book.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    inner: Arc<Inner>,
}

/// What the clones of one [`SqsQueue`] share.
#[derive(Debug)]
struct Inner {
    client: Client,
    /// URL of the main queue.
    url: String,
    /// Name of the main queue (for messages).
    name: String,
    /// Visibility per receive, whole seconds.
    visibility_secs: u64,
    /// Receives before the adapter dead-letters a message itself (no redrive policy).
    max_receives: u32,
    /// The queue's redrive policy, as SQS gave it; when there is one, SQS moves dead
    /// letters itself.
    redrive_policy: Option<String>,
    /// The redrive policy's `maxReceiveCount`: the receives of a message SQS moved.
    policy_receives: Option<u32>,
    /// The dead-letter queue: its name, owner account, and URL once known.
    dlq: DeadLetterQueue,
    /// Until when each receipt this client handed out holds its message.
    receipts: Mutex<ReceiptBook>,
}

/// The dead-letter queue: the one the redrive policy names, else `<name>-dlq`.
#[derive(Debug)]
struct DeadLetterQueue {
    name: String,
    /// The account that owns it, when the redrive policy names one.
    owner: Option<String>,
    /// Its URL, once looked up (or created).
    url: tokio::sync::Mutex<Option<String>>,
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A visibility timeout in SQS's terms: whole seconds, rounded up, 1 s to 12 h.
fn visibility_secs(d: Duration) -> u64 {
    ceil_secs(d).clamp(1, MAX_VISIBILITY_SECS)
}

/// Seconds as SQS's `i32`, saturating.
fn as_i32(secs: u64) -> i32 {
    i32::try_from(secs).unwrap_or(i32::MAX)
}

impl SqsQueue {
    /// The URL of the queue in use.
    pub fn url(&self) -> &str {
        &self.inner.url
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        self.send_body(body).await
    }

    async fn receive(&self, wait: Duration) -> Result<Option<QueueMessage>, QueueError> {
        self.receive_within(wait).await
    }

    async fn extend(&self, msg: &QueueMessage, by: Duration) -> Result<(), QueueError> {
        self.extend_hold(msg, by).await
    }

    async fn ack(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.delete_held(msg).await
    }

    async fn release(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.release_held(msg).await
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        self.count_messages().await
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.list_dead(max).await
    }

    async fn redrive(&self) -> Result<u64, QueueError> {
        self.redrive_dead().await
    }

    async fn purge_dead(&self) -> Result<u64, QueueError> {
        self.purge_dead_letters().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_up_and_visibility_stays_in_range() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_millis(300)), 1);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
        assert_eq!(ceil_secs(Duration::from_millis(2001)), 3);
        assert_eq!(visibility_secs(Duration::ZERO), 1);
        assert_eq!(visibility_secs(Duration::from_millis(400)), 1);
        assert_eq!(
            visibility_secs(Duration::from_secs(90_000)),
            MAX_VISIBILITY_SECS
        );
    }
}
