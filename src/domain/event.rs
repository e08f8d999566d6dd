//! The order event: what is published on the bus for an order that `oms fulfil` should
//! try to fulfil. Consumers other than oms read it too, so its JSON is a contract:
//! the fields, their order and the event-type strings stay as they are.

use super::ids::{OrderId, SellerId};
use super::order::{NewOrder, Order, OrderItem, Status};
use serde::{Deserialize, Serialize};

/// One order's event: the order itself, the job that stored it and why it is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    /// [`OrderEvent::CREATED`] or [`OrderEvent::RETRIED`].
    pub event: String,
    pub seller_id: SellerId,
    pub order_id: OrderId,
    pub job_id: String,
    pub status: Status,
    pub items: Vec<OrderItem>,
}

impl OrderEvent {
    /// The event of an order just stored by ingest.
    pub const CREATED: &'static str = "order_created";
    /// The event of a stored order published again (`oms orders retry`).
    pub const RETRIED: &'static str = "order_retry";

    /// The event of `order`, stored `on_hold` by job `job_id`.
    #[must_use]
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

    /// The event that asks for a stored order to be fulfilled again (after a restock),
    /// with the order's own job and status.
    #[must_use]
    pub fn retried(order: &Order) -> Self {
        Self {
            event: Self::RETRIED.to_owned(),
            seller_id: order.seller_id.clone(),
            order_id: order.order_id.clone(),
            job_id: order.job_id.clone(),
            status: order.status,
            items: order.items.clone(),
        }
    }

    /// The bus key the event is published under, `seller/order`: every event of one
    /// order has it, so they are delivered in the order published.
    #[must_use]
    pub fn partition_key(&self) -> String {
        format!("{}/{}", self.seller_id, self.order_id)
    }

    /// The event as published: one line of JSON.
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an event always serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{HubId, Quantity, REASON_INSUFFICIENT_INVENTORY, SkuId};

    fn item() -> OrderItem {
        OrderItem {
            sku_id: SkuId::parse("15").unwrap(),
            hub_id: HubId::parse("1").unwrap(),
            quantity: Quantity::new(2).unwrap(),
        }
    }

    fn new_order() -> NewOrder {
        NewOrder {
            seller_id: SellerId::parse("1").unwrap(),
            order_id: OrderId::parse("1011").unwrap(),
            items: vec![item()],
        }
    }

    fn stored() -> Order {
        Order {
            order_id: OrderId::parse("1011").unwrap(),
            seller_id: SellerId::parse("1").unwrap(),
            status: Status::OnHold,
            reason: Some(REASON_INSUFFICIENT_INVENTORY.into()),
            items: vec![item()],
            job_id: "j1".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            history: vec![],
        }
    }

    #[test]
    fn payloads_are_the_published_contract() {
        assert_eq!(
            OrderEvent::created(&new_order(), "j1").to_json(),
            r#"{"event":"order_created","seller_id":"1","order_id":"1011","job_id":"j1","status":"on_hold","items":[{"sku_id":"15","hub_id":"1","quantity":2}]}"#
        );
        assert_eq!(
            OrderEvent::retried(&stored()).to_json(),
            r#"{"event":"order_retry","seller_id":"1","order_id":"1011","job_id":"j1","status":"on_hold","items":[{"sku_id":"15","hub_id":"1","quantity":2}]}"#
        );
    }

    #[test]
    fn events_of_one_order_share_a_partition_key() {
        let a = OrderEvent::created(&new_order(), "j1");
        let b = OrderEvent::created(&new_order(), "j2");
        let c = OrderEvent::retried(&stored());
        assert_eq!(a.partition_key(), "1/1011");
        assert_eq!(b.partition_key(), a.partition_key());
        assert_eq!(c.partition_key(), a.partition_key());
    }
}
