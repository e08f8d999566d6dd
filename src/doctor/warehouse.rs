//! The warehouse check: the embedded stock; the HTTP warehouse answers within its
//! timeout (with `OMS_WMS_TOKEN` when it is set; a refused token is told from a
//! warehouse that does not answer), and whether it offers the batch `reserve` and
//! `reserve_many` endpoints. The adapters do the asking
//! ([`EmbeddedWarehouse::stock_summary`], [`HttpWarehouse::probe`]); this turns their
//! answers into a [`Check`].

use super::embedded::{embedded_port, timed_out};
use super::{CHECK_TIMEOUT, Check, bounded, redact};
use crate::adapters::embedded::{Db, EmbeddedWarehouse, StockSummary};
use crate::adapters::wms_http::{HttpWarehouse, ProbeFailure, WmsProbe};
use crate::config::{Config, WmsChoice};
use std::time::Duration;

const NAME: &str = "warehouse";

/// The warehouse check of the configuration in force; `db` is the embedded database
/// when it could be opened.
pub async fn check(config: &Config, db: Option<Db>) -> Check {
    match &config.wms_backend {
        WmsChoice::Embedded => {
            let ask = |db| async move { EmbeddedWarehouse::new(db).stock_summary().await };
            embedded_port(NAME, db, ask, embedded_stock).await
        }
        WmsChoice::Http { url, timeout } => {
            let shown = redact(url);
            let what = format!("http {shown}");
            let limit = CHECK_TIMEOUT.max(*timeout + Duration::from_secs(2));
            let token = config.wms_token.clone().map(|t| t.0);
            let (url, timeout) = (url.clone(), *timeout);
            let w = what.clone();
            match bounded(limit, move || http_warehouse(url, timeout, token, w)).await {
                Ok(c) => c,
                Err(why) => timed_out(NAME, &what, &why, &wms_unreachable_fix(timeout)),
            }
        }
    }
}

fn embedded_stock(stock: StockSummary) -> Check {
    if stock.lines == 0 {
        return Check::pass(
            NAME,
            "embedded: no stock lines yet: every order is rejected until stock is loaded \
             (`oms inventory load FILE`)",
        );
    }
    Check::pass(
        NAME,
        format!(
            "embedded: {} stock lines, {} units ({} lines at 0)",
            stock.lines, stock.units, stock.empty
        ),
    )
}

fn wms_unreachable_fix(timeout: Duration) -> String {
    format!(
        "start the warehouse service, or correct OMS_WMS_URL (its base URL, e.g. \
         http://127.0.0.1:8082); a slow warehouse needs a longer OMS_WMS_TIMEOUT_SECS (now \
         {} s)",
        timeout.as_secs()
    )
}

async fn http_warehouse(
    url: String,
    timeout: Duration,
    token: Option<String>,
    what: String,
) -> Check {
    let wms = match HttpWarehouse::new(&url, timeout) {
        Ok(w) => w,
        Err(e) => {
            return Check::fail(
                NAME,
                e,
                "set OMS_WMS_URL to the warehouse's http(s) base URL, e.g. \
                 http://127.0.0.1:8082",
            );
        }
    };
    let sends_token = token.is_some();
    let wms = match token {
        None => wms,
        Some(t) => match wms.with_token(&t) {
            Ok(w) => w,
            Err(e) => {
                return Check::fail(
                    NAME,
                    e,
                    "set OMS_WMS_TOKEN to the warehouse's token (the OMS_WMS_TOKEN of \
                     `oms wms serve`), or unset it for a warehouse that needs none",
                );
            }
        },
    };
    let what = if sends_token {
        format!("{what} (with OMS_WMS_TOKEN)")
    } else {
        what
    };
    match wms.probe().await {
        Ok(probe) => answered(&probe, timeout, &what),
        Err(ProbeFailure::NoAnswer(e)) => Check::fail(
            NAME,
            format!("{what}: validate_order got no answer: {e}"),
            wms_unreachable_fix(timeout),
        ),
        Err(ProbeFailure::Refused { status, error }) => Check::fail(
            NAME,
            format!("{what}: the warehouse refused the request (HTTP {status}): {error}"),
            refused_fix(status, sends_token),
        ),
        Err(ProbeFailure::Unexpected(e)) => Check::fail(
            NAME,
            format!("{what}: validate_order answered unexpectedly: {e}"),
            "OMS_WMS_URL must be the base URL of a wms-service (POST \
             api/v1/orders/validate_order answers 200, 400 or 404): correct it",
        ),
    }
}

/// What to do when the warehouse answers 401 or 403: the token is missing or wrong
/// (or a proxy in front of it refuses this host).
fn refused_fix(status: u16, sends_token: bool) -> String {
    if sends_token {
        format!(
            "the warehouse (or a proxy in front of it) refused OMS_WMS_TOKEN with HTTP \
             {status}: set OMS_WMS_TOKEN to the token the warehouse requires (the \
             OMS_WMS_TOKEN of `oms wms serve`), or let this host through the proxy"
        )
    } else {
        format!(
            "the warehouse (or a proxy in front of it) refused the request with HTTP \
             {status}, and oms sent no token: set OMS_WMS_TOKEN to the warehouse's token \
             (the OMS_WMS_TOKEN of `oms wms serve`), or let this host through the proxy"
        )
    }
}

fn answered(probe: &WmsProbe, timeout: Duration, what: &str) -> Check {
    let many = match &probe.reserve_many {
        Ok(true) => " (and reserve_many: a fulfil batch is one request)".to_owned(),
        Ok(false) => "; no reserve_many endpoint (api/v1/orders/reserve_many): each order \
                      of a fulfil batch is a request of its own, which is slower"
            .to_owned(),
        Err(e) => format!("; whether it offers reserve_many is unknown: {e}"),
    };
    let batch = match &probe.batch_reserve {
        Ok(true) => {
            format!("batch reserve offered: orders are reserved all-or-nothing, once{many}")
        }
        Ok(false) => "warning: no batch reserve endpoint (api/v1/orders/reserve): items are \
                      deducted one by one, so a multi-item order is not all-or-nothing (a \
                      short later item leaves the earlier ones deducted) and a redelivered \
                      order can be deducted twice; `oms wms serve` offers it"
            .to_owned(),
        Err(e) => format!("whether it offers batch reserve is unknown: {e}"),
    };
    Check::pass(
        NAME,
        format!(
            "{what}: validate_order answered in {} ms (timeout {} s); {batch}",
            probe.answered_in.as_millis(),
            timeout.as_secs()
        ),
    )
}
