//! Orders, their items and statuses, jobs and rejects: the values the use cases pass
//! between ports. No I/O here.

use super::ids::{HubId, OrderId, Quantity, SellerId, SkuId};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One line of an order: so many units of a SKU from a hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderItem {
    pub sku_id: SkuId,
    pub hub_id: HubId,
    pub quantity: Quantity,
}

/// Identifies an order: order ids are unique per seller.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OrderKey {
    pub seller_id: SellerId,
    pub order_id: OrderId,
}

impl fmt::Display for OrderKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.seller_id, self.order_id)
    }
}

/// A validated order, ready to be stored `on_hold`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub seller_id: SellerId,
    pub order_id: OrderId,
    pub items: Vec<OrderItem>,
}

impl NewOrder {
    pub fn key(&self) -> OrderKey {
        OrderKey {
            seller_id: self.seller_id.clone(),
            order_id: self.order_id.clone(),
        }
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Stored, waiting for inventory.
    OnHold,
    /// Inventory reserved at the warehouse.
    NewOrder,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::OnHold => "on_hold",
            Status::NewOrder => "new_order",
        }
    }
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "on_hold" => Ok(Status::OnHold),
            "new_order" => Ok(Status::NewOrder),
            other => Err(format!(
                "unknown status {other:?} (expected on_hold or new_order)"
            )),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reason an order stays `on_hold` after fulfilment was tried.
pub const REASON_INSUFFICIENT_INVENTORY: &str = "insufficient_inventory";

/// One change of status, as kept in an order's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusChange {
    pub status: Status,
    pub reason: Option<String>,
    pub at: String,
}

/// An order as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub order_id: OrderId,
    pub seller_id: SellerId,
    pub status: Status,
    pub reason: Option<String>,
    pub items: Vec<OrderItem>,
    pub job_id: String,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<StatusChange>,
}

impl Order {
    pub fn key(&self) -> OrderKey {
        OrderKey {
            seller_id: self.seller_id.clone(),
            order_id: self.order_id.clone(),
        }
    }
}

/// What fulfilment decided for one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: Status,
    pub reason: Option<String>,
}

impl Outcome {
    pub fn fulfilled() -> Self {
        Self {
            status: Status::NewOrder,
            reason: None,
        }
    }

    pub fn insufficient() -> Self {
        Self {
            status: Status::OnHold,
            reason: Some(REASON_INSUFFICIENT_INVENTORY.to_owned()),
        }
    }
}

/// The event published for each stored order (one per order, keyed by [`OrderKey`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub event: String,
    pub seller_id: SellerId,
    pub order_id: OrderId,
    pub job_id: String,
    pub status: Status,
    pub items: Vec<OrderItem>,
}

impl OrderEvent {
    pub const CREATED: &'static str = "order_created";

    pub fn created(order: &NewOrder, job_id: &str) -> Self {
        Self {
            event: Self::CREATED.to_owned(),
            seller_id: order.seller_id.clone(),
            order_id: order.order_id.clone(),
            job_id: job_id.to_owned(),
            status: Status::OnHold,
            items: order.items.clone(),
        }
    }

    /// The partitioning key: all events of one order share it, so they stay in order.
    pub fn key(&self) -> String {
        event_key(&self.seller_id, &self.order_id)
    }
}

/// The bus key of an order's events.
pub fn event_key(seller: &SellerId, order: &OrderId) -> String {
    format!("{seller}/{order}")
}

/// One reason a row (or a whole order) was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reject {
    /// Line of the file where the row starts (the header is line 1); `None` for
    /// reasons about the whole file.
    pub row: Option<u64>,
    pub order_id: Option<String>,
    pub column: Option<String>,
    pub reason: String,
}

/// The life of a bulk-order job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Enqueued, not yet taken by `oms ingest`.
    Queued,
    /// Being ingested (or retried after a failure that leaves the message for redelivery).
    Processing,
    /// Every row stored or rejected; events published.
    Done,
    /// The file could not be processed at all (path, header, checksum).
    Failed,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Processing => "processing",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }
}

impl std::str::FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "queued" => Ok(JobState::Queued),
            "processing" => Ok(JobState::Processing),
            "done" => Ok(JobState::Done),
            "failed" => Ok(JobState::Failed),
            other => Err(format!("unknown job state {other:?}")),
        }
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Counts of one job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobCounts {
    /// Data rows read (blank lines not counted).
    pub rows: u64,
    /// Orders stored by this job.
    pub orders_accepted: u64,
    /// Orders rejected (any invalid row, or an unknown hub/SKU).
    pub orders_rejected: u64,
    /// Valid orders that were already stored (same seller and order id), not created again.
    pub orders_duplicate: u64,
    /// Repeated (sku, hub) rows summed into one item.
    pub warnings: u64,
}

/// A job as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: String,
    pub seller_id: String,
    pub file_path: String,
    pub sha256: Option<String>,
    pub state: JobState,
    pub error: Option<String>,
    #[serde(flatten)]
    pub counts: JobCounts,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default)]
    pub rejects: Vec<Reject>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_text() {
        for s in [Status::OnHold, Status::NewOrder] {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("shipped".parse::<Status>().is_err());
    }

    #[test]
    fn events_of_one_order_share_a_key() {
        let order = NewOrder {
            seller_id: SellerId::parse("1").unwrap(),
            order_id: OrderId::parse("1011").unwrap(),
            items: vec![],
        };
        let a = OrderEvent::created(&order, "j1");
        let b = OrderEvent::created(&order, "j2");
        assert_eq!(a.key(), b.key());
        assert_eq!(a.key(), "1/1011");
    }
}
