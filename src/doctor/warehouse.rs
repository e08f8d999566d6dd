//! The warehouse check: the embedded stock; the HTTP warehouse answers within its
//! timeout, and whether it offers the batch `reserve` endpoint.

use super::embedded::{no_db, timed_out};
use super::{CHECK_TIMEOUT, Check, bounded, redact};
use crate::adapters::embedded::{Db, EmbeddedWarehouse};
use crate::adapters::wms_http::HttpWarehouse;
use crate::config::{Config, WmsChoice};
use crate::domain::{HubId, SkuId};
use crate::ports::{Inventory, Validation, Warehouse, WmsError};
use std::time::Duration;

pub async fn check(config: &Config, db: Option<Db>) -> Check {
    const NAME: &str = "warehouse";
    match &config.wms_backend {
        WmsChoice::Embedded => {
            let Some(db) = db else {
                return no_db(NAME);
            };
            let r = bounded(CHECK_TIMEOUT, move || async move {
                EmbeddedWarehouse::new(db).list().await
            })
            .await;
            match r {
                Ok(Ok(lines)) if lines.is_empty() => Check::pass(
                    NAME,
                    "embedded: no stock lines yet: every order is rejected until stock is \
                     loaded (`oms inventory load FILE`)",
                ),
                Ok(Ok(lines)) => {
                    let units: i64 = lines.iter().map(|l| l.quantity).sum();
                    let empty = lines.iter().filter(|l| l.quantity == 0).count();
                    Check::pass(
                        NAME,
                        format!(
                            "embedded: {} stock lines, {units} units ({empty} lines at 0)",
                            lines.len()
                        ),
                    )
                }
                Ok(Err(e)) => Check::fail(
                    NAME,
                    format!("embedded: {e}"),
                    "another process may hold the database locked: run `oms doctor` again",
                ),
                Err(why) => timed_out(
                    NAME,
                    "embedded",
                    &why,
                    "another process holds the database locked: run `oms doctor` again",
                ),
            }
        }
        WmsChoice::Http { url, timeout } => {
            let shown = redact(url);
            let what = format!("http {shown}");
            let limit = CHECK_TIMEOUT.max(*timeout + Duration::from_secs(2));
            let (url, timeout) = (url.clone(), *timeout);
            let w = what.clone();
            match bounded(limit, move || http_warehouse(url, timeout, w)).await {
                Ok(c) => c,
                Err(why) => timed_out(NAME, &what, &why, &wms_unreachable_fix(timeout)),
            }
        }
    }
}

fn wms_unreachable_fix(timeout: Duration) -> String {
    format!(
        "start the warehouse service, or correct OMS_WMS_URL (its base URL, e.g. \
         http://127.0.0.1:8082); a slow warehouse needs a longer OMS_WMS_TIMEOUT_SECS (now \
         {} s)",
        timeout.as_secs()
    )
}

async fn http_warehouse(url: String, timeout: Duration, what: String) -> Check {
    const NAME: &str = "warehouse";
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
    // Any (hub, sku) does: known or not, an answer is what is checked.
    let (Ok(hub), Ok(sku)) = (HubId::parse("oms-doctor"), SkuId::parse("oms-doctor")) else {
        return Check::fail(NAME, "internal: bad probe ids", "report this");
    };
    let started = std::time::Instant::now();
    let answer = match wms.validate(&hub, &sku).await {
        Ok(Validation::Known | Validation::Unknown(_)) => started.elapsed(),
        Err(WmsError::Unavailable(e)) => {
            return Check::fail(
                NAME,
                format!("{what}: validate_order got no answer: {e}"),
                wms_unreachable_fix(timeout),
            );
        }
        Err(e @ WmsError::Protocol(_)) => {
            return Check::fail(
                NAME,
                format!("{what}: validate_order answered unexpectedly: {e}"),
                "OMS_WMS_URL must be the base URL of a wms-service (POST \
                 api/v1/orders/validate_order answers 200, 400 or 404): correct it",
            );
        }
    };
    let batch = match wms.offers_batch_reserve().await {
        Ok(true) => "batch reserve offered: orders are reserved all-or-nothing, once".to_owned(),
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
            answer.as_millis(),
            timeout.as_secs()
        ),
    )
}
