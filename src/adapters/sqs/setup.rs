//! Setting up: the SDK client, connecting to the queue (looking it up, or creating it
//! with its dead-letter queue and a redrive policy), and reading redrive policies.

use super::errors::{FaultKind, Op, describe, is_missing_queue, map_err, own_fault};
use super::receipts::ReceiptBook;
use super::{DeadLetterQueue, Inner, SqsQueue, SqsSettings, visibility_secs};
use crate::ports::{Detail, QueueError};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::Region;
use aws_sdk_sqs::config::retry::RetryConfig;
use aws_sdk_sqs::config::timeout::TimeoutConfig;
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Region used when the AWS configuration chain names none.
const DEFAULT_REGION: &str = "us-east-1";
/// Time to open a connection to SQS.
pub(super) const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time SQS has to answer one attempt of a call, beyond a receive's long-poll wait.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(8);
/// Time one call may take with its retries, beyond a receive's long-poll wait.
const CALL_TIMEOUT: Duration = Duration::from_secs(25);
/// Retention of a dead-letter queue created here (the SQS maximum, 14 days).
const DLQ_RETENTION_SECS: &str = "1209600";

/// Timeouts of a call that waits up to `wait` on the server (a long poll), so that a
/// server that stopped answering is `Unavailable` instead of a hang.
pub(super) fn timeouts(wait: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(wait + ATTEMPT_TIMEOUT)
        .operation_timeout(wait + CALL_TIMEOUT)
        .build()
}

/// An SQS client for `endpoint` (AWS when `None`), with the region and credentials
/// of the standard AWS configuration chain (`us-east-1` when it names no region),
/// `timeouts`, and at most `max_attempts` attempts a call (the SDK's standard retries
/// when `None`).
pub(super) async fn client(
    endpoint: Option<&str>,
    timeouts: TimeoutConfig,
    max_attempts: Option<u32>,
) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint.filter(|e| !e.trim().is_empty()) {
        loader = loader.endpoint_url(endpoint.trim());
    }
    let shared = loader.load().await;
    let mut conf = aws_sdk_sqs::config::Builder::from(&shared);
    if shared.region().is_none() {
        conf = conf.region(Region::new(DEFAULT_REGION));
    }
    conf = conf.timeout_config(timeouts);
    if let Some(attempts) = max_attempts {
        conf = conf.retry_config(RetryConfig::standard().with_max_attempts(attempts));
    }
    Client::from_conf(conf.build())
}

/// The last path segment of a queue URL (its name).
pub(super) fn name_of_url(url: &str) -> Option<&str> {
    url.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// Whether a configured queue is a URL (else a name).
pub(super) fn is_url(queue: &str) -> bool {
    queue.starts_with("https://") || queue.starts_with("http://")
}

/// Looks a queue up by name; `Ok(None)` when it does not exist.
///
/// # Errors
/// [`QueueError::Unavailable`], [`QueueError::Other`].
pub(super) async fn queue_url(
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
        Err(e) => Err(map_err(Op::Connect, name, e)),
    }
}

/// The attributes of a queue; `Ok(None)` when it does not exist.
///
/// # Errors
/// [`QueueError::Unavailable`], [`QueueError::Other`].
pub(super) async fn queue_attributes(
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
        Err(e) => Err(map_err(op, name_of_url(url).unwrap_or(url), e)),
    }
}

/// Creates a queue with `attributes` (SQS returns the existing URL when a queue of that
/// name already exists with the same attributes).
///
/// # Errors
/// [`QueueError::Unavailable`], [`QueueError::Other`].
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
                Err(map_err(Op::Connect, name, e))
            }
        }
    }
}

/// Creates a dead-letter queue (kept 14 days); gives its URL.
///
/// # Errors
/// [`QueueError::Unavailable`], [`QueueError::Other`].
pub(super) async fn create_dead_letter_queue(
    client: &Client,
    name: &str,
) -> Result<String, QueueError> {
    create_queue(
        client,
        name,
        vec![(
            QueueAttributeName::MessageRetentionPeriod,
            DLQ_RETENTION_SECS.to_owned(),
        )],
    )
    .await
}

/// Parses a redrive policy's dead-letter target ARN (`arn:aws:sqs:REGION:ACCOUNT:NAME`)
/// into the queue's name and owner account.
pub(super) fn dlq_of_redrive_policy(policy: &str) -> Option<(String, Option<String>)> {
    let v: serde_json::Value = serde_json::from_str(policy).ok()?;
    let arn = v.get("deadLetterTargetArn")?.as_str()?;
    let mut parts = arn.rsplitn(3, ':');
    let name = parts.next().filter(|s| !s.is_empty())?.to_owned();
    let account = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
    Some((name, account))
}

/// A redrive policy's `maxReceiveCount` (a string or a number).
pub(super) fn max_receives_of_redrive_policy(policy: &str) -> Option<u32> {
    let v: serde_json::Value = serde_json::from_str(policy).ok()?;
    match v.get("maxReceiveCount")? {
        serde_json::Value::String(s) => s.trim().parse().ok(),
        n => n.as_u64().and_then(|n| u32::try_from(n).ok()),
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
        let client = client(settings.endpoint.as_deref(), timeouts(Duration::ZERO), None).await;

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
            return Err(QueueError::Other(own_fault(
                FaultKind::Fifo,
                format!("the SQS queue {name} is a FIFO queue; oms uses a standard queue"),
            )));
        }
        let visibility = visibility_secs(settings.visibility_timeout);
        let dlq_name = format!("{name}-dlq");

        let existing = match given_url {
            Some(url) => {
                let found =
                    queue_attributes(&client, &url, &[QueueAttributeName::QueueArn], Op::Connect)
                        .await?;
                found.map(|_| url)
            }
            None => queue_url(&client, &name, None).await?,
        };
        let url = match existing {
            Some(url) => url,
            None => {
                let dlq_url = match queue_url(&client, &dlq_name, None).await? {
                    Some(u) => u,
                    None => create_dead_letter_queue(&client, &dlq_name).await?,
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
            QueueError::Other(own_fault(
                FaultKind::MissingQueue,
                format!("the SQS queue {name} vanished while connecting"),
            ))
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
                redrive_policy: redrive.cloned(),
                policy_receives,
                dlq,
                receipts: Mutex::new(ReceiptBook::new(Instant::now())),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
