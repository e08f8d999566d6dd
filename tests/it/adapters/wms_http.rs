//! The warehouse contract run against the HTTP adapter talking, over real HTTP on
//! loopback, to the reference warehouse (`oms wms serve`'s router) on a fresh embedded
//! inventory; plus what only an HTTP warehouse can do wrong: 5xx, refused connections,
//! and a warehouse that only offers the original contract.

use crate::adapters::embedded::{load_stock, stock_of};
use crate::contract::WarehouseFixture;
use crate::support::{free_port, hub_id, order_item, order_key, serve_router, sku_id};
use async_trait::async_trait;
use axum::response::IntoResponse;
use oms::adapters::embedded::{Db, EmbeddedWarehouse};
use oms::adapters::wms_http::HttpWarehouse;
use oms::ports::{Reservation, Validation, Warehouse, WmsError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A reference warehouse on a free loopback port over its own temporary inventory.
pub struct HttpFixture {
    _dir: tempfile::TempDir,
    admin: EmbeddedWarehouse,
    base: String,
    /// The path of every request the warehouse got, in arrival order.
    paths: Arc<Mutex<Vec<String>>>,
}

impl HttpFixture {
    /// The whole reference warehouse, as the contract runs on it; always available.
    pub async fn start() -> Option<Self> {
        Some(Self::serve(false).await)
    }

    /// The reference warehouse, offering only the original contract with
    /// `original_only`.
    async fn serve(original_only: bool) -> Self {
        Self::serve_without(original_only, None).await
    }

    /// [`Self::serve`], answering 404 at `hidden` (a path of an endpoint an older
    /// warehouse lacks), like a router without it.
    async fn serve_without(original_only: bool, hidden: Option<&'static str>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let admin = EmbeddedWarehouse::new(Db::open(dir.path()).expect("open db"));
        let served = EmbeddedWarehouse::new(Db::open(dir.path()).expect("open db"));
        let router = if original_only {
            oms::http::wms::original_router(served)
        } else {
            oms::http::wms::router(served)
        };
        let paths = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&paths);
        let router = router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let seen = Arc::clone(&seen);
                async move {
                    let path = req.uri().path().to_owned();
                    seen.lock().unwrap().push(path.clone());
                    if hidden.is_some_and(|h| path == h) {
                        return axum::http::StatusCode::NOT_FOUND.into_response();
                    }
                    next.run(req).await
                }
            },
        ));
        let base = serve_router(router).await;
        Self {
            _dir: dir,
            admin,
            base,
            paths,
        }
    }

    /// How many requests went to `path` so far.
    fn requests_to(&self, path: &str) -> usize {
        self.paths
            .lock()
            .unwrap()
            .iter()
            .filter(|p| *p == path)
            .count()
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

const RESERVE_PATH: &str = "/api/v1/orders/reserve";
const RESERVE_MANY_PATH: &str = "/api/v1/orders/reserve_many";

/// 120 one-item orders for 100 units of (1, 15): the last 20 are short.
fn orders_for_100_units() -> Vec<(oms::domain::OrderKey, Vec<oms::domain::OrderItem>)> {
    (0..120)
        .map(|i| {
            (
                order_key("1", &format!("o{i}")),
                vec![order_item("1", "15", 1)],
            )
        })
        .collect()
}

// A batch of orders goes to the reference warehouse in one `reserve_many` request, not
// one request per order: fulfil over HTTP pays one round trip per batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_orders_is_one_request_to_the_reference_warehouse() {
    let f = HttpFixture::serve(false).await;
    f.set_stock(&[("1", "15", 100)]).await;
    let r = f
        .client()
        .reserve_many(&orders_for_100_units())
        .await
        .unwrap();
    assert_eq!(
        r.iter().filter(|x| **x == Reservation::Reserved).count(),
        100
    );
    assert!(
        r[100..]
            .iter()
            .all(|x| matches!(x, Reservation::Insufficient { .. })),
        "{r:?}"
    );
    assert_eq!(f.stock("1", "15").await, Some(0));
    assert_eq!(f.requests_to(RESERVE_MANY_PATH), 1);
    assert_eq!(f.requests_to(RESERVE_PATH), 0);
}

// A warehouse with `reserve` but without `reserve_many` (an older oms) still gets every
// order, one request each, with the same answers; the client asks for `reserve_many`
// once, not again with every batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warehouse_without_reserve_many_gets_one_request_per_order() {
    let f = HttpFixture::serve_without(false, Some(RESERVE_MANY_PATH)).await;
    f.set_stock(&[("1", "15", 100)]).await;
    let w = f.client();
    let ask = orders_for_100_units();
    let r = w.reserve_many(&ask[..60]).await.unwrap();
    assert!(r.iter().all(|x| *x == Reservation::Reserved), "{r:?}");
    let r = w.reserve_many(&ask[60..]).await.unwrap();
    assert_eq!(
        r.iter().filter(|x| **x == Reservation::Reserved).count(),
        40
    );
    assert_eq!(f.stock("1", "15").await, Some(0));
    assert_eq!(f.requests_to(RESERVE_MANY_PATH), 1, "asked once");
    assert_eq!(f.requests_to(RESERVE_PATH), 120);
}

// `reserve_many` refuses a request with an order that is not valid as a whole, so
// nothing of it is reserved, and says which order; and an empty or too long list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reserve_many_refuses_a_bad_order_and_reserves_none_of_its_request() {
    let f = HttpFixture::serve(false).await;
    f.set_stock(&[("1", "15", 10)]).await;
    let http = reqwest::Client::new();
    let post = |body: serde_json::Value| {
        let req = http
            .post(format!("{}{RESERVE_MANY_PATH}", f.base))
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let good = serde_json::json!({"seller_id":"1","order_id":"a",
        "items":[{"sku_id":"15","hub_id":"1","quantity":2}]});
    let empty = serde_json::json!({"seller_id":"1","order_id":"b","items":[]});
    let (s, b) = post(serde_json::json!({"orders":[good, empty]})).await;
    assert_eq!(s, 400, "{b}");
    assert!(b["error"].as_str().unwrap().contains("orders[1]"), "{b}");
    assert_eq!(f.stock("1", "15").await, Some(10), "nothing reserved");
    let (s, _) = post(serde_json::json!({"orders":[]})).await;
    assert_eq!(s, 400);
    let many: Vec<_> = (0..501).map(|_| good.clone()).collect();
    let (s, b) = post(serde_json::json!({ "orders": many })).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = post(serde_json::json!({"orders":[good]})).await;
    assert_eq!(
        (s, b),
        (200, serde_json::json!({"results":[{"status":"reserved"}]}))
    );
    assert_eq!(f.stock("1", "15").await, Some(8));
}
