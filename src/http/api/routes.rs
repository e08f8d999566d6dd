//! The handlers of `oms serve`: submit (bulkorder), the order and job queries, and
//! `/ready`. Every `/api` handler acts for its [`Caller`]'s sellers only.

use super::access::{self, Attempt, Caller};
use super::{ApiError, ApiState, MAX_LIMIT, bad, metrics};
use crate::app::orders::{self, FilterText};
use crate::app::{jobs, submit};
use crate::domain::{BulkOrderRequest, HubId, Order, OrderId, SellerId};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{Extension, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// `POST /api/v1/orders/bulkorder`: every outcome leaves an audit line, and every
/// refusal is counted by its reason.
pub(super) async fn bulkorder(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let mut seen = Attempt::default();
    match submit_for(&s, &caller, body, &mut seen).await {
        Ok(job_id) => {
            access::audit_accepted(&caller, &seen, &job_id);
            (
                StatusCode::ACCEPTED,
                Json(json!({ "jobId": job_id, "status": "queued" })),
            )
                .into_response()
        }
        Err(e) => {
            let (refused, reason) = match e.0 {
                StatusCode::FORBIDDEN => (true, metrics::SELLER_NOT_ALLOWED),
                StatusCode::PAYLOAD_TOO_LARGE => (true, metrics::TOO_LARGE),
                s if s.is_client_error() => (true, metrics::BAD_REQUEST),
                StatusCode::SERVICE_UNAVAILABLE => (false, "unavailable"),
                _ => (false, "internal"),
            };
            if refused {
                s.metrics.refused(reason);
            }
            access::audit_refused(&caller, &seen, refused, reason, &e.1);
            e.into_response()
        }
    }
}

/// The request read, the caller's right to the seller checked (before the file is
/// looked at), then `oms submit`'s use case; the job id.
async fn submit_for(
    s: &ApiState,
    caller: &Caller,
    body: Result<Bytes, BytesRejection>,
    seen: &mut Attempt,
) -> Result<String, ApiError> {
    let body = body.map_err(|r| ApiError(r.status(), r.body_text()))?;
    let req = BulkOrderRequest::from_json(&body).map_err(|e| bad(e.to_string()))?;
    seen.seller = Some(req.seller_id.0.clone());
    seen.file = Some(req.file_path.clone());
    let seller = req.seller().map_err(|e| bad(e.to_string()))?;
    if !caller.scope.allows(&seller) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            format!("this token may not submit for seller {seller}"),
        ));
    }
    let done = submit::submit(&s.backends, &seller, &req.file_path).await?;
    Ok(done.job_id)
}

/// Query of `GET /api/v1/orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrdersQuery {
    status: Option<String>,
    seller: Option<String>,
    hub: Option<String>,
    job: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
    page: Option<usize>,
}

/// `GET /api/v1/orders`: without a `seller` filter, the caller's sellers' orders; with
/// one the caller may not see, none.
pub(super) async fn list_orders(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    q: Result<Query<OrdersQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| bad(e.body_text()))?;
    let limit = q.limit.unwrap_or(50);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(bad(format!("limit must be between 1 and {MAX_LIMIT}")));
    }
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err(bad("page starts at 1"));
    }
    // The stores take the offset as a signed 64-bit number.
    let offset = (page - 1)
        .checked_mul(limit)
        .filter(|o| i64::try_from(*o).is_ok())
        .ok_or_else(|| bad(format!("page {page} is too large for limit {limit}")))?;
    let text = FilterText {
        status: q.status.as_deref(),
        seller: q.seller.as_deref(),
        hub: q.hub.as_deref(),
        job: q.job.as_deref(),
        since: q.since.as_deref(),
    };
    let mut filter = orders::parse_filter(text, limit + 1, offset)?;
    let mut orders = match (caller.scope.sellers(), &filter.seller) {
        (None, _) => orders::list(&s.backends, &filter).await?,
        (Some(_), Some(seller)) if !caller.scope.allows(seller) => {
            s.metrics.refused(metrics::NOT_VISIBLE);
            Vec::new()
        }
        (Some(_), Some(_)) => orders::list(&s.backends, &filter).await?,
        (Some([one]), None) => {
            filter.seller = Some(one.clone());
            orders::list(&s.backends, &filter).await?
        }
        (Some(sellers), None) => orders::list_among(&s.backends, &filter, sellers).await?,
    };
    let more = orders.len() > limit;
    orders.truncate(limit);
    let page = OrdersPage {
        orders,
        page,
        limit,
        next_page: more.then_some(page + 1),
    };
    // A page of 50 is ~20 kB: written into a body sized for it at once, not grown
    // from axum's 128 bytes by copying it over and over.
    let mut body = Vec::with_capacity(128 + page.orders.len() * 512);
    serde_json::to_writer(&mut body, &page)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response())
}

/// The answer of `GET /api/v1/orders`, serialized straight into the body (no JSON
/// value in between).
#[derive(Debug, Serialize)]
pub(super) struct OrdersPage {
    orders: Vec<Order>,
    page: usize,
    limit: usize,
    next_page: Option<usize>,
}

/// Query of `GET /api/v1/orders/{order_id}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct OrderQuery {
    seller: Option<String>,
}

/// `GET /api/v1/orders/{order_id}`: another seller's order is not found, with the very
/// answer of an order that does not exist.
pub(super) async fn get_order(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    order_id: Result<Path<String>, PathRejection>,
    q: Result<Query<OrderQuery>, QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(order_id) = order_id.map_err(|e| bad(e.body_text()))?;
    let Query(q) = q.map_err(|e| bad(e.body_text()))?;
    let b = &s.backends;
    let order = match (caller.scope.sellers(), q.seller.as_deref()) {
        (None, seller) => orders::find(b, &order_id, seller).await?,
        (Some(_), Some(seller)) => {
            let id = OrderId::parse(&order_id).map_err(|e| bad(format!("order id {e}")))?;
            let seller = SellerId::parse(seller).map_err(|e| bad(format!("seller {e}")))?;
            if !caller.scope.allows(&seller) {
                s.metrics.refused(metrics::NOT_VISIBLE);
                return Err(ApiError(
                    StatusCode::NOT_FOUND,
                    format!("no order {id} of seller {seller}"),
                ));
            }
            orders::find(b, &order_id, Some(seller.as_str())).await?
        }
        (Some(sellers), None) => orders::find_among(b, &order_id, sellers).await?,
    };
    Ok(Json(json!(order)))
}

/// `GET /api/v1/jobs/{job_id}`: another seller's job is not found, with the very
/// answer of a job that does not exist.
pub(super) async fn get_job(
    State(s): State<ApiState>,
    Extension(caller): Extension<Caller>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(id) = id.map_err(|e| bad(e.body_text()))?;
    let job = jobs::get(&s.backends, &id).await?;
    let visible = SellerId::parse(&job.seller_id).is_ok_and(|seller| caller.scope.allows(&seller));
    if !visible {
        s.metrics.refused(metrics::NOT_VISIBLE);
        return Err(ApiError(StatusCode::NOT_FOUND, format!("no job {id}")));
    }
    Ok(Json(json!(job)))
}

/// Every configured backend answers.
pub(super) async fn ready(State(s): State<ApiState>) -> Response {
    let b = &s.backends;
    let probe = "__oms_ready__";
    let (queue, bus, store, wms) = tokio::join!(
        b.queue.depth(),
        b.bus.lag(&s.group),
        b.store.list_jobs(1),
        async {
            match (HubId::parse(probe), crate::domain::SkuId::parse(probe)) {
                (Ok(h), Ok(k)) => b.wms.validate(&h, &k).await.map(|_| ()),
                _ => Ok(()),
            }
        }
    );
    let checks = json!({
        "queue": queue.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(|e| e.to_string()),
        "bus": bus.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(|e| e.to_string()),
        "store": store.as_ref().map(|_| "ok".to_owned()).unwrap_or_else(|e| e.to_string()),
        "wms": wms.as_ref().map(|()| "ok".to_owned()).unwrap_or_else(|e| e.to_string()),
    });
    let ok = queue.is_ok() && bus.is_ok() && store.is_ok() && wms.is_ok();
    let status = if ok {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(json!({ "ready": ok, "checks": checks }))).into_response()
}
