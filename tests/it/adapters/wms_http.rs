//! The warehouse contract run against the HTTP adapter talking, over real HTTP on
//! loopback, to the reference warehouse (`oms wms serve`'s router) on a fresh embedded
//! inventory; plus what only an HTTP warehouse can do wrong: 5xx, refused connections,
//! and a warehouse that only offers the original contract.

use crate::adapters::embedded::{load_stock, stock_of};
use crate::contract::WarehouseFixture;
use crate::support::{free_port, hub_id, order_item, order_key, serve_router, sku_id};
use async_trait::async_trait;
use oms::adapters::embedded::{Db, EmbeddedWarehouse};
use oms::adapters::wms_http::HttpWarehouse;
use oms::ports::{Reservation, Validation, Warehouse, WmsError};
use std::sync::Arc;
use std::time::Duration;

/// A reference warehouse on a free loopback port over its own temporary inventory.
pub struct HttpFixture {
    _dir: tempfile::TempDir,
    admin: EmbeddedWarehouse,
    base: String,
}

impl HttpFixture {
    /// The whole reference warehouse, as the contract runs on it; always available.
    pub async fn start() -> Option<Self> {
        Some(Self::serve(false).await)
    }

    /// The reference warehouse, offering only the original contract with
    /// `original_only`.
    async fn serve(original_only: bool) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin = EmbeddedWarehouse::new(Db::open(dir.path()).expect("open db"));
        let served = EmbeddedWarehouse::new(Db::open(dir.path()).expect("open db"));
        let router = if original_only {
            oms::http::wms::original_router(served)
        } else {
            oms::http::wms::router(served)
        };
        let base = serve_router(router).await;
        Self {
            _dir: dir,
            admin,
            base,
        }
    }

    fn client(&self) -> HttpWarehouse {
        HttpWarehouse::new(&self.base, Duration::from_secs(5)).expect("client")
    }
}

#[async_trait]
impl WarehouseFixture for HttpFixture {
    async fn warehouse(&self) -> Arc<dyn Warehouse> {
        Arc::new(self.client())
    }

    async fn set_stock(&self, lines: &[(&str, &str, i64)]) {
        load_stock(&self.admin, lines).await;
    }

    async fn stock(&self, hub: &str, sku: &str) -> Option<i64> {
        stock_of(&self.admin, hub, sku).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_5xx_is_unavailable_never_valid_or_reserved() {
    let router = axum::Router::new()
        .fallback(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") });
    let base = serve_router(router).await;
    let w = HttpWarehouse::new(&base, Duration::from_secs(5)).unwrap();
    let hub = hub_id("1");
    let sku = sku_id("15");
    assert!(matches!(
        w.validate(&hub, &sku).await,
        Err(WmsError::Unavailable(_))
    ));
    assert!(matches!(
        w.reserve(&order_key("1", "A"), &[order_item("1", "15", 1)])
            .await,
        Err(WmsError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_or_a_timeout_is_unavailable() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let w = HttpWarehouse::new(&closed, Duration::from_secs(2)).unwrap();
    let hub = hub_id("1");
    let sku = sku_id("15");
    assert!(matches!(
        w.validate(&hub, &sku).await,
        Err(WmsError::Unavailable(_))
    ));

    let slow = axum::Router::new().fallback(|| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        "late"
    });
    let base = serve_router(slow).await;
    let w = HttpWarehouse::new(&base, Duration::from_millis(300)).unwrap();
    assert!(matches!(
        w.validate(&hub, &sku).await,
        Err(WmsError::Unavailable(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_original_contract_is_used_when_there_is_no_batch_endpoint() {
    let f = HttpFixture::serve(true).await;
    f.set_stock(&[("1", "15", 5), ("1", "7", 1)]).await;
    let w = f.client();
    assert_eq!(
        w.validate(&hub_id("1"), &sku_id("15")).await.unwrap(),
        Validation::Known
    );
    assert!(matches!(
        w.validate(&hub_id("9"), &sku_id("15")).await.unwrap(),
        Validation::Unknown(_)
    ));
    assert_eq!(
        w.reserve(&order_key("1", "A"), &[order_item("1", "15", 2)])
            .await
            .unwrap(),
        Reservation::Reserved
    );
    assert_eq!(f.stock("1", "15").await, Some(3));
    // The original contract deducts item by item: the first item of an order whose
    // second item is short stays deducted. This is what it cannot guarantee.
    let r = w
        .reserve(
            &order_key("1", "B"),
            &[order_item("1", "15", 1), order_item("1", "7", 2)],
        )
        .await
        .unwrap();
    assert!(matches!(r, Reservation::Insufficient { .. }), "{r:?}");
    assert_eq!(f.stock("1", "15").await, Some(2));
    assert_eq!(f.stock("1", "7").await, Some(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_warehouse_answers_the_original_contract_like_the_original() {
    let f = HttpFixture::serve(false).await;
    f.set_stock(&[("1", "15", 3)]).await;
    let http = reqwest::Client::new();
    let post = |path: &'static str, body: serde_json::Value| {
        let req = http
            .post(format!("{}/api/v1/orders/{path}", f.base))
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (s, b) = post(
        "validate_order",
        serde_json::json!({"sku_id":"15","hub_id":"1"}),
    )
    .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (200, Some("Validation successful"))
    );
    let (s, b) = post(
        "validate_order",
        serde_json::json!({"sku_id":"99","hub_id":"1"}),
    )
    .await;
    assert_eq!(s, 400);
    assert!(b["error"].is_string());
    let (s, _) = post(
        "validate_inventory",
        serde_json::json!({"sku_id":"15","hub_id":"1","quantity_ordered":2}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(f.stock("1", "15").await, Some(1));
    let (s, b) = post(
        "validate_inventory",
        serde_json::json!({"sku_id":"15","hub_id":"1","quantity_ordered":2}),
    )
    .await;
    assert_eq!(
        (s, b["error"].as_str()),
        (400, Some("Insufficient inventory"))
    );
    let (s, b) = post(
        "validate_inventory",
        serde_json::json!({"sku_id":"15","hub_id":"7","quantity_ordered":1}),
    )
    .await;
    assert_eq!((s, b["error"].as_str()), (404, Some("Inventory not found")));
    // A negative quantity must never add stock.
    let (s, _) = post(
        "validate_inventory",
        serde_json::json!({"sku_id":"15","hub_id":"1","quantity_ordered":-5}),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(f.stock("1", "15").await, Some(1));
    let (s, b) = post("validate_order", serde_json::json!({"sku_id":15})).await;
    assert_eq!(s, 400, "{b}");
}

// Two clients with the same 40 orders in flight at once, for 20 units: the reference
// warehouse decides what arrives together in one go, yet every order is still decided
// once (the other client is told it is already reserved, or both that stock is short)
// and exactly the stock there is gets reserved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_in_flight_from_two_clients_are_each_reserved_once() {
    let f = HttpFixture::serve(false).await;
    f.set_stock(&[("1", "15", 20)]).await;
    let ask: Vec<_> = (0..40)
        .map(|i| {
            (
                order_key("1", &format!("o{i}")),
                vec![order_item("1", "15", 1)],
            )
        })
        .collect();
    let (a, b) = (f.client(), f.client());
    let (ra, rb) = tokio::join!(a.reserve_many(&ask), b.reserve_many(&ask));
    let (ra, rb) = (ra.expect("client a"), rb.expect("client b"));
    assert_eq!((ra.len(), rb.len()), (40, 40));
    let short = Reservation::Insufficient {
        hub_id: hub_id("1"),
        sku_id: sku_id("15"),
    };
    let mut reserved = 0;
    for (i, pair) in ra.iter().zip(&rb).enumerate() {
        match pair {
            (Reservation::Reserved, Reservation::AlreadyReserved)
            | (Reservation::AlreadyReserved, Reservation::Reserved) => reserved += 1,
            (x, y) if *x == short && *y == short => {}
            other => panic!("order o{i} answered {other:?}"),
        }
    }
    assert_eq!(reserved, 20, "a: {ra:?}\nb: {rb:?}");
    assert_eq!(f.stock("1", "15").await, Some(0));
}
