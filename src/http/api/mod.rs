//! `oms serve`: the original service's bulkorder endpoint and read-only queries over
//! HTTP, secure by default (loopback bind; a bearer token on every `/api` route when
//! any is configured; body limit, request timeout, graceful shutdown). The bulkorder
//! endpoint runs the very code of `oms submit`.
//!
//! Tokens: the operator's `OMS_API_TOKEN` acts for every seller; the named tokens of
//! the tokens file (`OMS_API_TOKENS_FILE`) act only for their sellers: a submit for
//! another seller is 403, a read of another seller's order or job is 404 (as if it did
//! not exist), and listings hold only the token's sellers.
//!
//! - `access`: who a request's token is ([`Caller`]) and the audit line of every
//!   bulkorder.
//! - `routes`: the handlers.
//! - `metrics`: `/metrics` and the counters behind it.

mod access;
mod metrics;
mod routes;

pub use access::{Caller, Keys, OPERATOR};

use super::guard;
use crate::app::AppError;
use crate::app::Backends;
use axum::extract::connect_info::ConnectInfo;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;

/// The OpenAPI document of this API, kept in the repository and served as is.
pub const OPENAPI: &str = include_str!("../../../openapi.json");

/// Largest request body accepted (the bulkorder body is two short fields).
pub const BODY_LIMIT: usize = 64 * 1024;
/// Longest a request may take before it is answered 503.
pub const REQUEST_TIMEOUT: std::time::Duration = guard::REQUEST_TIMEOUT;
/// Most orders one listing page may hold.
pub const MAX_LIMIT: usize = 1000;

/// The route of the bulkorder endpoint.
const BULKORDER: &str = "/api/v1/orders/bulkorder";

/// What the handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub backends: Backends,
    /// The consumer group whose lag `/metrics` and `/ready` report.
    pub group: String,
    keys: Keys,
    metrics: Arc<metrics::Counters>,
}

impl ApiState {
    /// `keys`: the tokens every `/api` route requires, when there are any.
    pub fn new(backends: Backends, group: String, keys: Keys) -> Self {
        Self {
            backends,
            group,
            keys,
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

/// The peer address of the connection, as text (`-` when the server was not told it).
fn client(req: &Request) -> String {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or_else(|| "-".to_owned(), |c| c.0.to_string())
}

/// Who is calling, for `/api` routes: the caller goes into the request's extensions;
/// a missing or unknown token is 401 (counted, and audited on the bulkorder route).
async fn authenticate(State(s): State<ApiState>, mut req: Request, next: Next) -> Response {
    let client = client(&req);
    match s.keys.identify(req.headers(), client.clone()) {
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
        Err(why) => {
            s.metrics.refused(why.reason());
            let route = req
                .extensions()
                .get::<MatchedPath>()
                .map(MatchedPath::as_str);
            if route == Some(BULKORDER) {
                access::audit_unauthenticated(why, &client);
            }
            guard::unauthorized()
        }
    }
}

/// Counts requests by matched route and status code.
async fn observe(State(s): State<ApiState>, req: Request, next: Next) -> Response {
    let route = req.extensions().get::<MatchedPath>().cloned();
    let resp = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    s.metrics.request(route, resp.status().as_u16());
    resp
}

/// The routes, with `/api` behind the tokens.
pub fn router(state: ApiState) -> Router {
    let api = Router::new()
        .route(BULKORDER, post(routes::bulkorder))
        .route("/api/v1/orders", get(routes::list_orders))
        .route("/api/v1/orders/{order_id}", get(routes::get_order))
        .route("/api/v1/jobs/{job_id}", get(routes::get_job))
        .route_layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .merge(api)
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .route("/ready", get(routes::ready))
        .route("/metrics", get(metrics::metrics))
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
const SET_TOKEN: &str = "set OMS_API_TOKEN (the operator's token, e.g. `export \
     OMS_API_TOKEN=$(openssl rand -hex 32)`) or OMS_API_TOKENS_FILE (seller-scoped tokens, \
     made with `oms token add`)";

/// Whether `oms serve` may listen on `addr` with the tokens it has: only loopback
/// addresses without any.
///
/// # Errors
/// The reason it refuses.
pub fn check_bind(addr: &SocketAddr, keys: &Keys) -> Result<(), String> {
    guard::check_bind(addr, !keys.is_open(), SET_TOKEN)
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
    // Answers are written whole: no reason to hold a segment back.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_loopback_needs_a_token() {
        let lo: SocketAddr = "127.0.0.1:8081".parse().unwrap();
        let any: SocketAddr = "0.0.0.0:8081".parse().unwrap();
        assert!(check_bind(&lo, &Keys::default()).is_ok());
        let e = check_bind(&any, &Keys::default()).unwrap_err();
        assert!(
            e.contains("OMS_API_TOKEN") && e.contains("OMS_API_TOKENS_FILE"),
            "{e}"
        );
        assert!(check_bind(&any, &Keys::new(Some("s3cret"), None)).is_ok());
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
