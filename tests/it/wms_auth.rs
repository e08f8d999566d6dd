//! The reference warehouse (`oms wms serve`) secure by default, over real HTTP: it
//! refuses to listen off loopback without `OMS_WMS_TOKEN`; with a token every `/api`
//! route (two of which deduct stock) refuses no token, a wrong one and a prefix of the
//! right one, and deducts nothing for them; the HTTP warehouse adapter sends the token
//! when `OMS_WMS_TOKEN` is set, so ingest and fulfil work end to end against a
//! warehouse that demands it (on the embedded default and on the real services), and
//! `oms doctor` tells a refused token from an unreachable warehouse, with the fix.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The warehouse's token in these tests.
const TOKEN: &str = "wms-test-token-3f9a";

/// A warehouse's machine: the sample stock loaded, `oms wms serve` on a free loopback
/// port requiring `token` (when there is one). Gives the machine, the running server
/// and its address.
fn warehouse(token: Option<&str>) -> (Oms, Proc, String) {
    let mut w = Oms::new();
    if let Some(t) = token {
        w.set_env("OMS_WMS_TOKEN", t);
    }
    w.ok(&["inventory", "load", "storage/inventory.csv"]);
    let bind = format!("127.0.0.1:{}", free_port());
    let p = w.serve_wms(&bind);
    (w, p, bind)
}

/// The `warehouse` check of `oms doctor --output json`.
fn doctor_warehouse(c: &Oms) -> Value {
    let r = c.run(&["doctor", "--output", "json"]);
    let checks = r.json();
    checks
        .as_array()
        .expect("an array of checks")
        .iter()
        .find(|c| c["name"] == "warehouse")
        .unwrap_or_else(|| panic!("no warehouse check: {}", r.stdout))
        .clone()
}

/// 1. Off loopback without a token: refused before listening (exit 3, saying how to set
///    one); a blank token is none; with a token it listens on every address and
///    requires it.
#[test]
fn wms_serve_off_loopback_needs_a_token() {
    let open = Oms::new();
    let port = free_port();
    let r = open.run(&["wms", "serve", "--bind", &format!("0.0.0.0:{port}")]);
    assert_eq!(r.code, 3, "exit code; stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("OMS_WMS_TOKEN") && r.stderr.contains("export OMS_WMS_TOKEN="),
        "the refusal says how to set the token: {}",
        r.stderr
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "nothing listens on {port}"
    );

    let mut blank = Oms::new();
    blank.set_env("OMS_WMS_TOKEN", " ");
    let r = blank.run(&["wms", "serve", "--bind", &format!("127.0.0.1:{port}")]);
    assert_eq!(r.code, 3, "exit code; stderr: {}", r.stderr);
    assert!(
        r.stderr.contains("OMS_WMS_TOKEN is set but empty"),
        "{}",
        r.stderr
    );

    let mut guarded = Oms::new();
    guarded.set_env("OMS_WMS_TOKEN", TOKEN);
    let _p = guarded.serve_wms(&format!("0.0.0.0:{port}"));
    let url = format!("http://127.0.0.1:{port}/api/v1/orders/validate_order");
    let body = json!({ "sku_id": "15", "hub_id": "1" }).to_string();
    block_on(async {
        let http = http_client();
        send(
            &http,
            Method::POST,
            &url,
            None,
            Some(body.clone().into_bytes()),
        )
        .await
        .unauthorized();
        // Known or not (no stock loaded here), the contract answers with the token.
        let r = send(
            &http,
            Method::POST,
            &url,
            Some(TOKEN),
            Some(body.into_bytes()),
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.short());
        let health = format!("http://127.0.0.1:{port}/health");
        send(&http, Method::GET, &health, None, None)
            .await
            .status(StatusCode::OK);
    });
}

/// 2. With a token, every warehouse route refuses no token, a wrong one, a prefix of
///    the right one and another scheme, and deducts nothing for them; the right token
///    gets the contract's answers. `/health` stays open; bodies are limited.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_warehouse_route_needs_the_token() {
    let (w, _p, bind) = warehouse(Some(TOKEN));
    let initial = w.stock();
    let http = http_client();
    let url = |route: &str| format!("http://{bind}/api/v1/orders/{route}");
    let routes = [
        ("validate_order", json!({ "sku_id": "15", "hub_id": "1" })),
        (
            "validate_inventory",
            json!({ "sku_id": "15", "hub_id": "1", "quantity_ordered": 2 }),
        ),
        (
            "reserve",
            json!({ "seller_id": "1", "order_id": "9001",
                    "items": [{ "sku_id": "15", "hub_id": "1", "quantity": 1 }] }),
        ),
    ];
    let prefix = &TOKEN[..TOKEN.len() - 1];
    for (route, body) in &routes {
        for token in [None, Some("wrong"), Some(prefix), Some("")] {
            let body = Some(body.to_string().into_bytes());
            send(&http, Method::POST, &url(route), token, body)
                .await
                .unauthorized();
        }
        let r = http
            .post(url(route))
            .header("Authorization", format!("Basic {TOKEN}"))
            .body(body.to_string())
            .send()
            .await
            .expect("an answer");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{route} with Basic");
    }
    assert_eq!(w.stock(), initial, "a refused request deducted stock");

    // The right token: the contract.
    let post = |route: &str, body: Value| {
        let (http, url) = (http.clone(), url(route));
        async move {
            let body = Some(body.to_string().into_bytes());
            send(&http, Method::POST, &url, Some(TOKEN), body).await
        }
    };
    let v = post("validate_order", routes[0].1.clone())
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(v["message"], "Validation successful");
    post("validate_order", json!({ "sku_id": "15", "hub_id": "9" }))
        .await
        .status(StatusCode::BAD_REQUEST);
    post("validate_inventory", routes[1].1.clone())
        .await
        .status(StatusCode::OK);
    let v = post("reserve", routes[2].1.clone())
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(v["status"], "reserved");
    let v = post("reserve", routes[2].1.clone())
        .await
        .status(StatusCode::OK)
        .json();
    assert_eq!(v["status"], "already_reserved");
    let mut want = initial.clone();
    *want.get_mut(&stock_key("1", "15")).expect("a stock line") -= 3;
    assert_eq!(w.stock(), want, "2 by validate_inventory, 1 by reserve");

    send(
        &http,
        Method::GET,
        &format!("http://{bind}/health"),
        None,
        None,
    )
    .await
    .status(StatusCode::OK);
    // Over the body limit (1 MiB): 413, nothing deducted.
    let big = json!({ "seller_id": "1", "order_id": "9002", "items": [],
                      "pad": "x".repeat(1_100_000) });
    post("reserve", big)
        .await
        .status(StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(w.stock(), want);
}

/// The sample flow from a client machine `c` against the warehouse of `w` that
/// requires [`TOKEN`]: without the token (and with a wrong one) nothing gets through
/// and doctor says what to set; with it, ingest and fulfil end as the sample must.
fn flow_against_a_guarded_warehouse(c: &mut Oms, w: &Oms) {
    let initial = w.stock();
    c.set_env("OMS_QUEUE_MAX_RECEIVES", "1");

    // No token: ingest cannot validate (the message is dead-lettered after its one
    // receive), nothing is stored, and doctor names OMS_WMS_TOKEN.
    let job = c.submit("storage/orders.csv");
    let r = c.run(&["ingest", "--drain"]);
    assert_ne!(r.code, 0, "ingest without the token: {}", r.stderr);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert!(c.orders().is_empty(), "nothing stored without the token");
    let check = doctor_warehouse(c);
    assert_eq!(check["ok"], false, "{check}");
    assert!(s(&check["detail"]).contains("HTTP 401"), "{check}");
    let fix = s(&check["fix"]);
    assert!(
        fix.contains("oms sent no token") && fix.contains("set OMS_WMS_TOKEN"),
        "{check}"
    );

    // A wrong token: refused, and doctor says the token was refused.
    c.set_env("OMS_WMS_TOKEN", "not-the-token");
    let check = doctor_warehouse(c);
    assert_eq!(check["ok"], false, "{check}");
    assert!(
        s(&check["fix"]).contains("refused OMS_WMS_TOKEN"),
        "{check}"
    );

    // The right token: the dead-lettered file goes through.
    c.set_env("OMS_WMS_TOKEN", TOKEN);
    let check = doctor_warehouse(c);
    assert_eq!(check["ok"], true, "{check}");
    assert!(
        s(&check["detail"]).contains("with OMS_WMS_TOKEN"),
        "{check}"
    );
    c.ok(&["dlq", "redrive", "--yes"]);
    c.ok(&["ingest", "--drain"]);
    assert_eq!(c.orders().len(), 6);

    // fulfil without the token: it gives up, nothing is deducted, nothing moves.
    c.set_env("OMS_WMS_TOKEN", "not-the-token");
    let r = c.run(&["fulfil", "--drain"]);
    assert_ne!(r.code, 0, "fulfil with a wrong token: {}", r.stderr);
    assert!(r.stderr.contains("401"), "{}", r.stderr);
    assert_eq!(w.stock(), initial, "nothing deducted with a wrong token");
    assert!(c.orders().iter().all(|o| o["status"] == "on_hold"));

    c.set_env("OMS_WMS_TOKEN", TOKEN);
    c.ok(&["fulfil", "--drain"]);
    assert_sample_outcome(c, &job);
    assert_eq!(w.stock(), sample_stock_after_flow());
}

/// 3. The HTTP adapter against a warehouse that demands a token, on the embedded
///    default: without it and with a wrong one nothing gets through; with it ingest
///    and fulfil end to end.
#[test]
fn the_http_adapter_sends_the_token_end_to_end() {
    let (w, _p, bind) = warehouse(Some(TOKEN));
    let mut c = Oms::new();
    c.set_env("OMS_WMS_URL", format!("http://{bind}"));
    c.set_env("OMS_WMS_TIMEOUT_SECS", "2");
    flow_against_a_guarded_warehouse(&mut c, &w);
}

/// 4. The same on the real services (SQS, Kafka, MongoDB) with the guarded warehouse.
#[test]
fn the_http_adapter_sends_the_token_on_real_backends() {
    let Some(services) = RealServices::from_env() else {
        return;
    };
    let (w, _p, bind) = warehouse(Some(TOKEN));
    let mut c = Oms::new();
    c.visibility_secs = 3;
    services.configure(&mut c, "wmsauth", &bind);
    flow_against_a_guarded_warehouse(&mut c, &w);
}

/// 5. A warehouse that does not answer is told from one that refuses the token.
#[test]
fn doctor_tells_an_unreachable_warehouse_from_a_refused_token() {
    let mut c = Oms::new();
    c.set_env("OMS_WMS_URL", format!("http://127.0.0.1:{}", free_port()));
    c.set_env("OMS_WMS_TIMEOUT_SECS", "1");
    c.set_env("OMS_WMS_TOKEN", TOKEN);
    let check = doctor_warehouse(&c);
    assert_eq!(check["ok"], false, "{check}");
    assert!(s(&check["detail"]).contains("no answer"), "{check}");
    let fix = s(&check["fix"]);
    assert!(
        fix.contains("start the warehouse") && !fix.contains("refused"),
        "{check}"
    );
}
