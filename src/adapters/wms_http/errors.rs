//! Sorting what reqwest and the warehouse answer into [`WmsError`]. A request that gets
//! no answer (refused connection, time-out) keeps the reqwest error as its cause; an
//! answer outside the contract keeps its status as an [`UnexpectedStatus`] cause, so a
//! caller (`oms doctor`) tells a refused credential from the rest by the status, not by
//! the text.

use crate::ports::{Detail, WmsError};
use reqwest::StatusCode;

/// An HTTP status the contract does not allow where it came, kept as the cause of a
/// [`WmsError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("HTTP {0}")]
pub struct UnexpectedStatus(StatusCode);

impl UnexpectedStatus {
    /// The status code, e.g. 401.
    #[must_use]
    pub fn code(&self) -> u16 {
        self.0.as_u16()
    }

    /// Whether the warehouse (or a proxy in front of it) refused the request's
    /// credentials: 401 or 403.
    #[must_use]
    pub fn is_refusal(&self) -> bool {
        matches!(self.0, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
    }
}

/// The request got no answer: the connection was refused or the time-out ran out.
pub(super) fn no_answer(e: reqwest::Error) -> WmsError {
    WmsError::Unavailable(Detail::caused(describe(&e), e))
}

/// A 5xx: the warehouse cannot answer now.
pub(super) fn server_error(path: &str, status: StatusCode) -> WmsError {
    WmsError::Unavailable(Detail::caused(
        format!("{path}: HTTP {status}"),
        UnexpectedStatus(status),
    ))
}

/// A status the contract does not allow at `path`.
pub(super) fn unexpected(path: &str, status: StatusCode, text: &str) -> WmsError {
    WmsError::Protocol(Detail::caused(
        format!("{path}: HTTP {status}: {}", cut(text)),
        UnexpectedStatus(status),
    ))
}

/// An answer whose body is not what the contract says.
pub(super) fn bad_body(
    path: &str,
    status: StatusCode,
    text: &str,
    e: serde_json::Error,
) -> WmsError {
    WmsError::Protocol(Detail::caused(
        format!("{path}: HTTP {status}: {}", cut(text)),
        e,
    ))
}

/// A path that cannot be joined to the base URL.
pub(super) fn bad_path(e: impl std::error::Error + Send + Sync + 'static) -> WmsError {
    WmsError::Protocol(Detail::caused(e.to_string(), e))
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        format!("timed out: {e}")
    } else if e.is_connect() {
        format!("cannot connect: {e}")
    } else {
        e.to_string()
    }
}

/// The first 200 characters of an answer, for an error's text.
pub(super) fn cut(s: &str) -> String {
    s.chars().take(200).collect()
}
