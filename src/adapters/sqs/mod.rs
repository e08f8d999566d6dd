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
//! and throttling are `Unavailable`; invalid or expired receipts are `LostReceipt`).

use crate::ports::Detail;
use crate::ports::{DeadLetter, JobQueue, QueueDepth, QueueError, QueueMessage};
use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::Region;
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry, Message,
    MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
    SendMessageBatchRequestEntry,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

/// The longest `WaitTimeSeconds` SQS accepts.
const MAX_WAIT_SECS: u64 = 20;
/// The longest visibility timeout SQS accepts (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;
/// Region used when the AWS configuration chain names none.
const DEFAULT_REGION: &str = "us-east-1";
/// Receipts finished or run out longer ago than this are forgotten.
const FORGET_RECEIPTS_AFTER: Duration = Duration::from_secs(15 * 60);
/// How often the receipt book is pruned (at most).
const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Time to open a connection to SQS.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time SQS has to answer one attempt of a call, beyond a receive's long-poll wait.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
/// Time one call may take with its retries, beyond a receive's long-poll wait.
const CALL_TIMEOUT: Duration = Duration::from_secs(25);
/// Retention of a dead-letter queue created here (the SQS maximum, 14 days).
const DLQ_RETENTION_SECS: &str = "1209600";
/// Visibility of a dead letter received to be listed (made visible again right after).
const LIST_VISIBILITY_SECS: i32 = 5;
/// Visibility of a dead letter received to be redriven or purged.
const TAKE_VISIBILITY_SECS: i32 = 30;
/// Long-poll wait on the dead-letter queue: with a wait SQS asks all its servers, so an
/// empty answer means empty (a short poll only samples some).
const DLQ_WAIT_SECS: u64 = 1;
/// Most entries of one SQS batch call (and messages of one receive).
const BATCH: usize = 10;
/// Message attribute of a message the adapter dead-lettered itself: its receives.
const RECEIVES_ATTRIBUTE: &str = "oms-receives";

/// The SQS adapter. Clones share one client and one receipt book.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: Client,
    /// URL of the main queue.
    url: String,
    /// Name of the main queue (for messages).
    name: String,
    /// Visibility per receive, whole seconds.
    visibility_secs: u64,
    max_receives: u32,
    /// Whether SQS moves dead letters itself (the queue has a redrive policy).
    redrive: bool,
    /// The redrive policy's `maxReceiveCount`: the receives of a message SQS moved.
    policy_receives: Option<u32>,
    /// The dead-letter queue: its name, owner account, and URL once known.
    dlq: DeadLetterQueue,
    /// Until when each receipt this client handed out holds its message.
    receipts: Mutex<ReceiptBook>,
}

#[derive(Debug)]
struct DeadLetterQueue {
    name: String,
    owner: Option<String>,
    url: tokio::sync::Mutex<Option<String>>,
}

/// The state of one receipt as far as this client knows.
#[derive(Debug, Clone, Copy)]
enum Hold {
    /// Holds the message until then (a little before SQS's own deadline).
    Until(Instant),
    /// Acknowledged, released or reported lost at that time.
    Finished(Instant),
}

#[derive(Debug)]
struct ReceiptBook {
    holds: HashMap<String, Hold>,
    pruned_at: Instant,
}

impl ReceiptBook {
    /// `Ok(true)`: held; `Ok(false)`: unknown here; `Err(LostReceipt)`: no longer held.
    fn check(&self, receipt: &str, now: Instant) -> Result<bool, QueueError> {
        match self.holds.get(receipt) {
            None => Ok(false),
            Some(Hold::Until(t)) if now < *t => Ok(true),
            Some(_) => Err(QueueError::LostReceipt),
        }
    }

    fn prune(&mut self, now: Instant) {
        if now.duration_since(self.pruned_at) < PRUNE_EVERY {
            return;
        }
        self.pruned_at = now;
        self.holds.retain(|_, h| {
            let (Hold::Until(t) | Hold::Finished(t)) = *h;
            now.saturating_duration_since(t) < FORGET_RECEIPTS_AFTER
        });
    }
}

/// Timeouts of a call that waits up to `wait` on the server (a long poll), so that a
/// server that stopped answering is `Unavailable` instead of a hang.
fn timeouts(wait: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(wait + ATTEMPT_TIMEOUT)
        .operation_timeout(wait + CALL_TIMEOUT)
        .build()
}

/// Whole seconds, rounded up.
fn ceil_secs(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// A visibility timeout in SQS's terms: whole seconds, rounded up, 1 s to 12 h.
fn visibility_secs(d: Duration) -> u64 {
    ceil_secs(d).clamp(1, MAX_VISIBILITY_SECS)
}

fn as_i32(secs: u64) -> i32 {
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// The last path segment of a queue URL (its name).
fn name_of_url(url: &str) -> Option<&str> {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

fn is_url(queue: &str) -> bool {
    queue.starts_with("https://") || queue.starts_with("http://")
}

/// An SQS error code without the `AWS.SimpleQueueService.` prefix or a JSON shape
/// namespace (`com.amazonaws.sqs#`).
fn short_code(code: &str) -> &str {
    let code = code.rsplit('#').next().unwrap_or(code);
    code.strip_prefix("AWS.SimpleQueueService.").unwrap_or(code)
}

/// Codes that mean "try again later".
fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "RequestThrottled"
            | "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "TooManyRequestsException"
            | "RequestLimitExceeded"
            | "KMS.ThrottlingException"
            | "ServiceUnavailable"
            | "InternalError"
            | "InternalFailure"
            | "RequestTimeout"
            | "OverLimit"
    )
}

/// Codes that mean the credentials or permissions are wrong (their messages are not
/// repeated, so nothing about the caller's identity ends up in logs).
fn is_auth(code: &str) -> bool {
    matches!(
        code,
        "InvalidClientTokenId"
            | "UnrecognizedClientException"
            | "SignatureDoesNotMatch"
            | "MissingAuthenticationToken"
            | "IncompleteSignature"
            | "AccessDenied"
            | "AccessDeniedException"
            | "ExpiredToken"
            | "InvalidSecurity"
            | "RequestExpired"
    )
}

/// Whether a service error says the receipt handle no longer holds the message.
fn is_lost_receipt(code: &str, message: &str) -> bool {
    match code {
        "ReceiptHandleIsInvalid" | "MessageNotInflight" | "InvalidIdFormat" => true,
        // Real SQS: "Value ... for parameter ReceiptHandle is invalid. Reason: The receipt
        // handle has expired." / "Message does not exist or is not available for
        // visibility timeout change."
        "InvalidParameterValue" => {
            let m = message.to_ascii_lowercase();
            m.contains("receipthandle") || m.contains("receipt handle")
        }
        _ => false,
    }
}

/// What an SDK call is, for error messages and for whether a receipt was involved.
#[derive(Debug, Clone, Copy)]
enum Op {
    Connect,
    Send,
    Receive,
    Extend,
    Ack,
    Release,
    Depth,
    DeadLetter,
    ListDead,
    Redrive,
    PurgeDead,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Connect => "connect",
            Op::Send => "send",
            Op::Receive => "receive",
            Op::Extend => "extend",
            Op::Ack => "ack",
            Op::Release => "release",
            Op::Depth => "depth",
            Op::DeadLetter => "dead-lettering",
            Op::ListDead => "dead-letter listing",
            Op::Redrive => "redrive",
            Op::PurgeDead => "dead-letter purge",
        }
    }

    fn uses_receipt(self) -> bool {
        matches!(self, Op::Extend | Op::Ack | Op::Release)
    }
}

/// Maps an SDK error onto the port's error, keeping SDK types out of it.
fn map_err<E>(op: Op, queue: &str, err: &SdkError<E, HttpResponse>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let what = op.name();
    match err {
        SdkError::DispatchFailure(_) if lacks_credentials(err) => {
            QueueError::Other(Detail::from(format!(
                "SQS {what} on {queue}: no usable AWS credentials (set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use an instance role): {}",
                describe(err)
            )))
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            QueueError::Unavailable(Detail::from(format!(
                "SQS {what} on {queue}: {}",
                describe(err)
            )))
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status();
            let code = short_code(err.code().unwrap_or(""));
            let message = err.message().unwrap_or("");
            if op.uses_receipt() && is_lost_receipt(code, message) {
                QueueError::LostReceipt
            } else if status.is_server_error() || is_transient(code) {
                QueueError::Unavailable(Detail::from(format!(
                    "SQS {what} on {queue}: {code} (HTTP {}) {message}",
                    status.as_u16()
                )))
            } else if matches!(code, "NonExistentQueue" | "QueueDoesNotExist") {
                QueueError::Other(Detail::from(format!(
                    "SQS {what}: the queue {queue} does not exist (was it deleted?)"
                )))
            } else if is_auth(code) || matches!(status.as_u16(), 401 | 403) {
                QueueError::Other(Detail::from(format!(
                    "SQS {what} on {queue}: refused ({code}, HTTP {}): check the AWS \
                     credentials and the queue's permissions",
                    status.as_u16()
                )))
            } else {
                QueueError::Other(Detail::from(format!(
                    "SQS {what} on {queue}: {code} (HTTP {}) {message}",
                    status.as_u16()
                )))
            }
        }
        _ => QueueError::Other(Detail::from(format!(
            "SQS {what} on {queue}: {}",
            describe(err)
        ))),
    }
}

/// An error and its sources, one line, without the `Debug` dump
/// `DisplayErrorContext` appends.
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = String::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
        next = e.source();
    }
    out.replace('\n', " ")
}

/// Whether a dispatch failed because the AWS configuration chain found no credentials
/// (a configuration problem, not an outage).
fn lacks_credentials(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if text.contains("no credentials found")
            || text.contains("credential provider was not enabled")
            || text.contains("credentials provider was not properly configured")
        {
            return true;
        }
        next = e.source();
    }
    false
}

fn is_missing_queue<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err, SdkError::ServiceError(_))
        && matches!(
            short_code(err.code().unwrap_or("")),
            "NonExistentQueue" | "QueueDoesNotExist"
        )
}

/// Looks a queue up by name; `Ok(None)` when it does not exist.
async fn queue_url(
    client: &Client,
    name: &str,
    owner: Option<&str>,
) -> Result<Option<String>, QueueError> {
    match client
        .get_queue_url()
        .queue_name(name)
        .set_queue_owner_aws_account_id(owner.map(str::to_owned))
        .send()
        .await
    {
        Ok(out) => Ok(out.queue_url),
        Err(e) if is_missing_queue(&e) => Ok(None),
        Err(e) => Err(map_err(Op::Connect, name, &e)),
    }
}

/// The attributes of a queue; `Ok(None)` when it does not exist.
async fn queue_attributes(
    client: &Client,
    url: &str,
    names: &[QueueAttributeName],
    op: Op,
) -> Result<Option<HashMap<QueueAttributeName, String>>, QueueError> {
    match client
        .get_queue_attributes()
        .queue_url(url)
        .set_attribute_names(Some(names.to_vec()))
        .send()
        .await
    {
        Ok(out) => Ok(Some(out.attributes.unwrap_or_default())),
        Err(e) if is_missing_queue(&e) => Ok(None),
        Err(e) => Err(map_err(op, name_of_url(url).unwrap_or(url), &e)),
    }
}

/// Creates a queue with `attributes` (SQS returns the existing URL when a queue of that
/// name already exists with the same attributes).
async fn create_queue(
    client: &Client,
    name: &str,
    attributes: Vec<(QueueAttributeName, String)>,
) -> Result<String, QueueError> {
    let mut req = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        req = req.attributes(k, v);
    }
    match req.send().await {
        Ok(out) => out.queue_url.ok_or_else(|| {
            QueueError::Other(Detail::from(format!(
                "SQS created the queue {name} but returned no URL"
            )))
        }),
        Err(e) => {
            // Another process may have created it (with other attributes) meanwhile.
            if let Some(url) = queue_url(client, name, None).await? {
                tracing::debug!(queue = name, "queue created concurrently: {}", describe(&e));
                Ok(url)
            } else {
                Err(map_err(Op::Connect, name, &e))
            }
        }
    }
}

/// Parses a redrive policy's dead-letter target ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`)
/// into the queue's name and owner account.
fn dlq_of_redrive_policy(policy: &str) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_str(policy).ok()?;
    let arn = v.get("deadLetterTargetArn")?.as_str()?;
    let mut parts = arn.rsplitn(3, ':');
    let name = parts.next().filter(|s| !s.is_empty())?.to_owned();
    let account = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    Some((name, account))
}

/// A redrive policy's `maxReceiveCount` (a string or a number).
fn max_receives_of_redrive_policy(policy: &str) -> Option<u32> {
    let v: serde_json::Value = serde_json::from_str(policy).ok()?;
    match v.get("maxReceiveCount")? {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        n => n.as_u64().and_then(|n| u32::try_from(n).ok()),
    }
}

/// One message received from the dead-letter queue.
#[derive(Debug)]
struct Taken {
    id: String,
    receipt: String,
    body: String,
    /// Epoch milliseconds SQS says it was sent (0 when not told).
    sent_ms: u64,
    /// The `oms-receives` attribute, when the adapter dead-lettered it.
    receives: Option<u32>,
}

impl Taken {
    fn of(m: Message) -> Result<Self, QueueError> {
        let sent_ms = m
            .attributes
            .as_ref()
            .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0);
        let receives = m
            .message_attributes
            .as_ref()
            .and_then(|a| a.get(RECEIVES_ATTRIBUTE))
            .and_then(|v| v.string_value())
            .and_then(|v| v.trim().parse().ok());
        let (Some(id), Some(receipt)) = (m.message_id, m.receipt_handle) else {
            return Err(QueueError::Other(Detail::from(
                "SQS returned a message without id or receipt handle",
            )));
        };
        Ok(Self {
            id,
            receipt,
            body: m.body.unwrap_or_default(),
            sent_ms,
            receives,
        })
    }
}

/// The first failure of a batch call's failed entries, for messages.
fn first_failure(failed: &[aws_sdk_sqs::types::BatchResultErrorEntry]) -> String {
    failed.first().map_or_else(String::new, |f| {
        format!("{} {}", short_code(f.code()), f.message().unwrap_or(""))
            .trim()
            .to_owned()
    })
}

/// What one `SendMessageBatch` may carry in all (the SQS limit is the message size
/// limit, 256 KiB on older queues, for the whole batch).
const BATCH_BYTES: usize = 256 * 1024;

/// Dead letters in groups that one `SendMessageBatch` takes: at most [`BATCH`]
/// messages and [`BATCH_BYTES`] of bodies (a larger body goes alone).
fn send_groups<'a>(taken: &[&'a Taken]) -> Vec<Vec<&'a Taken>> {
    let mut groups: Vec<Vec<&Taken>> = Vec::new();
    let mut bytes = 0;
    for &t in taken {
        let size = t.body.len();
        match groups.last_mut() {
            Some(g) if g.len() < BATCH && bytes + size <= BATCH_BYTES => {
                g.push(t);
                bytes += size;
            }
            _ => {
                groups.push(vec![t]);
                bytes = size;
            }
        }
    }
    groups
}

/// An error that stopped a redrive or purge, saying how far it got.
fn after_progress(e: QueueError, what: &str, done: u64) -> QueueError {
    if done == 0 {
        return e;
    }
    match e {
        QueueError::Unavailable(m) => {
            QueueError::Unavailable(Detail::from(format!("{m} (after {done} messages {what})")))
        }
        QueueError::Other(m) => {
            QueueError::Other(Detail::from(format!("{m} (after {done} messages {what})")))
        }
        QueueError::LostReceipt => QueueError::LostReceipt,
    }
}

impl SqsQueue {
    /// Connects (standard AWS chain for region and credentials) and makes sure the
    /// queue exists.
    ///
    /// The region and credentials come from the usual places (`AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`, profiles, instance roles);
    /// `us-east-1` when no region is configured. A queue given by name is looked up, and
    /// created when missing together with its dead-letter queue `<name>-dlq` and a
    /// redrive policy of `max_receives` receives.
    ///
    /// # Errors
    /// [`QueueError::Unavailable`] when SQS cannot be reached, [`QueueError::Other`]
    /// when it refuses (credentials, permissions, an invalid name, a FIFO queue).
    pub async fn connect(settings: SqsSettings) -> Result<Self, QueueError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(endpoint) = settings
            .endpoint
            .as_deref()
            .filter(|e| !e.trim().is_empty())
        {
            loader = loader.endpoint_url(endpoint.trim());
        }
        let shared = loader.load().await;
        let mut conf = aws_sdk_sqs::config::Builder::from(&shared);
        if shared.region().is_none() {
            conf = conf.region(Region::new(DEFAULT_REGION));
        }
        conf = conf.timeout_config(timeouts(Duration::ZERO));
        let client = Client::from_conf(conf.build());

        let queue = settings.queue.trim();
        let (name, given_url) = if is_url(queue) {
            let name = name_of_url(queue).ok_or_else(|| {
                QueueError::Other(Detail::from(format!(
                    "the SQS queue URL {queue} names no queue"
                )))
            })?;
            (name.to_owned(), Some(queue.to_owned()))
        } else if queue.is_empty() {
            return Err(QueueError::Other("no SQS queue name given".into()));
        } else {
            (queue.to_owned(), None)
        };
        if name.ends_with(".fifo") {
            return Err(QueueError::Other(Detail::from(format!(
                "the SQS queue {name} is a FIFO queue; oms uses a standard queue"
            ))));
        }
        let visibility = visibility_secs(settings.visibility_timeout);
        let dlq_name = format!("{name}-dlq");

        let existing = match given_url {
            Some(url) => {
                let probe =
                    queue_attributes(&client, &url, &[QueueAttributeName::QueueArn], Op::Connect)
                        .await?;
                probe.map(|_| url)
            }
            None => queue_url(&client, &name, None).await?,
        };
        let url = match existing {
            Some(url) => url,
            None => {
                let dlq_url = match queue_url(&client, &dlq_name, None).await? {
                    Some(u) => u,
                    None => {
                        create_queue(
                            &client,
                            &dlq_name,
                            vec![(
                                QueueAttributeName::MessageRetentionPeriod,
                                DLQ_RETENTION_SECS.to_owned(),
                            )],
                        )
                        .await?
                    }
                };
                let dlq_arn = queue_attributes(
                    &client,
                    &dlq_url,
                    &[QueueAttributeName::QueueArn],
                    Op::Connect,
                )
                .await?
                .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
                .ok_or_else(|| {
                    QueueError::Other(Detail::from(format!(
                        "SQS gave no ARN for the queue {dlq_name}"
                    )))
                })?;
                let policy = serde_json::json!({
                    "deadLetterTargetArn": dlq_arn,
                    "maxReceiveCount": settings.max_receives.max(1).to_string(),
                })
                .to_string();
                let url = create_queue(
                    &client,
                    &name,
                    vec![
                        (
                            QueueAttributeName::VisibilityTimeout,
                            visibility.to_string(),
                        ),
                        (QueueAttributeName::RedrivePolicy, policy),
                    ],
                )
                .await?;
                tracing::info!(queue = %name, dead_letters = %dlq_name, "created the SQS queue and its dead-letter queue");
                url
            }
        };

        let attrs = queue_attributes(
            &client,
            &url,
            &[QueueAttributeName::RedrivePolicy],
            Op::Connect,
        )
        .await?
        .ok_or_else(|| {
            QueueError::Other(Detail::from(format!(
                "the SQS queue {name} vanished while connecting"
            )))
        })?;
        let redrive = attrs
            .get(&QueueAttributeName::RedrivePolicy)
            .filter(|p| !p.trim().is_empty());
        let policy_receives = redrive.and_then(|p| max_receives_of_redrive_policy(p));
        let dlq = match redrive.and_then(|p| dlq_of_redrive_policy(p)) {
            Some((name, owner)) => DeadLetterQueue {
                name,
                owner,
                url: tokio::sync::Mutex::new(None),
            },
            None => DeadLetterQueue {
                name: dlq_name,
                owner: None,
                url: tokio::sync::Mutex::new(None),
            },
        };
        if redrive.is_none() {
            tracing::info!(queue = %name, dead_letters = %dlq.name, max_receives = settings.max_receives, "the SQS queue has no redrive policy: oms dead-letters messages itself");
        }
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                url,
                name,
                visibility_secs: visibility,
                max_receives: settings.max_receives,
                redrive: redrive.is_some(),
                policy_receives,
                dlq,
                receipts: Mutex::new(ReceiptBook {
                    holds: HashMap::new(),
                    pruned_at: Instant::now(),
                }),
            }),
        })
    }

    /// The URL of the queue in use.
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    fn book(&self) -> std::sync::MutexGuard<'_, ReceiptBook> {
        // A panic while holding the lock cannot leave the map inconsistent.
        self.inner
            .receipts
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn hold(&self, receipt: &str, hold: Hold) {
        self.book().holds.insert(receipt.to_owned(), hold);
    }

    /// Refuses a receipt this client knows to be stale, before asking SQS.
    fn check_receipt(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.book().check(&msg.receipt, Instant::now()).map(|_| ())
    }

    /// Records the outcome of a call made with `msg`'s receipt.
    fn settle<T>(
        &self,
        msg: &QueueMessage,
        result: Result<T, QueueError>,
        held_until: Option<Instant>,
    ) -> Result<T, QueueError> {
        match &result {
            Ok(_) => self.hold(
                &msg.receipt,
                held_until.map_or(Hold::Finished(Instant::now()), Hold::Until),
            ),
            Err(QueueError::LostReceipt) => self.hold(&msg.receipt, Hold::Finished(Instant::now())),
            Err(_) => {}
        }
        result
    }

    /// The dead-letter queue's URL; created when missing and `create` is set.
    async fn dlq_url(&self, create: bool) -> Result<Option<String>, QueueError> {
        let dlq = &self.inner.dlq;
        let mut cached = dlq.url.lock().await;
        if let Some(url) = cached.as_ref() {
            return Ok(Some(url.clone()));
        }
        let found = match queue_url(&self.inner.client, &dlq.name, dlq.owner.as_deref()).await? {
            Some(url) => Some(url),
            None if create => Some(
                create_queue(
                    &self.inner.client,
                    &dlq.name,
                    vec![(
                        QueueAttributeName::MessageRetentionPeriod,
                        DLQ_RETENTION_SECS.to_owned(),
                    )],
                )
                .await?,
            ),
            None => None,
        };
        cached.clone_from(&found);
        Ok(found)
    }

    /// Moves a message received too often to the dead-letter queue (queues without a
    /// redrive policy): a copy goes there, then the original is deleted.
    async fn dead_letter(
        &self,
        id: &str,
        receipt: &str,
        body: &str,
        count: u32,
    ) -> Result<(), QueueError> {
        let inner = &self.inner;
        let dlq_url = self.dlq_url(true).await?.ok_or_else(|| {
            QueueError::Other(Detail::from(format!(
                "no dead-letter queue {}",
                inner.dlq.name
            )))
        })?;
        // The receive that found it too often received was not a delivery.
        let receives = MessageAttributeValue::builder()
            .data_type("Number")
            .string_value(count.saturating_sub(1).to_string())
            .build()
            .map_err(|e| QueueError::Other(Detail::from(format!("SQS dead-lettering: {e}"))))?;
        inner
            .client
            .send_message()
            .queue_url(&dlq_url)
            .message_body(body)
            .message_attributes(RECEIVES_ATTRIBUTE, receives)
            .send()
            .await
            .map_err(|e| map_err(Op::DeadLetter, &inner.dlq.name, &e))?;
        match inner
            .client
            .delete_message()
            .queue_url(&inner.url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            Ok(_) => {
                tracing::warn!(message_id = id, receives = count, dead_letters = %inner.dlq.name, "message moved to the dead-letter queue");
                Ok(())
            }
            Err(e) => {
                // The copy is in the DLQ; the original comes back after its visibility
                // and is dead-lettered again (at least once, as everything here).
                let err = map_err(Op::DeadLetter, &inner.name, &e);
                tracing::warn!(
                    message_id = id,
                    "dead-lettered a copy but could not delete the original: {err}"
                );
                Ok(())
            }
        }
    }

    /// Receives up to `max` (at most 10) messages from the dead-letter queue at `url`,
    /// invisible for `visibility` seconds, waiting [`DLQ_WAIT_SECS`] when there are none.
    async fn take_dead(
        &self,
        url: &str,
        max: usize,
        visibility: i32,
        op: Op,
    ) -> Result<Vec<Taken>, QueueError> {
        let inner = &self.inner;
        let out = inner
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(as_i32(max.clamp(1, BATCH) as u64))
            .wait_time_seconds(as_i32(DLQ_WAIT_SECS))
            .visibility_timeout(visibility)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .message_attribute_names(RECEIVES_ATTRIBUTE)
            .customize()
            .config_override(
                aws_sdk_sqs::config::Builder::default()
                    .timeout_config(timeouts(Duration::from_secs(DLQ_WAIT_SECS))),
            )
            .send()
            .await
            .map_err(|e| map_err(op, &inner.dlq.name, &e))?;
        out.messages
            .unwrap_or_default()
            .into_iter()
            .map(Taken::of)
            .collect()
    }

    /// Makes dead letters visible again now (best effort: they come back by themselves
    /// when their visibility runs out).
    async fn show_again(&self, url: &str, receipts: &[&str]) {
        let inner = &self.inner;
        for chunk in receipts.chunks(BATCH) {
            let entries: Result<Vec<_>, _> = chunk
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(*r)
                        .visibility_timeout(0)
                        .build()
                })
                .collect();
            let entries = match entries {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!("cannot make dead letters visible again: {e}");
                    continue;
                }
            };
            match inner
                .client
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) if out.failed.is_empty() => {}
                Ok(out) => tracing::warn!(
                    messages = out.failed.len(),
                    "dead letters stay hidden until their visibility runs out: {}",
                    first_failure(&out.failed)
                ),
                Err(e) => tracing::warn!(
                    "dead letters stay hidden until their visibility runs out: {}",
                    map_err(Op::ListDead, &inner.dlq.name, &e)
                ),
            }
        }
    }

    /// Deletes `taken` from the dead-letter queue at `url`; gives the ids deleted and
    /// the first failure, if any.
    async fn delete_dead(
        &self,
        url: &str,
        taken: &[&Taken],
        op: Op,
    ) -> Result<(Vec<String>, Option<String>), QueueError> {
        let inner = &self.inner;
        let mut deleted = Vec::new();
        let mut failure = None;
        for chunk in taken.chunks(BATCH) {
            let entries = chunk
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(&t.receipt)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| QueueError::Other(Detail::from(format!("SQS {}: {e}", op.name()))))?;
            let out = inner
                .client
                .delete_message_batch()
                .queue_url(url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|e| map_err(op, &inner.dlq.name, &e))?;
            for ok in &out.successful {
                if let Some(t) = ok.id.parse::<usize>().ok().and_then(|i| chunk.get(i)) {
                    deleted.push(t.id.clone());
                }
            }
            if !out.failed.is_empty() && failure.is_none() {
                failure = Some(first_failure(&out.failed));
            }
        }
        Ok((deleted, failure))
    }

    /// Sends the bodies of `group` (one batch) to the queue; gives those sent and
    /// those refused with the reason.
    async fn send_back<'a>(
        &self,
        group: &[&'a Taken],
    ) -> Result<(Vec<&'a Taken>, Vec<(&'a Taken, String)>), QueueError> {
        let inner = &self.inner;
        let entries = group
            .iter()
            .enumerate()
            .map(|(i, t)| {
                SendMessageBatchRequestEntry::builder()
                    .id(i.to_string())
                    .message_body(&t.body)
                    .build()
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError::Other(Detail::from(format!("SQS redrive: {e}"))))?;
        let out = inner
            .client
            .send_message_batch()
            .queue_url(&inner.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| map_err(Op::Redrive, &inner.name, &e))?;
        let of = |id: &str| id.parse::<usize>().ok().and_then(|i| group.get(i)).copied();
        let ok = out.successful.iter().filter_map(|e| of(&e.id)).collect();
        let refused = out
            .failed
            .iter()
            .filter_map(|f| of(&f.id).map(|t| (t, first_failure(std::slice::from_ref(f)))))
            .collect();
        Ok((ok, refused))
    }

    /// The receives of a dead letter before it was dead-lettered, where known (else 0).
    fn receives_of(&self, t: &Taken) -> u32 {
        t.receives.or(self.inner.policy_receives).unwrap_or(0)
    }

    /// Changes the visibility of `msg` to `secs` from now.
    async fn change_visibility(
        &self,
        msg: &QueueMessage,
        secs: u64,
        op: Op,
    ) -> Result<(), QueueError> {
        let inner = &self.inner;
        inner
            .client
            .change_message_visibility()
            .queue_url(&inner.url)
            .receipt_handle(&msg.receipt)
            .visibility_timeout(as_i32(secs))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(op, &inner.name, &e))
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let inner = &self.inner;
        let out = inner
            .client
            .send_message()
            .queue_url(&inner.url)
            .message_body(body)
            .send()
            .await
            .map_err(|e| map_err(Op::Send, &inner.name, &e))?;
        out.message_id
            .ok_or_else(|| QueueError::Other("SQS accepted a message but gave no id".into()))
    }

    async fn receive(&self, wait: Duration) -> Result<Option<QueueMessage>, QueueError> {
        let inner = &self.inner;
        let deadline = Instant::now() + wait;
        let visibility = Duration::from_secs(inner.visibility_secs);
        // How much earlier than SQS this client considers a delivery's visibility over:
        // SQS starts counting somewhere between the request and the response.
        let margin = (visibility / 4).min(Duration::from_secs(2));
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let wait_secs = ceil_secs(left).min(MAX_WAIT_SECS);
            let out = inner
                .client
                .receive_message()
                .queue_url(&inner.url)
                .max_number_of_messages(1)
                .wait_time_seconds(as_i32(wait_secs))
                .visibility_timeout(as_i32(inner.visibility_secs))
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .customize()
                .config_override(
                    aws_sdk_sqs::config::Builder::default()
                        .timeout_config(timeouts(Duration::from_secs(wait_secs))),
                )
                .send()
                .await
                .map_err(|e| map_err(Op::Receive, &inner.name, &e))?;
            let arrived = Instant::now();
            if let Some(m) = out.messages.unwrap_or_default().into_iter().next() {
                let (Some(id), Some(receipt)) = (m.message_id, m.receipt_handle) else {
                    return Err(QueueError::Other(Detail::from(
                        "SQS returned a message without id or receipt handle",
                    )));
                };
                let body = m.body.unwrap_or_default();
                let count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|c| c.parse::<u32>().ok())
                    .unwrap_or(1);
                if !inner.redrive && count > inner.max_receives {
                    self.dead_letter(&id, &receipt, &body, count).await?;
                    // Look again at once, whatever is left of the wait.
                    continue;
                }
                let until = arrived.checked_sub(margin).unwrap_or(arrived) + visibility;
                {
                    let mut book = self.book();
                    book.prune(arrived);
                    book.holds.insert(receipt.clone(), Hold::Until(until));
                }
                return Ok(Some(QueueMessage {
                    id,
                    receipt,
                    body,
                    receive_count: count,
                }));
            }
            if arrived >= deadline {
                return Ok(None);
            }
        }
    }

    async fn extend(&self, msg: &QueueMessage, by: Duration) -> Result<(), QueueError> {
        self.check_receipt(msg)?;
        let secs = visibility_secs(by);
        let asked = Instant::now();
        let result = self.change_visibility(msg, secs, Op::Extend).await;
        self.settle(msg, result, Some(asked + Duration::from_secs(secs)))
    }

    async fn ack(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.check_receipt(msg)?;
        let inner = &self.inner;
        let result = inner
            .client
            .delete_message()
            .queue_url(&inner.url)
            .receipt_handle(&msg.receipt)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_err(Op::Ack, &inner.name, &e));
        self.settle(msg, result, None)
    }

    async fn release(&self, msg: &QueueMessage) -> Result<(), QueueError> {
        self.check_receipt(msg)?;
        let result = self.change_visibility(msg, 0, Op::Release).await;
        self.settle(msg, result, None)
    }

    async fn depth(&self) -> Result<QueueDepth, QueueError> {
        let inner = &self.inner;
        let count = |attrs: &HashMap<QueueAttributeName, String>, name: &QueueAttributeName| {
            attrs
                .get(name)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        let main = queue_attributes(
            &inner.client,
            &inner.url,
            &[
                QueueAttributeName::ApproximateNumberOfMessages,
                QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ],
            Op::Depth,
        )
        .await?
        .ok_or_else(|| {
            QueueError::Other(Detail::from(format!(
                "SQS depth: the queue {} does not exist (was it deleted?)",
                inner.name
            )))
        })?;
        let dead = match self.dlq_url(false).await? {
            Some(url) => queue_attributes(
                &inner.client,
                &url,
                &[QueueAttributeName::ApproximateNumberOfMessages],
                Op::Depth,
            )
            .await?
            .map_or(0, |a| {
                count(&a, &QueueAttributeName::ApproximateNumberOfMessages)
            }),
            None => 0,
        };
        Ok(QueueDepth {
            visible: count(&main, &QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: count(
                &main,
                &QueueAttributeName::ApproximateNumberOfMessagesNotVisible,
            ),
            dead,
        })
    }

    async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let Some(url) = self.dlq_url(false).await? else {
            return Ok(Vec::new());
        };
        // Message id -> the latest delivery (a message whose short visibility ran out
        // during the listing comes again with a new receipt).
        let mut seen: HashMap<String, Taken> = HashMap::new();
        let listed: Result<(), QueueError> = async {
            while seen.len() < max {
                let batch = self
                    .take_dead(&url, max - seen.len(), LIST_VISIBILITY_SECS, Op::ListDead)
                    .await?;
                let mut new = 0;
                for t in batch {
                    if !seen.contains_key(&t.id) {
                        new += 1;
                    }
                    seen.insert(t.id.clone(), t);
                }
                if new == 0 {
                    break;
                }
            }
            Ok(())
        }
        .await;
        let receipts: Vec<&str> = seen.values().map(|t| t.receipt.as_str()).collect();
        self.show_again(&url, &receipts).await;
        listed?;
        let mut letters: Vec<&Taken> = seen.values().collect();
        letters.sort_by(|a, b| (a.sent_ms, &a.id).cmp(&(b.sent_ms, &b.id)));
        Ok(letters
            .into_iter()
            .take(max)
            .map(|t| DeadLetter {
                id: t.id.clone(),
                body: t.body.clone(),
                receive_count: self.receives_of(t),
            })
            .collect())
    }

    async fn redrive(&self) -> Result<u64, QueueError> {
        let inner = &self.inner;
        let Some(url) = self.dlq_url(false).await? else {
            return Ok(0);
        };
        let mut moved: u64 = 0;
        // Sent back but not (yet) deleted here: if they come again, only delete them.
        let mut sent: HashSet<String> = HashSet::new();
        // Could not be sent back, by id: the reason.
        let mut failed: HashMap<String, String> = HashMap::new();
        let result: Result<(), QueueError> = async {
            loop {
                let batch = self
                    .take_dead(&url, BATCH, TAKE_VISIBILITY_SECS, Op::Redrive)
                    .await?;
                if batch.is_empty() {
                    return Ok(());
                }
                let (mut done, fresh): (Vec<&Taken>, Vec<&Taken>) =
                    batch.iter().partition(|t| sent.contains(&t.id));
                let mut stopped = None;
                for group in send_groups(&fresh) {
                    if stopped.is_some() {
                        // Not sent: visible again in the dead-letter queue at once.
                        let receipts: Vec<&str> =
                            group.iter().map(|t| t.receipt.as_str()).collect();
                        self.show_again(&url, &receipts).await;
                        continue;
                    }
                    match self.send_back(&group).await {
                        Ok((ok, refused)) => {
                            for t in ok {
                                sent.insert(t.id.clone());
                                failed.remove(&t.id);
                                moved += 1;
                                done.push(t);
                            }
                            // Left hidden for now; they come back to the dead-letter queue.
                            for (t, why) in refused {
                                failed.insert(t.id.clone(), why);
                            }
                        }
                        Err(e) => {
                            let receipts: Vec<&str> =
                                group.iter().map(|t| t.receipt.as_str()).collect();
                            self.show_again(&url, &receipts).await;
                            stopped = Some(e);
                        }
                    }
                }
                // What was sent leaves the dead-letter queue, even when a later send failed.
                let (deleted, failure) = self.delete_dead(&url, &done, Op::Redrive).await?;
                for id in &deleted {
                    sent.remove(id);
                }
                if let Some(why) = failure {
                    tracing::warn!(
                        "sent back to the queue but not deleted from the dead-letter queue \
                         (it may be delivered twice): {why}"
                    );
                }
                if let Some(e) = stopped {
                    return Err(e);
                }
            }
        }
        .await;
        if moved > 0 {
            tracing::info!(messages = moved, queue = %inner.name, dead_letters = %inner.dlq.name, "dead-lettered messages moved back to the queue");
        }
        result.map_err(|e| after_progress(e, "moved back to the queue", moved))?;
        if let Some(why) = failed.values().next() {
            return Err(QueueError::Other(Detail::from(format!(
                "SQS redrive: moved {moved} messages back to {}, but {} could not be sent: {why}",
                inner.name,
                failed.len()
            ))));
        }
        Ok(moved)
    }

    async fn purge_dead(&self) -> Result<u64, QueueError> {
        let inner = &self.inner;
        let Some(url) = self.dlq_url(false).await? else {
            return Ok(0);
        };
        let mut deleted: HashSet<String> = HashSet::new();
        let mut failure = None;
        let result: Result<(), QueueError> = async {
            loop {
                let batch = self
                    .take_dead(&url, BATCH, TAKE_VISIBILITY_SECS, Op::PurgeDead)
                    .await?;
                if batch.is_empty() {
                    return Ok(());
                }
                let taken: Vec<&Taken> = batch.iter().collect();
                let (ids, why) = self.delete_dead(&url, &taken, Op::PurgeDead).await?;
                deleted.extend(ids);
                if failure.is_none() {
                    failure = why;
                }
            }
        }
        .await;
        let n = deleted.len() as u64;
        if n > 0 {
            tracing::info!(messages = n, dead_letters = %inner.dlq.name, "dead-lettered messages deleted");
        }
        result.map_err(|e| after_progress(e, "deleted", n))?;
        if let Some(why) = failure {
            return Err(QueueError::Other(Detail::from(format!(
                "SQS dead-letter purge: deleted {n} messages from {}, but not all: {why}",
                inner.dlq.name
            ))));
        }
        Ok(n)
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

    #[test]
    fn queue_names_come_from_urls() {
        assert_eq!(
            name_of_url("http://127.0.0.1:4566/000000000000/jobs"),
            Some("jobs")
        );
        assert_eq!(
            name_of_url("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs/"),
            Some("jobs")
        );
        assert!(is_url("https://sqs.eu-west-1.amazonaws.com/1/jobs"));
        assert!(!is_url("jobs"));
    }

    #[test]
    fn error_codes_are_normalised_and_classified() {
        assert_eq!(
            short_code("AWS.SimpleQueueService.NonExistentQueue"),
            "NonExistentQueue"
        );
        assert_eq!(
            short_code("com.amazonaws.sqs#QueueDoesNotExist"),
            "QueueDoesNotExist"
        );
        assert_eq!(
            short_code("AWS.SimpleQueueService.MessageNotInflight"),
            "MessageNotInflight"
        );
        assert!(is_lost_receipt("ReceiptHandleIsInvalid", ""));
        assert!(is_lost_receipt("MessageNotInflight", ""));
        assert!(is_lost_receipt(
            "InvalidParameterValue",
            "Value AQEB for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired."
        ));
        assert!(!is_lost_receipt(
            "InvalidParameterValue",
            "VisibilityTimeout is invalid"
        ));
        assert!(is_transient("RequestThrottled"));
        assert!(is_transient("KMS.ThrottlingException"));
        assert!(!is_transient("InvalidParameterValue"));
        assert!(is_auth("InvalidClientTokenId"));
    }

    #[test]
    fn redrive_policies_name_their_dead_letter_queue() {
        let p = r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:123456789012:jobs-dlq","maxReceiveCount":"5"}"#;
        assert_eq!(
            dlq_of_redrive_policy(p),
            Some(("jobs-dlq".into(), Some("123456789012".into())))
        );
        assert_eq!(dlq_of_redrive_policy("{}"), None);
        assert_eq!(dlq_of_redrive_policy("not json"), None);
        assert_eq!(max_receives_of_redrive_policy(p), Some(5));
        assert_eq!(
            max_receives_of_redrive_policy(r#"{"maxReceiveCount":3}"#),
            Some(3)
        );
        assert_eq!(max_receives_of_redrive_policy("{}"), None);
    }

    #[test]
    fn redriven_bodies_are_sent_in_batches_sqs_accepts() {
        let taken = |len: usize| Taken {
            id: "m".into(),
            receipt: "r".into(),
            body: "x".repeat(len),
            sent_ms: 0,
            receives: None,
        };
        let small: Vec<Taken> = (0..23).map(|_| taken(100)).collect();
        let refs: Vec<&Taken> = small.iter().collect();
        let sizes: Vec<usize> = send_groups(&refs).iter().map(Vec::len).collect();
        assert_eq!(sizes, [10, 10, 3]);
        let big: Vec<Taken> = [100_000, 100_000, 100_000, BATCH_BYTES + 1, 10]
            .into_iter()
            .map(taken)
            .collect();
        let refs: Vec<&Taken> = big.iter().collect();
        let sizes: Vec<usize> = send_groups(&refs).iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            [2, 1, 1, 1],
            "at most BATCH_BYTES a batch; a larger body alone"
        );
        assert!(send_groups(&[]).is_empty());
    }

    #[test]
    fn the_receipt_book_refuses_stale_and_finished_receipts() {
        let now = Instant::now();
        let mut book = ReceiptBook {
            holds: HashMap::new(),
            pruned_at: now,
        };
        book.holds
            .insert("held".into(), Hold::Until(now + Duration::from_secs(5)));
        book.holds.insert("ran-out".into(), Hold::Until(now));
        book.holds.insert("acked".into(), Hold::Finished(now));
        assert!(matches!(book.check("held", now), Ok(true)));
        assert!(matches!(book.check("someone-else's", now), Ok(false)));
        assert!(matches!(
            book.check("ran-out", now),
            Err(QueueError::LostReceipt)
        ));
        assert!(matches!(
            book.check("acked", now),
            Err(QueueError::LostReceipt)
        ));
        book.prune(now + FORGET_RECEIPTS_AFTER + PRUNE_EVERY);
        assert!(book.holds.is_empty(), "old receipts are forgotten");
    }
}
