//! Order queries shared by the CLI and the HTTP API: the filters of `orders ls` from
//! text, finding one order, and publishing the events of `on_hold` orders again so
//! that `oms fulfil` retries them.

use super::{AppError, Backends};
use crate::domain::{HubId, Order, OrderEvent, OrderId, OrderKey, SellerId, Status, timestamp};
use crate::ports::{Event, OrderFilter};

/// The filters as a user writes them (CLI flags, query parameters).
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterText<'a> {
    pub status: Option<&'a str>,
    pub seller: Option<&'a str>,
    pub hub: Option<&'a str>,
    pub job: Option<&'a str>,
    pub since: Option<&'a str>,
}

/// Parses the filters.
///
/// # Errors
/// [`AppError::BadInput`] naming the bad filter.
pub fn parse_filter(
    t: FilterText<'_>,
    limit: usize,
    offset: usize,
) -> Result<OrderFilter, AppError> {
    let bad = |what: &str, e: String| AppError::BadInput(format!("{what} {e}"));
    Ok(OrderFilter {
        status: t
            .status
            .map(str::parse::<Status>)
            .transpose()
            .map_err(|e| bad("status:", e))?,
        seller: t
            .seller
            .map(SellerId::parse)
            .transpose()
            .map_err(|e| bad("seller", e.to_string()))?,
        hub: t
            .hub
            .map(HubId::parse)
            .transpose()
            .map_err(|e| bad("hub", e.to_string()))?,
        job: t.job.map(str::to_owned),
        order_id: None,
        since: t
            .since
            .map(|s| timestamp::parse_since(s, time::OffsetDateTime::now_utc()))
            .transpose()
            .map_err(|e| bad("since:", e))?,
        offset,
        limit,
    })
}

/// `filter` with its job (if any) named by its whole id: the start of a job id, as the
/// tables show it, is resolved ([`super::jobs::resolve`]).
///
/// # Errors
/// As [`super::jobs::resolve`].
pub async fn resolve_job(b: &Backends, filter: OrderFilter) -> Result<OrderFilter, AppError> {
    let job = match &filter.job {
        Some(j) => Some(super::jobs::resolve(b, j).await?),
        None => None,
    };
    Ok(OrderFilter { job, ..filter })
}

/// One order with its history; without `seller`, the only order with that id.
///
/// # Errors
/// [`AppError::NotFound`]; [`AppError::BadInput`] for a bad id or when several sellers
/// have an order with that id; the store's errors.
pub async fn find(b: &Backends, order_id: &str, seller: Option<&str>) -> Result<Order, AppError> {
    let order_id =
        OrderId::parse(order_id).map_err(|e| AppError::BadInput(format!("order id {e}")))?;
    let seller = match seller {
        Some(s) => SellerId::parse(s).map_err(|e| AppError::BadInput(format!("seller {e}")))?,
        None => {
            let found = b
                .store
                .list_orders(&OrderFilter {
                    order_id: Some(order_id.clone()),
                    limit: 2,
                    ..OrderFilter::default()
                })
                .await?;
            match found.as_slice() {
                [one] => one.seller_id.clone(),
                [] => return Err(AppError::NotFound(format!("no order {order_id}"))),
                _ => {
                    return Err(AppError::BadInput(format!(
                        "several sellers have an order {order_id}: name the seller"
                    )));
                }
            }
        }
    };
    let key = OrderKey {
        seller_id: seller,
        order_id,
    };
    b.store.get_order(&key).await?.ok_or_else(|| {
        AppError::NotFound(format!(
            "no order {} of seller {}",
            key.order_id, key.seller_id
        ))
    })
}

/// One order of one of `sellers` (a seller-scoped API token's): as [`find`] without a
/// seller, but only these sellers' orders are looked at, so an order of another seller
/// is not found (and its existence not told).
///
/// # Errors
/// [`AppError::NotFound`]; [`AppError::BadInput`] for a bad id or when several of
/// these sellers have an order with that id; the store's errors.
pub async fn find_among(
    b: &Backends,
    order_id: &str,
    sellers: &[SellerId],
) -> Result<Order, AppError> {
    let order_id =
        OrderId::parse(order_id).map_err(|e| AppError::BadInput(format!("order id {e}")))?;
    let mut found = Vec::new();
    for seller in sellers {
        let key = OrderKey {
            seller_id: seller.clone(),
            order_id: order_id.clone(),
        };
        found.extend(b.store.get_order(&key).await?);
    }
    match found.len() {
        0 => Err(AppError::NotFound(format!("no order {order_id}"))),
        1 => Ok(found.remove(0)),
        _ => Err(AppError::BadInput(format!(
            "several sellers have an order {order_id}: name the seller"
        ))),
    }
}

/// Most orders per seller [`list_among`] reads to build one page: a page ending deeper
/// than this in the merged listing needs a `seller` filter.
pub const MERGE_WINDOW: usize = 20_000;

/// The orders of `sellers` matching `filter` (whose own seller is ignored), oldest
/// first, as one listing with `filter`'s offset and limit: each seller's first
/// `offset + limit` orders, merged in the stores' order (created, seller, order id).
///
/// # Errors
/// [`AppError::BadInput`] for a page past [`MERGE_WINDOW`]; the store's errors.
pub async fn list_among(
    b: &Backends,
    filter: &OrderFilter,
    sellers: &[SellerId],
) -> Result<Vec<Order>, AppError> {
    let window = filter
        .offset
        .checked_add(filter.limit)
        .filter(|w| *w <= MERGE_WINDOW)
        .ok_or_else(|| {
            AppError::BadInput(format!(
                "this page is past the first {MERGE_WINDOW} orders of the token's sellers: \
                 filter by one seller (seller=...) to page further"
            ))
        })?;
    let mut all = Vec::new();
    for seller in sellers {
        let f = OrderFilter {
            seller: Some(seller.clone()),
            offset: 0,
            limit: window,
            ..filter.clone()
        };
        all.extend(b.store.list_orders(&f).await?);
    }
    all.sort_by(|a, b| {
        (&a.created_at, &a.seller_id, &a.order_id).cmp(&(&b.created_at, &b.seller_id, &b.order_id))
    });
    all.dedup_by(|a, b| a.key() == b.key());
    Ok(all
        .into_iter()
        .skip(filter.offset)
        .take(filter.limit)
        .collect())
}

/// Orders matching `filter`, oldest first.
///
/// # Errors
/// The store's errors.
pub async fn list(b: &Backends, filter: &OrderFilter) -> Result<Vec<Order>, AppError> {
    Ok(b.store.list_orders(filter).await?)
}

/// The `on_hold` orders `filter` selects (its status is ignored).
///
/// # Errors
/// The store's errors.
pub async fn on_hold(b: &Backends, filter: &OrderFilter) -> Result<Vec<Order>, AppError> {
    let f = OrderFilter {
        status: Some(Status::OnHold),
        ..filter.clone()
    };
    Ok(b.store.list_orders(&f).await?)
}

/// Publishes an event for each order again, so `oms fulfil` tries it again.
///
/// # Errors
/// The bus's errors (some events may have been published; fulfil is idempotent).
pub async fn republish(b: &Backends, orders: &[Order]) -> Result<u64, AppError> {
    for chunk in orders.chunks(1000) {
        let events: Vec<Event> = chunk
            .iter()
            .map(|o| bus_event(&OrderEvent::retried(o)))
            .collect();
        b.bus.publish(&events).await?;
    }
    Ok(orders.len() as u64)
}

/// An order event as the bus carries it: under its partition key, as JSON.
pub(super) fn bus_event(ev: &OrderEvent) -> Event {
    Event {
        key: ev.partition_key(),
        payload: ev.to_json(),
    }
}
