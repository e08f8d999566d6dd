//! Driver errors of the MongoDB adapter: which of them mean "not now" and which
//! "never", the deadline on every request, and their mapping into [`StoreError`]s that
//! keep the driver's error as the cause ([`MongoCause`]) with the connection string's
//! password masked.

use crate::domain::secret::PasswordMask;
use crate::ports::{Detail, StoreError};
use mongodb::error::{Error as DriverError, ErrorKind, WriteFailure};
use std::fmt;
use std::time::Duration;

/// The server's duplicate-key error code.
pub(super) const DUPLICATE_KEY: i32 = 11000;

/// Server error codes that mean "not now" (failover, shutdown, network, time limits)
/// rather than "never".
const TRANSIENT_CODES: &[i32] = &[
    6,     // HostUnreachable
    7,     // HostNotFound
    50,    // MaxTimeMSExpired
    64,    // WriteConcernFailed (wtimeout)
    89,    // NetworkTimeout
    91,    // ShutdownInProgress
    134,   // ReadConcernMajorityNotAvailableYet
    189,   // PrimarySteppedDown
    262,   // ExceededTimeLimit
    9001,  // SocketException
    10107, // NotWritablePrimary
    11600, // InterruptedAtShutdown
    11602, // InterruptedDueToReplStateChange
    13435, // NotPrimaryNoSecondaryOk
    13436, // NotPrimaryOrSecondary
];

/// How long one request to MongoDB may go unanswered. The driver has no socket
/// time-out: a server that takes a request and never answers would hold the caller
/// (a `fulfil` batch, an `ingest` chunk) for ever. Past this the request is a network
/// time-out ([`StoreError::Unavailable`]), and the caller tries again.
const REQUEST_DEADLINE: Duration = Duration::from_secs(60);

/// `.bounded()` on a driver request: the request within [`REQUEST_DEADLINE`].
pub(super) trait Bounded<T>: IntoFuture<Output = Result<T, DriverError>> + Sized {
    /// The request within [`REQUEST_DEADLINE`].
    fn bounded(self) -> impl Future<Output = Result<T, DriverError>> {
        self.within(REQUEST_DEADLINE)
    }

    /// The request within `deadline`; past it, an I/O time-out.
    fn within(self, deadline: Duration) -> impl Future<Output = Result<T, DriverError>> {
        async move {
            tokio::time::timeout(deadline, self.into_future())
                .await
                .unwrap_or_else(|_| {
                    Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("no answer from MongoDB within {deadline:?}"),
                    )
                    .into())
                })
        }
    }
}

impl<T, F: IntoFuture<Output = Result<T, DriverError>>> Bounded<T> for F {}

/// The driver's error behind a [`StoreError`] of this adapter, kept so that a caller can
/// tell kinds apart by type: [`MongoCause::refused_credentials`],
/// [`MongoCause::duplicate_key`], [`MongoCause::timed_out`], or the driver's own error
/// ([`MongoCause::driver`]). Its text is the error's kind with the connection string's
/// password masked. The driver's error is deliberately not its
/// [`source`](std::error::Error::source): the driver's own text (labels, the server's
/// reply) would then reach printed messages, unmasked.
pub struct MongoCause {
    text: String,
    driver: DriverError,
}

impl MongoCause {
    /// The MongoDB cause of `e`, when `e` comes from this adapter's driver.
    #[must_use]
    pub fn of(e: &StoreError) -> Option<&Self> {
        match e {
            StoreError::Unavailable(d) | StoreError::Other(d) => d.find_cause::<Self>(),
        }
    }

    /// The driver's error.
    #[must_use]
    pub fn driver(&self) -> &DriverError {
        &self.driver
    }

    /// The server refused the credentials (authentication failed, or the user may not
    /// run the command).
    #[must_use]
    pub fn refused_credentials(&self) -> bool {
        driver_chain(&self.driver).any(|e| match &*e.kind {
            ErrorKind::Authentication { .. } => true,
            ErrorKind::Command(c) => REFUSED_CREDENTIALS.contains(&c.code),
            _ => false,
        })
    }

    /// The server refused a write or an index because two documents have the same
    /// unique key.
    #[must_use]
    pub fn duplicate_key(&self) -> bool {
        driver_chain(&self.driver).any(|e| match &*e.kind {
            ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
            ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
            ErrorKind::InsertMany(m) => m
                .write_errors
                .iter()
                .flatten()
                .any(|w| w.code == DUPLICATE_KEY),
            _ => false,
        })
    }

    /// No answer in time: the request's deadline passed, or no server could be
    /// selected before the driver's time-out.
    #[must_use]
    pub fn timed_out(&self) -> bool {
        driver_chain(&self.driver).any(|e| match &*e.kind {
            ErrorKind::Io(io) => io.kind() == std::io::ErrorKind::TimedOut,
            ErrorKind::ServerSelection { .. } => true,
            _ => false,
        })
    }
}

impl fmt::Display for MongoCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for MongoCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MongoCause").field(&self.text).finish()
    }
}

impl std::error::Error for MongoCause {}

/// Server error codes of refused credentials: Unauthorized, AuthenticationFailed.
const REFUSED_CREDENTIALS: &[i32] = &[13, 18];

/// A driver error and the driver errors it wraps.
fn driver_chain(e: &DriverError) -> impl Iterator<Item = &DriverError> {
    std::iter::successors(Some(e), |e| {
        std::error::Error::source(*e).and_then(|s| s.downcast_ref::<DriverError>())
    })
}

/// Maps driver errors into [`StoreError`]s, masking the connection string's password
/// (through [`PasswordMask`], the one place that decides what of a secret is shown).
#[derive(Debug)]
pub(super) struct ErrorMap {
    mask: PasswordMask,
}

impl ErrorMap {
    /// The mapping for errors of a client of `uri`.
    pub(super) fn for_uri(uri: &str) -> Self {
        Self {
            mask: PasswordMask::from_uri(uri),
        }
    }

    /// Maps a driver error: no server, network trouble and time-outs are
    /// [`StoreError::Unavailable`] (the caller retries), the rest [`StoreError::Other`].
    /// The text is `what: <the error's kind>`; the driver's error is its cause.
    pub(super) fn map(&self, what: &str, e: DriverError) -> StoreError {
        let kind = self.mask.clean(e.kind.to_string());
        let text = self.mask.clean(format!("{what}: {}", e.kind));
        let transient = is_transient(&e);
        let detail = Detail::caused(
            text,
            MongoCause {
                text: kind,
                driver: e,
            },
        );
        if transient {
            StoreError::Unavailable(detail)
        } else {
            StoreError::Other(detail)
        }
    }
}

/// Whether trying again later may succeed.
fn is_transient(e: &DriverError) -> bool {
    let by_kind = match &*e.kind {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => true,
        ErrorKind::Command(c) => TRANSIENT_CODES.contains(&c.code),
        ErrorKind::Write(WriteFailure::WriteConcernError(w)) => TRANSIENT_CODES.contains(&w.code),
        ErrorKind::Write(WriteFailure::WriteError(w)) => TRANSIENT_CODES.contains(&w.code),
        ErrorKind::InsertMany(m) => {
            m.write_concern_error
                .as_ref()
                .is_some_and(|w| TRANSIENT_CODES.contains(&w.code))
                || m.write_errors
                    .as_ref()
                    .is_some_and(|es| es.iter().any(|w| TRANSIENT_CODES.contains(&w.code)))
        }
        _ => false,
    };
    by_kind
        || [
            mongodb::error::RETRYABLE_WRITE_ERROR,
            mongodb::error::TRANSIENT_TRANSACTION_ERROR,
            mongodb::error::SYSTEM_OVERLOADED_ERROR,
        ]
        .iter()
        .any(|l| e.contains_label(l))
}

/// An insert refused because a document with its `_id` or unique key exists.
pub(super) fn is_duplicate_key(e: &DriverError) -> bool {
    matches!(&*e.kind, ErrorKind::Write(WriteFailure::WriteError(w)) if w.code == DUPLICATE_KEY)
}

/// The positions of the documents an unordered `insert_many` refused, when it failed
/// only because they exist already (duplicate keys); `None` for any other failure.
pub(super) fn duplicate_positions(e: &DriverError) -> Option<Vec<usize>> {
    match &*e.kind {
        ErrorKind::InsertMany(m)
            if m.write_concern_error.is_none()
                && m.write_errors.as_ref().is_some_and(|es| {
                    !es.is_empty() && es.iter().all(|w| w.code == DUPLICATE_KEY)
                }) =>
        {
            Some(m.write_errors.iter().flatten().map(|w| w.index).collect())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::StoreError;

    #[tokio::test]
    async fn an_unanswered_request_is_a_time_out_the_caller_retries() {
        let silent = std::future::pending::<Result<(), DriverError>>();
        let e = silent
            .within(Duration::from_millis(50))
            .await
            .expect_err("a request that never ends must time out");
        let mapped = ErrorMap::for_uri("mongodb://db/oms").map("read orders", e);
        assert!(
            MongoCause::of(&mapped).is_some_and(MongoCause::timed_out),
            "the time-out is kept as the cause: {mapped:?}"
        );
        match mapped {
            StoreError::Unavailable(m) => {
                assert!(
                    m.text().contains("read orders") && m.text().contains("no answer"),
                    "{m}"
                );
            }
            other => panic!("a time-out must be Unavailable, got {other:?}"),
        }
        // An answer in time passes through untouched.
        let quick = async { Ok::<_, DriverError>(7) };
        assert_eq!(quick.within(Duration::from_secs(5)).await.unwrap(), 7);
    }

    /// A driver error as the server's reply `{code, codeName, errmsg}` makes it.
    fn command_error(code: i32, name: &str, message: &str) -> DriverError {
        let reply = mongodb::bson::doc! { "code": code, "codeName": name, "errmsg": message };
        let command = mongodb::bson::from_document(reply).expect("a command error");
        ErrorKind::Command(command).into()
    }

    #[test]
    fn the_cause_is_kept_with_the_password_masked() {
        let errors = ErrorMap::for_uri("mongodb://oms:s3cr3tpw@db/oms");
        let mapped = errors.map("ping", DriverError::custom("as oms:s3cr3tpw".to_owned()));
        let cause = MongoCause::of(&mapped).expect("the driver's error is the cause");
        assert!(!cause.refused_credentials() && !cause.duplicate_key() && !cause.timed_out());
        assert!(mapped.to_string().contains("as oms:*****"), "{mapped}");
        for text in [
            mapped.to_string(),
            format!("{mapped:?}"),
            cause.to_string(),
            format!("{cause:?}"),
        ] {
            assert!(!text.contains("s3cr3tpw"), "{text}");
        }
        assert!(std::error::Error::source(cause).is_none());
    }

    #[test]
    fn refused_credentials_and_duplicate_keys_are_told_by_type() {
        let errors = ErrorMap::for_uri("mongodb://db/oms");
        let refused = errors.map(
            "ping",
            command_error(18, "AuthenticationFailed", "Authentication failed."),
        );
        assert!(matches!(refused, StoreError::Other(_)), "{refused:?}");
        assert!(MongoCause::of(&refused).is_some_and(MongoCause::refused_credentials));
        let duplicate = errors.map(
            "create indexes of orders",
            command_error(11000, "DuplicateKey", "E11000 duplicate key error"),
        );
        let cause = MongoCause::of(&duplicate).expect("a driver cause");
        assert!(cause.duplicate_key() && !cause.refused_credentials());
        assert!(MongoCause::of(&StoreError::Other("no driver here".into())).is_none());
    }
}
