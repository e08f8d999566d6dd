//! What `oms doctor` asks of an HTTP warehouse: whether `validate_order` answers within
//! the timeout (and how fast), whether the batch `reserve` and `reserve_many` endpoints
//! exist, and, when the warehouse fails, which way: no answer, refused credentials
//! (401/403, told by the status), or an answer outside the contract.

use super::errors::UnexpectedStatus;
use super::{HttpWarehouse, lacks_endpoint};
use crate::domain::wms_contract::{RESERVE, RESERVE_MANY};
use crate::domain::{HubId, SkuId};
use crate::ports::{Warehouse, WmsError};
use std::time::{Duration, Instant};

/// The ids `validate_order` is asked about: known or not, an answer is what counts.
const PROBE_ID: &str = "oms-doctor";

/// What a warehouse that answers `validate_order` told.
#[derive(Debug)]
pub struct WmsProbe {
    /// How long `validate_order` took to answer.
    pub answered_in: Duration,
    /// Whether the batch `reserve` endpoint exists; an error when that could not be
    /// learnt.
    pub batch_reserve: Result<bool, WmsError>,
    /// Whether `reserve_many` (a fulfil batch in one request) exists; likewise.
    pub reserve_many: Result<bool, WmsError>,
}

/// Why `validate_order` did not answer as the contract says.
#[derive(Debug)]
pub enum ProbeFailure {
    /// No answer: the connection was refused, the time-out ran out, or a 5xx.
    NoAnswer(WmsError),
    /// The warehouse, or a proxy in front of it, refused the request (401 or 403).
    Refused { status: u16, error: WmsError },
    /// Any other answer outside the contract.
    Unexpected(WmsError),
}

impl ProbeFailure {
    /// The warehouse error behind the failure.
    #[must_use]
    pub fn error(&self) -> &WmsError {
        match self {
            Self::NoAnswer(e) | Self::Unexpected(e) | Self::Refused { error: e, .. } => e,
        }
    }

    fn of(e: WmsError) -> Self {
        match &e {
            WmsError::Unavailable(_) => Self::NoAnswer(e),
            WmsError::Protocol(d) => match d.find_cause::<UnexpectedStatus>() {
                Some(s) if s.is_refusal() => Self::Refused {
                    status: s.code(),
                    error: e,
                },
                _ => Self::Unexpected(e),
            },
        }
    }
}

impl HttpWarehouse {
    /// Asks `validate_order` about a (hub, sku) no warehouse holds, then whether the
    /// batch `reserve` and `reserve_many` endpoints exist. Nothing is deducted or
    /// reserved.
    ///
    /// # Errors
    /// [`ProbeFailure`] when `validate_order` does not answer as the contract says.
    pub async fn probe(&self) -> Result<WmsProbe, ProbeFailure> {
        let ids = HubId::parse(PROBE_ID).and_then(|h| Ok((h, SkuId::parse(PROBE_ID)?)));
        let (hub, sku) = ids.map_err(|e| {
            ProbeFailure::Unexpected(WmsError::Protocol(format!("probe ids: {e}").into()))
        })?;
        let started = Instant::now();
        self.validate(&hub, &sku).await.map_err(ProbeFailure::of)?;
        let answered_in = started.elapsed();
        Ok(WmsProbe {
            answered_in,
            batch_reserve: self.offers(RESERVE).await,
            reserve_many: self.offers(RESERVE_MANY).await,
        })
    }

    /// Whether the warehouse offers the endpoint at `path` (`reserve`,
    /// `reserve_many`). Asks with a body no warehouse can act on (`{}`): a warehouse
    /// with the endpoint refuses it (400, 422), one without it answers 404 or 405.
    /// Nothing is reserved.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`] on a timeout, a refused connection or a 5xx.
    pub async fn offers(&self, path: &str) -> Result<bool, WmsError> {
        let (status, _) = self.post(path, &serde_json::json!({})).await?;
        Ok(!lacks_endpoint(status))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;

    /// A warehouse on a loopback port answering every request with `status`.
    async fn answering(status: StatusCode) -> HttpWarehouse {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = axum::Router::new().fallback(move || async move { (status, "{}") });
        tokio::spawn(async move { axum::serve(listener, router).await });
        HttpWarehouse::new(&format!("http://{addr}"), Duration::from_secs(5)).unwrap()
    }

    #[tokio::test]
    async fn a_refused_credential_is_told_by_its_status() {
        for status in [StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN] {
            match answering(status).await.probe().await {
                Err(ProbeFailure::Refused { status: s, error }) => {
                    assert_eq!(s, status.as_u16());
                    assert!(matches!(error, WmsError::Protocol(_)));
                }
                other => panic!("{status}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn a_5xx_is_no_answer_and_another_status_is_unexpected() {
        let r = answering(StatusCode::BAD_GATEWAY).await.probe().await;
        assert!(matches!(r, Err(ProbeFailure::NoAnswer(_))), "{r:?}");
        let r = answering(StatusCode::IM_A_TEAPOT).await.probe().await;
        assert!(matches!(r, Err(ProbeFailure::Unexpected(_))), "{r:?}");
    }

    #[tokio::test]
    async fn a_warehouse_without_reserve_answers_the_probe() {
        // 404 everywhere: validate_order's "not known", and no reserve endpoint.
        let p = answering(StatusCode::NOT_FOUND)
            .await
            .probe()
            .await
            .unwrap();
        assert!(matches!(p.batch_reserve, Ok(false)), "{p:?}");
    }
}
