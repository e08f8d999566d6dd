//! The reference warehouse service (`oms wms serve`): the embedded inventory of a data
//! dir over HTTP. It answers the original wms-service contract (`validate_order`,
//! `validate_inventory`) and adds `reserve`, which deducts every item of one order all
//! or nothing and is idempotent by (seller, order).

use crate::adapters::embedded::{Deduction, EmbeddedWarehouse};
use crate::adapters::wms_http::{
    Answer, ReserveAnswer, ReserveBody, ValidateInventoryBody, ValidateOrderBody,
};
use crate::domain::{HubId, OrderId, OrderKey, Quantity, SellerId, SkuId};
use crate::ports::{Reservation, Validation, Warehouse};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;

type Reply = Response;

/// A refusal: a status and the text of `{"error": ...}`.
struct Problem(StatusCode, String);

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        error(self.0, self.1)
    }
}

fn answer<T: serde::Serialize>(status: StatusCode, body: T) -> Reply {
    (status, Json(body)).into_response()
}

fn error(status: StatusCode, msg: impl Into<String>) -> Reply {
    answer(
        status,
        Answer {
            message: None,
            error: Some(msg.into()),
        },
    )
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

async fn validate_order(State(w): State<EmbeddedWarehouse>, body: Bytes) -> Reply {
    let run = async {
        let b: ValidateOrderBody = parse(&body)?;
        let (hub, sku) = ids(&b.hub_id, &b.sku_id)?;
        match w.validate(&hub, &sku).await.map_err(unavailable)? {
            Validation::Known => Ok(answer(
                StatusCode::OK,
                Answer {
                    message: Some("Validation successful".into()),
                    error: None,
                },
            )),
            Validation::Unknown(why) => Err(Problem(StatusCode::BAD_REQUEST, why)),
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn validate_inventory(State(w): State<EmbeddedWarehouse>, body: Bytes) -> Reply {
    let run = async {
        let b: ValidateInventoryBody = parse(&body)?;
        let (hub, sku) = ids(&b.hub_id, &b.sku_id)?;
        let qty = Quantity::new(b.quantity_ordered)
            .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("quantity_ordered {e}")))?;
        match w.deduct(&hub, &sku, qty).await.map_err(unavailable)? {
            Deduction::Done => Ok(answer(
                StatusCode::OK,
                Answer {
                    message: Some("Inventory updated".into()),
                    error: None,
                },
            )),
            Deduction::Insufficient => Err(Problem(
                StatusCode::BAD_REQUEST,
                "Insufficient inventory".into(),
            )),
            Deduction::NotFound => {
                Err(Problem(StatusCode::NOT_FOUND, "Inventory not found".into()))
            }
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

async fn reserve(State(w): State<EmbeddedWarehouse>, body: Bytes) -> Reply {
    let run = async {
        let b: ReserveBody = parse(&body)?;
        let key = OrderKey {
            seller_id: SellerId::parse(&b.seller_id)
                .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("seller_id {e}")))?,
            order_id: OrderId::parse(&b.order_id)
                .map_err(|e| Problem(StatusCode::BAD_REQUEST, format!("order_id {e}")))?,
        };
        if b.items.is_empty() {
            return Err(Problem(StatusCode::BAD_REQUEST, "items is empty".into()));
        }
        let status = |s: &str| ReserveAnswer {
            status: Some(s.into()),
            ..ReserveAnswer::default()
        };
        match w.reserve(&key, &b.items).await.map_err(unavailable)? {
            Reservation::Reserved => Ok(answer(StatusCode::OK, status("reserved"))),
            Reservation::AlreadyReserved => Ok(answer(StatusCode::OK, status("already_reserved"))),
            Reservation::Insufficient { hub_id, sku_id } => Ok(answer(
                StatusCode::CONFLICT,
                ReserveAnswer {
                    status: None,
                    error: Some("Insufficient inventory".into()),
                    hub_id: Some(hub_id.to_string()),
                    sku_id: Some(sku_id.to_string()),
                },
            )),
        }
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// The routes of the reference warehouse: the original contract plus `reserve`.
pub fn router(w: EmbeddedWarehouse) -> Router {
    routes(w, true)
}

/// Only the original wms-service contract (no batch reserve), as the original service
/// offered it; used to check that clients fall back to it.
pub fn original_router(w: EmbeddedWarehouse) -> Router {
    routes(w, false)
}

fn routes(w: EmbeddedWarehouse, with_reserve: bool) -> Router {
    let mut r = Router::new()
        .route("/api/v1/orders/validate_order", post(validate_order))
        .route(
            "/api/v1/orders/validate_inventory",
            post(validate_inventory),
        );
    if with_reserve {
        r = r.route("/api/v1/orders/reserve", post(reserve));
    }
    r.route(
        "/health",
        get(|| async { Json(serde_json::json!({"status": "ok"})) }),
    )
    .layer(axum::extract::DefaultBodyLimit::max(1 << 20))
    .with_state(w)
}

/// Serves until `shutdown` resolves; requests in flight finish.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    w: EmbeddedWarehouse,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(w))
        .with_graceful_shutdown(shutdown)
        .await
}
