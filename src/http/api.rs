//! `oms serve`: the original service's bulkorder endpoint and read-only queries over
//! HTTP, secure by default (loopback bind, bearer token on every `/api` route when
//! set, body limit, request timeout, graceful shutdown). The bulkorder endpoint runs
//! the very code of `oms submit`.

use super::guard;
use crate::app::files::StorageRoot;
use crate::app::orders::{self, FilterText};
use crate::app::{AppError, Backends, submit};
use crate::domain::access::TokenHash;
use crate::domain::{BulkOrderRequest, HubId};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The OpenAPI document of this API, kept in the repository and served as is.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// Largest request body accepted (the bulkorder body is two short fields).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: std::time::Duration = guard::REQUEST_TIMEOUT;
/// Most orders one listing page may hold.
pub const MAX_LIMIT: usize = 1000;

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub backends: Backends,
    pub root: StorageRoot,
    /// The consumer group whose lag `/metrics` and `/ready` report.
    pub group: String,
    token: Option<TokenHash>,
    metrics: Arc<Mutex<BTreeMap<(String, u16), u64>>>,
}

impl ApiState {
    /// `token`: the bearer token every `/api` route requires, when set.
    pub fn new(backends: Backends, root: StorageRoot, group: String, token: Option<&str>) -> Self {
        Self {
            backends,
            root,
            group,
            token: token.map(TokenHash::of),
            metrics: Arc::default(),
        }
    }
}

/// An error answer: `{"error": "..."}` with a status.
#[derive(Debug)]
pub struct ApiError(pub StatusCode, pub String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::BadInput(m) => ApiError(StatusCode::BAD_REQUEST, m),
            AppError::NotFound(m) => ApiError(StatusCode::NOT_FOUND, m),
            AppError::Unavailable(m) => ApiError(StatusCode::SERVICE_UNAVAILABLE, m.to_string()),
            AppError::Failed(m) => ApiError(StatusCode::INTERNAL_SERVER_ERROR, m.to_string()),
        }
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// `POST /api/v1/orders/bulkorder`.
async fn bulkorder(
    State(s): State<ApiState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let body = body.map_err(|r| ApiError(r.status(), r.body_text()))?;
    let req = BulkOrderRequest::from_json(&body).map_err(|e| bad(e.to_string()))?;
    let seller = req.seller().map_err(|e| bad(e.to_string()))?;
    let done = submit::submit(&s.backends, &s.root, &seller, &req.file_path).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "jobId": done.job_id, "status": "queued" })),
    ))
}

/// Query of `GET /api/v1/orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersQuery {
    status: Option<String>,
    seller: Option<String>,
    hub: Option<String>,
    job: Option<String>,
    since: Option<String>,
    limit: Option<usize>,
    page: Option<usize>,
}

async fn list_orders(
    State(s): State<ApiState>,
    q: Result<Query<OrdersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
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
    let filter = orders::parse_filter(text, limit + 1, offset)?;
    let mut orders = orders::list(&s.backends, &filter).await?;
    let more = orders.len() > limit;
    orders.truncate(limit);
    Ok(Json(json!({
        "orders": orders,
        "page": page,
        "limit": limit,
        "next_page": if more { Some(page + 1) } else { None },
    })))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderQuery {
    seller: Option<String>,
}

async fn get_order(
    State(s): State<ApiState>,
    order_id: Result<Path<String>, PathRejection>,
    q: Result<Query<OrderQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(order_id) = order_id.map_err(|e| bad(e.body_text()))?;
    let Query(q) = q.map_err(|e| bad(e.body_text()))?;
    let order = orders::find(&s.backends, &order_id, q.seller.as_deref()).await?;
    Ok(Json(json!(order)))
}

async fn get_job(
    State(s): State<ApiState>,
    id: Result<Path<String>, PathRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let Path(id) = id.map_err(|e| bad(e.body_text()))?;
    let job = crate::app::jobs::get(&s.backends, &id).await?;
    Ok(Json(json!(job)))
}

/// Every configured backend answers.
async fn ready(State(s): State<ApiState>) -> Response {
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

/// Prometheus text: requests by route and code, jobs by state, orders by status,
/// queue depth and consumer lag where known.
async fn metrics(State(s): State<ApiState>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP oms_http_requests_total HTTP requests by route and status code.\n");
    out.push_str("# TYPE oms_http_requests_total counter\n");
    let requests = s.metrics.lock().map(|m| m.clone()).unwrap_or_default();
    for ((route, code), n) in &requests {
        out.push_str(&format!(
            "oms_http_requests_total{{route=\"{}\",code=\"{code}\"}} {n}\n",
            route.replace('\\', "\\\\").replace('"', "\\\"")
        ));
    }
    let b = &s.backends;
    if let Ok(counts) = b.store.count_jobs_by_state().await {
        out.push_str("# HELP oms_jobs Jobs by state.\n# TYPE oms_jobs gauge\n");
        for (state, n) in counts {
            out.push_str(&format!("oms_jobs{{state=\"{state}\"}} {n}\n"));
        }
    }
    if let Ok(counts) = b.store.count_orders_by_status().await {
        out.push_str("# HELP oms_orders Orders by status.\n# TYPE oms_orders gauge\n");
        for (status, n) in counts {
            out.push_str(&format!("oms_orders{{status=\"{status}\"}} {n}\n"));
        }
    }
    if let Ok(d) = b.queue.depth().await {
        out.push_str(
            "# HELP oms_queue_messages Queue messages by state.\n# TYPE oms_queue_messages gauge\n",
        );
        out.push_str(&format!(
            "oms_queue_messages{{state=\"visible\"}} {}\n",
            d.visible
        ));
        out.push_str(&format!(
            "oms_queue_messages{{state=\"in_flight\"}} {}\n",
            d.in_flight
        ));
        out.push_str(&format!(
            "oms_queue_messages{{state=\"dead\"}} {}\n",
            d.dead
        ));
    }
    if let Ok(lag) = b.bus.lag(&s.group).await {
        out.push_str("# HELP oms_consumer_lag Events not yet committed by the fulfil group.\n# TYPE oms_consumer_lag gauge\n");
        out.push_str(&format!(
            "oms_consumer_lag{{group=\"{}\"}} {lag}\n",
            s.group
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// Bearer-token check for `/api` routes ([`guard::check`]: on the hashes, in constant
/// time).
async fn auth(State(s): State<ApiState>, headers: HeaderMap, req: Request, next: Next) -> Response {
    if let Some(want) = &s.token
        && guard::check(&headers, want).is_err()
    {
        return guard::unauthorized();
    }
    next.run(req).await
}

/// Counts requests by matched route and status code.
async fn observe(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let resp = next.run(req).await;
    if let Ok(mut m) = s.metrics.lock() {
        *m.entry((route, resp.status().as_u16())).or_default() += 1;
    }
    resp
}

/// The routes, with `/api` behind the token.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route("/api/v1/orders/bulkorder", post(bulkorder))
        .route("/api/v1/orders", get(list_orders))
        .route("/api/v1/orders/{order_id}", get(get_order))
        .route("/api/v1/jobs/{job_id}", get(get_job))
        .route_layer(middleware::from_fn_with_state(state.clone(), auth));
    Router::new()
        .merge(api)
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route(
            "/openapi.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], OPENAPI) }),
        )
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such route".into()) })
        .method_not_allowed_fallback(|| async {
            ApiError(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed on this route".into(),
            )
        })
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(guard::time_limit))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// How the refusal to listen off loopback says to set a token.
const SET_TOKEN: &str = "set OMS_API_TOKEN (e.g. `export OMS_API_TOKEN=$(openssl rand -hex 32)`)";

/// Whether `oms serve` may listen on `addr` with the token it has: only loopback
/// addresses without one.
///
/// # Errors
/// The reason it refuses.
pub fn check_bind(addr: &std::net::SocketAddr, token: Option<&str>) -> Result<(), String> {
    guard::check_bind(addr, token.is_some(), SET_TOKEN)
}

/// Serves until `shutdown` resolves; requests in flight finish first.
///
/// # Errors
/// When the listener fails.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_needs_a_token() {
        let lo: std::net::SocketAddr = "127.0.0.1:8081".parse().unwrap();
        let any: std::net::SocketAddr = "0.0.0.0:8081".parse().unwrap();
        assert!(check_bind(&lo, None).is_ok());
        assert!(
            check_bind(&any, None)
                .unwrap_err()
                .contains("OMS_API_TOKEN")
        );
        assert!(check_bind(&any, Some("s3cret")).is_ok());
    }

    #[test]
    fn the_openapi_document_is_json_and_names_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/api/v1/orders/bulkorder",
            "/api/v1/orders",
            "/api/v1/orders/{order_id}",
            "/api/v1/jobs/{job_id}",
            "/health",
            "/ready",
            "/metrics",
            "/openapi.json",
        ] {
            assert!(paths.contains_key(p), "openapi.json lacks {p}");
        }
        assert_eq!(
            paths.len(),
            8,
            "openapi.json names a route the server lacks"
        );
    }
}
