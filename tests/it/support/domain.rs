//! Values of oms's domain and port types built from short strings, for the tests that
//! call the library directly (the contract suite, the adapters' own tests). Test data
//! is valid by construction, so a builder panics on a value its type refuses.

use oms::domain::{
    HubId, Job, JobCounts, JobState, NewOrder, OrderId, OrderItem, OrderKey, Quantity, SellerId,
    SkuId,
};
use oms::ports::{Event, OrderFilter, QueueDepth};

/// The key of order `order` of seller `seller`.
pub fn order_key(seller: &str, order: &str) -> OrderKey {
    OrderKey {
        seller_id: SellerId::parse(seller).unwrap(),
        order_id: OrderId::parse(order).unwrap(),
    }
}

/// An order item: `quantity` of SKU `sku` from hub `hub`.
pub fn order_item(hub: &str, sku: &str, quantity: i64) -> OrderItem {
    OrderItem {
        sku_id: SkuId::parse(sku).unwrap(),
        hub_id: HubId::parse(hub).unwrap(),
        quantity: Quantity::new(quantity).unwrap(),
    }
}

/// A validated order of seller `seller`, as ingest stores it.
pub fn new_order(seller: &str, order_id: &str, items: Vec<OrderItem>) -> NewOrder {
    NewOrder {
        seller_id: SellerId::parse(seller).unwrap(),
        order_id: OrderId::parse(order_id).unwrap(),
        items,
    }
}

/// A hub id.
pub fn hub_id(hub: &str) -> HubId {
    HubId::parse(hub).unwrap()
}

/// A SKU id.
pub fn sku_id(sku: &str) -> SkuId {
    SkuId::parse(sku).unwrap()
}

/// A queued job of seller `seller` for the file `/data/in/{job_id}.csv`, created (and
/// last updated) at `created_at`.
pub fn queued_job(job_id: &str, seller: &str, created_at: &str) -> Job {
    Job {
        job_id: job_id.to_owned(),
        seller_id: seller.to_owned(),
        file_path: format!("/data/in/{job_id}.csv"),
        source_file: None,
        sha256: Some("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08".into()),
        state: JobState::Queued,
        error: None,
        counts: JobCounts::default(),
        created_at: created_at.to_owned(),
        updated_at: created_at.to_owned(),
        rejects: Vec::new(),
    }
}

/// An event to publish on the bus under `key`.
pub fn bus_event(key: &str, payload: impl Into<String>) -> Event {
    Event {
        key: key.to_owned(),
        payload: payload.into(),
    }
}

/// A queue's depth: messages visible, in flight, and dead-lettered.
pub fn depth(visible: u64, in_flight: u64, dead: u64) -> QueueDepth {
    QueueDepth {
        visible,
        in_flight,
        dead,
    }
}

/// A filter that lists every order (up to 1000), oldest first.
pub fn all_orders() -> OrderFilter {
    OrderFilter {
        limit: 1000,
        ..OrderFilter::default()
    }
}
