//! The warehouse over HTTP (reqwest): the original wms-service contract
//! (`validate_order`, `validate_inventory`) and, when the warehouse offers it, oms's
//! batch endpoint `reserve`, which is all-or-nothing and idempotent by (seller, order).
//!
//! A 5xx, a timeout or a refused connection is [`WmsError::Unavailable`], never valid;
//! callers retry it with backoff and leave their message unacknowledged.

use crate::domain::{HubId, OrderItem, OrderKey, SkuId};
use crate::ports::Detail;
use crate::ports::{Reservation, Validation, Warehouse, WmsError};
use async_trait::async_trait;
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// Paths of the contract, relative to the base URL.
pub const VALIDATE_ORDER: &str = "api/v1/orders/validate_order";
pub const VALIDATE_INVENTORY: &str = "api/v1/orders/validate_inventory";
pub const RESERVE: &str = "api/v1/orders/reserve";

#[derive(Debug, Serialize, Deserialize)]
pub struct ValidateOrderBody {
    pub sku_id: String,
    pub hub_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ValidateInventoryBody {
    pub sku_id: String,
    pub hub_id: String,
    pub quantity_ordered: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ReserveBody {
    pub seller_id: String,
    pub order_id: String,
    pub items: Vec<OrderItem>,
}

/// The answer of `reserve`: `{"status":"reserved"|"already_reserved"}` (200) or
/// `{"error":"Insufficient inventory","hub_id":..,"sku_id":..}` (409).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReserveAnswer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hub_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku_id: Option<String>,
}

/// `{"message": ...}` or `{"error": ...}`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Requests in flight at once in [`Warehouse::validate_many`] and
/// [`Warehouse::reserve_many`].
pub const RESERVE_CONCURRENCY: usize = 16;

const BATCH_UNKNOWN: u8 = 0;
const BATCH_YES: u8 = 1;
const BATCH_NO: u8 = 2;

/// The HTTP warehouse adapter.
#[derive(Debug)]
pub struct HttpWarehouse {
    base: reqwest::Url,
    client: reqwest::Client,
    batch: AtomicU8,
}

impl HttpWarehouse {
    /// # Errors
    /// A message when `base` is not an http(s) URL or the client cannot be built.
    pub fn new(base: &str, timeout: Duration) -> Result<Self, String> {
        let mut base =
            reqwest::Url::parse(base).map_err(|e| format!("OMS_WMS_URL {base:?}: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!(
                "OMS_WMS_URL must be http(s), got {}",
                base.scheme()
            ));
        }
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            base,
            client,
            batch: AtomicU8::new(BATCH_UNKNOWN),
        })
    }

    async fn post<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(StatusCode, String), WmsError> {
        let url = self
            .base
            .join(path)
            .map_err(|e| WmsError::Protocol(Detail::from(e.to_string())))?;
        let resp = self
            .client
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| WmsError::Unavailable(Detail::from(describe(&e))))?;
        let status = resp.status();
        let text = resp
            .text()
            .await
            .map_err(|e| WmsError::Unavailable(Detail::from(describe(&e))))?;
        if status.is_server_error() {
            return Err(WmsError::Unavailable(Detail::from(format!(
                "{path}: HTTP {status}"
            ))));
        }
        Ok((status, text))
    }

    async fn reserve_batch(
        &self,
        key: &OrderKey,
        items: &[OrderItem],
    ) -> Result<Option<Reservation>, WmsError> {
        let body = ReserveBody {
            seller_id: key.seller_id.to_string(),
            order_id: key.order_id.to_string(),
            items: items.to_vec(),
        };
        let (status, text) = self.post(RESERVE, &body).await?;
        if matches!(
            status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ) {
            return Ok(None);
        }
        let a: ReserveAnswer = serde_json::from_str(&text).map_err(|_| {
            WmsError::Protocol(Detail::from(format!(
                "{RESERVE}: HTTP {status}: {}",
                cut(&text)
            )))
        })?;
        match (status, a.status.as_deref()) {
            (StatusCode::OK, Some("reserved")) => Ok(Some(Reservation::Reserved)),
            (StatusCode::OK, Some("already_reserved")) => Ok(Some(Reservation::AlreadyReserved)),
            (StatusCode::CONFLICT, _) => {
                let hub = a.hub_id.as_deref().and_then(|h| HubId::parse(h).ok());
                let sku = a.sku_id.as_deref().and_then(|s| SkuId::parse(s).ok());
                let first = &items[0];
                Ok(Some(Reservation::Insufficient {
                    hub_id: hub.unwrap_or_else(|| first.hub_id.clone()),
                    sku_id: sku.unwrap_or_else(|| first.sku_id.clone()),
                }))
            }
            _ => Err(WmsError::Protocol(Detail::from(format!(
                "{RESERVE}: HTTP {status}: {}",
                cut(&text)
            )))),
        }
    }

    /// Whether the warehouse offers the batch `reserve` endpoint (for `oms doctor`).
    /// Asks with a body no warehouse can act on (`{}`): a warehouse with the endpoint
    /// refuses it (400, 422), one without it answers 404 or 405. Nothing is reserved.
    ///
    /// # Errors
    /// [`WmsError::Unavailable`] on a timeout, a refused connection or a 5xx.
    pub async fn offers_batch_reserve(&self) -> Result<bool, WmsError> {
        let (status, _) = self.post(RESERVE, &serde_json::json!({})).await?;
        Ok(!matches!(
            status,
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
        ))
    }

    /// The original contract: item by item. Not all-or-nothing and not idempotent.
    async fn reserve_items(&self, items: &[OrderItem]) -> Result<Reservation, WmsError> {
        for it in items {
            let body = ValidateInventoryBody {
                sku_id: it.sku_id.to_string(),
                hub_id: it.hub_id.to_string(),
                quantity_ordered: it.quantity.get(),
            };
            let (status, text) = self.post(VALIDATE_INVENTORY, &body).await?;
            match status {
                StatusCode::OK => {}
                StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => {
                    tracing::debug!(%status, answer = %cut(&text), "item not reserved");
                    return Ok(Reservation::Insufficient {
                        hub_id: it.hub_id.clone(),
                        sku_id: it.sku_id.clone(),
                    });
                }
                _ => {
                    return Err(WmsError::Protocol(Detail::from(format!(
                        "{VALIDATE_INVENTORY}: HTTP {status}: {}",
                        cut(&text)
                    ))));
                }
            }
        }
        Ok(Reservation::Reserved)
    }
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

fn cut(s: &str) -> String {
    s.chars().take(200).collect()
}

#[async_trait]
impl Warehouse for HttpWarehouse {
    async fn validate(&self, hub: &HubId, sku: &SkuId) -> Result<Validation, WmsError> {
        let body = ValidateOrderBody {
            sku_id: sku.to_string(),
            hub_id: hub.to_string(),
        };
        let (status, text) = self.post(VALIDATE_ORDER, &body).await?;
        match status {
            StatusCode::OK => Ok(Validation::Known),
            StatusCode::BAD_REQUEST | StatusCode::NOT_FOUND => {
                let why = serde_json::from_str::<Answer>(&text)
                    .ok()
                    .and_then(|a| a.error)
                    .unwrap_or_else(|| {
                        format!("hub_id {hub} / sku_id {sku} not known to the warehouse")
                    });
                Ok(Validation::Unknown(why))
            }
            _ => Err(WmsError::Protocol(Detail::from(format!(
                "{VALIDATE_ORDER}: HTTP {status}: {}",
                cut(&text)
            )))),
        }
    }

    async fn reserve(&self, key: &OrderKey, items: &[OrderItem]) -> Result<Reservation, WmsError> {
        if items.is_empty() {
            return Ok(Reservation::Reserved);
        }
        if self.batch.load(Ordering::Relaxed) != BATCH_NO {
            match self.reserve_batch(key, items).await? {
                Some(r) => {
                    self.batch.store(BATCH_YES, Ordering::Relaxed);
                    return Ok(r);
                }
                None => {
                    tracing::warn!(
                        "the warehouse has no batch reserve endpoint: reserving item by item (not all-or-nothing, not idempotent)"
                    );
                    self.batch.store(BATCH_NO, Ordering::Relaxed);
                }
            }
        }
        self.reserve_items(items).await
    }

    /// Up to [`RESERVE_CONCURRENCY`] pairs in flight at once, answers in order.
    async fn validate_many(&self, pairs: &[(HubId, SkuId)]) -> Result<Vec<Validation>, WmsError> {
        in_flight(
            pairs
                .iter()
                .map(|(hub, sku)| self.validate(hub, sku))
                .collect(),
        )
        .await
    }

    /// Up to [`RESERVE_CONCURRENCY`] orders in flight at once, answers in order.
    async fn reserve_many(
        &self,
        orders: &[(OrderKey, Vec<OrderItem>)],
    ) -> Result<Vec<Reservation>, WmsError> {
        in_flight(
            orders
                .iter()
                .map(|(key, items)| self.reserve(key, items))
                .collect(),
        )
        .await
    }
}

/// Runs `calls` with up to [`RESERVE_CONCURRENCY`] in flight, answers in their order;
/// the first error ends it.
async fn in_flight<T, F: Future<Output = Result<T, WmsError>>>(
    calls: Vec<F>,
) -> Result<Vec<T>, WmsError> {
    use futures_util::{StreamExt, TryStreamExt};
    futures_util::stream::iter(calls)
        .buffered(RESERVE_CONCURRENCY)
        .try_collect()
        .await
}
