//! The queue checks: the embedded queue's depth; SQS reachable, the queue and its
//! dead-letter queue.

use super::embedded::{embedded_port, timed_out};
use super::{CHECK_TIMEOUT, Check, REQUEST_TIMEOUT, bounded};
use crate::adapters::embedded::{Db, EmbeddedQueue};
use crate::config::Config;
use crate::ports::{JobQueue, QueueDepth};

/// The `queue` check (and, on SQS, the `dead-letter queue` check) of the queue in
/// `config`; `db` is the embedded database when it could be opened.
pub async fn check(config: &Config, db: Option<Db>) -> Vec<Check> {
    const NAME: &str = "queue";
    match crate::wiring::sqs_settings(config) {
        None => {
            let settings = crate::wiring::queue_settings(config);
            let ask = move |db| async move { EmbeddedQueue::new(db, settings).depth().await };
            let pass = |d: QueueDepth| {
                Check::pass(
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
                )
            };
            vec![embedded_port(NAME, db, ask, pass).await]
        }
        Some(settings) => {
            let (queue, endpoint) = (settings.queue.clone(), settings.endpoint.is_some());
            match bounded(CHECK_TIMEOUT, move || sqs::checks(settings)).await {
                Ok(checks) => checks,
                Err(why) => vec![timed_out(
                    NAME,
                    &format!("sqs {queue}"),
                    &why,
                    &sqs::unreachable_fix(endpoint),
                )],
            }
        }
    }
}

/// The SQS checks: the adapter's probe, said as checks with their fixes.
mod sqs {
    use super::{Check, REQUEST_TIMEOUT};
    use crate::adapters::sqs::{FaultKind, Redrive, SqsProbe, SqsQueue, SqsSettings};

    const NAME: &str = "queue";
    const DLQ: &str = "dead-letter queue";

    /// The fix when SQS does not answer (`endpoint`: an endpoint is configured).
    pub fn unreachable_fix(endpoint: bool) -> String {
        if endpoint {
            "start the SQS service at OMS_SQS_ENDPOINT, or correct OMS_SQS_ENDPOINT".into()
        } else {
            "check the network path to SQS and the region (AWS_REGION / AWS_PROFILE)".into()
        }
    }

    /// The fix when the credentials are missing or refused.
    fn credentials_fix() -> String {
        "set valid AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, \
         AWS_PROFILE, or an instance role, allowed sqs:GetQueueUrl, CreateQueue, \
         GetQueueAttributes, SetQueueAttributes, SendMessage, ReceiveMessage, \
         DeleteMessage and ChangeMessageVisibility"
            .into()
    }

    /// The fix for a failure of the kind the adapter sorted it into.
    fn fix_of(kind: FaultKind, endpoint: bool) -> String {
        match kind {
            FaultKind::NoCredentials | FaultKind::Refused => credentials_fix(),
            FaultKind::Fifo => {
                "oms needs a standard queue: set OMS_SQS_QUEUE to a name without .fifo".into()
            }
            FaultKind::Unreachable | FaultKind::Busy => unreachable_fix(endpoint),
            FaultKind::MissingQueue | FaultKind::Other => {
                "correct OMS_SQS_QUEUE (a queue name or URL) and the AWS settings, then run \
                 `oms doctor` again"
                    .into()
            }
        }
    }

    /// The `queue` and `dead-letter queue` checks of the SQS queue of `settings`.
    pub async fn checks(settings: SqsSettings) -> Vec<Check> {
        let endpoint = settings.endpoint.is_some();
        let queue = settings.queue.trim().to_owned();
        let max_receives = settings.max_receives;
        let found = match SqsQueue::probe(settings, REQUEST_TIMEOUT).await {
            SqsProbe::Unreachable(why) => {
                return vec![Check::fail(
                    NAME,
                    format!("sqs {queue}: cannot reach SQS: {why}"),
                    unreachable_fix(endpoint),
                )];
            }
            SqsProbe::NotConnected(failure) => {
                return vec![Check::fail(
                    NAME,
                    format!("sqs {queue}: {}", failure.text),
                    fix_of(failure.kind, endpoint),
                )];
            }
            SqsProbe::Connected(found) => found,
        };
        let url = &found.url;
        let created = found.existed == Some(false);
        let queue_check = match &found.depth {
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
            Err(failure) => Check::fail(
                NAME,
                format!(
                    "sqs {url}: the queue's depth cannot be read: {}",
                    failure.text
                ),
                fix_of(failure.kind, endpoint),
            ),
        };
        let name = &found.name;
        let dlq_check = match found.redrive {
            Redrive::Unreadable(p) => Check::fail(
                DLQ,
                format!("the redrive policy of {name} cannot be read: {p}"),
                format!(
                    "set a valid RedrivePolicy on {name} \
                     ({{\"deadLetterTargetArn\":\"ARN of {name}-dlq\",\
                     \"maxReceiveCount\":\"{max_receives}\"}}) or remove it"
                ),
            ),
            Redrive::To {
                dlq,
                max_receives: max,
                dlq_exists,
            } => match dlq_exists {
                Ok(true) => Check::pass(
                    DLQ,
                    format!(
                        "redrive policy: SQS moves a message received more than {} times \
                         to {dlq} (present)",
                        max.map_or_else(|| "?".to_owned(), |n| n.to_string())
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
            },
            Redrive::Absent { dlq, dlq_exists } => {
                let present = match dlq_exists {
                    Ok(true) => "present",
                    Ok(false) => "created on first use",
                    Err(_) => "not looked up",
                };
                Check::pass(
                    DLQ,
                    format!(
                        "no redrive policy on {name}: oms itself moves a message received \
                         more than {max_receives} times to {dlq} ({present}); to let SQS do \
                         it, set a RedrivePolicy naming {dlq}"
                    ),
                )
            }
        };
        vec![queue_check, dlq_check]
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn each_kind_of_failure_gets_its_fix() {
            for kind in [FaultKind::NoCredentials, FaultKind::Refused] {
                assert!(fix_of(kind, true).contains("AWS_ACCESS_KEY_ID"), "{kind:?}");
            }
            assert!(fix_of(FaultKind::Fifo, false).contains(".fifo"));
            for kind in [FaultKind::Unreachable, FaultKind::Busy] {
                assert!(fix_of(kind, true).contains("OMS_SQS_ENDPOINT"), "{kind:?}");
                assert!(fix_of(kind, false).contains("AWS_REGION"), "{kind:?}");
            }
            for kind in [FaultKind::MissingQueue, FaultKind::Other] {
                assert!(
                    fix_of(kind, false).contains("correct OMS_SQS_QUEUE"),
                    "{kind:?}"
                );
            }
        }
    }
}
