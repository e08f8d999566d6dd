//! Orders, their items and statuses, fulfilment outcomes and rejected rows: the values
//! the use cases pass between ports. No I/O here.

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
    /// The (seller, order id) that identifies the order.
    #[must_use]
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
    /// Every status, in the order of the lifecycle.
    pub const ALL: [Status; 2] = [Status::OnHold, Status::NewOrder];

    /// The status as stored and shown: `on_hold`, `new_order`.
    #[must_use]
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
    /// The (seller, order id) that identifies the order.
    #[must_use]
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
    /// Every item reserved: `new_order`.
    #[must_use]
    pub fn fulfilled() -> Self {
        Self {
            status: Status::NewOrder,
            reason: None,
        }
    }

    /// Some item short of stock: still `on_hold`, for [`REASON_INSUFFICIENT_INVENTORY`].
    #[must_use]
    pub fn insufficient() -> Self {
        Self {
            status: Status::OnHold,
            reason: Some(REASON_INSUFFICIENT_INVENTORY.to_owned()),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_round_trips_through_text() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
            assert_eq!(
                serde_json::to_string(&s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert!("shipped".parse::<Status>().is_err());
    }
}
