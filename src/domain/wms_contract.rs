//! The warehouse's HTTP contract: paths, request bodies and answers of the original
//! wms-service (`validate_order`, `validate_inventory`) and of oms's own `reserve`.
//! Pure serde data shared by the HTTP client adapter and the reference warehouse
//! server (`oms wms serve`), so both speak exactly the same shapes.
//!
//! - `POST validate_order` [`ValidateOrderBody`]: 200 `{"message":"Validation
//!   successful"}` when hub and SKU exist, 400 `{"error": ...}` otherwise.
//! - `POST validate_inventory` [`ValidateInventoryBody`]: 200 and the quantity is
//!   deducted; 400 `{"error":"Insufficient inventory"}`; 404 `{"error":"Inventory not
//!   found"}`.
//! - `POST reserve` [`ReserveBody`]: 200 [`ReserveAnswer`] with status `reserved` or
//!   `already_reserved`; 409 with the error and the short (hub, sku).
//! - `POST reserve_many` [`ReserveManyBody`] (oms's too: up to [`RESERVE_MANY_MAX`]
//!   orders in one request, each decided as `reserve` would): 200 [`ReserveManyAnswer`],
//!   one [`ReserveAnswer`] per order in the request's order, a short order's with the
//!   error and the (hub, sku); 400 when any order of the request is not valid (none is
//!   reserved then).

use crate::domain::OrderItem;
use serde::{Deserialize, Serialize};

/// `validate_order`, relative to the warehouse's base URL.
pub const VALIDATE_ORDER: &str = "api/v1/orders/validate_order";
/// `validate_inventory`, relative to the warehouse's base URL.
pub const VALIDATE_INVENTORY: &str = "api/v1/orders/validate_inventory";
/// `reserve` (oms's batch endpoint), relative to the warehouse's base URL.
pub const RESERVE: &str = "api/v1/orders/reserve";

/// `reserve_many` (several orders' `reserve` in one request), relative to the
/// warehouse's base URL.
pub const RESERVE_MANY: &str = "api/v1/orders/reserve_many";
/// Most orders one `reserve_many` request carries.
pub const RESERVE_MANY_MAX: usize = 500;

/// `validate_order`'s message when hub and SKU exist.
pub const VALIDATION_SUCCESSFUL: &str = "Validation successful";
/// `validate_inventory`'s message when the quantity was deducted.
pub const INVENTORY_UPDATED: &str = "Inventory updated";
/// The error of `validate_inventory` (400) and `reserve` (409) when stock is short.
pub const INSUFFICIENT_INVENTORY: &str = "Insufficient inventory";
/// The error of `validate_inventory` (404) when the hub has no line for the SKU.
pub const INVENTORY_NOT_FOUND: &str = "Inventory not found";
/// `reserve`'s status when every item was deducted now.
pub const RESERVED: &str = "reserved";
/// `reserve`'s status when the order was reserved before (nothing deducted now).
pub const ALREADY_RESERVED: &str = "already_reserved";

/// The body of `validate_order`: `{"sku_id":"15","hub_id":"1"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateOrderBody {
    pub sku_id: String,
    pub hub_id: String,
}

/// The body of `validate_inventory`: `{"sku_id":"15","hub_id":"1","quantity_ordered":2}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidateInventoryBody {
    pub sku_id: String,
    pub hub_id: String,
    pub quantity_ordered: i64,
}

/// The body of `reserve`: every item of one order, identified by (seller, order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveBody {
    pub seller_id: String,
    pub order_id: String,
    pub items: Vec<OrderItem>,
}

/// The body of `reserve_many`: `{"orders":[<reserve body>, ...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveManyBody {
    pub orders: Vec<ReserveBody>,
}

/// The answer of `reserve_many`: `{"results":[<reserve answer>, ...]}`, in the order of
/// the request's orders.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReserveManyAnswer {
    pub results: Vec<ReserveAnswer>,
}

/// The answer of `reserve`: `{"status":"reserved"|"already_reserved"}` (200) or
/// `{"error":"Insufficient inventory","hub_id":..,"sku_id":..}` (409).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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

impl ReserveAnswer {
    /// A 200 answer with `status`.
    #[must_use]
    pub fn status(status: &str) -> Self {
        Self {
            status: Some(status.to_owned()),
            ..Self::default()
        }
    }

    /// The 409 answer: not enough of `sku_id` at `hub_id`.
    #[must_use]
    pub fn insufficient(hub_id: String, sku_id: String) -> Self {
        Self {
            status: None,
            error: Some(INSUFFICIENT_INVENTORY.to_owned()),
            hub_id: Some(hub_id),
            sku_id: Some(sku_id),
        }
    }
}

/// The answer of the original contract: `{"message": ...}` or `{"error": ...}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Answer {
    /// `{"message": text}`.
    #[must_use]
    pub fn message(text: impl Into<String>) -> Self {
        Self {
            message: Some(text.into()),
            error: None,
        }
    }

    /// `{"error": text}`.
    #[must_use]
    pub fn error(text: impl Into<String>) -> Self {
        Self {
            message: None,
            error: Some(text.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_have_the_original_shapes() {
        let v = serde_json::to_value(ValidateOrderBody {
            sku_id: "15".into(),
            hub_id: "1".into(),
        })
        .unwrap();
        assert_eq!(v, json!({"sku_id":"15","hub_id":"1"}));
        let v = serde_json::to_value(ValidateInventoryBody {
            sku_id: "15".into(),
            hub_id: "1".into(),
            quantity_ordered: 2,
        })
        .unwrap();
        assert_eq!(v, json!({"sku_id":"15","hub_id":"1","quantity_ordered":2}));
    }

    #[test]
    fn answers_leave_out_what_they_do_not_say() {
        let v = serde_json::to_value(Answer::message(VALIDATION_SUCCESSFUL)).unwrap();
        assert_eq!(v, json!({"message":"Validation successful"}));
        let v = serde_json::to_value(ReserveAnswer::status(ALREADY_RESERVED)).unwrap();
        assert_eq!(v, json!({"status":"already_reserved"}));
        let v = serde_json::to_value(ReserveAnswer::insufficient("1".into(), "15".into())).unwrap();
        assert_eq!(
            v,
            json!({"error":"Insufficient inventory","hub_id":"1","sku_id":"15"})
        );
        let a: Answer = serde_json::from_str(r#"{"error":"x","extra":1}"#).unwrap();
        assert_eq!(a, Answer::error("x"));
    }
}
