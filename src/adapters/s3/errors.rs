//! Sorting SDK errors into the port's [`FileError`]: no answer, time-outs, 5xx and
//! throttling are `Unavailable`; a missing object or bucket is `Refused`; a failed
//! precondition (`If-Match`) or a gone version is `Changed`; refused credentials and
//! permissions are `Failed`. Sorted by the SDK error's kind, S3's error code and the
//! HTTP status, never by message text. The [`Detail`] of each error holds an
//! [`S3Fault`] with the [`FaultKind`] and the SDK's error.

pub(super) use crate::adapters::aws::describe;
use crate::adapters::aws::{credentials_error, lacks_credentials};
use crate::ports::{Cause, Detail, FileError};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

/// What kind of failure an S3 call met, as this adapter sorts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// S3 did not answer: the connection failed, a call or a read timed out.
    Unreachable,
    /// S3 answered "not now": throttling, a 5xx, a response that could not be read.
    Busy,
    /// The AWS configuration chain found no credentials, or their provider failed.
    NoCredentials,
    /// S3 does not accept the credentials (an unknown access key, a bad signature, an
    /// expired token).
    BadCredentials,
    /// The credentials are accepted but not allowed this call (`AccessDenied`, 403).
    Denied,
    /// The bucket does not exist.
    NoSuchBucket,
    /// The object does not exist.
    NoSuchObject,
    /// The object is not the version asked for any more (`If-Match` failed, the
    /// version is gone).
    Changed,
    /// Anything else.
    Other,
}

impl FaultKind {
    /// The kind of an error of this adapter: its [`S3Fault`]'s kind, else by the
    /// error's variant.
    #[must_use]
    pub fn of(err: &FileError) -> Self {
        match (S3Fault::of(err), err) {
            (Some(f), _) => f.kind,
            (None, FileError::Unavailable(_)) => FaultKind::Busy,
            (None, FileError::Changed(_)) => FaultKind::Changed,
            (None, _) => FaultKind::Other,
        }
    }

    /// Whether a failure of this kind may go away by itself (try again later).
    #[must_use]
    pub fn is_transient(self) -> bool {
        matches!(self, FaultKind::Unreachable | FaultKind::Busy)
    }
}

/// The cause behind the [`Detail`] of an error this adapter returns: how it sorted the
/// failure, S3's error code and HTTP status, and the SDK's error (kept, not offered as
/// `source`, so a printed chain says nothing twice).
#[derive(Debug)]
pub struct S3Fault {
    kind: FaultKind,
    code: Option<String>,
    status: Option<u16>,
    summary: String,
    sdk: Option<Cause>,
}

impl S3Fault {
    /// The fault behind an error of this adapter, if it has one.
    #[must_use]
    pub fn of(err: &FileError) -> Option<&Self> {
        match err {
            FileError::Refused(d)
            | FileError::Changed(d)
            | FileError::Unavailable(d)
            | FileError::Failed(d) => d.find_cause::<Self>(),
        }
    }

    /// How the adapter sorted the failure.
    #[must_use]
    pub fn kind(&self) -> FaultKind {
        self.kind
    }

    /// S3's error code, when it answered with one.
    #[must_use]
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// The HTTP status of S3's answer, when there was one.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The SDK's error, when the failure came from a call.
    #[must_use]
    pub fn sdk_error(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.sdk
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl std::fmt::Display for S3Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.summary)
    }
}

impl std::error::Error for S3Fault {}

/// The port error for a failure of `kind`: `Refused` for a missing object or bucket,
/// `Changed`, `Unavailable` for transient kinds, `Failed` for the rest.
pub(super) fn error_of(
    kind: FaultKind,
    code: Option<&str>,
    status: Option<u16>,
    summary: String,
    sdk: Option<Cause>,
) -> FileError {
    let detail = Detail::caused(
        summary.clone(),
        S3Fault {
            kind,
            code: code.filter(|c| !c.is_empty()).map(str::to_owned),
            status,
            summary,
            sdk,
        },
    );
    match kind {
        FaultKind::NoSuchBucket | FaultKind::NoSuchObject => FileError::Refused(detail),
        FaultKind::Changed => FileError::Changed(detail),
        FaultKind::Unreachable | FaultKind::Busy => FileError::Unavailable(detail),
        FaultKind::NoCredentials
        | FaultKind::BadCredentials
        | FaultKind::Denied
        | FaultKind::Other => FileError::Failed(detail),
    }
}

/// A failure the adapter finds itself (no SDK error behind it).
pub(super) fn own(kind: FaultKind, summary: String) -> FileError {
    error_of(kind, None, None, summary, None)
}

/// Codes that mean "try again later".
fn is_transient(code: &str) -> bool {
    matches!(
        code,
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestThrottled"
            | "TooManyRequestsException"
            | "ServiceUnavailable"
            | "InternalError"
            | "RequestTimeout"
    )
}

/// Codes that mean S3 does not accept the credentials themselves.
fn is_bad_credentials(code: &str) -> bool {
    matches!(
        code,
        "InvalidAccessKeyId"
            | "SignatureDoesNotMatch"
            | "ExpiredToken"
            | "InvalidToken"
            | "TokenRefreshRequired"
            | "AuthorizationHeaderMalformed"
            | "MissingSecurityHeader"
    )
}

/// The fix-it sentence for credential problems.
pub(super) const CREDENTIALS_HINT: &str = "check the AWS credentials (AWS_ACCESS_KEY_ID and \
     AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role)";

/// Maps an SDK error of `op` (`HEAD`, `GET`, ...) on `target` (an `s3://` URI) onto the
/// port's error.
pub(super) fn map_err<E>(op: &str, target: &str, err: SdkError<E, HttpResponse>) -> FileError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::DispatchFailure(_) if credentials_error(&err).is_some() => {
            let lacking = credentials_error(&err).is_some_and(lacks_credentials);
            let summary = format!(
                "S3 {op} {target}: no usable AWS credentials: {CREDENTIALS_HINT}: {}",
                describe(&err)
            );
            let e = error_of(
                FaultKind::NoCredentials,
                None,
                None,
                summary,
                Some(err.into()),
            );
            match (lacking, e) {
                // The provider failed (an instance role's endpoint did not answer):
                // it may work later.
                (false, FileError::Failed(d)) => FileError::Unavailable(d),
                (_, e) => e,
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            let kind = if matches!(err, SdkError::ResponseError(_)) {
                FaultKind::Busy
            } else {
                FaultKind::Unreachable
            };
            let summary = format!("S3 {op} {target}: S3 did not answer: {}", describe(&err));
            error_of(kind, None, None, summary, Some(err.into()))
        }
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let code = err.code().unwrap_or("").to_owned();
            let message = err.message().unwrap_or("").to_owned();
            let (kind, summary) = sort_answer(status, &code, &message);
            let summary = format!("S3 {op} {target}: {summary}");
            error_of(kind, Some(&code), Some(status), summary, Some(err.into()))
        }
        _ => {
            let summary = format!("S3 {op} {target}: {}", describe(&err));
            error_of(FaultKind::Other, None, None, summary, Some(err.into()))
        }
    }
}

/// The kind and the words for S3's answer `status` with `code`.
fn sort_answer(status: u16, code: &str, message: &str) -> (FaultKind, String) {
    let shown = if code.is_empty() { "no code" } else { code };
    if status >= 500 || is_transient(code) {
        (
            FaultKind::Busy,
            format!("S3 is not answering normally ({shown}, HTTP {status}); try again later"),
        )
    } else if code == "NoSuchBucket" {
        (FaultKind::NoSuchBucket, "no such bucket".into())
    } else if matches!(code, "NoSuchKey" | "NotFound") || (status == 404 && code.is_empty()) {
        (FaultKind::NoSuchObject, "no such object".into())
    } else if matches!(code, "PreconditionFailed" | "NoSuchVersion") || status == 412 {
        (
            FaultKind::Changed,
            "the object changed since it was submitted (that version is no longer there); \
             submit it again"
                .into(),
        )
    } else if is_bad_credentials(code) || status == 401 {
        (
            FaultKind::BadCredentials,
            format!(
                "S3 does not accept the credentials ({shown}, HTTP {status}): {CREDENTIALS_HINT}"
            ),
        )
    } else if code == "AccessDenied" || status == 403 {
        (
            FaultKind::Denied,
            format!(
                "access denied ({shown}, HTTP {status}): the credentials in force are not \
                 allowed this; {CREDENTIALS_HINT} and the IAM policy (s3:GetObject, \
                 s3:ListBucket, s3:PutObject on the prefix)"
            ),
        )
    } else {
        let message = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        (
            FaultKind::Other,
            format!("{shown} (HTTP {status}){message}"),
        )
    }
}

/// A read of the object's body that failed midway (the connection dropped, a chunk
/// did not come in time): transient.
pub(super) fn body_failed(target: &str, why: String, cause: Option<Cause>) -> FileError {
    error_of(
        FaultKind::Unreachable,
        None,
        None,
        format!("S3 GET {target}: reading the object failed midway: {why}"),
        cause,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_sdk_s3::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_s3::operation::get_object::GetObjectError;

    fn answered(status: u16, code: &str) -> SdkError<GetObjectError, HttpResponse> {
        let meta = ErrorMetadata::builder().code(code).message("msg").build();
        SdkError::service_error(
            GetObjectError::generic(meta),
            HttpResponse::new(status.try_into().expect("a status"), "".into()),
        )
    }

    fn sorted(status: u16, code: &str) -> (FileError, FaultKind) {
        let e = map_err("GET", "s3://b/k", answered(status, code));
        let kind = FaultKind::of(&e);
        (e, kind)
    }

    #[test]
    fn answers_are_sorted_by_code_and_status() {
        let (e, k) = sorted(404, "NoSuchKey");
        assert!(matches!(e, FileError::Refused(_)) && k == FaultKind::NoSuchObject);
        assert_eq!(e.to_string(), "S3 GET s3://b/k: no such object");
        let (e, k) = sorted(404, "");
        assert!(matches!(e, FileError::Refused(_)) && k == FaultKind::NoSuchObject);
        let (e, k) = sorted(404, "NoSuchBucket");
        assert!(matches!(e, FileError::Refused(_)) && k == FaultKind::NoSuchBucket);
        for (status, code) in [(412, "PreconditionFailed"), (404, "NoSuchVersion")] {
            let (e, k) = sorted(status, code);
            assert!(matches!(e, FileError::Changed(_)) && k == FaultKind::Changed);
            assert!(e.to_string().contains("changed since it was submitted"));
        }
        let (e, k) = sorted(403, "AccessDenied");
        assert!(matches!(e, FileError::Failed(_)) && k == FaultKind::Denied);
        assert!(e.to_string().contains("credentials"), "{e}");
        let (e, k) = sorted(403, "InvalidAccessKeyId");
        assert!(matches!(e, FileError::Failed(_)) && k == FaultKind::BadCredentials);
        for (status, code) in [
            (503, "SlowDown"),
            (500, "InternalError"),
            (400, "RequestTimeout"),
        ] {
            let (e, k) = sorted(status, code);
            assert!(matches!(e, FileError::Unavailable(_)) && k == FaultKind::Busy);
        }
        let (e, k) = sorted(400, "InvalidArgument");
        assert!(matches!(e, FileError::Failed(_)) && k == FaultKind::Other);
        let fault = S3Fault::of(&e).expect("a fault");
        assert_eq!(
            (fault.code(), fault.status()),
            (Some("InvalidArgument"), Some(400))
        );
        assert!(fault.sdk_error().is_some());
    }

    #[test]
    fn no_answer_is_unavailable_and_missing_credentials_are_told_by_type() {
        let e = map_err(
            "HEAD",
            "s3://b/k",
            SdkError::<GetObjectError, HttpResponse>::dispatch_failure(ConnectorError::io(
                "connection refused".into(),
            )),
        );
        assert!(matches!(e, FileError::Unavailable(_)));
        assert_eq!(FaultKind::of(&e), FaultKind::Unreachable);
        assert!(FaultKind::of(&e).is_transient());
        let none = map_err(
            "HEAD",
            "s3://b/k",
            SdkError::<GetObjectError, HttpResponse>::dispatch_failure(ConnectorError::other(
                CredentialsError::not_loaded("no providers").into(),
                None,
            )),
        );
        assert!(matches!(none, FileError::Failed(_)));
        assert_eq!(FaultKind::of(&none), FaultKind::NoCredentials);
        let flaky = map_err(
            "HEAD",
            "s3://b/k",
            SdkError::<GetObjectError, HttpResponse>::dispatch_failure(ConnectorError::other(
                CredentialsError::provider_error("IMDS silent").into(),
                None,
            )),
        );
        assert!(matches!(flaky, FileError::Unavailable(_)));
        assert_eq!(FaultKind::of(&flaky), FaultKind::NoCredentials);
    }
}
