//! What `oms doctor` asks of SQS, as plain data: whether the queue existed before
//! connecting, its URL and depth, its redrive policy and whether the dead-letter queue
//! exists, with each failure sorted by its [`FaultKind`].

use super::errors::{FaultKind, Op, SqsFault, describe};
use super::setup::{
    CONNECT_TIMEOUT, client, dlq_of_redrive_policy, is_url, max_receives_of_redrive_policy,
    queue_attributes, queue_url,
};
use super::{SqsQueue, SqsSettings};
use crate::ports::{QueueDepth, QueueError};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use std::time::Duration;

/// What [`SqsQueue::probe`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqsProbe {
    /// SQS did not answer the lookup of the queue (no connection, a time-out): what
    /// happened.
    Unreachable(String),
    /// Connecting failed: the queue could not be looked up or created.
    NotConnected(ProbeFailure),
    /// Connected to the queue (created, with its dead-letter queue, when missing).
    Connected(SqsFound),
}

/// A step of the probe that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeFailure {
    /// How the adapter sorted the failure.
    pub kind: FaultKind,
    /// The adapter's error, as it says it.
    pub text: String,
}

impl ProbeFailure {
    /// The failure an error of this adapter stands for.
    fn of(e: &QueueError) -> Self {
        Self {
            kind: FaultKind::of(e),
            text: e.to_string(),
        }
    }
}

/// The queue [`SqsQueue::probe`] connected to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqsFound {
    /// The queue's URL.
    pub url: String,
    /// The queue's name.
    pub name: String,
    /// Whether the queue existed before connecting (`Some(false)`: created now);
    /// `None` when SQS would not say.
    pub existed: Option<bool>,
    /// Its messages, or why they cannot be counted.
    pub depth: Result<QueueDepth, ProbeFailure>,
    /// Its redrive policy and dead-letter queue.
    pub redrive: Redrive,
}

/// A queue's redrive policy and the dead-letter queue it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redrive {
    /// No redrive policy: the adapter itself moves a message received more than
    /// `max_receives` times to `dlq` (`<name>-dlq`, created on first use).
    Absent {
        /// The dead-letter queue's name.
        dlq: String,
        /// Whether it exists, or why it could not be looked up.
        dlq_exists: Result<bool, String>,
    },
    /// SQS moves a message received more than `max_receives` times to `dlq`.
    To {
        /// The dead-letter queue's name.
        dlq: String,
        /// The policy's `maxReceiveCount`, when it is a number.
        max_receives: Option<u32>,
        /// Whether it exists, or why it could not be looked up.
        dlq_exists: Result<bool, String>,
    },
    /// A redrive policy naming no dead-letter queue this adapter can read: its text.
    Unreadable(String),
}

impl SqsQueue {
    /// Looks at the queue of `settings` the way `oms doctor` reports on it: whether it
    /// exists, then connects as every `oms` command does (creating a missing queue and
    /// its dead-letter queue), counts its messages and reads its redrive policy and
    /// whether the dead-letter queue exists. The probe's own lookups make one attempt
    /// each and wait at most `timeout`.
    ///
    /// Never fails: what goes wrong is part of the answer.
    pub async fn probe(settings: SqsSettings, timeout: Duration) -> SqsProbe {
        let quick = client(
            settings.endpoint.as_deref(),
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(timeout)
                .operation_timeout(timeout)
                .build(),
            Some(1),
        )
        .await;
        let existed = match exists(&quick, settings.queue.trim()).await {
            Ok(existed) => existed,
            Err(why) => return SqsProbe::Unreachable(why),
        };
        let queue = match Self::connect(settings).await {
            Ok(q) => q,
            Err(e) => return SqsProbe::NotConnected(ProbeFailure::of(&e)),
        };
        let depth = queue
            .count_messages()
            .await
            .map_err(|e| ProbeFailure::of(&e));
        let inner = &queue.inner;
        let redrive = match inner.redrive_policy.as_deref() {
            None => Redrive::Absent {
                dlq: inner.dlq.name.clone(),
                dlq_exists: dlq_exists(&quick, &inner.dlq.name, None).await,
            },
            Some(policy) => match dlq_of_redrive_policy(policy) {
                None => Redrive::Unreadable(policy.to_owned()),
                Some((dlq, owner)) => Redrive::To {
                    dlq_exists: dlq_exists(&quick, &dlq, owner.as_deref()).await,
                    max_receives: max_receives_of_redrive_policy(policy),
                    dlq,
                },
            },
        };
        SqsProbe::Connected(SqsFound {
            url: inner.url.clone(),
            name: inner.name.clone(),
            existed,
            depth,
            redrive,
        })
    }
}

/// Whether the queue (a name or URL) exists: `Ok(None)` when SQS would not say (the
/// connect that follows tells why), `Err` with what happened when SQS did not answer.
async fn exists(client: &Client, queue: &str) -> Result<Option<bool>, String> {
    let found = if is_url(queue) {
        queue_attributes(client, queue, &[QueueAttributeName::QueueArn], Op::Connect)
            .await
            .map(|attributes| attributes.is_some())
    } else {
        queue_url(client, queue, None)
            .await
            .map(|url| url.is_some())
    };
    match found {
        Ok(found) => Ok(Some(found)),
        Err(e) if FaultKind::of(&e) == FaultKind::Unreachable => Err(why(&e)),
        Err(_) => Ok(None),
    }
}

/// Whether the queue `name` (of the account `owner`) exists, or why it could not be
/// looked up.
async fn dlq_exists(client: &Client, name: &str, owner: Option<&str>) -> Result<bool, String> {
    queue_url(client, name, owner)
        .await
        .map(|url| url.is_some())
        .map_err(|e| why(&e))
}

/// What the SDK said went wrong (the adapter's error when it has no SDK error).
fn why(e: &QueueError) -> String {
    SqsFault::of(e)
        .and_then(SqsFault::sdk_error)
        .map_or_else(|| e.to_string(), describe)
}
