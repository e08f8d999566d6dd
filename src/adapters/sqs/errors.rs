//! Sorting SDK errors into the port's [`QueueError`]: network, time-outs, 5xx and
//! throttling are `Unavailable`; invalid or expired receipts are `LostReceipt`;
//! refusals, missing queues and the rest are `Other`. No SDK type crosses the port:
//! the [`Detail`] of each error holds an [`SqsFault`], which tells the kind of failure
//! by type ([`FaultKind`]) and keeps SQS's error code and the SDK's error.

pub(super) use crate::adapters::aws::describe;
use crate::adapters::aws::{credentials_error, lacks_credentials};
use crate::ports::{Cause, Detail, QueueError};
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

/// What kind of failure an SQS call met, as this adapter sorts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// SQS did not answer: the connection failed or a call timed out.
    Unreachable,
    /// SQS answered "not now": throttling, a 5xx, or a response that could not be read.
    Busy,
    /// The AWS configuration chain found no credentials to sign the call with, or their
    /// provider failed.
    NoCredentials,
    /// SQS refused the credentials or their permissions (an error code such as
    /// `AccessDenied`, `InvalidClientTokenId` or `SignatureDoesNotMatch`, or HTTP 401 or
    /// 403).
    Refused,
    /// The queue does not exist.
    MissingQueue,
    /// The queue is a FIFO queue; oms needs a standard queue.
    Fifo,
    /// Anything else SQS (or this adapter) said no to.
    Other,
}

impl FaultKind {
    /// The kind of an error of this adapter: its [`SqsFault`]'s kind, else by the
    /// error's variant (`Unavailable` is [`FaultKind::Busy`], the rest
    /// [`FaultKind::Other`]).
    #[must_use]
    pub fn of(err: &QueueError) -> Self {
        match (SqsFault::of(err), err) {
            (Some(fault), _) => fault.kind,
            (None, QueueError::Unavailable(_)) => FaultKind::Busy,
            (None, _) => FaultKind::Other,
        }
    }
}

/// The cause behind the [`Detail`] of an error this adapter returns: how it sorted the
/// failure, SQS's error code, and the SDK's error it comes from (none when the adapter
/// itself refused, as for a FIFO queue).
///
/// Its text is the detail's own summary, so a printed chain of causes says nothing
/// twice. The SDK's error is kept here ([`SqsFault::sdk_error`]) and not offered as
/// this error's `source`: its text would add SQS's raw message to every printed chain,
/// and for a refusal that message names the caller's identity, which the summary
/// leaves out on purpose.
#[derive(Debug)]
pub struct SqsFault {
    kind: FaultKind,
    code: Option<String>,
    summary: String,
    sdk: Option<Cause>,
}

impl SqsFault {
    /// The fault behind an error of this adapter, if it has one.
    #[must_use]
    pub fn of(err: &QueueError) -> Option<&Self> {
        match err {
            QueueError::Unavailable(d) | QueueError::Other(d) => d.find_cause::<Self>(),
            QueueError::LostReceipt => None,
        }
    }

    /// How the adapter sorted the failure.
    #[must_use]
    pub fn kind(&self) -> FaultKind {
        self.kind
    }

    /// SQS's error code, without its `AWS.SimpleQueueService.` prefix, when SQS
    /// answered with one.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The SDK's error, when the failure came from a call.
    #[must_use]
    pub fn sdk_error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.sdk
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl std::fmt::Display for SqsFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::error::Error for SqsFault {}

/// A detail whose cause is an [`SqsFault`] of `kind` with the same summary.
fn fault(kind: FaultKind, code: Option<&str>, summary: String, sdk: Option<Cause>) -> Detail {
    Detail::caused(
        summary.clone(),
        SqsFault {
            kind,
            code: code.filter(|c| !c.is_empty()).map(str::to_owned),
            summary,
            sdk,
        },
    )
}

/// A request that could not be built (the SDK's builder refused it), as the error of
/// `op`.
pub(super) fn unbuilt(op: Op, e: aws_sdk_sqs::error::BuildError) -> QueueError {
    let summary = format!("SQS {}: {e}", op.name());
    QueueError::Other(fault(FaultKind::Other, None, summary, Some(e.into())))
}

/// A detail for a failure the adapter finds itself (no SDK error behind it).
pub(super) fn own_fault(kind: FaultKind, summary: String) -> Detail {
    fault(kind, None, summary, None)
}

/// An SQS error code without the `AWS.SimpleQueueService.` prefix or a JSON shape
/// namespace (`com.amazonaws.sqs#`).
pub(super) fn short_code(code: &str) -> &str {
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
pub(super) enum Op {
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
    /// The call, in words.
    pub(super) fn name(self) -> &'static str {
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

    /// Whether the call uses a receipt handle.
    fn uses_receipt(self) -> bool {
        matches!(self, Op::Extend | Op::Ack | Op::Release)
    }
}

/// Maps an SDK error onto the port's error, keeping SDK types out of it: the SDK's
/// error goes into the [`SqsFault`] behind the error's [`Detail`].
pub(super) fn map_err<E>(op: Op, queue: &str, err: SdkError<E, HttpResponse>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let what = op.name();
    match &err {
        SdkError::DispatchFailure(_) if credentials_error(&err).is_some_and(lacks_credentials) => {
            let summary = format!(
                "SQS {what} on {queue}: no usable AWS credentials (set AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or use an instance role): {}",
                describe(&err)
            );
            QueueError::Other(fault(
                FaultKind::NoCredentials,
                None,
                summary,
                Some(err.into()),
            ))
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            let kind = if matches!(err, SdkError::ResponseError(_)) {
                FaultKind::Busy
            } else if credentials_error(&err).is_some() {
                // The credentials' provider failed (an instance role's endpoint did not
                // answer, say): the call may work later, but the fix is the credentials.
                FaultKind::NoCredentials
            } else {
                FaultKind::Unreachable
            };
            let summary = format!("SQS {what} on {queue}: {}", describe(&err));
            QueueError::Unavailable(fault(kind, None, summary, Some(err.into())))
        }
        SdkError::ServiceError(se) => {
            let server_error = se.raw().status().is_server_error();
            let status = se.raw().status().as_u16();
            let code = short_code(err.code().unwrap_or("")).to_owned();
            let message = err.message().unwrap_or("").to_owned();
            let code = code.as_str();
            let sorted = |kind: FaultKind, summary: String| {
                fault(kind, Some(code), summary, Some(err.into()))
            };
            if op.uses_receipt() && is_lost_receipt(code, &message) {
                QueueError::LostReceipt
            } else if server_error || is_transient(code) {
                QueueError::Unavailable(sorted(
                    FaultKind::Busy,
                    format!("SQS {what} on {queue}: {code} (HTTP {status}) {message}"),
                ))
            } else if matches!(code, "NonExistentQueue" | "QueueDoesNotExist") {
                QueueError::Other(sorted(
                    FaultKind::MissingQueue,
                    format!("SQS {what}: the queue {queue} does not exist (was it deleted?)"),
                ))
            } else if is_auth(code) || matches!(status, 401 | 403) {
                QueueError::Other(sorted(
                    FaultKind::Refused,
                    format!(
                        "SQS {what} on {queue}: refused ({code}, HTTP {status}): check the AWS \
                         credentials and the queue's permissions"
                    ),
                ))
            } else {
                QueueError::Other(sorted(
                    FaultKind::Other,
                    format!("SQS {what} on {queue}: {code} (HTTP {status}) {message}"),
                ))
            }
        }
        _ => {
            let summary = format!("SQS {what} on {queue}: {}", describe(&err));
            QueueError::Other(fault(FaultKind::Other, None, summary, Some(err.into())))
        }
    }
}

/// Whether SQS said the queue does not exist.
pub(super) fn is_missing_queue<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(err, SdkError::ServiceError(_))
        && matches!(
            short_code(err.code().unwrap_or("")),
            "NonExistentQueue" | "QueueDoesNotExist"
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_sqs::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;

    /// What SQS answers with `status`, `code` and `message`.
    fn answered(
        status: u16,
        code: &str,
        message: &str,
    ) -> SdkError<GetQueueUrlError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message(message).build();
        SdkError::service_error(
            GetQueueUrlError::generic(meta),
            HttpResponse::new(status.try_into().expect("an HTTP status"), "".into()),
        )
    }

    /// Every text of `err` and its sources.
    fn chain(err: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut texts = Vec::new();
        let mut next = Some(err);
        while let Some(e) = next {
            texts.push(e.to_string());
            next = e.source();
        }
        texts
    }

    #[test]
    fn failures_are_told_apart_by_their_fault() {
        let identity = "User: arn:aws:iam::123456789012:user/bob is not authorized";
        let refused = map_err(Op::Connect, "jobs", answered(403, "AccessDenied", identity));
        assert_eq!(FaultKind::of(&refused), FaultKind::Refused);
        let fault = SqsFault::of(&refused).expect("a fault");
        assert_eq!(fault.code(), Some("AccessDenied"));
        assert!(fault.sdk_error().is_some(), "the SDK's error is kept");
        assert_eq!(
            refused.to_string(),
            "queue error: SQS connect on jobs: refused (AccessDenied, HTTP 403): check the \
             AWS credentials and the queue's permissions"
        );
        assert!(
            chain(&refused).iter().all(|t| !t.contains("arn:aws")),
            "the caller's identity is not repeated: {:?}",
            chain(&refused)
        );
        for code in [
            "InvalidClientTokenId",
            "SignatureDoesNotMatch",
            "UnrecognizedClientException",
        ] {
            let e = map_err(Op::Send, "jobs", answered(400, code, ""));
            assert_eq!(FaultKind::of(&e), FaultKind::Refused, "{code}");
        }
        let missing = map_err(
            Op::Depth,
            "jobs",
            answered(400, "AWS.SimpleQueueService.NonExistentQueue", "gone"),
        );
        assert!(matches!(missing, QueueError::Other(_)));
        assert_eq!(FaultKind::of(&missing), FaultKind::MissingQueue);
        assert_eq!(
            SqsFault::of(&missing).and_then(SqsFault::code),
            Some("NonExistentQueue")
        );
        let busy = map_err(
            Op::Send,
            "jobs",
            answered(400, "ThrottlingException", "slow down"),
        );
        assert!(matches!(busy, QueueError::Unavailable(_)));
        assert_eq!(FaultKind::of(&busy), FaultKind::Busy);
        let failing = map_err(Op::Send, "jobs", answered(500, "InternalError", ""));
        assert_eq!(FaultKind::of(&failing), FaultKind::Busy);
        let other = map_err(
            Op::Send,
            "jobs",
            answered(400, "InvalidParameterValue", "bad"),
        );
        assert_eq!(FaultKind::of(&other), FaultKind::Other);
        assert_eq!(
            other.to_string(),
            "queue error: SQS send on jobs: InvalidParameterValue (HTTP 400) bad"
        );
    }

    #[test]
    fn credentials_that_cannot_be_loaded_are_told_by_their_type() {
        let failed = |e: CredentialsError| {
            let e = SdkError::<GetQueueUrlError, HttpResponse>::dispatch_failure(
                ConnectorError::other(e.into(), None),
            );
            map_err(Op::Connect, "jobs", e)
        };
        let none = failed(CredentialsError::not_loaded("no providers in chain"));
        assert!(matches!(none, QueueError::Other(_)));
        assert_eq!(FaultKind::of(&none), FaultKind::NoCredentials);
        assert!(
            none.to_string()
                .contains("SQS connect on jobs: no usable AWS credentials"),
            "{none}"
        );
        let broken = failed(CredentialsError::provider_error("IMDS did not answer"));
        assert!(matches!(broken, QueueError::Unavailable(_)));
        assert_eq!(FaultKind::of(&broken), FaultKind::NoCredentials);
    }

    #[test]
    fn no_answer_is_unreachable_and_a_stale_receipt_is_lost() {
        let refused = SdkError::<GetQueueUrlError, HttpResponse>::dispatch_failure(
            ConnectorError::io("connection refused".into()),
        );
        let e = map_err(Op::Connect, "jobs", refused);
        assert!(matches!(e, QueueError::Unavailable(_)));
        assert_eq!(FaultKind::of(&e), FaultKind::Unreachable);
        assert!(e.to_string().contains("connection refused"), "{e}");
        let late = SdkError::<GetQueueUrlError, HttpResponse>::timeout_error("timed out");
        assert_eq!(
            FaultKind::of(&map_err(Op::Receive, "jobs", late)),
            FaultKind::Unreachable
        );
        let stale = map_err(Op::Ack, "jobs", answered(400, "ReceiptHandleIsInvalid", ""));
        assert!(matches!(stale, QueueError::LostReceipt));
        assert_eq!(FaultKind::of(&stale), FaultKind::Other);
        let own = QueueError::Other(own_fault(FaultKind::Fifo, "a FIFO queue".into()));
        assert_eq!(FaultKind::of(&own), FaultKind::Fifo);
        assert_eq!(own.to_string(), "queue error: a FIFO queue");
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
}
