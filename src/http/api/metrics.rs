//! `/metrics` (Prometheus text): requests by route and code, `/api` refusals by reason,
//! jobs by state, orders by status, queue depth and consumer lag where known; and the
//! counters the middleware and the handlers feed.

use super::ApiState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::sync::Mutex;

/// No bearer token where one is required (401).
pub const MISSING_TOKEN: &str = "missing_token";
/// A bearer token that matches none (401).
pub const INVALID_TOKEN: &str = "invalid_token";
/// A bulkorder for a seller the token may not act for (403).
pub const SELLER_NOT_ALLOWED: &str = "seller_not_allowed";
/// A read of another seller's order, job or listing (404, or an empty listing).
pub const NOT_VISIBLE: &str = "not_visible";
/// A bulkorder whose body, path or file is refused (400).
pub const BAD_REQUEST: &str = "bad_request";
/// A bulkorder body over the limit (413).
pub const TOO_LARGE: &str = "too_large";

/// Every refusal reason, each reported (at 0 until it happens).
pub const REASONS: [&str; 6] = [
    MISSING_TOKEN,
    INVALID_TOKEN,
    SELLER_NOT_ALLOWED,
    NOT_VISIBLE,
    BAD_REQUEST,
    TOO_LARGE,
];

/// What `/metrics` counts since the server started.
#[derive(Debug, Default)]
pub struct Counters {
    /// By route, then code: a route seen before is counted without an allocation.
    requests: Mutex<BTreeMap<String, BTreeMap<u16, u64>>>,
    refusals: Mutex<BTreeMap<&'static str, u64>>,
}

impl Counters {
    /// One request answered on `route` with `code`.
    pub fn request(&self, route: &str, code: u16) {
        if let Ok(mut m) = self.requests.lock() {
            let codes = match m.get_mut(route) {
                Some(codes) => codes,
                None => m.entry(route.to_owned()).or_default(),
            };
            *codes.entry(code).or_default() += 1;
        }
    }

    /// One `/api` request refused for `reason` (one of [`REASONS`]).
    pub fn refused(&self, reason: &'static str) {
        if let Ok(mut m) = self.refusals.lock() {
            *m.entry(reason).or_default() += 1;
        }
    }
}

fn quoted(label: &str) -> String {
    label.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Prometheus text: requests by route and code, refusals by reason, jobs by state,
/// orders by status, queue depth and consumer lag where known.
pub(super) async fn metrics(State(s): State<ApiState>) -> Response {
    let mut out = String::new();
    out.push_str("# HELP oms_http_requests_total HTTP requests by route and status code.\n");
    out.push_str("# TYPE oms_http_requests_total counter\n");
    let requests = s
        .metrics
        .requests
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    for (route, codes) in &requests {
        for (code, n) in codes {
            out.push_str(&format!(
                "oms_http_requests_total{{route=\"{}\",code=\"{code}\"}} {n}\n",
                quoted(route)
            ));
        }
    }
    out.push_str(
        "# HELP oms_api_refusals_total Requests to /api refused, by reason (missing_token, \
         invalid_token, seller_not_allowed, not_visible, bad_request, too_large).\n",
    );
    out.push_str("# TYPE oms_api_refusals_total counter\n");
    let refusals = s
        .metrics
        .refusals
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    for reason in REASONS {
        let n = refusals.get(reason).copied().unwrap_or(0);
        out.push_str(&format!(
            "oms_api_refusals_total{{reason=\"{reason}\"}} {n}\n"
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
        for (state, n) in [
            ("visible", d.visible),
            ("in_flight", d.in_flight),
            ("dead", d.dead),
        ] {
            out.push_str(&format!("oms_queue_messages{{state=\"{state}\"}} {n}\n"));
        }
    }
    if let Ok(lag) = b.bus.lag(&s.group).await {
        out.push_str("# HELP oms_consumer_lag Events not yet committed by the fulfil group.\n# TYPE oms_consumer_lag gauge\n");
        out.push_str(&format!(
            "oms_consumer_lag{{group=\"{}\"}} {lag}\n",
            quoted(&s.group)
        ));
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}
