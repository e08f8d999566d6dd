//! What both servers (`oms serve` and `oms wms serve`) share to be secure by default:
//! the bearer token a request presents, checked on its SHA-256 in constant time; the
//! rule that a non-loopback address needs a token; the 401 answer; and the limits on a
//! request (body size, time).

use crate::domain::access::TokenHash;
use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::net::SocketAddr;
use std::time::Duration;

/// Longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a request's credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthenticated {
    /// No `Authorization: Bearer ...` header.
    Missing,
    /// A bearer token that matches none.
    Invalid,
}

impl Unauthenticated {
    /// The label of `/metrics` and of the audit line.
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::Invalid => "invalid_token",
        }
    }
}

/// The bearer token of the `Authorization` header, if there is one (the scheme in any
/// case, the token trimmed).
#[must_use]
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .filter(|t| !t.is_empty())
}

/// The hash of the bearer token presented, or why there is none.
///
/// # Errors
/// [`Unauthenticated::Missing`] without a bearer token.
pub fn presented(headers: &HeaderMap) -> Result<TokenHash, Unauthenticated> {
    bearer(headers)
        .map(TokenHash::of)
        .ok_or(Unauthenticated::Missing)
}

/// Whether the request presents `want`'s token; compared on the hashes, in constant
/// time, so neither the content nor the length of the token leaks through timing.
///
/// # Errors
/// Why it does not.
pub fn check(headers: &HeaderMap, want: &TokenHash) -> Result<(), Unauthenticated> {
    if presented(headers)?.matches(want) {
        Ok(())
    } else {
        Err(Unauthenticated::Invalid)
    }
}

/// The 401 answer: `WWW-Authenticate: Bearer` and a JSON error.
#[must_use]
pub fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
        Json(json!({ "error": "a valid bearer token is required (Authorization: Bearer ...)" })),
    )
        .into_response()
}

/// Middleware: every request must present the one token whose hash is the state.
pub async fn require(State(want): State<TokenHash>, req: Request, next: Next) -> Response {
    match check(req.headers(), &want) {
        Ok(()) => next.run(req).await,
        Err(why) => {
            tracing::debug!(reason = why.reason(), "request refused");
            unauthorized()
        }
    }
}

/// Middleware: a request that takes longer than [`REQUEST_TIMEOUT`] is answered 503
/// with a JSON error.
pub async fn time_limit(req: Request, next: Next) -> Response {
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(req)).await {
        Ok(r) => r,
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({ "error": "the request timed out" })),
        )
            .into_response(),
    }
}

/// A token setting as read (`OMS_API_TOKEN`, `OMS_WMS_TOKEN`), trimmed as a presented
/// token is (a trailing newline from a file is no part of it): `var` names it in
/// messages.
///
/// # Errors
/// When it is set but blank.
pub fn token_setting<'a>(var: &str, token: Option<&'a str>) -> Result<Option<&'a str>, String> {
    match token.map(str::trim) {
        Some("") => Err(format!("{var} is set but empty")),
        t => Ok(t),
    }
}

/// Whether a server may listen on `addr`: a loopback address always, any other only
/// when it requires a token (`secured`). The refusal says how to set one: `how`.
///
/// # Errors
/// The reason it refuses.
pub fn check_bind(addr: &SocketAddr, secured: bool, how: &str) -> Result<(), String> {
    if !addr.ip().is_loopback() && !secured {
        return Err(format!(
            "refusing to listen on {addr} without a token: {how}, or bind a loopback address \
             (127.0.0.1)"
        ));
    }
    Ok(())
}

/// The socket address `bind` names (`127.0.0.1:8081`, `localhost:8081`).
///
/// # Errors
/// When it names none.
pub async fn resolve(bind: &str) -> Result<SocketAddr, String> {
    tokio::net::lookup_host(bind)
        .await
        .ok()
        .and_then(|mut it| it.next())
        .ok_or_else(|| format!("--bind {bind}: not an address"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with(auth: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(auth).unwrap());
        h
    }

    #[test]
    fn only_the_right_bearer_token_passes() {
        let want = TokenHash::of("s3cret");
        assert_eq!(check(&with("Bearer s3cret"), &want), Ok(()));
        assert_eq!(check(&with("bearer  s3cret "), &want), Ok(()));
        for wrong in ["Bearer s3cre", "Bearer s3crett", "Bearer wrong"] {
            assert_eq!(
                check(&with(wrong), &want),
                Err(Unauthenticated::Invalid),
                "{wrong}"
            );
        }
        for missing in ["Basic czNjcmV0", "Bearer ", "s3cret"] {
            assert_eq!(
                check(&with(missing), &want),
                Err(Unauthenticated::Missing),
                "{missing}"
            );
        }
        assert_eq!(
            check(&HeaderMap::new(), &want),
            Err(Unauthenticated::Missing)
        );
    }

    #[test]
    fn non_loopback_needs_a_token() {
        let lo: SocketAddr = "127.0.0.1:8081".parse().unwrap();
        let lo6: SocketAddr = "[::1]:8081".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8081".parse().unwrap();
        assert!(check_bind(&lo, false, "set X").is_ok());
        assert!(check_bind(&lo6, false, "set X").is_ok());
        let e = check_bind(&any, false, "set OMS_WMS_TOKEN").unwrap_err();
        assert!(
            e.contains("OMS_WMS_TOKEN") && e.contains("0.0.0.0:8081"),
            "{e}"
        );
        assert!(check_bind(&any, true, "set X").is_ok());
        assert!(token_setting("OMS_API_TOKEN", Some(" ")).is_err());
        assert_eq!(token_setting("X", None), Ok(None));
        assert_eq!(token_setting("X", Some(" t\n")), Ok(Some("t")));
    }
}
