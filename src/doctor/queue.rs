//! The queue checks: the embedded queue's depth; SQS reachable, the queue and its
//! dead-letter queue.

use super::embedded::{no_db, timed_out};
use super::{CHECK_TIMEOUT, Check, REQUEST_TIMEOUT, bounded};
use crate::adapters::embedded::{Db, EmbeddedQueue};
use crate::adapters::sqs::{SqsQueue, SqsSettings};
use crate::config::{Config, QueueChoice};
use crate::ports::{JobQueue, QueueError};

pub async fn check(config: &Config, db: Option<Db>) -> Vec<Check> {
    const NAME: &str = "queue";
    match &config.queue_backend {
        QueueChoice::Embedded => {
            let Some(db) = db else {
                return vec![no_db(NAME)];
            };
            let settings = crate::wiring::queue_settings(config);
            let depth = bounded(CHECK_TIMEOUT, move || async move {
                EmbeddedQueue::new(db, settings).depth().await
            })
            .await;
            vec![match depth {
                Ok(Ok(d)) => Check::pass(
                    NAME,
                    format!(
                        "embedded: {} visible, {} in flight, {} dead-lettered (after {} \
                         receives){}",
                        d.visible,
                        d.in_flight,
                        d.dead,
                        settings.max_receives,
                        if d.dead > 0 { "; see `oms dlq ls`" } else { "" }
                    ),
                ),
                Ok(Err(e)) => Check::fail(
                    NAME,
                    format!("embedded: {e}"),
                    "another process may hold the database locked: run `oms doctor` again",
                ),
                Err(why) => timed_out(
                    NAME,
                    "embedded",
                    &why,
                    "another process holds the database locked: run `oms doctor` again",
                ),
            }]
        }
        QueueChoice::Sqs { queue, endpoint } => {
            let Some(settings) = crate::wiring::sqs_settings(config) else {
                unreachable!("the queue is SQS")
            };
            match bounded(CHECK_TIMEOUT, move || sqs::checks(settings)).await {
                Ok(checks) => checks,
                Err(why) => vec![timed_out(
                    NAME,
                    &format!("sqs {queue}"),
                    &why,
                    &sqs::unreachable_fix(endpoint.is_some()),
                )],
            }
        }
    }
}

/// The SQS checks. The SDK is used directly only to learn what the adapter does not
/// tell: whether the queue existed before connecting, and its redrive policy.
mod sqs {
    use super::{Check, JobQueue, QueueError, REQUEST_TIMEOUT, SqsQueue, SqsSettings};
    use aws_sdk_sqs::Client;
    use aws_sdk_sqs::config::Region;
    use aws_sdk_sqs::config::retry::RetryConfig;
    use aws_sdk_sqs::config::timeout::TimeoutConfig;
    use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
    use aws_sdk_sqs::types::QueueAttributeName;
    use std::time::Duration;

    const NAME: &str = "queue";
    const DLQ: &str = "dead-letter queue";

    pub fn unreachable_fix(endpoint: bool) -> String {
        if endpoint {
            "start the SQS service at OMS_SQS_ENDPOINT, or correct OMS_SQS_ENDPOINT".into()
        } else {
            "check the network path to SQS and the region (AWS_REGION / AWS_PROFILE)".into()
        }
    }

    fn credentials_fix() -> String {
        "set valid AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         AWS_PROFILE, or an instance role, allowed sqs:GetQueueUrl, CreateQueue, \
         GetQueueAttributes, SetQueueAttributes, SendMessage, ReceiveMessage, \
         DeleteMessage and ChangeMessageVisibility"
            .into()
    }

    /// The fix for an error of the adapter.
    fn fix_of(e: &QueueError, endpoint: bool) -> String {
        let text = e.to_string();
        let lower = text.to_ascii_lowercase();
        if lower.contains("credential")
            || lower.contains("access denied")
            || lower.contains("not authorized")
            || lower.contains("permission")
            || lower.contains("security token")
            || lower.contains("signature")
        {
            credentials_fix()
        } else if lower.contains("fifo") {
            "oms needs a standard queue: set OMS_SQS_QUEUE to a name without .fifo".into()
        } else if matches!(e, QueueError::Unavailable(_)) {
            unreachable_fix(endpoint)
        } else {
            "correct OMS_SQS_QUEUE (a queue name or URL) and the AWS settings, then run \
             `oms doctor` again"
                .into()
        }
    }

    async fn client(endpoint: Option<&str>) -> Client {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(e) = endpoint.filter(|e| !e.trim().is_empty()) {
            loader = loader.endpoint_url(e.trim());
        }
        let shared = loader.load().await;
        let mut conf = aws_sdk_sqs::config::Builder::from(&shared)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(REQUEST_TIMEOUT)
                    .operation_timeout(REQUEST_TIMEOUT)
                    .build(),
            )
            .retry_config(RetryConfig::standard().with_max_attempts(1));
        if shared.region().is_none() {
            conf = conf.region(Region::new("us-east-1"));
        }
        Client::from_conf(conf.build())
    }

    fn is_missing<E: ProvideErrorMetadata>(e: &SdkError<E>) -> bool {
        e.code().is_some_and(|c| {
            let c = c.rsplit('#').next().unwrap_or(c);
            let c = c.strip_prefix("AWS.SimpleQueueService.").unwrap_or(c);
            matches!(c, "NonExistentQueue" | "QueueDoesNotExist")
        })
    }

    /// Whether `name` exists: `Ok(None)` when SQS could not say (the adapter's connect
    /// then tells why), `Err` when it cannot be reached at all.
    async fn exists(client: &Client, queue: &str) -> Result<Option<bool>, String> {
        let r = if queue.starts_with("http://") || queue.starts_with("https://") {
            client
                .get_queue_attributes()
                .queue_url(queue)
                .attribute_names(QueueAttributeName::QueueArn)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (is_missing(&e), unreachable(&e), e.to_string()))
        } else {
            client
                .get_queue_url()
                .queue_name(queue)
                .send()
                .await
                .map(|_| ())
                .map_err(|e| (is_missing(&e), unreachable(&e), e.to_string()))
        };
        match r {
            Ok(()) => Ok(Some(true)),
            Err((true, _, _)) => Ok(Some(false)),
            Err((_, Some(why), _)) => Err(why),
            Err(_) => Ok(None),
        }
    }

    /// A description when the error is "no answer" (and not missing credentials).
    fn unreachable<E, R>(e: &SdkError<E, R>) -> Option<String>
    where
        E: std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        let text = chain(e);
        let no_answer = matches!(e, SdkError::TimeoutError(_) | SdkError::DispatchFailure(_));
        (no_answer && !text.to_ascii_lowercase().contains("credential")).then_some(text)
    }

    /// An error and its sources, each said once: `a: b: c`.
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut next = Some(e);
        while let Some(e) = next {
            let text = e.to_string();
            if !parts.iter().any(|p| p.contains(&text)) {
                parts.push(text);
            }
            next = e.source();
        }
        parts.join(": ")
    }

    /// Name and account of the queue a redrive policy points at.
    fn dlq_of(policy: &str) -> Option<(String, Option<String>, Option<String>)> {
        let v: serde_json::Value = serde_json::from_str(policy).ok()?;
        let arn = v.get("deadLetterTargetArn")?.as_str()?;
        let mut parts = arn.rsplitn(3, ':');
        let name = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let account = parts.next().filter(|s| !s.is_empty()).map(str::to_owned);
        let max = match v.get("maxReceiveCount") {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(n) => Some(n.to_string()),
            None => None,
        };
        Some((name, account, max))
    }

    async fn dlq_exists(client: &Client, name: &str, owner: Option<&str>) -> Result<bool, String> {
        match client
            .get_queue_url()
            .queue_name(name)
            .set_queue_owner_aws_account_id(owner.map(str::to_owned))
            .send()
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_missing(&e) => Ok(false),
            Err(e) => Err(chain(&e)),
        }
    }

    pub async fn checks(settings: SqsSettings) -> Vec<Check> {
        let endpoint = settings.endpoint.is_some();
        let queue = settings.queue.trim().to_owned();
        let max_receives = settings.max_receives;
        let client = client(settings.endpoint.as_deref()).await;
        let existed = match exists(&client, &queue).await {
            Ok(e) => e,
            Err(why) => {
                return vec![Check::fail(
                    NAME,
                    format!("sqs {queue}: cannot reach SQS: {why}"),
                    unreachable_fix(endpoint),
                )];
            }
        };
        let q = match SqsQueue::connect(settings).await {
            Ok(q) => q,
            Err(e) => {
                return vec![Check::fail(
                    NAME,
                    format!("sqs {queue}: {e}"),
                    fix_of(&e, endpoint),
                )];
            }
        };
        let url = q.url().to_owned();
        let created = existed == Some(false);
        let queue_check = match q.depth().await {
            Ok(d) => Check::pass(
                NAME,
                format!(
                    "sqs {url}: {}reachable, credentials accepted; {} visible, {} in flight, \
                     {} dead-lettered{}",
                    if created {
                        "was missing, created now with its dead-letter queue; "
                    } else {
                        "present, "
                    },
                    d.visible,
                    d.in_flight,
                    d.dead,
                    if d.dead > 0 { "; see `oms dlq ls`" } else { "" }
                ),
            ),
            Err(e) => Check::fail(
                NAME,
                format!("sqs {url}: the queue's depth cannot be read: {e}"),
                fix_of(&e, endpoint),
            ),
        };
        let policy = client
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(QueueAttributeName::RedrivePolicy)
            .send()
            .await
            .map(|out| {
                out.attributes
                    .and_then(|mut a| a.remove(&QueueAttributeName::RedrivePolicy))
                    .filter(|p| !p.trim().is_empty())
            });
        let name = url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or(&queue);
        let dlq_check = match policy {
            Err(e) => Check::fail(
                DLQ,
                format!("the redrive policy of {name} cannot be read: {}", chain(&e)),
                credentials_fix(),
            ),
            Ok(Some(p)) => match dlq_of(&p) {
                None => Check::fail(
                    DLQ,
                    format!("the redrive policy of {name} cannot be read: {p}"),
                    format!(
                        "set a valid RedrivePolicy on {name} \
                         ({{\"deadLetterTargetArn\":\"ARN of {name}-dlq\",\
                         \"maxReceiveCount\":\"{max_receives}\"}}) or remove it"
                    ),
                ),
                Some((dlq, owner, max)) => {
                    match dlq_exists(&client, &dlq, owner.as_deref()).await {
                        Ok(true) => Check::pass(
                            DLQ,
                            format!(
                                "redrive policy: SQS moves a message received more than {} times \
                             to {dlq} (present)",
                                max.as_deref().unwrap_or("?").trim_matches('"')
                            ),
                        ),
                        Ok(false) => Check::fail(
                            DLQ,
                            format!(
                                "the redrive policy of {name} names {dlq}, which does not exist: \
                             messages received too often cannot be moved there"
                            ),
                            format!(
                                "create it (`aws sqs create-queue --queue-name {dlq}`), or \
                             remove the redrive policy of {name} (oms then moves such \
                             messages to {name}-dlq itself)"
                            ),
                        ),
                        Err(why) => Check::fail(
                            DLQ,
                            format!("{dlq} cannot be looked up: {why}"),
                            credentials_fix(),
                        ),
                    }
                }
            },
            Ok(None) => {
                let own = format!("{name}-dlq");
                let present = match dlq_exists(&client, &own, None).await {
                    Ok(true) => "present",
                    Ok(false) => "created on first use",
                    Err(_) => "not looked up",
                };
                Check::pass(
                    DLQ,
                    format!(
                        "no redrive policy on {name}: oms itself moves a message received \
                         more than {max_receives} times to {own} ({present}); to let SQS do \
                         it, set a RedrivePolicy naming {own}"
                    ),
                )
            }
        };
        vec![queue_check, dlq_check]
    }
}
