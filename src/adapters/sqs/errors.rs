//! Sorting SDK errors into the port's [`QueueError`]: network, time-outs, 5xx and
//! throttling are `Unavailable`; invalid or expired receipts are `LostReceipt`;
//! refusals, missing queues and the rest are `Other`. No SDK type crosses the port.

use crate::ports::{Detail, QueueError};
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};

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

/// Maps an SDK error onto the port's error, keeping SDK types out of it.
pub(super) fn map_err<E>(op: Op, queue: &str, err: &SdkError<E, HttpResponse>) -> QueueError
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
pub(super) fn describe(err: &(dyn std::error::Error + 'static)) -> String {
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
