//! The warehouse over HTTP (reqwest): the original wms-service contract
//! (`validate_order`, `validate_inventory`) and, when the warehouse offers it, oms's
//! batch endpoint `reserve`, which is all-or-nothing and idempotent by (seller, order).
//! The wire shapes are [`crate::domain::wms_contract`]'s.
//!
//! A 5xx, a timeout or a refused connection is [`WmsError::Unavailable`], never valid;
//! callers retry it with backoff and leave their message unacknowledged.
//!
//! - `errors`: reqwest errors and off-contract answers into [`WmsError`].
//! - `probe`: what `oms doctor` asks of a warehouse.

mod errors;
mod probe;

pub use errors::UnexpectedStatus;
pub use probe::{ProbeFailure, WmsProbe};

use crate::domain::wms_contract::{
    ALREADY_RESERVED, Answer, RESERVE, RESERVE_MANY, RESERVE_MANY_MAX, RESERVED, ReserveAnswer,
    ReserveBody, ReserveManyAnswer, VALIDATE_INVENTORY, VALIDATE_ORDER, ValidateInventoryBody,
    ValidateOrderBody,
};
use crate::domain::{HubId, OrderItem, OrderKey, SkuId};
use crate::ports::{Reservation, Validation, Warehouse, WmsError};
use async_trait::async_trait;
use errors::{bad_body, bad_path, cut, no_answer, server_error, unexpected};
use reqwest::StatusCode;
use serde::Serialize;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

/// Requests in flight at once in [`Warehouse::validate_many`] and
/// [`Warehouse::reserve_many`].
pub const RESERVE_CONCURRENCY: usize = 32;

/// Most bytes of one `reserve_many` body: under the reference warehouse's 1 MiB limit.
const RESERVE_MANY_BYTES: usize = 768 * 1024;

const BATCH_UNKNOWN: u8 = 0;
const BATCH_YES: u8 = 1;
const BATCH_NO: u8 = 2;

/// The HTTP warehouse adapter.
#[derive(Debug)]
pub struct HttpWarehouse {
    base: reqwest::Url,
    client: reqwest::Client,
    /// Whether the warehouse offers `reserve`: not known yet, yes, or no (then items
    /// are deducted one by one).
    batch: AtomicU8,
    /// Whether the warehouse offers `reserve_many`: not known yet, yes, or no (then
    /// each order is a request of its own).
    many: AtomicU8,
    /// `Bearer TOKEN`, sent with every request when a token is set (marked sensitive,
    /// so no debug output shows it).
    auth: Option<reqwest::header::HeaderValue>,
}

impl HttpWarehouse {
    /// A client of the warehouse at `base`, each request bounded by `timeout`.
    ///
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
            many: AtomicU8::new(BATCH_UNKNOWN),
            auth: None,
        })
    }

    /// Sends `Authorization: Bearer TOKEN` with every request (`OMS_WMS_TOKEN`).
    ///
    /// # Errors
    /// A message (without the token) when the token is blank or cannot be a header.
    pub fn with_token(mut self, token: &str) -> Result<Self, String> {
        let token = token.trim();
        if token.is_empty() {
            return Err("OMS_WMS_TOKEN is set but empty".into());
        }
        let mut v = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(|_| "OMS_WMS_TOKEN holds characters a header cannot carry".to_owned())?;
        v.set_sensitive(true);
        self.auth = Some(v);
        Ok(self)
    }

    /// POSTs `body` to `path`; the status and the text of the answer. A 5xx is
    /// [`WmsError::Unavailable`], like no answer at all.
    async fn post<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(StatusCode, String), WmsError> {
        let body =
            serde_json::to_vec(body).map_err(|e| WmsError::Protocol(e.to_string().into()))?;
        self.post_bytes(path, body).await
    }

    /// [`Self::post`] of a body already in JSON.
    async fn post_bytes(
        &self,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(StatusCode, String), WmsError> {
        let url = self.base.join(path).map_err(bad_path)?;
        let mut req = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(auth) = &self.auth {
            req = req.header(reqwest::header::AUTHORIZATION, auth.clone());
        }
        let resp = req.send().await.map_err(no_answer)?;
        let status = resp.status();
        let text = resp.text().await.map_err(no_answer)?;
        if status.is_server_error() {
            return Err(server_error(path, status));
        }
        Ok((status, text))
    }

    /// `reserve`; `None` when the warehouse does not offer it (404, 405).
    async fn reserve_batch(
        &self,
        key: &OrderKey,
        items: &[OrderItem],
    ) -> Result<Option<Reservation>, WmsError> {
        let (status, text) = self.post(RESERVE, &reserve_body(key, items)).await?;
        if lacks_endpoint(status) {
            return Ok(None);
        }
        let a: ReserveAnswer =
            serde_json::from_str(&text).map_err(|e| bad_body(RESERVE, status, &text, e))?;
        match status {
            StatusCode::OK | StatusCode::CONFLICT => reservation(&a, status, items)
                .map(Some)
                .ok_or_else(|| unexpected(RESERVE, status, &text)),
            _ => Err(unexpected(RESERVE, status, &text)),
        }
    }

    /// `reserve_many` for `orders`, in requests of at most [`RESERVE_MANY_MAX`] orders
    /// and [`RESERVE_MANY_BYTES`]; `None` when the warehouse does not offer it.
    async fn reserve_in_batches(
        &self,
        orders: &[(OrderKey, Vec<OrderItem>)],
    ) -> Result<Option<Vec<Reservation>>, WmsError> {
        let mut out = Vec::with_capacity(orders.len());
        let mut start = 0;
        while start < orders.len() {
            let mut body = br#"{"orders":["#.to_vec();
            let mut end = start;
            while end < orders.len() && end - start < RESERVE_MANY_MAX {
                let (key, items) = &orders[end];
                let one = serde_json::to_vec(&reserve_body(key, items))
                    .map_err(|e| WmsError::Protocol(e.to_string().into()))?;
                if end > start && body.len() + one.len() + 3 > RESERVE_MANY_BYTES {
                    break;
                }
                if end > start {
                    body.push(b',');
                }
                body.extend_from_slice(&one);
                end += 1;
            }
            body.extend_from_slice(b"]}");
            let (status, text) = self.post_bytes(RESERVE_MANY, body).await?;
            if lacks_endpoint(status) {
                return Ok(None);
            }
            if status != StatusCode::OK {
                return Err(unexpected(RESERVE_MANY, status, &text));
            }
            let a: ReserveManyAnswer = serde_json::from_str(&text)
                .map_err(|e| bad_body(RESERVE_MANY, status, &text, e))?;
            let chunk = &orders[start..end];
            if a.results.len() != chunk.len() {
                return Err(unexpected(RESERVE_MANY, status, &text));
            }
            for ((_, items), r) in chunk.iter().zip(&a.results) {
                let conflict = if r.status.is_some() {
                    StatusCode::OK
                } else {
                    StatusCode::CONFLICT
                };
                out.push(
                    reservation(r, conflict, items)
                        .ok_or_else(|| unexpected(RESERVE_MANY, status, &text))?,
                );
            }
            start = end;
        }
        Ok(Some(out))
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
                _ => return Err(unexpected(VALIDATE_INVENTORY, status, &text)),
            }
        }
        Ok(Reservation::Reserved)
    }
}

/// The body of `reserve` for one order (also an element of `reserve_many`'s).
fn reserve_body(key: &OrderKey, items: &[OrderItem]) -> ReserveBody {
    ReserveBody {
        seller_id: key.seller_id.to_string(),
        order_id: key.order_id.to_string(),
        items: items.to_vec(),
    }
}

/// The reservation `reserve` answered with `a` under `status` (200 or 409) for an order
/// of `items`; `None` when the answer says neither. A short (hub, sku) the answer leaves
/// out (or that is not valid) is taken to be the order's first item.
fn reservation(a: &ReserveAnswer, status: StatusCode, items: &[OrderItem]) -> Option<Reservation> {
    match (status, a.status.as_deref()) {
        (StatusCode::OK, Some(RESERVED)) => Some(Reservation::Reserved),
        (StatusCode::OK, Some(ALREADY_RESERVED)) => Some(Reservation::AlreadyReserved),
        (StatusCode::CONFLICT, _) => {
            let hub = a.hub_id.as_deref().and_then(|h| HubId::parse(h).ok());
            let sku = a.sku_id.as_deref().and_then(|s| SkuId::parse(s).ok());
            let first = items.first()?;
            Some(Reservation::Insufficient {
                hub_id: hub.unwrap_or_else(|| first.hub_id.clone()),
                sku_id: sku.unwrap_or_else(|| first.sku_id.clone()),
            })
        }
        _ => None,
    }
}

/// Whether `status` says the warehouse has no such endpoint.
fn lacks_endpoint(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED
    )
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
            _ => Err(unexpected(VALIDATE_ORDER, status, &text)),
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

    /// In `reserve_many` requests when the warehouse offers it (an order without items
    /// is reserved without asking); otherwise up to [`RESERVE_CONCURRENCY`] orders in
    /// flight at once. Answers in order.
    async fn reserve_many(
        &self,
        orders: &[(OrderKey, Vec<OrderItem>)],
    ) -> Result<Vec<Reservation>, WmsError> {
        let asked: Vec<(OrderKey, Vec<OrderItem>)> = orders
            .iter()
            .filter(|(_, items)| !items.is_empty())
            .cloned()
            .collect();
        if !asked.is_empty() && self.many.load(Ordering::Relaxed) != BATCH_NO {
            match self.reserve_in_batches(&asked).await? {
                Some(decided) => {
                    self.many.store(BATCH_YES, Ordering::Relaxed);
                    let mut decided = decided.into_iter();
                    return orders
                        .iter()
                        .map(|(_, items)| {
                            if items.is_empty() {
                                Ok(Reservation::Reserved)
                            } else {
                                decided.next().ok_or_else(|| {
                                    WmsError::Protocol(
                                        "the warehouse answered too few reservations".into(),
                                    )
                                })
                            }
                        })
                        .collect();
                }
                None => {
                    tracing::debug!(
                        "the warehouse has no reserve_many endpoint: one request per order"
                    );
                    self.many.store(BATCH_NO, Ordering::Relaxed);
                }
            }
        }
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
