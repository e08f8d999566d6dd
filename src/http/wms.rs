//! The reference warehouse service (`oms wms serve`): a warehouse's stock over HTTP,
//! served through the port traits ([`Warehouse`] and [`Inventory`]), in the shapes of
//! [`crate::domain::wms_contract`]. It answers the original wms-service contract
//! (`validate_order`, `validate_inventory`) and adds `reserve`, which deducts every
//! item of one order all or nothing and is idempotent by (seller, order), and
//! `reserve_many`, the same for several orders in one request (a client with many
//! orders pays one round trip for them, not one each).
//!
//! Secure by default, as `oms serve` ([`super::guard`]): with a token (`OMS_WMS_TOKEN`)
//! every `/api` route needs `Authorization: Bearer TOKEN` (`validate_inventory` and
//! `reserve` deduct stock); bodies are limited to [`BODY_LIMIT`] and requests to
//! [`super::guard::REQUEST_TIMEOUT`].
//!
//! Reservations that arrive while the warehouse is deciding others wait and are then
//! decided together, in arrival order, in one [`Warehouse::reserve_many`] call (one
//! transaction on the embedded warehouse): each order is still all or nothing and
//! answered on its own request, exactly as if the orders had come one after the other,
//! but a client with many reservations in flight no longer pays one transaction each.

use super::guard;
use crate::domain::access::TokenHash;
use crate::domain::wms_contract::{
    ALREADY_RESERVED, Answer, INSUFFICIENT_INVENTORY, INVENTORY_NOT_FOUND, INVENTORY_UPDATED,
    RESERVE, RESERVE_MANY, RESERVE_MANY_MAX, RESERVED, ReserveAnswer, ReserveBody,
    ReserveManyAnswer, ReserveManyBody, VALIDATE_INVENTORY, VALIDATE_ORDER, VALIDATION_SUCCESSFUL,
    ValidateInventoryBody, ValidateOrderBody,
};
use crate::domain::{HubId, OrderId, OrderItem, OrderKey, Quantity, SellerId, SkuId};
use crate::ports::{Deduction, Inventory, Reservation, Validation, Warehouse};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot};

/// Largest request body accepted: `reserve` carries every item of one order,
/// `reserve_many` those of up to [`RESERVE_MANY_MAX`] orders.
pub const BODY_LIMIT: usize = 1 << 20;

/// What the server needs of a warehouse: its word on pairs and orders, and its stock
/// for the item-by-item deduction. The embedded warehouse is one.
pub trait Served: Warehouse + Inventory + Clone + 'static {}

impl<W: Warehouse + Inventory + Clone + 'static> Served for W {}

type Reply = Response;

/// Most reservations decided in one [`Warehouse::reserve_many`] call.
pub const RESERVE_BATCH: usize = 256;

/// What the handlers share: the warehouse, and the queue of reservations waiting to be
/// decided.
struct Shop<W> {
    w: W,
    reserves: Arc<Reserves>,
}

impl<W: Clone> Clone for Shop<W> {
    fn clone(&self) -> Self {
        Self {
            w: self.w.clone(),
            reserves: Arc::clone(&self.reserves),
        }
    }
}

/// One reservation waiting: the order, and where its answer goes (the warehouse's
/// error as text).
struct Pending {
    order: (OrderKey, Vec<OrderItem>),
    answer: oneshot::Sender<Result<Reservation, String>>,
}

/// The queue of reservations; its task (started with the first reservation, on the
/// server's runtime) decides what is waiting in one call at a time, and ends when the
/// router is dropped.
#[derive(Default)]
struct Reserves {
    queue: OnceLock<mpsc::UnboundedSender<Pending>>,
}

impl Reserves {
    /// The queue, its task started on the first call.
    fn queue<W: Served>(&self, w: &W) -> &mpsc::UnboundedSender<Pending> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(decide_waiting(w.clone(), rx));
            tx
        })
    }

    /// Decides `orders` together with whatever else is waiting, answers in their order;
    /// the first failure is the answer of all (orders already decided stay decided: a
    /// second call finds them `already_reserved`).
    async fn decide<W: Served>(
        &self,
        w: &W,
        orders: Vec<(OrderKey, Vec<OrderItem>)>,
    ) -> Result<Vec<Reservation>, String> {
        let queue = self.queue(w);
        let mut answers = Vec::with_capacity(orders.len());
        for order in orders {
            let (answer, answered) = oneshot::channel();
            queue
                .send(Pending { order, answer })
                .map_err(|_| "the warehouse stopped taking reservations".to_owned())?;
            answers.push(answered);
        }
        let mut decided = Vec::with_capacity(answers.len());
        for answered in answers {
            decided.push(answered.await.map_err(|_| {
                "the warehouse stopped before deciding the reservation".to_owned()
            })??);
        }
        Ok(decided)
    }
}

/// The task behind [`Reserves`]: everything waiting (up to [`RESERVE_BATCH`]) in one
/// call, answers in order; a failed call fails each of its reservations (none of them
/// was made).
async fn decide_waiting<W: Served>(w: W, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut waiting = Vec::with_capacity(RESERVE_BATCH);
    while rx.recv_many(&mut waiting, RESERVE_BATCH).await > 0 {
        let (orders, answers): (Vec<_>, Vec<_>) =
            waiting.drain(..).map(|p| (p.order, p.answer)).unzip();
        match w.reserve_many(&orders).await {
            Ok(decided) if decided.len() == answers.len() => {
                for (answer, r) in answers.into_iter().zip(decided) {
                    let _ = answer.send(Ok(r));
                }
            }
            Ok(decided) => {
                let e = format!(
                    "the warehouse decided {} reservations of {}",
                    decided.len(),
                    answers.len()
                );
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
            Err(e) => {
                let e = e.to_string();
                for answer in answers {
                    let _ = answer.send(Err(e.clone()));
                }
            }
        }
    }
}

/// A refusal: a status and the text of `{"error": ...}`.
struct Problem(StatusCode, String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        answer(self.0, Answer::error(self.1))
    }
}

fn answer<T: serde::Serialize>(status: StatusCode, body: T) -> Reply {
    (status, Json(body)).into_response()
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, Problem> {
    serde_json::from_slice(body)
        .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("invalid body: {e}")))
}

fn ids(hub: &str, sku: &str) -> Result<(HubId, SkuId), Problem> {
    let hub =
        HubId::parse(hub).map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("hub_id {e}")))?;
    let sku =
        SkuId::parse(sku).map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("sku_id {e}")))?;
    Ok((hub, sku))
}

fn unavailable(e: impl std::fmt::Display) -> Problem {
    Problem(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

async fn validate_order<W: Served>(State(s): State<Shop<W>>, body: Bytes) -> Reply {
    let run = async {
        let b: ValidateOrderBody = parse(&body)?;
        let (hub, sku) = ids(&b.hub_id, &b.sku_id)?;
        match s.w.validate(&hub, &sku).await.map_err(unavailable)? {
            Validation::Known => Ok(answer(
                StatusCode::OK,
                Answer::message(VALIDATION_SUCCESSFUL),
            )),
            Validation::Unknown(why) => Err(Problem(StatusCode::BAD_REQUEST, why)),
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn validate_inventory<W: Served>(State(s): State<Shop<W>>, body: Bytes) -> Reply {
    let run = async {
        let b: ValidateInventoryBody = parse(&body)?;
        let (hub, sku) = ids(&b.hub_id, &b.sku_id)?;
        let qty = Quantity::new(b.quantity_ordered)
            .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("quantity_ordered {e}")))?;
        match s.w.deduct(&hub, &sku, qty).await.map_err(unavailable)? {
            Deduction::Done => Ok(answer(StatusCode::OK, Answer::message(INVENTORY_UPDATED))),
            Deduction::Insufficient => Err(Problem(
                StatusCode::BAD_REQUEST,
                INSUFFICIENT_INVENTORY.into(),
            )),
            Deduction::NotFound => Err(Problem(StatusCode::NOT_FOUND, INVENTORY_NOT_FOUND.into())),
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// One order of a `reserve` or `reserve_many` body, checked.
fn reserve_order(b: ReserveBody) -> Result<(OrderKey, Vec<OrderItem>), Problem> {
    let key = OrderKey {
        seller_id: SellerId::parse(&b.seller_id)
            .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("seller_id {e}")))?,
        order_id: OrderId::parse(&b.order_id)
            .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("order_id {e}")))?,
    };
    if b.items.is_empty() {
        return Err(Problem(StatusCode::BAD_REQUEST, "items is empty".into()));
    }
    Ok((key, b.items))
}

/// How `reserve` answers a decided reservation (`reserve_many` gives the body).
fn reserve_answer(r: Reservation) -> (StatusCode, ReserveAnswer) {
    match r {
        Reservation::Reserved => (StatusCode::OK, ReserveAnswer::status(RESERVED)),
        Reservation::AlreadyReserved => (StatusCode::OK, ReserveAnswer::status(ALREADY_RESERVED)),
        Reservation::Insufficient { hub_id, sku_id } => (
            StatusCode::CONFLICT,
            ReserveAnswer::insufficient(hub_id.to_string(), sku_id.to_string()),
        ),
    }
}

async fn reserve<W: Served>(State(s): State<Shop<W>>, body: Bytes) -> Reply {
    let run = async {
        let order = reserve_order(parse(&body)?)?;
        let decided = s.reserves.decide(&s.w, vec![order]).await;
        let r = decided
            .map_err(unavailable)?
            .pop()
            .ok_or_else(|| unavailable("the warehouse decided no reservation"))?;
        let (status, a) = reserve_answer(r);
        Ok::<_, Problem>(answer(status, a))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn reserve_many<W: Served>(State(s): State<Shop<W>>, body: Bytes) -> Reply {
    let run = async {
        let b: ReserveManyBody = parse(&body)?;
        if b.orders.is_empty() || b.orders.len() > RESERVE_MANY_MAX {
            return Err(Problem(
                StatusCode::BAD_REQUEST,
                format!("orders must hold 1 to {RESERVE_MANY_MAX} orders"),
            ));
        }
        let orders = b
            .orders
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                reserve_order(o).map_err(|Problem(c, e)| Problem(c, format!("orders[{i}]: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let decided = s.reserves.decide(&s.w, orders).await.map_err(unavailable)?;
        let results = decided.into_iter().map(|r| reserve_answer(r).1).collect();
        Ok(answer(StatusCode::OK, ReserveManyAnswer { results }))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The routes of the reference warehouse: the original contract plus `reserve`, open
/// to every caller (for a loopback address or a test).
pub fn router<W: Served>(w: W) -> Router {
    routes(w, true, None)
}

/// [`router`], with every `/api` route behind the bearer `token`.
pub fn guarded_router<W: Served>(w: W, token: &str) -> Router {
    routes(w, true, Some(TokenHash::of(token)))
}

/// Only the original wms-service contract (no batch reserve), as the original service
/// offered it; used to check that clients fall back to it.
pub fn original_router<W: Served>(w: W) -> Router {
    routes(w, false, None)
}

fn routes<W: Served>(w: W, with_reserve: bool, token: Option<TokenHash>) -> Router {
    let mut api = Router::new()
        .route(&format!("/{VALIDATE_ORDER}"), post(validate_order::<W>))
        .route(
            &format!("/{VALIDATE_INVENTORY}"),
            post(validate_inventory::<W>),
        );
    if with_reserve {
        api = api
            .route(&format!("/{RESERVE}"), post(reserve::<W>))
            .route(&format!("/{RESERVE_MANY}"), post(reserve_many::<W>));
    }
    if let Some(t) = token {
        api = api.route_layer(middleware::from_fn_with_state(t, guard::require));
    }
    api.route(
        "/health",
        get(|| async { Json(serde_json::json!({"status": "ok"})) }),
    )
    .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
    .layer(middleware::from_fn(guard::time_limit))
    .with_state(Shop {
        w,
        reserves: Arc::default(),
    })
}

/// Serves `w` until `shutdown` resolves, every `/api` route behind `token` when there is
/// one; requests in flight finish.
///
/// # Errors
/// When the listener fails.
pub async fn serve<W: Served>(
    listener: tokio::net::TcpListener,
    w: W,
    token: Option<&str>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = match token {
        Some(t) => guarded_router(w, t),
        None => router(w),
    };
    // Answers are small and written whole: no reason to hold a segment back.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
